"""Figures for reports: the confusion matrix, with a Hangul-capable font when one is installed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay  # noqa: E402

_HANGUL_FONTS = ("NanumGothic", "Noto Sans CJK KR", "Noto Sans KR", "UnDotum", "Baekmuk Gulim", "Malgun Gothic",
                 "AppleGothic")


def use_hangul_font() -> str | None:
    """Select the first installed font that has Hangul glyphs, so Korean labels render."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in _HANGUL_FONTS:
        if name in installed:
            plt.rcParams["font.family"] = name
            plt.rcParams["axes.unicode_minus"] = False
            return name
    return None


def confusion_matrix_png(gold: Sequence[str], pred: Sequence[str], path: Path, title: str = "") -> Path:
    """Write a confusion matrix (rows: gold, columns: predicted) sized to the number of labels."""
    use_hangul_font()
    labels = sorted(set(gold) | set(pred))
    size = max(6.0, 0.38 * len(labels) + 3)
    fig, ax = plt.subplots(figsize=(size, size))
    ConfusionMatrixDisplay.from_predictions(
        gold, pred, labels=labels, ax=ax, xticks_rotation="vertical", colorbar=False,
        include_values=len(labels) <= 40, cmap="Blues")
    ax.set_title(title or "Intent confusion matrix")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

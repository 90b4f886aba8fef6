"""Figures for reports: the confusion matrix and loss curves, with a Hangul-capable font when one is installed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay  # noqa: E402


def use_hangul_font() -> str | None:
    """Select a font that has Hangul glyphs (the bundled NanumGothic, else a system one), so Korean labels render."""
    from chatbot.timeseries.chart import hangul_font

    name = hangul_font()
    if name:
        plt.rcParams["font.family"] = name
        plt.rcParams["axes.unicode_minus"] = False
    return name


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


def loss_curve_png(history: Sequence[dict] | Mapping[str, Sequence[dict]], path: Path, title: str = "") -> Path:
    """Train and validation loss against the step, the best step marked; one panel per network.

    ``history`` is a trainer's ``history`` (rows with ``step``, ``train_loss``, ``validation_loss``)
    or ``{panel title: history}`` for a pipeline that trains several networks."""
    use_hangul_font()
    panels = dict(history) if isinstance(history, Mapping) else {"": list(history)}
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(6.4 * max(1, len(panels)), 4.2), squeeze=False)
    for ax, (name, rows) in zip(axes[0], panels.items(), strict=False):
        rows = [r for r in rows if "step" in r]
        if not rows:
            ax.text(0.5, 0.5, "no evaluation yet", ha="center", va="center", transform=ax.transAxes)
        else:
            steps = [r["step"] for r in rows]
            marker = "o" if len(rows) <= 40 else None
            ax.plot(steps, [r.get("train_loss") for r in rows], marker=marker, markersize=3, label="train")
            ax.plot(steps, [r.get("validation_loss") for r in rows], marker=marker, markersize=3, label="validation")
            best = min(rows, key=lambda r: r["validation_loss"])
            ax.axvline(best["step"], color="grey", linestyle=":", label=f"best (step {best['step']})")
            ax.legend()
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.set_title(name)
        ax.grid(alpha=0.3)
    fig.suptitle(title or "Loss curve")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

"""The forecast chart: history, forecast and its interval as a PNG, with Korean text rendered.

Matplotlib's default font has no Hangul, so Korean labels would come out as boxes. We use the
NanumGothic files that the ``koreanize-matplotlib`` package installs (SIL Open Font License),
found without importing that package (its import changes matplotlib's global settings), or any
Hangul font the system already has. Figures are drawn with the object API, not pyplot, so
threads serving several chats at once never share a figure.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import logging
from pathlib import Path

import numpy as np
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from chatbot.timeseries.series import Forecast, Series

logger = logging.getLogger(__name__)

SYSTEM_HANGUL_FONTS = ("NanumGothic", "Noto Sans CJK KR", "Noto Sans KR", "UnDotum", "Malgun Gothic", "AppleGothic")
MAX_HISTORY_SHOWN = 360  # older points only squeeze the forecast into a corner


@functools.lru_cache(maxsize=1)
def hangul_font() -> str | None:
    """The family name of a font with Hangul glyphs, registering the bundled NanumGothic if needed."""
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            path = Path(folder) / "fonts" / "NanumGothic.ttf"
            if path.is_file():
                font_manager.fontManager.addfont(str(path))
                return "NanumGothic"
    installed = {f.name for f in font_manager.fontManager.ttflist}
    found = next((name for name in SYSTEM_HANGUL_FONTS if name in installed), None)
    if found is None:
        logger.warning("No font with Hangul glyphs: Korean chart labels will not render "
                       "(pip install koreanize-matplotlib)")
    return found


def chart_png(series: Series, fc: Forecast, title: str = "", width: float = 8.0, height: float = 4.2) -> bytes:
    """PNG bytes of the last part of the history, the forecast and its interval."""
    family = hangul_font()
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    shown = min(len(series), MAX_HISTORY_SHOWN)
    history = series.values[-shown:]
    if series.index is not None and fc.dates:
        past = series.index[-shown:].to_pydatetime()
        future = np.array(fc.dates, dtype="datetime64[ns]").astype("datetime64[ms]").tolist()
        x_label = "날짜"
    else:
        past = np.arange(len(series) - shown, len(series)) + 1
        future = np.arange(len(series), len(series) + len(fc.values)) + 1
        x_label = "시점"
    fonts = {"family": family} if family else {}
    ax.plot(past, history, color="#1f5fbf", linewidth=1.4, label="실제 값")
    # The forecast line starts at the last observed point, so the two read as one curve.
    ax.plot([past[-1], *future], [history[-1], *fc.values], color="#d9480f", linewidth=1.8, linestyle="--",
            label=f"예측 ({fc.model})")
    if fc.lower is not None and fc.upper is not None:
        ax.fill_between(future, fc.lower, fc.upper, color="#d9480f", alpha=0.18,
                        label=f"{round(fc.level * 100)}% 예측 구간")
    ax.axvline(past[-1], color="#868e96", linewidth=0.8, linestyle=":")
    ax.set_title(title or f"{series.name or '데이터'} 예측", fontdict=fonts)
    ax.set_xlabel(x_label, fontdict=fonts)
    if series.name:
        ax.set_ylabel(series.name, fontdict=fonts)
    ax.grid(alpha=0.3)
    legend = ax.legend(loc="best", prop={"family": family} if family else None, fontsize=9)
    legend.get_frame().set_alpha(0.85)
    ax.ticklabel_format(axis="y", style="plain", useOffset=False)
    if x_label == "날짜":
        fig.autofmt_xdate()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()

"""Charts at the reporting edge (matplotlib, Agg): the CLI's and the report's figures.

Domain packages compute and return numbers; the figures that show them are drawn here (cost
tornado, value stages) and in :mod:`restora.appraisal.charts` (the report's charts), all with the
helpers of this module: one matplotlib set-up with a CJK font, integer year axes, one way to
save. matplotlib is imported only when a chart is drawn.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any


def pyplot(font_size: float = 8.0) -> Any:
    """matplotlib.pyplot on the Agg backend, with a CJK-capable font (DejaVu Sans without one)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from restora.fonts import chart_font

    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    plt.rcParams["font.family"] = [chart_font(), "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    plt.rcParams["font.size"] = font_size
    return plt


def integer_years(axis: Any) -> None:
    """Ticks of a year axis on whole years, printed without decimals or thousands separators."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.0f}"))


def save(fig: Any, path: str | Path, dpi: int = 110) -> Path:
    """Lay out, write (PNG/SVG/PDF by the suffix) and close a figure; returns the path."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out

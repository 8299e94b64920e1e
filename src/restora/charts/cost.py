"""The cost tornado: which work items drive the life-cycle cost (``restora cost estimate --chart``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from restora.charts import pyplot, save
from restora.labels import label


def tornado_chart(
    rows: list[dict[str, Any]], path: str | Path, top: int = 12, title: str = "", lang: str = "en"
) -> str:
    """Draw the largest one-at-a-time swings of the total cost; returns the path.

    Parameters
    ----------
    rows : list of dict
        ``costing.montecarlo.tornado`` rows (``item``, ``total_low``, ``total_base``,
        ``total_high`` [CNY at the price year]), largest swing first.
    path : str or pathlib.Path
        Output file (PNG/SVG/PDF by the suffix).
    top : int
        Number of items shown.
    title : str
        Chart title (default: what the chart shows).
    lang : {"en", "zh"}
        Language of the item labels.
    """
    plt = pyplot(font_size=9)
    rows = rows[:top][::-1]
    base = rows[0]["total_base"] if rows else 0.0
    fig, ax = plt.subplots(figsize=(7, 0.4 * max(len(rows), 1) + 1.2))
    for i, r in enumerate(rows):
        ax.barh(i, r["total_low"] - base, left=base, color="#4c72b0")
        ax.barh(i, r["total_high"] - base, left=base, color="#dd8452")
    ax.axvline(base, color="k", lw=0.8)
    ax.set_yticks(range(len(rows)), [label(r["item"], lang, "cost_item") for r in rows])
    ax.set_xlabel("total cost [CNY, price year] with the item at low / high")
    ax.set_title(title or "What drives the cost (one-at-a-time swing)")
    save(fig, path, dpi=120)
    return str(path)

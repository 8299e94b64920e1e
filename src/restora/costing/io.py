"""Readers of costing inputs (files → frames); the costing modules stay pure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from restora.errors import InputError


def read_production(path: str) -> pd.DataFrame:
    """Read a production plan CSV: ``year``, ``output_t`` and optional ``draw_cny``,
    ``revenue_cny`` (Chinese headers 年份, 产量(t), 支出(元), 销售收入(元) accepted)."""
    import sys

    aliases = {
        "年份": "year",
        "产量": "output_t",
        "产量(t)": "output_t",
        "output": "output_t",
        "支出": "draw_cny",
        "支出(元)": "draw_cny",
        "draw": "draw_cny",
        "销售收入": "revenue_cny",
        "销售收入(元)": "revenue_cny",
        "revenue": "revenue_cny",
    }
    try:
        df = pd.read_csv(sys.stdin if path == "-" else path)
    except FileNotFoundError as exc:
        raise InputError("no such production file", file=path) from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"not a readable CSV: {exc}", file=path) from exc
    df = df.rename(columns={c: aliases.get(c.strip(), c.strip()) for c in df.columns})
    for col in ("year", "output_t"):
        if col not in df.columns:
            raise InputError(f"missing column {col!r}", file=path, field=col)
    for col in ("year", "output_t", "draw_cny", "revenue_cny"):
        if col not in df.columns:
            continue
        vals = pd.to_numeric(df[col], errors="coerce")
        bad = vals.isna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"{df[col].iloc[i]!r} is not a number", file=path, row=i + 1, field=col
            )
        df[col] = vals
    return df

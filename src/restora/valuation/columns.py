"""Reading the numeric columns of the valuation input tables (CSV text or JSON values)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from restora.errors import Problem


def numeric_column(
    raw: pd.Series, column: str, file: str | None = None
) -> tuple[np.ndarray, list[Problem]]:
    """One column as floats, and a problem for every cell that is not a number.

    Parameters
    ----------
    raw : pandas.Series
        The column as read: numbers, or text (CSV) and mixed JSON values [column's unit].
    column : str
        Its name, for the problems.
    file : str, optional
        The file it came from, for the problems.

    Returns
    -------
    (values, problems)
        The values as float with blanks as ``nan`` [column's unit]; one
        :class:`~restora.errors.Problem` per cell that is neither blank nor a number, naming the
        file, the 1-based row and the column.

    Examples
    --------
    >>> values, problems = numeric_column(pd.Series(["1.5", " ", "n.d."]), "area_hm2")
    >>> values.tolist()[0], [p.row for p in problems]
    (1.5, [3])
    """
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        num = raw.astype(float)
        blank = num.isna()
    else:  # text (CSV) or mixed JSON values: blanks are empty, the rest must parse
        num = pd.to_numeric(raw, errors="coerce")
        blank = raw.isna() | (raw.astype(str).str.strip() == "")
    problems = [
        Problem(f"{raw.iloc[i]!r} is not a number", file, int(i) + 1, column)
        for i in np.flatnonzero((num.isna() & ~blank).to_numpy())
    ]
    return num.to_numpy(dtype=float), problems

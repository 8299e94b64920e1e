"""Covering one project's need from a list of products within their tickets.

Shared by the first-come baseline (:mod:`restora.matching.greedy`) and the allocation of large
blocks (:mod:`restora.matching.large`), so both split a need the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["cover"]


def cover(
    need: float,
    products: Iterable[int],
    left: Sequence[float] | np.ndarray,
    tmin: Sequence[float] | np.ndarray,
    tmax: Sequence[float] | np.ndarray,
) -> list[tuple[int, float]] | None:
    """Amounts from ``products`` (tried in the order given) adding up to ``need``, or None.

    Parameters
    ----------
    need : float
        The project's need [CNY].
    products : iterable of int
        Candidate products, in order of preference.
    left, tmin, tmax : sequences indexed by product
        Capacity left and ticket limits [CNY].

    Returns
    -------
    list of (product, amount) or None
        Each product gives min(ticket max, left, still needed). When what is still needed is
        below a product's ticket minimum, the amounts already taken are lowered (latest first,
        never below their own minimum) to make room for that minimum; a product that cannot
        be fitted so is skipped. None when the need cannot be covered this way.

    Examples
    --------
    >>> cover(60.0, [0, 1], left=[55.0, 100.0], tmin=[0.0, 10.0], tmax=[100.0, 100.0])
    [(0, 50.0), (1, 10.0)]
    >>> cover(60.0, [0], left=[55.0], tmin=[0.0], tmax=[100.0]) is None
    True
    """
    took: list[list[float]] = []
    still = need
    tol = 1e-6 * max(need, 1.0)
    for k in products:
        if still <= tol:
            break
        most = min(tmax[k], left[k])
        if most <= 0 or most < tmin[k]:
            continue
        amount = min(most, still)
        if amount < tmin[k]:
            short = tmin[k] - amount
            if sum(a - tmin[int(j)] for j, a in took) < short:
                continue
            for entry in reversed(took):
                cut = min(entry[1] - tmin[int(entry[0])], short)
                entry[1] -= cut
                short -= cut
                if short <= 0:
                    break
            still += tmin[k] - amount
            amount = tmin[k]
        took.append([k, amount])
        still -= amount
    if still > tol:
        return None
    return [(int(k), float(a)) for k, a in took]

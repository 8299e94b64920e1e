"""Regional disparity: the Gini coefficient, the Theil T index and its decomposition into
within- and between-group parts, and the Lorenz curve (docs/evaluation.md, "Regional
disparity").

Units ``i`` (counties, projects …) carry a non-negative value ``x_i`` (social-capital
investment [CNY], restored area [hm²], or a per-capita / per-hm² value) and a weight ``w_i``
(1 for each unit unless weights are given: then population or damaged area, and ``x_i`` is the
value per unit of weight). With ``W = Σ w_i`` and the weighted mean ``μ = Σ w_i x_i / W``:

- Gini (mean absolute difference), the *population* Gini (no ``n/(n − 1)`` correction)::

      G = Σ_i Σ_j w_i w_j |x_i − x_j| / (2 W² μ)

- Theil T, with ``0 · ln 0 = 0``::

      T = (1/W) Σ_i w_i (x_i/μ) ln(x_i/μ)

- its decomposition over groups ``g`` (weights ``W_g``, means ``μ_g``, value shares
  ``s_g = W_g μ_g / (W μ)``)::

      T = Σ_g s_g T_g  +  Σ_g s_g ln(μ_g/μ)
          (within)         (between)

All values zero (or ``μ = 0``): perfect equality by definition — Gini 0, Theil 0, each group's
share its weight share ``W_g / W`` (the limit of equal values).

References
----------
Theil, H. (1967). *Economics and Information Theory*. North-Holland, Amsterdam.
Shorrocks, A. F. (1980). The class of additively decomposable inequality measures.
*Econometrica* 48(3), 613-625. https://doi.org/10.2307/1913126
Conceição, P. & Ferreira, P. (2000). The Young Person's Guide to the Theil Index: Suggesting
Intuitive Interpretations and Exploring Analytical Applications. UTIP Working Paper 14,
University of Texas Inequality Project.
Lerman, R. I. & Yitzhaki, S. (1989). Improving the accuracy of estimates of Gini coefficients.
*Journal of Econometrics* 42(1), 43-47. https://doi.org/10.1016/0304-4076(89)90074-2
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from restora.errors import InputError

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class GroupTheil:
    """One group of units: its count, (weighted) mean, own Theil T and share of the total value.

    ``mean`` [unit of x]; ``theil`` [1], the group's ``T_g``; ``share`` [1], ``s_g``, the
    group's share of ``Σ w_i x_i`` (its weight share when all values are zero).
    """

    group: str
    n: int
    mean: float
    theil: float
    share: float

    def as_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "n": self.n,
            "mean": self.mean,
            "theil": self.theil,
            "share": self.share,
        }


@dataclass(frozen=True)
class Disparity:
    """Gini, Theil T and its within/between decomposition of one set of units.

    ``theil_within + theil_between == theil`` up to rounding (about 1e-15).
    ``weighted``: whether the units carried weights (then ``n`` still counts units).
    """

    n: int
    gini: float
    theil: float
    theil_within: float
    theil_between: float
    groups: tuple[GroupTheil, ...]
    weighted: bool = False

    def as_json(self) -> dict[str, Any]:
        """The JSON contract of ``restora evaluate disparity`` (docs/evaluation.md)."""
        return {
            "n": self.n,
            "gini": self.gini,
            "theil": self.theil,
            "theil_within": self.theil_within,
            "theil_between": self.theil_between,
            "groups": [g.as_json() for g in self.groups],
        }


@dataclass(frozen=True)
class Lorenz:
    """Points of a Lorenz curve, from (0, 0) to (1, 1).

    ``population_share`` [1]: the cumulative share of units (or of weight) from the poorest;
    ``value_share`` [1]: the cumulative share of the total value they hold.
    """

    population_share: FloatArray
    value_share: FloatArray

    def as_json(self) -> dict[str, Any]:
        return {
            "population_share": self.population_share.tolist(),
            "value_share": self.value_share.tolist(),
        }


def _units(
    values: npt.ArrayLike, weights: npt.ArrayLike | None, what: str = "values"
) -> tuple[FloatArray, FloatArray]:
    """Values and weights as float arrays, checked: finite, values >= 0, weights >= 0, W > 0."""
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0:
        raise InputError("no units: the disparity of an empty set is not defined", field=what)
    if not np.all(np.isfinite(x)):
        raise InputError(f"unit {_first(~np.isfinite(x))}: not a number", field=what)
    if np.any(x < 0):
        i = _first(x < 0)
        raise InputError(
            f"unit {i}: {x[i - 1]:g} is negative (Gini and Theil need non-negative values)",
            field=what,
        )
    if weights is None:
        return x, np.ones_like(x)
    w = np.asarray(weights, dtype=np.float64).ravel()
    if w.shape != x.shape:
        raise InputError(f"{w.size} weights for {x.size} values", field="weights")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        i = _first(~np.isfinite(w) | (w < 0))
        raise InputError(f"unit {i}: a weight must be a number >= 0", field="weights")
    if not w.sum() > 0:
        raise InputError("the weights sum to zero", field="weights")
    return x, w


def _first(mask: npt.NDArray[np.bool_]) -> int:
    """1-based position of the first True."""
    return int(np.argmax(mask)) + 1


def _scaled(x: FloatArray) -> tuple[FloatArray, float]:
    """``x / max(x)`` and ``max(x)``: the indices do not depend on the unit, and sums of tiny
    values (down to denormals) or huge ones then neither underflow nor overflow."""
    top = float(x.max())
    return (x / top, top) if top > 0 else (x, 1.0)


def gini(
    values: npt.ArrayLike, weights: npt.ArrayLike | None = None, *, corrected: bool = False
) -> float:
    """Gini coefficient from the mean absolute difference (population Gini).

    Parameters
    ----------
    values : array_like
        ``x_i`` [any unit, >= 0]: the value of each unit (or value per unit of weight).
    weights : array_like, optional
        ``w_i`` [any unit, >= 0]: population, area … (default 1 for every unit).
    corrected : bool
        Unweighted only: multiply by ``n/(n − 1)`` (the unbiased small-sample Gini of the
        mean difference); default False, the population Gini.

    Returns
    -------
    float
        ``G`` [1], in [0, 1 − 1/n] unweighted; 0 when all values are zero.

    Notes
    -----
    ``G = Σ_i Σ_j w_i w_j |x_i − x_j| / (2 W² μ)``, computed in O(n log n): with the units
    sorted by value and ``C_i`` the cumulative weight up to and including unit ``i``,
    ``Σ_i Σ_j w_i w_j |x_i − x_j| = 2 Σ_i w_i x_i (2 C_i − w_i − W)`` (each pair counted once
    with its sign; ties add nothing whatever their order).

    References
    ----------
    Lerman & Yitzhaki (1989), doi:10.1016/0304-4076(89)90074-2.

    Examples
    --------
    >>> gini([1, 2, 3, 4])  # Σ|xi−xj| = 20; 20 / (2 · 16 · 2.5)
    0.25
    """
    x, w = _units(values, weights)
    x, _ = _scaled(x)
    total_w = float(w.sum())
    mass = float(np.dot(w, x))
    if mass == 0.0:
        return 0.0
    order = np.argsort(x, kind="stable")
    xs, ws = x[order], w[order]
    cum = np.cumsum(ws)
    g = float(np.dot(ws * xs, 2.0 * cum - ws - total_w)) / (total_w * mass)
    if corrected:
        if weights is not None:
            raise ValueError("the n/(n − 1) correction is defined for unweighted units only")
        g = g * x.size / (x.size - 1) if x.size > 1 else 0.0
    return max(g, 0.0)


def _theil(x: FloatArray, w: FloatArray) -> float:
    """Theil T of checked units (0 when μ = 0)."""
    total_w = float(w.sum())
    mu = float(np.dot(w, x)) / total_w
    if mu == 0.0:
        return 0.0
    r = x / mu
    pos = r > 0
    t = float(np.dot(w[pos], r[pos] * np.log(r[pos]))) / total_w
    return max(t, 0.0)  # T >= 0 (Jensen); clears -1e-17 from rounding of equal values


def theil(values: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> float:
    """Theil T index (Theil 1967), with ``0 · ln 0 = 0``.

    Parameters
    ----------
    values : array_like
        ``x_i`` [any unit, >= 0].
    weights : array_like, optional
        ``w_i`` [any unit, >= 0] (default 1 for every unit).

    Returns
    -------
    float
        ``T = (1/W) Σ w_i (x_i/μ) ln(x_i/μ)`` [1], in [0, ln W] for unit weights; 0 when all
        values are zero.

    Examples
    --------
    >>> round(theil([0, 0, 0, 4]), 6)  # one unit holds everything: ln 4
    1.386294
    """
    x, w = _units(values, weights)
    return _theil(_scaled(x)[0], w)


def lorenz(values: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> Lorenz:
    """The Lorenz curve: cumulative value share against cumulative population share.

    Units are sorted by value (per unit of weight), poorest first; the curve starts at (0, 0)
    and ends at (1, 1). All values zero: the line of equality.

    Examples
    --------
    >>> lorenz([1, 3]).value_share.tolist()
    [0.0, 0.25, 1.0]
    """
    x, w = _units(values, weights)
    x, _ = _scaled(x)
    order = np.argsort(x, kind="stable")
    xs, ws = x[order], w[order]
    p = np.concatenate(([0.0], np.cumsum(ws))) / float(ws.sum())
    mass = float(np.dot(ws, xs))
    share = p.copy() if mass == 0.0 else np.concatenate(([0.0], np.cumsum(ws * xs))) / mass
    p[-1] = share[-1] = 1.0  # exact endpoint whatever the rounding of the sums
    return Lorenz(population_share=p, value_share=share)


def disparity(
    values: npt.ArrayLike,
    groups: Sequence[Any] | npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
) -> Disparity:
    """Gini, Theil T and Theil's within/between decomposition of units grouped by region.

    Parameters
    ----------
    values : array_like
        ``x_i`` [any unit, >= 0]: e.g. social-capital investment of each county [CNY].
    groups : sequence
        The group of each unit (e.g. its province); compared as strings.
    weights : array_like, optional
        ``w_i`` [any unit, >= 0]: population or damaged area; then ``x_i`` is per unit of
        weight (per capita, per hm²). Default 1 for each unit (unweighted).

    Returns
    -------
    Disparity
        Groups in order of first appearance.

    Notes
    -----
    ``T = Σ_g s_g T_g + Σ_g s_g ln(μ_g/μ)`` with ``s_g = W_g μ_g / (W μ)`` the group's share of
    the total value (Theil 1967; Shorrocks 1980; Conceição & Ferreira 2000, eq. 4). A group
    whose values are all zero has ``T_g = 0`` and ``s_g = 0`` (``0 · ln 0 = 0``).

    Examples
    --------
    >>> d = disparity([1, 3, 2, 2], ["a", "a", "b", "b"])
    >>> round(d.theil_between, 12), abs(d.theil_within - d.theil) < 1e-15
    (0.0, True)
    """
    x, w = _units(values, weights)
    x, unit = _scaled(x)  # the means are reported back in the values' unit
    labels = np.asarray([str(g) for g in np.asarray(groups, dtype=object).ravel()], dtype=object)
    if labels.shape != x.shape:
        raise InputError(f"{labels.size} groups for {x.size} values", field="groups")
    names, first, codes = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(first)  # groups in order of first appearance
    k = names.size
    total_w = float(w.sum())
    mass = float(np.dot(w, x))
    mu = mass / total_w
    w_g = np.bincount(codes, weights=w, minlength=k)
    mass_g = np.bincount(codes, weights=w * x, minlength=k)
    n_g = np.bincount(codes, minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu_g = np.where(w_g > 0, mass_g / np.where(w_g > 0, w_g, 1.0), 0.0)
    share_g = mass_g / mass if mass > 0 else w_g / total_w
    # T_g = (1/W_g) Σ_{i∈g} w_i r_i ln r_i with r_i = x_i/μ_g, summed per group at once
    r = np.divide(x, mu_g[codes], out=np.zeros_like(x), where=mu_g[codes] > 0)
    contrib = np.where(r > 0, w * r * np.log(np.where(r > 0, r, 1.0)), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_g = np.where(w_g > 0, np.bincount(codes, weights=contrib, minlength=k) / w_g, 0.0)
    t_g = np.maximum(t_g, 0.0)
    if mass > 0:
        pos = mass_g > 0
        between = float(np.dot(share_g[pos], np.log(mu_g[pos] / mu)))
        within = float(np.dot(share_g, t_g))
    else:
        between = within = 0.0
    return Disparity(
        n=int(x.size),
        gini=gini(x, w),
        theil=_theil(x, w),
        theil_within=max(within, 0.0),
        theil_between=max(between, 0.0),
        groups=tuple(
            GroupTheil(
                group=str(names[j]),
                n=int(n_g[j]),
                mean=float(mu_g[j]) * unit,
                theil=float(t_g[j]),
                share=float(share_g[j]),
            )
            for j in order
        ),
        weighted=weights is not None,
    )

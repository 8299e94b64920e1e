"""Establishment ramps: the share of the mature after-restoration value reached each year.

Vegetation planted on a mine site does not deliver its mature ecosystem services in the year
the works finish: cover, biomass and soil carbon build up over years. Each after-use has a
ramp (reference table ``valuation/establishment/ramps``): a curve shape and the years to
maturity, fitted to or judged from restoration chronosequence studies (each row names its
study). The ramp gives the fraction ``f(a)`` of the mature value reached ``a`` years after the
site's establishing works finish, and a year's value is

    V(y) = V_before + (V_after - V_before) · f(y - Y_works)

for ESV and GEP [CNY/yr], or an annual sequestration rate [t CO2/yr]; a carbon *stock* that
follows the ramp accrues ``ΔC · (f(a) - f(a - 1))`` in year ``a``.

Age convention: ``Y_works`` is the last calendar year of the site's establishing works
(:func:`works_end_year`: every phase but maintenance, monitoring and verification, which are
care during establishment); ``a = 1`` is the first full growing season after them. ``f = 0``
for ``a <= 0`` and ``f = 1`` for ``a >= maturity_years``.

Entry points: :func:`curve_fraction` (the pure curves), :class:`RampTable` (the reference
rows), :func:`fraction`, :func:`ramp_series` (the generic per-site, per-year series),
:func:`esv_series` (per-site ESV by year from :func:`restora.valuation.esv.esv_before_after`),
:func:`weighted_fraction` (one project-level ramp, e.g. for GEP totals),
:func:`stock_increments` (carbon-stock accrual) and :func:`works_end_year`.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from restora import refdata
from restora.errors import InputError, Problem

RAMP_TABLE = "valuation/establishment/ramps"
SHAPES = ("immediate", "linear", "monomolecular", "chapman_richards", "logistic")
#: Parameters each shape needs besides ``maturity_years``.
SHAPE_PARAMETERS: dict[str, tuple[str, ...]] = {
    "immediate": (),
    "linear": (),
    "monomolecular": ("rate_per_yr",),
    "chapman_richards": ("rate_per_yr", "exponent"),
    "logistic": ("rate_per_yr", "midpoint_years"),
}
#: Plan phases that are care during establishment, not works the ramp waits for.
CARE_PHASES = ("maintenance", "monitoring", "verification")

FloatArray = npt.NDArray[np.float64]


def curve_fraction(
    shape: str,
    years_since_works: float | npt.ArrayLike,
    maturity_years: float,
    rate_per_yr: float | None = None,
    exponent: float | None = None,
    midpoint_years: float | None = None,
) -> FloatArray:
    """Fraction of the mature value reached ``a`` years after the works [dimensionless].

    Parameters
    ----------
    shape : {"immediate", "linear", "monomolecular", "chapman_richards", "logistic"}
        Curve family.
    years_since_works : float or array-like
        Age ``a`` [yr] (array of any dimensions): calendar year minus the last works year.
    maturity_years : float
        Years to maturity ``T`` [yr]; ``f(T) = 1``. 0 makes any shape immediate.
    rate_per_yr : float, optional
        Rate ``k`` [1/yr] (monomolecular, Chapman–Richards, logistic).
    exponent : float, optional
        Chapman–Richards shape exponent ``p`` [dimensionless] (3 = von Bertalanffy).
    midpoint_years : float, optional
        Logistic inflexion age ``m`` [yr].

    Returns
    -------
    numpy.ndarray of float, the shape of ``years_since_works``
        ``f(a)`` in [0, 1]: 0 for ``a <= 0``, 1 for ``a >= T``.

    Notes
    -----
    Each curve is normalised to reach exactly 1 at ``T`` (no jump at maturity):

    - immediate: :math:`f = 1` for :math:`a \\ge 1`;
    - linear: :math:`f = a / T`;
    - monomolecular: :math:`f = (1 - e^{-ka}) / (1 - e^{-kT})`;
    - Chapman–Richards: :math:`f = [(1 - e^{-ka}) / (1 - e^{-kT})]^p`;
    - logistic: :math:`f = (L(a) - L(0)) / (L(T) - L(0))`,
      :math:`L(a) = 1 / (1 + e^{-k(a - m)})`.

    References
    ----------
    Pienaar L.V., Turnbull K.J. 1973. The Chapman-Richards generalization of von Bertalanffy's
    growth model for basal area growth and yield in even-aged stands. Forest Science 19(1):
    2-22. DOI 10.1093/forestscience/19.1.2.

    Examples
    --------
    >>> curve_fraction("linear", [0, 1, 2, 4, 6], 4).tolist()
    [0.0, 0.25, 0.5, 1.0, 1.0]
    >>> round(float(curve_fraction("monomolecular", 1, 10, rate_per_yr=0.3)), 4)
    0.2728
    """
    _check_parameters(shape, maturity_years, rate_per_yr, exponent, midpoint_years)
    a = np.asarray(years_since_works, dtype=float)
    t = float(maturity_years)
    if shape == "immediate" or t <= 0:
        return np.where(a >= 1, 1.0, 0.0)
    x = np.clip(a, 0.0, t)
    if shape == "linear":
        f = x / t
    elif shape == "logistic":
        k, m = float(rate_per_yr), float(midpoint_years)  # type: ignore[arg-type]

        def logistic(v: FloatArray | float) -> FloatArray:
            return np.asarray(1.0 / (1.0 + np.exp(-k * (np.asarray(v) - m))), dtype=float)

        f = (logistic(x) - logistic(0.0)) / (logistic(t) - logistic(0.0))
    else:
        k = float(rate_per_yr)  # type: ignore[arg-type]
        f = -np.expm1(-k * x) / -math.expm1(-k * t)
        if shape == "chapman_richards":
            f = f ** float(exponent)  # type: ignore[arg-type]
    return np.asarray(np.where(a >= t, 1.0, np.where(a <= 0, 0.0, f)), dtype=float)


def _parameter_problems(
    shape: Any,
    maturity_years: Any,
    values: Mapping[str, Any],
    file: str | None = None,
    row: int | None = None,
) -> list[Problem]:
    if shape not in SHAPES:
        return [Problem(f"unknown shape {shape!r}; use one of {SHAPES}", file, row, "shape")]
    out = []
    if not _number(maturity_years) or float(maturity_years) < 0:
        out.append(Problem(f"{maturity_years!r} is not a number >= 0", file, row, "maturity_years"))
    for name in SHAPE_PARAMETERS[shape]:
        if not _positive(values.get(name)):
            out.append(
                Problem(
                    f"shape {shape} needs {name} > 0, got {values.get(name)!r}", file, row, name
                )
            )
    return out


def _number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(float(v))


def _positive(v: Any) -> bool:
    return _number(v) and float(v) > 0


def _check_parameters(
    shape: str,
    maturity_years: float,
    rate_per_yr: float | None,
    exponent: float | None,
    midpoint_years: float | None,
) -> None:
    values = {"rate_per_yr": rate_per_yr, "exponent": exponent, "midpoint_years": midpoint_years}
    problems = _parameter_problems(shape, maturity_years, values)
    if problems:
        raise InputError(problems=problems)


@dataclass(frozen=True)
class Ramp:
    """One after-use's establishment ramp (a row of ``valuation/establishment/ramps``)."""

    after_use: str
    shape: str
    maturity_years: float
    rate_per_yr: float | None = None
    exponent: float | None = None
    midpoint_years: float | None = None
    basis: str = ""
    fitted_to: str = ""
    reference: str = ""

    def fraction(self, years_since_works: float | npt.ArrayLike) -> FloatArray:
        """``f(a)`` of this ramp [dimensionless] (see :func:`curve_fraction`)."""
        return curve_fraction(
            self.shape,
            years_since_works,
            self.maturity_years,
            self.rate_per_yr,
            self.exponent,
            self.midpoint_years,
        )


def _optional(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


@dataclass(frozen=True)
class RampTable:
    """The establishment ramps by after-use, with the table's provenance."""

    ramps: dict[str, Ramp]
    provenance: dict[str, Any]

    @classmethod
    def from_rows(
        cls,
        rows: Sequence[Mapping[str, Any]],
        provenance: Mapping[str, Any] | None = None,
        file: str | None = None,
    ) -> RampTable:
        """Build from rows ``{after_use, shape, maturity_years, rate_per_yr?, exponent?, …}``.

        Raises
        ------
        InputError
            Every bad row: unknown shape, a missing or non-positive parameter, a repeated
            after-use (naming file, row and field).
        """
        problems: list[Problem] = []
        ramps: dict[str, Ramp] = {}
        seen: set[str] = set()
        for i, r in enumerate(rows, start=1):
            use = r.get("after_use")
            if not isinstance(use, str) or not use:
                problems.append(Problem("missing after_use", file, i, "after_use"))
                continue
            if use in seen:
                problems.append(Problem(f"after-use {use!r} listed twice", file, i, "after_use"))
                continue
            seen.add(use)
            values = {k: _optional(r.get(k)) for k in ("rate_per_yr", "exponent", "midpoint_years")}
            bad = _parameter_problems(r.get("shape"), r.get("maturity_years"), values, file, i)
            if bad:
                problems.extend(bad)
                continue
            ramps[use] = Ramp(
                after_use=use,
                shape=str(r["shape"]),
                maturity_years=float(r["maturity_years"]),
                basis=str(r.get("basis") or ""),
                fitted_to=str(r.get("fitted_to") or ""),
                reference=str(r.get("reference") or ""),
                **values,
            )
        if problems:
            raise InputError(problems=problems)
        return cls(ramps=ramps, provenance=dict(provenance or {}))

    @classmethod
    def load(cls, on: dt.date | str | None = None, region: str | None = None) -> RampTable:
        """Read ``valuation/establishment/ramps`` as in force on ``on`` for ``region``."""
        table = refdata.get(RAMP_TABLE, on=on, region=region)
        return cls.from_rows(
            table.frame().to_dict("records"), table.provenance(), file=table.origin
        )

    def ramp(self, after_use: str) -> Ramp:
        """The ramp of one after-use.

        Raises
        ------
        InputError
            When the table has no row for ``after_use``.
        """
        try:
            return self.ramps[after_use]
        except KeyError:
            raise InputError(
                f"after-use {after_use!r} has no establishment ramp in {RAMP_TABLE}; use one "
                f"of {', '.join(self.ramps)}",
                field="after_use",
            ) from None

    def fraction(
        self, after_use: str | npt.ArrayLike, years_since_works: float | npt.ArrayLike
    ) -> FloatArray:
        """``f`` for after-uses and ages broadcast together [dimensionless].

        Parameters
        ----------
        after_use : str or array-like of str
            After-use of each element (e.g. shape ``(n_sites, 1)``).
        years_since_works : float or array-like
            Age [yr], broadcastable against ``after_use`` (e.g. shape ``(1, n_years)``).
        """
        uses, ages = np.broadcast_arrays(
            np.asarray(after_use, dtype=object), np.asarray(years_since_works, dtype=float)
        )
        out = np.zeros(ages.shape, dtype=float)
        for use in pd.unique(uses.ravel()):
            sel = uses == use
            out[sel] = self.ramp(str(use)).fraction(ages[sel])
        return out


def fraction(
    after_use: str | npt.ArrayLike,
    years_since_works: float | npt.ArrayLike,
    *,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> FloatArray:
    """Share of the mature after-restoration value reached ``a`` years after the works [1].

    Parameters
    ----------
    after_use : str or array-like of str
        After-use(s): ``cultivated``, ``garden``, ``forest``, ``grass``, ``water``,
        ``construction``, ``leave_as_is``.
    years_since_works : float or array-like
        Age [yr] (calendar year minus the last year of the works), broadcast with
        ``after_use``.
    on : date, optional
        Date whose ramp table applies.
    region : str, optional
        6-digit GB/T 2260 code for a regional version of the table.

    Returns
    -------
    numpy.ndarray of float
        ``f`` in [0, 1], the broadcast shape of the inputs.

    Notes
    -----
    See :func:`curve_fraction`; the rows and their studies are in
    ``valuation/establishment/ramps``.

    Examples
    --------
    >>> fraction("grass", [0, 1, 10]).round(4).tolist()  # (1 - e^-0.3) / (1 - e^-3) = 0.2728
    [0.0, 0.2728, 1.0]
    >>> fraction(["water", "forest"], 1).round(4).tolist()
    [1.0, 0.0048]
    """
    return RampTable.load(on, region).fraction(after_use, years_since_works)


def _table(table: RampTable | None, on: dt.date | str | None, region: str | None) -> RampTable:
    return table if table is not None else RampTable.load(on, region)


def ramp_series(
    before: npt.ArrayLike,
    after: npt.ArrayLike,
    after_use: npt.ArrayLike,
    works_end_year: npt.ArrayLike,
    years: npt.ArrayLike,
    *,
    table: RampTable | None = None,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> FloatArray:
    """Per-site, per-year value moving from before to the mature after value along its ramp.

    Parameters
    ----------
    before : array-like, shape (n_sites,)
        Value before restoration [unit/yr: CNY/yr for ESV or GEP, t CO2/yr for a
        sequestration rate].
    after : array-like, shape (n_sites,)
        Mature value after restoration [same unit].
    after_use : array-like of str, shape (n_sites,)
        After-use of each site (selects its ramp).
    works_end_year : array-like of int, shape (n_sites,)
        Calendar year in which the site's establishing works finish [yr]
        (:func:`works_end_year`).
    years : array-like of int, shape (n_years,)
        Calendar years of the horizon [yr].
    table : RampTable, optional
        Ramps to use (default: the reference table in force on ``on``).

    Returns
    -------
    numpy.ndarray, shape (n_sites, n_years)
        Value of each site in each year [unit/yr]; sum over axis 0 for the project.

    Notes
    -----
    .. math:: V_{i,y} = B_i + (A_i - B_i) \\cdot f_{u_i}(y - Y_i)

    The same function ramps GEP totals (one row: before, after, a project after-use or use
    :func:`weighted_fraction`) and an annual sequestration rate (before = baseline rate,
    after = the mature rate).

    Examples
    --------
    ESV [CNY/yr] of a dump planted to grass (works finish 2026) and a pond (works 2027):

    >>> ramp_series([100.0, 0.0], [10_100.0, 5000.0], ["grass", "water"], [2026, 2027],
    ...             [2026, 2027, 2028]).round(1).tolist()
    [[100.0, 2827.6, 4848.3], [0.0, 0.0, 5000.0]]

    A sequestration rate [t CO2/yr] reaching 44 t CO2/yr in a forest planted by 2026:

    >>> ramp_series([0.0], [44.0], ["forest"], [2026], [2027, 2031, 2051]).round(2).tolist()
    [[0.21, 9.69, 44.0]]
    """
    b = np.asarray(before, dtype=float)
    a = np.asarray(after, dtype=float)
    end = np.asarray(works_end_year, dtype=float)
    yrs = np.asarray(years, dtype=float)
    uses = np.asarray(after_use, dtype=object)
    f = _table(table, on, region).fraction(uses[:, None], yrs[None, :] - end[:, None])
    return np.asarray(b[:, None] + (a - b)[:, None] * f, dtype=float)


def stock_increments(
    delta_stock: npt.ArrayLike,
    after_use: npt.ArrayLike,
    works_end_year: npt.ArrayLike,
    years: npt.ArrayLike,
    *,
    table: RampTable | None = None,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> FloatArray:
    """Annual accrual of a stock (e.g. carbon) that builds up along the ramp [unit/yr].

    Parameters
    ----------
    delta_stock : array-like, shape (n_sites,)
        Mature stock after minus before [e.g. Mg C].
    after_use, works_end_year, years
        As in :func:`ramp_series`.

    Returns
    -------
    numpy.ndarray, shape (n_sites, n_years)
        Stock gained in each year [unit/yr]; summed over the years to maturity it equals
        ``delta_stock``.

    Notes
    -----
    .. math:: q_{i,y} = \\Delta S_i \\cdot (f(a) - f(a - 1)), \\quad a = y - Y_i

    With a linear ramp over ``n`` years this is :math:`\\Delta S / n` a year, the accrual of
    :func:`restora.revenue.carbon.increment_from_stock_change` (IPCC 2006 Vol. 4 ch. 2).
    Multiply by 44/12 (``valuation/carbon/co2-per-c``) for t CO2.

    Examples
    --------
    >>> stock_increments([120.0], ["grass"], [2026], [2027, 2028, 2036, 2037]).round(2).tolist()
    [[32.73, 24.25, 2.2, 0.0]]
    """
    d = np.asarray(delta_stock, dtype=float)
    end = np.asarray(works_end_year, dtype=float)
    yrs = np.asarray(years, dtype=float)
    uses = np.asarray(after_use, dtype=object)[:, None]
    tab = _table(table, on, region)
    age = yrs[None, :] - end[:, None]
    return np.asarray(d[:, None] * (tab.fraction(uses, age) - tab.fraction(uses, age - 1)))


def weighted_fraction(
    after_use: npt.ArrayLike,
    works_end_year: npt.ArrayLike,
    weights: npt.ArrayLike,
    years: npt.ArrayLike,
    *,
    table: RampTable | None = None,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> FloatArray:
    """One project-level ramp: the weighted mean of the sites' ramps [dimensionless].

    Parameters
    ----------
    after_use, works_end_year : array-like, shape (n_sites,)
        As in :func:`ramp_series`.
    weights : array-like, shape (n_sites,)
        Weight of each site (e.g. its area [hm²], or its ESV change [CNY/yr]); >= 0.
    years : array-like of int, shape (n_years,)
        Calendar years [yr].

    Returns
    -------
    numpy.ndarray, shape (n_years,)
        :math:`\\bar f_y = \\sum_i w_i f_i(y - Y_i) / \\sum_i w_i`; all zeros when the weights
        sum to 0.

    Notes
    -----
    For values known only as project totals (GEP before/after from the project's zones):
    :math:`GEP_y = GEP_0 + (GEP_1 - GEP_0) \\bar f_y`.

    Examples
    --------
    10 hm² of pond and 30 hm² of grass, both finished in 2026:

    >>> weighted_fraction(["water", "grass"], [2026, 2026], [10.0, 30.0], [2026, 2027]).round(4)
    array([0.    , 0.4546])
    """
    w = np.asarray(weights, dtype=float)
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise InputError("weights must be finite and >= 0", field="weights")
    f = ramp_series(
        np.zeros(w.shape),
        np.ones(w.shape),
        after_use,
        works_end_year,
        years,
        table=table,
        on=on,
        region=region,
    )
    total = w.sum()
    if total <= 0:
        return np.zeros(f.shape[1])
    return np.asarray((w[:, None] * f).sum(axis=0) / total, dtype=float)


def esv_series(
    per_site: pd.DataFrame,
    works_end: Mapping[str, int],
    years: npt.ArrayLike,
    *,
    table: RampTable | None = None,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> pd.DataFrame:
    """ESV of each site in each year, ramping from before to the mature after value [CNY/yr].

    Parameters
    ----------
    per_site : pandas.DataFrame
        :func:`restora.valuation.esv.esv_before_after`'s result with an ``after_use`` column:
        ``site_id, after_use, esv_before_cny_per_yr, esv_after_cny_per_yr``.
    works_end : mapping {site_id: int}
        Calendar year in which each site's establishing works finish [yr]
        (:func:`works_end_year`).
    years : array-like of int
        Calendar years of the horizon [yr].

    Returns
    -------
    pandas.DataFrame
        Index ``year``, one column per ``site_id`` [CNY/yr]; ``attrs["tables"]`` holds the
        ramp table's provenance. ``.sum(axis=1)`` is the project's ESV by year.

    Raises
    ------
    InputError
        A missing column, a site without a works-end year, an after-use without a ramp.
    """
    need = ("site_id", "after_use", "esv_before_cny_per_yr", "esv_after_cny_per_yr")
    missing = [c for c in need if c not in per_site.columns]
    if missing:
        raise InputError(f"per-site table lacks column(s) {missing}", field=missing[0])
    ids = per_site["site_id"].astype(str).tolist()
    lacking = [s for s in ids if s not in works_end]
    if lacking:
        raise InputError(f"no works-end year for site(s) {lacking}", field="works_end")
    tab = _table(table, on, region)
    yrs = np.asarray(years, dtype=int)
    values = ramp_series(
        per_site["esv_before_cny_per_yr"].to_numpy(dtype=float),
        per_site["esv_after_cny_per_yr"].to_numpy(dtype=float),
        per_site["after_use"].astype(str).to_numpy(dtype=object),
        [works_end[s] for s in ids],
        yrs,
        table=tab,
    )
    out = pd.DataFrame(values.T, index=pd.Index(yrs, name="year"), columns=ids)
    out.attrs["tables"] = [tab.provenance]
    return out


class _Work(Protocol):
    @property
    def phase(self) -> str: ...

    @property
    def start_year(self) -> int: ...

    @property
    def years(self) -> int: ...


def works_end_year(plan_start_year: int, works: Iterable[_Work]) -> int:
    """Last calendar year of a site's establishing works [yr].

    Parameters
    ----------
    plan_start_year : int
        Calendar year of the plan's year 0 [yr].
    works : iterable of objects with ``phase``, ``start_year`` [yr offset] and ``years`` [yr]
        The site's works (e.g. :class:`restora.planning.model.Work`).

    Returns
    -------
    int
        ``plan_start_year + max(start_year + years - 1)`` over the works whose phase is not
        care (``maintenance``, ``monitoring``, ``verification``); ``plan_start_year - 1`` when
        there is no such work (nothing to wait for: the after value holds from year 0).

    Examples
    --------
    >>> from types import SimpleNamespace as W
    >>> works_end_year(2026, [W(phase="revegetation", start_year=1, years=2),
    ...                       W(phase="maintenance", start_year=3, years=3)])
    2028
    """
    ends = [w.start_year + w.years - 1 for w in works if w.phase not in CARE_PHASES]
    return int(plan_start_year + max(ends, default=-1))

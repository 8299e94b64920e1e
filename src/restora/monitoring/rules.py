"""Alert rules as data: threshold, rate of change, trend and offline (docs/monitoring.md,
"Alerts and notifications").

A rule is a :class:`Rule` — a stable code, a kind, the indicator it watches, its level and
its parameters (validated by the kind's pydantic model: :class:`ThresholdParams`,
:class:`RateParams`, :class:`TrendParams`, :class:`OfflineParams`). The store keeps rules as
rows of ``monitoring_rules`` (restora.store.alerts); this module only computes, over numpy
arrays:

- :func:`threshold_level` — the level a value reaches against a warning and an alarm level;
- :func:`consecutive_rates`, :func:`window_rate` — change per hour of a series (slope
  displacement in mm/h is the classic early-warning criterion of landslides: Saito 1965,
  Fukuzono 1985);
- :func:`theil_sen`, :func:`mann_kendall` — a trend's robust slope (Sen 1968) and its
  significance (Mann 1945; Kendall 1975);
- :func:`evaluate` — one rule over one series: the level reached (or none), the value and the
  threshold that decided it, and whether an open alert of the rule may clear.

Levels are ordered: ``0`` none, ``1`` warning, ``2`` alarm (:data:`LEVELS`).

Clearing (hysteresis): a threshold or rate alert clears when the newest value is back inside
by the rule's ``clear_margin`` (indicator unit, or per hour for rates), so a value hovering at
the threshold does not raise and resolve on every reading; a trend alert never clears by
itself (a trend that stopped being significant has not been repaired: a person resolves it);
an offline alert clears when the sensor's data arrive again. ``auto_resolve: false`` in the
parameters makes any alert wait for a person.

References
----------
Fukuzono, T. (1985). A new method for predicting the failure time of a slope. Proc. 4th
Int. Conf. and Field Workshop on Landslides, Tokyo, 145-150.
Kendall, M. G. (1975). Rank Correlation Methods, 4th ed. Griffin, London.
Mann, H. B. (1945). Nonparametric tests against trend. Econometrica 13(3), 245-259.
doi:10.2307/1907187
Saito, M. (1965). Forecasting the time of occurrence of a slope failure. Proc. 6th Int.
Conf. Soil Mech. Found. Eng., Montreal, 2, 537-541.
Sen, P. K. (1968). Estimates of the regression coefficient based on Kendall's tau. J. Am.
Stat. Assoc. 63(324), 1379-1389. doi:10.1080/01621459.1968.10480934
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pydantic
from scipy import stats

from restora.errors import InputError, Problem

KINDS = ("threshold", "rate", "trend", "offline")
"""The kinds of alert rule."""
LEVELS = {"warning": 1, "alarm": 2}
"""Alert levels, ordered (0 is no alert)."""
LEVEL_NAMES = {v: k for k, v in LEVELS.items()}
KIND_CODES = {
    "threshold": "ALERT-THRESHOLD",
    "rate": "ALERT-RATE",
    "trend": "ALERT-TREND",
    "offline": "ALERT-OFFLINE",
}
"""Stable codes of the rule kinds (a stored rule's code is ``<kind code>-<rule id>``; a
catalogue default is ``ALERT-THRESHOLD-<indicator>``)."""
SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = 86400.0

FloatArray = npt.NDArray[np.float64]


class _Params(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    auto_resolve: bool = True


class ThresholdParams(_Params):
    """A value beyond a warning and/or an alarm level [indicator unit].

    ``direction``: ``above`` (higher is worse: ``warning``, ``alarm`` are upper levels),
    ``below`` (lower is worse: they are lower levels) or ``outside`` (both: upper ``warning``,
    ``alarm`` and lower ``warning_low``, ``alarm_low``, as for pH). A value *equal* to a level is
    within it (a standard's limit is complied with at the limit; as restora.monitoring.catalogue).
    ``clear_margin`` [indicator unit]: the value must come back inside the warning levels (the
    alarm levels where no warning is given) by this much before the alert clears (hysteresis).
    """

    direction: Literal["above", "below", "outside"] = "above"
    warning: float | None = None
    alarm: float | None = None
    warning_low: float | None = None
    alarm_low: float | None = None
    clear_margin: float = pydantic.Field(0.0, ge=0.0)

    @pydantic.model_validator(mode="after")
    def _levels(self) -> ThresholdParams:
        if self.direction != "outside" and (
            self.warning_low is not None or self.alarm_low is not None
        ):
            raise ValueError("warning_low and alarm_low are for direction 'outside'")
        if all(v is None for v in (self.warning, self.alarm, self.warning_low, self.alarm_low)):
            raise ValueError("give a warning level, an alarm level or both")
        up = self.direction != "below"
        w, a = self.warning, self.alarm
        if w is not None and a is not None and ((a < w) if up else (a > w)):
            side = "above" if up else "below"
            raise ValueError(f"the alarm level {a} must be {side} the warning level {w}")
        wl, al = self.warning_low, self.alarm_low
        if wl is not None and al is not None and al > wl:
            raise ValueError(f"the alarm_low level {al} must be below the warning_low level {wl}")
        return self

    def bounds(self) -> tuple[float | None, float | None]:
        """The inside's (low, high) edges an alert clears against [indicator unit]."""
        if self.direction == "below":
            return _first(self.warning, self.alarm), None
        if self.direction == "above":
            return None, _first(self.warning, self.alarm)
        return _first(self.warning_low, self.alarm_low), _first(self.warning, self.alarm)


def _first(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


class RateParams(_Params):
    """Change per hour beyond a warning and/or an alarm limit [indicator unit / h] (strictly).

    ``window_s`` [s]: the rate over the window ending at the newest reading (the value then
    minus the value at or before the window's start, divided by the time between them);
    without it, the rate between the two newest readings. ``direction``: ``increase`` (e.g.
    displacement growing), ``decrease`` or ``either`` (absolute rate). ``clear_margin``
    [indicator unit / h]: the rate must fall below the lowest limit by this much to clear.
    """

    direction: Literal["increase", "decrease", "either"] = "increase"
    warning: float | None = pydantic.Field(None, gt=0.0)
    alarm: float | None = pydantic.Field(None, gt=0.0)
    window_s: float | None = pydantic.Field(None, gt=0.0)
    clear_margin: float = pydantic.Field(0.0, ge=0.0)

    @pydantic.model_validator(mode="after")
    def _levels(self) -> RateParams:
        if self.warning is None and self.alarm is None:
            raise ValueError("give a warning limit, an alarm limit or both")
        if self.warning is not None and self.alarm is not None and self.alarm < self.warning:
            raise ValueError(f"the alarm limit {self.alarm} is below the warning limit")
        return self


class TrendParams(_Params):
    """A significant monotonic trend over a window (Theil-Sen slope, Mann-Kendall test).

    ``window_s`` [s]: readings within this time before the newest; ``min_points``: fewer
    readings raise nothing; ``alpha``: two-sided significance level of the Mann-Kendall test;
    ``min_slope_per_day`` [indicator unit / d]: the Theil-Sen slope must also reach this
    (in the rule's direction). A trend alert is not cleared automatically (``auto_resolve``
    defaults to false).
    """

    direction: Literal["increase", "decrease", "either"] = "increase"
    window_s: float = pydantic.Field(gt=0.0)
    min_points: int = pydantic.Field(8, ge=4)
    alpha: float = pydantic.Field(0.05, gt=0.0, lt=1.0)
    min_slope_per_day: float = pydantic.Field(0.0, ge=0.0)
    auto_resolve: bool = False


class OfflineParams(_Params):
    """A sensor silent for longer than ``interval_s`` [s] (default: the sensor's own
    ``expected_interval_s``)."""

    interval_s: float | None = pydantic.Field(None, gt=0.0)


PARAMS: dict[str, type[_Params]] = {
    "threshold": ThresholdParams,
    "rate": RateParams,
    "trend": TrendParams,
    "offline": OfflineParams,
}


@dataclass(frozen=True)
class Rule:
    """An alert rule: its stable ``code``, ``kind``, watched ``indicator`` (None: any, only
    for offline rules), the ``level`` it raises at least, and its validated ``params``."""

    code: str
    kind: str
    indicator: str | None
    level: str
    params: Any


@dataclass(frozen=True)
class Verdict:
    """A rule's answer over a series.

    ``level``: 0 none, 1 warning, 2 alarm. ``value``: the value judged (the reading, the rate
    [unit/h] or the Theil-Sen slope [unit/d]); ``threshold``: the level or limit it crossed
    (or the lowest one when none); ``clear``: an open alert of this rule may resolve itself;
    ``details``: the figures behind the verdict.
    """

    level: int
    value: float | None
    threshold: float | None
    clear: bool
    details: dict[str, Any]


def parse_params(kind: str, params: dict[str, Any] | None, *, field: str = "params") -> Any:
    """Validate a rule's parameters for its kind; :class:`InputError` naming the field."""
    if kind not in PARAMS:
        raise InputError(f"{kind!r} is not a rule kind (one of {', '.join(KINDS)})", field="kind")
    try:
        return PARAMS[kind].model_validate(params or {})
    except pydantic.ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            message = str(err["msg"]).removeprefix("Value error, ")
            problems.append(Problem(message, field=f"{field}.{where}" if where else field))
        raise InputError(problems=problems) from None


def make_rule(
    code: str, kind: str, indicator: str | None, level: str, params: dict[str, Any] | None
) -> Rule:
    """A :class:`Rule` with its parameters validated."""
    if level not in LEVELS:
        raise InputError(f"{level!r} is not a level (warning or alarm)", field="level")
    if kind != "offline" and not indicator:
        raise InputError(f"a {kind} rule needs an indicator", field="indicator")
    return Rule(code, kind, indicator, level, parse_params(kind, params))


# ----------------------------------------------------------------------------- threshold
def threshold_level(
    values: npt.ArrayLike,
    *,
    warning: float | None,
    alarm: float | None,
    direction: str = "above",
    warning_low: float | None = None,
    alarm_low: float | None = None,
) -> npt.NDArray[np.int8]:
    """The level each value reaches: 0 none, 1 warning, 2 alarm.

    Parameters
    ----------
    values : array_like
        Measured values [indicator unit].
    warning, alarm : float or None
        The warning and alarm levels [indicator unit] (upper ones for ``above`` and
        ``outside``, lower ones for ``below``); None: that level is not watched.
    direction : {"above", "below", "outside"}
        Which side is bad. A value strictly beyond a level breaches it; equal is within.
    warning_low, alarm_low : float or None
        The lower levels of an ``outside`` rule [indicator unit].

    Examples
    --------
    >>> threshold_level([0.2, 0.3, 0.6, 0.9], warning=0.3, alarm=0.6).tolist()
    [0, 0, 1, 2]
    >>> threshold_level([7.0, 5.5, 4.0], warning=6.0, alarm=5.0, direction="below").tolist()
    [0, 1, 2]
    >>> threshold_level([4.0, 5.5, 7.0, 9.5, 10.5], warning=9, alarm=10, warning_low=6,
    ...                 alarm_low=5, direction="outside").tolist()
    [2, 1, 0, 1, 2]
    """
    x = np.asarray(values, dtype=float)
    out = np.zeros(x.shape, dtype=np.int8)
    upper, lower = (warning, alarm), (warning_low, alarm_low)
    if direction == "below":
        upper, lower = (None, None), (warning, alarm)
    for code, (hi, lo) in enumerate(zip(upper, lower, strict=True), start=1):
        if hi is not None:
            out[x > hi] = code
        if lo is not None:
            out[x < lo] = code
    return out


def threshold_clear(
    value: float, *, low: float | None = None, high: float | None = None, margin: float = 0.0
) -> bool:
    """True if ``value`` [unit] is inside ``[low + margin, high - margin]`` [unit] (an edge
    that is None is not checked).

    >>> threshold_clear(0.28, high=0.3, margin=0.02)
    True
    >>> threshold_clear(0.29, high=0.3, margin=0.02)
    False
    >>> threshold_clear(6.4, low=6.0, high=9.0, margin=0.5)
    False
    """
    tol = 1e-12 * max(1.0, abs(value))
    if high is not None and value > high - margin + tol:
        return False
    return not (low is not None and value < low + margin - tol)


# ----------------------------------------------------------------------------- rate
def consecutive_rates(times_s: npt.ArrayLike, values: npt.ArrayLike) -> FloatArray:
    """Change per hour between consecutive readings.

    Parameters
    ----------
    times_s : array_like
        Measurement times [s] (e.g. POSIX seconds), increasing.
    values : array_like
        Values [indicator unit] at those times.

    Returns
    -------
    numpy.ndarray
        ``n - 1`` rates [indicator unit / h]: ``(v[i+1] - v[i]) / (t[i+1] - t[i]) * 3600``.

    Examples
    --------
    >>> consecutive_rates([0, 1800, 5400], [10.0, 11.0, 14.0]).tolist()
    [2.0, 3.0]
    """
    t = np.asarray(times_s, dtype=float)
    v = np.asarray(values, dtype=float)
    dt_s = np.diff(t)
    if np.any(dt_s <= 0):
        raise ValueError("times must increase strictly")
    return np.diff(v) / dt_s * SECONDS_PER_HOUR


def window_rate(times_s: npt.ArrayLike, values: npt.ArrayLike, window_s: float) -> float | None:
    """Change per hour over the window ending at the newest reading.

    The newest value minus the value of the latest reading at or before ``t_end - window_s``
    (the oldest reading if none is that old), over the time between them [unit / h]; None
    with fewer than two readings.

    Parameters
    ----------
    times_s : array_like
        Measurement times [s], increasing.
    values : array_like
        Values [indicator unit].
    window_s : float
        Window length [s].

    Examples
    --------
    Readings every 30 min; window 1 h from t = 7200 s starts at 3600 s (value 12):
    (15 - 12) / (7200 - 3600) * 3600 = 3.0 per hour.

    >>> window_rate([0, 1800, 3600, 5400, 7200], [10, 11, 12, 14, 15], 3600)
    3.0
    """
    t = np.asarray(times_s, dtype=float)
    v = np.asarray(values, dtype=float)
    if t.size < 2:
        return None
    start = t[-1] - window_s
    i = int(np.searchsorted(t, start, side="right")) - 1
    i = min(max(i, 0), t.size - 2)
    return float((v[-1] - v[i]) / (t[-1] - t[i]) * SECONDS_PER_HOUR)


# ----------------------------------------------------------------------------- trend
def theil_sen(times_s: npt.ArrayLike, values: npt.ArrayLike) -> tuple[float, float]:
    """Theil-Sen slope and intercept (Sen 1968): the median of the pairwise slopes.

    Parameters
    ----------
    times_s : array_like
        Times [s].
    values : array_like
        Values [indicator unit].

    Returns
    -------
    slope : float
        [indicator unit / s]: ``median((v[j] - v[i]) / (t[j] - t[i]))`` over ``i < j`` with
        ``t[j] != t[i]``.
    intercept : float
        [indicator unit]: ``median(v) - slope * median(t)`` (scipy's convention).

    Examples
    --------
    >>> theil_sen([0, 1, 2, 3], [0.0, 1.0, 5.0, 3.0])
    (1.0, 0.5)
    """
    slope, intercept, _, _ = stats.theilslopes(
        np.asarray(values, dtype=float), np.asarray(times_s, dtype=float)
    )
    return float(slope), float(intercept)


@dataclass(frozen=True)
class MannKendall:
    """Mann-Kendall test: ``s`` statistic, its variance (ties corrected), the continuity-
    corrected normal score ``z``, the two-sided ``p`` value and Kendall's ``tau``."""

    s: int
    var_s: float
    z: float
    p: float
    tau: float


def mann_kendall(values: npt.ArrayLike) -> MannKendall:
    """Mann-Kendall trend test (Mann 1945; Kendall 1975) of values in time order.

    Notes
    -----
    .. math::

        S = \\sum_{i<j} \\operatorname{sgn}(x_j - x_i), \\qquad
        \\operatorname{Var}(S) = \\frac{n(n-1)(2n+5) - \\sum_k t_k(t_k-1)(2t_k+5)}{18}

        Z = (S - \\operatorname{sgn} S) / \\sqrt{\\operatorname{Var}(S)}, \\qquad
        p = 2\\,(1 - \\Phi(|Z|))

    with :math:`t_k` the size of the k-th group of tied values; ``tau = S / (n(n-1)/2)``.

    Examples
    --------
    >>> mk = mann_kendall([1.0, 2.0, 4.0, 3.0, 5.0])
    >>> mk.s, mk.var_s
    (8, 16.666666666666668)
    """
    x = np.asarray(values, dtype=float)
    n = x.size
    if n < 2:
        return MannKendall(0, 0.0, 0.0, 1.0, 0.0)
    i, j = np.triu_indices(n, k=1)
    s = int(np.sign(x[j] - x[i]).sum())
    _, counts = np.unique(x, return_counts=True)
    ties = float(np.sum(counts * (counts - 1) * (2 * counts + 5)))
    var_s = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    z = 0.0 if s == 0 or var_s <= 0 else (s - math.copysign(1, s)) / math.sqrt(var_s)
    p = float(2.0 * stats.norm.sf(abs(z)))
    return MannKendall(s, var_s, z, p, s / (n * (n - 1) / 2.0))


# ----------------------------------------------------------------------------- evaluate
def _signed(direction: str, x: float) -> float:
    if direction == "either":
        return abs(x)
    return x if direction == "increase" else -x


def _lowest(p: RateParams) -> float:
    return min(v for v in (p.warning, p.alarm) if v is not None)


def evaluate(rule: Rule, times_s: npt.ArrayLike, values: npt.ArrayLike) -> Verdict:
    """One rule over one series (time order, newest last): the level the newest state reaches.

    Parameters
    ----------
    rule : Rule
        A threshold, rate or trend rule (offline rules are judged on time alone, by the store).
    times_s : array_like
        Measurement times [s], increasing.
    values : array_like
        Values [indicator unit].

    Returns
    -------
    Verdict
        Threshold: the newest value's level. Rate: the newest consecutive rate, or the window
        rate, against the limits [unit/h]. Trend: Theil-Sen slope [unit/d] of the window,
        alarm/warning at the rule's level when Mann-Kendall's p < alpha and the slope reaches
        ``min_slope_per_day`` in the rule's direction.

    Examples
    --------
    >>> r = make_rule("R1", "threshold", "slope_disp", "warning",
    ...               {"warning": 10, "alarm": 20, "clear_margin": 1})
    >>> v = evaluate(r, [0, 60], [5.0, 12.0])
    >>> v.level, v.threshold, v.clear
    (1, 10.0, False)
    >>> evaluate(r, [0, 60, 120], [5.0, 12.0, 8.5]).clear
    True
    """
    t = np.asarray(times_s, dtype=float)
    v = np.asarray(values, dtype=float)
    p = rule.params
    if v.size == 0:
        return Verdict(0, None, None, False, {})
    if isinstance(p, ThresholdParams):
        value = float(v[-1])
        level = int(
            threshold_level(
                [value],
                warning=p.warning,
                alarm=p.alarm,
                direction=p.direction,
                warning_low=p.warning_low,
                alarm_low=p.alarm_low,
            )[0]
        )
        low, high = p.bounds()
        crossed: float | None = None
        if level:
            if p.direction == "outside" and high is not None and value > high:
                crossed = p.warning if level == 1 else p.alarm
            elif p.direction == "outside":
                crossed = p.warning_low if level == 1 else p.alarm_low
            else:
                crossed = p.warning if level == 1 else p.alarm
        else:
            crossed = high if high is not None else low
        clear = p.auto_resolve and threshold_clear(value, low=low, high=high, margin=p.clear_margin)
        return Verdict(level, value, crossed, clear, {"direction": p.direction})
    if isinstance(p, RateParams):
        if p.window_s is not None:
            rate = window_rate(t, v, p.window_s)
        else:
            rate = float(consecutive_rates(t[-2:], v[-2:])[0]) if v.size >= 2 else None
        if rate is None:
            return Verdict(0, None, None, False, {"readings": int(v.size)})
        judged = _signed(p.direction, rate)
        level = int(threshold_level([judged], warning=p.warning, alarm=p.alarm)[0])  # > limit
        bound = _lowest(p)
        crossed = {1: p.warning, 2: p.alarm}.get(level, bound)
        clear = p.auto_resolve and judged <= bound - p.clear_margin
        details = {"rate_per_h": rate, "direction": p.direction, "window_s": p.window_s}
        return Verdict(level, rate, crossed, clear, details)
    if isinstance(p, TrendParams):
        keep = t >= t[-1] - p.window_s
        tw, vw = t[keep], v[keep]
        if vw.size < p.min_points or np.ptp(tw) <= 0:
            return Verdict(0, None, None, False, {"readings": int(vw.size)})
        slope_s, _ = theil_sen(tw, vw)
        slope_d = slope_s * SECONDS_PER_DAY
        mk = mann_kendall(vw)
        right_way = {"increase": mk.s > 0, "decrease": mk.s < 0, "either": mk.s != 0}[p.direction]
        hit = mk.p < p.alpha and right_way and _signed(p.direction, slope_d) >= p.min_slope_per_day
        details = {
            "slope_per_day": slope_d,
            "mann_kendall_s": mk.s,
            "z": mk.z,
            "p": mk.p,
            "alpha": p.alpha,
            "readings": int(vw.size),
        }
        level = LEVELS[rule.level] if hit else 0
        return Verdict(level, slope_d, p.min_slope_per_day, p.auto_resolve and not hit, details)
    raise ValueError(f"rule {rule.code}: {rule.kind} rules are not judged on a series")

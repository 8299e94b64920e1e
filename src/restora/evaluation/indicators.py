"""Indicators of market-oriented restoration policy over a set of projects (docs/evaluation.md).

What national and provincial evaluations of market-oriented mine restoration report: how much
social capital the projects attract and its share beside public budgets and enterprises' own
funds, the leverage of public money, the uptake of quota incentives (quotas and credits issued,
used, traded), the proceeds and compliance of surplus earth and stone, the "restoration +"
modes adopted, the management cycle (days from registration to each stage, and where the
delays are), the restored area and its share of the damaged area, the ecosystem value gained per
yuan, jobs, the restoration-fund sufficiency of producing mines and the milestones met on time.

Pure: the inputs are plain typed records (:class:`ProjectInput`, :class:`MineInput`) that
:mod:`restora.store.evaluation` assembles from the store; every indicator has a stable code, a
unit, a definition and the inputs it rests on (:data:`CATALOGUE`), and an indicator whose
inputs the records lack is reported *not available* with the reason, never estimated.

The kind of money of each line of an appraisal's sources and uses (public, social capital,
enterprise, the project's own revenue) is decided by the rules of the reference table
``evaluation/funding-sources`` (:func:`classify_funding`), each with its code.

References
----------
国务院办公厅 (2021). 关于鼓励和支持社会资本参与生态保护修复的意见, 国办发〔2021〕40号.
自然资源部 (2019). 关于探索利用市场化方式推进矿山生态修复的意见, 自然资规〔2019〕6号.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

FUNDING_TABLE = "evaluation/funding-sources"
INDICATORS_TABLE = "evaluation/indicators"
#: Kinds of money of the investment, in the order of the tables and charts.
CATEGORIES = ("public", "social_capital", "enterprise", "project_revenue", "unattributed")
#: Quota unit types (mu) and credit unit types (t CO2e) of restora.registry.ledger.UNIT_TYPES.
QUOTA_TYPES = ("CLQ", "FSQ")
CREDIT_TYPES = ("CSINK",)
#: Stages of a project's management cycle, in order; each a date (or None: not reached).
STAGES = ("registered", "appraised", "listed", "financed", "first_signoff", "completed")
#: Region levels of the grouping: how many leading digits of the 6-digit code name the region.
LEVELS = {"province": 2, "city": 4, "county": 6}
#: Groups of the Theil decomposition of each level: counties within cities, cities within
#: provinces (provinces: each its own group, so all of the Theil index is "within").
GROUP_LEVEL = {"county": "city", "city": "province", "province": "province"}
#: The value-realization modes (restora.modes.profile.MODES) in the order of the mode mix.
MODES = ("safety_baseline", "resource_utilization", "property_rights", "industry_integration")


# ------------------------------------------------------------------------------ inputs
@dataclass(frozen=True)
class FundingLine:
    """One source line of a project's construction-period funding, with its kind of money."""

    item: str
    amount_cny: float  # [CNY, nominal]
    category: str
    rule: str
    instrument: str | None = None


@dataclass(frozen=True)
class MilestoneInput:
    """A verification milestone: when it was due and when an evaluator accepted it."""

    milestone_id: str
    due_on: dt.date | None
    accepted_on: dt.date | None


@dataclass(frozen=True)
class UnitsInput:
    """A project's registered units of one type (restora.registry.ledger.UNIT_TYPES)."""

    unit_type: str
    measure: str
    issued: float  # [measure]
    retired: float  # [measure]
    traded: float  # [measure] settled on the venues (each settlement counted)
    traded_value_cny: float  # [CNY]


@dataclass(frozen=True)
class EarthStoneInput:
    """A mine's surplus earth and stone as the registry's venues hold it."""

    mine_id: str
    approved_m3: float  # [m³] approved surplus from the restoration plan
    sold_m3: float  # [m³]
    hauled_m3: float  # [m³] weighbridge tickets
    proceeds_cny: float  # [CNY] settled prices of its lots
    alerts: int  # compliance alerts (restora.registry.earthstone.compliance)
    has_plan: bool


@dataclass(frozen=True)
class ProjectInput:
    """What the indicators read of one project (its latest appraisal, the registry, milestones).

    ``None`` in a field means the store does not hold it for this project (then the
    indicators that need it leave the project out and say so).
    """

    project_id: str
    name: str
    region_code: str | None
    minerals: tuple[str, ...]
    mode: str | None  # primary value-realization mode of the latest appraisal's modes stage
    start_year: int | None  # [yr]
    mine_areas: Mapping[str, float]  # [hm²] area of the sites of each of its mines (register)
    completed: bool  # every milestone accepted (there is at least one)
    funding: tuple[FundingLine, ...] | None  # None: no sources and uses in the latest appraisal
    esv_gain_cny_per_yr: float | None = None  # [CNY/yr] ESV after − before
    gep_gain_cny_per_yr: float | None = None  # [CNY/yr] GEP after − before
    jobs: float | None = None  # [person] jobs created, if the appraisal carries them
    stage_dates: Mapping[str, dt.date | None] = field(default_factory=dict)
    milestones: tuple[MilestoneInput, ...] = ()
    units: tuple[UnitsInput, ...] = ()
    earth_stone: tuple[EarthStoneInput, ...] = ()

    @property
    def damaged_area_hm2(self) -> float | None:
        """[hm²] area of the sites of the project's mines; None when none is in the register."""
        return float(sum(self.mine_areas.values())) if self.mine_areas else None

    def invested(self, category: str | None = None) -> float:
        """Construction-period funding [CNY] (of one kind of money when given); 0 without it."""
        return float(
            sum(
                ln.amount_cny
                for ln in self.funding or ()
                if category is None or ln.category == category
            )
        )


@dataclass(frozen=True)
class MineInput:
    """A mine of the register in the selection: where, what, its damaged area, its fund."""

    mine_id: str
    region_code: str
    mineral: str
    status: str  # producing, closed, abandoned
    damaged_area_hm2: float  # [hm²] area of its sites
    fund_due_cny: float | None = None  # [CNY] restoration-fund accruals due by the date
    fund_paid_cny: float | None = None  # [CNY] paid of them


@dataclass(frozen=True)
class Filters:
    """Which projects: region code prefix, start years, mineral, value-realization mode."""

    region: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    mineral: str | None = None
    mode: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "from": self.year_from,
            "to": self.year_to,
            "mineral": self.mineral,
            "mode": self.mode,
        }


# ------------------------------------------------------------------------------ definitions
@dataclass(frozen=True)
class Definition:
    """An indicator's identity: code, names, unit, definition and the inputs it rests on."""

    code: str
    name_zh: str
    name_en: str
    unit: str
    definition: str
    inputs: tuple[str, ...]


def catalogue(on: dt.date | str | None = None) -> dict[str, Definition]:
    """The indicators' definitions in force on ``on`` (table ``evaluation/indicators``), by code.

    >>> catalogue("2026-01-01")["EVAL-LEVERAGE"].unit
    'CNY/CNY'
    """
    from restora import refdata

    table = refdata.get(INDICATORS_TABLE, on=on)
    return {
        str(r["code"]): Definition(
            str(r["code"]),
            str(r["name_zh"]),
            str(r["name_en"]),
            str(r["unit"]),
            str(r["definition"]),
            tuple(str(i) for i in r["inputs"]),
        )
        for r in table.data
    }


@dataclass(frozen=True)
class Indicator:
    """One indicator's value, or why it is not available."""

    definition: Definition
    value: float | None
    reason: str | None = None  # why not available
    n: int | None = None  # how many projects (or mines, milestones) it rests on

    @property
    def available(self) -> bool:
        return self.value is not None

    def as_json(self) -> dict[str, Any]:
        d = self.definition
        return {
            "code": d.code,
            "name_zh": d.name_zh,
            "name_en": d.name_en,
            "unit": d.unit,
            "value": self.value,
            "available": self.available,
            "reason": self.reason,
            "n": self.n,
            "definition": d.definition,
            "inputs": list(d.inputs),
        }


# ------------------------------------------------------------------------------ classification
def sponsor_category(
    table: Mapping[str, Any], funding_source: str | None, responsible_party: str | None
) -> tuple[str, str]:
    """The kind of money of the project's sponsor and the rule code that decided it.

    Parameters
    ----------
    table : mapping
        ``data`` of the reference table ``evaluation/funding-sources``.
    funding_source : {"public", "responsible_party", "social_capital", "mixed"} or None
        The funding source the project states (mode profile), None when not stated.
    responsible_party : {"present", "absent"} or None
        Whether the mine has a responsible party (register).

    Examples
    --------
    >>> from restora import refdata
    >>> t = refdata.get(FUNDING_TABLE, on="2026-01-01").data
    >>> sponsor_category(t, None, "present"), sponsor_category(t, "public", "absent")
    (('enterprise', 'EVAL-SPONSOR-05'), ('public', 'EVAL-SPONSOR-01'))
    """
    sp = table["sponsor"]
    if funding_source in sp["stated"]:
        rule = sp["stated"][funding_source]
    elif responsible_party in sp["unstated"]:
        rule = sp["unstated"][responsible_party]
    else:
        rule = sp["unknown"]
    return str(rule["category"]), str(rule["code"])


def classify_funding(
    sources: Iterable[Mapping[str, Any]],
    table: Mapping[str, Any],
    *,
    funding_source: str | None = None,
    responsible_party: str | None = None,
) -> tuple[FundingLine, ...]:
    """The sources of an appraisal's sources-and-uses table, each with its kind of money.

    Parameters
    ----------
    sources : iterable of mapping
        ``financing.structure.sources_uses.sources`` of an appraisal document: ``item``,
        ``instrument`` (optional), ``total_cny`` [CNY, nominal].
    table : mapping
        ``data`` of ``evaluation/funding-sources``.
    funding_source, responsible_party : str or None
        See :func:`sponsor_category`.

    Returns
    -------
    tuple of FundingLine
        Lines with a non-zero amount; the first rule of the table matching the line's item
        (and instrument, where the rule names one) decides; ``sponsor`` lines take the
        sponsor's kind. A line no rule matches is ``unattributed`` (rule ``EVAL-FUND-NONE``).

    Examples
    --------
    >>> from restora import refdata
    >>> t = refdata.get(FUNDING_TABLE, on="2026-01-01").data
    >>> lines = classify_funding(
    ...     [{"item": "grant", "total_cny": 60.0}, {"item": "loan_drawdown",
    ...       "instrument": "pledge-loan", "total_cny": 30.0},
    ...      {"item": "sponsor_equity", "total_cny": 10.0}], t, responsible_party="absent")
    >>> [(ln.category, ln.amount_cny) for ln in lines]
    [('public', 60.0), ('social_capital', 30.0), ('social_capital', 10.0)]
    """
    sponsor, sponsor_rule = sponsor_category(table, funding_source, responsible_party)
    out: list[FundingLine] = []
    for src in sources:
        amount = float(src.get("total_cny") or 0.0)
        if amount == 0.0:
            continue
        item, instrument = str(src.get("item")), src.get("instrument")
        rule = next(
            (
                r
                for r in table["lines"]
                if r["item"] == item and r.get("instrument") in (None, instrument)
            ),
            None,
        )
        if rule is None:
            category, code = "unattributed", "EVAL-FUND-NONE"
        elif rule["category"] == "sponsor":
            category, code = sponsor, f"{rule['code']}+{sponsor_rule}"
        else:
            category, code = str(rule["category"]), str(rule["code"])
        out.append(FundingLine(item, amount, category, code, instrument))
    return tuple(out)


# ------------------------------------------------------------------------------ selection
def region_of(code: str | None, level: str) -> str | None:
    """The 6-digit code of the province, city or county a region code lies in.

    >>> region_of("430599", "city"), region_of("430599", "province"), region_of(None, "county")
    ('430500', '430000', None)
    """
    if not code:
        return None
    digits = LEVELS[level]
    return str(code)[:digits].ljust(6, "0")


def select(projects: Iterable[ProjectInput], filters: Filters) -> list[ProjectInput]:
    """The projects that pass the filters (a project without a start year fails a year filter).

    ``region`` is a code prefix (``43`` Hunan, ``4305`` a city, ``430599`` a county; a
    6-digit code ending in ``00`` stands for its province or city); ``mineral`` any of the
    project's mines; ``mode`` the project's primary value-realization mode.
    """
    prefix = region_prefix(filters.region)
    out = []
    for p in projects:
        if prefix and not (p.region_code or "").startswith(prefix):
            continue
        if filters.year_from is not None and (p.start_year or -1) < filters.year_from:
            continue
        if filters.year_to is not None and (p.start_year is None or p.start_year > filters.year_to):
            continue
        if filters.mineral is not None and filters.mineral not in p.minerals:
            continue
        if filters.mode is not None and p.mode != filters.mode:
            continue
        out.append(p)
    return out


def select_mines(mines: Iterable[MineInput], filters: Filters) -> list[MineInput]:
    """The register's mines in the selection's region and mineral (years and mode aside)."""
    prefix = region_prefix(filters.region)
    return [
        m
        for m in mines
        if m.region_code.startswith(prefix)
        and (filters.mineral is None or m.mineral == filters.mineral)
    ]


def region_prefix(code: str | None) -> str:
    """``43`` for ``43`` or ``430000``, ``4305`` for ``430500``, ``430599`` for itself.

    >>> region_prefix("430000"), region_prefix("4305"), region_prefix(None)
    ('43', '4305', '')
    """
    if not code:
        return ""
    code = str(code)
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return "" if code == "00" else code


# ------------------------------------------------------------------------------ the indicators
def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


class _Raw(NamedTuple):
    """An indicator before its definition is attached (:func:`compute` does it)."""

    code: str
    value: float | None
    reason: str | None
    n: int | None


def _ind(code: str, value: float | None, reason: str | None = None, n: int | None = None) -> _Raw:
    return _Raw(code, value, None if value is not None else reason, n)


@dataclass(frozen=True)
class IndicatorSet:
    """The indicators of a selection and the tables behind them."""

    filters: Filters
    on: dt.date
    indicators: tuple[Indicator, ...]
    investment: tuple[dict[str, Any], ...]  # by project: amounts by kind of money
    units: tuple[dict[str, Any], ...]  # by unit type: issued, retired, traded, value
    modes: tuple[dict[str, Any], ...]  # mode mix
    cycle: tuple[dict[str, Any], ...]  # by stage: n, median and max days, median step
    earth_stone: tuple[dict[str, Any], ...]  # by mine
    projects: tuple[str, ...]

    def value(self, code: str) -> float | None:
        return next(i.value for i in self.indicators if i.definition.code == code)

    def as_json(self) -> dict[str, Any]:
        return {
            "filters": self.filters.as_json(),
            "on": self.on.isoformat(),
            "projects": list(self.projects),
            "indicators": [i.as_json() for i in self.indicators],
            "investment": list(self.investment),
            "units": list(self.units),
            "modes": list(self.modes),
            "cycle": list(self.cycle),
            "earth_stone": list(self.earth_stone),
        }


def compute(
    projects: Sequence[ProjectInput],
    mines: Sequence[MineInput],
    *,
    filters: Filters | None = None,
    on: dt.date,
) -> IndicatorSet:
    """The indicators of the projects and mines that pass ``filters``, as of ``on``.

    Parameters
    ----------
    projects : sequence of ProjectInput
        The live projects (all; the filters choose).
    mines : sequence of MineInput
        The register's live mines (all; region and mineral filters choose).
    filters : Filters, optional
        Region prefix, start years, mineral, mode.
    on : datetime.date
        The date of the evaluation: milestones and fund accruals due by it.

    Returns
    -------
    IndicatorSet

    Notes
    -----
    Shares are of sums, not means of per-project shares: the social-capital share is
    :math:`\\sum_p S_p / \\sum_p I_p` over the projects with funding data, and the leverage
    :math:`\\sum_p S_p / \\sum_p G_p` (social capital per yuan of public money). ESV and GEP
    per yuan use only the projects that have both the gain and the investment.
    """
    filters = filters or Filters()
    chosen = select(projects, filters)
    reg = select_mines(mines, filters)
    out: list[_Raw] = []
    n = len(chosen)
    out.append(_ind("EVAL-PROJ-N", float(n), n=n))
    appraised = [p for p in chosen if p.stage_dates.get("appraised") is not None]
    out.append(_ind("EVAL-PROJ-APPRAISED", float(len(appraised)), n=n))
    out += _area(chosen, reg)
    inv_rows, inv = _investment(chosen)
    out += inv
    units, unit_inds = _units(chosen)
    out += unit_inds
    est_rows, est = _earth_stone(chosen)
    out += est
    modes = _modes(chosen)
    adopted = sum(1 for m in modes if m["mode"] is not None and m["projects"] > 0)
    out.append(
        _ind(
            "EVAL-MODES-ADOPTED",
            float(adopted) if appraised else None,
            "no appraised project in the selection (the mode is in the appraisal)",
            len(appraised),
        )
    )
    out += _per_yuan(chosen)
    jobs = [p.jobs for p in chosen if p.jobs is not None]
    out.append(
        _ind(
            "EVAL-JOBS",
            float(sum(jobs)) if jobs else None,
            "the appraisals do not state jobs (Restora's appraisal does not model employment)",
            len(jobs),
        )
    )
    out.append(_fund(reg))
    out.append(_milestones(chosen, on))
    cycle, cyc = _cycle(chosen)
    out.append(cyc)
    defs = catalogue(on)
    return IndicatorSet(
        filters,
        on,
        tuple(Indicator(defs[r.code], r.value, r.reason, r.n) for r in out),
        tuple(inv_rows),
        tuple(units),
        tuple(modes),
        tuple(cycle),
        tuple(est_rows),
        tuple(p.project_id for p in chosen),
    )


def _area(chosen: Sequence[ProjectInput], reg: Sequence[MineInput]) -> list[_Raw]:
    damaged = sum(m.damaged_area_hm2 for m in reg)
    with_area = [p for p in chosen if p.mine_areas]
    covered = _distinct_area(with_area)
    restored = _distinct_area([p for p in with_area if p.completed])
    no_reg = "no mine of the register in the selection"
    return [
        _ind("EVAL-AREA-DAMAGED", damaged if reg else None, no_reg, len(reg)),
        _ind(
            "EVAL-AREA-PROJECTS",
            covered if with_area else None,
            "no project with sites in the register",
            len(with_area),
        ),
        _ind(
            "EVAL-AREA-RESTORED",
            restored if with_area else None,
            "no project with sites in the register",
            len(with_area),
        ),
        _ind(
            "EVAL-AREA-RESTORED-SHARE",
            _ratio(restored, damaged) if with_area else None,
            "no damaged area in the selection" if with_area else "no project with sites",
            len(with_area),
        ),
    ]


def _distinct_area(projects: Iterable[ProjectInput]) -> float:
    """[hm²] area of the distinct mines of the projects (a mine of two projects counts once)."""
    areas: dict[str, float] = {}
    for p in projects:
        areas.update(p.mine_areas)
    return float(sum(areas.values()))


def _investment(chosen: Sequence[ProjectInput]) -> tuple[list[dict[str, Any]], list[_Raw]]:
    funded = [p for p in chosen if p.funding is not None]
    rows = []
    for p in funded:
        row: dict[str, Any] = {
            "project_id": p.project_id,
            "name": p.name,
            "region_code": p.region_code,
            "total_cny": p.invested(),
        }
        row.update({f"{c}_cny": p.invested(c) for c in CATEGORIES})
        row["rules"] = sorted({ln.rule for ln in p.funding or ()})
        rows.append(row)
    total = sum(r["total_cny"] for r in rows)
    by = {c: sum(r[f"{c}_cny"] for r in rows) for c in CATEGORIES}
    why = "no project in the selection has a financing stage in its latest appraisal"
    k = len(funded)

    def amount(code: str, cat: str) -> _Raw:
        return _ind(code, by[cat] if funded else None, why, k)

    def share(code: str, cat: str) -> _Raw:
        reason = why if not funded else "total investment is 0"
        return _ind(code, _ratio(by[cat], total) if funded else None, reason, k)

    lev_reason = why if not funded else "no public money in the selection's funding"
    out = [
        _ind("EVAL-INV-TOTAL", total if funded else None, why, k),
        amount("EVAL-INV-SOCIAL", "social_capital"),
        amount("EVAL-INV-PUBLIC", "public"),
        amount("EVAL-INV-ENTERPRISE", "enterprise"),
        amount("EVAL-INV-REVENUE", "project_revenue"),
        amount("EVAL-INV-UNATTRIBUTED", "unattributed"),
        share("EVAL-INV-SOCIAL-SHARE", "social_capital"),
        share("EVAL-INV-PUBLIC-SHARE", "public"),
        share("EVAL-INV-ENTERPRISE-SHARE", "enterprise"),
        _ind(
            "EVAL-LEVERAGE",
            _ratio(by["social_capital"], by["public"]) if funded else None,
            lev_reason,
            k,
        ),
    ]
    return rows, out


def _units(chosen: Sequence[ProjectInput]) -> tuple[list[dict[str, Any]], list[_Raw]]:
    acc: dict[str, dict[str, Any]] = {}
    for p in chosen:
        for u in p.units:
            r = acc.setdefault(
                u.unit_type,
                {
                    "unit_type": u.unit_type,
                    "measure": u.measure,
                    "projects": 0,
                    "issued": 0.0,
                    "retired": 0.0,
                    "traded": 0.0,
                    "traded_value_cny": 0.0,
                },
            )
            r["projects"] += 1
            for k in ("issued", "retired", "traded", "traded_value_cny"):
                r[k] += getattr(u, k)
    rows = [acc[k] for k in sorted(acc)]

    def total(types: tuple[str, ...], what: str) -> float:
        return float(sum(acc[t][what] for t in types if t in acc))

    why = "the selection's projects have no registered units of this kind"
    have_q = any(t in acc for t in QUOTA_TYPES)
    have_c = any(t in acc for t in CREDIT_TYPES)
    trade_value = sum(r["traded_value_cny"] for r in rows if r["unit_type"] != "EST")
    n = len(chosen)
    out = [
        _ind("EVAL-QUOTA-ISSUED", total(QUOTA_TYPES, "issued") if have_q else None, why, n),
        _ind("EVAL-QUOTA-USED", total(QUOTA_TYPES, "retired") if have_q else None, why, n),
        _ind("EVAL-QUOTA-TRADED", total(QUOTA_TYPES, "traded") if have_q else None, why, n),
        _ind("EVAL-CREDIT-ISSUED", total(CREDIT_TYPES, "issued") if have_c else None, why, n),
        _ind("EVAL-CREDIT-RETIRED", total(CREDIT_TYPES, "retired") if have_c else None, why, n),
        _ind("EVAL-CREDIT-TRADED", total(CREDIT_TYPES, "traded") if have_c else None, why, n),
        _ind(
            "EVAL-UNITS-TRADE-VALUE",
            float(trade_value) if (have_q or have_c) else None,
            "the selection's projects have no registered quotas or credits",
            n,
        ),
    ]
    return rows, out


def _earth_stone(chosen: Sequence[ProjectInput]) -> tuple[list[dict[str, Any]], list[_Raw]]:
    seen: dict[str, EarthStoneInput] = {}
    for p in chosen:
        for e in p.earth_stone:
            seen.setdefault(e.mine_id, e)
    planned = [e for e in seen.values() if e.has_plan]
    rows = [
        {
            "mine_id": e.mine_id,
            "approved_m3": e.approved_m3,
            "sold_m3": e.sold_m3,
            "hauled_m3": e.hauled_m3,
            "proceeds_cny": e.proceeds_cny,
            "alerts": e.alerts,
        }
        for e in sorted(planned, key=lambda e: e.mine_id)
    ]
    why = "no approved surplus earth and stone recorded for the projects' mines"
    approved = sum(e.approved_m3 for e in planned)
    sold = sum(e.sold_m3 for e in planned)
    k = len(planned)
    return rows, [
        _ind("EVAL-EST-APPROVED", approved if planned else None, why, k),
        _ind("EVAL-EST-SOLD", sold if planned else None, why, k),
        _ind(
            "EVAL-EST-UTILISATION",
            _ratio(sold, approved) if planned else None,
            why if not planned else "approved surplus is 0",
            k,
        ),
        _ind(
            "EVAL-EST-PROCEEDS",
            float(sum(e.proceeds_cny for e in planned)) if planned else None,
            why,
            k,
        ),
        _ind("EVAL-EST-ALERTS", float(sum(e.alerts for e in planned)) if planned else None, why, k),
    ]


def _modes(chosen: Sequence[ProjectInput]) -> list[dict[str, Any]]:
    counts = {m: [0, 0.0, 0.0] for m in MODES}
    for p in chosen:
        if p.mode is None:
            continue
        c = counts.setdefault(p.mode, [0, 0.0, 0.0])
        c[0] += 1
        c[1] += p.invested()
        c[2] += p.invested("social_capital")
    n = sum(int(c[0]) for c in counts.values())
    rows: list[dict[str, Any]] = [
        {
            "mode": m,
            "projects": int(c[0]),
            "share": _ratio(c[0], n),
            "investment_cny": c[1],
            "social_capital_cny": c[2],
        }
        for m, c in counts.items()
    ]
    missing = sum(1 for p in chosen if p.mode is None)
    if missing:
        rows.append(
            {
                "mode": None,
                "projects": missing,
                "share": None,
                "investment_cny": sum(p.invested() for p in chosen if p.mode is None),
                "social_capital_cny": sum(
                    p.invested("social_capital") for p in chosen if p.mode is None
                ),
            }
        )
    return rows


def _per_yuan(chosen: Sequence[ProjectInput]) -> list[_Raw]:
    out = []
    for code, attr, what in (
        ("EVAL-ESV-PER-CNY", "esv_gain_cny_per_yr", "ESV"),
        ("EVAL-GEP-PER-CNY", "gep_gain_cny_per_yr", "GEP"),
    ):
        both = [p for p in chosen if getattr(p, attr) is not None and p.invested() > 0]
        gain = sum(getattr(p, attr) for p in both)
        inv = sum(p.invested() for p in both)
        out.append(
            _ind(
                code,
                _ratio(gain, inv) if both else None,
                f"no project with both a {what} gain and funding in its latest appraisal",
                len(both),
            )
        )
    return out


def _fund(reg: Sequence[MineInput]) -> _Raw:
    producing = [m for m in reg if m.status == "producing"]
    due = [m for m in producing if m.fund_due_cny is not None and m.fund_due_cny > 0]
    if not producing:
        return _ind("EVAL-FUND-SUFFICIENCY", None, "no producing mine in the selection", 0)
    if not due:
        return _ind(
            "EVAL-FUND-SUFFICIENCY",
            None,
            "no restoration-fund accrual of a producing mine's company is recorded as due",
            0,
        )
    paid = sum(min(m.fund_paid_cny or 0.0, m.fund_due_cny or 0.0) for m in due)
    total = sum(m.fund_due_cny or 0.0 for m in due)
    return _ind("EVAL-FUND-SUFFICIENCY", paid / total, None, len(due))


def milestone_status(m: MilestoneInput, on: dt.date) -> str:
    """``on_time``, ``late`` (accepted after its due date), ``overdue`` (due, not accepted),
    ``pending`` (not due yet, not accepted) or ``undated`` (no due date, not accepted).

    >>> d = dt.date
    >>> [milestone_status(MilestoneInput("m", d(2026, 6, 30), a), d(2026, 7, 1))
    ...  for a in (d(2026, 6, 30), d(2026, 7, 1), None)]
    ['on_time', 'late', 'overdue']
    """
    if m.accepted_on is not None:
        if m.due_on is None or m.accepted_on <= m.due_on:
            return "on_time"
        return "late"
    if m.due_on is None:
        return "undated"
    return "overdue" if m.due_on < on else "pending"


def _milestones(chosen: Sequence[ProjectInput], on: dt.date) -> _Raw:
    statuses = [milestone_status(m, on) for p in chosen for m in p.milestones]
    counted = [s for s in statuses if s in ("on_time", "late", "overdue")]
    if not counted:
        why = (
            "no milestone recorded for the selection's projects"
            if not statuses
            else "no milestone due by the date or accepted yet"
        )
        return _ind("EVAL-MILESTONES-ON-TIME", None, why, 0)
    return _ind(
        "EVAL-MILESTONES-ON-TIME", counted.count("on_time") / len(counted), None, len(counted)
    )


def _cycle(chosen: Sequence[ProjectInput]) -> tuple[list[dict[str, Any]], _Raw]:
    """Days from registration to each stage, and the median of each step between stages."""
    rows: list[dict[str, Any]] = []
    for i, stage in enumerate(STAGES[1:], start=1):
        since: list[int] = []
        step: list[int] = []
        for p in chosen:
            start, at = p.stage_dates.get("registered"), p.stage_dates.get(stage)
            if start is None or at is None:
                continue
            since.append((at - start).days)
            prev = next(
                (p.stage_dates.get(s) for s in reversed(STAGES[:i]) if p.stage_dates.get(s)),
                None,
            )
            if prev is not None:
                step.append((at - prev).days)
        rows.append(
            {
                "stage": stage,
                "projects": len(since),
                "median_days": statistics.median(since) if since else None,
                "max_days": max(since) if since else None,
                "median_step_days": statistics.median(step) if step else None,
                "slowest_step": False,
            }
        )
    steps = [r for r in rows if r["median_step_days"] is not None]
    if steps:
        max(steps, key=lambda r: r["median_step_days"])["slowest_step"] = True
    done = next(r for r in rows if r["stage"] == "completed")
    ind = _ind(
        "EVAL-CYCLE-DAYS",
        float(done["median_days"]) if done["median_days"] is not None else None,
        "no project of the selection is complete (every milestone accepted); the per-stage "
        "table gives the days to the stages reached",
        done["projects"],
    )
    return rows, ind


# ------------------------------------------------------------------------------ by region
def by_region(
    projects: Sequence[ProjectInput],
    mines: Sequence[MineInput],
    *,
    level: str,
    filters: Filters | None = None,
) -> list[dict[str, Any]]:
    """The selection's figures by province, city or county (``level``), one row per region.

    Each row: ``region_code``, ``projects``, ``damaged_area_hm2`` (register), ``project_area_hm2``,
    ``restored_area_hm2``, ``investment_cny`` and each kind of money ``<category>_cny``, and
    ``social_capital_share`` (None without investment). Regions are those of the register's
    mines and of the projects in the selection.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")
    filters = filters or Filters()
    rows: dict[str, dict[str, Any]] = {}

    def row(code: str) -> dict[str, Any]:
        r = rows.get(code)
        if r is None:
            r = {
                "region_code": code,
                "projects": 0,
                "damaged_area_hm2": 0.0,
                "project_area_hm2": 0.0,
                "restored_area_hm2": 0.0,
                "investment_cny": 0.0,
            }
            r.update({f"{c}_cny": 0.0 for c in CATEGORIES})
            rows[code] = r
        return r

    for m in select_mines(mines, filters):
        region = region_of(m.region_code, level)
        if region is not None:
            row(region)["damaged_area_hm2"] += m.damaged_area_hm2
    members: dict[str, list[ProjectInput]] = {}
    for p in select(projects, filters):
        region = region_of(p.region_code, level)
        if region is None:
            continue
        members.setdefault(region, []).append(p)
        r = row(region)
        r["projects"] += 1
        r["investment_cny"] += p.invested()
        for c in CATEGORIES:
            r[f"{c}_cny"] += p.invested(c)
    for region, ps in members.items():
        rows[region]["project_area_hm2"] = _distinct_area(ps)
        rows[region]["restored_area_hm2"] = _distinct_area(p for p in ps if p.completed)
    for r in rows.values():
        r["social_capital_share"] = _ratio(r["social_capital_cny"], r["investment_cny"])
    return [rows[k] for k in sorted(rows)]


#: measures of :func:`by_region` whose disparity across regions is reported
DISPARITY_MEASURES = (
    "social_capital_cny",
    "restored_area_hm2",
    "investment_cny",
    "project_area_hm2",
)


def regional_disparity(
    rows: Sequence[Mapping[str, Any]], measure: str, *, group_level: str | None = None
) -> dict[str, Any]:
    """Gini, Theil and its within/between decomposition of a measure across regions.

    Parameters
    ----------
    rows : sequence of mapping
        :func:`by_region` rows (the units: counties, cities or provinces).
    measure : str
        A column of the rows (:data:`DISPARITY_MEASURES`), e.g. ``social_capital_cny``.
    group_level : {"province", "city"}, optional
        Groups of the Theil decomposition (default: the province of each region).

    Returns
    -------
    dict
        :meth:`restora.evaluation.disparity.Disparity` as JSON plus ``measure``, ``level``
        and the Lorenz curve points (``lorenz``: ``population_share``, ``value_share``).
    """
    from restora.evaluation import disparity as dp

    values = [float(r[measure] or 0.0) for r in rows]
    groups = [region_of(str(r["region_code"]), group_level or "province") for r in rows]
    if not values:
        return {"measure": measure, "n": 0, "available": False, "reason": "no region"}
    result = dp.disparity(values, groups)
    out = _as_json(result)
    curve = dp.lorenz(values)
    out.update(
        measure=measure,
        group_level=group_level or "province",
        available=True,
        lorenz={
            "population_share": [float(v) for v in curve.population_share],
            "value_share": [float(v) for v in curve.value_share],
        },
    )
    return out


def _as_json(result: Any) -> dict[str, Any]:
    if hasattr(result, "as_json"):
        return dict(result.as_json())
    from dataclasses import asdict

    return asdict(result)  # type: ignore[no-any-return]

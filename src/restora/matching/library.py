"""The project library: a listing's figures read from a stored appraisal, and the eligibility of
a (listing, product) pair in the terms of :mod:`restora.matching.problem`.

A listing is published from one stored appraisal version (``appraisal.json``, schema
``restora.appraisal/1``, docs/appraisal.md). :func:`figures` reads the figures a provider
looks at from that document — nothing is typed in by hand, and a figure the appraisal did not
assess is None with the reason in ``missing``:

=====================  ======================================================  ===========
figure                 where in the document                                   unit
=====================  ======================================================  ===========
cost_p50_cny           stages.cost.total_p50_cny                               CNY (price year)
cost_p90_cny           stages.cost.total_p90_cny                               CNY (price year)
p90_overrun            cost_p90_cny / cost_p50_cny − 1                         1
revenue_cny            stages.revenue.total_unrestricted_cny                   CNY (nominal)
revenue_streams        stages.revenue.streams[*]: name, kind, total_revenue    CNY (nominal)
npv_cny, irr           stages.cashflow.npv_cny, .irr (None: no unique IRR)     CNY, 1/yr
npv_p10/p50/p90_cny    stages.risk.summary.npv.p10/p50/p90                     CNY
irr_p10/p50/p90        stages.risk.summary.irr.p10/p50/p90                     1/yr
p_npv_negative         stages.risk.summary.p_npv_negative                      1
p_irr_below_hurdle     stages.risk.summary.p_irr_below_hurdle                  1
min_dscr               lowest min_dscr of stages.financing.structure.covenants 1
                       (else of the instruments' summaries)
p_dscr_below_1         stages.risk.summary.p_dscr_below_1                      1
lender_expected_loss   stages.risk.summary.lender.expected_loss                CNY
mode                   stages.modes.mines[0].primary_mode                      —
esv_gain_cny_per_yr    stages.value.esv.change_cny_per_yr                      CNY/yr
gep_gain_cny_per_yr    stages.value.gep.after − before (when assessed)         CNY/yr
hazards_total          stages.modes.figures.hazard_points_total                points
hazards_eliminated     stages.modes.figures.hazard_points_eliminated           points
jobs                   the largest year of stages.modes.figures.jobs_by_year   jobs
=====================  ======================================================  ===========

The appraisal gives no letter *risk rating*: the listing's risk is the probabilities above
(``p_npv_negative``, ``p_irr_below_hurdle``, ``p_dscr_below_1``) and the lender's expected loss.

:func:`check_pair` is the eligibility of a listing for a product: the rules of
:func:`restora.matching.eligibility.check` on the :class:`~restora.matching.problem.Project`
and :class:`~restora.matching.problem.Product` made from them (:func:`as_project`,
:func:`as_product`), plus the market's own rules (``MARKET-INSTRUMENT``, ``MARKET-TENOR``,
``MARKET-STAGE``, and ``MARKET-NOT-ASSESSED`` for a requirement on a figure the appraisal does
not have).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

INSTRUMENTS = (
    "loan",
    "pledge_loan",
    "bond_subscription",
    "equity",
    "guarantee",
    "insurance",
    "subsidy",
)
"""The instruments a listing may want and a product may offer."""
COLLATERAL = ("carbon_sink_rights", "quota_rights", "charging_rights", "land_use_rights")
"""The rights a project may pledge."""
STAGES = ("preparation", "construction", "operation")
"""Where the project stands when it asks for money."""

_INSTRUMENT_ZH = {
    "loan": "贷款",
    "pledge_loan": "质押贷款",
    "bond_subscription": "债券认购",
    "equity": "股权投资",
    "guarantee": "担保",
    "insurance": "保险",
    "subsidy": "补助",
}
_STAGE_ZH = {"preparation": "前期", "construction": "建设期", "operation": "运营期"}


def _get(doc: Any, *path: str | int) -> Any:
    cur = doc
    for p in path:
        if isinstance(p, int):
            if not isinstance(cur, list) or len(cur) <= p:
                return None
            cur = cur[p]
        else:
            if not isinstance(cur, Mapping):
                return None
            cur = cur.get(p)
    return cur


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def figures(document: Mapping[str, Any]) -> dict[str, Any]:
    """The figures of a listing, read from a stored appraisal document.

    Parameters
    ----------
    document : mapping
        ``appraisal.json`` as stored (schema ``restora.appraisal/1``).

    Returns
    -------
    dict
        The figures of the module's table (None where not assessed), ``revenue_streams``,
        ``price_year`` of the cost, ``on`` (the reference date), ``fictional`` (the demo's
        note), and ``missing``: ``{figure: reason}`` for each figure without a value.

    Examples
    --------
    >>> doc = {"on": "2026-06-01", "stages": {
    ...     "cost": {"total_p50_cny": 1.0e7, "total_p90_cny": 1.2e7, "price_year": 2023},
    ...     "cashflow": {"npv_cny": 3.0e6, "irr": 0.09},
    ...     "financing": {"structure": {"covenants": [{"min_dscr": 1.31}, {"min_dscr": 1.18}]}},
    ...     "modes": {"mines": [{"primary_mode": "resource_utilization"}]}}}
    >>> f = figures(doc)
    >>> round(f["p90_overrun"], 3), f["min_dscr"], f["mode"], f["irr"]
    (0.2, 1.18, 'resource_utilization', 0.09)
    >>> f["missing"]["esv_gain_cny_per_yr"]
    'the appraisal has no value stage (ESV before and after)'
    """
    s = _get(document, "stages") or {}
    missing: dict[str, str] = {}
    out: dict[str, Any] = {"on": document.get("on"), "price_year": _get(s, "cost", "price_year")}

    def put(name: str, value: Any, reason: str) -> None:
        out[name] = value
        if value is None:
            missing[name] = reason

    p50 = _num(_get(s, "cost", "total_p50_cny"))
    p90 = _num(_get(s, "cost", "total_p90_cny"))
    no_cost = "the appraisal has no cost stage (Monte Carlo P50/P90)"
    put("cost_p50_cny", p50, no_cost)
    put("cost_p90_cny", p90, no_cost)
    put("p90_overrun", p90 / p50 - 1.0 if p50 and p90 is not None and p50 > 0 else None, no_cost)

    put(
        "revenue_cny",
        _num(_get(s, "revenue", "total_unrestricted_cny")),
        "the appraisal has no revenue stage",
    )
    streams = []
    for st in _get(s, "revenue", "streams") or []:
        if isinstance(st, Mapping):
            streams.append(
                {
                    "name": st.get("name"),
                    "kind": st.get("kind"),
                    "total_cny": _num(st.get("total_revenue")),
                }
            )
    out["revenue_streams"] = streams

    put("npv_cny", _num(_get(s, "cashflow", "npv_cny")), "the appraisal has no cash flows")
    irr_reason = (
        "the cash flows have no unique IRR"
        if _get(s, "cashflow", "status") == "assessed" or _get(s, "cashflow", "npv_cny") is not None
        else "the appraisal has no cash flows"
    )
    put("irr", _num(_get(s, "cashflow", "irr")), irr_reason)
    no_risk = "the appraisal has no risk stage (Monte Carlo of NPV and IRR)"
    for q in ("p10", "p50", "p90"):
        put(f"npv_{q}_cny", _num(_get(s, "risk", "summary", "npv", q)), no_risk)
        put(f"irr_{q}", _num(_get(s, "risk", "summary", "irr", q)), no_risk)
    put("p_npv_negative", _num(_get(s, "risk", "summary", "p_npv_negative")), no_risk)
    put("p_irr_below_hurdle", _num(_get(s, "risk", "summary", "p_irr_below_hurdle")), no_risk)
    no_loan = "the appraisal's financing has no loan or bond with a DSCR"
    put("p_dscr_below_1", _num(_get(s, "risk", "summary", "p_dscr_below_1")), no_loan)
    put(
        "lender_expected_loss_cny",
        _num(_get(s, "risk", "summary", "lender", "expected_loss")),
        no_loan,
    )

    dscrs = [
        _num(c.get("min_dscr"))
        for c in _get(s, "financing", "structure", "covenants") or []
        if isinstance(c, Mapping)
    ]
    if not any(d is not None for d in dscrs):
        dscrs = [
            _num(_get(i, "summary", "min_dscr"))
            for i in _get(s, "financing", "instruments") or []
            if isinstance(i, Mapping)
        ]
    known = [d for d in dscrs if d is not None]
    put("min_dscr", min(known) if known else None, no_loan)

    modes = [m for m in _get(s, "modes", "mines") or [] if isinstance(m, Mapping)]
    put(
        "mode",
        modes[0].get("primary_mode") if modes else None,
        "the appraisal has no modes stage",
    )
    out["modes"] = sorted({str(m["primary_mode"]) for m in modes if m.get("primary_mode")})

    put(
        "esv_gain_cny_per_yr",
        _num(_get(s, "value", "esv", "change_cny_per_yr")),
        "the appraisal has no value stage (ESV before and after)",
    )
    before = _num(_get(s, "value", "gep", "before_cny_per_yr"))
    after = _num(_get(s, "value", "gep", "after_cny_per_yr"))
    put(
        "gep_gain_cny_per_yr",
        after - before if before is not None and after is not None else None,
        "GEP was not assessed (the project file gives no GEP zones)",
    )
    no_hazards = "the appraisal's modes stage has no hazard points"
    put("hazards_total", _num(_get(s, "modes", "figures", "hazard_points_total")), no_hazards)
    put(
        "hazards_eliminated",
        _num(_get(s, "modes", "figures", "hazard_points_eliminated")),
        no_hazards,
    )
    jobs = [_num(x) for x in _get(s, "modes", "figures", "jobs_by_year") or []]
    jobs_known = [j for j in jobs if j is not None]
    put(
        "jobs",
        max(jobs_known) if jobs_known else None,
        "the project file gives no jobs by year (modes.figures.jobs_by_year)",
    )
    note = str(_get(document, "project", "note") or "")
    out["fictional"] = bool(_get(document, "project", "fictional")) or "fictional" in note
    out["missing"] = missing
    return out


# ------------------------------------------------------------------------------ eligibility
def _covering(code: str | None, accepted: Sequence[str]) -> str | None:
    """The accepted region code that covers ``code`` (``430000`` covers ``430599``)."""
    if not code:
        return None
    for a in accepted:
        prefix = str(a)
        while prefix.endswith("00") and len(prefix) > 2:
            prefix = prefix[:-2]
        if str(code).startswith(prefix):
            return str(a)
    return None


def _texts(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value or ())


def as_project(listing: Mapping[str, Any], accepted_regions: Sequence[str] = ()) -> Any:
    """The :class:`restora.matching.problem.Project` of a listing.

    ``region`` is the listing's region code, or the code of ``accepted_regions`` that covers it
    (a product accepting a province or city accepts its counties); a figure the appraisal does
    not have is 0 here (:func:`check_pair` says it is missing instead of checking it).
    """
    from restora.matching.problem import Project

    f = listing.get("figures") or {}
    region = str(listing.get("region_code") or "")
    return Project(
        id=str(listing.get("id")),
        need_cny=float(listing.get("amount_cny") or 0.0),
        ecological_value=float(f.get("esv_gain_cny_per_yr") or 0.0),
        region=_covering(region, accepted_regions) or region,
        mineral=str(listing.get("mineral") or ""),
        mode=str(listing.get("mode") or f.get("mode") or ""),
        min_dscr=float(f["min_dscr"]) if f.get("min_dscr") is not None else 0.0,
        irr=f.get("irr"),
        p90_overrun=float(f["p90_overrun"]) if f.get("p90_overrun") is not None else 0.0,
        collateral=_texts(listing.get("collateral")),
    )


def as_product(product: Mapping[str, Any]) -> Any:
    """The :class:`restora.matching.problem.Product` of a stored product."""
    from restora.matching.problem import Product, Requirements

    q = product.get("requirements") or {}
    return Product(
        id=str(product.get("id")),
        capacity_cny=float(product.get("capacity_cny") or 0.0),
        ticket_min_cny=float(product.get("ticket_min_cny") or 0.0),
        ticket_max_cny=float(product.get("ticket_max_cny") or 0.0),
        requires=Requirements(
            min_dscr=q.get("min_dscr"),
            min_irr=q.get("min_irr"),
            max_p90_overrun=q.get("max_p90_overrun"),
            regions=_texts(q.get("regions")),
            minerals=_texts(q.get("minerals")),
            modes=_texts(q.get("modes")),
            collateral_any=_texts(q.get("collateral_any")),
        ),
    )


def _failure(
    requirement: str, code: str, en: str, zh: str, change: dict[str, Any]
) -> dict[str, Any]:
    return {
        "requirement": requirement,
        "code": code,
        "message": en,
        "message_zh": zh,
        "smallest_change": change,
    }


def _market_failures(
    listing: Mapping[str, Any], product: Mapping[str, Any]
) -> list[dict[str, Any]]:
    out = []
    want, offer = listing.get("instrument"), product.get("instrument")
    if want != offer:
        out.append(
            _failure(
                "instrument",
                "MARKET-INSTRUMENT",
                f"the listing wants {want}; the product is {offer}",
                f"项目需要{_INSTRUMENT_ZH.get(str(want), want)}，产品为"
                f"{_INSTRUMENT_ZH.get(str(offer), offer)}",
                {"parameter": "instrument", "from": want, "to": offer},
            )
        )
    tenor = listing.get("tenor_years")
    lo, hi = product.get("tenor_min_years"), product.get("tenor_max_years")
    if tenor is not None and lo is not None and tenor < lo:
        out.append(
            _failure(
                "tenor",
                "MARKET-TENOR",
                f"tenor {tenor:g} years below the product's {lo:g}",
                f"期限 {tenor:g} 年短于产品最短期限 {lo:g} 年",
                {"parameter": "tenor_years", "from": tenor, "to": lo},
            )
        )
    if tenor is not None and hi is not None and tenor > hi:
        out.append(
            _failure(
                "tenor",
                "MARKET-TENOR",
                f"tenor {tenor:g} years above the product's {hi:g}",
                f"期限 {tenor:g} 年长于产品最长期限 {hi:g} 年",
                {"parameter": "tenor_years", "from": tenor, "to": hi},
            )
        )
    stages = _texts((product.get("requirements") or {}).get("stages"))
    stage = listing.get("stage")
    if stages and stage not in stages:
        out.append(
            _failure(
                "stages",
                "MARKET-STAGE",
                f"stage {stage} not among the product's {', '.join(stages)}",
                f"项目阶段{_STAGE_ZH.get(str(stage), stage)}不在产品接受的阶段内",
                {"parameter": "stages", "add": stage},
            )
        )
    return out


_NEEDS_FIGURE = {"min_dscr": "min_dscr", "max_p90_overrun": "p90_overrun"}
_FIGURE_ZH = {"min_dscr": "最低偿债备付率", "p90_overrun": "P90 成本超支"}


def check_pair(listing: Mapping[str, Any], product: Mapping[str, Any]) -> dict[str, Any]:
    """Whether ``listing`` may take money from ``product``, with each failed requirement.

    Parameters
    ----------
    listing : mapping
        A stored listing: ``id``, ``amount_cny``, ``instrument``, ``tenor_years``, ``stage``,
        ``collateral``, ``region_code``, ``mineral``, ``mode`` and ``figures``
        (:func:`figures`).
    product : mapping
        A stored product: ``id``, ``instrument``, ``capacity_cny``, ``ticket_min_cny``,
        ``ticket_max_cny``, ``tenor_min_years``, ``tenor_max_years`` and ``requirements``
        (``min_dscr``, ``min_irr``, ``max_p90_overrun``, ``regions``, ``minerals``,
        ``modes``, ``stages``, ``collateral_any``).

    Returns
    -------
    dict
        ``{"listing", "product", "eligible", "failures": [{requirement, code, message,
        message_zh, smallest_change}], "notes"}``: the failures of
        :func:`restora.matching.eligibility.check` and of the market's rules.
    """
    from restora.matching.eligibility import check

    f = listing.get("figures") or {}
    q = dict(product.get("requirements") or {})
    own = _market_failures(listing, product)
    for requirement, figure in _NEEDS_FIGURE.items():
        if q.get(requirement) is not None and f.get(figure) is None:
            reason = (f.get("missing") or {}).get(figure, "not assessed")
            own.append(
                _failure(
                    requirement,
                    "MARKET-NOT-ASSESSED",
                    f"the product requires {requirement} {q[requirement]:g}; the appraisal has "
                    f"no {figure}: {reason}",
                    f"产品要求{_FIGURE_ZH[figure]}，评估未给出该指标",
                    {"parameter": figure, "from": None, "to": q[requirement]},
                )
            )
            q[requirement] = None
    stripped = {**product, "requirements": q}
    project = as_project(listing, _texts(q.get("regions")))
    verdict = check(project, as_product(stripped))
    failures = [x.document() for x in verdict.failures] + own
    return {
        "listing": listing.get("id"),
        "product": product.get("id"),
        "eligible": not failures,
        "failures": failures,
        "notes": list(verdict.notes),
    }

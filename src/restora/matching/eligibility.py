"""Whether a project may take money from a product, why not, and the smallest change that would fix it.

Each requirement is a rule with a stable code (docs/matching.md, "Eligibility rules"):

==================  ===============  ==========================================================
code                requirement      passes when
==================  ===============  ==========================================================
MATCH-DSCR          min_dscr         project min DSCR ≥ product's minimum
MATCH-IRR           min_irr          project IRR known and ≥ product's minimum
MATCH-P90           max_p90_overrun  project P90 overrun ≤ product's maximum
MATCH-REGION        regions          list empty, or the project's region in it
MATCH-MINERAL       minerals         list empty, or the project's mineral in it
MATCH-MODE          modes            list empty, or the project's mode in it
MATCH-COLLATERAL    collateral_any   list empty, or the project pledges one of them
MATCH-TICKET        ticket_min       project need ≥ the product's ticket minimum
MATCH-CAPACITY      capacity         the product can make one ticket: min(ticket max,
                                     capacity) > 0 and ≥ ticket min
==================  ===============  ==========================================================

A pair is eligible on these rules alone: a product alone gives a project at most
min(ticket max, capacity), but a project may be funded by several products, so amounts are the
allocation's business (:mod:`restora.matching.allocate`); :attr:`Eligibility.notes` says when
the product cannot fund the whole need alone.

The *smallest change* of a failed requirement is the change of one parameter, all others
unchanged, that makes that requirement pass with the least movement: a threshold moves the
project's figure exactly to the product's bound (``{"parameter": "min_dscr", "from": 1.08,
"to": 1.2}``); a list requirement names the value to add to the product's list (a region,
mineral or mode) or to the project's pledges (the first accepted collateral, in the
product's order).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from restora.matching.problem import Product, Project

__all__ = ["REQUIREMENTS", "Eligibility", "Failure", "check", "explain_unfunded"]

#: The requirements in the order of the rule table (and of :attr:`Eligibility.failures`).
REQUIREMENTS = (
    "min_dscr",
    "min_irr",
    "max_p90_overrun",
    "regions",
    "minerals",
    "modes",
    "collateral_any",
    "capacity",
    "ticket_min",
)


@dataclass(frozen=True)
class Failure:
    """One requirement a project fails for a product.

    Attributes
    ----------
    requirement : str
        The requirement's name in PROBLEM.json (``min_dscr``, ``regions``, …; ``ticket_min``
        and ``capacity`` for amounts).
    code : str
        The rule's stable code (``MATCH-DSCR``).
    message, message_zh : str
        What fails, in English and Chinese.
    smallest_change : dict
        ``{"parameter", "from", "to"}`` for a threshold or amount, ``{"parameter", "add"}``
        for a list: the smallest change of one parameter that makes this requirement pass.
    """

    requirement: str
    code: str
    message: str
    message_zh: str
    smallest_change: Mapping[str, Any]

    def document(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "requirement": self.requirement,
            "code": self.code,
            "message": self.message,
            "message_zh": self.message_zh,
            "smallest_change": dict(self.smallest_change),
        }


@dataclass(frozen=True)
class Eligibility:
    """The verdict on one (project, product) pair.

    Attributes
    ----------
    project, product : str
        Their ids.
    eligible : bool
        True when no requirement fails.
    failures : tuple of Failure
        Each failed requirement, in the order of the rule table.
    notes : tuple of str
        Facts about amounts that are not failures (the product alone cannot fund the need).
    """

    project: str
    product: str
    eligible: bool
    failures: tuple[Failure, ...] = ()
    notes: tuple[str, ...] = ()

    def document(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "project": self.project,
            "product": self.product,
            "eligible": self.eligible,
            "failures": [f.document() for f in self.failures],
            "notes": list(self.notes),
        }


def _ratio(x: float) -> str:
    return f"{x:.2f}"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _cny(x: float) -> str:
    return f"{x:,.0f} CNY"


def _cny_zh(x: float) -> str:
    return f"{x / 1e4:,.2f} 万元"


def _threshold_failures(project: Project, product: Product) -> list[Failure]:
    q = product.requires
    out = []
    if q.min_dscr is not None and not project.min_dscr >= q.min_dscr:
        out.append(
            Failure(
                "min_dscr",
                "MATCH-DSCR",
                f"DSCR {_ratio(project.min_dscr)} below the product's {_ratio(q.min_dscr)}",
                f"最低偿债备付率 {_ratio(project.min_dscr)} 低于产品要求的 {_ratio(q.min_dscr)}",
                {"parameter": "min_dscr", "from": project.min_dscr, "to": q.min_dscr},
            )
        )
    if q.min_irr is not None and (project.irr is None or not project.irr >= q.min_irr):
        if project.irr is None:
            en = f"IRR unknown; the product requires at least {_pct(q.min_irr)}"
            zh = f"内部收益率未知；产品要求不低于 {_pct(q.min_irr)}"
        else:
            en = f"IRR {_pct(project.irr)} below the product's {_pct(q.min_irr)}"
            zh = f"内部收益率 {_pct(project.irr)} 低于产品要求的 {_pct(q.min_irr)}"
        out.append(
            Failure(
                "min_irr",
                "MATCH-IRR",
                en,
                zh,
                {"parameter": "irr", "from": project.irr, "to": q.min_irr},
            )
        )
    if q.max_p90_overrun is not None and not project.p90_overrun <= q.max_p90_overrun:
        out.append(
            Failure(
                "max_p90_overrun",
                "MATCH-P90",
                f"P90 cost overrun {_pct(project.p90_overrun)} above the product's maximum "
                f"{_pct(q.max_p90_overrun)}",
                f"P90 成本超支 {_pct(project.p90_overrun)} 高于产品上限 {_pct(q.max_p90_overrun)}",
                {"parameter": "p90_overrun", "from": project.p90_overrun, "to": q.max_p90_overrun},
            )
        )
    return out


_LISTS = (
    ("regions", "region", "MATCH-REGION", "region", "地区"),
    ("minerals", "mineral", "MATCH-MINERAL", "mineral", "矿种"),
    ("modes", "mode", "MATCH-MODE", "mode", "价值实现模式"),
)


def _list_failures(project: Project, product: Product) -> list[Failure]:
    q = product.requires
    out = []
    for key, attr, code, word, word_zh in _LISTS:
        accepted: Sequence[str] = getattr(q, key)
        value = getattr(project, attr)
        if accepted and value not in accepted:
            shown = ", ".join(accepted)
            out.append(
                Failure(
                    key,
                    code,
                    f"{word} {value} not among the product's {key} ({shown})",
                    f"{word_zh} {value} 不在产品接受的{word_zh}（{shown}）之内",
                    {"parameter": f"product.requires.{key}", "add": value},
                )
            )
    accepted = q.collateral_any
    if accepted and not set(project.collateral) & set(accepted):
        shown = ", ".join(accepted)
        pledged = ", ".join(project.collateral) or "none"
        out.append(
            Failure(
                "collateral_any",
                "MATCH-COLLATERAL",
                f"collateral ({pledged}) includes none the product accepts ({shown})",
                f"可质押权益（{pledged if project.collateral else '无'}）均不在产品接受的（{shown}）之内",
                {"parameter": "collateral", "add": accepted[0]},
            )
        )
    return out


def _amount_failures(project: Project, product: Product) -> tuple[list[Failure], list[str]]:
    out, notes = [], []
    most = min(product.ticket_max_cny, product.capacity_cny)
    if most <= 0 or most < product.ticket_min_cny:
        to = max(product.ticket_min_cny, min(project.need_cny, product.ticket_max_cny))
        out.append(
            Failure(
                "capacity",
                "MATCH-CAPACITY",
                f"the product can make no ticket: capacity {_cny(product.capacity_cny)}, "
                f"tickets {_cny(product.ticket_min_cny)} to {_cny(product.ticket_max_cny)}",
                f"产品无法出资：额度 {_cny_zh(product.capacity_cny)}，单笔 "
                f"{_cny_zh(product.ticket_min_cny)} 至 {_cny_zh(product.ticket_max_cny)}",
                {"parameter": "product.capacity_cny", "from": product.capacity_cny, "to": to},
            )
        )
    if project.need_cny < product.ticket_min_cny:
        out.append(
            Failure(
                "ticket_min",
                "MATCH-TICKET",
                f"need {_cny(project.need_cny)} below the product's minimum ticket "
                f"{_cny(product.ticket_min_cny)}",
                f"资金需求 {_cny_zh(project.need_cny)} 低于产品单笔下限 "
                f"{_cny_zh(product.ticket_min_cny)}",
                {
                    "parameter": "need_cny",
                    "from": project.need_cny,
                    "to": product.ticket_min_cny,
                },
            )
        )
    elif not out and project.need_cny > most:
        notes.append(
            f"the product alone gives at most {_cny(most)} "
            f"({'ticket maximum' if product.ticket_max_cny <= product.capacity_cny else 'capacity'})"
            f" of the need {_cny(project.need_cny)}; other products must give the rest"
        )
    return out, notes


def check(project: Project, product: Product) -> Eligibility:
    """Whether ``project`` may take money from ``product``, with every failed requirement.

    Parameters
    ----------
    project : Project
        Need [CNY], min DSCR [1], IRR [1/yr] or None, P90 overrun [1], region, mineral, mode,
        collateral.
    product : Product
        Capacity and tickets [CNY] and requirements.

    Returns
    -------
    Eligibility
        ``eligible`` and each :class:`Failure` with its messages (English, 中文) and smallest
        change; ``notes`` when the product alone cannot give the whole need.

    Notes
    -----
    Thresholds are inclusive (a DSCR equal to the minimum passes). A project whose need is
    below the product's ticket minimum fails (the product could only give more than is
    needed); a product whose capacity or ticket maximum is below its own ticket minimum (or
    zero) fails for every project. A need above what the product alone can give is a note,
    not a failure: several products may fund one project.

    References
    ----------
    Issue 14 ("Eligibility and explanation"); docs/matching.md.

    Examples
    --------
    >>> from restora.matching.problem import Requirements
    >>> p = Project("A", 5e7, 10.0, "430000", "coal", "ecological", 1.08, 0.05, 0.1, ())
    >>> k = Product("L", 1e9, 1e6, 1e8, Requirements(min_dscr=1.2))
    >>> e = check(p, k)
    >>> e.eligible, e.failures[0].message, dict(e.failures[0].smallest_change)
    (False, "DSCR 1.08 below the product's 1.20", {'parameter': 'min_dscr', 'from': 1.08, 'to': 1.2})
    """
    failures = _threshold_failures(project, product) + _list_failures(project, product)
    amount, notes = _amount_failures(project, product)
    failures += amount
    return Eligibility(project.id, product.id, not failures, tuple(failures), tuple(notes))


def explain_unfunded(
    project: Project,
    verdicts: Sequence[Eligibility],
    *,
    cause: str | None = None,
) -> list[str]:
    """The reasons an unfunded project was not funded, in words.

    Parameters
    ----------
    project : Project
    verdicts : sequence of Eligibility
        The project's verdict for every product.
    cause : str, optional
        For a project with eligible products, why the allocation left it out (said by the
        allocator: capacity, region cap or optimality).

    Returns
    -------
    list of str
        With no eligible product: "no eligible product" and, per failed requirement (most
        products excluded first, then in the order of the rule table), how many products it
        excludes with the first such product's message; otherwise the ``cause``.

    Examples
    --------
    >>> from restora.matching.problem import Requirements
    >>> p = Project("A", 5e7, 10.0, "430000", "coal", "ecological", 1.08, 0.05, 0.1, ())
    >>> ks = [Product(f"L{i}", 1e9, 1e6, 1e8, Requirements(min_dscr=1.2)) for i in range(2)]
    >>> explain_unfunded(p, [check(p, k) for k in ks])
    ['no eligible product among 2', "min_dscr fails for 2 product(s), e.g. L0: DSCR 1.08 below the product's 1.20"]
    """
    eligible = [v for v in verdicts if v.eligible]
    if not verdicts:
        return ["no product offered"]
    if not eligible:
        reasons = [f"no eligible product among {len(verdicts)}"]
        by_requirement: dict[str, list[tuple[str, Failure]]] = {}
        for v in verdicts:
            for f in v.failures:
                by_requirement.setdefault(f.requirement, []).append((v.product, f))
        ranked = sorted(
            by_requirement.items(), key=lambda kv: (-len(kv[1]), REQUIREMENTS.index(kv[0]))
        )
        for requirement, fails in ranked:
            product, first = fails[0]
            reasons.append(
                f"{requirement} fails for {len(fails)} product(s), e.g. {product}: {first.message}"
            )
        return reasons
    ids = ", ".join(v.product for v in eligible[:5]) + (" …" if len(eligible) > 5 else "")
    return [f"eligible for {len(eligible)} product(s) ({ids})", cause or "not chosen"]

"""One matching instance: restoration projects, finance products and limits (``PROBLEM.json``).

The typed form of the contract of issue 14 (docs/matching.md, "The contract"):

.. code-block:: json

    {"projects": [{"id", "need_cny", "ecological_value", "region", "mineral", "mode",
                   "min_dscr", "irr", "p90_overrun", "collateral": [...]}],
     "products": [{"id", "capacity_cny", "ticket_min_cny", "ticket_max_cny",
                   "requires": {"min_dscr", "min_irr", "max_p90_overrun", "regions": [...],
                                "minerals": [...], "modes": [...], "collateral_any": [...]}}],
     "limits": {"max_region_share"}}

A missing requirement or an empty list means "any"; ``irr`` may be null (then any ``min_irr``
fails); ``max_region_share`` is a fraction of the total money allocated. :func:`parse_problem`
checks everything and raises one :class:`~restora.errors.InputError` listing every problem,
each naming its field path (``projects[3].need_cny: must be a number ≥ 0``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from restora.errors import InputError
from restora.errors import Problem as _InputProblem

__all__ = [
    "Limits",
    "Problem",
    "Product",
    "Project",
    "Requirements",
    "parse_problem",
    "problem_document",
]


@dataclass(frozen=True)
class Project:
    """A restoration project seeking money, as published in the project library.

    Attributes
    ----------
    id : str
        Unique identifier.
    need_cny : float
        Money needed [CNY]; funded whole or not at all.
    ecological_value : float
        Ecological value of restoring it (the objective's weight; e.g. ESV/GEP gain) [any unit,
        the same for all projects; the objective is in this unit].
    region : str
        Region code (province or county, GB/T 2260) [-].
    mineral : str
        Mineral mined [-].
    mode : str
        Value-realization mode [-].
    min_dscr : float
        The project's minimum debt-service coverage ratio over the loan's life [1].
    irr : float or None
        Project internal rate of return [1/yr, a fraction: 0.06 = 6 %]; None when unknown.
    p90_overrun : float
        P90 cost overrun, P90 cost / P50 cost − 1 [1, a fraction].
    collateral : tuple of str
        Rights the project can pledge (carbon-sink, quota, charging, land-use rights) [-].
    """

    id: str
    need_cny: float
    ecological_value: float
    region: str
    mineral: str
    mode: str
    min_dscr: float
    irr: float | None
    p90_overrun: float
    collateral: tuple[str, ...] = ()


@dataclass(frozen=True)
class Requirements:
    """What a product asks of a project; None or an empty tuple means "any".

    Attributes
    ----------
    min_dscr : float or None
        Minimum of the project's minimum DSCR [1].
    min_irr : float or None
        Minimum project IRR [1/yr, a fraction].
    max_p90_overrun : float or None
        Maximum P90 cost overrun [1, a fraction].
    regions, minerals, modes : tuple of str
        Accepted regions, minerals, value-realization modes (empty: any).
    collateral_any : tuple of str
        The project must pledge at least one of these (empty: no collateral required).
    """

    min_dscr: float | None = None
    min_irr: float | None = None
    max_p90_overrun: float | None = None
    regions: tuple[str, ...] = ()
    minerals: tuple[str, ...] = ()
    modes: tuple[str, ...] = ()
    collateral_any: tuple[str, ...] = ()


@dataclass(frozen=True)
class Product:
    """A finance product offered by a provider.

    Attributes
    ----------
    id : str
        Unique identifier.
    capacity_cny : float
        Money the product can lend or invest in total [CNY].
    ticket_min_cny, ticket_max_cny : float
        Smallest and largest amount it puts into one project, when it takes part [CNY].
    requires : Requirements
        Eligibility requirements.
    """

    id: str
    capacity_cny: float
    ticket_min_cny: float
    ticket_max_cny: float
    requires: Requirements = field(default_factory=Requirements)


@dataclass(frozen=True)
class Limits:
    """Limits on the allocation as a whole.

    Attributes
    ----------
    max_region_share : float or None
        Largest share of the total money allocated that may go to projects of any one region
        [1, a fraction in (0, 1]]; None: no cap.
    """

    max_region_share: float | None = None


@dataclass(frozen=True)
class Problem:
    """One matching instance."""

    projects: tuple[Project, ...]
    products: tuple[Product, ...]
    limits: Limits = field(default_factory=Limits)


class _Reader:
    """Collects every problem of a document, each naming its field path."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[_InputProblem] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(_InputProblem(message, file=self.source, field=path))

    def number(
        self,
        obj: Mapping[str, Any],
        key: str,
        path: str,
        *,
        required: bool = True,
        nullable: bool = False,
        minimum: float | None = None,
    ) -> float | None:
        where = f"{path}.{key}"
        rule = "a number" + (f" ≥ {minimum:g}" if minimum is not None else "")
        if key not in obj:
            if required:
                self.fail(where, f"required (must be {rule})")
            return None
        value = obj[key]
        if value is None:
            if not (nullable or not required):
                self.fail(where, f"must be {rule}, not null")
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(where, f"must be {rule}, not {value!r}")
            return None
        number = float(value)
        if not math.isfinite(number) or (minimum is not None and number < minimum):
            self.fail(where, f"must be {rule}, not {value!r}")
            return None
        return number

    def text(self, obj: Mapping[str, Any], key: str, path: str) -> str:
        where = f"{path}.{key}"
        if key not in obj:
            self.fail(where, "required (must be a text)")
            return ""
        value = obj[key]
        if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value) == "":
            self.fail(where, f"must be a non-empty text, not {value!r}")
            return ""
        return str(value)

    def texts(self, obj: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
        where = f"{path}.{key}"
        value = obj.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            self.fail(where, f"must be a list of texts, not {value!r}")
            return ()
        out = []
        for i, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, (str, int)) or str(item) == "":
                self.fail(f"{where}[{i}]", f"must be a non-empty text, not {item!r}")
            else:
                out.append(str(item))
        return tuple(out)

    def mapping(self, value: Any, path: str) -> Mapping[str, Any] | None:
        if not isinstance(value, Mapping):
            self.fail(path, f"must be an object, not {_kind(value)}")
            return None
        return value

    def known(self, obj: Mapping[str, Any], keys: Sequence[str], path: str) -> None:
        for key in obj:
            if key not in keys:
                self.fail(f"{path}.{key}" if path else str(key), "not a known field")


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return repr(value) if len(repr(value)) <= 40 else type(value).__name__


_PROJECT_KEYS = (
    "id",
    "need_cny",
    "ecological_value",
    "region",
    "mineral",
    "mode",
    "min_dscr",
    "irr",
    "p90_overrun",
    "collateral",
)
_PRODUCT_KEYS = ("id", "capacity_cny", "ticket_min_cny", "ticket_max_cny", "requires")
_REQUIRES_KEYS = (
    "min_dscr",
    "min_irr",
    "max_p90_overrun",
    "regions",
    "minerals",
    "modes",
    "collateral_any",
)


def _project(r: _Reader, obj: Mapping[str, Any], path: str) -> Project:
    r.known(obj, _PROJECT_KEYS, path)
    irr = r.number(obj, "irr", path, nullable=True) if "irr" in obj else None
    return Project(
        id=r.text(obj, "id", path),
        need_cny=r.number(obj, "need_cny", path, minimum=0) or 0.0,
        ecological_value=r.number(obj, "ecological_value", path, minimum=0) or 0.0,
        region=r.text(obj, "region", path),
        mineral=r.text(obj, "mineral", path),
        mode=r.text(obj, "mode", path),
        min_dscr=r.number(obj, "min_dscr", path) or 0.0,
        irr=irr,
        p90_overrun=r.number(obj, "p90_overrun", path) or 0.0,
        collateral=r.texts(obj, "collateral", path),
    )


def _requirements(r: _Reader, value: Any, path: str) -> Requirements:
    if value is None:
        return Requirements()
    obj = r.mapping(value, path)
    if obj is None:
        return Requirements()
    r.known(obj, _REQUIRES_KEYS, path)
    return Requirements(
        min_dscr=r.number(obj, "min_dscr", path, required=False),
        min_irr=r.number(obj, "min_irr", path, required=False),
        max_p90_overrun=r.number(obj, "max_p90_overrun", path, required=False),
        regions=r.texts(obj, "regions", path),
        minerals=r.texts(obj, "minerals", path),
        modes=r.texts(obj, "modes", path),
        collateral_any=r.texts(obj, "collateral_any", path),
    )


def _product(r: _Reader, obj: Mapping[str, Any], path: str) -> Product:
    r.known(obj, _PRODUCT_KEYS, path)
    capacity = r.number(obj, "capacity_cny", path, minimum=0)
    tmin = r.number(obj, "ticket_min_cny", path, minimum=0)
    tmax = r.number(obj, "ticket_max_cny", path, minimum=0)
    if tmin is not None and tmax is not None and tmin > tmax:
        r.fail(f"{path}.ticket_min_cny", f"{tmin:g} is above ticket_max_cny {tmax:g}")
    return Product(
        id=r.text(obj, "id", path),
        capacity_cny=capacity or 0.0,
        ticket_min_cny=tmin or 0.0,
        ticket_max_cny=tmax or 0.0,
        requires=_requirements(r, obj.get("requires"), f"{path}.requires"),
    )


def _unique(r: _Reader, ids: Sequence[str], what: str) -> None:
    first: dict[str, int] = {}
    for i, ident in enumerate(ids):
        if ident == "":
            continue
        if ident in first:
            r.fail(f"{what}[{i}].id", f"{ident!r} repeats {what}[{first[ident]}].id")
        else:
            first[ident] = i


def parse_problem(data: Any, source: str = "PROBLEM.json") -> Problem:
    """Check a decoded ``PROBLEM.json`` document and return the typed :class:`Problem`.

    Parameters
    ----------
    data : object
        The decoded JSON document.
    source : str
        Name of the file, for the messages.

    Returns
    -------
    Problem

    Raises
    ------
    InputError
        One problem per wrong field, each naming its path (``projects[3].need_cny``): a
        missing or non-numeric number, a negative amount, a repeated id, a ticket minimum above
        the maximum, ``max_region_share`` outside (0, 1], an unknown field.

    Examples
    --------
    >>> p = parse_problem({"projects": [], "products": [
    ...     {"id": "G1", "capacity_cny": 1e8, "ticket_min_cny": 0, "ticket_max_cny": 5e7}]})
    >>> p.products[0].requires.regions
    ()
    >>> try:
    ...     parse_problem({"projects": [{"id": "A", "need_cny": -1}], "products": []})
    ... except InputError as e:
    ...     print(str(e).splitlines()[0])
    PROBLEM.json, column "projects[0].need_cny": must be a number ≥ 0, not -1
    """
    r = _Reader(source)
    doc = r.mapping(data, "(document)")
    if doc is None:
        raise InputError(problems=r.problems)
    r.known(doc, ("projects", "products", "limits"), "")
    projects: list[Project] = []
    products: list[Product] = []
    for key in ("projects", "products"):
        items = doc.get(key)
        if not isinstance(items, list):
            r.fail(
                key, "required (a list)" if items is None else f"must be a list, not {_kind(items)}"
            )
            continue
        for i, item in enumerate(items):
            obj = r.mapping(item, f"{key}[{i}]")
            if obj is None:
                continue
            if key == "projects":
                projects.append(_project(r, obj, f"{key}[{i}]"))
            else:
                products.append(_product(r, obj, f"{key}[{i}]"))
    _unique(r, [p.id for p in projects], "projects")
    _unique(r, [p.id for p in products], "products")
    share = None
    limits = doc.get("limits")
    if limits is not None:
        lim = r.mapping(limits, "limits")
        if lim is not None:
            r.known(lim, ("max_region_share",), "limits")
            share = r.number(lim, "max_region_share", "limits", required=False)
            if share is not None and not 0 < share <= 1:
                r.fail("limits.max_region_share", f"must be in (0, 1], not {share:g}")
                share = None
    if r.problems:
        raise InputError(problems=r.problems)
    return Problem(tuple(projects), tuple(products), Limits(max_region_share=share))


def problem_document(problem: Problem) -> dict[str, Any]:
    """The ``PROBLEM.json`` document of ``problem`` (the inverse of :func:`parse_problem`)."""

    def requires(q: Requirements) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("min_dscr", "min_irr", "max_p90_overrun"):
            if getattr(q, key) is not None:
                out[key] = getattr(q, key)
        for key in ("regions", "minerals", "modes", "collateral_any"):
            if getattr(q, key):
                out[key] = list(getattr(q, key))
        return out

    return {
        "projects": [
            {
                "id": p.id,
                "need_cny": p.need_cny,
                "ecological_value": p.ecological_value,
                "region": p.region,
                "mineral": p.mineral,
                "mode": p.mode,
                "min_dscr": p.min_dscr,
                "irr": p.irr,
                "p90_overrun": p.p90_overrun,
                "collateral": list(p.collateral),
            }
            for p in problem.projects
        ],
        "products": [
            {
                "id": k.id,
                "capacity_cny": k.capacity_cny,
                "ticket_min_cny": k.ticket_min_cny,
                "ticket_max_cny": k.ticket_max_cny,
                "requires": requires(k.requires),
            }
            for k in problem.products
        ],
        "limits": (
            {}
            if problem.limits.max_region_share is None
            else {"max_region_share": problem.limits.max_region_share}
        ),
    }

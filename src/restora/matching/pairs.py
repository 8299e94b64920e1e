"""The eligible (project, product) pairs of a whole instance, vectorised.

:func:`restora.matching.eligibility.check` explains one pair; an allocation over 100 000
projects × 1 000 products cannot call it 10^8 times. :func:`eligible_pairs` applies the same
rules (docs/matching.md, "Eligibility rules") product by product to arrays of all projects, so
only the eligible pairs are ever built (tests/matching/test_pairs.py checks that it agrees with
``check`` pair by pair).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from restora.matching.problem import Problem, Project

__all__ = ["Pairs", "ProjectArrays", "eligible_pairs", "project_arrays", "requirement_failures"]


@dataclass(frozen=True)
class ProjectArrays:
    """The projects' fields as arrays (one entry per project, in the instance's order).

    ``region``, ``mineral`` and ``mode`` are integer codes into ``regions``, ``minerals``,
    ``modes``; ``collateral`` is one boolean array per kind of collateral.
    """

    need: np.ndarray  # [CNY]
    eco: np.ndarray  # [ecological value]
    dscr: np.ndarray  # [1]
    irr: np.ndarray  # [1/yr], NaN when unknown
    overrun: np.ndarray  # [1]
    region: np.ndarray
    mineral: np.ndarray
    mode: np.ndarray
    regions: tuple[str, ...]
    minerals: tuple[str, ...]
    modes: tuple[str, ...]
    collateral: dict[str, np.ndarray]


@dataclass(frozen=True)
class Pairs:
    """Eligible pairs: ``project[i]`` may take money from ``product[i]`` (indices)."""

    project: np.ndarray
    product: np.ndarray

    def __len__(self) -> int:
        return len(self.project)


def _codes(values: Sequence[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    names, codes = np.unique(np.asarray(values, dtype=object).astype(str), return_inverse=True)
    return codes.astype(np.int64), tuple(str(n) for n in names)


def project_arrays(projects: Sequence[Project]) -> ProjectArrays:
    """The projects as arrays (see :class:`ProjectArrays`)."""
    region, regions = _codes([p.region for p in projects])
    mineral, minerals = _codes([p.mineral for p in projects])
    mode, modes = _codes([p.mode for p in projects])
    kinds = sorted({c for p in projects for c in p.collateral})
    collateral = {k: np.zeros(len(projects), dtype=bool) for k in kinds}
    for i, p in enumerate(projects):
        for c in p.collateral:
            collateral[c][i] = True
    return ProjectArrays(
        need=np.array([p.need_cny for p in projects], dtype=float),
        eco=np.array([p.ecological_value for p in projects], dtype=float),
        dscr=np.array([p.min_dscr for p in projects], dtype=float),
        irr=np.array([np.nan if p.irr is None else p.irr for p in projects], dtype=float),
        overrun=np.array([p.p90_overrun for p in projects], dtype=float),
        region=region,
        mineral=mineral,
        mode=mode,
        regions=regions,
        minerals=minerals,
        modes=modes,
        collateral=collateral,
    )


def _member(codes: np.ndarray, names: tuple[str, ...], accepted: Sequence[str]) -> np.ndarray:
    lookup = {n: i for i, n in enumerate(names)}
    wanted = np.zeros(len(names), dtype=bool)
    for a in accepted:
        if a in lookup:
            wanted[lookup[a]] = True
    return wanted[codes]


def eligible_pairs(problem: Problem, arrays: ProjectArrays | None = None) -> Pairs:
    """Every eligible (project, product) pair, product by product.

    Parameters
    ----------
    problem : Problem
    arrays : ProjectArrays, optional
        The projects as arrays, if already built.

    Returns
    -------
    Pairs
        Sorted by product, then project.

    Notes
    -----
    The rules and their inclusive thresholds are those of
    :func:`restora.matching.eligibility.check`; a NaN IRR fails any ``min_irr`` because every
    comparison with NaN is false.
    """
    a = project_arrays(problem.projects) if arrays is None else arrays
    n = len(a.need)
    projects, products = [], []
    for k, product in enumerate(problem.products):
        q = product.requires
        most = min(product.ticket_max_cny, product.capacity_cny)
        if most <= 0 or most < product.ticket_min_cny:
            continue
        ok = a.need >= product.ticket_min_cny
        if q.min_dscr is not None:
            ok &= a.dscr >= q.min_dscr
        if q.min_irr is not None:
            ok &= a.irr >= q.min_irr
        if q.max_p90_overrun is not None:
            ok &= a.overrun <= q.max_p90_overrun
        if q.regions:
            ok &= _member(a.region, a.regions, q.regions)
        if q.minerals:
            ok &= _member(a.mineral, a.minerals, q.minerals)
        if q.modes:
            ok &= _member(a.mode, a.modes, q.modes)
        if q.collateral_any:
            pledged = np.zeros(n, dtype=bool)
            for c in q.collateral_any:
                if c in a.collateral:
                    pledged |= a.collateral[c]
            ok &= pledged
        idx = np.flatnonzero(ok)
        projects.append(idx)
        products.append(np.full(len(idx), k, dtype=np.int64))
    if not projects:
        return Pairs(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    return Pairs(np.concatenate(projects).astype(np.int64), np.concatenate(products))


def requirement_failures(
    problem: Problem, arrays: ProjectArrays, projects: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """For some projects: per requirement, how many products each fails it for, and the first.

    Parameters
    ----------
    problem : Problem
    arrays : ProjectArrays
    projects : int array
        Indices of the projects to count for.

    Returns
    -------
    dict
        Requirement name (as in :data:`restora.matching.eligibility.REQUIREMENTS`) → (count per
        project, index of the first product failing it or −1). The same rules as
        :func:`eligible_pairs`, kept requirement by requirement.
    """
    from restora.matching.eligibility import REQUIREMENTS

    n = len(projects)
    need, dscr, irr = arrays.need[projects], arrays.dscr[projects], arrays.irr[projects]
    overrun = arrays.overrun[projects]
    codes = {
        "regions": (arrays.region[projects], arrays.regions),
        "minerals": (arrays.mineral[projects], arrays.minerals),
        "modes": (arrays.mode[projects], arrays.modes),
    }
    out = {r: (np.zeros(n, dtype=np.int64), np.full(n, -1, dtype=np.int64)) for r in REQUIREMENTS}

    def add(requirement: str, fails: np.ndarray, k: int) -> None:
        count, first = out[requirement]
        count += fails
        first[(first < 0) & fails] = k

    for k, product in enumerate(problem.products):
        q = product.requires
        if q.min_dscr is not None:
            add("min_dscr", ~(dscr >= q.min_dscr), k)
        if q.min_irr is not None:
            add("min_irr", ~(irr >= q.min_irr), k)
        if q.max_p90_overrun is not None:
            add("max_p90_overrun", ~(overrun <= q.max_p90_overrun), k)
        for key, (code, names) in codes.items():
            accepted = getattr(q, key)
            if accepted:
                add(key, ~_member(code, names, accepted), k)
        if q.collateral_any:
            pledged = np.zeros(n, dtype=bool)
            for c in q.collateral_any:
                if c in arrays.collateral:
                    pledged |= arrays.collateral[c][projects]
            add("collateral_any", ~pledged, k)
        most = min(product.ticket_max_cny, product.capacity_cny)
        if most <= 0 or most < product.ticket_min_cny:
            add("capacity", np.ones(n, dtype=bool), k)
        add("ticket_min", need < product.ticket_min_cny, k)
    return out

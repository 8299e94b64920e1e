"""Remediation techniques by pollution gradient, and the rules that map pollution to a zone class.

Both are reference tables: ``remediation/techniques`` (the catalogue: which zone classes, metals,
land uses after and depths each technique suits, and its unit-cost key for costing) and
``remediation/zone-classes`` (ordered rules from the standard's class and the Nemerow grade to
``severe``, ``moderate``, ``mild`` or ``clean``, each with a stable code).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from restora import refdata
from restora.diagnosis.soil import CLASSES
from restora.errors import InputError, RestoraError

TECHNIQUES_TABLE = "remediation/techniques"
ZONE_CLASSES_TABLE = "remediation/zone-classes"
ZONE_CLASSES = ("clean", "mild", "moderate", "severe")  # increasing severity
LAND_USES_AFTER = ("agricultural", "ecological", "construction")
ANY = "any"


@dataclass(frozen=True)
class Technique:
    """One remediation technique of the catalogue.

    ``max_depth_m`` [m] is the indicative working depth; ``metals`` may be ``("any",)``.
    """

    code: str
    name: str
    name_zh: str
    zone_classes: tuple[str, ...]
    metals: tuple[str, ...]
    land_use_after: tuple[str, ...]
    max_depth_m: float
    unit_cost_key: str
    hyperaccumulator: str | None = None
    notes: str = ""

    def treats(self, metals: Iterable[str]) -> bool:
        """True if the technique treats any of ``metals`` (or every metal)."""
        return ANY in self.metals or bool(set(self.metals) & set(metals))

    def as_dict(self) -> dict[str, Any]:
        """The technique as plain JSON-ready values."""
        return {
            "code": self.code,
            "name": self.name,
            "name_zh": self.name_zh,
            "metals": list(self.metals),
            "hyperaccumulator": self.hyperaccumulator,
            "land_use_after": list(self.land_use_after),
            "max_depth_m": self.max_depth_m,
            "unit_cost_key": self.unit_cost_key,
        }


@dataclass(frozen=True)
class Catalogue:
    """The technique catalogue in force, with its table for provenance."""

    techniques: tuple[Technique, ...]
    table: refdata.RefTable

    def candidates(
        self,
        zone_class: str,
        metals: Sequence[str],
        *,
        land_use_after: str | None = None,
        depth_m: float | None = None,
    ) -> list[Technique]:
        """Techniques for a zone: its class, the metals above screening, land use after, depth.

        Parameters
        ----------
        zone_class : {"severe", "moderate", "mild", "clean"}
            The zone's treatment class.
        metals : sequence of str
            Pollutants above their screening values in the zone; metal-specific techniques
            (hyperaccumulators) are offered only when they treat one of them.
        land_use_after : {"agricultural", "ecological", "construction"}, optional
            Intended land use after treatment; techniques that do not allow it are left out.
        depth_m : float, optional
            Depth of contamination to treat [m]; techniques working shallower are left out.
        """
        if zone_class not in ZONE_CLASSES:
            raise InputError(f"zone class {zone_class!r} is not one of {', '.join(ZONE_CLASSES)}")
        if land_use_after is not None and land_use_after not in LAND_USES_AFTER:
            raise InputError(
                f"land use after {land_use_after!r} is not one of {', '.join(LAND_USES_AFTER)}",
                field="land_use_after",
            )
        out = []
        for t in self.techniques:
            if zone_class not in t.zone_classes:
                continue
            if metals and not t.treats(metals):
                continue
            if land_use_after is not None and land_use_after not in t.land_use_after:
                continue
            if depth_m is not None and depth_m > t.max_depth_m:
                continue
            out.append(t)
        return out


def load_catalogue(on: dt.date | str | None = None, region: str | None = None) -> Catalogue:
    """The technique catalogue (``remediation/techniques``) in force on ``on`` for ``region``."""
    table = refdata.get(TECHNIQUES_TABLE, on=on, region=region)
    items = []
    for r in table.data:
        bad = [z for z in r["zone_classes"] if z not in ZONE_CLASSES]
        bad += [u for u in r["land_use_after"] if u not in LAND_USES_AFTER]
        if bad:
            raise RestoraError(f"{table.name}: {r['code']}: unknown {', '.join(bad)}")
        items.append(
            Technique(
                code=str(r["code"]),
                name=str(r["name"]),
                name_zh=str(r.get("name_zh", "")),
                zone_classes=tuple(r["zone_classes"]),
                metals=tuple(str(m) for m in r["metals"]),
                land_use_after=tuple(r["land_use_after"]),
                max_depth_m=float(r["max_depth_m"]),
                unit_cost_key=str(r["unit_cost_key"]),
                hyperaccumulator=r.get("hyperaccumulator"),
                notes=str(r.get("notes", "")),
            )
        )
    return Catalogue(tuple(items), table)


@dataclass(frozen=True)
class ZoneRules:
    """Lookup ``[standard class, Nemerow grade] → (zone class, rule code)`` from the rule table."""

    zone: NDArray[np.int8]  # (classes, grades) index into ZONE_CLASSES
    rule: NDArray[np.object_]  # (classes, grades) rule codes
    grades: tuple[str, ...]
    table: refdata.RefTable

    def classify(
        self, standard_class: ArrayLike, nemerow_grade: ArrayLike
    ) -> tuple[NDArray[np.int8], NDArray[np.object_]]:
        """Zone class (index into :data:`ZONE_CLASSES`) and rule code, element-wise.

        Parameters
        ----------
        standard_class : array_like of int
            Index into :data:`restora.diagnosis.soil.CLASSES`.
        nemerow_grade : array_like of int
            Index into the Nemerow grade names.
        """
        k = np.asarray(standard_class, dtype=np.intp)
        g = np.asarray(nemerow_grade, dtype=np.intp)
        if np.any(k < 0) or np.any(g < 0):
            raise ValueError("zone rules need a class and a grade for every cell")
        return self.zone[k, g], self.rule[k, g]


def load_zone_rules(
    grades: Sequence[str], on: dt.date | str | None = None, region: str | None = None
) -> ZoneRules:
    """Compile ``remediation/zone-classes`` into a lookup; every combination must be covered.

    Parameters
    ----------
    grades : sequence of str
        Names of the Nemerow grades in order (from ``soil/indices/nemerow-grades``).
    """
    table = refdata.get(ZONE_CLASSES_TABLE, on=on, region=region)
    zone = np.full((len(CLASSES), len(grades)), -1, dtype=np.int8)
    rule = np.full((len(CLASSES), len(grades)), None, dtype=object)
    for r in table.data:
        cls = str(r["standard_class"])
        if cls not in CLASSES or r["zone"] not in ZONE_CLASSES:
            raise RestoraError(f"{table.name}: {r['code']}: unknown class or zone")
        k = CLASSES.index(cls)
        wanted = list(grades) if ANY in r["nemerow_grades"] else list(r["nemerow_grades"])
        for name in wanted:
            if name not in grades:
                raise RestoraError(f"{table.name}: {r['code']}: unknown Nemerow grade {name!r}")
            g = grades.index(name)
            if zone[k, g] < 0:  # first matching rule wins
                zone[k, g] = ZONE_CLASSES.index(r["zone"])
                rule[k, g] = str(r["code"])
    if np.any(zone < 0):
        k, g = np.argwhere(zone < 0)[0]
        raise RestoraError(f"{table.name}: no rule for {CLASSES[k]} with grade {grades[g]}")
    return ZoneRules(zone, rule, tuple(grades), table)

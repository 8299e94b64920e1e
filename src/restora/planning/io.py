"""Reading and writing restoration plans as YAML or JSON, with errors that name the field."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from restora.errors import InputError, input_error
from restora.planning.model import RestorationPlan


def plan_from_dict(doc: Any, where: str = "<plan>") -> RestorationPlan:
    """Validate a parsed plan document.

    Raises
    ------
    InputError
        Naming the file, the path to the offending record (e.g. ``sites.0.works.2``) and field.
    """
    if not isinstance(doc, dict):
        raise InputError("a plan must be a mapping with mine_id, price_year, sites", file=where)
    try:
        return RestorationPlan.model_validate(doc)
    except ValidationError as exc:
        raise input_error(exc, file=where) from exc


def read_plan(path: str | Path) -> RestorationPlan:
    """Read a plan from a ``.yaml``/``.yml`` or ``.json`` file (``-`` reads YAML/JSON on stdin)."""
    where = str(path)
    if where == "-":
        text = sys.stdin.read()
    else:
        p = Path(path)
        if not p.is_file():
            raise InputError("no such plan file", file=where)
        text = p.read_text(encoding="utf-8")
    try:
        doc = (
            json.loads(text)
            if where.endswith(".json")
            else yaml.safe_load(text)  # YAML is a superset of JSON
        )
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise InputError(f"not valid YAML/JSON: {exc}", file=where) from exc
    return plan_from_dict(doc, where)


def plan_to_dict(plan: RestorationPlan) -> dict[str, Any]:
    """A plain dict of the plan, without defaulted optional fields."""
    return plan.model_dump(mode="json", exclude_none=True)


def dump_plan(plan: RestorationPlan, fmt: str = "yaml") -> str:
    """The plan as YAML (default) or JSON text."""
    doc = plan_to_dict(plan)
    if fmt == "json":
        return json.dumps(doc, ensure_ascii=False, indent=2)
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def write_plan(plan: RestorationPlan, path: str | Path) -> None:
    """Write a plan; the format follows the suffix (``.json`` or YAML)."""
    p = Path(path)
    p.write_text(dump_plan(plan, "json" if p.suffix == ".json" else "yaml"), encoding="utf-8")


@dataclass(frozen=True)
class TechniqueRecord:
    """A candidate technique as written by ``restora diagnose zones --format json``."""

    code: str
    unit_cost_key: str
    land_use_after: tuple[str, ...]
    max_depth_m: float


@dataclass(frozen=True)
class ZoneRecord:
    """A treatment zone as written by ``restora diagnose zones --format json``."""

    zone_id: str
    zone_class: str
    area_hm2: float
    techniques: tuple[TechniqueRecord, ...]


def read_zones(path: str | Path) -> dict[str, list[ZoneRecord]]:
    """Zones by site from the JSON of ``restora diagnose zones --format json``.

    The file is a list of sites, each ``{"site_id": ..., "zones": [{"zone_id", "zone_class",
    "area_hm2" [hm²], "techniques": [{"code", "unit_cost_key", "land_use_after",
    "max_depth_m" [m]}]}]}``.

    Raises
    ------
    InputError
        Naming the file, the site/zone (``site 2, zone 1``) and the missing or bad field.
    """
    where = str(path)
    try:
        doc = json.loads(sys.stdin.read() if where == "-" else Path(path).read_text("utf-8"))
    except FileNotFoundError as exc:
        raise InputError("no such zones file", file=where) from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc}", file=where) from exc
    if isinstance(doc, dict):
        doc = [doc]
    out: dict[str, list[ZoneRecord]] = {}
    for i, site in enumerate(doc, start=1):
        try:
            sid = str(site["site_id"])
            zones = []
            for j, z in enumerate(site.get("zones", []), start=1):
                row = f"site {i}, zone {j}"
                try:
                    techs = tuple(
                        TechniqueRecord(
                            code=str(t["code"]),
                            unit_cost_key=str(t["unit_cost_key"]),
                            land_use_after=tuple(t.get("land_use_after", ())),
                            max_depth_m=float(t["max_depth_m"]),
                        )
                        for t in z.get("techniques", [])
                    )
                    zones.append(
                        ZoneRecord(
                            str(z["zone_id"]), str(z["zone_class"]), float(z["area_hm2"]), techs
                        )
                    )
                except KeyError as exc:
                    raise InputError(
                        "missing field", file=where, row=row, field=str(exc.args[0])
                    ) from exc
                except (TypeError, ValueError) as exc:
                    raise InputError(f"bad value: {exc}", file=where, row=row) from exc
        except KeyError as exc:
            raise InputError(
                "missing field", file=where, row=f"site {i}", field=str(exc.args[0])
            ) from exc
        out.setdefault(sid, []).extend(zones)
    return out

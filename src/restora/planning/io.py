"""Reading and writing restoration plans as YAML or JSON, with errors that name the field."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from restora.errors import InputError, Problem
from restora.planning.model import RestorationPlan


def _problems(exc: ValidationError, where: str) -> list[Problem]:
    out = []
    for e in exc.errors():
        loc = [str(p) for p in e["loc"]]
        row = ".".join(loc[:-1]) if len(loc) > 1 else None
        out.append(Problem(e["msg"], file=where, row=row, field=loc[-1] if loc else None))
    return out


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
        raise InputError(problems=_problems(exc, where)) from exc


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

"""``restora modes``: value-realization mode recommendation and IAD comparison.

``restora modes recommend PROFILE.json --format json`` prints the stable contract::

    {"primary_mode": "safety_baseline" | "resource_utilization" | "property_rights"
                     | "industry_integration",
     "sequence": [str, ...],          # modes in order; may hold the step "rights_confirmation"
     "scores": {mode: float},         # 0..1 per mode, after gates
     "reasons": [{"code", "mode", "effect", "name", "source"}],
     "rule_codes": [str], "tables": [provenance], "profile": {...}}

``restora modes compare PROFILE.json [--appraisal APPRAISAL.json] --format json`` prints::

    {"profile": {...}, "recommendation": {... as above ...},
     "dimensions": {key: {"en", "zh"}},
     "modes": {mode: {"mode", "name": {"en", "zh"}, "score": float,
                      "dimensions": {key: {"en", "zh"}},
                      "criteria": [{"code", "name", "unit", "value", "reason", "inputs"}]}}}

``restora modes profile --mine ID [--db URL] [--context GPKG] [--set field=value ...]`` derives
a profile from the register and its diagnosis: ``{"profile", "sources", "defaults", "tables"}``;
its JSON can be piped into ``recommend -`` and ``compare -``.

A profile file is either the profile object itself or an object with a ``profile`` key.
Bad input exits 2 naming the file and field; other failures exit 1.
"""

from __future__ import annotations

import json
from typing import Any

import typer

from restora.cli.output import (
    DbOption,
    Format,
    FormatOption,
    OnOption,
    emit,
    handled,
    read_input_json,
)
from restora.errors import InputError, RestoraError
from restora.modes import iad
from restora.modes.profile import MODES, MineProfile, parse_profile
from restora.modes.recommend import load_rules, recommend

app = typer.Typer(no_args_is_help=True)

RegionOption = typer.Option(None, "--region", help="6-digit GB/T 2260 code for regional tables.")


def read_profile(path: str) -> MineProfile:
    """A profile from a JSON file (the profile itself, or ``{"profile": {...}, ...}``)."""
    data, name = read_input_json(path)
    if isinstance(data, dict) and isinstance(data.get("profile"), dict):
        data = data["profile"]
    return parse_profile(data, file=name)


def _recommendation(profile: MineProfile, on: str | None, region: str | None) -> dict[str, Any]:
    rec = recommend(profile, load_rules(on=on, region=region))
    return {**rec.as_dict(), "profile": profile.model_dump()}


@app.command("recommend")
def recommend_command(
    profile_file: str = typer.Argument(
        ..., metavar="PROFILE.json", help="Mine profile (- for stdin)."
    ),
    on: str | None = OnOption,
    region: str = RegionOption,
    fmt: Format = FormatOption,
) -> None:
    """Recommend the value-realization mode(s) of a mine and the order to apply them."""
    with handled():
        data = _recommendation(read_profile(profile_file), on, region)
        if fmt == Format.json:
            emit(data, fmt)
            return
        seq = data["sequence"]
        rows = [
            {
                "mode": m,
                "score": data["scores"][m],
                "primary": m == data["primary_mode"],
                "order": seq.index(m) + 1 if m in seq else None,
                "rule_codes": [r["code"] for r in data["reasons"] if r["mode"] == m],
            }
            for m in MODES
        ]
        emit(data, fmt, rows=rows, title="Value-realization modes")
        if fmt == Format.table:
            emit(
                data,
                fmt,
                rows=data["reasons"],
                columns=["code", "mode", "effect", "name"],
                title="Sequence: " + " → ".join(seq),
            )


def _compare(
    profile: MineProfile,
    appraisal: dict[str, Any] | None,
    appraisal_name: str | None,
    on: str | None,
    region: str | None,
) -> dict[str, Any]:
    rec = _recommendation(profile, on, region)
    evals = iad.compare(appraisal, file=appraisal_name, on=on, region=region)
    modes = {m: {**e.as_dict(), "score": rec["scores"][m]} for m, e in evals.items()}
    return {
        "profile": rec["profile"],
        "recommendation": {k: v for k, v in rec.items() if k != "profile"},
        "dimensions": iad.dimension_labels(on=on, region=region),
        "modes": modes,
    }


def _fmt_value(c: dict[str, Any]) -> str:
    if c["value"] is None:
        return f"— ({c['reason']})"
    unit = "" if c["unit"] in ("1", "qualitative") else f" {c['unit']}"
    return f"{c['value']:.4g}{unit}"


@app.command("compare")
def compare_command(
    profile_file: str = typer.Argument(
        ..., metavar="PROFILE.json", help="Mine profile (- for stdin)."
    ),
    appraisal_file: str = typer.Option(
        None, "--appraisal", help="Appraisal figures (JSON) for the measurable IAD criteria."
    ),
    lang: str = typer.Option("en", "--lang", help="Language of the table's texts: en or zh."),
    on: str | None = OnOption,
    region: str = RegionOption,
    fmt: Format = FormatOption,
) -> None:
    """The four modes side by side for one mine through Ostrom's IAD framework."""
    with handled():
        if lang not in ("en", "zh"):
            raise InputError(f"{lang!r} is not en or zh", field="--lang")
        profile = read_profile(profile_file)
        appraisal, name = (None, None)
        if appraisal_file:
            appraisal, name = read_input_json(appraisal_file)
            if not isinstance(appraisal, dict):
                raise InputError("appraisal figures must be a JSON object", file=name)
        data = _compare(profile, appraisal, name, on, region)
        if fmt == Format.json:
            emit(data, fmt)
            return
        modes = data["modes"]
        rows: list[dict[str, Any]] = [
            {"dimension": "score", **{m: modes[m]["score"] for m in MODES}},
            {
                "dimension": "recommended order",
                **{
                    m: (data["recommendation"]["sequence"].index(m) + 1)
                    if m in data["recommendation"]["sequence"]
                    else None
                    for m in MODES
                },
            },
        ]
        for key, label in data["dimensions"].items():
            rows.append(
                {"dimension": label[lang], **{m: modes[m]["dimensions"][key][lang] for m in MODES}}
            )
        for m in MODES:
            for c in modes[m]["criteria"]:
                rows.append(
                    {
                        "dimension": f"{c['code']} {c['name']}",
                        **{k: (_fmt_value(c) if k == m else None) for k in MODES},
                    }
                )
        title = "IAD comparison: primary mode " + data["recommendation"]["primary_mode"]
        emit(data, fmt, rows=rows, columns=["dimension", *MODES], title=title)


def _parse_set(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise InputError(f"{item!r} is not field=value", field="--set")
        key, raw = item.split("=", 1)
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out[key.strip()] = value
    return out


@app.command("profile")
def profile_command(
    mine: str = typer.Option(..., "--mine", help="The mine's id in the register."),
    db: str | None = DbOption,
    context: str = typer.Option(
        None, "--context", help="GeoPackage of context layers (towns, roads, zones) for location."
    ),
    set_: list[str] = typer.Option(
        None, "--set", help="A profile field the user states, field=value (repeatable)."
    ),
    on: str | None = OnOption,
    region: str = RegionOption,
    fmt: Format = FormatOption,
) -> None:
    """Derive a mine's profile from the register and its diagnosis, listing defaulted fields."""
    with handled():
        from restora.cli.diagnose_site import load_register
        from restora.diagnosis.context_io import read_context
        from restora.diagnosis.county import diagnose_county
        from restora.modes.derive import derive_from_diagnosis

        stated = _parse_set(set_)
        register = load_register(db)
        if not len(register.mines):
            raise RestoraError("the register is empty: import mines first (`restora mines import`)")
        if mine not in set(register.mines["mine_id"].astype(str)):
            raise InputError(f"no mine {mine!r} in the register", field="--mine")
        diag = diagnose_county(register, read_context(context), on=on, region=region)
        derived = derive_from_diagnosis(register, mine, diag, stated, on=on, region=region)
        data = derived.as_dict()
        if fmt == Format.json:
            emit(data, fmt)
            return
        rows = [
            {"field": k, "value": v, "source": derived.sources.get(k)}
            for k, v in data["profile"].items()
        ]
        emit(data, fmt, rows=rows, title=f"Mode profile of {mine}")

"""``restora plan make|show``: restoration plans from the register and the diagnosis."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from restora.cli.output import DbOption, Format, FormatOption, OnOption, emit, err_console, handled
from restora.cli.source import StoreSelection, load_register
from restora.errors import InputError
from restora.planning.io import dump_plan, plan_to_dict, read_plan, read_zones
from restora.planning.model import RestorationPlan

if TYPE_CHECKING:
    from restora.inventory.model import Register

app = typer.Typer(no_args_is_help=True)


def plan_from_store(
    mine_id: str,
    *,
    db: str | None,
    price_year: int,
    start_year: int,
    post_closure_years: int,
    on: str | None = None,
    zones_file: str | None = None,
    context_file: str | None = None,
) -> RestorationPlan:
    """Load one mine from the store, diagnose it and plan it (:func:`plan_mine`)."""
    from restora.store import Store

    with Store(db) as store:
        reg = store.load_register([mine_id])
    if reg.mines.empty:
        raise InputError(f"mine {mine_id!r} is not in the register", field="mine_id")
    return _plan(
        reg,
        mine_id,
        price_year=price_year,
        start_year=start_year,
        post_closure_years=post_closure_years,
        on=on,
        zones_file=zones_file,
        context_file=context_file,
    )


def plans_from_store(
    selection: StoreSelection,
    *,
    price_year: int | None,
    start_year: int | None,
    on: str | None,
) -> list[tuple[RestorationPlan, str]]:
    """First plans of the selected mines (``--mine`` order, or every mine by id), as
    ``plan make`` makes them, each with ``"mine <id>"`` for messages.

    ``price_year`` defaults to the unit-cost library's newest, ``start_year`` to next year, the
    years of care to ``costing/assumptions``.
    """
    reg = load_register(selection)
    ids = list(selection.mine_ids or reg.mines["mine_id"].astype(str))
    return [
        (
            _plan(
                reg,
                mine_id,
                price_year=price_year or _default_price_year(on),
                start_year=start_year or dt.date.today().year + 1,
                post_closure_years=_default_care(on),
                on=on,
            ),
            f"mine {mine_id}",
        )
        for mine_id in ids
    ]


def _plan(
    reg: Register,
    mine_id: str,
    *,
    price_year: int,
    start_year: int,
    post_closure_years: int,
    on: str | None = None,
    zones_file: str | None = None,
    context_file: str | None = None,
) -> RestorationPlan:
    """Diagnose and plan one mine of ``reg`` with the unit-cost library of its region."""
    from restora.costing.unitcosts import load_library
    from restora.diagnosis.context_io import read_context
    from restora.planning.diagnosed import plan_mine

    region = str(reg.mine(mine_id).region_code)
    lib = load_library(on=on, region=region)
    return plan_mine(
        reg,
        mine_id,
        price_year=price_year,
        start_year=start_year,
        post_closure_years=post_closure_years,
        context=read_context(context_file) if context_file else None,
        zones=read_zones(zones_file) if zones_file else None,
        units={k: u.unit for k, u in lib.items.items()},
        on=on,
    )


def read_plans(refs: list[str]) -> list[tuple[RestorationPlan, str]]:
    """Plan files (``.yaml``/``.yml``/``.json``, ``-`` for stdin), each with its name.

    Raises
    ------
    InputError
        A name that is not a file (a mine id is read from the store with ``--mine``).
    """
    out = []
    for ref in refs:
        if ref != "-" and not Path(ref).is_file():
            hint = (
                f"; to plan mine {ref!r} from the store give --mine {ref}"
                if Path(ref).suffix not in (".yaml", ".yml", ".json")
                else ""
            )
            raise InputError(f"no such plan file{hint}", file=ref)
        out.append((read_plan(ref), ref))
    return out


def load_plan_or_mine(
    ref: str, *, db: str | None, price_year: int | None, start_year: int | None, on: str | None
) -> tuple[RestorationPlan, str]:
    """A plan file (``.yaml``/``.yml``/``.json`` or ``-``) or a mine id planned from the store."""
    if ref == "-" or Path(ref).suffix in (".yaml", ".yml", ".json") or Path(ref).is_file():
        return read_plan(ref), ref
    year = dt.date.today().year
    plan = plan_from_store(
        ref,
        db=db,
        price_year=price_year or _default_price_year(on),
        start_year=start_year or year + 1,
        post_closure_years=_default_care(on),
        on=on,
    )
    return plan, f"mine {ref}"


def _default_price_year(on: str | None) -> int:
    from restora.costing.unitcosts import load_library

    return load_library(on=on).newest_price_year


def _default_care(on: str | None) -> int:
    from restora.costing.lifecycle import load_assumptions

    return load_assumptions(on=on).post_closure_years


def _work_rows(plan: RestorationPlan) -> list[dict[str, Any]]:
    return [
        {
            "site_id": sid or "(mine)",
            "item": w.item,
            "quantity": w.quantity,
            "unit": w.unit,
            "phase": w.phase,
            "start_year": w.start_year,
            "years": w.years,
            "per_year": w.per_year,
            "note": w.note,
        }
        for sid, w in plan.works()
    ]


@app.command("make")
def make(
    mine_id: str = typer.Argument(..., help="Mine id in the register."),
    out: Path = typer.Option(None, "--out", "-o", help="Write the plan (.yaml or .json) here."),
    price_year: int = typer.Option(
        None, "--price-year", help="Price year (default: the library's)."
    ),
    start_year: int = typer.Option(None, "--start-year", help="Calendar year of year 0."),
    post_closure_years: int = typer.Option(None, "--post-closure-years", help="Years of care."),
    zones: str = typer.Option(
        None,
        "--zones",
        help="Treatment zones (the JSON of restora diagnose zones --format json) instead of "
        "zoning the mine's soil samples.",
    ),
    context: str = typer.Option(
        None, "--context", help="Context layers (GeoPackage) for the suitability diagnosis."
    ),
    on: str | None = OnOption,
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Make a first restoration plan for MINE from the register and the diagnosis.

    The diagnosis is the appraisal's: after-uses from the suitability rules with the soil
    samples' GB 15618 classes, hazard grades, and pollution gradient zones of the sites with
    samples (their treatment techniques become pollution works).

    Prints the works (table/csv) or the plan document (json); --out also writes the plan
    as YAML or JSON for editing and re-costing with restora cost estimate PLAN.
    """
    with handled():
        plan = plan_from_store(
            mine_id,
            db=db,
            price_year=price_year or _default_price_year(on),
            start_year=start_year or dt.date.today().year + 1,
            post_closure_years=_default_care(on)
            if post_closure_years is None
            else post_closure_years,
            on=on,
            zones_file=zones,
            context_file=context,
        )
        if out:
            out.write_text(dump_plan(plan, "json" if out.suffix == ".json" else "yaml"), "utf-8")
            err_console.print(f"plan written to {out}")
        if fmt == Format.json:
            emit(plan_to_dict(plan), fmt)
        else:
            emit(_work_rows(plan), fmt, title=f"Restoration plan {plan.mine_id}")


@app.command("show")
def show(
    plan_file: str = typer.Argument(..., help="Plan file (.yaml/.json) or - for stdin."),
    fmt: Format = FormatOption,
) -> None:
    """Validate a plan file and print its works and after-use areas."""
    with handled():
        plan = read_plan(plan_file)
        if fmt == Format.json:
            emit({**plan_to_dict(plan), "after_use_hm2": plan.after_use_hm2()}, fmt)
        else:
            emit(_work_rows(plan), fmt, title=f"Restoration plan {plan.mine_id}")

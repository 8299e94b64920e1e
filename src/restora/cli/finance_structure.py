"""``restora finance structure PROJECT --instrument NAME``: run a financing instrument.

PROJECT is a YAML or JSON file (``-`` for stdin) holding the instrument's inputs, either at the
top level or under a key named after the instrument, and optionally the project's revenue
streams (``revenue_streams``: a list of ``{stream: quota|carbon|materials|land_rights|
operations|subsidy, ...}``), from which a pledge loan without ``rights`` takes its pledged
rights and a special-bond project without ``revenue`` its revenue (unrestricted revenue only:
earmarked surplus earth-and-stone proceeds never service debt). ``start_year`` (default: the
first year of any stream) is year 1 of the instrument.

JSON contract::

    {"project": str | null, "instrument": str, "summary": {...}, "schedule": [{...}, ...],
     "rule_codes": [str, ...], "flags": [str, ...], "tables_used": [{...}, ...],
     "revenue": {"streams": [{...}], "by_year": [{...}]} | null}
"""

from __future__ import annotations

from typing import Any

import numpy as np
import typer
import yaml

from restora.cli.output import (
    Format,
    FormatOption,
    emit,
    err_console,
    handled,
    read_input_text,
)
from restora.errors import InputError

INSTRUMENT_HELP = "performance-bond, pledge-loan, special-bond, guarantee, ppp or benefit-sharing."


def read_project(path: str) -> tuple[dict[str, Any], str]:
    """The project file as a mapping, and its display name; InputError names the file/line."""
    text, name = read_input_text(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = f"line {mark.line + 1}" if mark is not None else None
        raise InputError(f"not valid YAML/JSON: {exc}", file=name, row=row) from exc
    if not isinstance(data, dict):
        raise InputError("expected a mapping of the instrument's inputs", file=name)
    return data, name


def _aligned(streams: list[Any], start_year: int) -> dict[str, np.ndarray]:
    """Unrestricted revenue of each stream from ``start_year`` on, year 1 first [CNY/yr]."""
    out: dict[str, np.ndarray] = {}
    for s in streams:
        if s.earmark is not None:
            continue
        last = int(s.years.max())
        n = max(last - start_year + 1, 0)
        v = np.zeros(n)
        for y, r in zip(s.years, s.revenue, strict=True):
            if y >= start_year:
                v[int(y) - start_year] += r
        out[s.name] = out.get(s.name, np.zeros(0))
        if out[s.name].size < n:
            out[s.name] = np.pad(out[s.name], (0, n - out[s.name].size))
        out[s.name][:n] += v
    return out


def prepare(instrument: str, data: dict[str, Any], file: str) -> tuple[dict[str, Any], Any]:
    """The instrument's inputs, with revenue streams turned into flows where asked."""
    from restora.revenue import build_all, combine

    inputs = data.get(instrument, {k: v for k, v in data.items() if k not in _META})
    if not isinstance(inputs, dict):
        raise InputError("the instrument's inputs must be a mapping", file=file, field=instrument)
    inputs = dict(inputs)
    streams_in = data.get("revenue_streams")
    revenue = None
    streams: list[Any] = []
    if streams_in is not None:
        if not isinstance(streams_in, list):
            raise InputError("must be a list", file=file, field="revenue_streams")
        streams = build_all(streams_in, file=file)
        table = combine(streams)
        revenue = {
            "streams": [s.to_dict() for s in streams],
            "by_year": table.to_dict("records"),
        }
    start: int | None = None
    if data.get("start_year") is not None:
        if isinstance(data["start_year"], bool) or not isinstance(data["start_year"], int):
            raise InputError("start_year must be a whole year", file=file, field="start_year")
        start = data["start_year"]
    elif streams:
        start = min(int(s.years.min()) for s in streams)
    if instrument == "pledge-loan" and "rights" not in inputs and streams and start is not None:
        inputs["rights"] = [
            {"name": n, "revenue": v.tolist()} for n, v in _aligned(streams, start).items()
        ]
    if instrument == "special-bond":
        projects = []
        for i, p in enumerate(inputs.get("projects", []), start=1):
            if isinstance(p, dict) and "revenue_streams" in p:
                ps = build_all(p["revenue_streams"], file=file)
                flows = _aligned(ps, int(start or min(int(s.years.min()) for s in ps)))
                total = np.zeros(max((v.size for v in flows.values()), default=0))
                for v in flows.values():
                    total[: v.size] += v
                p = {k: v for k, v in p.items() if k != "revenue_streams"}
                p["revenue"] = total.tolist()
                if not total.size:
                    raise InputError("no unrestricted revenue", file=file, row=i, field="projects")
            projects.append(p)
        if projects:
            inputs["projects"] = projects
    return inputs, revenue


_META = ("project", "instrument", "revenue_streams", "start_year")


def add_commands(app: typer.Typer) -> None:
    """Add ``structure`` to the ``finance`` group."""

    @app.command("structure")
    def structure_command(
        project: str = typer.Argument(..., help="Project file (YAML or JSON); - for stdin."),
        instrument: str = typer.Option(..., "--instrument", "-i", help=INSTRUMENT_HELP),
        fmt: Format = FormatOption,
    ) -> None:
        """Run a financing instrument over a project's inputs and cash flows."""
        from restora.finance.instruments import INSTRUMENTS, run_instrument

        with handled():
            if instrument not in INSTRUMENTS:
                raise InputError(
                    f"unknown instrument {instrument!r} (one of {', '.join(INSTRUMENTS)})",
                    field="--instrument",
                )
            data, name = read_project(project)
            declared = data.get("instrument")
            if declared is not None and declared != instrument:
                raise InputError(
                    f"the file is for {declared!r}, not {instrument!r}",
                    file=name,
                    field="instrument",
                )
            inputs, revenue = prepare(instrument, data, name)
            result = run_instrument(instrument, inputs, file=name)
            for f in result.flags:
                err_console.print(f"[bold yellow]flag:[/] {f}", highlight=False, markup=True)
            if fmt == Format.json:
                emit(
                    {
                        "project": data.get("project"),
                        **result.to_dict(),
                        "revenue": revenue,
                    },
                    fmt,
                )
                return
            emit(result.schedule, fmt, title=f"{instrument}: schedule")
            if fmt == Format.table:
                scalars = [
                    {"item": k, "value": v}
                    for k, v in result.summary.items()
                    if not isinstance(v, (dict, list))
                ]
                emit(scalars, fmt, title=f"{instrument}: summary")
                for k, v in result.summary.items():  # e.g. the bond's verification events
                    if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
                        emit(v, fmt, title=f"{instrument}: {k}")

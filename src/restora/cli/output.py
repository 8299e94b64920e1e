"""Printing results as table, JSON, CSV or a workbook, and turning errors into exit codes.

Contract (DESIGN.md): every command that prints results takes ``--format table|json|csv``;
JSON is stable; exit 0 on success, 2 on bad input (the message names file, row and field),
1 on other failures. The commands whose results people send on (``cost estimate``, ``finance
metrics|risk``, ``fund project``, ``mines rank``) also take ``--format xlsx --out FILE``.

Output conventions (docs/cli.md): tables and CSV show numbers to their column's precision
(:func:`restora.cells.decimals`; JSON keeps full precision); CSV text cells that a spreadsheet
would run as a formula are escaped (:func:`restora.cells.csv_text`); CSV on stdout starts with
a UTF-8 byte-order mark under the rule of :func:`bom_wanted`.
"""

from __future__ import annotations

import csv
import io
import json
import locale
import math
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from restora.cells import Sheet, csv_text, decimals, rounded, write_xlsx
from restora.errors import InputError, RestoraError

# Outside a terminal (a pipe, a file, CI logs) rich would wrap tables at 80 columns; a report
# redirected to a file should keep its rows whole. COLUMNS, when set, still wins.
_PIPE_WIDTH = 200
_width = None if sys.stdout.isatty() or "COLUMNS" in os.environ else _PIPE_WIDTH
console = Console(width=_width)
err_console = Console(stderr=True)


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


FormatOption = typer.Option(
    Format.table, "--format", "-f", help="Output format: table, json or csv."
)


class SendFormat(StrEnum):
    """The formats of the commands whose results people send on: ``Format`` and ``xlsx``."""

    table = "table"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


#: ``--format`` of the commands that also write a workbook (with :data:`WorkbookOption`).
SendFormatOption = typer.Option(
    SendFormat.table,
    "--format",
    "-f",
    help="Output format: table, json, csv, or xlsx (a workbook written to --out).",
)
#: ``--out FILE.xlsx``: where ``--format xlsx`` writes; a missing folder is created.
WorkbookOption = typer.Option(
    None,
    "--out",
    "-o",
    help="Workbook (.xlsx) to write; implies --format xlsx. A missing folder is created.",
)
#: ``--bom/--no-bom``: every command with :data:`FormatOption` gets it (restora.cli._build).
BomOption = typer.Option(
    None,
    "--bom/--no-bom",
    help="CSV: start with a UTF-8 byte-order mark so Excel reads 中文 "
    "(default: RESTORA_CSV_BOM, else on under a Chinese GBK/GB18030 locale).",
)

#: Encodings of a Chinese "ANSI" locale (Windows code page 936 and its Unix names).
_GBK_ENCODINGS = frozenset({"gbk", "gb18030", "gb2312", "cp936", "936", "euccn"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
# --bom/--no-bom of the command being run (None: not given), and whether the BOM is written.
_bom_flag: bool | None = None
_bom_done = False


def set_bom(flag: bool | None) -> None:
    """Record ``--bom/--no-bom`` of the command being run (called before its body)."""
    global _bom_flag, _bom_done
    _bom_flag, _bom_done = flag, False


def chinese_ansi_locale(env: Mapping[str, str], platform: str = sys.platform) -> bool:
    """True when the locale is Chinese with a GBK-family encoding ("Chinese Windows-style").

    The first of ``LC_ALL``, ``LC_CTYPE``, ``LANG`` (POSIX precedence) that names a language
    (``C``, ``POSIX`` and ``C.UTF-8``, which Python itself sets for a locale the system lacks,
    name none) starts with ``zh`` and names GBK, GB18030, GB2312, cp936 or EUC-CN
    (``zh_CN.GB18030``, ``zh_CN.gbk``); on Windows, an ANSI code page of 936 (what Excel
    assumes for a CSV without a byte-order mark).
    """
    for name in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = env.get(name, "").strip()
        if value and value.split(".")[0].upper() not in ("C", "POSIX"):
            lang, _, encoding = value.partition(".")
            encoding = encoding.split("@")[0].replace("-", "").lower()
            if lang.lower().startswith("zh") and encoding in _GBK_ENCODINGS:
                return True
            break
    if platform == "win32":
        return locale.getpreferredencoding(False).replace("-", "").lower() in _GBK_ENCODINGS
    return False


def bom_wanted(
    flag: bool | None, env: Mapping[str, str] | None = None, platform: str = sys.platform
) -> bool:
    """Whether CSV on stdout starts with a UTF-8 byte-order mark.

    In order: ``--bom`` / ``--no-bom``; else the setting ``RESTORA_CSV_BOM`` (1/true/yes/on
    or 0/false/no/off); else on when :func:`chinese_ansi_locale` (Excel on Chinese Windows
    reads a CSV without a BOM as GBK and garbles UTF-8 中文).
    """
    if flag is not None:
        return flag
    env = os.environ if env is None else env
    setting = env.get("RESTORA_CSV_BOM", "").strip().lower()
    if setting in _TRUE:
        return True
    if setting in _FALSE:
        return False
    return chinese_ansi_locale(env, platform)


def _write_csv(text: str) -> None:
    """CSV to stdout; with a BOM (once per command) the bytes are UTF-8 whatever the console."""
    global _bom_done
    if not _bom_done and bom_wanted(_bom_flag):
        _bom_done = True
        raw = getattr(sys.stdout, "buffer", None)
        if raw is not None:
            sys.stdout.flush()
            raw.write(("\ufeff" + text).encode("utf-8"))
            raw.flush()
            return
        text = "\ufeff" + text
    _bom_done = True
    sys.stdout.write(text)


def _check_date(value: str | None) -> str | None:
    """``--on`` must be an ISO date; a bad one is a usage error (exit 2) naming the option."""
    if value is None:
        return None
    import datetime as dt

    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None
    return value


#: ``--on DATE``: the date whose reference tables apply (default today); one option for all.
OnOption = typer.Option(
    None,
    "--on",
    callback=_check_date,
    help="Date whose reference tables apply (YYYY-MM-DD); default today.",
)
#: ``--db URL``: the store; one option for all.
DbOption = typer.Option(
    None, "--db", help="Store URL; default RESTORA_DATABASE_URL, else the embedded SQLite file."
)


def _clean(value: Any) -> Any:
    """Make values JSON-safe: NaN → null, numpy scalars → Python."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        with suppress(ValueError, AttributeError):
            value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def dumps(data: Any) -> str:
    """Stable JSON: UTF-8 (Chinese stays readable), NaN as null, two-space indent."""
    return json.dumps(_clean(data), ensure_ascii=False, indent=2, default=str)


def emit(
    data: Any,
    fmt: Format | SendFormat,
    *,
    rows: Sequence[dict[str, Any]] | None = None,
    columns: Sequence[str] | None = None,
    title: str | None = None,
) -> None:
    """Print ``data`` as JSON, or ``rows`` (default: ``data`` if it is a list) as a table or CSV.

    JSON keeps full precision; table and CSV round each number to its column's precision
    (:func:`restora.cells.decimals`), and CSV escapes formula-like text
    (:func:`restora.cells.csv_text`).
    """
    if fmt == Format.json:
        sys.stdout.write(dumps(data) + "\n")
        return
    if rows is None:
        rows = data if isinstance(data, list) else [data]
    rows = [_clean(r) for r in rows]
    cols = list(columns) if columns else list(dict.fromkeys(k for r in rows for k in r))
    if fmt == Format.csv:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: _csv_cell(k, v) for k, v in r.items()})
        _write_csv(buf.getvalue())
        return
    table = Table(title=title, show_lines=False)
    for c in cols:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*(_cell(r.get(c), c) for c in cols))
    console.print(table)


def _csv_cell(column: str, v: Any) -> Any:
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, float) and math.isfinite(v):
        places = decimals(column)
        return repr(rounded(column, v)) if places is None else f"{rounded(column, v):.{places}f}"
    return csv_text(v)


def _cell(v: Any, column: str = "") -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        places = decimals(column)
        if places is not None and math.isfinite(v):
            return f"{rounded(column, v):,.{places}f}"
        return f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def workbook_target(fmt: SendFormat, out: Path | None) -> Path | None:
    """The workbook to write, or None: ``--format xlsx`` needs ``--out``; ``--out`` alone
    means xlsx; ``--out`` with json or csv is refused (exit 2)."""
    if fmt == SendFormat.xlsx and out is None:
        raise InputError("--format xlsx writes a workbook: give --out FILE.xlsx", field="--out")
    if out is None:
        return None
    if fmt in (SendFormat.json, SendFormat.csv):
        raise InputError(
            f"--out writes a workbook (xlsx); {fmt.value} goes to stdout", field="--out"
        )
    if out.suffix.lower() != ".xlsx":
        raise InputError(f"{out.name} is not an .xlsx file name", field="--out")
    return out


def write_workbook(out: Path, sheets: Sequence[Sheet]) -> Path:
    """Write ``sheets`` to ``out`` (:func:`restora.cells.write_xlsx`) and say so on stderr."""
    try:
        path = write_xlsx(out, sheets)
    except OSError as exc:
        raise RestoraError(f"cannot write {out}: {exc.strerror or exc}") from exc
    names = ", ".join(s.name for s in sheets)
    err_console.print(f"wrote {path} (sheets: {names})", highlight=False, markup=False)
    return path


def progress_wanted(fmt: str) -> bool:
    """Stage-by-stage progress only for people watching: a terminal on both stdout and
    stderr, and not ``--format json`` (whose stdout a program reads)."""
    if fmt == Format.json:
        return False
    return sys.stdout.isatty() and sys.stderr.isatty()


_interrupted = False


def _on_sigint(signum: int, frame: Any) -> None:
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


def watch_interrupts() -> None:
    """Remember a Ctrl-C even where a library swallows the KeyboardInterrupt it raises.

    Python ignores an exception raised inside a garbage-collection callback (SQLAlchemy has
    some), so a Ctrl-C landing there would be lost; the flag keeps it, and
    :func:`check_interrupt` (called at every step of long work) raises it again.
    """
    import signal
    import threading

    global _interrupted
    _interrupted = False
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_sigint)


def check_interrupt() -> None:
    """Raise KeyboardInterrupt if a Ctrl-C came and was swallowed on its way."""
    if _interrupted:
        raise KeyboardInterrupt


def interrupted() -> bool:
    """Whether a Ctrl-C came during the command."""
    return _interrupted


@contextmanager
def stage_progress(enabled: bool, total: int | None = None) -> Iterator[Callable[[str], None]]:
    """A callback ``step(name)`` that shows each stage as it starts (rich, on stderr).

    Disabled, the callback does nothing. The bar is transient: it leaves the terminal as it
    was, and a Ctrl-C stops it cleanly.
    """
    if not enabled:
        yield lambda name: check_interrupt()
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    if total:
        columns += [BarColumn(), MofNCompleteColumn()]
    with Progress(*columns, TimeElapsedColumn(), console=err_console, transient=True) as bar:
        task = bar.add_task("starting", total=total)
        started = False

        def step(name: str) -> None:
            nonlocal started
            check_interrupt()
            bar.update(task, description=name, advance=1 if started else 0, refresh=True)
            started = True

        yield step


#: Options whose value is a file the command writes: their missing folders are created first.
OUTPUT_PARAMS = ("out", "rejects", "chart")


@contextmanager
def handled() -> Iterator[None]:
    """Run a command body: errors become a message and exit code 2 (bad input) or 1.

    No traceback reaches the user; each problem is one line on stderr:

    - :class:`~restora.errors.InputError` → 2, one line per problem (file, row, column);
    - any other :class:`~restora.errors.RestoraError` → 1 (a busy or read-only store, …);
    - a file that cannot be read or written (``OSError``: missing, a folder, no permission,
      disk full) → 2 when it is one of the command's inputs, else 1, naming the file;
    - text that is not in the expected encoding, a file that is not the archive it claims to
      be → 2; a database error no layer explained → 1, with the driver's first line.

    Before the body runs, the missing folders of the ``--out``, ``--rejects`` and ``--chart``
    files are created (:data:`OUTPUT_PARAMS`); if the command then fails, those it left empty
    are removed again. Other exceptions (bugs) propagate; :func:`report_unexpected` turns them
    into one line at the top of the command line.
    """
    params = _command_params()
    created = _make_output_folders(params)
    try:
        yield
    except BaseException as exc:
        if not (_is_exit(exc) and getattr(exc, "exit_code", 1) == 0):
            _remove_empty(created)
        explained = explain(exc, params)
        if explained is None:
            raise
        code, message = explained
        _print_error(message)
        raise typer.Exit(code) from exc


def report_unexpected(exc: BaseException) -> NoReturn:
    """The last resort of ``restora``'s entry point: one line and exit 1 (or 2), no traceback.

    Errors :func:`explain` knows keep their message and exit code; anything else is a bug, said
    so in one line. ``RESTORA_DEBUG=1`` re-raises it with its traceback. A closed pipe
    (``restora mines list | head``) exits 1 quietly.
    """
    if isinstance(exc, BrokenPipeError):
        # stdout's reader went away: flush nothing more into it, say nothing
        with suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1)
    if os.environ.get("RESTORA_DEBUG", "").strip() not in ("", "0"):
        raise exc
    explained = explain(exc, {})
    if explained is None:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        explained = (
            1,
            f"internal error ({type(exc).__name__}{': ' + detail if detail else ''}); "
            "this is a bug in Restora: please report it with the command you ran "
            "(RESTORA_DEBUG=1 shows where it happened)",
        )
    _print_error(explained[1])
    raise SystemExit(explained[0])


def explain(exc: BaseException, params: dict[str, Any]) -> tuple[int, str] | None:
    """Exit code and message for an error a user can act on, or None for anything else.

    ``params`` are the command's parameters (to tell an input file from an output file).

    Examples
    --------
    >>> explain(FileNotFoundError(2, "No such file or directory", "in.csv"), {"files": ["in.csv"]})
    (2, 'in.csv: cannot read (No such file or directory)')
    >>> explain(PermissionError(13, "Permission denied", "out/x.csv"), {"out": "out/x.csv"})
    (1, 'out/x.csv: cannot write (Permission denied)')
    >>> explain(KeyError("x"), {}) is None
    True
    """
    if isinstance(exc, InputError):
        return exc.exit_code, str(exc)
    if isinstance(exc, RestoraError):
        return exc.exit_code, str(exc)
    if isinstance(exc, UnicodeDecodeError):
        return 2, (
            f"the input is not {exc.encoding} text (byte {exc.start}: {exc.reason}); "
            "save it as UTF-8 or pass --encoding where the command has it"
        )
    if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
        name = exc.filename if exc.filename is not None else None
        reason = exc.strerror or str(exc)
        if name is None:
            return 1, f"cannot read or write a file ({reason})"
        if _is_input(name, params):
            return 2, f"{name}: cannot read ({reason})"
        return 1, f"{name}: cannot write ({reason})"
    if type(exc).__name__ == "BadZipFile":
        return 2, f"a file is not a valid ZIP archive ({exc})"
    sa_exc = sys.modules.get("sqlalchemy.exc")  # loaded only if a command used the database
    if sa_exc is not None and isinstance(exc, sa_exc.SQLAlchemyError):
        orig = getattr(exc, "orig", None) or exc
        store_error = _store_lock_error(orig, params)
        if store_error is not None:
            return store_error.exit_code, str(store_error)
        lines = str(orig).strip().splitlines()
        return 1, f"the database failed: {lines[0] if lines else type(orig).__name__}"
    return None


def _store_lock_error(orig: BaseException, params: dict[str, Any]) -> RestoraError | None:
    """A busy or read-only store the engine's own hook did not see (e.g. an error of COPY)."""
    from restora.store.engine import busy_timeout_s, default_url, lock_error

    try:
        timeout = busy_timeout_s()
    except InputError:
        return None
    url = params.get("db") or default_url()
    try:
        return lock_error(orig, str(url), timeout)
    except Exception:  # an unparsable URL: say what the driver said instead
        return None


def _print_error(message: str) -> None:
    err_console.print(
        f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True
    )


def _is_exit(exc: BaseException) -> bool:
    return type(exc).__name__ == "Exit" or isinstance(exc, SystemExit)


def _command_params() -> dict[str, Any]:
    """The parameters of the command being run (empty outside a command)."""
    import importlib

    ctx = None
    for module in ("typer.main", "click"):  # typer ≥ 0.24 carries its own click
        with suppress(ImportError, AttributeError):
            ctx = importlib.import_module(module).get_current_context(silent=True)
            break
    return dict(ctx.params) if ctx is not None else {}


def _paths(value: Any) -> list[str]:
    if isinstance(value, (str, os.PathLike)):
        return [os.fspath(value)]
    if isinstance(value, (list, tuple)):
        return [p for v in value for p in _paths(v)]
    return []


def _is_input(name: Any, params: dict[str, Any]) -> bool:
    """True if ``name`` is (in) a path the command was given to read."""
    target = os.path.abspath(os.fspath(name))
    for key, value in params.items():
        if key in OUTPUT_PARAMS:
            continue
        for path in _paths(value):
            given = os.path.abspath(path)
            if target == given or target.startswith(given.rstrip(os.sep) + os.sep):
                return True
    return False


def _make_output_folders(params: dict[str, Any]) -> list[Path]:
    """Create the missing folders of the output files; the folders created, deepest first."""
    created: list[Path] = []
    for key in OUTPUT_PARAMS:
        for path in _paths(params.get(key)):
            if path in ("", "-"):
                continue
            folder = Path(path).parent
            missing = []
            while not folder.exists() and folder != folder.parent:
                missing.append(folder)
                folder = folder.parent
            if not missing:
                continue
            try:
                missing[0].mkdir(parents=True, exist_ok=True)
            except OSError:
                continue  # the command's own write will fail and say why
            created += missing
    return created


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:  # deepest first
        with suppress(OSError):
            folder.rmdir()


def read_input_text(path: str) -> tuple[str, str]:
    """The text of an input file (UTF-8), or of standard input for ``-``, and its display name.

    Raises
    ------
    InputError
        The file cannot be read (exit 2), naming it.
    """
    name = "<stdin>" if path == "-" else path
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror})", file=name) from exc
    return text, name


def read_input_json(path: str) -> tuple[Any, str]:
    """The parsed JSON of an input file, or of standard input for ``-``, and its display name.

    Raises
    ------
    InputError
        The file cannot be read, or is not valid JSON (exit 2, naming the file and line).
    """
    text, name = read_input_text(path)
    try:
        return json.loads(text), name
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", file=name, row=f"line {exc.lineno}") from exc

"""No traceback reaches a user (issue 12, item 8).

Through the real ``restora`` command (a subprocess): a file that cannot be read — a folder, no
permission, binary garbage as CSV, XLSX, GeoPackage or ZIP — gives one-line messages and exit 2;
a missing folder of ``--out`` is created; an internal error is one line and exit 1; a closed
pipe exits quietly. In process: how :func:`restora.cli.output.handled` maps each error to its
exit code and message, and removes the ``--out`` folders it created when the command fails.

On the code before this change a garbage ``.zip`` and a read-only store ended in a traceback,
``mines export --out new/x.csv`` failed ("cannot write"), and any unexpected error printed a
traceback.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from restora.cli import output
from restora.errors import InputError

RESTORA = str(Path(sys.executable).with_name("restora"))
SITES = (
    "mine_id,name,region_code,mineral,status,site_id,kind,wkt\n"
    'A1,矿A,430181,metal,abandoned,A1-S1,open_pit,"POLYGON((500000 3320000,500100 3320000,'
    '500100 3320100,500000 3320100,500000 3320000))"\n'
)


def _run(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", **kwargs.pop("env", {})}
    env.pop("RESTORA_DEBUG", None)
    return subprocess.run(
        [RESTORA, *args], capture_output=True, text=True, env=env, timeout=300, **kwargs
    )


def _one_error(proc: subprocess.CompletedProcess[str], code: int) -> str:
    """The single error line of a failed command (nothing else on stderr, no traceback)."""
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store' / 'restora.db'}"


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".gpkg", ".geojson", ".zip"])
def test_binary_garbage_is_one_line_and_exit_2(tmp_path, db, suffix):
    bad = tmp_path / f"register{suffix}"
    bad.write_bytes(bytes(range(256)) * 12)  # no text, no workbook, no GIS file, no archive
    line = _one_error(_run("mines", "import", str(bad), "--db", db), 2)
    assert bad.name in line  # the zip too names the file (was: "not a valid ZIP archive")
    if suffix == ".zip":
        assert "zip" in line.lower()


def test_a_folder_given_as_a_file_is_one_line_and_exit_2(tmp_path, db):
    folder = tmp_path / "register.csv"
    folder.mkdir()
    line = _one_error(_run("mines", "import", str(folder), "--db", db), 2)
    assert folder.name in line


def test_a_file_without_read_permission_is_one_line_and_exit_2(tmp_path, db):
    """As root every file is readable: there the command runs without the capabilities that
    override file permissions (util-linux's setpriv, part of Debian's base system)."""
    locked = tmp_path / "sites.csv"
    locked.write_text(SITES, encoding="utf-8")
    locked.chmod(0)
    args = ["mines", "import", str(locked), "--crs", "EPSG:4547", "--db", db]
    no_override = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
    prefix = no_override if os.geteuid() == 0 else []
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("RESTORA_DEBUG", None)
    proc = subprocess.run(
        [*prefix, RESTORA, *args], capture_output=True, text=True, env=env, timeout=300
    )
    line = _one_error(proc, 2)
    assert "sites.csv" in line and "Permission denied" in line


def test_out_into_a_missing_folder_creates_it(tmp_path, db):
    sites = tmp_path / "sites.csv"
    sites.write_text(SITES, encoding="utf-8")
    assert _run("mines", "import", str(sites), "--crs", "EPSG:4547", "--db", db).returncode == 0
    out = tmp_path / "new" / "deeper" / "register.csv"
    proc = _run("mines", "export", "--format", "csv", "--out", str(out), "--db", db)
    assert proc.returncode == 0, proc.stderr
    assert out.is_file() and "A1-S1" in out.read_text(encoding="utf-8-sig")


def test_an_internal_error_is_one_line_and_exit_1(tmp_path):
    code = (
        "import restora.cli as c\n"
        "def broken(*a, **k):\n"
        "    raise KeyError('site_kind')\n"
        "c.app = broken\n"
        "c.main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        env={k: v for k, v in os.environ.items() if k != "RESTORA_DEBUG"},
    )  # fmt: skip
    line = _one_error(proc, 1)
    assert "internal error (KeyError: 'site_kind')" in line and "RESTORA_DEBUG=1" in line
    debug = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        env={**os.environ, "RESTORA_DEBUG": "1"},
    )  # fmt: skip
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "KeyError" in debug.stderr


def test_a_closed_pipe_exits_quietly():
    code = (
        "from restora.cli.output import report_unexpected\n"
        "report_unexpected(BrokenPipeError(32, 'Broken pipe'))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stderr == ""


# -- handled, in process ------------------------------------------------------------------------

runner = CliRunner()


def _app(body):
    """A one-command app whose body runs inside ``handled`` with ``files`` and ``--out``."""
    app = typer.Typer()

    @app.command()
    def cmd(files: list[str], out: Path = typer.Option(None, "--out")) -> None:
        with output.handled():
            body(files, out)

    return app


def _errors(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("exc", "code", "expected"),
    [
        (PermissionError(13, "Permission denied", "in.csv"), 2, "in.csv: cannot read"),
        (IsADirectoryError(21, "Is a directory", "in.csv"), 2, "in.csv: cannot read"),
        (PermissionError(13, "Permission denied", "res/x.csv"), 1, "res/x.csv: cannot write"),
        (OSError(28, "No space left on device", "res/x.csv"), 1, "No space left on device"),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), 2, "not utf-8 text"),
        (zipfile.BadZipFile("File is not a zip file"), 2, "not a valid ZIP archive"),
        (InputError("bad cell", file="in.csv", row=3, field="Cd"), 2, 'row 3, column "Cd"'),
        (
            sa.exc.OperationalError("INSERT", None, sqlite3.OperationalError("database is locked")),
            1,
            "locked by another writer",
        ),
        (
            sa.exc.OperationalError("SELECT", None, sqlite3.OperationalError("disk I/O error")),
            1,
            "the database failed: disk I/O error",
        ),
    ],
)
def test_handled_maps_each_error_to_its_exit_code(tmp_path, monkeypatch, exc, code, expected):
    def body(files, out):
        raise exc

    monkeypatch.chdir(tmp_path)
    result = runner.invoke(_app(body), ["in.csv", "--out", "res/x.csv"])
    assert result.exit_code == code, result.output
    lines = _errors(result)
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], lines


def test_handled_lets_bugs_through_for_the_entry_point():
    def body(files, out):
        raise KeyError("x")

    result = runner.invoke(_app(body), ["in.csv"])
    assert isinstance(result.exception, KeyError)


def test_handled_creates_the_out_folder_and_removes_it_if_the_command_fails(tmp_path):
    out = tmp_path / "a" / "b" / "x.csv"

    def ok(files, o):
        assert o.parent.is_dir()  # created before the body runs
        o.write_text("x\n", encoding="utf-8")

    assert runner.invoke(_app(ok), ["in.csv", "--out", str(out)]).exit_code == 0
    assert out.read_text(encoding="utf-8") == "x\n"

    other = tmp_path / "c" / "d" / "x.csv"

    def fails(files, o):
        raise InputError("bad input", file="in.csv")

    assert runner.invoke(_app(fails), ["in.csv", "--out", str(other)]).exit_code == 2
    assert not (tmp_path / "c").exists()  # the folders it created are gone again


def test_an_unwritable_out_folder_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")

    def body(files, o):
        o.write_text("x", encoding="utf-8")

    result = runner.invoke(_app(body), ["in.csv", "--out", str(blocker / "x.csv")])
    assert result.exit_code == 1
    lines = _errors(result)
    assert len(lines) == 1 and "cannot write" in lines[0] and "x.csv" in lines[0], lines
    assert stat.S_ISREG(blocker.stat().st_mode)

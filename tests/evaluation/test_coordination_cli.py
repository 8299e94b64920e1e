"""``restora evaluate meetings|consultations`` on SQLite and PostgreSQL: add from YAML (audited
with the file's SHA-256), list and search, show, follow-ups overdue on a date, done; exit 2 naming
the file and field on bad input, with nothing stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from typer.testing import CliRunner

from restora.cli import app
from restora.store import Store
from restora.store.platform_tables import projects
from restora.store.tables import changes

DATA = Path(__file__).resolve().parents[1] / "data" / "coordination"


def _run(*args: str) -> Any:
    return CliRunner().invoke(app, ["evaluate", *args])


def _json(*args: str) -> Any:
    res = _run(*args, "--format", "json")
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_meetings_and_consultations(db_url: str) -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with Store(db_url) as store, store.engine.begin() as conn:
        conn.execute(
            projects.insert().values(
                project_id="QS-P-M09", name="QS-P-M09", region_code="430599", spec={},
                created_at=now, updated_at=now, published=False,
            )
        )  # fmt: skip
    db = ["--db", db_url]
    meeting = DATA / "meeting.yaml"
    made = _json("meetings", "add", str(meeting), "--user", "青山县自然资源局 clerk", *db)
    assert made["follow_up_counts"]["done"] == 1 and made["regions"] == ["430599"]
    with Store(db_url) as store, store.engine.connect() as conn:
        last = conn.execute(sa.select(changes).order_by(changes.c.id.desc())).mappings().first()
    assert last is not None and last["command"] == "evaluate meetings add"
    assert last["user_name"] == "青山县自然资源局 clerk"
    assert last["files"][0]["sha256"] == hashlib.sha256(meeting.read_bytes()).hexdigest()

    found = _json("meetings", "list", "-q", "授信 尽职调查", *db)
    assert [m["id"] for m in found] == [made["id"]]
    assert _json("meetings", "list", "-q", "李红", *db) == []
    assert _json("meetings", "list", "--from", "2026-04-01", *db) == []
    # on 15 May: the bank's report (due 30 April) is 15 days overdue
    overdue = _json("meetings", "follow-ups", "--status", "overdue", "--on", "2026-05-15", *db)
    assert [(f["owner_organisation"], f["days_overdue"]) for f in overdue] == [("青山农商银行", 15)]
    done = _json("meetings", "done", str(overdue[0]["id"]), "--on", "2026-05-20", *db)
    assert done["status"] == "done" and done["days_late"] == 20
    shown = _json("meetings", "show", str(made["id"]), "--on", "2026-05-21", *db)
    assert [f["status"] for f in shown["follow_ups"]] == ["done", "done", "open"]
    table = _run("meetings", "follow-ups", "--on", "2026-07-01", *db)
    assert table.exit_code == 0 and "overdue" in table.stdout  # the 30 June check

    hearing = _json("consultations", "add", str(DATA / "hearing.yaml"), *db)
    assert hearing["attendance"]["total"] == 58
    public = _json("consultations", "list", "--public", "-q", "光伏", *db)
    assert [c["id"] for c in public] == [hearing["id"]] and "赵大牛" not in json.dumps(public)
    csv = _run("consultations", "list", "--format", "csv", *db)
    assert csv.exit_code == 0 and "hearing" in csv.stdout
    shown_c = _json("consultations", "show", str(hearing["id"]), *db)
    assert shown_c["opinion_counts"] == {"raised": 3, "answered": 3, "adopted": 2}


def test_bad_input_exits_2_naming_file_and_field(db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (DATA / "meeting.yaml").read_text("utf-8").replace("due_on: 2026-04-30", "due_on: 30/4"),
        encoding="utf-8",
    )
    res = _run("meetings", "add", str(bad), "--db", db_url)
    assert res.exit_code == 2
    assert "bad.yaml" in res.output and "follow_ups.0.due_on" in res.output
    res = _run("meetings", "add", str(DATA / "meeting.yaml"), "--db", db_url)
    assert res.exit_code == 2 and "projects.0" in res.output and "QS-P-M09" in res.output
    assert _json("meetings", "list", "--db", db_url) == []
    res = _run("meetings", "show", "7", "--db", db_url)
    assert res.exit_code == 2 and "no meeting 7" in res.output
    res = _run("meetings", "follow-ups", "--status", "late", "--db", db_url)
    assert res.exit_code == 2 and "status" in res.output

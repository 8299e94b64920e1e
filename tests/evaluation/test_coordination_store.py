"""The coordination record in the store (restora.store.coordination) on SQLite and PostgreSQL:
round trip of a meeting and a hearing, follow-ups overdue on a date by hand, completing one,
search and filters, the audit rows written in the same transaction, bad input naming the field
and leaving the store as it was."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from restora.errors import InputError
from restora.evaluation import coordination as C
from restora.store import Store
from restora.store import coordination as coord
from restora.store.audit import Change, history
from restora.store.coordination_tables import (
    coordination_consultations,
    coordination_followups,
    coordination_meetings,
)
from restora.store.platform_tables import projects
from restora.store.tables import audit, changes, mines

DATA = Path(__file__).resolve().parents[1] / "data" / "coordination"
AT = dt.datetime(2026, 4, 10, 8, tzinfo=dt.UTC)


def _load(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((DATA / name).read_text("utf-8")))


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A store with mines M1 (430599, 青山县) and M2 (430521), projects QS-P-M09 (on M1) and
    P-OTHER (430521)."""
    with Store(db_url) as s:
        with s.engine.begin() as conn:
            for mine_id, region in (("M1", "430599"), ("M2", "430521")):
                conn.execute(
                    mines.insert().values(
                        mine_id=mine_id, name=mine_id, region_code=region, mineral="coal",
                        status="abandoned",
                    )
                )  # fmt: skip
            for pid, region in (("QS-P-M09", "430599"), ("P-OTHER", "430521")):
                conn.execute(
                    projects.insert().values(
                        project_id=pid, name=pid, region_code=region, spec={"mines": []},
                        created_at=AT, updated_at=AT, published=False,
                    )
                )  # fmt: skip
        yield s


def _counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in (
                coordination_meetings,
                coordination_followups,
                coordination_consultations,
                audit,
                changes,
            )
        }


def test_meeting_round_trip_with_audit(store: Store) -> None:
    change = Change("evaluate meetings add", user="nr1", files=[{"path": "meeting.yaml"}])
    made = coord.add_meeting(store, _load("meeting.yaml"), recorded_by="nr1", at=AT, change=change)
    got = coord.get_meeting(store, made["id"], on="2026-04-10")
    assert got is not None and got == coord.get_meeting(store, made["id"], on=dt.date(2026, 4, 10))
    assert got["title"] == "2026 年第一季度生态修复政银联席会议"
    assert got["held_on"] == "2026-03-12" and got["public"] is False
    assert got["regions"] == ["430599"]  # its own and QS-P-M09's
    assert got["participants"][1] == {
        "organisation": "青山农商银行",
        "role": "信贷部",
        "person": "李红",
    }
    assert got["attachments"][0]["sha256"].startswith("9f2c1e0a")
    # on 10 April: the bank's report (due 30 April) open, the bureau's material (due 31 March,
    # done 28 March) done, the bureau's check (due 30 June) open
    assert [f["status"] for f in got["follow_ups"]] == ["open", "done", "open"]
    assert got["follow_up_counts"] == {"open": 2, "done": 1, "overdue": 0}
    assert got["recorded_at"] == AT
    # one change, four audit rows: the meeting and its three follow-ups
    with store.engine.connect() as conn:
        trail = [h for h in history(conn) if h["table"].startswith("coordination")]
    assert [h["table"] for h in trail] == ["coordination_meetings"] + ["coordination_followups"] * 3
    assert {h["change_id"] for h in trail} == {trail[0]["change_id"]}
    assert trail[0]["user"] == "nr1" and trail[0]["command"] == "evaluate meetings add"
    assert trail[0]["action"] == "insert" and trail[0]["after"]["held_on"] == "2026-03-12"
    assert trail[1]["after"]["owner_person"] == "李红"


def test_follow_ups_overdue_by_hand_and_completed(store: Store) -> None:
    coord.add_meeting(store, _load("meeting.yaml"), at=AT)
    # on 15 May: the bank's report (due 30 April) is 15 days overdue; the bureau's check
    # (due 30 June) open; the material done on 28 March
    overdue = coord.follow_ups(store, status="overdue", on="2026-05-15")
    assert [(f["owner_organisation"], f["days_overdue"]) for f in overdue] == [("青山农商银行", 15)]
    assert overdue[0]["meeting_title"] == "2026 年第一季度生态修复政银联席会议"
    pending = coord.follow_ups(store, status="pending", on="2026-05-15")
    assert [f["due_on"] for f in pending] == ["2026-04-30", "2026-06-30"]
    assert [f["seq"] for f in coord.follow_ups(store, status="done", on="2026-05-15")] == [2]
    assert coord.follow_ups(store, organisation="农商", on="2026-05-15")[0]["seq"] == 1
    assert coord.follow_ups(store, region="4305", on="2026-05-15") != []
    assert coord.follow_ups(store, region="430521", on="2026-05-15") == []
    bank = overdue[0]["id"]
    before = _counts(store)
    done = coord.complete_follow_up(
        store,
        bank,
        done_on="2026-05-20",
        note="报告已提交",
        at=AT,
        change=Change("t", user="bank1"),
    )
    # done 20 May, due 30 April: 20 days late
    assert done["done_on"] == "2026-05-20" and done["days_late"] == 20
    assert done["note"] == "报告已提交"
    after = _counts(store)
    assert after["audit"] == before["audit"] + 1 and after["changes"] == before["changes"] + 1
    with store.engine.connect() as conn:
        last = history(conn)[-1]
    assert last["action"] == "update" and last["before"]["done_on"] is None
    assert last["after"]["done_on"] == "2026-05-20" and last["user"] == "bank1"
    # on 15 May (asked about the past) it was still overdue; from 20 May it is done
    assert coord.follow_ups(store, status="overdue", on="2026-05-15")[0]["id"] == bank
    assert coord.follow_ups(store, status="overdue", on="2026-05-21") == []
    with pytest.raises(InputError, match="already done"):
        coord.complete_follow_up(store, bank, done_on="2026-05-21")
    with pytest.raises(InputError) as err:
        coord.complete_follow_up(store, overdue[0]["id"] + 2, done_on="2026-03-01")
    assert err.value.problems[0].field == "done_on"  # before its meeting
    with pytest.raises(InputError) as err:
        coord.follow_ups(store, status="late")
    assert err.value.problems[0].field == "status"
    assert _counts(store) == after


def test_search_and_filters(store: Store) -> None:
    first = coord.add_meeting(store, _load("meeting.yaml"), at=AT)
    other = _load("meeting.yaml") | {
        "held_on": "2026-06-18",
        "title": "第二季度政银联席会议",
        "region_code": "430521",
        "agenda": ["研究矿山修复贷款贴息政策"],
        "decisions": ["贴息申报截止 7 月底"],
        "follow_ups": [],
        "projects": ["P-OTHER"],
        "mines": ["M2"],
        "public": True,
    }
    second = coord.add_meeting(store, other, at=AT)
    ids = lambda rows: [r["id"] for r in rows]  # noqa: E731
    assert ids(coord.meetings(store)) == [second["id"], first["id"]]  # latest first
    assert ids(coord.meetings(store, q="授信 尽职调查")) == [first["id"]]
    assert ids(coord.meetings(store, q="贴息")) == [second["id"]]
    assert ids(coord.meetings(store, q="qs-p-m09")) == [first["id"]]  # case-folded
    assert coord.meetings(store, q="李红") == []  # people are not searched
    assert coord.meetings(store, q="100%") == []  # % is a character, not a wildcard
    assert ids(coord.meetings(store, since="2026-04-01")) == [second["id"]]
    assert ids(coord.meetings(store, until="2026-03-12")) == [first["id"]]
    assert ids(coord.meetings(store, region="430599")) == [first["id"]]
    assert ids(coord.meetings(store, region="4305")) == [second["id"], first["id"]]
    assert ids(coord.meetings(store, project="P-OTHER")) == [second["id"]]
    assert ids(coord.meetings(store, organisation="国家开发银行")) == [second["id"], first["id"]]
    assert ids(coord.meetings(store, public_only=True)) == [second["id"]]
    assert coord.get_meeting(store, second["id"])["regions"] == ["430521"]  # type: ignore[index]

    hearing = coord.add_consultation(store, _load("hearing.yaml"), at=AT)
    consult = _load("hearing.yaml") | {
        "kind": "consultation",
        "title": "P-OTHER 修复方案征求意见",
        "project_id": "P-OTHER",
        "opinions": [{"group": "company", "opinion": "工期偏紧"}],
        "public": False,
    }
    consult.pop("notice")
    second_c = coord.add_consultation(store, consult, at=AT)
    assert hearing["region_code"] == "430599"  # the project's
    assert ids(coord.consultations(store, q="光伏")) == [hearing["id"]]
    assert ids(coord.consultations(store, kind="consultation")) == [second_c["id"]]
    assert ids(coord.consultations(store, region="430521")) == [second_c["id"]]
    assert ids(coord.consultations(store, project="QS-P-M09")) == [hearing["id"]]
    assert ids(coord.consultations(store, public_only=True)) == [hearing["id"]]
    assert coord.consultations(store, q="赵大牛") == []
    assert ids(coord.consultations(store, organisation="自然资源局")) == [
        second_c["id"],
        hearing["id"],
    ]


def test_hearing_round_trip(store: Store) -> None:
    made = coord.add_consultation(store, _load("hearing.yaml"), recorded_by="nr1", at=AT)
    got = coord.get_consultation(store, made["id"])
    assert got == made
    assert got["kind"] == "hearing" and got["public"] is True
    assert got["notice"] == {
        "published_on": "2026-03-25",
        "channel": "青山县人民政府网站、黄泥塘村公示栏",
        "content": "定于 2026 年 4 月 8 日就 QS-P-M09 项目修复方案举行听证会，欢迎村民参加。",
    }
    # 46 + 5 + 3 + 4 + 0 = 58 attended; 3 opinions, all answered, 2 adopted
    assert got["attendance"]["total"] == 58 and got["attendance"]["villagers"] == 46
    assert got["opinion_counts"] == {"raised": 3, "answered": 3, "adopted": 2}
    assert got["opinions"][0]["speaker"] == "赵大牛"  # kept for the record
    public = C.public_consultation(got)
    assert "赵大牛" not in repr(public) and "nr1" not in repr(public)
    with store.engine.connect() as conn:
        last = history(conn)[-1]
    assert last["table"] == "coordination_consultations" and last["id"] == str(made["id"])


def test_bad_input_names_the_field_and_writes_nothing(store: Store) -> None:
    before = _counts(store)
    bad = _load("meeting.yaml") | {"projects": ["QS-P-M09", "NOPE"]}
    with pytest.raises(InputError) as err:
        coord.add_meeting(store, bad, file="meeting.yaml")
    p = err.value.problems[0]
    assert (p.file, p.field) == ("meeting.yaml", "projects.1") and "NOPE" in p.message
    with pytest.raises(InputError) as err:
        coord.add_consultation(store, _load("hearing.yaml") | {"mine_id": "M9"}, file="h.yaml")
    assert err.value.problems[0].field == "mine_id"
    bad = _load("meeting.yaml")
    bad["follow_ups"][1]["due_on"] = "not a date"
    with pytest.raises(InputError) as err:
        coord.add_meeting(store, bad, file="meeting.yaml")
    assert err.value.problems[0].field == "follow_ups.1.due_on"
    assert _counts(store) == before

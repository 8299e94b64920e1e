"""The coordination record's pure part (restora.evaluation.coordination): validation naming the
field, follow-up status by hand, search text and matching, what public records disclose."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from restora.errors import InputError
from restora.evaluation import coordination as C

DATA = Path(__file__).resolve().parents[1] / "data" / "coordination"
D = dt.date


def _meeting() -> dict[str, Any]:
    return dict(yaml.safe_load((DATA / "meeting.yaml").read_text("utf-8")))


def _hearing() -> dict[str, Any]:
    return dict(yaml.safe_load((DATA / "hearing.yaml").read_text("utf-8")))


@pytest.mark.parametrize(
    ("due", "done", "on", "status", "overdue", "late"),
    [
        # due 31 March, not done: open up to and on the due date, overdue from 1 April
        (D(2026, 3, 31), None, D(2026, 3, 1), "open", 0, None),
        (D(2026, 3, 31), None, D(2026, 3, 31), "open", 0, None),
        (D(2026, 3, 31), None, D(2026, 4, 1), "overdue", 1, None),
        # 30 April - 31 March = 30 days overdue
        (D(2026, 3, 31), None, D(2026, 4, 30), "overdue", 30, None),
        # done 28 March (3 days early): done from then on, never late
        (D(2026, 3, 31), D(2026, 3, 28), D(2026, 3, 28), "done", 0, 0),
        (D(2026, 3, 31), D(2026, 3, 28), D(2026, 3, 27), "open", 0, 0),
        # done 10 April (10 days late): overdue by 5 days on 5 April, done on 10 April
        (D(2026, 3, 31), D(2026, 4, 10), D(2026, 4, 5), "overdue", 5, 10),
        (D(2026, 3, 31), D(2026, 4, 10), D(2026, 4, 10), "done", 0, 10),
    ],
)
def test_follow_up_status_by_hand(due, done, on, status, overdue, late):
    assert C.follow_up_status(due, done, on) == status
    assert C.days_overdue(due, done, on) == overdue
    assert C.days_late(due, done) == late


def test_the_example_meeting_and_hearing_validate():
    m = C.parse_meeting(_meeting(), file="meeting.yaml")
    assert m.held_on == D(2026, 3, 12) and not m.public  # meetings are not public by default
    assert m.follow_ups[0].owner_organisation == "青山农商银行"
    h = C.parse_consultation(_hearing(), file="hearing.yaml")
    assert h.public  # notices and answers are public by default
    # 46 + 5 + 3 + 4 + 0 = 58 attended
    assert h.attendance.total == 58


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda d: d.pop("convener"), "convener", "required"),
        (lambda d: d.update(agenda=[]), "agenda", "at least 1"),
        (lambda d: d["follow_ups"][0].update(due_on="2026-02-30"), "follow_ups.0.due_on", "date"),
        (lambda d: d["follow_ups"][2].update(due_on="2026-03-01"), "follow_ups.2.due_on",
         "before the meeting"),
        (lambda d: d["attachments"][0].update(sha256="xyz"), "attachments.0.sha256", "pattern"),
        (lambda d: d.update(region_code="4305"), "region_code", "pattern"),
        (lambda d: d.update(secret="x"), "secret", "not a known field"),
    ],
)  # fmt: skip
def test_a_bad_meeting_names_file_and_field(change, field, words):
    data = _meeting()
    change(data)
    with pytest.raises(InputError) as err:
        C.parse_meeting(data, file="meeting.yaml")
    problem = err.value.problems[0]
    assert problem.file == "meeting.yaml" and problem.field == field
    assert words in problem.message


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.pop("notice"), "notice"),  # a hearing is announced
        (lambda d: d["notice"].update(published_on="2026-04-09"), "notice.published_on"),
        (lambda d: d.pop("project_id"), "project_id"),
        (lambda d: d["attendance"].update(villagers=-1), "attendance.villagers"),
        (lambda d: d["opinions"][0].update(group="张三"), "opinions.0.group"),
        (lambda d: d.update(kind="meeting"), "kind"),
    ],
)
def test_a_bad_consultation_names_the_field(change, field):
    data = _hearing()
    change(data)
    with pytest.raises(InputError) as err:
        C.parse_consultation(data, file="hearing.yaml")
    assert err.value.problems[0].field == field


def test_a_consultation_needs_no_notice_and_is_public_unless_marked():
    data = _hearing() | {"kind": "consultation", "public": False}
    data.pop("notice")
    assert not C.parse_consultation(data).public


def test_search_text_holds_the_record_but_no_person():
    m = C.parse_meeting(_meeting())
    text = C.meeting_search_text(m)
    for words in ("授信尽职调查", "联席会议", "青山农商银行", "qs-p-m09", "信贷部"):
        assert words in text
    for person in ("张三丰", "李红", "王明"):
        assert person not in text
    assert C.matches(text, "授信  QS-P-M09") and not C.matches(text, "授信 贷款贴息")
    h = C.parse_consultation(_hearing())
    htext = C.consultation_search_text(h)
    assert C.matches(htext, "光伏 补偿") and C.matches(htext, "公示栏")
    assert "赵大牛" not in htext


def test_like_pattern_escapes_wildcards():
    # a term with % and _ matches itself only
    assert C.like_pattern("5%_a\\b") == "%5\\%\\_a\\\\b%"


def test_public_views_carry_no_person():
    stored = _meeting() | {"id": 1, "regions": ["430599"], "recorded_by": "nr1"}
    stored["follow_ups"] = [
        f | {"status": "open", "note": "内部备注"} for f in stored["follow_ups"]
    ]
    pub = C.public_meeting(stored)
    assert set(pub) == set(C.PUBLIC_MEETING_FIELDS)
    text = repr(pub)
    for secret in ("张三丰", "李红", "王明", "内部备注", "会议纪要.pdf", "nr1"):
        assert secret not in text
    assert {"organisation": "青山农商银行", "role": "信贷部"} in pub["participants"]
    hearing = _hearing() | {"id": 2, "recorded_by": "nr1", "attachments": [{"name": "签到表"}]}
    pubh = C.public_consultation(hearing)
    assert set(pubh) == set(C.PUBLIC_CONSULTATION_FIELDS)
    assert "赵大牛" not in repr(pubh) and "签到表" not in repr(pubh)
    assert pubh["opinions"][0] == {
        "group": "villagers",
        "opinion": "复垦后耕地优先由本村村民承包",
        "answer": "复垦耕地由村集体经济组织统一发包，本村村民优先",
        "adopted": True,
    }

"""The integrity archive in the store (restora.store.integrity) on SQLite and PostgreSQL:
obligations derived from milestones, sign-offs and alerts (met, late, missed, pending),
idempotent sync, recorded fund accruals and listings, scoring kept with its rules' version,
the public grade list. Rows of the 0011 tables (projects, milestones, sign-offs, alerts) are
inserted here directly, as the verification and alerts parts would write them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from restora.errors import InputError
from restora.store import Store
from restora.store import integrity as integ
from restora.store.monitoring_tables import (
    integrity_obligations,
    monitoring_alerts,
    monitoring_milestones,
    monitoring_signoffs,
)
from restora.store.platform_tables import organisations, projects

ON = dt.date(2025, 6, 30)
UTC = dt.UTC


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=UTC)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store(db_url) as s:
        yield s


def _org(conn: sa.Connection, name: str, region: str = "430599") -> int:
    return int(
        conn.execute(
            organisations.insert()
            .values(name=name, kind="enterprise", region_code=region, created_at=at("2024-01-01"))
            .returning(organisations.c.id)
        ).scalar_one()
    )


def _project(conn: sa.Connection, pid: str, owner: int, mines: list[str]) -> None:
    conn.execute(
        projects.insert().values(
            project_id=pid,
            name=f"项目{pid}",
            region_code="430599",
            spec={"mines": mines},
            owner_org_id=owner,
            created_at=at("2024-01-01"),
            updated_at=at("2024-01-01"),
            published=False,
        )
    )


def _milestone(conn: sa.Connection, mid: str, pid: str, due: str) -> None:
    conn.execute(
        monitoring_milestones.insert().values(
            id=mid,
            project_id=pid,
            name=f"植被覆盖度 {mid}",
            indicator="vegetation_cover",
            comparison=">=",
            target=0.6,
            due_on=dt.date.fromisoformat(due),
            params={},
            status="open",
            created_at=at("2024-01-01"),
        )
    )


def _signoff(conn: sa.Connection, mid: str, pid: str, day: str, decision: str = "accepted") -> None:
    conn.execute(
        monitoring_signoffs.insert().values(
            milestone_id=mid,
            project_id=pid,
            decision=decision,
            value=0.65,
            evidence={},
            report_sha256="0" * 64,
            evaluator="eva",
            signed_at=at(day),
        )
    )


def _alert(
    conn: sa.Connection, kind: str, level: str, mine: str, raised: str, resolved: str | None
) -> int:
    return int(
        conn.execute(
            monitoring_alerts.insert()
            .values(
                kind=kind,
                level=level,
                mine_id=mine,
                sensor_id=f"{mine}/S1/T1",
                indicator=None if kind == "offline" else "slope_displacement",
                state="resolved" if resolved else "raised",
                message=f"{kind} {level}",
                raised_at=at(raised),
                resolved_at=at(resolved) if resolved else None,
                details={},
            )
            .returning(monitoring_alerts.c.id)
        ).scalar_one()
    )


@pytest.fixture
def world(store: Store) -> dict[str, Any]:
    """Two companies: A owns project P1 (mine M1) with four milestones and alerts on M1;
    B owns P2 (mine M2) with one milestone, and an alert on M2."""
    with store.engine.begin() as conn:
        a, b = _org(conn, "青山矿业有限公司"), _org(conn, "绿水修复有限公司")
        _project(conn, "P1", a, ["M1"])
        _project(conn, "P2", b, ["M2"])
        for mid, due in (("ms-met", "2025-03-31"), ("ms-late", "2025-03-31")):
            _milestone(conn, mid, "P1", due)
        _milestone(conn, "ms-missed", "P1", "2025-03-31")
        _milestone(conn, "ms-pending", "P1", "2025-12-31")
        _milestone(conn, "ms-b", "P2", "2025-03-31")
        _signoff(conn, "ms-met", "P1", "2025-03-20")
        _signoff(conn, "ms-late", "P1", "2025-04-15")
        _signoff(conn, "ms-missed", "P1", "2025-03-25", decision="rejected")
        _signoff(conn, "ms-b", "P2", "2025-03-01")
        alerts = {
            "short_gap": _alert(conn, "offline", "warning", "M1", "2025-05-01", "2025-05-03"),
            "long_gap": _alert(conn, "offline", "warning", "M1", "2025-05-01", "2025-05-20"),
            "open_gap": _alert(conn, "offline", "warning", "M1", "2025-06-01", None),
            "alarm_open": _alert(conn, "threshold", "alarm", "M1", "2025-06-20", None),
            "alarm_fixed": _alert(conn, "threshold", "alarm", "M1", "2025-04-01", "2025-04-10"),
            "warning": _alert(conn, "threshold", "warning", "M1", "2025-04-01", None),
            "b_gap": _alert(conn, "offline", "warning", "M2", "2025-06-01", "2025-06-02"),
        }
    return {"a": a, "b": b, "alerts": alerts}


def test_sync_derives_outcomes_and_is_idempotent(store: Store, world: dict[str, Any]) -> None:
    counts = integ.sync_obligations(store, ON)
    # A: 4 milestones + long gap + open gap + 2 alarms; B: its milestone (its gap lasted 1 d)
    assert counts == {"created": 9, "updated": 0, "deleted": 0, "unchanged": 0}
    got = {(o["kind"], o["ref"]): o for o in integ.obligations(store, world["a"], on=ON)}
    al = world["alerts"]
    assert {k: o["outcome"] for k, o in got.items()} == {
        ("milestone", "milestone:ms-met"): "met",  # signed 03-20, due 03-31
        ("milestone", "milestone:ms-late"): "late",  # signed 04-15
        ("milestone", "milestone:ms-missed"): "missed",  # only a rejected sign-off
        ("milestone", "milestone:ms-pending"): "pending",  # due 12-31
        ("monitoring_gap", f"alert:{al['long_gap']}"): "late",  # 19 d, due 05-08, done 05-20
        ("monitoring_gap", f"alert:{al['open_gap']}"): "missed",  # open 29 d
        ("rectification", f"alert:{al['alarm_open']}"): "pending",  # due 07-20
        ("rectification", f"alert:{al['alarm_fixed']}"): "met",  # due 05-01, done 04-10
    }
    assert got[("monitoring_gap", f"alert:{al['long_gap']}")]["due_on"] == "2025-05-08"
    assert got[("milestone", "milestone:ms-met")]["project_id"] == "P1"
    assert got[("milestone", "milestone:ms-met")]["mine_id"] == "M1"
    assert [o["ref"] for o in integ.obligations(store, world["b"], on=ON)] == ["milestone:ms-b"]
    # again: nothing changes
    assert integ.sync_obligations(store, ON) == {
        "created": 0,
        "updated": 0,
        "deleted": 0,
        "unchanged": 9,
    }
    # the missed milestone is signed off late; the open gap ends: two updates, outcomes late
    with store.engine.begin() as conn:
        _signoff(conn, "ms-missed", "P1", "2025-06-10")
        conn.execute(
            monitoring_alerts.update()
            .where(monitoring_alerts.c.id == al["open_gap"])
            .values(state="resolved", resolved_at=at("2025-06-25"))
        )
    assert integ.sync_obligations(store, ON, org_id=world["a"])["updated"] == 2
    got = {o["ref"]: o["outcome"] for o in integ.obligations(store, world["a"], on=ON)}
    assert got["milestone:ms-missed"] == "late" and got[f"alert:{al['open_gap']}"] == "late"
    # project P2 handed to company A: B's derived milestone moves to A
    with store.engine.begin() as conn:
        conn.execute(
            projects.update().where(projects.c.project_id == "P2").values(owner_org_id=world["a"])
        )
    counts = integ.sync_obligations(store, ON)
    assert (counts["created"], counts["deleted"]) == (1, 1)
    assert integ.obligations(store, world["b"], on=ON) == []


def test_score_org_by_hand_and_kept(store: Store, world: dict[str, Any]) -> None:
    a = world["a"]
    integ.add_obligation(
        store,
        org_id=a,
        kind="fund_accrual",
        due_on="2024-12-31",
        amount=200_000.0,
        description="2024 年度矿山地质环境治理恢复基金计提",
        recorded_by="clerk",
    )
    ob = integ.obligations(store, a, kind="fund_accrual", on=ON)[0]
    assert ob["outcome"] == "missed" and ob["source"] == "recorded"
    # paid in two parts: 150 000 on 2025-01-10 (short), 50 000 on 2025-01-20 (in full, late)
    integ.settle_obligation(store, ob["id"], done_on="2025-01-10", done_amount=150_000.0)
    assert integ.obligations(store, a, kind="fund_accrual", on=ON)[0]["outcome"] == "missed"
    done = integ.settle_obligation(store, ob["id"], done_on="2025-01-20", done_amount=50_000.0)
    assert done["done_amount"] == 200_000.0 and done["outcome"] == "late"
    assert len(done["details"]["settlements"]) == 2

    s = integ.score_org(store, a, ON)
    # by hand, on 2025-06-30, half-life 365 d (milestones, rectification weight 1; gap 0.5):
    #   ms-met     done 03-20, 102 d:  +3  * 0.5**(102/365)       = +2.472
    #   ms-late    done 04-15,  76 d:  -5  * 0.5**(76/365)        = -4.328
    #   ms-missed  missed:             -15                         = -15
    #   long gap   done 05-20,  41 d:  -4  * 0.5 * 0.5**(41/365)  = -1.850
    #   open gap   missed:             -10 * 0.5                   = -5
    #   alarm      done 04-10,  81 d:  +1  * 0.5**(81/365)        = +0.857
    #   fund       done 01-20, 161 d:  -5  * 0.5**(161/365)       = -3.683
    #   85 + 2.472 - 4.328 - 15 - 1.850 - 5 + 0.857 - 3.683 = 58.468 -> red (< 60)
    expected = (
        85
        + 3 * 0.5 ** (102 / 365)
        - 5 * 0.5 ** (76 / 365)
        - 15
        - 4 * 0.5 * 0.5 ** (41 / 365)
        - 10 * 0.5
        + 1 * 0.5 ** (81 / 365)
        - 5 * 0.5 ** (161 / 365)
    )
    assert expected == pytest.approx(58.468, abs=1e-3)
    assert s["score"] == pytest.approx(expected)
    assert s["grade"] == "red" and s["as_of"] == "2025-06-30"
    assert s["rules"].startswith("monitoring/integrity/scoring@")
    codes = {b["rule_code"]: b["count"] for b in s["breakdown"]["breakdown"]}
    assert codes == {
        "INT-MILESTONE-MET": 1,
        "INT-MILESTONE-LATE": 1,
        "INT-MILESTONE-MISSED": 1,
        "INT-GAP-LATE": 1,
        "INT-GAP-MISSED": 1,
        "INT-RECTIFY-MET": 1,
        "INT-FUND-LATE": 1,
    }
    assert {m["code"] for m in s["measures"]} == {
        "MEAS-MORE-INSPECTION",
        "MEAS-CREDIT-RESTRICT",
        "MEAS-NO-AWARDS",
    }
    # B: one milestone met 121 d before: 85 + 3 * 0.5**(121/365) = 87.38 -> blue
    sb = integ.score_org(store, world["b"], ON)
    assert sb["score"] == pytest.approx(85 + 3 * 0.5 ** (121 / 365)) and sb["grade"] == "blue"
    # a later scoring of A is the latest; history keeps both
    integ.score_org(store, a, dt.date(2025, 7, 1))
    latest = integ.scores(store)
    assert [(r["name"], r["as_of"]) for r in latest] == [
        ("绿水修复有限公司", "2025-06-30"),  # blue ranks before red
        ("青山矿业有限公司", "2025-07-01"),
    ]
    rec = integ.record(store, a, on=ON)
    assert rec["organisation"]["name"] == "青山矿业有限公司"
    assert rec["summary"]["milestone"] == {"met": 1, "late": 1, "missed": 1, "pending": 1}
    assert [h["as_of"] for h in rec["history"]] == ["2025-07-01", "2025-06-30"]


def test_listing_and_public_grade(store: Store, world: dict[str, Any]) -> None:
    b = world["b"]
    integ.add_obligation(
        store,
        org_id=b,
        kind="listing",
        listing="serious",
        due_on="2025-05-01",
        description="列入严重失信主体名单（自然资源部令第13号）",
    )
    s = integ.score_org(store, b, ON)
    assert s["grade"] == "red" and s["breakdown"]["capped_by"] == ["INT-LIST-SERIOUS"]
    pub = integ.public_grade(integ.scores(store, public_only=True)[0])
    assert pub["name"] == "绿水修复有限公司" and pub["grade"] == "red"
    assert pub["label_zh"] == "环保不良企业" and pub["listed"] == ["serious"]
    assert "MEAS-UNTRUSTWORTHY" in {m["code"] for m in pub["measures"]}
    assert "score" not in pub and "org_id" not in pub and "breakdown" not in pub


def test_bad_input_names_the_field_and_writes_nothing(store: Store, world: dict[str, Any]) -> None:
    cases = [
        ({"kind": "milestone"}, "kind"),
        ({"kind": "fund_accrual"}, "amount"),
        ({"kind": "fund_accrual", "amount": -1.0}, "amount"),
        ({"kind": "listing"}, "list"),
        ({"kind": "report", "due_on": "31/12/2024"}, "due_on"),
        ({"kind": "report", "org_id": 999}, "org_id"),
    ]
    for extra, field in cases:
        args: dict[str, Any] = {
            "org_id": world["a"],
            "due_on": "2024-12-31",
            "description": "年度报告",
            **extra,
        }
        with pytest.raises(InputError) as err:
            integ.add_obligation(store, **args)
        assert err.value.problems[0].field == field
    with store.engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(integrity_obligations)).scalar()
            == 0
        )
    integ.sync_obligations(store, ON)
    derived = integ.obligations(store, world["a"], kind="milestone")[0]
    with pytest.raises(InputError, match="derived"):
        integ.settle_obligation(store, derived["id"], done_on="2025-06-01")

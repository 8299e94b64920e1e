"""Milestones, evidence and sign-off in the store, on SQLite and PostgreSQL: the tranche tier,
fraction and amount by hand from QS-M28's tiers, the sign-off event on the ledger and ``verify``
still passing, credits issued once, refusals leaving the store as it was."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from restora.errors import InputError
from restora.registry.ledger import LedgerError
from restora.store import Store
from restora.store import registry as R
from restora.store import verification as V


def _support() -> Any:
    """tests/monitoring/verification_support.py, loaded by path (test folders are not packages)."""
    name = "restora_tests_verification_support"
    if name not in sys.modules:
        path = Path(__file__).with_name("verification_support.py")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


S = _support()
AT = S.AT


@pytest.fixture
def store(db_url: str) -> Any:
    with Store(db_url) as s:
        yield s


@pytest.fixture
def setup(store: Any) -> dict[str, Any]:
    return dict(S.setup_project(store, uuid.uuid4().hex[:8]))


def test_milestones_from_the_projects_bond(store: Any, setup: dict[str, Any]) -> None:
    got = V.milestones_from_project(store, setup["project"])
    p = setup["project"]
    assert [m["id"] for m in got] == [f"{p}/soil", f"{p}/vegetation"]
    soil, veg = got
    # QS-M28: start 2026; soil verified in year 4 -> end of 2029, vegetation year 5 -> 2030
    assert soil["due_on"] == "2029-12-31" and veg["due_on"] == "2030-12-31"
    # targets: the top tier's threshold (soil 'met' from 0.9, vegetation from 0.6)
    assert (soil["indicator"], soil["target"], soil["tranche"]) == (
        "soil_share_below_screening", 0.9, "soil",
    )  # fmt: skip
    assert (veg["indicator"], veg["target"], veg["comparison"]) == ("vegetation_cover", 0.6, "ge")
    # idempotent: a second call creates nothing new
    assert len(V.milestones_from_project(store, p)) == 2


def test_soil_evidence_and_accepted_sign_off_release_the_partial_tier(
    store: Any, setup: dict[str, Any]
) -> None:
    p = setup["project"]
    V.milestones_from_project(store, p)
    ev = V.evidence(store, f"{p}/soil")
    # 17 of 20 samples below the Cd screening value 0.3 (GB 15618-2018, pH 6.5-7.5, other land)
    assert (ev["value"], ev["met"], ev["counted"]) == (0.85, 17, 20)
    assert ev["meets"] is False and len(ev["items"]) == 20 and len(ev["digest"]) == 64
    # tier 'partial' (0.5 <= 0.85 < 0.9), interpolated: 0.5 + (0.85-0.5)/(0.9-0.5) * (1-0.5)
    # = 0.5 + 0.875 * 0.5 = 0.9375; amount = 20 000 000 * 0.6 * 0.9375 = 11 250 000
    t = ev["tranche"]
    assert t["tier"] == "partial" and t["principal_fraction"] == pytest.approx(0.9375)
    assert t["amount"] == pytest.approx(11_250_000.0)
    before = S.counts(store)
    row = V.sign_off(
        store, f"{p}/soil", evaluator=setup["evaluator"], decision="accepted",
        report_sha256=S.REPORT, note="field visit 2030-05", at=AT,
    )  # fmt: skip
    assert row["value"] == 0.85 and row["decision"] == "accepted"
    assert row["evidence"]["digest"] == ev["digest"]
    rel = row["release"]
    assert (rel["tranche"], rel["tier"], rel["instrument"]) == (
        "soil",
        "partial",
        "performance-bond",
    )
    assert rel["principal_fraction"] == pytest.approx(0.9375)
    assert rel["amount_cny"] == pytest.approx(11_250_000.0)
    assert V.tranche_releases(store, p) == [rel]
    # one ledger event of the new kind, no unit moved, no credits (the soil milestone has none)
    assert [e["kind"] for e in row["events"]] == ["sign_off"]
    data = row["events"][0]["data"]
    assert (data["milestone"], data["value"], data["target"], data["decision"]) == (
        f"{p}/soil", 0.85, 0.9, "accepted",
    )  # fmt: skip
    assert data["evidence_sha256"] == ev["digest"] and data["tranche"]["tier"] == "partial"
    assert row["event_id"] == row["events"][0]["id"]
    after = S.counts(store)
    assert after["registry_events"] == before["registry_events"] + 1
    assert after["registry_blocks"] == before["registry_blocks"]
    assert V.milestone(store, f"{p}/soil")["status"] == "accepted"
    assert R.verify(store).ok
    # sequenced into the Merkle log and signed, the log still replays to the stored state
    R.integrate_all(store, at=AT, key=Ed25519PrivateKey.from_private_bytes(b"\x01" * 32))
    report = R.verify(store)
    assert report.ok and report.pending == 0 and report.sequenced == report.events


def test_credits_issued_once_into_the_owners_holding_account(
    store: Any, setup: dict[str, Any]
) -> None:
    p, mine = setup["project"], setup["mine"]
    V.milestones_from_project(store, p)
    # vegetation evidence: two zones, FVC 0.5 on 1 000 m2 and 0.8 on 3 000 m2 (valid pixels);
    # an older result of zone A is superseded by the newer one
    S.add_cover(store, mine, [("A", 0.2, 1000.0)], dt.date(2029, 8, 1))
    S.add_cover(store, mine, [("A", 0.5, 1000.0), ("B", 0.8, 3000.0)], dt.date(2030, 8, 1))
    m = V.add_milestone(
        store, project_id=p, name="cover-credits", indicator="vegetation_cover", target=0.6,
        credits={"unit_type": "CSINK", "per_value": 200, "baseline": 0.1, "vintage": 2030,
                 "attrs": {"methodology": "CCER-14-001"}},
    )  # fmt: skip
    ev = V.evidence(store, m["id"])
    # (0.5 * 1000 + 0.8 * 3000) / 4000 = 2900 / 4000 = 0.725
    assert ev["value"] == pytest.approx(0.725) and ev["meets"] is True
    # floor(200 * (0.725 - 0.1)) = floor(125.0) = 125 serials
    assert ev["credits"]["issue_count"] == 125
    row = V.sign_off(
        store, m["id"], evaluator=setup["evaluator"], decision="accepted",
        report_sha256=S.REPORT, at=AT,
    )  # fmt: skip
    assert [e["kind"] for e in row["events"]] == [
        "sign_off", "verify_outcome", "open_account", "issue",
    ]  # fmt: skip
    assert row["verification_id"] == f"MS:{m['id']}"
    assert row["issued"]["count"] == 125 and row["release"] is None  # no tranche on it
    mine_blocks = R.list_blocks(store, project_id=p)
    assert sum(b["count"] for b in mine_blocks) == 125
    acc = row["issued"]["account"]
    assert all(b["account"] == acc for b in mine_blocks)
    with store.engine.connect() as conn:
        from restora.store.registry_tables import registry_accounts

        a = conn.execute(sa.select(registry_accounts).where(registry_accounts.c.id == acc)).one()
    assert (a.kind, a.org_id) == ("holding", setup["org"])
    # signing again is refused and changes nothing
    before = S.counts(store)
    with pytest.raises(LedgerError):
        V.sign_off(
            store, m["id"], evaluator=setup["evaluator"], decision="accepted",
            report_sha256=S.REPORT, at=AT,
        )  # fmt: skip
    assert S.counts(store) == before
    # the vegetation tranche milestone reuses the holding account (no second open_account)
    row2 = V.sign_off(
        store, f"{p}/vegetation", evaluator=setup["evaluator"], decision="accepted",
        report_sha256=S.REPORT, at=AT,
    )  # fmt: skip
    # vegetation tiers: [lower null: 0], [lower 0.6: 1.0]; 0.725 >= 0.6 -> fraction 1,
    # amount 20 000 000 * 0.4 = 8 000 000
    assert row2["release"]["principal_fraction"] == 1.0
    assert row2["release"]["amount_cny"] == pytest.approx(8_000_000.0)
    assert [e["kind"] for e in row2["events"]] == ["sign_off"]
    assert R.verify(store).ok


def test_refusals_leave_the_store_unchanged(store: Any, setup: dict[str, Any]) -> None:
    p = setup["project"]
    V.milestones_from_project(store, p)
    S.add_user(store, f"nr-{p}", "natural_resources")
    before = S.counts(store)
    cases = [
        # not an evaluator
        (dict(evaluator=f"nr-{p}"), InputError, "evaluator"),
        (dict(evaluator="nobody"), InputError, "evaluator"),
        # bad decision, bad report hash, an entered value without a note
        (dict(decision="maybe"), InputError, "decision"),
        (dict(report_sha256="abc"), InputError, "report_sha256"),
        (dict(value=0.95), InputError, "note"),
    ]
    for change, exc, field in cases:
        kw: dict[str, Any] = dict(
            evaluator=setup["evaluator"], decision="accepted", report_sha256=S.REPORT, at=AT
        )
        kw.update(change)
        with pytest.raises(exc) as err:
            V.sign_off(store, f"{p}/soil", **kw)
        assert err.value.problems[0].field == field
        assert S.counts(store) == before
    # no evidence: the vegetation milestone has no remote-sensing result
    with pytest.raises(InputError) as err:
        V.sign_off(
            store, f"{p}/vegetation", evaluator=setup["evaluator"], decision="accepted",
            report_sha256=S.REPORT, at=AT,
        )  # fmt: skip
    assert err.value.problems[0].field == "evidence"
    assert S.counts(store) == before
    # a rejection is recorded (event and row, no release) and the milestone may be signed again
    rej = V.sign_off(
        store, f"{p}/soil", evaluator=setup["evaluator"], decision="rejected",
        report_sha256=S.REPORT, note="sampling grid too sparse", at=AT,
    )  # fmt: skip
    assert rej["release"] is None and [e["kind"] for e in rej["events"]] == ["sign_off"]
    assert V.milestone(store, f"{p}/soil")["status"] == "rejected"
    ok = V.sign_off(
        store, f"{p}/soil", evaluator=setup["evaluator"], decision="accepted",
        report_sha256=S.REPORT, value=0.95, note="resampled: 19 of 20 below", at=AT,
    )  # fmt: skip
    # an entered value 0.95 >= 0.9: tier 'met', fraction 1, 20 000 000 * 0.6 = 12 000 000
    assert ok["release"]["tier"] == "met" and ok["release"]["amount_cny"] == 12_000_000.0
    assert ok["evidence"]["entered_value"] == 0.95 and ok["evidence"]["value"] == 0.85
    assert len(V.signoffs(store, milestone_id=f"{p}/soil")) == 2
    assert R.verify(store).ok


def test_verify_detects_a_changed_sign_off(store: Any, setup: dict[str, Any]) -> None:
    from restora.store.monitoring_tables import monitoring_signoffs

    p = setup["project"]
    V.milestones_from_project(store, p)
    V.sign_off(
        store, f"{p}/soil", evaluator=setup["evaluator"], decision="accepted",
        report_sha256=S.REPORT, at=AT,
    )  # fmt: skip
    assert R.verify(store).ok
    # a forged second sign-off row with no event behind it (the table's triggers forbid
    # updates, not inserts)
    with store.engine.begin() as conn:
        conn.execute(
            monitoring_signoffs.insert().values(
                milestone_id=f"{p}/forged", project_id=p, decision="accepted", value=1.0,
                evidence={}, report_sha256=S.REPORT, evaluator="x", signed_at=AT,
            )
        )  # fmt: skip
    report = R.verify(store)
    assert not report.ok and f"{p}/forged" in str(report.problem)

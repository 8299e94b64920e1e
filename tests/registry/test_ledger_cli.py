"""``restora registry`` on a store: key, open-account, record-verification, issue, op, integrate,
head, proof, check-proof (offline, against a saved head and the public key) and verify."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from restora.cli import app


def _ok(*args: str) -> object:
    r = CliRunner().invoke(app, ["registry", *args, "-f", "json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def _code(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(app, ["registry", *args, "-f", "json"])
    return r.exit_code, r.output


@pytest.fixture
def ledger(tmp_path: Path) -> dict[str, object]:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    keyfile = tmp_path / "keys" / "registry.pem"
    key = _ok("key", "generate", str(keyfile))
    a = _ok("open-account", "County restoration company", "--db", db)["account"]  # type: ignore[index]
    b = _ok("open-account", "County bank", "--db", db)["account"]  # type: ignore[index]
    record = {
        "verification": "V-2026-001",
        "unit_type": "CLQ",
        "project_id": "P-430524-01",
        "vintage": 2026,
        "region_code": "430524",
        "count": 3000,  # 30.00 mu in 0.01-mu serials
        "evaluator": "Hunan evaluation centre",
        "report_sha256": "0" * 64,
    }
    vfile = tmp_path / "v.json"
    vfile.write_text(json.dumps(record), encoding="utf-8")
    _ok("record-verification", str(vfile), "--db", db)
    blocks = _ok(
        "issue", "V-2026-001", "--account", str(a), "--amount", "12.35", "--attr", "grade=2",
        "--db", db,
    )  # fmt: skip
    return {"db": db, "key": key, "keyfile": keyfile, "a": a, "b": b, "blocks": blocks}


def test_issue_in_mu_and_partial_transfer(ledger: dict[str, object]) -> None:
    db = str(ledger["db"])
    blocks = ledger["blocks"]
    assert isinstance(blocks, list)
    # 12.35 mu = 1 235 serials of 0.01 mu: serials 1-1235
    assert [b["serial"] for b in blocks] == ["CN-CLQ-430524-P-430524-01-2026-1-1235"]
    assert blocks[0]["amount"] == pytest.approx(12.35)
    out = _ok(
        "op", "transfer", blocks[0]["serial"], "--count", "500", "--to", str(ledger["b"]),
        "--db", db,
    )  # fmt: skip
    assert isinstance(out, dict)
    # the block is cut at 501; serials 1-500 move, 501-1235 stay
    got = {b["serial"]: (b["account"], b["status"]) for b in out["blocks"]}
    assert got["CN-CLQ-430524-P-430524-01-2026-1-500"] == (ledger["b"], "held")
    listed = _ok("blocks", "--db", db)
    assert isinstance(listed, list)
    assert sorted((r["serial"], r["account"]) for r in listed) == [
        ("CN-CLQ-430524-P-430524-01-2026-1-500", ledger["b"]),
        ("CN-CLQ-430524-P-430524-01-2026-501-1235", ledger["a"]),
    ]
    lines = _ok("statement", str(ledger["b"]), "--db", db)
    assert isinstance(lines, list)
    assert [(x["kind"], x["block"], x["direction"]) for x in lines] == [
        ("open_account", "", ""),
        ("transfer", "CLQ 1-500", "in"),
    ]


def test_proofs_check_offline_and_verify(ledger: dict[str, object], tmp_path: Path) -> None:
    db, keyfile = str(ledger["db"]), str(ledger["keyfile"])
    pub = ledger["key"]["public_key"]  # type: ignore[index]
    head1 = _ok("integrate", "--db", db, "--key", keyfile)
    assert isinstance(head1, dict) and head1["size"] == 4  # 2 accounts, verification, issue
    h1 = tmp_path / "head1.json"
    h1.write_text(json.dumps(head1))
    serial = ledger["blocks"][0]["serial"]  # type: ignore[index]
    _ok("op", "retire", serial, "--count", "35", "--beneficiary", "Changsha", "--purpose",
        "offset", "--db", db)  # fmt: skip
    head2 = _ok("integrate", "--db", db, "--key", keyfile)
    assert head2["size"] == 6  # type: ignore[index]  # a split and the retirement
    h2 = tmp_path / "head2.json"
    h2.write_text(json.dumps(head2))
    incl = tmp_path / "incl.json"
    incl.write_text(json.dumps(_ok("proof", "inclusion", "6", "--db", db)))
    cons = tmp_path / "cons.json"
    cons.write_text(json.dumps(_ok("proof", "consistency", "4", "--db", db)))
    assert _ok("check-proof", str(incl), "--head", str(h2), "--public-key", pub)["verifies"]  # type: ignore[index]
    assert _ok("check-proof", str(cons), "--head", str(h1), "--public-key", pub)["verifies"]  # type: ignore[index]
    # the inclusion proof against the older head (wrong size), or with another key: exit 1
    assert _code("check-proof", str(incl), "--head", str(h1), "--public-key", pub)[0] == 1
    other = _ok("key", "generate", str(tmp_path / "other.pem"))["public_key"]  # type: ignore[index]
    assert _code("check-proof", str(incl), "--head", str(h2), "--public-key", other)[0] == 1
    # an event changed in the proof document: exit 1
    doc = json.loads(incl.read_text())
    doc["event"] = doc["event"].replace("Changsha", "Shanghai")
    incl.write_text(json.dumps(doc))
    assert _code("check-proof", str(incl), "--head", str(h2), "--public-key", pub)[0] == 1
    # malformed: exit 2
    (tmp_path / "bad.json").write_text("{")
    assert (
        _code("check-proof", str(tmp_path / "bad.json"), "--head", str(h2), "--public-key", pub)[0]
        == 2
    )
    report = _ok("verify", "--db", db, "--public-key", pub)
    assert report["ok"] and report["events"] == 6 and report["heads"] == 2  # type: ignore[index]
    # an operator edits a retirement's beneficiary in the database: verify exits 1 naming it
    path = db.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TRIGGER registry_events_append_only_update")
        conn.execute(
            "UPDATE registry_events SET data = replace(data, 'Changsha', 'Shanghai') WHERE id = 6"
        )
    code, output = _code("verify", "--db", db, "--public-key", pub)
    assert code == 1 and "event 6 (leaf 5)" in output


def test_bad_input_exit_codes(ledger: dict[str, object], tmp_path: Path) -> None:
    db = str(ledger["db"])
    serial = ledger["blocks"][0]["serial"]  # type: ignore[index]
    code, out = _code("op", "transfer", "CN-XX-1-2", "--to", "2", "--db", db)
    assert code == 2 and "not a serial id" in out
    code, out = _code("op", "transfer", serial, "--count", "5000", "--to", "2", "--db", db)
    assert code == 2 and "--count" in out
    code, out = _code("issue", "V-2026-001", "--account", "1", "--amount", "0.001", "--db", db)
    assert code == 1 and "whole number of serial units" in out
    code, out = _code(
        "issue", "V-2026-001", "--account", "1", "--amount", "20", "--attr", "grade=2", "--db", db
    )
    assert code == 1 and "leaves 1765 serial numbers to issue; 2000 asked" in out
    code, out = _code("key", "generate", str(ledger["keyfile"]))
    assert code == 2 and "never overwritten" in out

"""The registry's pure rules (restora.registry.ledger), with hand-worked values.

Every expected figure below was worked out by hand from the rules as the issue states them
(statuses each kind applies to, buffer and share of proceeds rounded down, serials allocated
from 1 per unit type); the tables are written out here, not read from the module.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from restora.registry.ledger import (
    UNIT_TYPES,
    Block,
    Ledger,
    LedgerError,
    decode,
    encode,
    parse_serial_id,
    replay,
    serial_id,
    share_count,
)

# The statuses each block operation applies to, written out from the issue's table.
ALLOWED: dict[str, set[str]] = {
    "transfer": {"held"},
    "initiate_transfer": {"held"},
    "accept_transfer": {"pending_transfer"},
    "reject_transfer": {"pending_transfer"},
    "list": {"held"},
    "delist": {"listed"},
    "settle": {"listed"},
    "retire": {"held"},
    "cancel": {"held", "buffer"},
    "freeze": {"held", "listed", "pending_transfer", "buffer", "pledged"},
    "unfreeze": {"frozen"},
    "pledge": {"held"},
    "release_pledge": {"pledged"},
    "enforce_pledge": {"pledged"},
    "split": {"held", "buffer", "listed"},  # a listed lot is cut when partly sold
}
ALL_STATUSES = [
    "held",
    "listed",
    "pending_transfer",
    "retired",
    "cancelled",
    "buffer",
    "frozen",
    "pledged",
]
# fields each kind needs beside the block; account 1 holds, 2 and 3 are others
FIELDS: dict[str, dict[str, Any]] = {
    "transfer": {"to": 2},
    "initiate_transfer": {"to": 2},
    "accept_transfer": {},
    "reject_transfer": {"reason": "wrong account"},
    "list": {"listing": "L-1"},
    "delist": {},
    "settle": {"to": 2, "price_fen": 1500, "trade": "T-1", "payee": 1},
    "retire": {"beneficiary": "Acme", "purpose": "2026 offset"},
    "cancel": {"reason": "reversal"},
    "freeze": {"reason": "court order"},
    "unfreeze": {},
    "pledge": {"lender": 3, "pledge": "PL-1"},
    "release_pledge": {},
    "enforce_pledge": {},
    "split": {"at_serial": 15},
}


def ledger_with(status: str, start: int = 11, end: int = 20) -> Ledger:
    """Accounts 1, 2, 3 and one CSINK block [start, end] of account 1 in ``status``."""
    led = Ledger()
    for i in (1, 2, 3):
        led.apply(
            {"kind": "open_account", "account": i, "account_kind": "holding", "name": f"A{i}"}
        )
    extra: dict[str, Any] = {}
    if status == "pending_transfer":
        extra["pending_to"] = 2
    if status == "pledged":
        extra["lender"] = 3
    if status == "frozen":
        extra["before_freeze"] = "listed"
    if status == "retired":
        extra["retirement"] = {"beneficiary": "X", "purpose": "Y", "obligation": None, "at": None}
    b = Block("CSINK", start, end, 1, status, "P-1", 2026, "430524", **extra)
    led.blocks[b.key] = b
    led.cash[2] = 10_000  # the buyer's money on the platform [fen]
    return led


def op(kind: str, start: int = 11, end: int = 20, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "unit_type": "CSINK", "start": start, "end": end, **fields}


# ------------------------------------------------------------------------------ statuses
@pytest.mark.parametrize("status", ALL_STATUSES)
@pytest.mark.parametrize("kind", sorted(ALLOWED))
def test_each_kind_applies_only_to_its_statuses(kind: str, status: str) -> None:
    led = ledger_with(status)
    before = copy.deepcopy(led.blocks)
    event = op(kind, **FIELDS[kind])
    if status in ALLOWED[kind]:
        out = led.apply(event)
        assert out
    else:
        with pytest.raises(LedgerError) as exc:
            led.apply(event)
        assert exc.value.field == "status"
        assert status in str(exc.value)
        assert led.blocks == before  # refused: nothing changed


@pytest.mark.parametrize(
    ("kind", "status", "after"),
    [
        # (kind, status before, (account, status, pending_to, lender, before_freeze) after)
        ("transfer", "held", (2, "held", None, None, None)),
        ("initiate_transfer", "held", (1, "pending_transfer", 2, None, None)),
        ("accept_transfer", "pending_transfer", (2, "held", None, None, None)),
        ("reject_transfer", "pending_transfer", (1, "held", None, None, None)),
        ("list", "held", (1, "listed", None, None, None)),
        ("delist", "listed", (1, "held", None, None, None)),
        ("settle", "listed", (2, "held", None, None, None)),
        ("retire", "held", (1, "retired", None, None, None)),
        ("cancel", "buffer", (1, "cancelled", None, None, None)),
        ("freeze", "pledged", (1, "frozen", None, 3, "pledged")),
        ("unfreeze", "frozen", (1, "listed", None, None, None)),
        ("pledge", "held", (1, "pledged", None, 3, None)),
        ("release_pledge", "pledged", (1, "held", None, None, None)),
        ("enforce_pledge", "pledged", (3, "held", None, None, None)),
    ],
)
def test_each_kind_leaves_the_block_as_stated(kind: str, status: str, after: tuple) -> None:
    led = ledger_with(status)
    [b] = led.apply(op(kind, **FIELDS[kind]))
    assert (b.account, b.status, b.pending_to, b.lender, b.before_freeze) == after
    assert (b.start, b.end, b.count) == (11, 20, 10)
    assert led.blocks == {("CSINK", 11): b}


def test_retire_records_beneficiary_and_purpose() -> None:
    led = ledger_with("held")
    [b] = led.apply(op("retire", beneficiary="Acme", purpose="offset", at="2026-12-07T00:00:00Z"))
    assert b.retirement == {
        "beneficiary": "Acme",
        "purpose": "offset",
        "obligation": None,
        "at": "2026-12-07T00:00:00Z",
    }


@pytest.mark.parametrize("final", ["retired", "cancelled"])
@pytest.mark.parametrize("kind", sorted(ALLOWED))
def test_retired_and_cancelled_are_final(final: str, kind: str) -> None:
    led = ledger_with(final)
    before = copy.deepcopy(led.blocks)
    with pytest.raises(LedgerError):
        led.apply(op(kind, **FIELDS[kind]))
    assert led.blocks == before


def test_a_frozen_block_cannot_be_frozen_again_and_unfreeze_restores() -> None:
    led = ledger_with("held")
    led.apply(op("freeze", reason="audit"))
    with pytest.raises(LedgerError):
        led.apply(op("freeze", reason="again"))
    with pytest.raises(LedgerError):
        led.apply(op("transfer", to=2))
    [b] = led.apply(op("unfreeze"))
    assert (b.status, b.before_freeze) == ("held", None)
    [b] = led.apply(op("transfer", to=2))
    assert b.account == 2


def test_missing_fields_are_refused() -> None:
    for kind, fields in FIELDS.items():
        for name in fields:
            if name == "reason" and kind == "reject_transfer":
                continue  # the reason of a rejection is optional
            led = ledger_with(sorted(ALLOWED[kind])[0])
            partial = {k: v for k, v in fields.items() if k != name}
            with pytest.raises(LedgerError) as exc:
                led.apply(op(kind, **partial))
            assert exc.value.field == name, (kind, name)


def test_transfer_to_the_holder_itself_is_refused() -> None:
    led = ledger_with("held")
    with pytest.raises(LedgerError, match="already in account 1"):
        led.apply(op("transfer", to=1))


# ------------------------------------------------------------------------------ splits
def test_split_in_the_middle() -> None:
    led = ledger_with("held")  # [11, 20]
    left, right = led.apply(op("split", at_serial=15))
    assert (left.start, left.end, left.count) == (11, 14, 4)
    assert (right.start, right.end, right.count) == (15, 20, 6)
    assert set(led.blocks) == {("CSINK", 11), ("CSINK", 15)}
    assert left.account == right.account == 1 and left.status == right.status == "held"


@pytest.mark.parametrize(
    ("at", "pieces"),
    [
        (12, [(11, 11), (12, 20)]),  # the first serial on its own
        (20, [(11, 19), (20, 20)]),  # the last serial on its own
    ],
)
def test_split_at_the_edges(at: int, pieces: list[tuple[int, int]]) -> None:
    led = ledger_with("buffer")
    out = led.apply(op("split", at_serial=at))
    assert [(b.start, b.end) for b in out] == pieces
    assert sum(b.count for b in out) == 10


@pytest.mark.parametrize("at", [11, 10, 21, 0, -5, 1000])
def test_split_outside_the_block_is_refused(at: int) -> None:
    led = ledger_with("held")
    before = copy.deepcopy(led.blocks)
    with pytest.raises(LedgerError) as exc:
        led.apply(op("split", at_serial=at))
    assert exc.value.field == "at_serial"
    assert "12-20" in str(exc.value)  # the cuts that would be valid
    assert led.blocks == before


def test_a_one_serial_block_cannot_be_split() -> None:
    led = ledger_with("held", 7, 7)
    with pytest.raises(LedgerError):
        led.apply(op("split", 7, 7, at_serial=7))
    with pytest.raises(LedgerError):
        led.apply(op("split", 7, 7, at_serial=8))


@pytest.mark.parametrize(("start", "end"), [(11, 15), (12, 20), (11, 21), (10, 20), (1, 5)])
def test_an_operation_must_name_an_exact_block(start: int, end: int) -> None:
    led = ledger_with("held")
    with pytest.raises(LedgerError, match="exact range"):
        led.apply(op("transfer", start, end, to=2))


# ------------------------------------------------------------------------------ issuance
def issuing_ledger(count: int = 1000, buffer_pct: float = 10, share_pct: float = 2) -> Ledger:
    """Holder 1, buffer 2, proceeds 3; a CSINK policy; verification V1 of ``count`` serials."""
    led = Ledger()
    for i, kind in ((1, "holding"), (2, "buffer"), (3, "proceeds")):
        led.apply({"kind": "open_account", "account": i, "account_kind": kind, "name": kind})
    led.apply(
        {
            "kind": "policy",
            "unit_type": "CSINK",
            "buffer": {"account": 2, "pct": buffer_pct},
            "share": {"account": 3, "pct": share_pct},
        }
    )
    led.apply(verification("V1", count))
    return led


def verification(vid: str, count: int, unit_type: str = "CSINK") -> dict[str, Any]:
    return {
        "kind": "verify_outcome",
        "verification": vid,
        "unit_type": unit_type,
        "project_id": "P-HN-01",
        "vintage": 2026,
        "region_code": "430524",
        "count": count,
        "evaluator": "eval",
        "report_sha256": "ab" * 32,
    }


def issue_event(
    start: int, count: int, buffer: tuple[float, int] | None, share: tuple[float, int] | None
) -> dict[str, Any]:
    e: dict[str, Any] = {
        "kind": "issue",
        "verification": "V1",
        "unit_type": "CSINK",
        "account": 1,
        "count": count,
        "start": start,
        "end": start + count - 1,
        "attrs": {"methodology": "CCER-14-001"},
    }
    if buffer is not None:
        e["buffer"] = {"account": 2, "pct": buffer[0], "count": buffer[1]}
    if share is not None:
        e["share"] = {"account": 3, "pct": share[0], "count": share[1]}
    return e


def test_issue_1000_at_10_and_2_percent_gives_880_100_20() -> None:
    led = issuing_ledger()
    out = led.apply(issue_event(1, 1000, (10, 100), (2, 20)))
    assert [(b.start, b.end, b.count, b.account, b.status) for b in out] == [
        (1, 880, 880, 1, "held"),
        (881, 980, 100, 2, "buffer"),
        (981, 1000, 20, 3, "held"),
    ]
    assert all(b.issued_by == "V1" and b.project_id == "P-HN-01" for b in out)
    assert led.next_serial["CSINK"] == 1001
    assert led.issued["V1"] == 1000
    assert led.totals() == {("CSINK", "held"): 900, ("CSINK", "buffer"): 100}


@pytest.mark.parametrize(
    ("count", "buffer_n", "share_n", "holder_n"),
    [
        # 999 × 10 % = 99.9 → 99; 999 × 2 % = 19.98 → 19; holder 999 − 99 − 19 = 881
        (999, 99, 19, 881),
        # 49 × 10 % = 4.9 → 4; 49 × 2 % = 0.98 → 0 (no share block); holder 45
        (49, 4, 0, 45),
        # 9 × 10 % = 0.9 → 0; 9 × 2 % = 0.18 → 0; all 9 to the holder
        (9, 0, 0, 9),
        # 50 × 10 % = 5 exactly; 50 × 2 % = 1 exactly; holder 44
        (50, 5, 1, 44),
    ],
)
def test_buffer_and_share_round_down(
    count: int, buffer_n: int, share_n: int, holder_n: int
) -> None:
    led = issuing_ledger(count)
    out = led.apply(issue_event(1, count, (10, buffer_n), (2, share_n)))
    assert [b.count for b in out] == [n for n in (holder_n, buffer_n, share_n) if n]
    assert out[0].start == 1 and out[-1].end == count
    assert [b.status for b in out] == [
        s for s, n in (("held", 1), ("buffer", buffer_n), ("held", share_n)) if n
    ]


def test_share_count_by_hand() -> None:
    assert share_count(1000, 10) == 100
    assert share_count(1000, 2) == 20
    assert share_count(1000, 7.5) == 75  # exact decimal percent: 1000 × 3/40
    assert share_count(333, 33.3) == 110  # 110.889 → 110
    assert share_count(1, 99.9) == 0
    assert share_count(10**12, 0.1) == 10**9
    for bad in (-1, 100, 150, float("nan"), float("inf")):
        with pytest.raises(LedgerError):
            share_count(10, bad)


@pytest.mark.parametrize(
    ("buffer", "share"),
    [
        ((10, 99), (2, 20)),  # buffer count off by one
        ((10, 100), (2, 21)),
        ((10, 100), None),  # share omitted while the policy has one
        ((11, 110), (2, 20)),  # percent not the policy's
    ],
)
def test_issuance_must_carry_the_policy_split(buffer: Any, share: Any) -> None:
    led = issuing_ledger()
    with pytest.raises(LedgerError):
        led.apply(issue_event(1, 1000, buffer, share))
    assert led.blocks == {} and led.issued["V1"] == 0 and "CSINK" not in led.next_serial


def test_issuance_start_end_and_count_must_follow_the_counter() -> None:
    led = issuing_ledger()
    led.apply(issue_event(1, 500, (10, 50), (2, 10)))
    assert led.next_serial["CSINK"] == 501
    for start in (1, 500, 502):
        with pytest.raises(LedgerError) as exc:
            led.apply(issue_event(start, 100, (10, 10), (2, 2)))
        assert exc.value.field == "start" and "501-600" in str(exc.value)
    bad_end = issue_event(501, 100, (10, 10), (2, 2))
    bad_end["end"] = 601
    with pytest.raises(LedgerError):
        led.apply(bad_end)
    out = led.apply(issue_event(501, 100, (10, 10), (2, 2)))
    assert (out[0].start, out[-1].end) == (501, 600)


def test_issuance_never_exceeds_the_verification() -> None:
    led = issuing_ledger(1000)
    led.apply(issue_event(1, 600, (10, 60), (2, 12)))
    with pytest.raises(LedgerError, match="leaves 400"):
        led.apply(issue_event(601, 401, (10, 40), (2, 8)))
    led.apply(issue_event(601, 400, (10, 40), (2, 8)))
    assert led.issued["V1"] == 1000
    with pytest.raises(LedgerError, match="leaves 0"):
        led.apply(issue_event(1001, 1, (10, 0), (2, 0)))
    for n in (0, -3):
        with pytest.raises(LedgerError):
            led.apply(issue_event(1001, n, (10, 0), (2, 0)))


def test_issuance_needs_a_verified_outcome_of_its_type_and_the_attrs() -> None:
    led = issuing_ledger()
    e = issue_event(1, 10, (10, 1), (2, 0))
    with pytest.raises(LedgerError, match="only from a verified outcome"):
        led.apply({**e, "verification": "NOPE"})
    with pytest.raises(LedgerError, match="is of CSINK"):
        led.apply({**e, "unit_type": "CLQ"})
    with pytest.raises(LedgerError, match=r"attrs\.methodology"):
        led.apply({**e, "attrs": {}})
    with pytest.raises(LedgerError, match="already recorded"):
        led.apply(verification("V1", 5))
    assert led.blocks == {}


def test_serials_are_counted_per_unit_type() -> None:
    led = Ledger()
    led.apply({"kind": "open_account", "account": 1, "account_kind": "holding", "name": "h"})
    led.apply(verification("V-C", 30))
    led.apply({**verification("V-L", 250, "CLQ"), "project_id": "Q-1"})
    e = {**issue_event(1, 30, None, None), "verification": "V-C"}
    led.apply(e)
    led.apply(
        {**e, "verification": "V-L", "unit_type": "CLQ", "count": 250, "end": 250,
         "attrs": {"grade": "A"}}
    )  # fmt: skip
    assert led.next_serial == {"CSINK": 31, "CLQ": 251}
    assert led.totals() == {("CSINK", "held"): 30, ("CLQ", "held"): 250}


# ------------------------------------------------------------------------------ accounts
def test_unknown_accounts_are_refused() -> None:
    led = ledger_with("held")
    with pytest.raises(LedgerError) as exc:
        led.apply(op("transfer", to=99))
    assert exc.value.field == "to" and "99" in str(exc.value)
    with pytest.raises(LedgerError) as exc:
        led.apply(op("pledge", lender=42, pledge="P"))
    assert exc.value.field == "lender"
    with pytest.raises(LedgerError):
        led.apply(op("transfer", to="2"))  # an id is an integer
    assert led.blocks[("CSINK", 11)].status == "held"

    led = issuing_ledger()
    with pytest.raises(LedgerError, match="no account 7"):
        led.apply({**issue_event(1, 1000, (10, 100), (2, 20)), "account": 7})
    assert led.blocks == {}
    with pytest.raises(LedgerError):
        led.apply({"kind": "policy", "unit_type": "CSINK", "buffer": {"account": 9, "pct": 5}})


def test_open_account_rules() -> None:
    led = Ledger()
    led.apply({"kind": "open_account", "account": 1, "account_kind": "holding", "name": "A"})
    for bad in (
        {"account": 1, "account_kind": "holding", "name": "again"},
        {"account": 0, "account_kind": "holding", "name": "zero"},
        {"account": 2, "account_kind": "piggybank", "name": "B"},
        {"account": 2, "account_kind": "holding", "name": "  "},
    ):
        with pytest.raises(LedgerError):
            led.apply({"kind": "open_account", **bad})
    assert list(led.accounts) == [1]
    with pytest.raises(LedgerError, match="unknown event kind"):
        led.apply({"kind": "mint"})


# ------------------------------------------------------------------------------ serial ids
def test_serial_id_format_and_parse() -> None:
    b = Block("CLQ", 1001, 1250, 1, "held", "QS-M09-A", 2025, "431381")
    text = serial_id(b)
    assert text == "CN-CLQ-431381-QS-M09-A-2025-1001-1250"
    assert serial_id(b.as_row()) == text
    assert parse_serial_id(text) == ("CLQ", 1001, 1250)
    assert parse_serial_id("  CN-PDR-430000-X-2024-7-7\n") == ("PDR", 7, 7)


@pytest.mark.parametrize(
    "text",
    [
        "US-CSINK-430524-P-2026-1-5",  # not CN
        "CN-GOLD-430524-P-2026-1-5",  # unknown unit type
        "CN-CSINK-430524-P-2026-5-1",  # start after end
        "CN-CSINK-430524-P-2026-0-5",  # serials start at 1
        "CN-CSINK-430524-P-2026-a-5",
        "CN-CSINK-1-5",  # too few parts
        "",
    ],
)
def test_parse_serial_id_refuses(text: str) -> None:
    with pytest.raises(LedgerError) as exc:
        parse_serial_id(text)
    assert exc.value.field == "serial"


def test_unit_amounts() -> None:
    clq = UNIT_TYPES["CLQ"]  # 0.01 mu a serial
    assert clq.count(12.35) == 1235
    assert clq.amount(1235) == 12.35
    assert UNIT_TYPES["CSINK"].count(1000) == 1000
    for bad in (12.345, 0, -1):
        with pytest.raises(LedgerError):
            clq.count(bad)


# ------------------------------------------------------------------------------ encoding
def test_encode_is_canonical_and_decode_round_trips() -> None:
    e = {"kind": "retire", "purpose": "碳中和", "start": 3, "end": 4, "b": [1, {"z": 1, "a": 2}]}
    raw = encode(e)
    assert raw == (
        '{"b":[1,{"a":2,"z":1}],"end":4,"kind":"retire","purpose":"碳中和","start":3}'.encode()
    )
    assert decode(raw) == e
    assert decode(raw.decode("utf-8")) == e
    assert encode(decode(raw)) == raw


@pytest.mark.parametrize(
    "raw",
    [
        b'{"kind": "split"}',  # a space
        b'{"start":1,"kind":"split"}',  # keys out of order
        b'{"purpose":"\\u78b3"}',  # ASCII-escaped non-ASCII
        b'{"kind":"split"}\n',  # trailing newline
        b'{"kind":"split","kind":"split"}',  # a duplicate key
        b'{"n":1.0}',  # 1.0 re-encodes as 1.0 but 1E0 would not: see the next
        b'{"n":1E0}',
        b"[1,2]",  # not an object
        b"\xff\xfe",  # not UTF-8
        b'{"kind":',  # not JSON
    ],
)
def test_decode_refuses_non_canonical_bytes(raw: bytes) -> None:
    if raw == b'{"n":1.0}':
        assert decode(raw) == {"n": 1.0}  # canonical as it stands
        return
    with pytest.raises(LedgerError):
        decode(raw)


def test_encode_refuses_nan() -> None:
    with pytest.raises(ValueError):
        encode({"x": float("nan")})


def test_replay_equals_applying_one_by_one() -> None:
    events = [
        {"kind": "open_account", "account": i, "account_kind": k, "name": k}
        for i, k in ((1, "holding"), (2, "buffer"), (3, "proceeds"))
    ]
    events.append(
        {
            "kind": "policy",
            "unit_type": "CSINK",
            "buffer": {"account": 2, "pct": 10},
            "share": {"account": 3, "pct": 2},
        }
    )
    events.append(verification("V1", 1000))
    events += [
        issue_event(1, 1000, (10, 100), (2, 20)),
        op("split", 1, 880, at_serial=401),
        op("transfer", 401, 880, to=3),
        op("retire", 1, 400, beneficiary="B", purpose="P"),
    ]
    led = replay(json.loads(json.dumps(events)))
    assert led.totals() == {
        ("CSINK", "retired"): 400,
        ("CSINK", "held"): 500,  # 480 moved to account 3 and its own share of 20
        ("CSINK", "buffer"): 100,
    }
    assert led.blocks[("CSINK", 401)].account == 3
    with pytest.raises(LedgerError):
        replay([*events, op("transfer", 1, 400, to=3)])

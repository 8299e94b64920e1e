"""The registry's rules: unit types, serial blocks, accounts and the events that change them.

Pure: :class:`Ledger` is the registry's state in memory and :meth:`Ledger.apply` the one place
where an event changes it. The store (:mod:`restora.store.registry`) applies each event to the
rows it locked with the same functions, and ``restora registry verify`` replays the whole log
with :meth:`Ledger.apply` and compares the result with the stored state, so the rules that
write the state are the rules that check it.

Units live in **serial blocks**: a contiguous range ``[start, end]`` of serial numbers of one
unit type, held by one account in one status. Serial numbers are allocated per unit type from
1 upwards at issuance and never reused, so no serial number is ever in two blocks. An
operation names an exact block; an operation on part of a block is preceded by ``split``
events, in the same transaction, that cut the block at the part's edges.

Events (``kind``; the block fields are ``unit_type``, ``start``, ``end``):

=================  ========================  =============================================
kind               from status               to
=================  ========================  =============================================
open_account       —                         a new account (``account``, ``kind``, ...)
verify_outcome     —                         a verified outcome a later issuance draws on
issue              —                         new blocks: held (+ buffer, share of proceeds)
split              held, buffer              two blocks cut at ``at_serial``
transfer           held                      held by ``to``
initiate_transfer  held                      pending_transfer to ``to``
accept_transfer    pending_transfer          held by the pending recipient
reject_transfer    pending_transfer          held (by the sender)
list               held                      listed (``listing`` names the sale)
delist             listed                    held
settle             listed                    held by ``to`` (a trade: ``price_fen``)
retire             held                      retired (``beneficiary``, ``purpose``), final
cancel             held, buffer              cancelled (``reason``), final
freeze             any but final             frozen (the status before is kept)
unfreeze           frozen                    the status before the freeze
pledge             held                      pledged to ``lender``
release_pledge     pledged                   held
enforce_pledge     pledged                   held by the lender
sign_off           —                         an evaluator's decision on a milestone
=================  ========================  =============================================

A ``sign_off`` moves no unit: it records, in the log, an evaluator's decision on a project's
milestone (``milestone``, ``project_id``, ``indicator``, ``value``, ``target``, ``decision``
accepted or rejected, ``evaluator``, the SHA-256 of the evidence and of the report) and what
the decision settles (the bond ``tranche`` released, the ``verification`` it records). A
milestone is accepted at most once; a rejected one may be signed again.

Retired and cancelled are final: nothing retired or cancelled moves, splits or changes again.

The unit fields follow the Climate Action Data Trust (CAD Trust) data model where it applies:
owner (the account), jurisdiction (``region_code``), unit block start and end, count,
vintage, unit type, status and status reason, registry link (:func:`serial_id`),
corresponding-adjustment declaration and status (``attrs``).

References
----------
Climate Action Data Trust (2023), *CAD Trust data model* v2 (units table).
UNDP, *Carbon Registry* (open source national carbon registry): serial blocks, statuses,
public transfer and retirement records.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from restora.errors import RestoraError


class LedgerError(RestoraError):
    """An event the registry's rules refuse (the API answers 409); nothing was written."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class UnitType:
    """A kind of unit: its code (in the serial id), names, measure and serial unit."""

    code: str
    name_en: str
    name_zh: str
    measure: str
    serial_unit: Fraction
    """Quantity of ``measure`` one serial number stands for."""
    attrs: tuple[str, ...] = ()
    """Attributes an issuance must give (``attrs``), beside project, vintage and region."""

    def amount(self, count: int) -> float:
        """The quantity [``measure``] of ``count`` serial numbers."""
        return float(self.serial_unit * count)

    def count(self, amount: float) -> int:
        """Serial numbers for a quantity [``measure``]; refuses a quantity finer than a serial.

        >>> UNIT_TYPES["CLQ"].count(12.35)
        1235
        """
        n = Fraction(str(amount)) / self.serial_unit
        if n.denominator != 1 or n <= 0:
            raise LedgerError(
                f"{amount} {self.measure} is not a positive whole number of serial units of "
                f"{self.serial_unit} {self.measure}",
                field="amount",
            )
        return int(n)


#: The unit types. Quotas and land rights are counted in 0.01 亩 (quota certificates give
#: areas to two decimals), carbon-sink credits in t CO2e (as CCER), pollutant-discharge rights
#: in kg of the pollutant per year, surplus earth and stone in m³.
UNIT_TYPES: dict[str, UnitType] = {
    u.code: u
    for u in (
        UnitType(
            "CSINK",
            "carbon-sink credit",
            "碳汇",
            "t CO2e",
            Fraction(1),
            ("methodology",),
        ),
        UnitType(
            "CLQ",
            "construction-land quota",
            "建设用地指标",
            "mu",
            Fraction(1, 100),
            ("grade",),
        ),
        UnitType(
            "FSQ",
            "farmland supplement quota",
            "补充耕地指标",
            "mu",
            Fraction(1, 100),
            ("grade",),
        ),
        UnitType(
            "PDR",
            "pollutant-discharge right",
            "排污权",
            "kg/yr",
            Fraction(1),
            ("pollutant",),
        ),
        UnitType(
            "EST",
            "surplus earth-and-stone lot",
            "剩余土石料",
            "m**3",
            Fraction(1),
            ("grade", "mine_id"),
        ),
        UnitType(
            "LUR",
            "restored land use right",
            "修复土地使用权",
            "mu",
            Fraction(1, 100),
            ("use",),
        ),
    )
}

ACCOUNT_KINDS = ("holding", "retirement", "buffer", "government", "proceeds", "restoration")
"""Holding (an organisation's units), retirement (where retired units are recorded), buffer
(the pool against reversals), government (a bureau's), proceeds (the share of proceeds) and
restoration (a mine's restoration account, which receives earth-and-stone proceeds)."""

STATUSES = (
    "held",
    "listed",
    "pending_transfer",
    "retired",
    "cancelled",
    "buffer",
    "frozen",
    "pledged",
)
FINAL = frozenset({"retired", "cancelled"})

# kind -> (statuses it applies to, status after; None keeps or restores the status)
_MOVES: dict[str, tuple[frozenset[str], str | None]] = {
    "transfer": (frozenset({"held"}), "held"),
    "initiate_transfer": (frozenset({"held"}), "pending_transfer"),
    "accept_transfer": (frozenset({"pending_transfer"}), "held"),
    "reject_transfer": (frozenset({"pending_transfer"}), "held"),
    "list": (frozenset({"held"}), "listed"),
    "delist": (frozenset({"listed"}), "held"),
    "settle": (frozenset({"listed"}), "held"),
    "retire": (frozenset({"held"}), "retired"),
    "cancel": (frozenset({"held", "buffer"}), "cancelled"),
    "freeze": (frozenset(STATUSES) - FINAL - {"frozen"}, "frozen"),
    "unfreeze": (frozenset({"frozen"}), None),
    "pledge": (frozenset({"held"}), "pledged"),
    "release_pledge": (frozenset({"pledged"}), "held"),
    "enforce_pledge": (frozenset({"pledged"}), "held"),
}
BLOCK_KINDS = frozenset(_MOVES) | {"split"}
"""Event kinds that act on one existing block."""
KINDS = BLOCK_KINDS | {
    "open_account",
    "policy",
    "verify_outcome",
    "issue",
    "deposit",
    "withdraw",
    "obligation",
    "sign_off",
}
SIGN_OFF_DECISIONS = ("accepted", "rejected")
# what each kind must carry beside the block fields
_NEEDS: dict[str, tuple[str, ...]] = {
    "transfer": ("to",),
    "initiate_transfer": ("to",),
    "list": ("listing",),
    "settle": ("to", "price_fen", "trade", "payee"),
    "retire": ("beneficiary", "purpose"),
    "cancel": ("reason",),
    "freeze": ("reason",),
    "pledge": ("lender", "pledge"),
    "split": ("at_serial",),
}


@dataclass(frozen=True)
class Account:
    """An account of the registry."""

    id: int
    kind: str
    name: str
    org_id: int | None = None
    region_code: str | None = None
    mine_id: str | None = None


@dataclass(frozen=True)
class Block:
    """A serial block ``[start, end]`` of one unit type in one account and status."""

    unit_type: str
    start: int
    end: int
    account: int
    status: str
    project_id: str
    vintage: int
    region_code: str
    attrs: Mapping[str, Any] = field(default_factory=dict)
    status_reason: str | None = None
    pending_to: int | None = None
    lender: int | None = None
    before_freeze: str | None = None
    retirement: Mapping[str, Any] | None = None
    issued_by: str | None = None
    """The verification id the block was issued from."""

    @property
    def count(self) -> int:
        """Serial numbers in the block."""
        return self.end - self.start + 1

    @property
    def key(self) -> tuple[str, int]:
        return (self.unit_type, self.start)

    def as_row(self) -> dict[str, Any]:
        """The block as a plain dict (the store's row, the API's body)."""
        return {
            "unit_type": self.unit_type,
            "start": self.start,
            "end": self.end,
            "account": self.account,
            "status": self.status,
            "project_id": self.project_id,
            "vintage": self.vintage,
            "region_code": self.region_code,
            "attrs": dict(self.attrs),
            "status_reason": self.status_reason,
            "pending_to": self.pending_to,
            "lender": self.lender,
            "before_freeze": self.before_freeze,
            "retirement": dict(self.retirement) if self.retirement is not None else None,
            "issued_by": self.issued_by,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Block:
        names = cls.__dataclass_fields__
        return cls(**{k: row[k] for k in names if k in row})


def replace(b: Block, **changes: Any) -> Block:
    """``dataclasses.replace`` for a block, without its per-call field introspection (verify
    applies a million events through here; this is several times faster). Only field names."""
    unknown = set(changes) - _BLOCK_FIELDS
    if unknown:
        raise TypeError(f"Block has no field {sorted(unknown)[0]!r}")
    new = object.__new__(Block)
    new.__dict__.update(b.__dict__)
    new.__dict__.update(changes)
    return new


_BLOCK_FIELDS = frozenset(Block.__dataclass_fields__)


def serial_id(block: Block | Mapping[str, Any]) -> str:
    """The block's readable identifier: ``CN-<type>-<region>-<project>-<vintage>-<start>-<end>``.

    As national carbon registries print serial numbers: the unit type, jurisdiction, project,
    vintage and block range in one string.

    >>> b = Block("CSINK", 1, 500, 1, "held", "P-HN-01", 2026, "430524")
    >>> serial_id(b)
    'CN-CSINK-430524-P-HN-01-2026-1-500'
    """
    r = block.as_row() if isinstance(block, Block) else block
    return (
        f"CN-{r['unit_type']}-{r['region_code']}-{r['project_id']}-{r['vintage']}-"
        f"{r['start']}-{r['end']}"
    )


def parse_serial_id(text: str) -> tuple[str, int, int]:
    """``(unit_type, start, end)`` of a serial id (the project may contain hyphens).

    >>> parse_serial_id("CN-CSINK-430524-P-HN-01-2026-1-500")
    ('CSINK', 1, 500)
    """
    parts = text.strip().split("-")
    try:
        if len(parts) < 7 or parts[0] != "CN" or parts[1] not in UNIT_TYPES:
            raise ValueError
        start, end = int(parts[-2]), int(parts[-1])
    except ValueError:
        raise LedgerError(
            f"{text!r} is not a serial id (CN-<type>-<region>-<project>-<vintage>-<start>-<end>)",
            field="serial",
        ) from None
    if not 1 <= start <= end:
        raise LedgerError(f"{text!r}: the block range {start}-{end} is empty", field="serial")
    return parts[1], start, end


def encode(event: Mapping[str, Any]) -> bytes:
    """The canonical bytes of an event: the leaf data of the Merkle tree.

    JSON with sorted keys, no spaces, UTF-8 (not ASCII-escaped); numbers as written. Decoding
    and encoding again gives the same bytes, so anyone can recompute the leaf hash.

    >>> encode({"kind": "split", "at_serial": 11, "unit_type": "CSINK"})
    b'{"at_serial":11,"kind":"split","unit_type":"CSINK"}'
    """
    return json.dumps(
        dict(event), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def decode(data: bytes | str) -> dict[str, Any]:
    """An event from its canonical bytes; refuses bytes that are not canonical."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        event = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LedgerError(f"an event is not JSON: {exc}") from None
    if not isinstance(event, dict) or encode(event) != raw:
        raise LedgerError("an event's bytes are not its canonical encoding")
    return event


def utc_text(at: dt.datetime) -> str:
    """An aware time as ISO 8601 UTC with microseconds (the events' clock)."""
    if at.tzinfo is None:
        raise LedgerError("event times must be aware (UTC)", field="at")
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def share_count(count: int, pct: float) -> int:
    """Serial numbers of ``count`` that a share of ``pct`` percent takes (rounded down).

    >>> share_count(1000, 2.0), share_count(99, 2.0), share_count(50, 0)
    (20, 1, 0)
    """
    if not 0 <= pct < 100 or not math.isfinite(pct):
        raise LedgerError(f"a share of {pct} % is not between 0 and 100", field="share")
    return int(Fraction(str(pct)) * count // 100)


@dataclass
class Ledger:
    """The registry's state: accounts, verified outcomes, blocks and the next serial per type."""

    accounts: dict[int, Account] = field(default_factory=dict)
    verifications: dict[str, dict[str, Any]] = field(default_factory=dict)
    issued: dict[str, int] = field(default_factory=dict)
    """Serial numbers issued so far from each verification."""
    blocks: dict[tuple[str, int], Block] = field(default_factory=dict)
    next_serial: dict[str, int] = field(default_factory=dict)
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per unit type: the buffer and share-of-proceeds accounts and percentages of issuance."""
    cash: dict[int, int] = field(default_factory=dict)
    """Money of each account on the trading platform [fen]."""
    obligations: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Offset obligations by id (:mod:`restora.registry.offsets`)."""
    offset: dict[str, int] = field(default_factory=dict)
    """Serial numbers retired against each obligation."""
    signoffs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The last sign-off of each milestone (``decision``, ``value``, ``evaluator`` …)."""

    # ---------------------------------------------------------------- reading
    def block(self, unit_type: str, start: int, end: int) -> Block:
        """The block that is exactly ``[start, end]``."""
        b = self.blocks.get((unit_type, start))
        if b is None or b.end != end:
            raise LedgerError(
                f"no block {unit_type} {start}-{end} in the registry (a block must be named "
                "by its exact range; split it first)",
                field="serial",
            )
        return b

    def totals(self) -> dict[tuple[str, str], int]:
        """Serial numbers per (unit type, status)."""
        out: dict[tuple[str, str], int] = {}
        for b in self.blocks.values():
            out[(b.unit_type, b.status)] = out.get((b.unit_type, b.status), 0) + b.count
        return out

    # ---------------------------------------------------------------- applying
    def apply(self, event: Mapping[str, Any]) -> list[Block]:
        """Apply one event; returns the blocks it wrote (after), or raises :class:`LedgerError`.

        The state is unchanged when the event is refused.
        """
        kind = event.get("kind")
        if kind not in KINDS:
            raise LedgerError(f"unknown event kind {kind!r}", field="kind")
        if kind == "open_account":
            self._open_account(event)
            return []
        if kind == "verify_outcome":
            self._verify_outcome(event)
            return []
        if kind == "policy":
            self._policy(event)
            return []
        if kind in ("deposit", "withdraw"):
            self._money(kind, event)
            return []
        if kind == "obligation":
            self._obligation(event)
            return []
        if kind == "sign_off":
            self._sign_off(event)
            return []
        if kind == "issue":
            return self._issue(event)
        for name in _NEEDS.get(kind, ()):
            if event.get(name) in (None, ""):
                raise LedgerError(f"a {kind} needs {name!r}", field=name)
        b = self.block(str(event.get("unit_type")), _int(event, "start"), _int(event, "end"))
        if kind == "split":
            return self._split(b, _int(event, "at_serial"))
        allowed, _after = _MOVES[kind]
        if b.status not in allowed:
            raise LedgerError(
                f"block {serial_id(b)} is {b.status}: a {kind} applies to "
                f"{', '.join(sorted(allowed))} blocks",
                field="status",
            )
        new = self._move(kind, b, event)
        self.blocks[new.key] = new
        return [new]

    def _account(self, event: Mapping[str, Any], name: str) -> int:
        acc = event.get(name)
        if not isinstance(acc, int) or acc not in self.accounts:
            raise LedgerError(f"{name}: no account {acc!r} in the registry", field=name)
        return acc

    def _move(self, kind: str, b: Block, e: Mapping[str, Any]) -> Block:
        reason = e.get("reason")
        if kind in ("transfer", "initiate_transfer", "settle"):
            to = self._account(e, "to")
            if to == b.account:
                raise LedgerError(f"block {serial_id(b)} is already in account {to}", field="to")
            if kind == "initiate_transfer":
                return replace(b, status="pending_transfer", pending_to=to, status_reason=reason)
            if kind == "settle":
                self._pay(b, to, e)
                return replace(b, account=to, status="held", status_reason=f"trade {e['trade']}")
            return replace(b, account=to, status="held", status_reason=reason)
        if kind == "accept_transfer":
            assert b.pending_to is not None
            return replace(b, account=b.pending_to, status="held", pending_to=None)
        if kind == "reject_transfer":
            return replace(b, status="held", pending_to=None, status_reason=reason)
        if kind == "list":
            return replace(b, status="listed", status_reason=f"listing {e['listing']}")
        if kind == "delist":
            return replace(b, status="held", status_reason=reason)
        if kind == "retire":
            if e.get("obligation") is not None:
                self._offset_check(b, str(e["obligation"]))
            retirement = {
                "beneficiary": str(e["beneficiary"]),
                "purpose": str(e["purpose"]),
                "obligation": e.get("obligation"),
                "at": e.get("at"),
            }
            if e.get("obligation") is not None:
                ob = str(e["obligation"])
                self.offset[ob] = self.offset.get(ob, 0) + b.count
            return replace(b, status="retired", retirement=retirement, status_reason=reason)
        if kind == "cancel":
            return replace(b, status="cancelled", status_reason=str(reason))
        if kind == "freeze":
            return replace(b, status="frozen", before_freeze=b.status, status_reason=str(reason))
        if kind == "unfreeze":
            assert b.before_freeze is not None
            return replace(b, status=b.before_freeze, before_freeze=None, status_reason=reason)
        if kind == "pledge":
            lender = self._account(e, "lender")
            return replace(
                b, status="pledged", lender=lender, status_reason=f"pledge {e['pledge']}"
            )
        if kind == "release_pledge":
            return replace(b, status="held", lender=None, status_reason=reason)
        if kind == "enforce_pledge":
            assert b.lender is not None
            return replace(
                b, status="held", account=b.lender, lender=None, status_reason="pledge enforced"
            )
        raise AssertionError(kind)  # pragma: no cover - _MOVES and this function agree

    def _split(self, b: Block, at: int) -> list[Block]:
        if b.status not in ("held", "buffer", "listed"):
            raise LedgerError(
                f"block {serial_id(b)} is {b.status}: only held, listed or buffer blocks are split",
                field="status",
            )
        if not b.start < at <= b.end:
            raise LedgerError(
                f"serial {at} does not cut block {serial_id(b)} (it must be in "
                f"{b.start + 1}-{b.end})",
                field="at_serial",
            )
        left, right = replace(b, end=at - 1), replace(b, start=at)
        self.blocks[left.key] = left
        self.blocks[right.key] = right
        return [left, right]

    def _open_account(self, e: Mapping[str, Any]) -> None:
        acc = e.get("account")
        if not isinstance(acc, int) or acc < 1:
            raise LedgerError(f"account id {acc!r} is not a positive integer", field="account")
        if acc in self.accounts:
            raise LedgerError(f"account {acc} is already open", field="account")
        if e.get("account_kind") not in ACCOUNT_KINDS:
            raise LedgerError(
                f"account kind {e.get('account_kind')!r} is not one of {', '.join(ACCOUNT_KINDS)}",
                field="account_kind",
            )
        if not str(e.get("name") or "").strip():
            raise LedgerError("an account needs a name", field="name")
        self.accounts[acc] = Account(
            acc,
            str(e["account_kind"]),
            str(e["name"]),
            e.get("org_id"),
            e.get("region_code"),
            e.get("mine_id"),
        )

    def _money(self, kind: str, e: Mapping[str, Any]) -> None:
        acc = self._account(e, "account")
        amount = _int(e, "amount_fen")
        if amount <= 0:
            raise LedgerError(f"a {kind} needs a positive amount_fen", field="amount_fen")
        have = self.cash.get(acc, 0)
        if kind == "withdraw" and amount > have:
            raise LedgerError(
                f"account {acc} holds {have} fen; {amount} cannot be withdrawn",
                field="amount_fen",
            )
        self.cash[acc] = have + amount if kind == "deposit" else have - amount

    def _pay(self, b: Block, buyer: int, e: Mapping[str, Any]) -> None:
        """Move the price from the buyer's money to the payee's, for the block ``b``."""
        price = _int(e, "price_fen")
        if price < 0:
            raise LedgerError("a price cannot be negative", field="price_fen")
        payee = self._account(e, "payee")
        if b.unit_type == "EST":  # proceeds of earth and stone go to the mine's restoration
            acc = self.accounts[payee]
            if acc.kind != "restoration" or acc.mine_id != b.attrs.get("mine_id"):
                raise LedgerError(
                    f"proceeds of earth and stone of mine {b.attrs.get('mine_id')} go to that "
                    f"mine's restoration account, not account {payee}",
                    field="payee",
                )
        elif payee != b.account:
            raise LedgerError(
                f"the proceeds of block {serial_id(b)} go to its holder {b.account}",
                field="payee",
            )
        have = self.cash.get(buyer, 0)
        if price > have:
            raise LedgerError(
                f"buyer account {buyer} holds {have} fen, less than the price {price}",
                field="price_fen",
            )
        self.cash[buyer] = have - price
        self.cash[payee] = self.cash.get(payee, 0) + price

    def _obligation(self, e: Mapping[str, Any]) -> None:
        from restora.errors import InputError
        from restora.registry.offsets import validate_obligation

        ob = _as_obligation(e)
        if ob.obligation_id in self.obligations:
            raise LedgerError(f"obligation {ob.obligation_id} already exists", field="obligation")
        try:
            validate_obligation(ob)
        except InputError as exc:
            raise LedgerError(str(exc), field="obligation") from None
        self.obligations[ob.obligation_id] = {
            k: e.get(k)
            for k in ("obligation", "party", "region_code", "unit_type", "required", "due")
        } | {"eligible_regions": e.get("eligible_regions")}
        self.offset[ob.obligation_id] = 0

    def _offset_check(self, b: Block, obligation: str) -> None:
        from restora.registry.offsets import eligibility

        rec = self.obligations.get(obligation)
        if rec is None:
            raise LedgerError(f"no offset obligation {obligation!r}", field="obligation")
        reason = eligibility(_as_obligation(rec), b.unit_type, b.region_code)
        if reason is not None:
            raise LedgerError(reason, field="obligation")

    def _policy(self, e: Mapping[str, Any]) -> None:
        unit_type = e.get("unit_type")
        if unit_type not in UNIT_TYPES:
            raise LedgerError(f"unknown unit type {unit_type!r}", field="unit_type")
        policy: dict[str, Any] = {}
        for name in ("buffer", "share"):
            spec = e.get(name)
            if spec is None:
                continue
            if not isinstance(spec, dict):
                raise LedgerError(f"{name} must be an object", field=name)
            self._account(spec, "account")
            pct = spec.get("pct")
            if not isinstance(pct, int | float) or isinstance(pct, bool):
                raise LedgerError(f"{name}.pct must be a number", field=name)
            share_count(1, float(pct))  # range check
            policy[name] = {"account": spec["account"], "pct": pct}
        self.policies[str(unit_type)] = policy

    def _sign_off(self, e: Mapping[str, Any]) -> None:
        for name in ("milestone", "project_id", "indicator", "evaluator"):
            if not isinstance(e.get(name), str) or not e[name]:
                raise LedgerError(f"a sign-off needs {name!r}", field=name)
        decision = e.get("decision")
        if decision not in SIGN_OFF_DECISIONS:
            raise LedgerError(
                f"decision {decision!r} is not one of {', '.join(SIGN_OFF_DECISIONS)}",
                field="decision",
            )
        for name in ("evidence_sha256", "report_sha256"):
            digest = e.get(name)
            if not (
                isinstance(digest, str)
                and len(digest) == 64
                and all(c in "0123456789abcdef" for c in digest)
            ):
                raise LedgerError(f"{name} must be 64 lower-case hex digits", field=name)
        for name in ("value", "target"):
            x = e.get(name)
            if x is None and name == "value" and decision == "rejected":
                continue
            if not isinstance(x, int | float) or isinstance(x, bool) or not math.isfinite(x):
                raise LedgerError(f"a sign-off's {name} must be a number, not {x!r}", field=name)
        milestone = str(e["milestone"])
        last = self.signoffs.get(milestone)
        if last is not None and last["decision"] == "accepted":
            raise LedgerError(f"milestone {milestone} is already signed off", field="milestone")
        self.signoffs[milestone] = {
            k: e.get(k) for k in ("project_id", "indicator", "value", "decision", "evaluator")
        }

    def _verify_outcome(self, e: Mapping[str, Any]) -> None:
        vid = e.get("verification")
        if not isinstance(vid, str) or not vid:
            raise LedgerError("a verified outcome needs an id", field="verification")
        if vid in self.verifications:
            raise LedgerError(f"verification {vid} is already recorded", field="verification")
        unit_type = e.get("unit_type")
        if unit_type not in UNIT_TYPES:
            raise LedgerError(f"unknown unit type {unit_type!r}", field="unit_type")
        for name in ("project_id", "region_code", "evaluator", "report_sha256"):
            if not isinstance(e.get(name), str) or not e[name]:
                raise LedgerError(f"a verified outcome needs {name!r}", field=name)
        _int(e, "vintage")
        if _int(e, "count") < 1:
            raise LedgerError("a verified outcome needs a count ≥ 1", field="count")
        self.verifications[vid] = dict(e)
        self.issued[vid] = 0

    def _issue(self, e: Mapping[str, Any]) -> list[Block]:
        vid = e.get("verification")
        v = self.verifications.get(vid) if isinstance(vid, str) else None
        if v is None:
            raise LedgerError(
                f"no verified outcome {vid!r}: units are issued only from a verified outcome",
                field="verification",
            )
        unit_type = str(v["unit_type"])
        if e.get("unit_type") != unit_type:
            raise LedgerError(
                f"verification {vid} is of {unit_type}, not {e.get('unit_type')}",
                field="unit_type",
            )
        ut = UNIT_TYPES[unit_type]
        attrs = e.get("attrs") or {}
        if not isinstance(attrs, dict):
            raise LedgerError("attrs must be an object", field="attrs")
        for name in ut.attrs:
            if not attrs.get(name):
                raise LedgerError(f"a {ut.name_en} issuance needs attrs.{name}", field=name)
        count = _int(e, "count")
        left = int(v["count"]) - self.issued[str(vid)]
        if not 1 <= count <= left:
            raise LedgerError(
                f"verification {vid} leaves {left} serial numbers to issue; {count} asked",
                field="count",
            )
        start = self.next_serial.get(unit_type, 1)
        if _int(e, "start") != start or _int(e, "end") != start + count - 1:
            raise LedgerError(
                f"the next {unit_type} serials are {start}-{start + count - 1}, the issuance "
                f"says {e.get('start')}-{e.get('end')}",
                field="start",
            )
        # parts: (account, status, count) — the holder's block, then buffer, then share
        parts: list[tuple[int, str, int]] = []
        shares = 0
        policy = self.policies.get(unit_type, {})
        for name, status in (("buffer", "buffer"), ("share", "held")):
            spec = e.get(name)
            rule = policy.get(name)
            if spec is None and rule is None:
                continue
            if spec is None or rule is None or any(spec.get(k) != rule[k] for k in rule):
                raise LedgerError(
                    f"{name}: the issuance says {spec!r}, the {unit_type} policy {rule!r}",
                    field=name,
                )
            acc = self._account(spec, "account")
            n = share_count(count, float(spec.get("pct", -1)))
            if n != spec.get("count"):
                raise LedgerError(
                    f"{name}: {spec.get('pct')} % of {count} is {n} serial numbers, "
                    f"not {spec.get('count')}",
                    field=name,
                )
            if n:
                parts.append((acc, status, n))
            shares += n
        holder = self._account(e, "account")
        if shares >= count:
            raise LedgerError("buffer and share leave nothing to the holder", field="count")
        parts.insert(0, (holder, "held", count - shares))
        new: list[Block] = []
        s = start
        for acc, status, n in parts:
            new.append(
                Block(
                    unit_type,
                    s,
                    s + n - 1,
                    acc,
                    status,
                    str(v["project_id"]),
                    int(v["vintage"]),
                    str(v["region_code"]),
                    attrs,
                    issued_by=str(vid),
                )
            )
            s += n
        for b in new:
            self.blocks[b.key] = b
        self.next_serial[unit_type] = s
        self.issued[str(vid)] += count
        return new


def _int(event: Mapping[str, Any], name: str) -> int:
    value = event.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise LedgerError(f"{name} must be an integer, not {value!r}", field=name)
    return value


def _as_obligation(e: Mapping[str, Any]) -> Any:
    from restora.registry.offsets import Obligation

    try:
        due = dt.date.fromisoformat(str(e.get("due")))
    except ValueError:
        raise LedgerError(f"due {e.get('due')!r} is not a date", field="due") from None
    regions = e.get("eligible_regions")
    return Obligation(
        obligation_id=str(e.get("obligation") or ""),
        party=str(e.get("party") or ""),
        region_code=str(e.get("region_code") or ""),
        unit_type=str(e.get("unit_type") or ""),
        required=e.get("required"),  # type: ignore[arg-type]
        due=due,
        eligible_regions=None if regions is None else tuple(regions),
    )


def replay(events: Iterable[Mapping[str, Any]]) -> Ledger:
    """The state the events build, applied in order (raises at the first refused event)."""
    ledger = Ledger()
    for e in events:
        ledger.apply(e)
    return ledger

"""``restora registry``: the tamper-evident ledger of credits and quotas (docs/registry.md).

``restora registry verify-proof FILE.json`` checks one RFC 9162 inclusion or consistency proof
in the format of the transparency-dev/merkle test vectors (docs/registry.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from restora.cli.output import (
    DbOption,
    Format,
    FormatOption,
    check_interrupt,
    emit,
    handled,
    progress_wanted,
)
from restora.errors import InputError, RestoraError

app = typer.Typer(no_args_is_help=True)


@app.command("verify-proof")
def verify_proof_command(
    file: str = typer.Argument(..., help="Proof file (JSON, transparency-dev/merkle format)."),
    fmt: Format = FormatOption,
) -> None:
    """Check one RFC 9162 inclusion or consistency proof, offline.

    Inclusion files have leafIdx, treeSize, root, leafHash, proof; consistency files have
    size1, size2, root1, root2, proof (hashes in base64). Exit code 0: the proof verifies;
    1: it does not; 2: the file cannot be read or is malformed.
    """
    from restora.cli.output import read_input_json
    from restora.registry.vectors import check_vector

    with handled():
        data, name = read_input_json(file)
        result = check_vector(data, name)
    emit(
        {
            "file": name,
            "kind": result.kind,
            "verifies": result.verifies,
            "desc": result.desc,
        },
        fmt,
    )
    if not result.verifies:
        raise typer.Exit(1)


# ------------------------------------------------------------------------------ the ledger
def _store(db: str | None) -> Any:
    from restora.store import Store, default_url

    return Store(db or default_url())


def _now() -> Any:
    import datetime as dt

    return dt.datetime.now(dt.UTC)


def _key(path: str | None) -> Any:
    from restora.registry.signing import configured_key, load_private_key

    return load_private_key(path) if path else configured_key()


key_app = typer.Typer(no_args_is_help=True, help="The registry's Ed25519 signing key.")
app.add_typer(key_app, name="key")


@key_app.command("generate")
def key_generate_command(
    path: Path = typer.Argument(
        ..., help="Where to write the private key (PEM); never overwritten."
    ),
    fmt: Format = FormatOption,
) -> None:
    """Generate the registry's signing key; prints the public key to publish.

    Keep the private key outside the database (RESTORA_REGISTRY_KEY names it): whoever can
    write the database then still cannot sign a rewritten history.
    """
    import base64

    from restora.registry.signing import generate_key, key_id

    with handled():
        public = generate_key(path)
    emit(
        {
            "private_key": str(path),
            "public_key": base64.b64encode(public).decode(),
            "key_id": key_id(public),
        },
        fmt,
    )


@app.command("integrate")
def integrate_command(
    db: str | None = DbOption,
    key: str | None = typer.Option(
        None, "--key", help="Private key (PEM); default RESTORA_REGISTRY_KEY."
    ),
    fmt: Format = FormatOption,
) -> None:
    """Sequence pending events into the Merkle log and sign the new tree head."""
    from restora.store import registry as reg

    with handled():
        signer = _key(key)
        if signer is None:
            raise InputError(
                "no signing key: give --key or set RESTORA_REGISTRY_KEY", field="--key"
            )
        with _store(db) as store:
            out = reg.integrate_all(store, at=_now(), key=signer)
    emit(out["head"].as_json(), fmt)


@app.command("head")
def head_command(
    db: str | None = DbOption,
    size: int | None = typer.Option(None, "--size", help="The head of this size (default latest)."),
    fmt: Format = FormatOption,
) -> None:
    """Print the latest signed tree head (save it to check proofs and consistency later)."""
    from restora.store import registry as reg

    with handled(), _store(db) as store:
        head = reg.latest_head(store, size)
        if head is None:
            raise RestoraError("the registry has no signed tree head of that size")
    emit(head.as_json(), fmt)


@app.command("verify")
def verify_command(
    db: str | None = DbOption,
    public_key: str | None = typer.Option(
        None,
        "--public-key",
        help="The registry's published public key (base64 or a PEM file); default the keys "
        "stored in the registry.",
    ),
    fmt: Format = FormatOption,
) -> None:
    """Recompute everything from the events; report the first inconsistency (exit 1).

    Checks every event's bytes against its leaf hash, replays every event under the
    registry's rules, recomputes every stored subtree hash and every signed tree head
    (root and signature), and compares the state the events build with the stored one.
    """
    from restora.registry.signing import key_id, load_public_key
    from restora.store import registry as reg

    with handled():
        keys = None
        if public_key is not None:
            text = Path(public_key).read_text() if Path(public_key).is_file() else public_key
            raw = load_public_key(text, source=public_key)
            keys = {key_id(raw): raw}
        with _store(db) as store, _bar(progress_wanted(fmt)) as progress:
            report = reg.verify(store, keys=keys, progress=progress)
    emit(report.as_json(), fmt)
    if not report.ok:
        raise typer.Exit(1)


@contextmanager
def _bar(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from restora.cli.output import err_console

    with Progress(
        "replaying events",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("verify", total=None)

        def step(done: int, total: int) -> None:
            check_interrupt()
            bar.update(task, completed=done, total=total)

        yield step


proof_app = typer.Typer(no_args_is_help=True, help="Proofs from the registry's log.")
app.add_typer(proof_app, name="proof")


@proof_app.command("inclusion")
def proof_inclusion_command(
    event_id: int = typer.Argument(..., help="The event's id."),
    size: int | None = typer.Option(None, "--size", help="Tree size (default the latest head)."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """The inclusion proof of an event (the document check-proof takes)."""
    from restora.store import registry as reg

    with handled(), _store(db) as store:
        doc = reg.inclusion(store, event_id, size)
    emit(doc, fmt)


@proof_app.command("consistency")
def proof_consistency_command(
    size1: int = typer.Argument(..., help="The size of the saved (earlier) head."),
    size2: int | None = typer.Argument(None, help="The later size (default the latest head)."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """The consistency proof that the log of SIZE1 events is a prefix of SIZE2's."""
    from restora.store import registry as reg

    with handled(), _store(db) as store:
        doc = reg.consistency(store, size1, size2)
    emit(doc, fmt)


@app.command("check-proof")
def check_proof_command(
    proof: str = typer.Argument(..., metavar="PROOF.json", help="A proof document; - for stdin."),
    head: str = typer.Option(
        ...,
        "--head",
        metavar="HEAD.json",
        help="A saved signed tree head: of the proof's size (inclusion) or the earlier one "
        "(consistency).",
    ),
    public_key: str = typer.Option(
        ..., "--public-key", help="The registry's public key (base64, or a PEM or text file)."
    ),
    fmt: Format = FormatOption,
) -> None:
    """Check a proof offline with the public key and a saved tree head.

    Exit 0: the proof holds; 1: it does not; 2: a file is malformed.
    """
    from restora.cli.output import read_input_json
    from restora.registry.proofs import check
    from restora.registry.signing import TreeHead, load_public_key

    with handled():
        doc, name = read_input_json(proof)
        head_data, head_name = read_input_json(head)
        saved = TreeHead.from_json(head_data, source=head_name)
        text = Path(public_key).read_text() if Path(public_key).is_file() else public_key
        raw = load_public_key(text, source=public_key)
        ok, why = check(doc, saved, raw, source=name)
    emit({"file": name, "verifies": ok, "detail": why}, fmt)
    if not ok:
        raise typer.Exit(1)


# ------------------------------------------------------------------------------ operations
@app.command("open-account")
def open_account_command(
    name: str = typer.Argument(..., help="The account's name."),
    kind: str = typer.Option(
        "holding",
        "--kind",
        help="holding, retirement, buffer, government, proceeds or restoration.",
    ),
    org_id: int | None = typer.Option(None, "--org", help="The owning organisation's id."),
    region: str | None = typer.Option(None, "--region", help="Region code (GB/T 2260)."),
    mine: str | None = typer.Option(None, "--mine", help="The mine (restoration accounts)."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Open an account (an open_account event)."""
    from restora.store import registry as reg

    with handled(), _store(db) as store:
        out = reg.open_account(
            store, kind=kind, name=name, org_id=org_id, region_code=region, mine_id=mine, at=_now()
        )
    emit({"account": out["account"], "event": out["events"][0]["id"]}, fmt)


@app.command("record-verification")
def record_verification_command(
    file: str = typer.Argument(
        ..., metavar="VERIFICATION.json", help="The evaluator's record; - for stdin."
    ),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Record a verified outcome (verification, unit_type, project_id, vintage, region_code,
    count, evaluator, report_sha256[, details]); units are issued only against one."""
    from restora.cli.output import read_input_json
    from restora.store import registry as reg

    fields = (
        "verification",
        "unit_type",
        "project_id",
        "vintage",
        "region_code",
        "count",
        "evaluator",
        "report_sha256",
    )
    with handled():
        data, name = read_input_json(file)
        if not isinstance(data, dict):
            raise InputError("must be a JSON object", file=name)
        missing = [f for f in fields if f not in data]
        if missing:
            raise InputError("missing", file=name, field=missing[0])
        with _store(db) as store:
            out = reg.record_verification(
                store, at=_now(), details=data.get("details"), **{f: data[f] for f in fields}
            )
    emit({"verification": data["verification"], "event": out["events"][0]["id"]}, fmt)


@app.command("issue")
def issue_command(
    verification: str = typer.Argument(..., help="The recorded verification's id."),
    account: int = typer.Option(..., "--account", help="The holder's account id."),
    amount: float = typer.Option(
        ..., "--amount", help="Quantity [t CO2e, mu, m3 ...: the unit's measure]."
    ),
    attr: list[str] = typer.Option(
        [], "--attr", help="An attribute NAME=VALUE (methodology, grade ...)."
    ),
    idempotency_key: str | None = typer.Option(None, "--key", help="Idempotency key."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Issue units from a verified outcome (buffer and share of proceeds by the policy)."""
    from restora.registry.ledger import UNIT_TYPES
    from restora.store import registry as reg

    with handled(), _store(db) as store:
        attrs = _attrs(attr)
        unit_type = reg.verification_unit_type(store, verification)
        count = UNIT_TYPES[unit_type].count(amount)
        out = reg.issue(
            store,
            verification=verification,
            account=account,
            count=count,
            attrs=attrs,
            at=_now(),
            key=idempotency_key,
        )
    emit(out["blocks"], fmt)


def _attrs(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InputError(f"{item!r} is not NAME=VALUE", field="--attr")
        out[name] = value
    return out


@app.command("op")
def op_command(
    kind: str = typer.Argument(
        ...,
        help="transfer, retire, list, delist, pledge, release_pledge, enforce_pledge, freeze, unfreeze, cancel, initiate_transfer, accept_transfer, reject_transfer.",
    ),
    serial: str = typer.Argument(..., help="A block's serial id (CN-<type>-...-<start>-<end>)."),
    count: int | None = typer.Option(
        None, "--count", help="Only the first COUNT serials of the block."
    ),
    to: int | None = typer.Option(None, "--to", help="Recipient account (transfer)."),
    lender: int | None = typer.Option(None, "--lender", help="Lender account (pledge)."),
    pledge: str | None = typer.Option(None, "--pledge", help="Pledge contract reference."),
    beneficiary: str | None = typer.Option(None, "--beneficiary", help="On whose behalf (retire)."),
    purpose: str | None = typer.Option(None, "--purpose", help="Why (retire)."),
    obligation: str | None = typer.Option(None, "--obligation", help="Offset obligation (retire)."),
    reason: str | None = typer.Option(None, "--reason", help="Reason (freeze, cancel ...)."),
    listing: str | None = typer.Option(None, "--listing", help="Listing reference (list)."),
    idempotency_key: str | None = typer.Option(None, "--key", help="Idempotency key."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Apply an operation to a block, or to its first --count serials (the block is split)."""
    from restora.store import registry as reg

    fields: dict[str, Any] = {
        "to": to,
        "lender": lender,
        "pledge": pledge,
        "beneficiary": beneficiary,
        "purpose": purpose,
        "obligation": obligation,
        "reason": reason,
        "listing": listing,
    }
    with handled():
        unit_type, start, end = _serial(serial, count)
        with _store(db) as store:
            out = reg.operate(
                store,
                kind,
                unit_type=unit_type,
                start=start,
                end=end,
                at=_now(),
                key=idempotency_key,
                **{k: v for k, v in fields.items() if v is not None},
            )
    emit({"events": [e["id"] for e in out["events"]], "blocks": out["blocks"]}, fmt)


@app.command("blocks")
def blocks_command(
    account: int | None = typer.Option(None, "--account"),
    project: str | None = typer.Option(None, "--project"),
    unit_type: str | None = typer.Option(None, "--type"),
    status: str | None = typer.Option(None, "--status"),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """List serial blocks."""
    from restora.store import registry as reg

    with handled(), _store(db) as store:
        rows = reg.list_blocks(
            store, account=account, project_id=project, unit_type=unit_type, status=status
        )
    emit(
        [
            {
                k: r[k]
                for k in (
                    "serial",
                    "status",
                    "account",
                    "count",
                    "amount",
                    "measure",
                    "status_reason",
                )
            }
            for r in rows
        ],
        fmt,
    )


@app.command("statement")
def statement_command(
    account: int = typer.Argument(..., help="The account's id."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """An account's statement: every event in or out of it, naming the block and event."""
    from restora.store import registry as reg

    with handled(), _store(db) as store:
        st = reg.statement(store, account)
    lines = []
    for line in st["lines"]:
        d = line["data"]
        block = (
            ""
            if line["unit_type"] is None
            else f"{line['unit_type']} {line['start']}-{line['end']}"
        )
        lines.append(
            {
                "event": line["event_id"],
                "at": d.get("at"),
                "kind": line["kind"],
                "block": block,
                "count": line["count"],
                "direction": line["direction"],
                "other_account": line["other_account"],
            }
        )
    emit(lines, fmt)


# ------------------------------------------------------------------------------ money, venues
@app.command("money")
def money_command(
    kind: str = typer.Argument(..., help="deposit, withdraw or balance."),
    account: int = typer.Argument(..., help="The account's id."),
    amount: float | None = typer.Option(None, "--cny", help="Amount [CNY], to the fen."),
    reference: str | None = typer.Option(None, "--reference", help="Bank transfer reference."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Money of an account on the trading platform: deposit, withdraw, or show the balance."""
    from restora.store import registry as reg

    with handled(), _store(db) as store:
        if kind != "balance":
            if amount is None:
                raise InputError("give the amount", field="--cny")
            fen = round(amount * 100)
            if abs(fen - amount * 100) > 1e-6 or fen <= 0:
                raise InputError(f"{amount} is not a positive amount in fen", field="--cny")
            reg.move_money(
                store, kind, account=account, amount_fen=fen, reference=reference, at=_now()
            )
        bal = reg.balance(store, account)
    emit({"account": account, "balance_cny": bal / 100}, fmt)


auction_app = typer.Typer(no_args_is_help=True, help="Sealed-bid auctions of lots.")
app.add_typer(auction_app, name="auction")


@auction_app.command("create")
def auction_create_command(
    serial: str = typer.Argument(..., help="The lot: a block's serial id."),
    count: int | None = typer.Option(None, "--count", help="Only its first COUNT serials."),
    rule: str = typer.Option("first_price", "--rule", help="first_price or second_price."),
    reserve: float = typer.Option(..., "--reserve-cny", help="Reserve price [CNY]."),
    hours: float = typer.Option(168.0, "--hours", help="How long the auction takes bids [h]."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Offer a lot by sealed-bid auction (earth and stone: within the approved surplus)."""
    import datetime as dt

    from restora.store import trading

    with handled():
        unit_type, start, end = _serial(serial, count)
        now = _now()
        with _store(db) as store:
            out = trading.create_auction(
                store, unit_type=unit_type, start=start, end=end, rule=rule,
                reserve_fen=round(reserve * 100), closes_at=now + dt.timedelta(hours=hours), at=now,
            )  # fmt: skip
    emit({"auction": out["auction"], "events": [e["id"] for e in out["events"]]}, fmt)


@auction_app.command("bid")
def auction_bid_command(
    auction: int = typer.Argument(...),
    account: int = typer.Option(..., "--account", help="The bidder's account."),
    amount: float = typer.Option(..., "--cny", help="The sealed bid [CNY]."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Place a sealed bid (one per bidder, covered by the bidder's money)."""
    from restora.store import trading

    with handled(), _store(db) as store:
        out = trading.place_bid(
            store, auction, bidder=account, amount_fen=round(amount * 100), at=_now()
        )
    emit(out, fmt)


@auction_app.command("close")
def auction_close_command(
    auction: int = typer.Argument(...),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Open the bids after the close, settle the lot to the winner or delist it."""
    from restora.store import trading

    with handled(), _store(db) as store:
        out = trading.close_auction(store, auction, at=_now())
    emit(out["auction"], fmt)


@auction_app.command("show")
def auction_show_command(
    auction: int = typer.Argument(...),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """An auction as the public sees it (bids sealed until the close)."""
    from restora.store import trading

    with handled(), _store(db) as store:
        out = trading.auction_view(store, auction, at=_now())
    emit(out, fmt)


order_app = typer.Typer(no_args_is_help=True, help="The carbon-sink order book.")
app.add_typer(order_app, name="order")


@order_app.command("sell")
def order_sell_command(
    serial: str = typer.Argument(..., help="A held block's serial id."),
    count: int | None = typer.Option(None, "--count", help="Only its first COUNT serials."),
    account: int = typer.Option(..., "--account"),
    limit: float = typer.Option(..., "--limit-cny", help="Lowest price per t CO2e [CNY]."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """A sell order: lists the serials and matches resting buys (price-time priority)."""
    from restora.store import trading

    with handled():
        unit_type, start, end = _serial(serial, count)
        with _store(db) as store:
            out = trading.submit_order(
                store, side="sell", account=account, unit_type=unit_type, start=start, end=end,
                limit_fen=round(limit * 100), at=_now(),
            )  # fmt: skip
    emit({"order": out["order"], "trades": out["trades"]}, fmt)


@order_app.command("buy")
def order_buy_command(
    vintage: int = typer.Argument(...),
    quantity: int = typer.Option(..., "--quantity", help="t CO2e."),
    account: int = typer.Option(..., "--account"),
    limit: float = typer.Option(..., "--limit-cny", help="Highest price per t CO2e [CNY]."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """A buy order: matches resting sells (price-time priority); its remainder rests."""
    from restora.store import trading

    with handled(), _store(db) as store:
        out = trading.submit_order(
            store, side="buy", account=account, vintage=vintage, quantity=quantity,
            limit_fen=round(limit * 100), at=_now(),
        )  # fmt: skip
    emit({"order": out["order"], "trades": out["trades"]}, fmt)


@order_app.command("cancel")
def order_cancel_command(
    order: int = typer.Argument(...),
    account: int = typer.Option(..., "--account"),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Cancel a resting order (a sell's unsold serials are delisted)."""
    from restora.store import trading

    with handled(), _store(db) as store:
        trading.cancel_order(store, order, account=account, at=_now())
    emit({"order": order, "status": "cancelled"}, fmt)


@order_app.command("depth")
def order_depth_command(
    book: str = typer.Argument(..., help="e.g. CSINK-2026."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """The book's price levels of resting buys and sells."""
    from restora.store import trading

    with handled(), _store(db) as store:
        out = trading.depth(store, book)
    emit(out, fmt)


@app.command("obligation")
def obligation_command(
    obligation: str = typer.Argument(..., help="The obligation's id."),
    party: str = typer.Option(..., "--party", help="Who must offset."),
    region: str = typer.Option(..., "--region", help="The county of the impact (GB/T 2260)."),
    unit_type: str = typer.Option("CSINK", "--type"),
    amount: float = typer.Option(
        ..., "--amount", help="Quantity to retire [t CO2e, mu, m3 ...: the unit's measure]."
    ),
    due: str = typer.Option(..., "--due", help="Last day (YYYY-MM-DD)."),
    eligible: list[str] = typer.Option([], "--eligible", help="Eligible region prefix."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Record a regional ecological offset obligation."""
    import datetime as dt

    from restora.registry.ledger import UNIT_TYPES
    from restora.store import registry as reg

    with handled():
        try:
            day = dt.date.fromisoformat(due)
        except ValueError:
            raise InputError(f"{due!r} is not a date", field="--due") from None
        if unit_type not in UNIT_TYPES:
            raise InputError(f"unknown unit type {unit_type!r}", field="--type")
        count = UNIT_TYPES[unit_type].count(amount)
        with _store(db) as store:
            reg.record_obligation(
                store, obligation=obligation, party=party, region_code=region,
                unit_type=unit_type, required=count, due=day, at=_now(),
                eligible_regions=eligible or None,
            )  # fmt: skip
    emit({"obligation": obligation, "required": count}, fmt)


@app.command("obligations")
def obligations_command(
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Every offset obligation and its compliance status today."""
    import datetime as dt

    from restora.store import registry as reg

    with handled(), _store(db) as store:
        rows = reg.obligations(store, today=dt.date.today())
    emit(
        [
            {
                "obligation": r["obligation"],
                "party": r["party"],
                "region": r["region_code"],
                "required": r["required"],
                "retired": r["status"].retired,
                "outstanding": r["status"].outstanding,
                "due": r["due"],
                "status": r["status"].status,
            }
            for r in rows
        ],
        fmt,
    )


es_app = typer.Typer(no_args_is_help=True, help="Surplus earth and stone within the plan.")
app.add_typer(es_app, name="earth-stone")


@es_app.command("surplus")
def es_surplus_command(
    mine: str = typer.Argument(..., help="The mine's id."),
    plan: str = typer.Option(..., "--plan", help="Its approved restoration plan (YAML/JSON)."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Record a mine's approved surplus by year from its restoration plan's slope cutting."""
    import hashlib

    from restora.planning.io import read_plan
    from restora.store import trading

    with handled():
        p = read_plan(plan)
        approved = trading.surplus_from_plan(p)
        digest = hashlib.sha256(Path(plan).read_bytes()).hexdigest()
        with _store(db) as store:
            trading.set_surplus(store, mine, approved, at=_now(), plan_sha256=digest)
    emit({"mine": mine, "approved_m3": approved, "plan_sha256": digest}, fmt)


@es_app.command("import")
def es_import_command(
    file: str = typer.Argument(..., help="Weighbridge tickets (CSV/GBK or xlsx)."),
    mine: str | None = typer.Option(None, "--mine", help="The mine, if the file has none."),
    density: float | None = typer.Option(
        None, "--density", help="Density [t/m3], if the file has none."
    ),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Import weighbridge tickets (all or nothing; a ticket imported before is refused)."""
    from restora.store import trading

    with handled(), _store(db) as store:
        n = trading.import_weighbridge(
            store, file, at=_now(), mine_id=mine, density_t_per_m3=density
        )
    emit({"file": file, "tickets": n}, fmt)


@es_app.command("status")
def es_status_command(
    mine: str = typer.Argument(...),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Approved, sold, on offer and hauled volumes of a mine, and the compliance alerts."""
    from restora.store import trading

    with handled(), _store(db) as store:
        out = trading.earth_and_stone(store, mine)
    emit(out, fmt)


def _serial(serial: str, count: int | None) -> tuple[str, int, int]:
    from restora.registry.ledger import LedgerError, parse_serial_id

    try:
        unit_type, start, end = parse_serial_id(serial)
    except LedgerError as exc:
        raise InputError(str(exc), field="SERIAL") from None
    if count is not None:
        if not 1 <= count <= end - start + 1:
            raise InputError(f"--count must be between 1 and {end - start + 1}", field="--count")
        end = start + count - 1
    return unit_type, start, end

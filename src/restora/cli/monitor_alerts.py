"""``restora monitor`` commands of alerts (docs/monitoring.md, "Alerts and notifications").

- ``rules add|list|off``: alert rules (threshold, rate, trend, offline) as data;
- ``alerts [--mine --state --level --kind]``, ``alerts show ID``, ``alerts ack|resolve ID``:
  the alerts and their lifecycle;
- ``hooks add|list|off``: notification hooks (webhook, e-mail);
- ``notify [--loop]``: send the outbox of deliveries;
- ``check-offline``: raise offline alerts for silent sensors (the ingester does it every
  minute; this is for a store fed by HTTP or campaigns only, e.g. from cron).
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
from typing import Any

import typer

from restora.cli.output import DbOption, Format, FormatOption, emit, handled
from restora.errors import InputError

rules_app = typer.Typer(no_args_is_help=True, help="Alert rules (threshold, rate, trend, offline).")
alerts_app = typer.Typer(
    invoke_without_command=True,
    help="Alerts: list them (default), show one, acknowledge or resolve.",
)
hooks_app = typer.Typer(no_args_is_help=True, help="Notification hooks (webhook, e-mail).")

RULE_COLUMNS = ("id", "code", "kind", "indicator", "level", "mine_id", "site_id", "sensor_id",
                "params", "active")  # fmt: skip
ALERT_COLUMNS = ("id", "state", "level", "kind", "mine_id", "sensor_id", "indicator", "value",
                 "threshold", "raised_at", "latency_s", "message")  # fmt: skip
HOOK_COLUMNS = ("id", "kind", "target", "levels", "mine_id", "has_secret", "active")
STATES = ("open", "raised", "acknowledged", "resolved")


def register(parent: typer.Typer) -> None:
    """Add the alert commands to ``restora monitor``."""
    parent.add_typer(rules_app, name="rules")
    parent.add_typer(alerts_app, name="alerts")
    parent.add_typer(hooks_app, name="hooks")
    parent.command("notify")(notify_command)
    parent.command("check-offline")(check_offline_command)


def _store(db: str | None) -> Any:
    from restora.store import Store, default_url

    return Store(db or default_url())


def _by(by: str | None) -> str:
    return by or getpass.getuser()


def _params(text: str) -> dict[str, Any]:
    from restora.cli.output import read_input_json

    if text.lstrip().startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"not JSON: {exc.msg} (column {exc.colno})", field="--params"
            ) from None
    else:
        value, _ = read_input_json(text)  # a file, or - for stdin
    if not isinstance(value, dict):
        raise InputError("the parameters must be a JSON object", field="--params")
    return value


ByOption = typer.Option(None, "--by", help="Who does it (default: the login name).")


# ------------------------------------------------------------------------------- rules
@rules_app.command("add")
def rules_add(
    kind: str = typer.Argument(..., help="threshold, rate, trend or offline."),
    indicator: str | None = typer.Option(
        None, "--indicator", "-i", help="Indicator code (not for offline rules)."
    ),
    level: str = typer.Option("warning", "--level", help="warning or alarm."),
    params: str = typer.Option(
        ...,
        "--params",
        "-p",
        help='Parameters as JSON (\'{"warning": 10, "alarm": 20}\'), a JSON file, or - for stdin.',
    ),
    mine: str | None = typer.Option(None, "--mine", help="Only this mine."),
    site: str | None = typer.Option(None, "--site", help="Only this site of the mine."),
    sensor: str | None = typer.Option(None, "--sensor", help="Only this sensor (mine/site/code)."),
    name: str | None = typer.Option(None, "--name", help="A readable name."),
    by: str | None = ByOption,
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Add an alert rule. The most specific scope wins (sensor > site > mine > everywhere);
    without a threshold rule the catalogue's levels apply."""
    from restora.store import alerts as A

    with handled(), _store(db) as store:
        rule = A.add_rule(
            store,
            kind=kind,
            level=level,
            params=_params(params),
            indicator=indicator,
            name=name,
            mine_id=mine,
            site_id=site,
            sensor_id=sensor,
            by=_by(by),
        )
    emit(rule, fmt, columns=RULE_COLUMNS)


@rules_app.command("list")
def rules_list(
    mine: str | None = typer.Option(None, "--mine", help="This mine's rules and global ones."),
    indicator: str | None = typer.Option(None, "--indicator", "-i"),
    all_: bool = typer.Option(False, "--all", help="Switched-off rules too."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """The alert rules."""
    from restora.store import alerts as A

    with handled(), _store(db) as store:
        rows = A.rules(store, mine_id=mine, indicator=indicator, active=None if all_ else True)
    emit(rows, fmt, columns=RULE_COLUMNS)


@rules_app.command("off")
def rules_off(
    rule_id: int = typer.Argument(..., help="The rule's id."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Switch a rule off (its open alerts stay open until resolved)."""
    from restora.store import alerts as A

    with handled(), _store(db) as store:
        rule = A.deactivate_rule(store, rule_id)
    emit(rule, fmt, columns=RULE_COLUMNS)


# ------------------------------------------------------------------------------- alerts
@alerts_app.callback()
def alerts_list(
    ctx: typer.Context,
    mine: str | None = typer.Option(None, "--mine", help="Only this mine."),
    state: str | None = typer.Option(
        None, "--state", help="open (raised or acknowledged), raised, acknowledged, resolved."
    ),
    level: str | None = typer.Option(None, "--level", help="warning or alarm."),
    kind: str | None = typer.Option(None, "--kind", help="threshold, rate, trend or offline."),
    sensor: str | None = typer.Option(None, "--sensor"),
    limit: int = typer.Option(500, "--limit", min=1),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """List alerts, newest first (latency_s = raised_at - received_at)."""
    if ctx.invoked_subcommand is not None:
        return
    from restora.store import alerts as A

    with handled():
        if state is not None and state not in STATES:
            raise InputError(f"{state!r} is not a state ({', '.join(STATES)})", field="--state")
        with _store(db) as store:
            rows = A.alerts(
                store,
                mine_id=mine,
                state=state,
                level=level,
                kind=kind,
                sensor_id=sensor,
                limit=limit,
            )
    emit(rows, fmt, columns=ALERT_COLUMNS)


@alerts_app.command("show")
def alerts_show(
    alert_id: int = typer.Argument(..., help="The alert's id."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """One alert with its lifecycle."""
    from restora.store import alerts as A

    with handled(), _store(db) as store:
        a = A.alert(store, alert_id)
    emit(a, fmt, rows=a["events"], columns=("state", "at", "by", "note"), title=a["message"])


def _transition(action: str, alert_id: int, note: str | None, by: str | None, db: str | None,
                fmt: Format) -> None:  # fmt: skip
    from restora.store import alerts as A

    with handled(), _store(db) as store:
        a = getattr(A, action)(store, alert_id, _by(by), note)
    emit(a, fmt, columns=ALERT_COLUMNS)


@alerts_app.command("ack")
def alerts_ack(
    alert_id: int = typer.Argument(..., help="The alert's id."),
    note: str | None = typer.Option(None, "--note", help="What is being done."),
    by: str | None = ByOption,
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Acknowledge a raised alert."""
    _transition("acknowledge", alert_id, note, by, db, fmt)


@alerts_app.command("resolve")
def alerts_resolve(
    alert_id: int = typer.Argument(..., help="The alert's id."),
    note: str | None = typer.Option(None, "--note", help="What was done."),
    by: str | None = ByOption,
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Resolve an open alert."""
    _transition("resolve", alert_id, note, by, db, fmt)


# ------------------------------------------------------------------------------- hooks
@hooks_app.command("add")
def hooks_add(
    kind: str = typer.Argument(..., help="webhook or email."),
    target: str = typer.Argument(..., help="The URL (webhook) or the address (email)."),
    level: list[str] = typer.Option(
        ["warning", "alarm"], "--level", help="Levels to send (repeat the option)."
    ),
    mine: str | None = typer.Option(None, "--mine", help="Only this mine's alerts."),
    secret: str | None = typer.Option(
        None,
        "--secret",
        envvar="RESTORA_HOOK_SECRET",
        help="HMAC secret of a webhook (X-Restora-Signature); or RESTORA_HOOK_SECRET.",
    ),
    by: str | None = ByOption,
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Add a notification hook."""
    from restora.store import hooks as H

    with handled(), _store(db) as store:
        hook = H.add_hook(
            store, kind=kind, target=target, levels=level, mine_id=mine, secret=secret, by=_by(by)
        )
    emit(hook, fmt, columns=HOOK_COLUMNS)


@hooks_app.command("list")
def hooks_list(
    all_: bool = typer.Option(False, "--all", help="Switched-off hooks too."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """The notification hooks (secrets are never shown)."""
    from restora.store import hooks as H

    with handled(), _store(db) as store:
        rows = H.hooks(store, active=None if all_ else True)
    emit(rows, fmt, columns=HOOK_COLUMNS)


@hooks_app.command("off")
def hooks_off(
    hook_id: int = typer.Argument(..., help="The hook's id."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Switch a hook off."""
    from restora.store import hooks as H

    with handled(), _store(db) as store:
        hook = H.deactivate_hook(store, hook_id)
    emit(hook, fmt, columns=HOOK_COLUMNS)


# ------------------------------------------------------------------------------- sending
def notify_command(
    loop: bool = typer.Option(False, "--loop", help="Keep sending until Ctrl-C or SIGTERM."),
    interval: float = typer.Option(5.0, "--interval", min=0.1, help="Time between passes [s]."),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Send the due notifications (webhooks, e-mails); with --loop, keep sending."""
    import signal
    import threading

    from restora.service import notify as N

    with handled(), _store(db) as store:
        if not loop:
            counts = N.deliver_pending(store)
        else:
            stop = threading.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
            counts = N.run(store, interval_s=interval, stop=stop)
    emit(counts, fmt)


def check_offline_command(db: str | None = DbOption, fmt: Format = FormatOption) -> None:
    """Raise an offline alert for each sensor silent longer than its interval (once)."""
    from restora.store import alerts as A

    with handled(), _store(db) as store:
        ids = A.check_offline(store, dt.datetime.now(dt.UTC))
        rows = [A.alert(store, i) for i in ids]
    emit(rows, fmt, columns=ALERT_COLUMNS)

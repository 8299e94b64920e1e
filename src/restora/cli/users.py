"""``restora users create|token|list|deactivate``: the platform's accounts, from the command line.

The first admin is made here (``restora users create admin --role admin``); after that, admins
manage accounts through the API or the web too. Passwords are read from a hidden prompt (typed
twice) or, for scripts, the first line of stdin (``--password-stdin``); they are stored as
argon2 hashes. ``users token`` prints a bearer token once (the store keeps its SHA-256 only).
Every change is audited (``changes``/``audit``: the operating-system user, or ``--user``).

JSON contracts (stable)::

    create      {"id", "username", "display_name", "role", "org_id", "org_name", "org_kind",
                 "region_code", "active", "created_at", "last_login_at"}
    token       {"username", "id", "name", "token", "created_at", "expires_at"}
    list        [{same as create}]
    deactivate  {same as create}  ("active": false; sessions and tokens revoked)

Exit codes: 0 success, 2 bad input (an unknown role, a taken username, a short password …),
1 other failures.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from restora.cli.output import DbOption, Format, FormatOption, emit, err_console, handled
from restora.errors import InputError

app = typer.Typer(no_args_is_help=True)

UserOption = typer.Option(
    None,
    "--user",
    help="Who makes the change, for the audit trail (default: the operating-system user).",
)


def _store(db: str | None) -> Any:
    from restora.store import Store, default_url

    return Store(db or default_url())


def _change(command: str, user: str | None, options: dict[str, Any]) -> Any:
    from restora.store.audit import Change, current_user

    return Change(command, user=user or current_user(), options=options)


def _shown(account: Any) -> dict[str, Any]:
    from dataclasses import asdict

    out = asdict(account)
    for key in ("created_at", "last_login_at"):
        out[key] = None if out[key] is None else out[key].isoformat()
    return out


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise InputError("--password-stdin: stdin is empty", field="--password-stdin")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise InputError(
            "no terminal to ask the password on: give it on stdin with --password-stdin",
            field="--password-stdin",
        )
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@app.command("create")
def create_command(
    username: str = typer.Argument(..., help="Username (letters, digits, . _ @ -)."),
    role: str = typer.Option(
        ...,
        "--role",
        help="admin, natural_resources, ecology_environment, finance, enterprise, evaluator "
        "or village.",
    ),
    org: str | None = typer.Option(None, "--org", help="Organisation name (made with --org-kind)."),
    org_kind: str | None = typer.Option(
        None,
        "--org-kind",
        help="Kind of a new organisation: natural_resources_bureau, ecology_environment_bureau, "
        "government, bank, investor, guarantor, insurer, enterprise, evaluator, "
        "village_collective, other.",
    ),
    region: str | None = typer.Option(
        None, "--region", help="Region scope: 6-digit GB/T 2260 code (none: the whole country)."
    ),
    display_name: str | None = typer.Option(None, "--display-name", help="Name shown to people."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
    user: str | None = UserOption,
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Create an account (the first admin is made this way)."""
    with handled():
        from restora.service.credentials import check_password_policy, new_account
        from restora.store import accounts

        password = _read_password(password_stdin)
        check_password_policy(password)  # before any organisation is made
        store = _store(db)
        try:
            org_id = None
            if org is not None:
                found = accounts.organisation(store.engine, name=org)
                if found is None:
                    if org_kind is None:
                        raise InputError(
                            f"no organisation named {org!r}: give --org-kind to create it",
                            field="--org-kind",
                        )
                    found = accounts.create_organisation(
                        store.engine,
                        org,
                        org_kind,
                        region,
                        change=_change("users create", user, {"organisation": org}),
                    )
                elif org_kind is not None and org_kind != found["kind"]:
                    raise InputError(
                        f"the organisation {org!r} is a {found['kind']}, not a {org_kind}",
                        field="--org-kind",
                    )
                org_id = found["id"]
            elif org_kind is not None:
                raise InputError("--org-kind needs --org NAME", field="--org")
            account = new_account(
                store.engine,
                username=username,
                role=role,
                password=password,
                display_name=display_name,
                org_id=org_id,
                region_code=region,
                change=_change("users create", user, {"username": username, "role": role}),
            )
        finally:
            store.close()
        shown = _shown(account)
        emit(shown, fmt, title=f"Created {username}")


@app.command("token")
def token_command(
    username: str = typer.Argument(..., help="Username of the account the token acts for."),
    name: str = typer.Option(..., "--name", help="What the token is for (shown in lists)."),
    expires_days: int | None = typer.Option(
        None, "--expires-days", min=1, max=3660, help="Days it lasts [d] (default: until revoked)."
    ),
    user: str | None = UserOption,
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Make an API token and print it once (send it as Authorization: Bearer TOKEN)."""
    with handled():
        import datetime as dt

        from restora.service.credentials import TOKEN_PREFIX, new_token
        from restora.store import accounts

        store = _store(db)
        try:
            account = accounts.account(store.engine, username=username)
            if account is None or not account.active:
                raise InputError(f"no active account {username!r}", field="USERNAME")
            token, sha = new_token(TOKEN_PREFIX)
            expires = (
                dt.datetime.now(dt.UTC) + dt.timedelta(days=expires_days) if expires_days else None
            )
            row = accounts.create_token(
                store.engine,
                account.id,
                name=name,
                token_sha256=sha,
                expires_at=expires,
                change=_change("users token", user, {"username": username, "name": name}),
            )
        finally:
            store.close()
        if fmt == Format.json:
            emit(
                {
                    "username": username,
                    "id": row["id"],
                    "name": row["name"],
                    "token": token,
                    "created_at": row["created_at"].isoformat(),
                    "expires_at": None if expires is None else row["expires_at"].isoformat(),
                },
                fmt,
            )
            return
        err_console.print(
            f"token {row['id']} ({name}) for {username}: shown once, keep it secret",
            highlight=False,
            markup=False,
        )
        sys.stdout.write(token + "\n")


@app.command("list")
def list_command(
    role: str | None = typer.Option(None, "--role", help="Only accounts of this role."),
    include_inactive: bool = typer.Option(
        False, "--include-inactive", help="Also list deactivated accounts."
    ),
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """List the accounts."""
    with handled():
        from restora.store import accounts

        store = _store(db)
        try:
            found = accounts.list_accounts(
                store.engine, role=role, active=None if include_inactive else True
            )
        finally:
            store.close()
        rows = [_shown(a) for a in found]
        columns = ["username", "display_name", "role", "org_name", "region_code", "active"]
        emit(rows, fmt, columns=columns if fmt != Format.json else None, title="Accounts")


@app.command("deactivate")
def deactivate_command(
    username: str = typer.Argument(..., help="Username."),
    user: str | None = UserOption,
    db: str | None = DbOption,
    fmt: Format = FormatOption,
) -> None:
    """Deactivate an account: it can no longer sign in; its sessions and tokens are revoked."""
    with handled():
        from restora.store import accounts

        store = _store(db)
        try:
            account = accounts.account(store.engine, username=username)
            if account is None:
                raise InputError(f"no account {username!r}", field="USERNAME")
            updated = accounts.update_account(
                store.engine,
                account.id,
                {"active": False},
                change=_change("users deactivate", user, {"username": username}),
            )
        finally:
            store.close()
        emit(_shown(updated), fmt, title=f"Deactivated {username}")

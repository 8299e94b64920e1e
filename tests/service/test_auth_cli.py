"""``restora users create|token|list|deactivate`` (issue 13 item 3): the first admin from the
command line, a token that works against the API, exit codes of bad input, the audit trail."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from restora.cli import app as cli
from restora.store.tables import audit, changes

PASSWORD = "correct horse battery staple"


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_the_first_admin_and_a_token_that_works_against_the_api(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'users.db'}"
    code, out, err = run(
        "users", "create", "root", "--role", "admin", "--password-stdin", "--db", db,
        "--org", "青山县自然资源局", "--org-kind", "natural_resources_bureau",
        "--region", "430599", "--display-name", "平台管理员", "--format", "json",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert code == 0, err
    made = json.loads(out)
    assert (made["username"], made["role"], made["org_name"], made["region_code"]) == (
        "root", "admin", "青山县自然资源局", "430599",
    )  # fmt: skip
    assert made["display_name"] == "平台管理员" and made["active"] is True
    code, token, err = run("users", "token", "root", "--name", "ci", "--db", db)
    assert code == 0 and "shown once" in err
    token = token.strip()
    assert token.startswith("rst_") and "\n" not in token
    code, out, _ = run("users", "token", "root", "--name", "x", "--expires-days", "7",
                       "--db", db, "--format", "json")  # fmt: skip
    assert code == 0 and json.loads(out)["expires_at"] is not None

    from restora.service.app import create_app
    from restora.service.settings import Settings

    app = create_app(Settings(database_url=db, secret_key="k", data_dir=tmp_path / "data"))
    with TestClient(app) as client:
        me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["username"] == "root"
        # the password from stdin signs in
        r = client.post("/auth/session", json={"username": "root", "password": PASSWORD})
        assert r.status_code == 200
    code, out, _ = run("users", "list", "--db", db, "--format", "json")
    assert [u["username"] for u in json.loads(out)] == ["root"]
    code, out, _ = run("users", "deactivate", "root", "--db", db, "--format", "json")
    assert code == 0 and json.loads(out)["active"] is False
    with TestClient(app) as client:
        me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 401
    code, out, _ = run("users", "list", "--db", db, "--format", "json")
    assert json.loads(out) == []
    code, out, _ = run("users", "list", "--include-inactive", "--db", db, "--format", "json")
    assert [u["active"] for u in json.loads(out)] == [False]
    # every step is in the trail, without the password or the token
    with app.state.store.engine.connect() as conn:
        trail = conn.execute(
            sa.select(changes.c.command, audit.c.table_name, audit.c.action, audit.c.after)
            .join(audit, audit.c.change_id == changes.c.id)
            .order_by(audit.c.id)
        ).all()
    app.state.store.close()
    assert [(t.command, t.table_name, t.action) for t in trail] == [
        ("users create", "organisations", "insert"),
        ("users create", "users", "insert"),
        ("users token", "api_tokens", "insert"),
        ("users token", "api_tokens", "insert"),
        ("users deactivate", "users", "update"),
    ]
    text = json.dumps([t.after for t in trail], ensure_ascii=False)
    assert token not in text and PASSWORD not in text and "$argon2" not in text


def test_bad_input_exits_2_naming_what_is_wrong(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'users.db'}"
    cases = [
        (["users", "create", "ab", "--role", "admin"], "short", "at least 15 characters"),
        (["users", "create", "ab", "--role", "public"], PASSWORD, "not a role of an account"),
        (["users", "create", "ab", "--role", "king"], PASSWORD, "not a role of an account"),
        (["users", "create", "a b", "--role", "admin"], PASSWORD, "is not a username"),
        (["users", "create", "ab", "--role", "admin", "--region", "4305"], PASSWORD,
         "6-digit region code"),
        (["users", "create", "ab", "--role", "admin", "--org", "无此单位"], PASSWORD,
         "give --org-kind"),
        (["users", "create", "ab", "--role", "admin", "--org", "x", "--org-kind", "club"],
         PASSWORD, "not a kind of organisation"),
        (["users", "token", "nobody", "--name", "x"], None, "no active account"),
        (["users", "deactivate", "nobody"], None, "no account"),
    ]  # fmt: skip
    for args, password, message in cases:
        stdin = None if password is None else password + "\n"
        extra = ["--password-stdin"] if password is not None else []
        code, _, err = run(*args, *extra, "--db", db, stdin=stdin)
        assert code == 2 and message in err, (args, code, err)
    code, _, _ = run("users", "create", "ab", "--role", "admin", "--password-stdin", "--db", db,
                     stdin=PASSWORD + "\n")  # fmt: skip
    assert code == 0
    code, _, err = run("users", "create", "ab", "--role", "admin", "--password-stdin", "--db", db,
                       stdin=PASSWORD + "\n")  # fmt: skip
    assert code == 2 and "is taken" in err


def test_without_a_terminal_the_password_must_come_on_stdin(tmp_path: Path):
    """No prompt can be shown when stdin is not a terminal: exit 2 naming --password-stdin,
    not a hang or a traceback."""
    db = f"sqlite:///{tmp_path / 'users.db'}"
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("restora")), "users", "create", "root", "--role",
         "admin", "--db", db],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "--password-stdin" in proc.stderr and "Traceback" not in proc.stderr

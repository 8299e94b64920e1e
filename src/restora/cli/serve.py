"""``restora serve``: the platform (REST API and web pages) under uvicorn.

One process on the embedded SQLite store by default; ``--db`` or ``RESTORA_DATABASE_URL`` for
PostgreSQL, ``--workers N`` for several worker processes (docs/deploy.md). The store is migrated
once, here, before the workers start; several workers need ``RESTORA_SECRET_KEY`` (each would
otherwise sign sessions and form challenges with its own random key), and the command refuses to
start without it. The app reads its
settings from the environment (``RESTORA_*``, restora.service.settings).
"""

from __future__ import annotations

import os

import typer

from restora.cli.output import DbOption, handled
from restora.errors import InputError


def register(app: typer.Typer) -> None:
    """Add the top-level ``serve`` command."""

    @app.command("serve")
    def serve_command(
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
        port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
        workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes."),
        db: str | None = DbOption,
        log_level: str = typer.Option("info", "--log-level", help="uvicorn's log level."),
        forwarded_allow_ips: str | None = typer.Option(
            None,
            "--forwarded-allow-ips",
            help="Proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (comma-"
            "separated addresses; default FORWARDED_ALLOW_IPS, else 127.0.0.1).",
        ),
    ) -> None:
        """Serve the REST API (/api/v1) and the web pages."""
        import uvicorn

        with handled():
            if db:
                os.environ["RESTORA_DATABASE_URL"] = db
            from restora.service.settings import Settings
            from restora.store import Store

            settings = Settings.from_env()
            if workers > 1 and not settings.secret_key_from_env:
                # each worker would draw its own random key: a session, CSRF token or complaint
                # challenge signed by one worker would be refused by the others
                raise InputError(
                    f"--workers {workers} needs one secret key shared by the workers: set "
                    'RESTORA_SECRET_KEY (e.g. to the output of python -c "import secrets; '
                    'print(secrets.token_urlsafe(32))"), kept out of the repository',
                    field="RESTORA_SECRET_KEY",
                )
            Store(settings.database_url).close()  # migrate once, before the workers start
            uvicorn.run(
                "restora.service.app:serve_app",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_level=log_level,
                proxy_headers=True,
                forwarded_allow_ips=forwarded_allow_ips,
                access_log=False,  # the app writes one JSON line per request
            )

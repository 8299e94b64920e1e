"""``restora worker``: run background jobs from the queue at ``RESTORA_BROKER_URL``.

A Dramatiq worker over Redis or RabbitMQ (restora.service.jobs.broker) on the store at
``--db`` / ``RESTORA_DATABASE_URL``, writing files under ``RESTORA_DATA_DIR``. Run as many as
the machine allows (each one process, ``--threads`` jobs at once); SIGTERM or Ctrl-C stops
taking jobs and lets a running one finish for ``--stop-timeout`` seconds. A worker killed
mid-job loses nothing: its job is redelivered to another worker and re-runs (docs/jobs.md).
Without a broker there is nothing to run: ``restora serve`` runs jobs in its own thread.
"""

from __future__ import annotations

import os

import typer

from restora.cli.output import DbOption, handled
from restora.errors import InputError


def register(app: typer.Typer) -> None:
    """Add the top-level ``worker`` command."""

    @app.command("worker")
    def worker_command(
        threads: int = typer.Option(1, "--threads", min=1, max=64, help="Jobs run at once."),
        db: str | None = DbOption,
        stop_timeout: float = typer.Option(
            30.0,
            "--stop-timeout",
            min=0,
            help="On SIGTERM, how long a running job may take to finish \\[s].",
        ),
    ) -> None:
        """Run background jobs (appraisals) from the queue at RESTORA_BROKER_URL."""
        with handled():
            if db:
                os.environ["RESTORA_DATABASE_URL"] = db
            from restora.service.jobs.broker import BrokerSettings, run_worker
            from restora.service.middleware import configure_logging
            from restora.service.settings import Settings
            from restora.store import Store

            settings = Settings.from_env()
            if not settings.broker_url:
                raise InputError(
                    "no broker: set RESTORA_BROKER_URL (redis://… or amqp://…); without one, "
                    "restora serve runs jobs itself",
                    field="RESTORA_BROKER_URL",
                )
            configure_logging(settings.log_level)
            broker = BrokerSettings.from_env(settings.broker_url)
            with Store(settings.database_url) as store:
                run_worker(
                    store,
                    settings.data_dir,
                    broker,
                    threads=threads,
                    stop_timeout_s=stop_timeout,
                )

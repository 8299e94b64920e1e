"""``restora monitor``: sensors, readings, alerts, remote sensing, milestones and sign-off,
integrity records (docs/monitoring.md).

The commands live in one module per part (``restora.cli.monitor_<part>``), each exposing
``register(app)``; :data:`PARTS` lists them.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(no_args_is_help=True)

#: The modules that add commands to ``restora monitor`` (each has ``register(app)``).
PARTS: tuple[str, ...] = ()
PARTS += ("monitor_integrity",)  # the enterprise integrity archive
PARTS += ("monitor_ingest",)  # catalogue, sensors, MQTT ingester, readings, campaigns
PARTS += ("monitor_rs",)  # remote sensing: FVC, its change, water area
PARTS += ("monitor_alerts",)  # alert rules, alerts, hooks, notifications, offline check
PARTS += ("monitor_verify",)  # milestones, evidence, sign-off, tranches released

for _part in PARTS:
    importlib.import_module(f"restora.cli.{_part}").register(app)

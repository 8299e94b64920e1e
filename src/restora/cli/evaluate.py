"""``restora evaluate``: indicators of market-oriented restoration policy, regional disparity,
policy effect, the coordination record, exports (docs/evaluation.md).

The commands live in one module per part (``restora.cli.evaluate_<part>``), each exposing
``register(app)``; :data:`PARTS` lists them.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(no_args_is_help=True)

#: The modules that add commands to ``restora evaluate`` (each has ``register(app)``).
PARTS: tuple[str, ...] = ("evaluate_indices", "evaluate_indicators")
PARTS += ("evaluate_coordination",)  # joint meetings, consultations and hearings

for _part in PARTS:
    importlib.import_module(f"restora.cli.{_part}").register(app)

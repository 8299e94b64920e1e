"""Restora: make the restoration of abandoned and legacy mines measurable, priced and financeable."""

from __future__ import annotations

from typing import Any

__all__ = ["__version__"]


def __getattr__(name: str) -> Any:
    # The version is looked up on first use: importlib.metadata costs ~50 ms at start-up,
    # which every command (and `restora --help`) would pay (benchmarks/cli_startup.py).
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("restora")
        except PackageNotFoundError:  # running from a source tree without installation
            value = "0.0.0+unknown"
        globals()["__version__"] = value
        return value
    raise AttributeError(f"module 'restora' has no attribute {name!r}")

"""Restora: make the restoration of abandoned and legacy mines measurable, priced and financeable."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("restora")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]

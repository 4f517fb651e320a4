"""Carewall: a self-hosted security platform for small healthcare providers."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("carewall")
except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]

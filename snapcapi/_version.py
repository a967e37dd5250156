"""The installed version of snapcapi, read once from the package metadata."""

from __future__ import annotations

import importlib.metadata as _metadata

__all__ = ["__version__"]

try:
    __version__ = _metadata.version("snapcapi")
except _metadata.PackageNotFoundError:  # pragma: no cover - a source tree without install
    __version__ = "0.0.0"

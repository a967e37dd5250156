"""``python -m snapcapi``: the same command line as ``snapcapi``."""

from __future__ import annotations

import sys

from snapcapi.cli import main

if __name__ == "__main__":
    sys.exit(main())

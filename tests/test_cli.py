"""The command line: snapcapi demo, help and exit codes."""

from __future__ import annotations

import io
import subprocess
import sys

from snapcapi import cli


def test_demo_runs_through_python_dash_m():
    """`python -m snapcapi demo` sends to the fake server and prints one row per event."""
    completed = subprocess.run(
        [sys.executable, "-m", "snapcapi", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    out = completed.stdout
    assert "order-1001   PURCHASE    ACCEPTED" in out
    assert "search-5005  SEARCH      INVALID" in out
    assert "order-6006   PURCHASE    REJECTED  400" in out
    assert "6 events: accepted 4, rejected 1, invalid 1" in out
    assert "The server recorded 4 events." in out
    assert "jane.doe" not in out.lower()


def test_help_and_usage_errors(capsys):
    """No command prints help and exits 2; --help lists the demo."""
    assert cli.main([]) == 2
    assert "demo" in capsys.readouterr().out
    out = io.StringIO()
    assert cli.run_demo(out) == 0
    assert "Fake Snap server at http://127.0.0.1:" in out.getvalue()

"""A 200,000-row file through `snapcapi send` in bounded memory (real process, real server)."""

from __future__ import annotations

import csv
import gzip
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from snapcapi.testing import FakeSnapServer

WHEN = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

# Runs the real CLI and prints the process's peak RSS (KiB on Linux) after it.
_CHILD = """
import resource, sys
from snapcapi.cli import main
code = main(sys.argv[1:])
print("PEAK", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
sys.exit(code)
"""


def make_file(path, count):
    with gzip.open(path, "wt", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["order_id", "email", "phone", "zip", "ip", "user_agent", "price",
                         "currency", "timestamp"])  # fmt: skip
        for i in range(count):
            writer.writerow([f"o{i}", f"Customer.{i}@Example.com", f"415555{i % 10000:04d}",
                             f"{10000 + i % 89999:05d}", f"203.0.{i >> 8 & 255}.{i & 255}",
                             "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0", f"{i % 500}.99",
                             "USD", WHEN])  # fmt: skip
    return str(path)


def upload(server, path):
    env = {**os.environ, "SNAP_ACCESS_TOKEN": server.token}
    completed = subprocess.run(
        [sys.executable, "-c", _CHILD, "send", path, "--pixel-id", server.pixel_id,
         "--base-url", server.url, "--event-name", "PURCHASE", "--action-source", "OFFLINE",
         "--region", "US", "--quiet"],
        capture_output=True, text=True, timeout=600, env=env, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    peak = int(completed.stdout.rsplit("PEAK", 1)[1])
    return completed.stdout, peak / 1024


def test_200k_rows_go_through_in_bounded_memory(tmp_path):
    """200,000 rows are all accepted; the peak is within a few MB of a 20,000-row run's."""
    with FakeSnapServer(record=False) as server:
        small_out, small_peak = upload(server, make_file(tmp_path / "small.csv.gz", 20_000))
        assert server.accepted_count == 20_000
        out, peak = upload(server, make_file(tmp_path / "big.csv.gz", 200_000))
        assert server.accepted_count == 220_000
    assert "200,000 accepted" in out
    assert "20,000 accepted" in small_out
    # Ten times the rows costs a status byte per row, not the rows or their results.
    print(f"peak RSS: {small_peak:.1f} MB for 20,000 rows, {peak:.1f} MB for 200,000")
    assert peak - small_peak < 10, (small_peak, peak)

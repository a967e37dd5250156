"""Upload last night's offline sales with ``snapcapi send``, against the embedded fake server.

What a data engineer runs from a shell, step by step:

1. ``snapcapi send sales.csv --dry-run``: check every row, send nothing;
2. ``snapcapi send sales.csv --report report.csv``: upload; an outage fails one batch;
3. ``snapcapi send sales.csv --resume report.csv``: send again only what was not accepted.

Run it with ``python examples/offline_upload.py``; it needs no network and no credentials.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone

from snapcapi.testing import FakeSnapServer


def write_sales(path: str) -> None:
    """Write a warehouse export: 12 store sales, two of them flawed."""
    now = datetime.now(timezone.utc)
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["Transaction ID", "Email", "Phone", "Postal Code", "Amount", "Currency",
                         "Sold At", "Store"])  # fmt: skip
        for i in range(12):
            email = f"customer{i}@example.com" if i != 4 else "customer4@"  # a typo
            amount = f"{20 + i * 3.5:.2f}" if i != 9 else ""  # a sale without an amount
            sold = (now - timedelta(hours=12, minutes=i * 7)).strftime("%Y-%m-%d %H:%M:%S+00:00")
            writer.writerow([f"T-{1000 + i}", email, f"(212) 555-{1000 + i:04d}", "10001",
                             amount, "USD", sold, "NYC-5th-Ave"])  # fmt: skip


def snapcapi(*args: str, env: dict[str, str]) -> int:
    """Run the snapcapi command line, as from a shell, and echo its output."""
    print("$ snapcapi", " ".join(args))
    completed = subprocess.run(
        [sys.executable, "-m", "snapcapi", *args], env=env, capture_output=True, text=True
    )
    print(completed.stdout + completed.stderr, end="")
    print(f"(exit {completed.returncode})\n")
    return completed.returncode


def main() -> None:
    """Dry run, upload through an outage, resume."""
    with tempfile.TemporaryDirectory() as tmp, FakeSnapServer() as server:
        sales = os.path.join(tmp, "sales.csv")
        report = os.path.join(tmp, "report.csv")
        write_sales(sales)
        env = {**os.environ, "SNAP_ACCESS_TOKEN": server.token}
        common = ["--event-name", "PURCHASE", "--action-source", "OFFLINE", "--region", "US",
                  "--key", "Transaction ID"]  # fmt: skip
        target = ["--pixel-id", server.pixel_id, "--base-url", server.url, "--quiet"]

        snapcapi("send", sales, "--dry-run", *common, env=env)

        # Snap has an outage for the first batch; retries are turned off to show it quickly.
        server.script(503)
        snapcapi("send", sales, *common, *target, "--batch-size", "4", "--max-retries", "0",
                 "--report", report, env=env)  # fmt: skip
        with open(report, newline="", encoding="utf-8") as stream:
            failed = [line["row"] for line in csv.DictReader(stream) if line["status"] == "FAILED"]
        print(f"rows FAILED in the outage: {', '.join(failed)}\n")

        again = os.path.join(tmp, "report-2.csv")
        snapcapi("send", sales, *common, *target, "--report", again, "--resume", report,
                 env=env)  # fmt: skip
        print(f"Snap recorded {len(server.event_ids())} distinct events from "
              f"{server.accepted_count} accepted; nothing was sent twice.")  # fmt: skip


if __name__ == "__main__":
    main()

"""`snapcapi send` as a real process against a real (fake) server: 200,000 rows in bounded memory,
and what Snap answered about each event in the report."""

from __future__ import annotations

import csv
import gzip
import json
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


def send(server, path, *argv):
    env = {**os.environ, "SNAP_ACCESS_TOKEN": server.token}
    return subprocess.run(
        [sys.executable, "-m", "snapcapi", "send", path, "--pixel-id", server.pixel_id,
         "--base-url", server.url, "--event-name", "PURCHASE", "--action-source", "OFFLINE",
         "--region", "US", "--max-retries", "0", *argv],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip


def test_the_report_keeps_snaps_messages_status_and_request_id(tmp_path):
    """A REJECTED row carries Snap's message, 400 and the request id, in CSV and in JSONL.

    Rows settled without asking Snap (INVALID here, or accepted in the run resumed) have none.
    """
    source = tmp_path / "orders.csv"
    with open(source, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["event_id", "email", "price", "currency", "timestamp"])
        writer.writerows([["o1", "a@example.com", "1.50", "USD", WHEN],
                          ["o2", "b@example.com", "2.50", "USD", WHEN],
                          ["o3", "c@example.com", "", "USD", WHEN]])  # fmt: skip
    message = "Currency not enabled for this ad account; check 'custom_data.currency', then resend"
    with FakeSnapServer() as server:
        server.reject("o2", code="INVALID_CURRENCY", message=message)
        first = send(server, str(source), "--report", tmp_path / "r.csv")
        assert first.returncode == 1, first.stdout + first.stderr
        refused = [r.request_id for r in server.received if r.status == 400]
        # The second run resumes the first: o1 is not sent again, o2 is refused again.
        again = ("--report", tmp_path / "r.jsonl", "--resume", tmp_path / "r.csv")
        second = send(server, str(source), *again)
        assert second.returncode == 1, second.stdout + second.stderr
        refused_again = [r.request_id for r in server.received if r.status == 400][len(refused) :]
    assert len(refused) == len(refused_again) == 1
    assert all(refused + refused_again)

    with open(tmp_path / "r.csv", newline="", encoding="utf-8") as stream:
        assert stream.readline().rstrip("\n").split(",")[-3:] == [
            "messages",
            "http_status",
            "request_id",
        ]
        stream.seek(0)
        csv_lines = {line["event_id"]: line for line in csv.DictReader(stream)}
    rejected = csv_lines["o2"]
    assert (rejected["status"], rejected["codes"]) == ("REJECTED", "INVALID_CURRENCY")
    assert rejected["messages"] == message
    assert (rejected["http_status"], rejected["request_id"]) == ("400", refused[0])
    assert csv_lines["o1"]["status"] == "ACCEPTED"
    assert csv_lines["o1"]["http_status"] == "200"
    assert csv_lines["o1"]["request_id"]
    invalid = csv_lines["o3"]
    assert invalid["status"] == "INVALID"
    assert (invalid["messages"], invalid["http_status"], invalid["request_id"]) == ("", "", "")

    with open(tmp_path / "r.jsonl", encoding="utf-8") as stream:
        jsonl_lines = {line["event_id"]: line for line in map(json.loads, stream)}
    rejected = jsonl_lines["o2"]
    assert (rejected["status"], rejected["codes"]) == ("REJECTED", ["INVALID_CURRENCY"])
    assert rejected["messages"] == [message]
    assert (rejected["http_status"], rejected["request_id"]) == (400, refused_again[0])
    for local in ("o1", "o3"):  # accepted in the run resumed; invalid here
        assert jsonl_lines[local]["status"] in ("ACCEPTED", "INVALID")
        assert (jsonl_lines[local]["messages"], jsonl_lines[local]["http_status"],
                jsonl_lines[local]["request_id"]) == ([], None, None)  # fmt: skip
    assert jsonl_lines["o1"]["reason"] == "accepted in an earlier run (--resume)"

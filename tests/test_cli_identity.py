"""`snapcapi send` identity end to end: resume by event id, re-exports, settings, output files.

Each test runs the real command in a subprocess against a FakeSnapServer, on files laid out as
an order export is: re-exported the next day with new orders on top, cut off by an outage,
resumed from another file's report.
"""

from __future__ import annotations

import csv
import json
import os
import pathlib
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from snapcapi.testing import FakeSnapServer

HEADER = ["order_id", "email", "phone", "country", "total", "currency", "created_at"]


def order(i: int, hours: float = 3) -> list[str]:
    when = datetime.now(timezone.utc) - timedelta(hours=hours, minutes=i)
    return [f"#{1000 + i}", f"buyer{i}@example.com", f"+1 415 555 01{i % 100:02d}", "US",
            f"{10 + i}.50", "USD", when.strftime("%Y-%m-%dT%H:%M:%SZ")]  # fmt: skip


def write(path, rows, header=HEADER):
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def report(path):
    with open(path, newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


@pytest.fixture
def server():
    with FakeSnapServer() as fake:
        yield fake


def snapcapi(server, *argv, check=None):
    env = {**os.environ, "SNAP_ACCESS_TOKEN": server.token}
    completed = subprocess.run(
        [sys.executable, "-m", "snapcapi", *map(str, argv)],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    if check is not None:
        assert completed.returncode == check, completed.stdout + completed.stderr
    return completed


def send(server, source, *argv, check=None):
    return snapcapi(
        server, "send", source, "--pixel-id", server.pixel_id, "--base-url", server.url,
        "--event-name", "PURCHASE", "--action-source", "OFFLINE", "--max-retries", 0,
        "--key", "order_id", *argv, check=check,
    )  # fmt: skip


def ids_per_order(server):
    """Map each order id Snap received to the set of event ids it came under."""
    found: dict[str, set[str]] = {}
    for event in server.events:
        found.setdefault(event["custom_data"]["order_id"], set()).add(event["event_id"])
    return found


def test_outage_resume_and_next_day_reexport_give_one_event_per_order(server, tmp_path):
    """Interrupted run, resume, then tomorrow's export (new orders on top): each order once."""
    today = [order(i) for i in range(40)]
    source = write(tmp_path / "orders.csv", today)
    server.script(503, times=1)  # the first batch is lost to an outage
    send(server, source, "--batch-size", 10, "--report", tmp_path / "r1.csv", check=1)
    assert server.accepted_count == 30
    send(server, source, "--report", tmp_path / "r2.csv", "--resume", tmp_path / "r1.csv",
         check=0)  # fmt: skip
    assert server.accepted_count == 40
    # Tomorrow: five new orders at the top, yesterday's below, in another order.
    tomorrow = [order(i, hours=1) for i in range(40, 45)] + today[::-1]
    source2 = write(tmp_path / "orders-tomorrow.csv", tomorrow)
    send(server, source2, "--report", tmp_path / "r3.csv", "--resume", tmp_path / "r2.csv",
         check=0)  # fmt: skip
    assert server.accepted_count == 45  # only the five new ones were sent
    received = ids_per_order(server)
    assert set(received) == {row[0] for row in tomorrow}
    assert all(len(ids) == 1 for ids in received.values())
    third = report(tmp_path / "r3.csv")
    assert sum(r["reason"] == "accepted in an earlier run (--resume)" for r in third) == 40


def test_resuming_another_files_report_marks_nothing_it_has_not_seen(server, tmp_path):
    """File A's report does not make file B's rows ACCEPTED: B's rows are sent."""
    file_a = write(tmp_path / "a.csv", [order(i) for i in range(10)])
    send(server, file_a, "--report", tmp_path / "ra.csv", check=0)
    file_b = write(tmp_path / "b.csv", [order(i) for i in range(100, 120)])
    send(server, file_b, "--report", tmp_path / "rb.csv", "--resume", tmp_path / "ra.csv",
         check=0)  # fmt: skip
    assert server.accepted_count == 30
    assert all(r["reason"] == "" for r in report(tmp_path / "rb.csv"))


def test_resume_with_settings_that_change_ids_is_refused_in_one_line(server, tmp_path):
    """A report made with another --key (or --timezone, --map...) cannot be resumed."""
    source = write(tmp_path / "orders.csv", [order(i) for i in range(3)])
    send(server, source, "--report", tmp_path / "r1.csv", check=0)
    assert os.path.exists(tmp_path / "r1.csv.meta.json")
    refused = snapcapi(
        server, "send", source, "--pixel-id", server.pixel_id, "--base-url", server.url,
        "--event-name", "PURCHASE", "--action-source", "OFFLINE", "--key", "email",
        "--resume", tmp_path / "r1.csv", check=2,
    )  # fmt: skip
    assert refused.stderr.count("\n") == 1
    assert "--key" in refused.stderr
    assert "order_id" in refused.stderr
    assert server.accepted_count == 3


def test_without_a_key_ids_come_from_content_and_identical_rows_collapse(server, tmp_path):
    """No key, no event_id column: identical rows are one event, and the summary says so."""
    rows = [order(1), order(2), order(1)]
    source = write(tmp_path / "orders.csv", rows)
    completed = snapcapi(
        server, "send", source, "--pixel-id", server.pixel_id, "--base-url", server.url,
        "--event-name", "PURCHASE", "--action-source", "OFFLINE", check=0,
    )  # fmt: skip
    assert server.accepted_count == 2
    assert "1 row was collapsed into an earlier row with the same event_id" in completed.stdout


def test_invalid_out_holds_the_rows_to_fix_with_their_columns(server, tmp_path):
    """--invalid-out: INVALID and REJECTED rows, original columns plus status and reason."""
    rows = [order(i) for i in range(4)]
    rows[1][4] = ""  # a purchase without its amount
    source = write(tmp_path / "orders.csv", rows)
    rejected_id = None
    # Learn the id the key gives order #1003, then have the server reject it.
    dry = snapcapi(server, "send", source, "--dry-run", "--event-name", "PURCHASE",
                   "--action-source", "OFFLINE", "--key", "order_id", "--report",
                   tmp_path / "dry.csv", check=1)  # fmt: skip
    assert dry.returncode == 1
    rejected_id = report(tmp_path / "dry.csv")[3]["event_id"]
    server.reject(rejected_id, code="INVALID_EVENT", message="Snap says no")
    send(server, source, "--invalid-out", tmp_path / "fix.csv", check=1)
    fixes = report(tmp_path / "fix.csv")
    assert [(f["order_id"], f["status"]) for f in fixes] == [("#1001", "INVALID"),
                                                              ("#1003", "REJECTED")]  # fmt: skip
    assert list(fixes[0])[: len(HEADER)] == HEADER
    assert "value" in fixes[0]["reason"]


def test_max_error_rate_stops_early_and_reports_what_was_sent(server, tmp_path):
    """Past --max-error-rate the run stops with exit 1; the report covers every row read."""
    rows = [order(i) for i in range(300)]
    for row in rows[50:]:
        row[1] = row[2] = ""  # no matching key: INVALID
    source = write(tmp_path / "orders.csv", rows)
    completed = send(server, source, "--max-error-rate", "0.2", "--min-rows", "100",
                     "--report", tmp_path / "r.csv", check=1)  # fmt: skip
    assert "stopped early" in completed.stdout
    lines = report(tmp_path / "r.csv")
    assert 100 <= len(lines) < 300
    assert server.accepted_count == 50


def test_explain_shows_the_mapping_and_masked_values_then_exits(server, tmp_path):
    """--explain prints the table and the first 3 rows' normalized values, PII masked."""
    source = write(tmp_path / "orders.csv", [order(i) for i in range(5)])
    completed = send(server, source, "--explain", check=0)
    out = completed.stdout
    assert "columns → fields:" in out
    assert "created_at" in out
    assert out.count("\nrow ") == 3
    assert "buyer1@example.com" not in out
    assert "4155550101" not in out
    assert server.accepted_count == 0


def test_the_mapping_table_is_printed_and_quiet_hides_it(server, tmp_path):
    """Every run prints the column → field table; --quiet hides it."""
    source = write(tmp_path / "orders.csv", [[*order(1), "web"]], header=[*HEADER, "Source"])
    shown = send(server, source, "--dry-run", check=0)
    assert "not read: Source: a generic name" in shown.stdout
    quiet = send(server, source, "--dry-run", "--quiet", check=0)
    assert "columns → fields" not in quiet.stdout


def test_a_closed_pipe_ends_quietly(server, tmp_path):
    """`snapcapi send ... | head -1` ends without a traceback."""
    source = write(tmp_path / "orders.csv", [order(i) for i in range(50)])
    command = (
        f"{sys.executable} -m snapcapi send {source} --dry-run --event-name PURCHASE "
        "--action-source OFFLINE | head -1"
    )
    completed = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=60
    )
    assert completed.stderr == ""
    assert completed.stdout.startswith("columns → fields")


def test_fake_server_command_serves_until_interrupted(tmp_path):
    """`snapcapi fake-server` prints its URL; `snapcapi send` reaches it; Ctrl-C stops it."""
    import signal

    process = subprocess.Popen(
        [sys.executable, "-m", "snapcapi", "fake-server", "--pixel-id", "px-1"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        url = first.split(" at ")[1].split()[0]
        token = [process.stdout.readline() for _ in range(3)][2].split("=", 1)[1].strip()
        source = write(tmp_path / "orders.csv", [order(1)])
        env = {**os.environ, "SNAP_ACCESS_TOKEN": token, "SNAP_CAPI_BASE_URL": url}
        sent = subprocess.run(
            [sys.executable, "-m", "snapcapi", "send", source, "--pixel-id", "px-1",
             "--event-name", "PURCHASE", "--action-source", "OFFLINE"],
            capture_output=True, text=True, timeout=60, env=env, check=False,
        )  # fmt: skip
        assert sent.returncode == 0, sent.stdout + sent.stderr
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=10)
    assert "stopped; 1 event accepted" in out


def test_dry_run_and_diagnose_agree_on_the_same_file_and_flags(server, tmp_path):
    """A bad zip never loses a purchase: send --dry-run and diagnose count the same events."""
    rows = [order(i) for i in range(12)]
    header = [*HEADER, "zip"]
    rows = [[*row, "'75008"] for row in rows]
    rows[0][-1] = "75@08"  # a zip that cannot be normalized: dropped, the event stays
    rows[1][1] = "broken@"  # a bad email; the phone still matches
    rows[2][1] = rows[2][2] = ""  # no matching key at all: INVALID
    rows[3][4] = ""  # a purchase without its amount: INVALID
    rows[4][6] = (datetime.now(timezone.utc) - timedelta(days=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    source = write(tmp_path / "orders.csv", rows, header=header)
    flags = ("--event-name", "PURCHASE", "--action-source", "OFFLINE", "--key", "order_id")
    dry = snapcapi(server, "send", source, "--dry-run", *flags, "--report", tmp_path / "r.csv")
    statuses = [r["status"] for r in report(tmp_path / "r.csv")]
    diagnosed = snapcapi(server, "diagnose", source, *flags, "--json", check=0)
    data = json.loads(diagnosed.stdout)
    assert statuses.count("VALID") == data["usable_events"] == 9, dry.stdout
    assert statuses.count("INVALID") == 3
    assert "2 identifiers were unusable and dropped (events kept)" in dry.stdout
    gate = snapcapi(server, "diagnose", source, *flags, "--fail-under", "95")
    assert gate.returncode == 1
    assert "below --fail-under 95" in gate.stdout


def test_diagnose_exits_1_when_no_row_is_usable(server, tmp_path):
    """A file none of whose rows can be sent fails diagnose, for CI gates."""
    rows = [order(i) for i in range(3)]
    for row in rows:
        row[1] = row[2] = ""
    source = write(tmp_path / "orders.csv", rows)
    completed = snapcapi(server, "diagnose", source, "--event-name", "PURCHASE",
                         "--action-source", "OFFLINE", check=1)  # fmt: skip
    assert "no row of the file can be sent" in completed.stdout


def test_ctrl_c_prints_the_summary_and_keeps_a_report_being_resumed(server, tmp_path):
    """SIGINT mid-send: exit 130, the summary counts the rows read, nothing accepted is lost."""
    import signal
    import time

    source = write(tmp_path / "orders.csv", [order(i % 100) for i in range(2)])
    send(server, source, "--report", tmp_path / "r.csv", check=0)
    before = report(tmp_path / "r.csv")
    big = write(tmp_path / "big.csv", [order(i) for i in range(100)] * 1)
    slow = FakeSnapServer(latency=0.5, pixel_id=server.pixel_id, token=server.token).start()
    try:
        env = {**os.environ, "SNAP_ACCESS_TOKEN": slow.token}
        process = subprocess.Popen(
            [sys.executable, "-m", "snapcapi", "send", big, "--pixel-id", slow.pixel_id,
             "--base-url", slow.url, "--event-name", "PURCHASE", "--action-source", "OFFLINE",
             "--key", "order_id", "--batch-size", "10", "--report", tmp_path / "r.csv",
             "--resume", tmp_path / "r.csv"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        # Interrupt once the run is under way (its report is open), however slow the machine.
        deadline = time.monotonic() + 60
        while not (tmp_path / "r.partial.csv").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        slow.stop()
    assert process.returncode == 130, out + err
    assert "rows processed" in out
    assert "the run did not complete" in out
    # The report resumed now holds this run's lines and the earlier accepted ones it lacked.
    after = report(tmp_path / "r.csv")
    accepted = {line["event_id"] for line in after if line["status"] == "ACCEPTED"}
    assert {line["event_id"] for line in before} <= accepted
    assert not os.path.exists(tmp_path / "r.partial.csv")


def test_max_error_rate_does_not_stop_a_healthy_file(server, tmp_path):
    """10% bad rows spread evenly never pass a 20% limit, however the batches fall."""
    rows = [order(i) for i in range(300)]
    for row in rows[::10]:
        row[1] = row[2] = ""
    source = write(tmp_path / "orders.csv", rows)
    completed = send(server, source, "--max-error-rate", "0.2", "--min-rows", "50",
                     "--report", tmp_path / "r.csv", check=1)  # fmt: skip
    assert "stopped early" not in completed.stdout
    assert len(report(tmp_path / "r.csv")) == 300
    assert server.accepted_count == 270


def test_every_row_read_is_in_the_report_when_the_rate_stops_the_run(server, tmp_path):
    """The row that trips --max-error-rate is reported like every row before it."""
    rows = [order(i) for i in range(400)]
    for row in rows[100:]:
        row[1] = row[2] = ""
    source = write(tmp_path / "orders.csv", rows)
    completed = send(server, source, "--max-error-rate", "0.1", "--min-rows", "100",
                     "--batch-size", "50", "--report", tmp_path / "r.csv", check=1)  # fmt: skip
    lines = report(tmp_path / "r.csv")
    numbers = sorted(int(r["row"]) for r in lines)
    assert numbers == list(range(1, len(numbers) + 1))  # no row read is missing
    assert f"{len(numbers)} rows processed" in completed.stdout
    assert server.accepted_count == 100


def test_a_filter_on_a_missing_column_is_a_usage_error_naming_the_flag(server, tmp_path):
    """A typo in --where would skip the whole night's upload: exit 2 naming --where."""
    source = write(tmp_path / "orders.csv", [order(1)])
    completed = send(server, source, "--where", "Finacial Status=paid", check=2)
    assert "--where: column 'Finacial Status' is not in the file" in completed.stderr
    assert server.accepted_count == 0


def test_a_file_whose_rows_are_all_filtered_exits_1(server, tmp_path):
    """Skipping every row is not a success."""
    source = write(tmp_path / "orders.csv", [order(1)], header=[*HEADER[:-1], "created_at"])
    completed = send(server, source, "--where", "currency=EUR", check=1)
    assert "every row was skipped" in completed.stdout


def test_invalid_out_of_a_jsonl_file_keeps_its_fields(server, tmp_path):
    """A JSON record's own status field is never overwritten; the file must be .jsonl."""
    line = {"order_id": "#1", "status": "completed", "event_time": order(1)[6],
            "total": "1", "currency": "USD"}  # fmt: skip
    source = tmp_path / "orders.jsonl"
    source.write_text(json.dumps(line) + "\n", encoding="utf-8")
    wrong = send(server, source, "--invalid-out", tmp_path / "fix.csv", check=2)
    assert "--invalid-out" in wrong.stderr
    send(server, source, "--invalid-out", tmp_path / "fix.jsonl", check=1)
    (fixed,) = [json.loads(x) for x in (tmp_path / "fix.jsonl").read_text().splitlines()]
    assert fixed["status"] == "completed"
    assert fixed["snapcapi_status"] == "INVALID"


def test_an_edited_copy_of_a_preset_resumes_its_reports(server, tmp_path):
    """The preset's name is not an id setting: `presets shopify > mine.toml` resumes alike."""
    folder = tmp_path / "exports"
    generator = pathlib.Path(__file__).resolve().parent.parent / "examples/data/make_exports.py"
    today = datetime.now(timezone.utc).date().isoformat()
    subprocess.run([sys.executable, str(generator), "--out", str(folder), "--today", today],
                   check=True, capture_output=True)  # fmt: skip
    copy = tmp_path / "mine.toml"
    copy.write_text(snapcapi(server, "presets", "shopify", check=0).stdout, encoding="utf-8")
    base = ("send", folder / "shopify_orders.csv", "--pixel-id", server.pixel_id,
            "--base-url", server.url)  # fmt: skip
    snapcapi(server, *base, "--preset", "shopify", "--report", tmp_path / "r.csv")
    accepted = server.accepted_count
    again = snapcapi(server, *base, "--preset", copy, "--resume", tmp_path / "r.csv")
    assert again.returncode in (0, 1), again.stderr
    assert server.accepted_count == accepted


def test_files_as_spreadsheets_leave_them_are_read(server, tmp_path):
    """UTF-16 with a BOM, unnamed trailing columns, no final line break: read, and said so."""
    rows = [order(1), order(2)]
    text = ",".join([*HEADER, "", ""]) + "\n" + "\n".join(",".join([*r, "", ""]) for r in rows)
    source = tmp_path / "orders.csv"
    source.write_bytes(text.encode("utf-16"))
    completed = send(server, source, "--dry-run", check=0)
    assert "2 valid" in completed.stdout
    assert "does not end with a line break" in completed.stdout


def test_a_file_whose_line_items_are_not_together_is_refused_before_sending(server, tmp_path):
    """--group-by on a shuffled export: exit 2 and nothing sent (no order goes out half)."""
    header = ["Name", "email", "created_at", "total", "currency", "sku"]
    when = order(1)[6]
    rows = [["#1", "a@example.com", when, "20", "USD", "A"], ["#2", "b@example.com", when, "5",
            "USD", "C"], ["#1", "", "", "", "", "B"]]  # fmt: skip
    source = write(tmp_path / "orders.csv", rows, header=header)
    completed = snapcapi(
        server, "send", source, "--pixel-id", server.pixel_id, "--base-url", server.url,
        "--event-name", "PURCHASE", "--action-source", "OFFLINE", "--key", "Name",
        "--group-by", "Name", "--map", "contents.id=sku", check=2,
    )  # fmt: skip
    assert "--group-by: the rows of 1 Name values are not together" in completed.stderr
    assert "sort the file by Name" in completed.stderr
    assert server.accepted_count == 0


def test_malformed_json_in_a_path_column_is_invalid_not_silently_empty(server, tmp_path):
    """A products column cut short makes its row INVALID instead of losing its items."""
    header = [*HEADER, "products"]
    rows = [[*order(1), '[{"product_id": "A"}]'], [*order(2), '[{"product_id": "B"']]
    source = write(tmp_path / "orders.csv", rows, header=header)
    completed = send(server, source, "--dry-run", "--map", "contents.id=products.product_id",
                     "--report", tmp_path / "r.csv", check=1)  # fmt: skip
    lines = report(tmp_path / "r.csv")
    assert [r["status"] for r in lines] == ["VALID", "INVALID"]
    assert "holds text that is not JSON" in lines[1]["reason"]
    assert "1 invalid" in completed.stdout


def test_a_repeated_column_name_stops_only_a_run_that_reads_it(server, tmp_path):
    """Two unread 'note' columns are fine; two 'email' columns are an error."""
    header = [*HEADER, "note", "note"]
    source = write(tmp_path / "orders.csv", [[*order(1), "x", "y"]], header=header)
    send(server, source, "--dry-run", check=0)
    twice = write(tmp_path / "twice.csv", [[*order(1), "c@example.com"]], header=[*HEADER, "email"])
    refused = send(server, twice, "--dry-run", check=2)
    assert "more than one column named 'email'" in refused.stderr


def test_require_consent_without_a_consent_column_is_a_usage_error(server, tmp_path):
    """Skipping every row for want of a consent column is a mistake: say which flag fixes it."""
    source = write(tmp_path / "orders.csv", [order(1)])
    completed = send(server, source, "--dry-run", "--require-consent", check=2)
    assert "--require-consent:" in completed.stderr
    assert "--consent-column COLUMN" in completed.stderr


def test_reasons_are_grouped_without_their_values(server, tmp_path):
    """Thirty different bad times are one reason line counting thirty."""
    rows = [order(i) for i in range(30)]
    for i, row in enumerate(rows):
        row[6] = f"11/{i % 28 + 1:02d}/2026 10:{i:02d}"
    source = write(tmp_path / "orders.csv", rows)
    completed = send(server, source, "--dry-run", check=1)
    reasons = completed.stdout.split("top reasons:\n", 1)[1].splitlines()
    assert reasons[0].split()[0] == "30"
    assert "--time-format" in reasons[0]


def test_resume_tells_apart_two_events_under_one_event_id(server, tmp_path):
    """An order's PURCHASE accepted yesterday does not make today's SIGN_UP of it ACCEPTED."""
    header = ["event_id", "event_name", "email", "event_time", "value", "currency"]
    when = order(1)[6]
    first = write(tmp_path / "p1.csv", [["o1", "PURCHASE", "a@example.com", when, "5", "USD"]],
                  header=header)  # fmt: skip
    snapcapi(server, "send", first, "--pixel-id", server.pixel_id, "--base-url", server.url,
             "--action-source", "OFFLINE", "--report", tmp_path / "r.csv", check=0)  # fmt: skip
    second = write(tmp_path / "p2.csv", [["o1", "PURCHASE", "a@example.com", when, "5", "USD"],
                                         ["o1", "SIGN_UP", "a@example.com", when, "", ""]],
                   header=header)  # fmt: skip
    snapcapi(server, "send", second, "--pixel-id", server.pixel_id, "--base-url", server.url,
             "--action-source", "OFFLINE", "--resume", tmp_path / "r.csv", check=0)  # fmt: skip
    assert sorted(e["event_name"] for e in server.events) == ["PURCHASE", "SIGN_UP"]


def test_a_path_into_text_that_is_not_json_in_a_filter_is_a_row_problem(server, tmp_path):
    """A filter's path into a cell that is not JSON fails that row, not the run."""
    lines = [{"event_name": "SIGN_UP", "event_time": order(i)[6], "email": f"u{i}@example.com",
              "meta": '{"test": "no"}'} for i in range(3)]  # fmt: skip
    lines[2]["meta"] = "garbage"
    source = tmp_path / "f.jsonl"
    source.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    completed = snapcapi(server, "send", source, "--pixel-id", server.pixel_id, "--base-url",
                         server.url, "--action-source", "OFFLINE", "--exclude", "meta.test=yes",
                         "--report", tmp_path / "r.csv", check=1)  # fmt: skip
    lines = sorted(report(tmp_path / "r.csv"), key=lambda r: int(r["row"]))
    assert [r["status"] for r in lines] == ["ACCEPTED", "ACCEPTED", "INVALID"]
    assert "rows processed" in completed.stdout


def test_cut_utf16_unreadable_lines_and_set_consent_are_handled(server, tmp_path):
    """A UTF-16 file cut at an odd byte reads; an unreadable line inside an order does not
    split it; --set consent=true satisfies --require-consent."""
    text = ",".join(HEADER) + "\n" + ",".join(order(1)) + "\n"
    cut = tmp_path / "cut.csv"
    cut.write_bytes(text.encode("utf-16") + b"x")
    read = send(server, cut, "--dry-run", check=1)  # the cut-off byte is a last, broken row
    assert "1 valid, 1 invalid" in read.stdout
    assert "Traceback" not in read.stderr
    header = ["Name", "email", "created_at", "total", "currency", "sku"]
    when = order(1)[6]
    rows = [["#1", "a@example.com", when, "20", "USD", "A"],
            ["#1", "", "", "", "", "B", "extra"],  # one value too many: unreadable
            ["#1", "", "", "", "", "C"],
            ["#2", "b@example.com", when, "5", "USD", "D"]]  # fmt: skip
    source = write(tmp_path / "orders.csv", rows, header=header)
    grouped = snapcapi(
        server, "send", source, "--dry-run", "--event-name", "PURCHASE", "--action-source",
        "OFFLINE", "--key", "Name", "--group-by", "Name", "--map", "contents.id=sku",
        "--payload-out", tmp_path / "p.jsonl", check=1,
    )  # fmt: skip
    assert "2 valid, 1 invalid" in grouped.stdout
    payloads = [json.loads(x) for x in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert [len(p["custom_data"]["contents"]) for p in payloads] == [2, 1]
    consent = send(server, write(tmp_path / "c.csv", [order(1)]), "--dry-run", "--set",
                   "consent=true", "--require-consent", check=0)  # fmt: skip
    assert "1 valid" in consent.stdout


def _interrupt_when(process, server, accepted):
    """Send SIGINT once the server has accepted ``accepted`` events (or after 60 s)."""
    import signal
    import time

    deadline = time.monotonic() + 60
    while server.accepted_count < accepted and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    return process.communicate(timeout=60)


def test_following_the_advice_after_two_interrupted_resumes_resends_nothing_accepted(tmp_path):
    """--report R --resume R interrupted twice, then again: no event either run got accepted resent.

    The second interrupted run's accepted events once sat in R.partial.csv, which the third
    run (resuming R, as the summary said) never read: it sent all of them again.
    """
    source = write(tmp_path / "orders.csv", [order(i) for i in range(300)])
    path = tmp_path / "r.csv"
    slow = FakeSnapServer(latency=0.2).start()
    try:
        env = {**os.environ, "SNAP_ACCESS_TOKEN": slow.token}
        argv = [sys.executable, "-m", "snapcapi", "send", source, "--pixel-id", slow.pixel_id,
                "--base-url", slow.url, "--event-name", "PURCHASE", "--action-source",
                "OFFLINE", "--key", "order_id", "--batch-size", "10", "--report", path]  # fmt: skip
        first = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=env)  # fmt: skip
        _interrupt_when(first, slow, 40)
        after_first = {r["event_id"] for r in report(path) if r["status"] == "ACCEPTED"}
        sent_first = slow.event_ids()
        second = subprocess.Popen([*argv, "--resume", path], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
        out, err = _interrupt_when(second, slow, slow.accepted_count + 40)
        assert second.returncode == 130, out + err
        assert "resume with it again" in out
        after_second = {r["event_id"] for r in report(path) if r["status"] == "ACCEPTED"}
        assert after_first < after_second  # the second run's accepted events are in R
        assert after_second - sent_first  # some were first sent by the second run
        before = len(slow.events)
        third = subprocess.run([*argv, "--resume", path], capture_output=True, text=True,
                               env=env, timeout=120, check=False)  # fmt: skip
        resent = {event["event_id"] for event in slow.events[before:]}
    finally:
        slow.stop()
    assert third.returncode == 0, third.stdout + third.stderr
    assert not resent & after_second
    assert len(slow.unique_events()) == 300


def test_a_report_left_aside_is_merged_before_resuming(server, tmp_path):
    """R.partial.csv left by an interrupted run (merge failed): --resume R skips its rows too."""
    rows = [order(i) for i in range(60)]
    send(server, write(tmp_path / "first.csv", rows[:20]), "--report", tmp_path / "r.csv", check=0)
    send(server, write(tmp_path / "second.csv", rows[20:40]), "--report",
         tmp_path / "r.partial.csv", check=0)  # fmt: skip
    assert server.accepted_count == 40
    done = send(server, write(tmp_path / "orders.csv", rows), "--report", tmp_path / "r.csv",
                "--resume", tmp_path / "r.csv", check=0)  # fmt: skip
    assert "r.partial.csv, the lines an interrupted run wrote aside, was merged" in done.stdout
    assert "40 rows were accepted in an earlier run" in done.stdout
    assert server.accepted_count == 60
    assert len(server.unique_events()) == 60
    assert not os.path.exists(tmp_path / "r.partial.csv")

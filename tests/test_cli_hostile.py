"""`python -m snapcapi` on broken files, hostile values, odd flags and hostile answers.

Each test runs the command line as users meet it, in a subprocess (as on a UTF-8 terminal
whose output encoding refuses what it cannot encode), on files laid out like real exports,
against the fake Snap server: no traceback, no row lost without a trace.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from conftest import run_snapcapi as snapcapi

from snapcapi._bulk import BulkSummary
from snapcapi._files import REPORT_TEXT_LIMIT, EscapingText, ReportWriter
from snapcapi._resume import AcceptedIds, ReportMeta

WHEN = (datetime.now(timezone.utc) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
COLUMNS = ["event_id", "Email", "Note", "Total", "Currency", "Created at"]
DEFAULTS = ("--event-name", "PURCHASE", "--action-source", "OFFLINE")


def order(i, note="Leave at the door"):
    return [f"A{i}", f"buyer{i}@example.com", note, f"{i}.50", "USD", WHEN]


def read_report(path):
    with open(path, newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


# --------------------------------------------------------------------------- unbalanced quotes


def _export(path, count, broken_note, later=None, note="Leave at the door"):
    """Write an export whose row 2 has a note over two lines and row 5 an unbalanced quote.

    ``later`` maps row numbers to raw lines that replace theirs (a stray quote further down).
    """
    lines = [",".join(COLUMNS)]
    for i in range(1, count + 1):
        if i == 2:
            lines.append(f'A2,buyer2@example.com,"Ring twice,\nthen wait",2.50,USD,{WHEN}')
        elif i == 5:
            lines.append(f"A5,buyer5@example.com,{broken_note},5.50,USD,{WHEN}")
        elif later and i in later:
            lines.append(later[i])
        else:
            lines.append(",".join(order(i, note)))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


LAYOUTS = {
    # The quote opened on row 5 (line 7) is never closed: the file ends inside it.
    "never closed": {"count": 300, "broken_note": '"Leave at the door'},
    # A stray quote on row 9 closes it: a value over lines 7-11 that swallowed rows 6-8.
    "closed by a stray quote": {
        "count": 300,
        "broken_note": '"Leave at the door',
        "later": {9: f'A9,buyer9@example.com,27" screen,9.50,USD,{WHEN}'},
    },
    # As in the issue: hundreds of lines swallowed up to the csv module's field limit.
    "past the field limit": {"count": 2100, "broken_note": '"Leave', "note": "n" * 160},
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_an_unbalanced_quote_fails_its_row_alone_and_loses_no_row_after_it(
    snap_server, tmp_path, layout
):
    """The quote's row is INVALID naming its line; every later row keeps its number and is sent."""
    settings = LAYOUTS[layout]
    source = _export(tmp_path / "orders_export.csv", **settings)
    count = settings["count"]
    report = tmp_path / "report.csv"
    done = snapcapi("send", source, *DEFAULTS, "--report", report, "--quiet", server=snap_server)
    assert done.returncode == 1, done.stderr
    lines = read_report(report)
    by_row = {int(line["row"]): line for line in lines}
    assert sorted(by_row) == list(range(1, count + 1))
    broken = by_row.pop(5)
    assert broken["status"] == "INVALID"
    assert broken["codes"] == "unreadable_csv"
    assert "line 7" in broken["reason"]
    assert "Leave at the door" not in broken["reason"]
    assert all(line["status"] == "ACCEPTED" for line in by_row.values())
    assert all(line["event_id"] == f"A{row}" for row, line in by_row.items())
    assert snap_server.event_ids() == {f"A{i}" for i in range(1, count + 1) if i != 5}
    assert "unreadable CSV" in done.stdout

    again = tmp_path / "report2.csv"
    resumed = snapcapi("send", source, *DEFAULTS, "--report", again, "--resume", report,
                       "--quiet", server=snap_server)  # fmt: skip
    assert resumed.returncode == 1, resumed.stderr
    assert f"{count - 1:,} rows were accepted in an earlier run" in resumed.stdout
    assert snap_server.accepted_count == count - 1


# --------------------------------------------------------------------------- damaged .gz


def _gz_export(path, count):
    body = io.StringIO()
    writer = csv.writer(body, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(order(i) for i in range(1, count + 1))
    data = gzip.compress(body.getvalue().encode("utf-8"))
    path.write_bytes(data)
    return data


def test_a_cut_gz_sends_the_rows_before_the_cut_then_exits_2(snap_server, tmp_path):
    """A .gz cut short: the whole rows before the cut are sent and reported; one line; exit 2."""
    source = tmp_path / "orders_export.csv.gz"
    data = _gz_export(source, 5000)
    source.write_bytes(data[: len(data) // 2])
    report = tmp_path / "report.csv"
    done = snapcapi("send", source, *DEFAULTS, "--report", report, "--quiet", server=snap_server)
    assert done.returncode == 2
    lines = read_report(report)
    last = len(lines)
    assert 0 < last < 5000
    assert sorted(int(line["row"]) for line in lines) == list(range(1, last + 1))
    assert {line["status"] for line in lines} == {"ACCEPTED"}
    assert snap_server.event_ids() == {f"A{i}" for i in range(1, last + 1)}  # no cut row sent
    [message] = done.stderr.splitlines()
    assert message.startswith("snapcapi: error: ")
    assert f"is cut short after row {last:,}" in message
    assert f"{last:,} rows processed" in done.stdout


def test_a_damaged_gz_sends_nothing_and_says_so_honestly(snap_server, tmp_path):
    """A .gz whose check fails (CRC, or bytes flipped a third in): no row read or sent, one line.

    Corrupt deflate data decompresses to plausible rows until gzip's check at the end of the
    stream: the file once said "damaged after row 5,075" of 5,000 and numbered garbage rows.
    """
    source = tmp_path / "orders.csv.gz"
    data = bytearray(_gz_export(source, 3000))
    data[-6] ^= 0xFF  # the CRC: every row decompresses, the check fails at the end
    source.write_bytes(bytes(data))
    done = snapcapi("send", source, *DEFAULTS, "--dry-run", "--quiet")
    assert done.returncode == 2
    [message] = done.stderr.splitlines()
    assert "is a damaged .gz (CRC check failed" in message
    assert "none was read or sent" in message
    assert "rows checked" not in done.stdout

    data[-6] ^= 0xFF
    third = len(data) // 3
    data[third : third + 2] = bytes(b ^ 0xFF for b in data[third : third + 2])
    source.write_bytes(bytes(data))
    report = tmp_path / "r.csv"
    for command in ("send", "diagnose"):
        done = snapcapi(command, source, *DEFAULTS, "--quiet",
                        *(("--report", report) if command == "send" else ()),
                        server=snap_server if command == "send" else None)  # fmt: skip
        assert done.returncode == 2
        [message] = done.stderr.splitlines()
        assert "is a damaged .gz" in message
        assert "after row" not in message  # no count of rows the file may not have
    assert snap_server.request_count == 0  # no garbage row is ever sent
    assert not report.exists()

    source.write_bytes(bytes(data[:20]))  # not even the header can be read
    done = snapcapi("diagnose", source, *DEFAULTS)
    assert done.returncode == 2
    assert done.stderr.startswith("snapcapi: error: file: ")
    assert "damaged or cut .gz" in done.stderr


# --------------------------------------------------------------------------- hostile values


def test_hostile_values_fail_their_row_only(snap_server, tmp_path):
    """Times of 400 and 5,000 digits, JSON nested 600 deep: those rows INVALID, the rest sent."""
    source = tmp_path / "orders.csv"
    rows = [order(i) for i in range(1, 5)]
    rows[1][5] = "9" * 400
    rows[2][5] = "9" * 5000
    with open(source, "w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows([COLUMNS, *rows])
    report = tmp_path / "report.csv"
    done = snapcapi("send", source, *DEFAULTS, "--report", report, "--quiet", server=snap_server)
    assert done.returncode == 1, done.stderr
    statuses = {line["event_id"]: line["status"] for line in read_report(report)}
    assert statuses == {"A1": "ACCEPTED", "A2": "INVALID", "A3": "INVALID", "A4": "ACCEPTED"}

    lines = tmp_path / "events.jsonl"
    good = {"event_name": "PURCHASE", "event_time": WHEN, "action_source": "OFFLINE",
            "email": "a@example.com", "value": "1.00", "currency": "USD"}  # fmt: skip
    deep = "[" * 600 + "]" * 600
    nested = '{"a": ' * 600 + "1" + "}" * 600
    text = [
        json.dumps({**good, "event_id": "j1"}),
        json.dumps({**good, "event_id": "j2"})[:-1] + f', "extra": {{"x": {deep}}}}}',
        json.dumps({**good, "event_id": "j3"})[:-1] + f', "custom_data": {{"extra": {nested}}}}}',
        json.dumps({**good, "event_id": "j4"})[:-1] + f', "contents": {deep}}}',
        json.dumps({**good, "event_id": "j5", "event_time": 1e300}),
        json.dumps({**good, "event_id": "j6"}),
    ]
    lines.write_text("\n".join(text) + "\n", encoding="utf-8")
    report = tmp_path / "report.jsonl"
    done = snapcapi("send", lines, "--report", report, "--invalid-out", tmp_path / "bad.jsonl",
                    "--quiet", server=snap_server)  # fmt: skip
    assert done.returncode == 1, done.stderr
    got = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    # extra and custom_data are never read unless mapped: nesting there costs nothing; contents
    # is read (by its name), so its row is INVALID.
    assert sorted((line["row"], line["status"]) for line in got) == [
        (1, "ACCEPTED"), (2, "ACCEPTED"), (3, "ACCEPTED"), (4, "INVALID"), (5, "INVALID"),
        (6, "ACCEPTED"),
    ]  # fmt: skip
    assert "contents: is nested more than" in {line["row"]: line for line in got}[4]["reason"]
    assert {"j1", "j2", "j3", "j6"} <= snap_server.event_ids()
    assert not {"j4", "j5"} & snap_server.event_ids()


# --------------------------------------------------------------------------- odd flags


@pytest.mark.parametrize(
    ("command", "flag", "value"),
    [
        *(("send", "--timeout", v) for v in ("nan", "inf", "-inf", "-1", "0")),
        *(("diagnose", "--fail-under", v) for v in ("nan", "inf", "-1", "101")),
        *(("fake-server", "--latency", v) for v in ("nan", "inf", "-1")),
        *(("fake-server", "--fail-rate", v) for v in ("nan", "2")),
    ],
)
def test_a_number_flag_out_of_range_exits_2_naming_the_flag(
    snap_server, tmp_path, command, flag, value
):
    """nan, inf, negatives (0 for --timeout): one line naming the flag, exit 2, nothing sent."""
    source = tmp_path / "orders.csv"
    with open(source, "w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows([COLUMNS, order(1)])
    argv = [] if command == "fake-server" else [source, *DEFAULTS]
    done = snapcapi(command, *argv, f"{flag}={value}", timeout=60,
                    server=snap_server if command == "send" else None)  # fmt: skip
    assert done.returncode == 2
    [message] = done.stderr.splitlines()
    assert message.startswith(f"snapcapi: error: {flag}")
    assert snap_server.request_count == 0


@pytest.mark.parametrize("flag", ["--mapping-file", "--token-file"])
def test_a_binary_mapping_or_token_file_exits_2_naming_the_flag(snap_server, tmp_path, flag):
    """A binary file given to --mapping-file or --token-file: one line naming it, exit 2."""
    source = tmp_path / "orders.csv"
    with open(source, "w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows([COLUMNS, order(1)])
    binary = tmp_path / "picked_by_mistake.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x81")
    done = snapcapi("send", source, *DEFAULTS, flag, binary, server=snap_server)
    assert done.returncode == 2
    [message] = done.stderr.splitlines()
    assert message.startswith(f"snapcapi: error: {flag} ")
    assert "UTF-8" in message
    assert snap_server.request_count == 0

    if flag == "--token-file":  # text, but not a token: its content is never shown
        binary.write_text("my secret\x00token\n", encoding="utf-8")
        done = snapcapi("send", source, *DEFAULTS, flag, binary, server=snap_server)
        assert done.returncode == 2
        assert "secret" not in done.stderr
        assert "does not hold a token" in done.stderr


def test_a_resume_report_with_a_huge_row_number_is_read_in_bounded_memory(snap_server, tmp_path):
    """--resume with rows 999999999999 (and 5,000 digits): read by event id, nothing sized by it."""
    source = tmp_path / "orders.csv"
    with open(source, "w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows([COLUMNS, order(1), order(2)])
    earlier = tmp_path / "report.csv"
    with open(earlier, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["row", "event_id", "event_name", "status", "reason"])
        writer.writerow(["999999999999", "A1", "PURCHASE", "ACCEPTED", ""])
        writer.writerow(["9" * 5000, "A9", "PURCHASE", "ACCEPTED", ""])
    done = snapcapi("send", source, *DEFAULTS, "--resume", earlier, "--quiet", server=snap_server)
    assert done.returncode == 0, done.stderr
    assert "1 row was accepted in an earlier run" in done.stdout
    assert snap_server.event_ids() == {"A2"}


# --------------------------------------------------------------------------- any string


def test_a_latin1_file_read_as_utf8_never_crashes_a_writer(snap_server, tmp_path):
    """Bytes kept as lone surrogates: the table, summary, report and sidecar escape them."""
    name = os.fsdecode(b"commandes_\xe9t\xe9.csv")  # a file name that is not UTF-8 either
    source = tmp_path / name
    rows = [["event_id", "Email", "Pr\xe9nom", "Total", "Currency", "Created at"],
            ["caf\xe9-1", "a@example.com", "Zo\xe9", "1.00", "USD", WHEN],
            ["plain-2", "b@example.com", "Zoe", "2.00", "USD", WHEN]]  # fmt: skip
    source.write_bytes("".join(",".join(r) + "\n" for r in rows).encode("latin-1"))
    for report in (tmp_path / "report.csv", tmp_path / "report.jsonl", tmp_path / "r.csv.gz"):
        done = snapcapi("send", source, *DEFAULTS, "--encoding", "utf-8", "--report", report,
                        "--invalid-out", tmp_path / "bad.csv", server=snap_server)  # fmt: skip
        assert done.returncode in (0, 1), done.stderr
        assert "Pr\\udce9nom" in done.stdout  # the column that feeds nothing, escaped
        assert ReportMeta.read(str(report)).source == str(source)
        accepted = AcceptedIds.from_report(str(report))
        assert accepted.accepted("plain-2", "PURCHASE")
    assert "plain-2" in snap_server.event_ids()


def test_report_writers_and_printing_take_any_string(tmp_path):
    """Lone surrogates in ids, reasons and messages are escaped, never an exception."""
    bad = "caf\udce9-1"
    for name in ("r.csv", "r.tsv", "r.jsonl", "r.jsonl.gz"):
        with ReportWriter(str(tmp_path / name)) as writer:
            writer.write(1, bad, "REJECTED", f"{bad} refused", ("X",), "PURCHASE",
                         messages=(bad, "ok"), http_status=400, request_id=bad)  # fmt: skip
        opener = gzip.open if name.endswith(".gz") else open
        with opener(tmp_path / name, "rt", encoding="utf-8") as stream:
            assert "caf\\udce9-1" in stream.read()
    with gzip.open(tmp_path / "r.jsonl.gz", "rt", encoding="utf-8") as stream:
        line = json.loads(stream.read())
    assert line["event_id"] == bad  # JSON's own escape: reads back as the same string

    meta = ReportMeta(source=f"/data/{bad}.csv", settings={"key": bad})
    meta.write(str(tmp_path / "r.csv"))
    assert ReportMeta.read(str(tmp_path / "r.csv")) == meta

    strict = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    summary = BulkSummary(rows=1)
    summary.add("REJECTED", f"event_id {bad} is a duplicate")
    summary.write(EscapingText(strict))  # type: ignore[arg-type]
    strict.flush()
    assert b"caf\\udce9-1" in strict.buffer.getvalue()  # type: ignore[attr-defined]


def test_payload_out_to_standard_output_leaves_it_open_for_the_summary(tmp_path):
    """--dry-run --payload-out - prints the payloads, then the summary (stdout not closed)."""
    source = tmp_path / "orders.csv"
    with open(source, "w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows([COLUMNS, order(1), order(2)])
    done = snapcapi("send", source, *DEFAULTS, "--dry-run", "--payload-out", "-", "--quiet")
    assert done.returncode == 0, done.stderr
    payloads = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [p["event_id"] for p in payloads] == ["A1", "A2"]
    assert "2 rows checked" in done.stdout


# --------------------------------------------------------------------------- hostile answers


def test_long_reasons_without_spaces_are_grouped_in_bounded_time(snap_server, tmp_path):
    """200 rows refused with a 32 KB reason without spaces: the summary still comes, grouped."""
    source = tmp_path / "orders.csv"
    with open(source, "w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows([COLUMNS, *(order(i) for i in range(1, 201))])
    for i in range(1, 201):
        snap_server.reject(f"A{i}", code="INVALID_EVENT", message="x" * 32768)
    report = tmp_path / "report.csv"
    # Bounded, not timed: the old grouping took minutes here (quadratic in the reason).
    done = snapcapi("send", source, *DEFAULTS, "--report", report, "--quiet",
                    server=snap_server, timeout=90)  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "top reasons:" in done.stdout
    [top] = [line for line in done.stdout.splitlines() if line.strip().startswith("200 ")]
    assert len(top) < 300
    assert os.path.getsize(report) < 200 * (2 * REPORT_TEXT_LIMIT + 500)


def test_the_report_never_multiplies_a_long_reason(tmp_path):
    """A reason and messages of a megabyte: the line holds at most the cap of each, marked cut."""
    path = tmp_path / "r.jsonl"
    with ReportWriter(str(path)) as writer:
        writer.write(1, "e1", "REJECTED", "r" * 1_250_000, ("X",), "PURCHASE",
                     messages=tuple("m" * 5000 for _ in range(300)), http_status=400)  # fmt: skip
    line = json.loads(path.read_text(encoding="utf-8"))
    assert len(line["reason"]) == REPORT_TEXT_LIMIT
    assert line["reason"].endswith("… (cut)")
    assert sum(len(m) for m in line["messages"]) <= REPORT_TEXT_LIMIT + 100
    assert line["messages"][-1].endswith("more cut)")
    assert path.stat().st_size < 3 * REPORT_TEXT_LIMIT


# --------------------------------------------------------------------------- issue 11, CLI trial


def test_invalid_out_holds_the_rows_that_could_not_be_read(snap_server, tmp_path):
    """Unreadable CSV rows go to --invalid-out as far as they read; the summary names lines."""
    source = _export(tmp_path / "orders.csv", 20, '"Leave at the door')
    text = source.read_text(encoding="utf-8").splitlines()
    text[10] = text[10] + ",one too many"  # row 9 (line 11: row 2 spans two) is too wide
    source.write_text("\n".join(text) + "\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    done = snapcapi("send", source, *DEFAULTS, "--invalid-out", bad, "--quiet",
                    server=snap_server)  # fmt: skip
    assert done.returncode == 1, done.stderr
    # Without --report, the summary says where the unreadable rows are.
    assert "INVALID: unreadable CSV (line 7)" in done.stdout
    assert "has more or fewer values than the header has columns (line 11)" in done.stdout
    with open(bad, newline="", encoding="utf-8") as stream:
        written = list(csv.DictReader(stream))
    by_id = {line["event_id"]: line for line in written}
    assert set(by_id) == {"A5", "A9"}
    # Its first line, as far as it reads: the open quote takes the rest of the line.
    assert by_id["A5"]["Note"] == f"Leave at the door,5.50,USD,{WHEN}"
    assert by_id["A5"]["Created at"] == ""
    assert "line 7" in by_id["A5"]["reason"]
    assert by_id["A9"]["Created at"] == f"{WHEN},one too many"  # nothing of the line lost
    assert by_id["A9"]["reason"] == "line 11 has 7 values but the header has 6 columns"

    lines = tmp_path / "events.jsonl"
    good = {"event_name": "SIGN_UP", "event_time": WHEN, "action_source": "OFFLINE",
            "email": "a@example.com", "event_id": "j1"}  # fmt: skip
    lines.write_text(json.dumps(good) + '\n{"event_id": "cut", "em\n' + "[" * 5000 + "]" * 5000
                     + "\n", encoding="utf-8")  # fmt: skip
    bad = tmp_path / "bad.jsonl"
    done = snapcapi("send", lines, "--invalid-out", bad, "--quiet", server=snap_server)
    assert done.returncode == 1, done.stderr
    written = [json.loads(line) for line in bad.read_text(encoding="utf-8").splitlines()]
    assert [(line["snapcapi_row"], line["snapcapi_status"]) for line in written] == [
        (2, "INVALID"), (3, "INVALID")
    ]  # fmt: skip
    assert written[0]["snapcapi_text"] == '{"event_id": "cut", "em'
    assert "at line 2, column" in written[0]["snapcapi_reason"]
    assert written[1]["snapcapi_text"].startswith("[[[")


@pytest.mark.parametrize("ignore", [(), ("--ignore", "meta")])
def test_a_deep_json_column_nobody_reads_fails_no_row(snap_server, tmp_path, ignore):
    """meta nested 150 or 5,000 deep, unmapped or --ignore'd: the rows are sent; mapped: INVALID."""
    good = {"event_name": "PURCHASE", "event_time": WHEN, "action_source": "OFFLINE",
            "email": "a@example.com", "value": 1, "currency": "USD"}  # fmt: skip
    lines = tmp_path / "events.jsonl"
    text = [json.dumps({**good, "event_id": "flat"})]
    for name, depth in (("deep", 150), ("deeper", 5000)):
        text.append(json.dumps({**good, "event_id": name})[:-1]
                    + f', "meta": {"[" * depth}1{"]" * depth}}}')  # fmt: skip
    lines.write_text("\n".join(text) + "\n", encoding="utf-8")
    report = tmp_path / "report.jsonl"
    done = snapcapi("send", lines, "--report", report, *ignore, "--quiet", server=snap_server)
    assert done.returncode == 0, done.stdout + done.stderr
    assert snap_server.event_ids() == {"flat", "deep", "deeper"}

    if not ignore:  # read through a mapping, the same values make their rows INVALID
        done = snapcapi("send", lines, "--report", report, "--map", "extra=meta", "--quiet",
                        server=snap_server)  # fmt: skip
        assert done.returncode == 1
        text = report.read_text(encoding="utf-8")
        got = {line["row"]: line for line in map(json.loads, text.splitlines())}
        assert got[1]["status"] == "ACCEPTED"
        for row in (2, 3):
            assert got[row]["status"] == "INVALID"
            assert got[row]["reason"].startswith("extra: is nested more than 100 levels")


SHOPIFY = ["Name", "Email", "Financial Status", "Currency", "Total", "Created at",
           "Lineitem quantity", "Lineitem price", "Lineitem sku", "Billing Name", "Billing City",
           "Billing Zip", "Billing Province", "Billing Country", "Billing Phone", "Phone",
           "Cancelled at", "Notes"]  # fmt: skip


def _shopify(path, broken_head):
    """Write 6 paid orders of 2 line items; order #1003's first row has a quote never closed."""
    when = (datetime.now(timezone.utc) - timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S +0000")
    lines = [",".join(SHOPIFY)]
    for i in range(1, 7):
        head = [f"#100{i}", f"buyer{i}@example.com", "paid", "EUR", f"{i}0.50", when, "1",
                "5.00", "SKU-0", "Ana Lima", "Porto", "4000", "", "PT", "+351 912 345 67{i}",
                "", "", ""]  # fmt: skip
        item = [f"#100{i}", f"buyer{i}@example.com", "", "", "", when, "2", "5.00", "SKU-1",
                *[""] * 9]  # fmt: skip
        line = ",".join(head)
        if i == 3:
            line = broken_head(line)
        lines += [line, ",".join(item)]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("breaking", "certain"),
    [
        (lambda line: line + '"gate code 12', True),  # the trial: the Notes cell opens a quote
        (lambda line: '"' + line, False),  # the quote opens in Name: its value cannot be read
    ],
)
def test_line_items_of_an_order_whose_first_row_is_unreadable_are_not_filtered(
    snap_server, tmp_path, breaking, certain
):
    """#1003's first row is unreadable: its item row is INVALID pointing at it, never SKIPPED."""
    source = _shopify(tmp_path / "orders_export.csv", breaking)
    report = tmp_path / "report.csv"
    done = snapcapi("send", source, "--preset", "shopify", "--report", report, "--quiet",
                    server=snap_server)  # fmt: skip
    assert done.returncode == 1, done.stderr
    lines = {int(line["row"]): line for line in read_report(report)}
    head, items = lines[5], lines[6]  # order #1003: rows 5 (line 6) and 6
    assert (head["status"], head["codes"]) == ("INVALID", "unreadable_csv")
    assert items["status"] == "INVALID"
    assert "(line 6)" in items["reason"]
    assert ("first row of this group" if certain else "may be its first row") in items["reason"]
    assert "skipped by" not in done.stdout
    assert len(snap_server.event_ids()) == 5


def test_a_name_that_is_not_in_the_encoding_is_dropped_with_encoding_advice(snap_server, tmp_path):
    """--encoding utf-8 on Latin-1: the name is dropped; the summary and report say --encoding."""
    source = tmp_path / "orders.csv"
    rows = [["event_id", "Email", "full_name", "Total", "Currency", "Created at"],
            ["plain-1", "a@example.com", "Zo\xeb \xc5ngstr\xf6m", "1.00", "USD", WHEN]]  # fmt: skip
    source.write_bytes("".join(",".join(r) + "\n" for r in rows).encode("latin-1"))
    report = tmp_path / "report.csv"
    done = snapcapi("send", source, *DEFAULTS, "--encoding", "utf-8", "--report", report,
                    server=snap_server)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert snap_server.event_ids() == {"plain-1"}
    advice = "pass --encoding cp1252"
    warnings = done.stdout.split("dropped (events kept):\n", 1)[1].splitlines()[:2]
    assert all(line.strip().startswith("1  ") and advice in line for line in warnings)
    [line] = read_report(report)
    assert line["status"] == "ACCEPTED"
    assert line["reason"].startswith("first_name dropped: is not valid Unicode")
    assert line["reason"].count(advice) == 1


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--timeout", "abc"),
        ("--workers", "nan"),
        ("--min-rows", "1e400"),
        ("--min-rows", "-5"),
        ("--batch-size", "0"),
        ("--max-retries", "-1"),
    ],
)
def test_a_flag_argparse_refuses_is_one_line_and_a_hint(snap_server, tmp_path, flag, value):
    """No 20-line usage block: the error naming the flag, then where help is; exit 2."""
    source = tmp_path / "orders.csv"
    with open(source, "w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows([COLUMNS, order(1)])
    done = snapcapi("send", source, *DEFAULTS, f"{flag}={value}", server=snap_server)
    assert done.returncode == 2
    message, hint = done.stderr.splitlines()
    assert message.startswith(f"snapcapi: error: argument {flag}: ")
    assert hint == "see snapcapi send --help"
    assert snap_server.request_count == 0


@pytest.mark.parametrize("flag", ["--report", "--invalid-out", "--payload-out"])
def test_an_output_in_a_missing_folder_names_its_flag(tmp_path, flag):
    """--report /nonexistent/dir/r.csv (or --invalid-out, --payload-out): one line naming it."""
    source = tmp_path / "orders.csv"
    with open(source, "w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows([COLUMNS, order(1)])
    target = tmp_path / "no such folder" / "out.csv"
    if flag == "--payload-out":
        target = target.with_suffix(".jsonl")
    done = snapcapi("send", source, *DEFAULTS, "--dry-run", flag, target)
    assert done.returncode == 2
    [message] = done.stderr.splitlines()
    assert message.startswith(f"snapcapi: error: {flag}: cannot write {target}: ")


def test_fake_server_port_out_of_range_or_in_use_names_port():
    """--port 99999, -1 or a port in use: one line naming --port, exit 2, no traceback."""
    import socket

    for port in ("99999", "-1"):
        done = snapcapi("fake-server", "--port", port, timeout=30)
        assert done.returncode == 2
        message, hint = done.stderr.splitlines()
        assert message.startswith("snapcapi: error: argument --port: takes a whole number")
        assert hint == "see snapcapi fake-server --help"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = snapcapi("fake-server", "--port", port, timeout=30)
    assert done.returncode == 2
    [message] = done.stderr.splitlines()
    assert message.startswith(f"snapcapi: error: --port {port}: cannot listen")


def test_sigterm_mid_send_prints_the_summary_and_reports_every_answered_row(tmp_path):
    """SIGTERM as Ctrl-C: summary, a report line per row read (none answered missing), exit 143."""
    import signal
    import time

    from snapcapi.testing import FakeSnapServer

    source = tmp_path / "orders.csv"
    with open(source, "w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows([COLUMNS, *(order(i) for i in range(1, 401))])
    report = tmp_path / "report.csv"
    with FakeSnapServer(latency=0.3) as slow:
        environment = {**os.environ, "SNAP_ACCESS_TOKEN": slow.token}
        process = subprocess.Popen(
            [sys.executable, "-m", "snapcapi", "send", source, *DEFAULTS, "--pixel-id",
             slow.pixel_id, "--base-url", slow.url, "--batch-size", "10", "--workers", "2",
             "--report", report],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while slow.accepted_count < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
        received = slow.event_ids()
    assert process.returncode == 143, out + err
    assert "Traceback" not in err
    assert "rows processed" in out
    assert err.strip() == "snapcapi: terminated (SIGTERM); the report covers every row read so far"
    lines = read_report(report)
    processed = int(out.split(" rows processed", 1)[0].replace(",", "").split()[-1])
    assert len(lines) == processed
    accepted = {line["event_id"] for line in lines if line["status"] == "ACCEPTED"}
    assert accepted
    assert accepted <= received
    # Every event the server got is in the report: ACCEPTED, or FAILED as maybe delivered.
    reported = {line["event_id"]: line for line in lines}
    assert received <= set(reported)
    for event_id in received - accepted:
        assert "may have reached Snap" in reported[event_id]["reason"]


def _two_orders(tmp_path):
    source = tmp_path / "orders.csv"
    with open(source, "w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows([COLUMNS, order(1), order(2)])
    return source


def test_one_unusable_resume_line_is_one_line(snap_server, tmp_path):
    """'1 line of the --resume report could not be used', not '1 lines'."""
    source = _two_orders(tmp_path)
    earlier = tmp_path / "report.csv"
    with open(earlier, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["row", "event_id", "event_name", "status", "reason"])
        writer.writerow(["1", "", "PURCHASE", "ACCEPTED", ""])
    done = snapcapi("send", source, *DEFAULTS, "--resume", earlier, "--quiet", server=snap_server)
    assert done.returncode == 0, done.stderr
    assert "  1 line of the --resume report could not be used" in done.stdout


def test_an_unknown_time_zone_is_quoted_as_given(snap_server, tmp_path):
    """A zone name is not personal data: 'Mars/Olympus', not 'M*********us'; exit 2."""
    source = _two_orders(tmp_path)
    done = snapcapi("send", source, *DEFAULTS, "--timezone", "Mars/Olympus", server=snap_server)
    assert done.returncode == 2
    [message] = done.stderr.splitlines()
    assert message.startswith("snapcapi: error: --timezone 'Mars/Olympus' is not a time zone")
    assert snap_server.request_count == 0


def test_a_json_error_names_the_files_line(tmp_path):
    """A JSON lines error on line 9 says line 9 (json itself says line 1 of the text it got)."""
    lines = tmp_path / "events.jsonl"
    lines.write_text("\n" * 8 + '{"event_id": "cut", "ema\n', encoding="utf-8")
    report = tmp_path / "report.jsonl"
    snapcapi("send", lines, "--dry-run", "--report", report, "--quiet")
    [line] = [json.loads(text) for text in report.read_text(encoding="utf-8").splitlines()]
    assert line["row"] == 9
    assert "at line 9, column" in line["reason"]
    assert "line 1 column" not in line["reason"]

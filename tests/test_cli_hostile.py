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

from snapcapi._bulk import BulkSummary
from snapcapi._files import REPORT_TEXT_LIMIT, EscapingText, ReportWriter
from snapcapi._resume import AcceptedIds, ReportMeta

WHEN = (datetime.now(timezone.utc) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
COLUMNS = ["event_id", "Email", "Note", "Total", "Currency", "Created at"]
DEFAULTS = ("--event-name", "PURCHASE", "--action-source", "OFFLINE")


def snapcapi(*argv, server=None, timeout=120, env=None):
    """Run ``python -m snapcapi`` with the fake server's credentials; never a traceback."""
    environment = {**os.environ, "PYTHONIOENCODING": "utf-8:strict", **(env or {})}
    environment.pop("SNAP_ACCESS_TOKEN", None)
    extra: list[str] = []
    if server is not None:
        environment["SNAP_ACCESS_TOKEN"] = server.token
        extra = ["--pixel-id", server.pixel_id, "--base-url", server.url, "--max-retries", "0"]
    completed = subprocess.run(
        [sys.executable, "-m", "snapcapi", *map(str, argv), *extra],
        capture_output=True, text=True, timeout=timeout, env=environment, check=False,
        encoding="utf-8", errors="backslashreplace",
    )  # fmt: skip
    assert "Traceback" not in completed.stderr, completed.stderr[-3000:]
    return completed


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
    assert f"is cut short or damaged after row {last:,}" in message
    assert f"{last:,} rows processed" in done.stdout


def test_a_damaged_gz_is_reported_after_its_readable_rows(snap_server, tmp_path):
    """A .gz whose checksum is wrong, or that is damaged mid-way: one line, exit 2, no traceback."""
    source = tmp_path / "orders.csv.gz"
    data = bytearray(_gz_export(source, 3000))
    data[-6] ^= 0xFF  # the CRC: every row decompresses, the check fails at the end
    source.write_bytes(bytes(data))
    done = snapcapi("send", source, *DEFAULTS, "--dry-run", "--quiet")
    assert done.returncode == 2
    assert "is cut short or damaged after row 3,000" in done.stderr
    assert "3,000 rows checked" in done.stdout

    data[len(data) // 2] ^= 0xFF  # the middle of the stream
    source.write_bytes(bytes(data))
    done = snapcapi("send", source, *DEFAULTS, "--report", tmp_path / "r.csv", "--quiet",
                    server=snap_server)  # fmt: skip
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1
    assert "is cut short or damaged after row" in done.stderr

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
    assert sorted((line["row"], line["status"]) for line in got) == [
        (1, "ACCEPTED"), (2, "INVALID"), (3, "INVALID"), (4, "INVALID"), (5, "INVALID"),
        (6, "ACCEPTED"),
    ]  # fmt: skip
    assert "nested more than" in {line["row"]: line for line in got}[2]["reason"]
    assert {"j1", "j6"} <= snap_server.event_ids()
    assert not {"j2", "j3", "j4", "j5"} & snap_server.event_ids()


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

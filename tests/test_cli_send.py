"""`snapcapi send`, `validate` and their options, through the real entry point and fake server."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import pathlib
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from snapcapi import Event, cli
from snapcapi._progress import Progress

WHEN = (datetime.now(timezone.utc) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
COLUMNS = ["order_id", "Email", "Phone", "first name", "zip", "price", "currency", "timestamp"]


def rows(n, start=0):
    return [
        [f"A{i}", f" Buyer{i}@Example.com ", f"(415) 555-{i % 10000:04d}", "Zoë", "94107",
         f"{i}.50", "usd", WHEN]
        for i in range(start, start + n)
    ]  # fmt: skip


def write_csv(path, data, columns=COLUMNS, opener=open):
    with opener(path, "wt", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(columns)
        writer.writerows(data)
    return str(path)


def read_report(path):
    with open(path, newline="", encoding="utf-8") as stream:
        if str(path).endswith(".jsonl"):
            return sorted((json.loads(line) for line in stream), key=lambda r: r["row"])
        return sorted(csv.DictReader(stream), key=lambda r: int(r["row"]))


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = cli.main([str(a) for a in argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


DEFAULTS = ("--event-name", "PURCHASE", "--action-source", "OFFLINE", "--region", "US")


@pytest.fixture
def server(snap_server, monkeypatch):
    monkeypatch.setenv("SNAP_ACCESS_TOKEN", snap_server.token)
    return snap_server


def live(server, *argv):
    return run(
        *argv, *DEFAULTS, "--pixel-id", server.pixel_id, "--base-url", server.url,
        "--max-retries", 0,
    )  # fmt: skip


# --------------------------------------------------------------------------- dry run


def test_dry_run_checks_every_row_and_writes_exact_payloads(tmp_path):
    """--dry-run validates without a token; payloads are what Event.from_dict makes."""
    source = write_csv(tmp_path / "orders.csv", rows(3))
    payloads = tmp_path / "payloads.jsonl"
    code, out, _ = run("send", source, "--dry-run", *DEFAULTS, "--payload-out", payloads,
                       "--report", tmp_path / "report.csv")  # fmt: skip
    assert code == 0
    assert "3 rows checked" in out
    assert "3 valid" in out
    report = read_report(tmp_path / "report.csv")
    assert [r["status"] for r in report] == ["VALID"] * 3
    written = [json.loads(line) for line in payloads.read_text().splitlines()]
    expected = Event.from_dict(
        {"order_id": "A0", "email": " Buyer0@Example.com ", "phone": "(415) 555-0000",
         "first_name": "Zoë", "zip_code": "94107", "value": "0.50", "currency": "usd",
         "event_time": WHEN, "event_name": "PURCHASE", "action_source": "OFFLINE",
         "event_id": report[0]["event_id"]},
        region="US",
    ).to_payload()  # fmt: skip
    assert written[0] == expected


def test_malformed_rows_are_reported_and_the_run_goes_on(tmp_path):
    """Short rows, bad emails, bad JSON lines: INVALID with the row number; exit 1."""
    data = rows(4)
    data[1][1] = "broken@"
    data[2] = data[2][:3]
    source = write_csv(tmp_path / "orders.csv", data)
    code, out, _ = run("send", source, "--dry-run", *DEFAULTS, "--report", tmp_path / "r.jsonl",
                       "--on-invalid", "raise")  # fmt: skip
    assert code == 1
    report = read_report(tmp_path / "r.jsonl")
    assert [(r["row"], r["status"]) for r in report] == [
        (1, "VALID"), (2, "INVALID"), (3, "INVALID"), (4, "VALID")
    ]  # fmt: skip
    assert report[1]["reason"].startswith("email: b*****@ is not a valid email")
    assert "broken@" not in out + json.dumps(report)
    assert report[2]["reason"] == "line 4 has 3 values but the header has 8 columns"
    assert "top reasons:" in out

    lines = tmp_path / "orders.jsonl"
    good = {"event_name": "SIGN_UP", "event_time": WHEN, "action_source": "WEB",
            "event_source_url": "https://shop.example.com/", "email": "a@example.com"}  # fmt: skip
    lines.write_text(json.dumps(good) + "\n{not json\n\n[1, 2]\n" + json.dumps(good) + "\n")
    code, _, _ = run("send", lines, "--dry-run", "--report", tmp_path / "r2.csv")
    assert code == 1
    report = read_report(tmp_path / "r2.csv")
    # Line 5 repeats line 1 exactly: one event, the second reported as a duplicate.
    assert [(r["row"], r["status"]) for r in report] == [
        ("1", "VALID"), ("2", "INVALID"), ("4", "INVALID"), ("5", "SKIPPED")
    ]  # fmt: skip
    assert report[3]["reason"] == "same event_id as an earlier row (one event)"
    assert report[1]["reason"].startswith("not valid JSON")
    assert report[2]["reason"] == "expected a JSON object, got list"


# --------------------------------------------------------------------------- sending


def test_live_send_reports_every_row_and_matches_the_server(server, tmp_path):
    """Rows go to Snap; the report's ACCEPTED ids are exactly what the server recorded."""
    data = rows(5)
    data[3][5] = ""  # a PURCHASE without value: INVALID locally
    source = write_csv(tmp_path / "orders.csv", data)
    code, out, err = live(server, "send", source, "--report", tmp_path / "report.csv")
    assert code == 1
    report = read_report(tmp_path / "report.csv")
    accepted = {r["event_id"] for r in report if r["status"] == "ACCEPTED"}
    assert len(accepted) == 4
    assert accepted == server.event_ids()
    assert report[3]["status"] == "INVALID"
    assert "4 accepted" in out
    assert "1 invalid" in out
    assert server.token not in out + err
    assert err == ""  # not a terminal: no progress


def test_validate_uses_the_validate_endpoint(server, tmp_path):
    """`snapcapi validate` sends to /events/validate; nothing is recorded as live."""
    source = write_csv(tmp_path / "orders.csv", rows(3))
    code, _out, _ = live(server, "validate", source, "--report", tmp_path / "r.csv")
    assert code == 0
    assert {r.endpoint for r in server.received} == {"validate"}
    assert server.events == []
    assert len(server.validated_events) == 3


def test_resume_after_an_outage_neither_loses_nor_double_sends(server, tmp_path):
    """An outage FAILs a batch; --resume sends exactly those rows again."""
    source = write_csv(tmp_path / "orders.csv", rows(6))
    server.script(503)  # the first batch of two fails (no retries)
    code, _, _ = live(server, "send", source, "--batch-size", 2, "--report", tmp_path / "r1.csv")
    assert code == 1
    first = read_report(tmp_path / "r1.csv")
    assert [r["status"] for r in first] == ["FAILED"] * 2 + ["ACCEPTED"] * 4
    assert server.accepted_count == 4

    again = ("--report", tmp_path / "r2.jsonl", "--resume", tmp_path / "r1.csv")
    code, out, _ = live(server, "send", source, "--batch-size", 2, *again)
    assert code == 0
    second = read_report(tmp_path / "r2.jsonl")
    assert [r["status"] for r in second] == ["ACCEPTED"] * 6
    assert [r["event_id"] for r in second] == [r["event_id"] for r in first]
    assert server.accepted_count == 6  # the 4 accepted before were not sent again
    assert len(server.event_ids()) == 6
    assert "4 rows were accepted in an earlier run" in out


def test_gzip_inputs(server, tmp_path):
    """.csv.gz and .jsonl.gz are read transparently."""
    source = write_csv(tmp_path / "orders.csv.gz", rows(2), opener=gzip.open)
    assert live(server, "send", source)[0] == 0
    records = [
        {"event_name": "Sale", "event_time": WHEN, "action_source": "OFFLINE",
         "mail": f"x{i}@example.com", "amount": 3, "currency_code": "EUR"}
        for i in range(3)
    ]  # fmt: skip
    path = tmp_path / "orders.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as stream:
        stream.writelines(json.dumps(r) + "\n" for r in records)
    code, _, _ = live(server, "send", path, "--aliases", "Sale=PURCHASE")
    assert code == 0
    assert server.accepted_count == 5


def test_mapping_file_set_and_custom_aliases(server, tmp_path):
    """A JSON mapping file, --map, --set and custom-event aliases all apply."""
    source = write_csv(
        tmp_path / "leads.csv",
        [["Lead", "x@example.com", WHEN, "https://shop.example.com/"]],
        columns=["kind", "contact", "when", "page"],
    )
    mapping = tmp_path / "map.json"
    # "page" is a generic name, never guessed: the mapping names it.
    mapping.write_text(
        json.dumps({"event_name": "kind", "email": "contact", "event_source_url": "page"})
    )
    code, out, _ = run(
        "send", source, "--dry-run", "--mapping-file", mapping, "--map", "event_time=when",
        "--set", "action_source=WEB", "--aliases", "Lead=2", "--payload-out", tmp_path / "p.jsonl",
    )  # fmt: skip
    assert code == 0, out
    payload = json.loads((tmp_path / "p.jsonl").read_text())
    assert payload["event_name"] == "CUSTOM_EVENT_2"
    assert payload["event_source_url"] == "https://shop.example.com/"


# --------------------------------------------------------------------------- exit codes


def test_configuration_errors_exit_2_and_send_nothing(server, tmp_path, monkeypatch):
    """Missing token, bad mapping, missing file, conflicting modes, refused token: exit 2."""
    source = write_csv(tmp_path / "orders.csv", rows(2))
    monkeypatch.delenv("SNAP_ACCESS_TOKEN")
    code, _, err = live(server, "send", source)
    assert code == 2
    assert "SNAP_ACCESS_TOKEN" in err
    token_file = tmp_path / "token"
    token_file.write_text("wrong-token\n")
    code, out, err = live(server, "send", source, "--token-file", token_file)
    assert code == 2
    assert "refused the access token" in err
    assert "wrong-token" not in out + err
    monkeypatch.setenv("SNAP_ACCESS_TOKEN", server.token)
    assert live(server, "send", source, "--map", "emale=Email")[0] == 2
    assert live(server, "send", source, "--map", "email=nope")[0] == 2
    assert live(server, "send", tmp_path / "missing.csv")[0] == 2
    assert live(server, "send", source, "--dry-run", "--validate")[0] == 2
    assert server.accepted_count == 0
    code, _, err = run("send")  # neither a FILE nor --query
    assert code == 2
    assert "give a FILE to read, or --query SQL" in err


def test_a_wrong_pixel_id_stops_the_send_naming_the_flag_and_env_var(server, tmp_path):
    """SNAP_PIXEL_ID=wrong-pixel: exit 2 naming --pixel-id, every row read FAILED, not REJECTED."""
    source = write_csv(tmp_path / "orders.csv", rows(30))
    report = tmp_path / "report.csv"
    env = {**os.environ, "SNAP_PIXEL_ID": "wrong-pixel", "SNAP_ACCESS_TOKEN": server.token}
    completed = subprocess.run(
        [sys.executable, "-m", "snapcapi", "send", source, *DEFAULTS, "--base-url", server.url,
         "--max-retries", "0", "--batch-size", "10", "--report", str(report)],
        capture_output=True, text=True, timeout=120, check=False, env=env,
    )  # fmt: skip
    assert completed.returncode == 2, completed.stderr
    err = completed.stderr
    assert "snapcapi: error: Snap does not know asset id 'wrong-pixel' (HTTP 404" in err
    assert "pass --pixel-id ID" in err
    assert "SNAP_PIXEL_ID" in err
    assert "pixel_id=" not in err  # the command line's words, not Python's
    assert f"Snap request id {server.received[0].request_id}" in err
    assert "Traceback" not in err
    assert server.token not in completed.stdout + err
    assert server.request_count == 1
    written = read_report(report)
    assert written, "the report covers the rows read"
    assert {row["status"] for row in written} == {"FAILED"}
    assert all("Snap does not know asset id 'wrong-pixel'" in row["reason"] for row in written)


def test_validate_with_a_wrong_pixel_id_exits_2_too(server, tmp_path):
    """The validate endpoint's 404 stops the run in the same words."""
    source = write_csv(tmp_path / "orders.csv", rows(3))
    code, _, err = run("validate", source, *DEFAULTS, "--pixel-id", "wrong-pixel",
                       "--base-url", server.url, "--max-retries", 0)  # fmt: skip
    assert code == 2
    assert "Snap does not know asset id 'wrong-pixel'" in err
    assert "pass --pixel-id ID" in err


def test_help_is_complete(capsys):
    """--help of the tool and of each subcommand lists the options, with examples."""
    for argv, expected in (
        (["--help"], ["send", "validate", "diagnose", "demo", "examples:", "exit codes"]),
        (["send", "--help"], ["--dry-run", "--payload-out", "--resume", "--report", "--map",
                              "--aliases", "--token-file", "--region", "synonym"]),
        (["validate", "--help"], ["--report", "--pixel-id"]),
        (["diagnose", "--help"], ["--json", "--map"]),
    ):  # fmt: skip
        with pytest.raises(SystemExit) as info:
            cli.main(argv)
        assert info.value.code == 0
        text = capsys.readouterr().out
        for word in expected:
            assert word in text, (argv, word)


def test_console_script_and_python_dash_m(tmp_path):
    """The same CLI runs as `snapcapi` and `python -m snapcapi`."""
    source = write_csv(tmp_path / "orders.csv", rows(2))
    for command in (["snapcapi"], [sys.executable, "-m", "snapcapi"]):
        completed = subprocess.run(
            [*command, "send", source, "--dry-run", *DEFAULTS],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert completed.returncode == 0, completed.stderr
        assert "2 valid" in completed.stdout


# --------------------------------------------------------------------------- progress


def test_progress_lines_without_tqdm_and_a_bar_with_it():
    """Without tqdm, plain periodic lines; with it, a bar; nothing when disabled."""
    ticks = iter(range(0, 1000, 3))
    stream = io.StringIO()
    progress = Progress(stream, enabled=True, use_tqdm=False, clock=lambda: next(ticks))
    for _ in range(3):
        progress.row()
        progress.result("ACCEPTED", sent=True)
    progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 2
    assert lines[-1].startswith("3 rows read, 3 sent: 3 accepted (")

    bar = io.StringIO()
    progress = Progress(bar, enabled=True)
    for _ in range(600):
        progress.row()
    progress.close()
    assert "600" in bar.getvalue()
    assert "rows" in bar.getvalue()

    quiet = io.StringIO()
    progress = Progress(quiet, enabled=False)
    progress.row()
    progress.close()
    assert quiet.getvalue() == ""


def test_a_file_without_a_time_column_is_a_configuration_error(tmp_path):
    """No column gives event_time: exit 2 naming the columns, before any row is read."""
    source = write_csv(tmp_path / "orders.csv", [["a@example.com", "3"]], columns=["mail", "x"])
    code, _, err = run("send", source, "--dry-run", *DEFAULTS)
    assert code == 2
    assert "event_time: no column gives it" in err
    assert "mail, x" in err


def test_offline_upload_example_runs():
    """examples/offline_upload.py: dry run, an outage, a resume that sends only the failed."""
    root = pathlib.Path(__file__).resolve().parent.parent
    completed = subprocess.run(
        [sys.executable, str(root / "examples" / "offline_upload.py")],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    out = completed.stdout
    assert "12 rows checked" in out
    # The bad email is dropped (the row's phone still matches); the row without an amount
    # cannot be a PURCHASE.
    assert "11 valid, 1 invalid" in out
    assert "1 identifier was unusable and dropped" in out
    assert "rows FAILED in the outage: 1, 2, 3, 4" in out
    assert "7 rows were accepted in an earlier run, not sent again" in out
    assert "Snap recorded 11 distinct events from 11 accepted" in out
    assert "customer4@" not in out


def test_odd_files_get_clear_errors_not_tracebacks(tmp_path):
    """Repeated column names, a directory, an unwritable report, an empty file: exit 2."""
    repeated = write_csv(tmp_path / "rep.csv", [["a@example.com", "b@example.com", WHEN]],
                         columns=["email", "email", "timestamp"])  # fmt: skip
    code, _, err = run("send", repeated, "--dry-run", *DEFAULTS)
    assert code == 2
    assert "more than one column named 'email'" in err
    assert run("send", tmp_path, "--dry-run", *DEFAULTS)[0] == 2
    good = write_csv(tmp_path / "good.csv", rows(1))
    code, _, err = run("send", good, "--dry-run", *DEFAULTS, "--report", tmp_path / "no" / "r.csv")
    assert code == 2
    assert "No such file or directory" in err
    (tmp_path / "empty.csv").write_text("")
    code, _, err = run("send", tmp_path / "empty.csv", "--dry-run", *DEFAULTS)
    assert code == 2
    assert "no header row" in err


def test_resume_from_the_report_being_rewritten(server, tmp_path):
    """--report and --resume may name the same file: it is read before it is rewritten."""
    source = write_csv(tmp_path / "orders.csv", rows(4))
    server.script(503)
    report = tmp_path / "report.csv"
    live(server, "send", source, "--batch-size", 2, "--report", report)
    code, _, _ = live(server, "send", source, "--report", report, "--resume", report)
    assert code == 0
    assert [r["status"] for r in read_report(report)] == ["ACCEPTED"] * 4
    assert server.accepted_count == 4


def test_ctrl_c_exits_130_with_a_message(tmp_path, monkeypatch):
    """An interrupted upload ends with exit 130 and a line saying the report is complete."""

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "run_bulk", interrupted)
    code, _, err = run("send", write_csv(tmp_path / "o.csv", rows(1)), "--dry-run", *DEFAULTS)
    assert code == 130
    assert "interrupted" in err


# --------------------------------------------------------------------------- grouped by code


def test_summary_and_report_count_rows_by_problem_code(tmp_path):
    """Rows judged locally are summed up by code and field, and the report gives the codes."""
    data = rows(6)
    for i, days in enumerate((40, 45, 50)):  # too old, each by another number of days
        data[i][7] = (datetime.now(timezone.utc) - timedelta(days=days)).isoformat()
    data[3][1] = "broken@"  # dropped; the phone still matches
    data[4][1] = "other.broken@"
    source = write_csv(tmp_path / "orders.csv", data)
    code, out, _ = run("send", source, "--dry-run", *DEFAULTS, "--report", tmp_path / "r.jsonl")
    assert code == 1
    reasons = out.split("top reasons:\n", 1)[1].splitlines()
    assert reasons[0].split() == ["3", "INVALID:", "event_time:", "older", "than", "37", "days",
                                  "(Snap", "refuses", "it)"]  # fmt: skip
    assert "2 identifiers were unusable and dropped (events kept):" in out
    assert "          2  email: is not a valid email address\n" in out
    report = read_report(tmp_path / "r.jsonl")
    assert [r["codes"] for r in report] == [["event_time_too_old"]] * 3 + [[]] * 3
    assert report[0]["reason"].startswith("event_time is 40 days old; Snap accepts events up to")
    assert "broken@" not in out


def test_rows_that_cannot_become_events_have_their_code_in_the_report(tmp_path):
    """A line that is not JSON, one that is not an object: codes in the report, one line each."""
    good = {"event_name": "SIGN_UP", "event_time": WHEN, "action_source": "OFFLINE",
            "email": "a@example.com"}  # fmt: skip
    lines = tmp_path / "events.jsonl"
    lines.write_text('{not json\n[1, 2]\n{"a": \n' + json.dumps(good) + "\n")
    code, out, _ = run("send", lines, "--dry-run", "--report", tmp_path / "r.csv")
    assert code == 1
    assert [r["codes"] for r in read_report(tmp_path / "r.csv")] == [
        "not_json", "not_a_record", "not_json", ""
    ]  # fmt: skip
    reasons = out.split("top reasons:\n", 1)[1].splitlines()
    assert [line.split(None, 1) for line in reasons] == [
        ["2", "INVALID: not valid JSON (line 1, line 3)"],
        ["1", "INVALID: expected a record (line 2)"],
    ]


def test_a_real_send_counts_unfit_rows_by_code_as_a_dry_run_does(tmp_path, server):
    """Sent for real, rows too old to send are one summary line, with their code reported."""
    data = rows(4)
    for i, days in enumerate((40, 50)):
        data[i][7] = (datetime.now(timezone.utc) - timedelta(days=days)).isoformat()
    source = write_csv(tmp_path / "orders.csv", data)
    argv = ("--base-url", server.url, "--pixel-id", server.pixel_id, "--report", tmp_path / "r.csv")
    code, out, _ = run("send", source, *DEFAULTS, *argv)
    assert code == 1
    reasons = out.split("top reasons:\n", 1)[1].splitlines()
    assert [line.split(None, 1) for line in reasons] == [
        ["2", "INVALID: event_time: older than 37 days (Snap refuses it)"]
    ]
    report = read_report(tmp_path / "r.csv")
    assert [r["codes"] for r in report] == ["event_time_too_old"] * 2 + ["", ""]
    assert [r["status"] for r in report] == ["INVALID", "INVALID", "ACCEPTED", "ACCEPTED"]
    assert server.request_count == 1


def test_an_unconsented_row_is_skipped_before_it_is_judged(tmp_path, server):
    """With --require-consent, a row without consent is SKIPPED even if it is also unfit."""
    old = (datetime.now(timezone.utc) - timedelta(days=40)).isoformat()
    data = [[*row, consent] for row, consent in zip(rows(3), ["no", "yes", "yes"], strict=True)]
    data[0][7] = data[1][7] = old  # too old, the first also without consent
    source = write_csv(tmp_path / "orders.csv", data, columns=[*COLUMNS, "consent"])
    argv = ("--base-url", server.url, "--pixel-id", server.pixel_id, "--report", tmp_path / "r.csv")
    code, _, _ = run(
        "send", source, *DEFAULTS, "--require-consent", "--consent-column", "consent", *argv
    )
    assert code == 1
    report = read_report(tmp_path / "r.csv")
    assert [r["status"] for r in report] == ["SKIPPED", "INVALID", "ACCEPTED"]
    assert report[1]["codes"] == "event_time_too_old"

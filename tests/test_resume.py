"""Resuming by event id: AcceptedIds read from reports, and the report's metadata sidecar."""

from __future__ import annotations

import csv
import gzip
import json
import random
import tracemalloc

import pytest

from snapcapi._files import ReportWriter, RowSource
from snapcapi._resume import SETTING_FLAGS, AcceptedIds, ReportMeta, meta_path
from snapcapi.errors import ValidationError

LINES = [
    (1, "ord-1", "ACCEPTED", None),
    (2, "ord-2", "INVALID", "email: not an email address"),
    (3, "ord-3", "ACCEPTED", "accepted in an earlier run (--resume)"),
    (4, "ord-4", "FAILED", "HTTP 503"),
    (5, "ord-5", "REJECTED", "Snap refused the event"),
    (6, "ord-6", "VALID", None),
    (7, None, "ACCEPTED", None),
    (8, "ord-8", "accepted", None),
]

SETTINGS = {
    "key": "Name",
    "mapping": "email=Email,phone=Phone",
    "aliases": "",
    "event_name": "PURCHASE",
    "timezone": "Europe/Paris",
    "time_format": "",
    "group_by": "Name",
    "preset": "shopify",
}


def write_report(path, lines=LINES):
    with ReportWriter(str(path)) as report:
        for row, event_id, status, reason in lines:
            report.write(row, event_id, status, reason)
    return str(path)


@pytest.mark.parametrize(
    "name", ["report.csv", "report.tsv", "report.jsonl", "report.csv.gz", "report.jsonl.gz"]
)
def test_accepted_ids_are_members_in_every_report_format(tmp_path, name):
    """Every format a report is written in gives the ids of its ACCEPTED lines."""
    accepted = AcceptedIds.from_report(write_report(tmp_path / name))
    assert "ord-1" in accepted
    assert "ord-3" in accepted
    assert len(accepted) == 2


def test_only_accepted_lines_count(tmp_path):
    """INVALID, FAILED, REJECTED, VALID and a lowercase 'accepted' are not accepted."""
    accepted = AcceptedIds.from_report(write_report(tmp_path / "report.csv"))
    for event_id in ("ord-2", "ord-4", "ord-5", "ord-6", "ord-8", "ord-9", "", "Ord-1"):
        assert event_id not in accepted
    assert None not in accepted
    assert 1 not in accepted


@pytest.mark.parametrize("name", ["report.csv", "report.jsonl"])
def test_accepted_lines_without_an_id_are_counted_as_unidentified(tmp_path, name):
    """An ACCEPTED line with no event_id (empty in CSV, null in JSONL) is counted, not kept."""
    lines = [*LINES, (9, "", "ACCEPTED", None), (10, None, "INVALID", "x")]
    accepted = AcceptedIds.from_report(write_report(tmp_path / name, lines))
    assert accepted.unidentified == 2
    assert len(accepted) == 2


def test_a_report_matches_by_id_whatever_its_row_numbers_and_order(tmp_path):
    """A report of a re-export (new rows on top, shuffled order) still matches by event id."""
    lines = [(row + 5, f"ord-{row}", "ACCEPTED", None) for row in range(1, 101)]
    random.Random(3).shuffle(lines)
    accepted = AcceptedIds.from_report(write_report(tmp_path / "report.csv", lines))
    assert all(f"ord-{i}" in accepted for i in range(1, 101))
    assert not any(f"new-{i}" in accepted for i in range(1, 6))


def test_another_files_report_skips_none_of_this_files_rows(tmp_path):
    """Issue 9: file A's report marks none of file B's rows (other ids) as accepted."""
    report_a = [(row, f"a-{row}", "ACCEPTED", None) for row in range(1, 51)]
    accepted = AcceptedIds.from_report(write_report(tmp_path / "a.csv", report_a))
    assert not any(f"b-{row}" in accepted for row in range(1, 51))


def test_duplicate_ids_count_once(tmp_path):
    """An id accepted on several lines (a chain of resumes) is one member."""
    lines = [(1, "ord-1", "ACCEPTED", None)] * 3 + [(2, "ord-2", "ACCEPTED", None)]
    accepted = AcceptedIds.from_report(write_report(tmp_path / "report.jsonl", lines))
    assert len(accepted) == 2


def test_from_ids_agrees_with_from_report(tmp_path):
    """The same ids give the same set through from_ids and from_report."""
    ids = [f"ord-{i:x}" for i in range(2000)] + ["zoë-ünïcode", "注文-1"]
    lines = [(n, event_id, "ACCEPTED", None) for n, event_id in enumerate(ids)]
    from_report = AcceptedIds.from_report(write_report(tmp_path / "report.csv", lines))
    from_ids = AcceptedIds.from_ids(ids)
    assert len(from_ids) == len(from_report) == len(ids)
    assert all(event_id in from_ids and event_id in from_report for event_id in ids)
    assert "ord-fffff" not in from_ids


def test_an_id_with_a_lone_surrogate_is_hashed_not_refused():
    """Text read with surrogateescape may hold lone surrogates: they are looked up, not raised."""
    accepted = AcceptedIds.from_ids(["\udcff-id"])
    assert "\udcff-id" in accepted
    assert "\udcfe-id" not in accepted


def test_from_ids_refuses_what_is_not_a_string():
    """An event id that is not a string is a TypeError, not a silent miss."""
    with pytest.raises(TypeError, match="not int"):
        AcceptedIds.from_ids(["a", 1])  # type: ignore[list-item]


def test_an_empty_report_accepts_nothing(tmp_path):
    """A report with a header and no lines (or an empty JSONL) is an empty set."""
    for name in ("report.csv", "report.jsonl"):
        accepted = AcceptedIds.from_report(write_report(tmp_path / name, []))
        assert len(accepted) == 0
        assert "ord-1" not in accepted
        assert not accepted


def test_accepted_ids_are_immutable():
    """Attributes cannot be set or deleted, and the class is built only by its constructors."""
    accepted = AcceptedIds.from_ids(["a"])
    with pytest.raises(AttributeError, match="immutable"):
        accepted.unidentified = 3  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        del accepted.truncated
    assert "1 ids" in repr(accepted)


def test_the_empty_set_accepts_nothing():
    """AcceptedIds() is the empty set of a run without --resume."""
    empty = AcceptedIds()
    assert len(empty) == 0
    assert "ord-1" not in empty
    assert (empty.unidentified, empty.unreadable, empty.truncated) == (0, 0, False)
    assert empty.nbytes < 4096


def test_unreadable_lines_are_counted_and_the_rest_kept(tmp_path):
    """A cut-short last line (a killed run) is counted unreadable; the lines before count."""
    path = write_report(tmp_path / "report.csv", LINES[:3])
    with open(path, "a", encoding="utf-8") as stream:
        stream.write("4,ord-4,ACCEP")
    accepted = AcceptedIds.from_report(path)
    assert accepted.unreadable == 1
    assert "ord-1" in accepted
    assert "ord-4" not in accepted
    jsonl = write_report(tmp_path / "report.jsonl", LINES[:3])
    with open(jsonl, "a", encoding="utf-8") as stream:
        stream.write('{"row": 4, "event_id": "ord-4", "sta\n[1, 2]\n')
    accepted = AcceptedIds.from_report(jsonl)
    assert (accepted.unreadable, len(accepted)) == (2, 2)


def test_a_gzip_report_cut_short_keeps_the_lines_before_the_cut(tmp_path):
    """A .gz report whose stream ends early is marked truncated; its first lines still count."""
    lines = [(row, f"ord-{row}", "ACCEPTED", None) for row in range(1, 20001)]
    path = write_report(tmp_path / "report.csv.gz", lines)
    data = (tmp_path / "report.csv.gz").read_bytes()
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(data[: len(data) // 2])
    accepted = AcceptedIds.from_report(str(cut))
    assert accepted.truncated
    assert "ord-1" in accepted
    assert 0 < len(accepted) < 20000
    assert not AcceptedIds.from_report(path).truncated


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("orders.csv", "email,phone\na@b.co,1\n", r"no event_id and status columns"),
        ("half.csv", "row,event_id\n1,x\n", r"no status column"),
        ("orders.jsonl", '{"email": "a@b.co"}\n', r"no event_id and status columns"),
        ("empty.csv", "", r"has no header row, so it is not a snapcapi report"),
        ("report.txt", "row,event_id,status\n", r"cannot tell the format"),
    ],
)
def test_a_file_that_is_no_report_is_refused_naming_it(tmp_path, name, content, expected):
    """A file without the report's columns is a ValidationError naming it and what to do."""
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValidationError, match=expected) as caught:
        AcceptedIds.from_report(str(path))
    assert caught.value.field == "resume"
    assert str(path) in caught.value.reason
    assert "--report" in caught.value.reason
    assert "without --resume" in caught.value.reason


@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_a_report_that_cannot_be_read_is_refused_naming_it(tmp_path, kind):
    """A report that does not exist (or is a folder) is a ValidationError naming the path."""
    path = tmp_path / "report.csv"
    if kind == "folder":
        path.mkdir()
    with pytest.raises(ValidationError, match="cannot read") as caught:
        AcceptedIds.from_report(str(path))
    assert caught.value.field == "resume"
    assert str(path) in caught.value.reason


def test_nbytes_stays_within_8_bytes_per_id_on_200000_lines(tmp_path):
    """A 200,000-line report is kept in at most 8 bytes per accepted id plus 32 KB."""
    rng = random.Random(11)
    path = str(tmp_path / "big.csv")
    with ReportWriter(path) as report:
        for row in range(1, 200_001):
            ok = row % 10 != 0
            status, reason = ("ACCEPTED", None) if ok else ("INVALID", "email: not an email")
            report.write(row, f"ord-{rng.getrandbits(144):036x}", status, reason)
    accepted = AcceptedIds.from_report(path)
    assert len(accepted) == 180_000
    assert accepted.nbytes <= 8 * len(accepted) + 32 * 1024


def test_building_peaks_near_the_size_it_keeps(tmp_path):
    """Building from 20,000 lines peaks under 16 bytes per id plus 256 KB (no object per row)."""
    path = str(tmp_path / "report.csv")
    with ReportWriter(path) as report:
        for row in range(1, 20_001):
            report.write(row, f"ord-{row:036x}", "ACCEPTED", None)
    tracemalloc.start()
    try:
        accepted = AcceptedIds.from_report(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(accepted) == 20_000
    assert peak <= 16 * 20_000 + 256 * 1024


# --- report metadata -------------------------------------------------------------------------


def test_meta_round_trips_through_its_sidecar(tmp_path):
    """ReportMeta.write then read gives back the same metadata, beside the report."""
    report = str(tmp_path / "report.csv.gz")
    meta = ReportMeta(source="orders.csv", settings=SETTINGS)
    written = meta.write(report)
    assert written == report + ".meta.json" == meta_path(report)
    assert ReportMeta.read(report) == meta
    data = json.loads((tmp_path / "report.csv.gz.meta.json").read_text(encoding="utf-8"))
    assert data["settings"]["timezone"] == "Europe/Paris"
    assert data["source"] == "orders.csv"
    assert meta.created.endswith("+00:00")
    assert meta.version


def test_meta_keeps_settings_as_strings():
    """Settings given as other values are stored as strings, None as an empty string."""
    meta = ReportMeta(source="f.csv", settings={"group_by": None, "limit": 3})  # type: ignore[dict-item]
    assert meta.settings == {"group_by": "", "limit": "3"}
    with pytest.raises(TypeError):
        meta.settings["limit"] = "4"  # type: ignore[index]


def test_meta_of_stdout_is_not_written_and_a_report_without_one_reads_none(tmp_path):
    """A report on stdout gets no sidecar; an older report without one reads as None."""
    assert ReportMeta(source="f.csv").write("-") is None
    assert ReportMeta.read("-") is None
    assert meta_path("-") is None
    assert ReportMeta.read(write_report(tmp_path / "old.csv")) is None


def test_a_broken_sidecar_is_a_validation_error_naming_it(tmp_path):
    """A sidecar that is not valid metadata is refused, naming its path."""
    report = write_report(tmp_path / "report.csv")
    for content in ("{not json", '{"kind": "other"}', '["a"]'):
        (tmp_path / "report.csv.meta.json").write_text(content, encoding="utf-8")
        with pytest.raises(ValidationError, match=r"report\.csv\.meta\.json") as caught:
            ReportMeta.read(report)
        assert caught.value.field == "resume"


def test_differs_is_none_when_every_setting_is_equal():
    """Version, source and time may differ: only the settings that decide ids count."""
    old = ReportMeta(source="a.csv", settings=SETTINGS, version="0.1.0", created="2020")
    new = ReportMeta(source="b.csv", settings=dict(reversed(SETTINGS.items())))
    assert old.differs(new) is None


def test_differs_names_the_first_differing_setting_with_both_values():
    """The message names the first differing setting by its flag, with the old and new value."""
    old = ReportMeta(source="a.csv", settings=SETTINGS)
    new = ReportMeta(
        source="a.csv", settings={**SETTINGS, "timezone": "UTC", "preset": "woocommerce"}
    )
    message = old.differs(new, report="report.csv")
    assert message == (
        "--resume report.csv was made with --timezone=Europe/Paris, this run has "
        "--timezone=UTC; event ids would differ, so resuming would resend or skip the wrong "
        "rows. Rerun with the same settings, or start without --resume."
    )
    assert "\n" not in message


@pytest.mark.parametrize(
    ("name", "old", "new", "shown"),
    [
        ("mapping", "email=Email", "email=Mail", "--map=email=Email, this run has --map=email="),
        ("time_format", "", "%d/%m/%Y", "made with no --time-format, this run has --time-f"),
        ("event_name", "PURCHASE", "", "this run has no --event-name"),
        ("group_by", "Order Name", "Name", "--group-by='Order Name'"),
        ("id_scheme", "2", "3", "--id-scheme=2"),
        ("synonyms", "on", "off", "made with no --no-synonyms, this run has --no-synonyms;"),
        ("ignore", "Notes", "", "made with --ignore=Notes, this run has no --ignore;"),
    ],
)
def test_differs_spells_each_setting_as_its_flag(name, old, new, shown):
    """Each setting is named by its command-line flag; empty values read 'no --flag'."""
    before = ReportMeta(source="a.csv", settings={**SETTINGS, name: old})
    after = ReportMeta(source="a.csv", settings={**SETTINGS, name: new})
    message = before.differs(after)
    assert message is not None
    assert shown in message


def test_differs_truncates_long_values_to_60_characters():
    """A long mapping is shown cut to 60 characters."""
    long_map = ",".join(f"field{i}=Column{i}" for i in range(20))
    before = ReportMeta(source="a.csv", settings={"mapping": long_map})
    after = ReportMeta(source="a.csv", settings={"mapping": "email=Email"})
    message = before.differs(after)
    assert message is not None
    assert f"--map={long_map[:59]}…," in message
    assert long_map[:61] not in message


def test_differs_treats_a_missing_setting_as_empty():
    """A report made before a setting existed equals a run that leaves it empty."""
    old = ReportMeta(source="a.csv", settings={"key": "Name"})
    assert old.differs(ReportMeta(source="a.csv", settings={"key": "Name", "preset": ""})) is None
    message = old.differs(ReportMeta(source="a.csv", settings={"key": "Name", "preset": "x"}))
    assert message is not None
    assert "no --preset, this run has --preset=x" in message
    default = ReportMeta(source="a.csv", settings={"key": "Name", "synonyms": "on"})
    assert old.differs(default) is None


def test_differs_takes_other_flag_spellings():
    """The flags table can be replaced (the library's keyword names, say)."""
    old = ReportMeta(source="a.csv", settings={"timezone": "UTC"})
    new = ReportMeta(source="a.csv", settings={"timezone": "Asia/Tokyo"})
    message = old.differs(new, flags={"timezone": "timezone"})
    assert message is not None
    assert "made with timezone=UTC" in message
    assert set(SETTING_FLAGS) >= {"key", "mapping", "timezone", "preset"}


def test_meta_round_trip_keeps_settings_order_for_differs(tmp_path):
    """A sidecar read back compares setting by setting in its written order."""
    report = str(tmp_path / "r.jsonl")
    ReportMeta(source="a.csv", settings=SETTINGS).write(report)
    old = ReportMeta.read(report)
    assert old is not None
    new = ReportMeta(source="a.csv", settings={**SETTINGS, "key": "Id", "preset": "none"})
    message = old.differs(new, report=report)
    assert message is not None
    assert message.startswith(f"--resume {report} was made with --key=Name, this run has --key=Id")


def test_gzip_report_and_plain_report_agree(tmp_path):
    """A .gz report reads exactly as its plain twin."""
    plain = AcceptedIds.from_report(write_report(tmp_path / "r.jsonl"))
    path = tmp_path / "r.jsonl.gz"
    path.write_bytes(gzip.compress((tmp_path / "r.jsonl").read_bytes()))
    packed = AcceptedIds.from_report(str(path))
    assert len(plain) == len(packed) == 2
    assert plain.unidentified == packed.unidentified == 1


# Snap's messages as they may come: commas, semicolons, quotes, a tab and a line break.
SNAP_SAYS = ("Currency not enabled; check 'currency', then \"resend\"", "Bad\tfield\nevent_time")


@pytest.mark.parametrize("name", ["report.csv", "report.tsv", "report.jsonl.gz"])
def test_snaps_answer_is_at_the_end_and_the_report_still_resumes(tmp_path, name):
    """messages, http_status and request_id follow codes; --resume reads such reports."""
    path = str(tmp_path / name)
    with ReportWriter(path) as report:
        report.write(1, "ord-1", "REJECTED", "Snap refused it", ("C1", "C2"), "PURCHASE",
                     messages=SNAP_SAYS, http_status=400, request_id="req-1")  # fmt: skip
        report.write(2, "ord-2", "ACCEPTED", None, (), "PURCHASE",
                     http_status=200, request_id="req-2")  # fmt: skip
        report.write(3, "ord-3", "INVALID", "email: not an email address", ("bad_email",))
    accepted = AcceptedIds.from_report(path)
    assert len(accepted) == 1
    assert accepted.accepted("ord-2", "PURCHASE")
    assert accepted.unreadable == accepted.unidentified == 0  # a line break in a cell is fine
    with (gzip.open if name.endswith(".gz") else open)(path, "rt", newline="") as stream:
        if name.endswith((".jsonl", ".jsonl.gz")):
            lines = [json.loads(line) for line in stream]
            assert list(lines[0])[-4:] == ["codes", "messages", "http_status", "request_id"]
            assert lines[0]["messages"] == list(SNAP_SAYS)
            assert (lines[0]["http_status"], lines[0]["request_id"]) == (400, "req-1")
            unsent = lines[2]
            assert (unsent["messages"], unsent["http_status"], unsent["request_id"]) == (
                [],
                None,
                None,
            )
            return
        rows = list(csv.reader(stream, delimiter="\t" if name.endswith(".tsv") else ","))
    assert rows[0][-4:] == ["codes", "messages", "http_status", "request_id"]
    assert rows[1][-4:] == ["C1;C2", " | ".join(SNAP_SAYS), "400", "req-1"]
    assert rows[1][-3].split(" | ") == list(SNAP_SAYS)  # the separator splits them back
    assert rows[2][-3:] == ["", "200", "req-2"]
    assert rows[3][-4:] == ["bad_email", "", "", ""]


def test_a_jsonl_report_of_the_earlier_layout_still_resumes(tmp_path):
    """A JSONL report written before messages, http_status and request_id reads as before."""
    older = tmp_path / "older.jsonl"
    lines = [
        {"row": 1, "event_id": "o1", "event_name": "PURCHASE", "status": "ACCEPTED",
         "reason": None, "codes": []},
        {"row": 2, "event_id": "o2", "event_name": "PURCHASE", "status": "REJECTED",
         "reason": "Snap refused the event", "codes": ["C1"]},
    ]  # fmt: skip
    older.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    accepted = AcceptedIds.from_report(str(older))
    assert len(accepted) == 1
    assert accepted.accepted("o1", "PURCHASE")
    assert not accepted.accepted("o2", "PURCHASE")
    assert accepted.unreadable == accepted.unidentified == 0


def test_reports_that_name_events_match_an_id_under_its_name(tmp_path):
    """A report with event names tells PURCHASE o1 from SIGN_UP o1; an older one matches ids."""
    named = tmp_path / "named.csv"
    named.write_text("row,event_id,event_name,status,reason,codes\n1,o1,PURCHASE,ACCEPTED,,\n",
                     encoding="utf-8")  # fmt: skip
    accepted = AcceptedIds.from_report(str(named))
    assert accepted.accepted("o1", "PURCHASE")
    assert not accepted.accepted("o1", "SIGN_UP")
    older = tmp_path / "older.csv"
    older.write_text("row,event_id,status,reason,codes\n1,o1,ACCEPTED,,\n", encoding="utf-8")
    previous = AcceptedIds.from_report(str(older))
    assert previous.accepted("o1", "SIGN_UP")  # no names to tell them apart: by id, as before


def test_a_reason_holding_report_lines_never_marks_a_row_accepted(tmp_path):
    """A server's text over several lines that reads like report lines stays one reason."""
    path = tmp_path / "report.csv"
    echoed = "refused:\n9,ord-9,PURCHASE,ACCEPTED,,,,200,\n10,ord-10,PURCHASE,ACCEPTED,,,,200,"
    with ReportWriter(str(path)) as writer:
        writer.write(1, "ord-1", "ACCEPTED", None, (), "PURCHASE")
        writer.write(9, "ord-9", "REJECTED", echoed, ("X",), "PURCHASE", messages=(echoed,))
    accepted = AcceptedIds.from_report(str(path))
    assert accepted.accepted("ord-1", "PURCHASE")
    assert not accepted.accepted("ord-9", "PURCHASE")
    assert not accepted.accepted("ord-10", "PURCHASE")
    assert (len(accepted), accepted.unreadable) == (1, 0)


@pytest.mark.parametrize("name", ["r.csv", "r.csv.gz", "r.jsonl", "r.tsv.gz"])
def test_merge_report_keeps_the_partials_lines_and_the_earlier_accepted_ones(tmp_path, name):
    """The merged report: the partial's lines, then the earlier ACCEPTED lines it lacks, once."""
    from snapcapi._resume import merge_report

    target = str(tmp_path / name)
    partial = str(tmp_path / f"partial-{name}")
    with ReportWriter(target) as writer:
        for row, event_id, status in [(1, "a", "ACCEPTED"), (2, "b", "ACCEPTED"),
                                      (3, "c", "FAILED"), (4, "d", "ACCEPTED")]:  # fmt: skip
            writer.write(row, event_id, status, "why | not", ("x", "y"), "PURCHASE",
                         messages=("one", "two"), http_status=200, request_id="r-1")  # fmt: skip
    with ReportWriter(partial) as writer:
        writer.write(1, "a", "ACCEPTED", "accepted in an earlier run (--resume)", (), "PURCHASE")
        writer.write(2, "b", "FAILED", "not sent: the send stopped early", (), "PURCHASE")
        writer.write(3, "c", "ACCEPTED", None, (), "PURCHASE")
    ReportMeta(source="orders.csv").write(partial)
    merge_report(partial, target, target)
    accepted = AcceptedIds.from_report(target)
    assert [event_id for event_id in "abcd" if accepted.accepted(event_id, "PURCHASE")] == [
        "a", "b", "c", "d"
    ]  # fmt: skip
    with RowSource(target, recover=False) as source:
        lines = [line for _, line in source]
    assert [(str(line["row"]), line["event_id"], line["status"]) for line in lines] == [
        ("1", "a", "ACCEPTED"), ("2", "b", "FAILED"), ("3", "c", "ACCEPTED"),
        ("2", "b", "ACCEPTED"), ("4", "d", "ACCEPTED"),
    ]  # fmt: skip
    copied = lines[3]
    assert copied["reason"] == "why | not"
    assert str(copied["http_status"]) == "200"
    assert copied["request_id"] == "r-1"
    assert ReportMeta.read(target).source == "orders.csv"
    assert not (tmp_path / f"partial-{name}").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, f"{name}.meta.json"])

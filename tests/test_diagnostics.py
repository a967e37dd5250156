"""diagnose() and MatchReport: shares, problems by reason, advice order, display."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

import snapcapi
from snapcapi import Event, MatchReport, UserData, ValidationError, diagnose

NOW = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)
TS = NOW.timestamp()


def record(**fields):
    base = {"event_name": "PURCHASE", "event_time": (NOW - timedelta(hours=1)).isoformat(),
            "action_source": "OFFLINE", "value": "9.99", "currency": "USD"}  # fmt: skip
    base.update(fields)
    return base


def test_shares_no_key_and_ip_without_agent():
    """Coverage counts each identifier; events with no key and half IP pairs are counted."""
    records = [
        record(email="a@example.com", phone="+14155550132"),
        record(email="b@example.com", ip="203.0.113.7"),
        record(ip="203.0.113.8", user_agent="Mozilla/5.0"),
        record(first_name="Jane", last_name="Doe", zip="94107"),
    ]
    report = diagnose(records, now=TS)
    assert report.events == 4
    assert report.coverage["email"] == 2
    assert report.share("email") == 0.5
    assert report.coverage["phone"] == 1
    assert report.coverage["ip_and_user_agent"] == 1
    assert report.coverage["ip_without_user_agent"] == 1
    assert report.coverage["full_name"] == 1
    assert report.coverage["zip_code"] == 1
    assert report.no_match_key == 1
    assert report.recommendations[0].text.startswith("25.0% of events have no matching key")
    impacts = [r.impact for r in report.recommendations]
    assert impacts == sorted(impacts, reverse=True)
    assert any("add client_user_agent" in r.text for r in report.recommendations)


def test_invalid_identifiers_and_problem_rows_by_reason_without_pii():
    """Bad identifiers are dropped and grouped by reason, masked; unusable rows counted."""
    records = [record(email=f"jane.secret{i}@") for i in range(3)]
    records += [record(email="ok@example.com", event_time=None), "not a record"]
    report = diagnose(records, now=TS)
    assert report.events == 3
    assert report.problem_rows == 2
    [(reason, count)] = report.invalid_identifiers.items()
    assert count == 3
    assert reason.startswith("email: is not a valid email address")
    assert report.row_problems == {
        "event_time: is missing from the record": 1,
        "expected a record": 1,
    }
    shown = str(report) + json.dumps(report.to_dict()) + report._repr_html_() + repr(report)
    assert "jane.secret" not in shown
    assert "3 email values were dropped as invalid (is not a valid email address)" in str(report)


def test_old_events_duplicates_names_and_web_click_data():
    """Old events, repeated event_ids, event names and WEB events without click data."""
    web = {"action_source": "WEB", "event_source_url": "https://shop.example.com/"}
    events = [
        Event(event_name="PURCHASE", event_time=NOW - timedelta(days=9), action_source="WEB",
              event_source_url="https://shop.example.com/", event_id="same",
              user_data=UserData(email="a@example.com", sc_click_id="click-1"),
              custom_data={"value": 1, "currency": "USD"}),
        record(email="b@example.com", event_id="same", **web),
        record(email="c@example.com", event_name="SIGN_UP", value=None, currency=None),
    ]  # fmt: skip
    report = diagnose(events, now=TS)
    assert report.older_than_7_days == 1
    assert report.duplicate_event_ids == 1
    assert report.event_names == {"PURCHASE": 2, "SIGN_UP": 1}
    assert report.web_events == 2
    assert report.web_without_click_data == 1
    texts = " ".join(r.text for r in report.recommendations)
    assert "33.3% of events are 7 to 37 days old" in texts
    assert "share an event_id" in texts
    assert "50.0% of WEB events carry neither the click id" in texts


def test_empty_input_and_bad_mapping():
    """No events: a report that says so; an unknown mapped field is an error."""
    report = diagnose([], now=TS)
    assert report.events == 0
    assert str(report) == "No events to diagnose."
    assert report.to_dict()["coverage"]["email"] == {"events": 0, "share": 0.0}
    with pytest.raises(ValidationError):
        diagnose([record()], mapping={"emial": "email"})


def test_html_escapes_everything():
    """Reasons and texts are escaped in the notebook view."""
    report = diagnose([record(email="<script>@x")], now=TS)
    assert "<script>" not in report._repr_html_()
    assert isinstance(report, MatchReport)
    assert snapcapi.diagnose is diagnose


def test_cli_diagnose_prints_the_report(tmp_path):
    """`snapcapi diagnose FILE` prints the report; --json prints to_dict()."""
    import io

    from snapcapi import cli

    fresh = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()  # the CLI's clock
    rows = [record(email="a@"), record(ip="1.2.3.4"), record(email="ok@example.com")]
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(json.dumps({**r, "event_time": fresh}) for r in rows) + "\n{broken\n")
    out = io.StringIO()
    assert cli.main(["diagnose", str(path)], out=out) == 0
    text = out.getvalue()
    assert "Match quality of 3 events" in text
    assert "not valid JSON" in text  # the unreadable line counts, as in a send
    assert "identifiers dropped (could not be normalized):" in text  # drop is the default here
    out = io.StringIO()
    assert cli.main(["diagnose", str(path), "--json"], out=out) == 0
    data = json.loads(out.getvalue())
    assert data["events"] == 3
    assert data["problem_rows"] == 1
    # One usable event of four rows: the unreadable one weighs against the score.
    assert (data["usable_events"], data["score"]) == (1, 25.0)


def test_lost_events_come_first_whatever_else_is_common():
    """Events that would not be sent outrank advice that concerns more events."""
    web = {"action_source": "WEB", "event_source_url": "https://shop.example.com/"}
    records = [record(email=f"u{i}@example.com", **web) for i in range(19)]
    records.append(record(first_name="Jane", **web))  # no key: 5% of events
    report = diagnose(records, now=TS)
    assert report.web_without_click_data == 20
    assert report.recommendations[0].text.startswith("5.0% of events have no matching key")
    assert report.recommendations[0].share == 0.05


def test_reasons_are_grouped_by_category_without_the_values():
    """Many distinct bad values form one line per field and category; no value is kept."""
    records = [
        record(email=f"secret.{i}@@example.com", client_ip_address=f"10.0.{i}.999")
        for i in range(200)
    ]
    records += [record(event_time=f"sometime-{i}") for i in range(80)]
    records += [record(event_name=f"Bought{i}") for i in range(70)]
    report = diagnose(records, now=TS)
    assert report.invalid_identifiers == {
        "email: is not a valid email address": 200,
        "client_ip_address: is not an IPv4 or IPv6 address": 200,
    }
    assert report.row_problems == {
        "event_time: is not a time": 80,
        "event_name: is not a Snap event name": 70,
    }
    shown = str(report) + json.dumps(report.to_dict()) + report._repr_html_()
    for secret in ("secret.", "10.0.", "sometime-", "Bought"):
        assert secret not in shown
    assert "150 rows could not become events (most often: event_time: is not a time)" in shown


def test_events_the_client_would_not_send_are_counted_and_come_first():
    """Too old, PURCHASE without value, or a phone without country code: lost, by reason."""
    records = [
        record(email="a@example.com", event_time=(NOW - timedelta(days=40)).isoformat()),
        record(email="b@example.com", value=None, currency=None),
        record(email="c@example.com", phone="415 555 0132"),
        record(email="d@example.com", phone="415 555 0199"),
    ] + [record(email=f"u{i}@example.com", phone="+14155550100") for i in range(6)]
    report = diagnose(records, now=TS)
    assert report.unsendable_events == 4
    assert report.unsendable == {
        "phone: has no country code": 2,
        "event_time: older than 37 days (Snap refuses it)": 1,
        "PURCHASE events need custom_data.value and custom_data.currency": 1,
    }
    assert report.older_than_7_days == 1
    first = report.recommendations[0]
    assert first.share == 0.2
    assert first.text.startswith("20.0% of events cannot be sent: a phone number has no country")
    assert "region=, --region" in first.text
    assert not any("7 to 37 days" in r.text for r in report.recommendations)
    resolved = diagnose(records, now=TS, region="US")
    assert "phone: has no country code" not in resolved.unsendable
    assert resolved.coverage["phone"] == 8


def test_phones_dropped_for_want_of_a_country_code_suggest_region():
    """A phone dropped because it has no country code points at region=."""
    report = diagnose([record(email="a@example.com", phone="12")], now=TS)
    assert report.invalid_identifiers == {"phone: has no country code": 1}
    assert any(
        r.text.startswith("1 phone value was dropped for want of a country code")
        and "region=" in r.text
        for r in report.recommendations
    )


def test_events_given_as_events_are_checked_like_records():
    """Events need no conversion; a mobile ad id is a matching key only in app events."""
    madid = "6b4f1e2a-1d3c-4b5a-9e8f-0a1b2c3d4e5f"
    events = [
        Event(event_name="PAGE_VIEW", event_time=TS - 60, action_source="WEB",
              event_source_url="https://shop.example.com/", user_data=UserData(madid=madid)),
        Event(event_name="APP_OPEN", event_time=TS - 60, action_source="MOBILE_APP",
              user_data=UserData(madid=madid), app_data={"platform": "ios"}),
    ]  # fmt: skip
    report = diagnose(events, now=TS)
    assert report.events == 2
    assert report.coverage["madid"] == 2
    assert report.no_match_key == 1
    assert report.event_names == {"PAGE_VIEW": 1, "APP_OPEN": 1}


def test_recommendations_are_ordered_by_impact_and_say_so():
    """Advice is ordered by impact, shares are between 0 and 1, and the counts read right."""
    records = [record(ip=f"203.0.113.{i}", email=f"u{i}@example.com") for i in range(7)]
    records += [record(phone="+14155550100", event_id="dup") for _ in range(3)]
    report = diagnose(records, now=TS)  # the reader skips the 2 rows repeating "dup"
    impacts = [r.impact for r in report.recommendations]
    assert impacts == sorted(impacts, reverse=True)
    assert all(0 < r.share <= 1 for r in report.recommendations)
    texts = [r.text for r in report.recommendations]
    ip = texts.index("87.5% of events have an IP but no user agent; add client_user_agent to "
                     "make IP matching usable.")  # fmt: skip
    duplicates = next(i for i, t in enumerate(texts) if t.startswith("2 events share an event_id"))
    assert ip < duplicates
    assert report.duplicate_event_ids == 2
    assert "<li>" not in str(report)
    assert (report.events, report.skipped_rows) == (8, 2)
    assert str(report).splitlines()[0] == (
        "Match quality of 8 events (2 rows skipped as filtered out or duplicates)"
    )


def test_report_display_escapes_and_aligns():
    """The text table is aligned; the HTML is a table whose cells are all escaped."""
    report = diagnose([record(email="a@example.com", event_id="<script>alert(1)</script>")], now=TS)
    lines = str(report).splitlines()
    assert lines[2].startswith("match score: 100.0 / 100 (of 1 row, 1 usable event with")
    table = lines[4 : 4 + 16]
    assert len({len(line) for line in table}) == 1  # right-aligned columns
    shown = report._repr_html_()
    assert shown.startswith("<div><table>")
    assert "<script>" not in shown
    assert diagnose([], now=TS)._repr_html_() == "<p>No events to diagnose.</p>"
    assert repr(diagnose([], now=TS)) == (
        "MatchReport(0 events, 0 problem rows, score 0.0, no matching key 0.0%, 0 recommendations)"
    )


# --------------------------------------------------------------------------- per event name


def test_events_per_event_name_with_their_share_having_a_matching_key():
    """by_event_name counts events and those with a matching key, most frequent first."""
    records = [
        record(email="a@example.com"),
        record(ip="203.0.113.7", user_agent="Mozilla/5.0"),
        record(first_name="Jane"),  # no matching key
        record(event_name="SIGN_UP", value=None, currency=None, first_name="Bob"),
    ]
    report = diagnose(records, now=TS)
    assert report.by_event_name == {"PURCHASE": (3, 2), "SIGN_UP": (1, 0)}
    assert list(report.by_event_name) == ["PURCHASE", "SIGN_UP"]
    text = str(report)
    assert "event name     events  with a matching key   share" in text
    assert "PURCHASE            3                    2   66.7%" in text
    assert "SIGN_UP             1                    0    0.0%" in text
    assert report.to_dict()["by_event_name"] == {
        "PURCHASE": {"events": 3, "with_matching_key": 2, "share": 0.6667},
        "SIGN_UP": {"events": 1, "with_matching_key": 0, "share": 0.0},
    }
    shown = report._repr_html_()
    assert "events per event name" in shown
    assert "<td style='text-align:left'>SIGN_UP</td>" in shown
    assert "66.7%" in shown


# --------------------------------------------------------------------------- score


def test_score_is_100_when_every_row_is_usable_with_email_or_phone():
    """Every row a sendable event with email or phone: score 100, all usable."""
    records = [record(email=f"u{i}@example.com") for i in range(3)]
    records.append(record(phone="+14155550100", ip="203.0.113.7", user_agent="Mozilla/5.0"))
    report = diagnose(records, now=TS)
    assert report.score == 100.0
    assert report.usable_events == 4
    assert report.partial_key_events == 0
    assert report.to_dict()["score"] == 100.0
    assert "match score: 100.0 / 100" in str(report)
    assert "100.0 / 100" in report._repr_html_()


def test_score_is_0_when_nothing_is_usable():
    """No key, unsendable, rows that are not events, or nothing at all: score 0."""
    records = [
        record(first_name="Jane"),  # no matching key
        record(email="a@example.com", event_time=(NOW - timedelta(days=40)).isoformat()),
        record(email="b@example.com", value=None, currency=None),  # PURCHASE without value
        record(email="c@example.com", phone="415 555 0132"),  # phone without country code
        record(email="d@example.com", event_time=None),  # cannot become an event
        "not a record",
    ]
    report = diagnose(records, now=TS)
    assert (report.events, report.problem_rows) == (4, 2)
    assert report.usable_events == 0
    assert report.score == 0.0
    assert diagnose([], now=TS).score == 0.0


def test_score_of_a_mix_computed_by_hand():
    """Full keys weigh 1, IP + user agent only 0.5, the rest 0; over every row read."""
    ua = {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0"}
    web = {"action_source": "WEB", "event_source_url": "https://shop.example.com/"}
    madid = "6b4f1e2a-1d3c-4b5a-9e8f-0a1b2c3d4e5f"
    records = [
        *(record(email=f"u{i}@example.com") for i in range(4)),  # 4 x 1
        record(phone="+14155550100", **ua),  # 1: phone is a full key
        record(**ua),  # 0.5
        record(**ua, **web),  # 0.5
        record(madid=madid, **ua, **web),  # 0.5: a mobile ad id counts in app events only
        Event(event_name="APP_OPEN", event_time=TS - 60, action_source="MOBILE_APP",
              user_data=UserData(madid=madid), app_data={"platform": "ios"}),  # 1
        record(first_name="Jane"),  # 0: no matching key
        record(email="old@example.com", event_time=(NOW - timedelta(days=40)).isoformat()),  # 0
        "not a record",  # 0
    ]  # fmt: skip
    report = diagnose(records, now=TS)
    assert (report.events, report.problem_rows) == (11, 1)
    assert report.usable_events == 9
    assert report.partial_key_events == 3
    assert report.score == 62.5  # 100 * (6 + 3 * 0.5) / 12
    assert "(of 12 rows, 6 usable events with email" in str(report)
    assert "3 with IP + user agent only, weight 0.5)" in str(report)
    data = report.to_dict()
    assert (data["usable_events"], data["partial_key_events"]) == (9, 3)
    assert "score 62.5" in repr(report)


def test_score_is_rounded_down_so_it_never_passes_a_gate_it_fails():
    """Two of three rows usable: 66.6, not 66.7; one of eight with IP + UA only: 6.2."""
    records = [record(email="a@example.com"), record(email="b@example.com"), record()]
    assert diagnose(records, now=TS).score == 66.6
    records = [record(ip="203.0.113.7", user_agent="Mozilla/5.0")]
    records += [record(event_id=f"none-{i}") for i in range(7)]  # distinct: not duplicates
    assert diagnose(records, now=TS).score == 6.2  # 100 * 0.5 / 8 = 6.25


def test_usable_events_are_those_the_client_would_send():
    """usable_events = events - those with no key - those unsendable for another reason."""
    records = [
        record(email="a@example.com"),
        record(first_name="Jane", value=None, currency=None),  # no key and unsendable: once
        record(email="b@example.com", value=None, currency=None),
    ]
    report = diagnose(records, now=TS)
    assert report.usable_events == 1
    assert report.events - report.usable_events == 2


def test_rows_skipped_on_purpose_count_apart_and_not_in_the_score():
    """Filtered rows and duplicates are skipped rows, not problems; duplicates are counted."""
    from snapcapi.records import RowProblem, RowSkip

    rows = [
        record(email="a@example.com", event_id="one"),
        RowSkip(2, "filtered by --where currency=EUR"),
        RowSkip(3, "same event_id as an earlier row (one event)", "one"),
    ]
    report = diagnose(rows, now=TS)
    assert (report.events, report.problem_rows, report.skipped_rows) == (1, 0, 2)
    assert report.duplicate_event_ids == 1
    assert report.score == 100.0
    assert report.to_dict()["skipped_rows"] == 2
    assert "(2 rows skipped as filtered out or duplicates)" in str(report)
    dup = next(r for r in report.recommendations if "share an event_id" in r.text)
    assert dup.share == 0.5  # of the rows that are events or repeat one
    only = diagnose([RowProblem(1, "event_time", "is missing"), rows[2]], now=TS)
    assert (only.events, only.score, only.duplicate_event_ids) == (0, 0.0, 1)
    assert str(diagnose([rows[1]], now=TS)) == (
        "No events to diagnose (1 row skipped as filtered out or duplicates)."
    )


# --------------------------------------------------------------------------- options


def test_unknown_options_are_forwarded_to_iter_events_unchanged(monkeypatch):
    """Options diagnose does not name reach snapcapi.records.iter_events as they are."""
    import snapcapi.diagnostics
    from snapcapi import records

    seen = {}

    def spy(rows, **options):
        seen.update(options)
        return records.iter_events(rows, **{k: options[k] for k in ("mapping", "region")})

    monkeypatch.setattr(snapcapi.diagnostics, "iter_events", spy)
    zone = object()
    report = diagnose([record(email="a@example.com")], now=TS, region="FR", key=("order_id",),
                      timezone=zone, time_format="%d/%m/%Y", where=None)  # fmt: skip
    assert report.events == 1
    assert seen["key"] == ("order_id",)
    assert seen["timezone"] is zone
    assert seen["time_format"] == "%d/%m/%Y"
    assert seen["where"] is None
    assert (seen["region"], seen["on_invalid"], seen["mapping"]) == ("FR", "drop", None)


def test_forwarded_options_work_with_the_real_reader():
    """columns= and ignored= (options of iter_events) work through diagnose; typos fail early."""
    rows = [record(email="a@example.com", junk="x")]
    ignored: set[str] = set()
    report = diagnose(rows, now=TS, columns=list(rows[0]), ignored=ignored)
    assert report.events == 1
    assert ignored == {"junk"}

    def never():
        raise AssertionError("read")
        yield

    with pytest.raises(TypeError, match="colums"):
        diagnose(never(), colums=["email"])


# --------------------------------------------------------------------------- grouped by code


def test_two_wordings_of_one_code_are_one_line():
    """Drops are counted by code and field: two wordings of "no country code" are one line."""
    from snapcapi.problems import Problem

    worded = UserData(phone="(415) 555-0132", email="b@example.com").without_unresolved(
        Problem.dropped("phone_no_country_code", "phone", "(***********32 came without +code")
    )
    events = [
        Event(event_name="SIGN_UP", event_time=TS - 60, action_source="OFFLINE",
              user_data=UserData(phone="12", email="a@example.com", on_invalid="drop")),
        Event(event_name="SIGN_UP", event_time=TS - 60, action_source="OFFLINE",
              user_data=worded),
    ]  # fmt: skip
    assert events[0].warnings != events[1].warnings
    report = diagnose(events, now=TS)
    assert report.invalid_identifiers == {"phone: has no country code": 2}
    assert any(
        r.text.startswith("2 phone values were dropped for want of a country code")
        for r in report.recommendations
    )


def test_row_problems_are_counted_by_code_whatever_the_detail():
    """Lines that are not JSON, each with its own parser message, form one line."""
    from snapcapi.problems import NOT_JSON
    from snapcapi.records import RowProblem

    rows = [
        RowProblem(1, None, "not valid JSON: Expecting value: line 1 column 1", code=NOT_JSON),
        RowProblem(2, None, "not valid JSON: Unterminated string at column 9", code=NOT_JSON),
        record(email="a@example.com"),
    ]
    report = diagnose(rows, now=TS)
    assert report.row_problems == {"not valid JSON": 2}
    assert "most often: not valid JSON)" in " ".join(r.text for r in report.recommendations)


def test_unsendable_events_are_counted_by_code_not_by_their_numbers():
    """40 and 50 days old, 20 and 90 minutes ahead: one line per code, with its label."""
    times = [NOW - timedelta(days=40), NOW - timedelta(days=50),
             NOW + timedelta(minutes=20), NOW + timedelta(minutes=90)]  # fmt: skip
    report = diagnose([record(email="a@example.com", event_time=t.isoformat()) for t in times],
                      now=TS)  # fmt: skip
    assert report.unsendable == {
        "event_time: older than 37 days (Snap refuses it)": 2,
        "event_time: more than 10 minutes in the future": 2,
    }


def test_a_region_that_does_not_help_replaces_no_country_code():
    """Events whose phone fails in diagnose's region count under the region's reason instead."""
    event = Event(event_name="SIGN_UP", event_time=TS - 60, action_source="OFFLINE",
                  user_data=UserData(phone="0610826417", email="a@example.com"))  # fmt: skip
    assert diagnose([event], now=TS).unsendable == {"phone: has no country code": 1}
    report = diagnose([event], now=TS, region="US")
    assert report.unsendable == {"phone: is not a valid US number": 1}

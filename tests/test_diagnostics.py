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

    path = tmp_path / "rows.jsonl"
    path.write_text(
        "\n".join(json.dumps(r) for r in [record(email="a@"), record(ip="1.2.3.4")]) + "\n{broken\n"
    )
    out = io.StringIO()
    assert cli.main(["diagnose", str(path)], out=out) == 0
    text = out.getvalue()
    assert "Match quality of 2 events" in text
    assert "1 rows could not be read" in text
    assert "identifiers dropped (could not be normalized):" in text  # drop is the default here
    out = io.StringIO()
    assert cli.main(["diagnose", str(path), "--json"], out=out) == 0
    data = json.loads(out.getvalue())
    assert data["events"] == 2
    assert data["unreadable_rows"] == 1


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
    records = [record(email=f"secret.{i}@@example.com", ip=f"10.0.{i}.999") for i in range(200)]
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
    assert "pass region=" in first.text
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
    report = diagnose(records, now=TS)
    impacts = [r.impact for r in report.recommendations]
    assert impacts == sorted(impacts, reverse=True)
    assert all(0 < r.share <= 1 for r in report.recommendations)
    texts = [r.text for r in report.recommendations]
    ip = texts.index("70.0% of events have an IP but no user agent; add client_user_agent to "
                     "make IP matching usable.")  # fmt: skip
    duplicates = next(i for i, t in enumerate(texts) if t.startswith("2 events share an event_id"))
    assert ip < duplicates
    assert report.duplicate_event_ids == 2
    assert "<li>" not in str(report)
    assert str(report).splitlines()[0] == "Match quality of 10 events"


def test_report_display_escapes_and_aligns():
    """The text table is aligned; the HTML is a table whose cells are all escaped."""
    report = diagnose([record(email="a@example.com", event_id="<script>alert(1)</script>")], now=TS)
    lines = str(report).splitlines()
    table = lines[2 : 2 + 16]
    assert len({len(line) for line in table}) == 1  # right-aligned columns
    shown = report._repr_html_()
    assert shown.startswith("<div><table>")
    assert "<script>" not in shown
    assert diagnose([], now=TS)._repr_html_() == "<p>No events to diagnose.</p>"
    assert repr(diagnose([], now=TS)) == (
        "MatchReport(0 events, 0 problem rows, no matching key 0.0%, 0 recommendations)"
    )

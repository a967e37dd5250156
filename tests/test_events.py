"""Event: construction, the payload Snap receives, send-readiness checks and flat records."""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
import zoneinfo
from decimal import Decimal

import pytest
from conftest import (
    hostile_decimals,
    hostile_fractions,
    hostile_values,
    huge_digit_text,
    huge_ints,
    non_finite_floats,
    surrogate_text,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from snapcapi import (
    ActionSource,
    AppData,
    CustomData,
    Event,
    EventName,
    UserData,
    ValidationError,
    normalize,
)
from snapcapi.errors import Remedy
from snapcapi.events import resolve_timezone, to_epoch_seconds

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.timezone.utc)
NOW_TS = int(NOW.timestamp())


def purchase(**overrides):
    fields = {
        "event_name": EventName.PURCHASE,
        "event_time": NOW,
        "action_source": ActionSource.WEB,
        "event_source_url": "https://shop.example.com/checkout",
        "event_id": "order-1234",
        "user_data": UserData(
            email=" Person@Example.com ",
            phone="+44 844 412 4653",
            client_ip_address="203.0.113.7",
            client_user_agent="Mozilla/5.0",
        ),
        "custom_data": CustomData(value=Decimal("142.52"), currency="usd", order_id="order-1234"),
    }
    fields.update(overrides)
    return Event(**fields)


def test_design_example_payload():
    """The design's example event serializes to exactly the documented v3 shape."""
    assert purchase().to_payload() == {
        "event_name": "PURCHASE",
        "event_time": NOW_TS,
        "action_source": "WEB",
        "event_id": "order-1234",
        "event_source_url": "https://shop.example.com/checkout",
        "user_data": {
            "em": ["542d240129883c019e106e3b1b2d3f3cb3537c43c425364de8e951d5a3083345"],
            "ph": ["dc008fda46e2e64002cf2f82a4906236282d431c4f75e5b60bfe79fc48546383"],
            "client_ip_address": "203.0.113.7",
            "client_user_agent": "Mozilla/5.0",
        },
        "custom_data": {"value": 142.52, "currency": "USD", "order_id": "order-1234"},
    }


def test_payload_is_json_with_value_as_a_number():
    """The payload serializes with the standard json module; value is a JSON number."""
    text = json.dumps(purchase().to_payload())
    assert '"value": 142.52' in text


@pytest.mark.parametrize(
    "spelling", ["PURCHASE", "purchase", "Purchase", "Place an Order", EventName.PURCHASE]
)
def test_event_name_spellings(spelling):
    """Event names are case-insensitive and common names map to Snap's."""
    assert purchase(event_name=spelling).event_name is EventName.PURCHASE


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [("website", ActionSource.WEB), ("app", ActionSource.MOBILE_APP),
     ("physical_store", ActionSource.OFFLINE), ("OFFLINE", ActionSource.OFFLINE)],
)  # fmt: skip
def test_action_source_spellings(spelling, expected):
    """Snap's and Meta's action source spellings are accepted."""
    assert purchase(action_source=spelling).action_source is expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (NOW, NOW_TS),
        (NOW.astimezone(dt.timezone(dt.timedelta(hours=-5))), NOW_TS),
        (dt.date(2026, 11, 23), int(dt.datetime(2026, 11, 23, tzinfo=dt.timezone.utc).timestamp())),
        (NOW_TS, NOW_TS),
        (NOW_TS + 0.9, NOW_TS),
        (NOW_TS * 1000 + 999, NOW_TS),
        (str(NOW_TS), NOW_TS),
        ("2026-11-23T12:00:00Z", NOW_TS),
        ("2026-11-23T13:00:00+01:00", NOW_TS),
    ],
)
def test_event_time_forms(given, expected):
    """Aware datetimes, dates, seconds, milliseconds and ISO text all become Unix seconds."""
    assert purchase(event_time=given).event_time == expected


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        (dt.datetime(2026, 11, 23, 12, 0), "naive datetime"),
        ("2026-11-23T12:00:00", "has no UTC offset"),
        ("yesterday", "not a time"),
        (-5, "positive"),
        (0, "positive"),
        (10**21, "too large"),
        (True, "bool"),
        (math.nan, "positive"),
        (math.inf, "too large for a Unix time"),
        (Decimal("NaN"), "positive"),
        (1234567, "before 2000"),
    ],
)
def test_bad_event_times(given, fragment):
    """A naive datetime or a non-time raises, saying what to do."""
    with pytest.raises(ValidationError, match=fragment) as info:
        purchase(event_time=given)
    assert info.value.field == "event_time"


def test_event_time_defaults_to_now_and_event_id_to_a_uuid4():
    """Omitted time is now; omitted event_id is a fresh UUID4, so retries dedupe at Snap."""
    before = int(dt.datetime.now(dt.timezone.utc).timestamp())
    event = Event(event_name="SIGN_UP", action_source="OFFLINE", user_data={"email": "a@x.com"})
    assert before <= event.event_time <= before + 5
    assert uuid.UUID(event.event_id).version == 4
    other = Event(event_name="SIGN_UP", action_source="OFFLINE", user_data={"email": "a@x.com"})
    assert other.event_id != event.event_id


def test_unknown_event_name_lists_the_closest_names():
    """An unknown event name raises with suggestions and the aliases remedy."""
    with pytest.raises(ValidationError) as info:
        purchase(event_name="Purchse")
    assert info.value.field == "event_name"
    assert "'PURCHASE'" in str(info.value)
    assert info.value.remedy is not None
    assert info.value.remedy.argument == "aliases"


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("event_source_url", "shop.example.com/checkout", r"absolute http\(s\) URL"),
        ("event_source_url", "ftp://shop.example.com/", r"absolute http\(s\) URL"),
        ("event_id", "   ", "empty"),
        ("event_id", "x" * 256, "255"),
        ("user_data", "a@x.com", "UserData or a dict"),
        ("custom_data", 5, "CustomData or a dict"),
        ("action_source", "tv", "not an action source"),
        ("data_processing_options_country", -1, "negative"),
        ("opt_out", "maybe", "true or false"),
    ],
)
def test_structural_mistakes_raise_at_construction(field, value, fragment):
    """Structural mistakes raise ValidationError naming the field."""
    with pytest.raises(ValidationError, match=fragment) as info:
        purchase(**{field: value})
    assert info.value.field == field


def test_lmu_and_optional_fields_in_payload():
    """LMU options, integration and opt_out go to the event root; consent is never sent."""
    payload = purchase(
        data_processing_options="lmu",
        data_processing_options_country=1,
        data_processing_options_state=1000,
        integration="my-shop",
        opt_out="false",
        consent=True,
    ).to_payload()
    assert payload["data_processing_options"] == ["LMU"]
    assert payload["data_processing_options_country"] == 1
    assert payload["data_processing_options_state"] == 1000
    assert payload["integration"] == "my-shop"
    assert payload["opt_out"] is False
    assert "consent" not in payload


def test_a_ready_event_has_no_problems():
    """A complete event judged at its own time has nothing to report."""
    assert purchase().problems(now=NOW) == ()
    assert purchase().notices(now=NOW) == ()
    assert purchase().review(NOW_TS) == ((), ())


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"custom_data": None},
        {"event_source_url": None},
        {"action_source": "OFFLINE", "event_source_url": None},
        {"action_source": "MOBILE_APP"},
        {"event_time": NOW - dt.timedelta(days=8)},
        {"event_time": NOW - dt.timedelta(days=40)},
        {"event_time": NOW + dt.timedelta(minutes=20)},
        {"user_data": UserData(phone="(415) 555-0132")},
        {"user_data": UserData(email=["bad@", "a@x.com"], on_invalid="drop")},
        {"user_data": UserData(client_ip_address="203.0.113.7", client_user_agent="UA")},
        {"event_name": "SEARCH", "custom_data": None},
    ],
)
def test_review_is_problems_and_notices(overrides):
    """The client's fast check gives exactly what problems() and notices() give."""
    event = purchase(**overrides)
    assert event.review(NOW_TS) == (event.problems(now=NOW_TS), event.notices(now=NOW_TS))


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"user_data": UserData(client_ip_address="203.0.113.7")}, "no matching key"),
        ({"custom_data": None}, "PURCHASE events need"),
        ({"custom_data": CustomData(value=5)}, "PURCHASE events need"),
        ({"event_source_url": None}, "WEB events need event_source_url"),
        ({"action_source": "MOBILE_APP"}, "MOBILE_APP events need app_data"),
        ({"user_data": UserData(phone="(415) 555-0132")}, "no country code"),
        ({"event_time": NOW - dt.timedelta(days=38)}, "38 days old"),
        ({"event_time": NOW + dt.timedelta(minutes=11)}, "in the future"),
    ],
)
def test_problems(overrides, fragment):
    """Events unfit to send list why; the time window is judged against 'now'."""
    problems = purchase(**overrides).problems(now=NOW)
    assert any(fragment in p for p in problems), problems


def test_madid_matches_only_app_events():
    """A madid alone is a matching key for MOBILE_APP events only."""
    user = UserData(madid="6d92078a-8246-4ba4-ae5b-76104861e7dc")
    web = purchase(user_data=user)
    app = purchase(user_data=user, action_source="MOBILE_APP", app_data=AppData(platform="ios"))
    assert web.match_keys == ()
    assert app.match_keys == ("madid",)
    assert app.problems(now=NOW) == ()


def test_time_window_edges():
    """37 days old is still accepted (with a notice past 7 days); 10 minutes ahead is accepted."""
    old = purchase(event_time=NOW - dt.timedelta(days=37))
    assert old.problems(now=NOW) == ()
    assert old.notices(now=NOW) == ("event_time is 37 days old; send events within 7 days",)
    assert purchase(event_time=NOW + dt.timedelta(minutes=10)).problems(now=NOW) == ()
    assert purchase(event_time=NOW - dt.timedelta(days=7)).notices(now=NOW) == ()
    assert purchase().problems(now=NOW_TS + 38 * 86400)


def test_warnings_carry_dropped_identifiers():
    """Identifiers dropped with on_invalid='drop' appear as the event's warnings and notices."""
    event = purchase(user_data=UserData(email=["bad@", "a@x.com"], on_invalid="drop"))
    assert event.warnings[0].startswith("email dropped:")
    assert event.notices(now=NOW) == event.warnings


def test_repr_masks_pii_and_is_pinned():
    """The event repr is readable and carries no raw identifiers."""
    assert repr(purchase(user_data=UserData(email="Person@Example.com"))) == (
        "Event(event_name='PURCHASE', action_source='WEB', event_time=1795435200, "
        "event_id='order-1234', user_data=UserData(email=['p*****@e******.com']), "
        "custom_data=CustomData(value=Decimal('142.52'), currency='USD', order_id='order-1234'), "
        "event_source_url='https://shop.example.com/checkout')"
    )


def test_events_are_frozen_and_comparable():
    """Events are immutable values: equal fields compare equal."""
    event = purchase()
    with pytest.raises(AttributeError):
        event.event_id = "x"  # type: ignore[misc]
    assert event == purchase()


# --------------------------------------------------------------------------- from_dict


def test_from_dict_flat_csv_row():
    """A flat row of strings, as a CSV reader gives it, builds the same event as typed values."""
    row = {
        "event_name": "Purchase",
        "event_time": "2026-11-23T12:00:00Z",
        "action_source": "website",
        "event_source_url": "https://shop.example.com/checkout",
        "event_id": "order-1234",
        "email": " Person@Example.com ",
        "phone": "+44 844 412 4653",
        "client_ip_address": "203.0.113.7",
        "client_user_agent": "Mozilla/5.0",
        "value": "142.52",
        "currency": "usd",
        "order_id": "order-1234",
        "first_name": "",
        "zp": None,
    }
    assert Event.from_dict(row) == purchase()


def test_from_dict_wire_names_prefixes_nesting_and_region():
    """Wire names, dotted prefixes, nested dicts and a default phone region all work."""
    event = Event.from_dict(
        {
            "event_name": "Book Flight",
            "event_time": NOW_TS,
            "action_source": "OFFLINE",
            "ph": "(415) 555-0132",
            "fn": "Jane",
            "country": "US",
            "custom_data.country": "FR",
            "custom_data": {"destination_airport": "cdg", "num_adults": "2"},
            "app_data.platform": "android",
        },
        aliases={"book flight": 3},
        region="US",
    )
    assert event.event_name is EventName.CUSTOM_EVENT_3
    assert event.user_data.phone == ("14155550132",)
    assert event.user_data.country == ("us",)
    assert event.custom_data == CustomData(country="FR", destination_airport="CDG", num_adults=2)
    assert event.app_data == AppData(platform="android")


def test_from_dict_requires_time_and_rejects_unknown_keys():
    """Files must say when an event happened; unknown columns are reported, with suggestions."""
    with pytest.raises(ValidationError, match="event_time: is missing"):
        Event.from_dict({"event_name": "PURCHASE", "action_source": "WEB", "email": "a@x.com"})
    with pytest.raises(ValidationError, match="did you mean 'email'"):
        Event.from_dict(
            {"event_name": "SEARCH", "event_time": NOW_TS, "action_source": "WEB", "emal": "x"}
        )
    with pytest.raises(ValidationError, match="custom_data field"):
        Event.from_dict(
            {"event_name": "SEARCH", "event_time": NOW_TS, "action_source": "WEB",
             "custom_data.colour": "red"}
        )  # fmt: skip


def test_from_dict_drop_mode_and_nan():
    """on_invalid='drop' applies to the record's identifiers; NaN cells count as blank."""
    event = Event.from_dict(
        {"event_name": "SEARCH", "event_time": NOW_TS, "action_source": "OFFLINE",
         "email": "broken@", "phone": "+14155550132", "value": math.nan},
        on_invalid="drop",
    )  # fmt: skip
    assert event.user_data.email is None
    assert event.user_data.phone == ("14155550132",)
    assert event.custom_data is None
    assert event.warnings


def test_from_dict_extinfo_column():
    """An extinfo column (list or comma-separated text) becomes AppData."""
    event = Event.from_dict(
        {"event_name": "APP_OPEN", "event_time": NOW_TS, "action_source": "app",
         "madid": "6d92078a-8246-4ba4-ae5b-76104861e7dc", "extinfo": "i2,com.shop.app,42"}
    )  # fmt: skip
    assert event.app_data is not None
    assert event.app_data.to_payload()["extinfo"][:3] == ["i2", "com.shop.app", "42"]


record_values = st.one_of(
    st.none(), st.text(st.characters(exclude_categories=()), max_size=30),
    st.integers(), st.floats(), st.booleans(),
    st.lists(st.text(max_size=10), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
    hostile_values,  # issue 11: huge ints, NaN, sNaN, Fractions, surrogates, deep and cyclic
)  # fmt: skip
record_keys = st.sampled_from(
    ["event_name", "event_time", "action_source", "email", "phone", "first_name", "value",
     "currency", "num_items", "contents", "content_ids", "event_source_url", "madid",
     "date_of_birth", "country", "opt_out", "data_processing_options", "custom_data",
     "user_data", "platform", "extinfo", "brands", "predicted_ltv"]
)  # fmt: skip


@given(record=st.dictionaries(record_keys, record_values, max_size=10))
@settings(max_examples=500)
def test_any_record_gives_an_event_or_validation_error(record):
    """Whatever a record holds, from_dict gives an Event or ValidationError, nothing else."""
    record = {"event_name": "SEARCH", "event_time": NOW_TS, "action_source": "WEB", **record}
    try:
        event = Event.from_dict(record, region="US")
    except ValidationError:
        return
    json.dumps(event.to_payload())
    for moment in (NOW_TS, NOW_TS - 10 * 86400, NOW_TS + 3600, NOW_TS - 40 * 86400):
        assert event.review(moment) == (event.problems(now=moment), event.notices(now=moment))
    repr(event)


def test_hash_of_normalized_values_only():
    """Names in the payload are hashes of normalized text, never of raw input."""
    event = purchase(user_data=UserData(first_name=" JOHN ", email="a@x.com"))
    assert event.to_payload()["user_data"]["fn"] == [normalize.hash_value("john")]


# --------------------------------------------------------------------------- review regressions


def test_date_only_text_is_midnight_utc_and_numpy_times_work():
    """'2026-11-23' means the date at midnight UTC, like a date object; numpy ints are times."""
    midnight = int(dt.datetime(2026, 11, 23, tzinfo=dt.timezone.utc).timestamp())
    assert purchase(event_time="2026-11-23").event_time == midnight
    np = pytest.importorskip("numpy")
    assert purchase(event_time=np.int64(NOW_TS)).event_time == NOW_TS


def test_from_dict_checks_its_input_shape():
    """Records must be dicts with string field names; nested dicts take wire names too."""
    with pytest.raises(ValidationError, match="record"):
        Event.from_dict(["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="record"):
        Event.from_dict(
            {"event_name": "SEARCH", "event_time": NOW_TS, "action_source": "WEB",
             "user_data": {"emial": "a@x.com"}}
        )  # fmt: skip
    event = Event.from_dict(
        {"event_name": "SEARCH", "event_time": NOW_TS, "action_source": "WEB",
         "user_data": {"em": "a@x.com"}}
    )  # fmt: skip
    assert event.user_data.email == ("a@x.com",)


def test_repr_hides_the_url_query():
    """Query strings often carry emails or tokens: the repr leaves them out."""
    event = purchase(event_source_url="https://u:pw@shop.example.com/thanks?email=jane@x.com#top")
    assert "jane" not in repr(event)
    assert "pw" not in repr(event)
    assert "event_source_url='https://shop.example.com/thanks?…'" in repr(event)
    assert event.to_payload()["event_source_url"].endswith("?email=jane@x.com#top")


def test_shifted_columns_do_not_leak_into_errors():
    """An email in the event_name or an unknown column header is masked in the error."""
    with pytest.raises(ValidationError) as info:
        purchase(event_name="jane.doe@example.com")
    assert "jane.doe" not in str(info.value)
    with pytest.raises(ValidationError) as info:
        Event.from_dict(
            {"event_name": "SEARCH", "event_time": NOW_TS, "action_source": "WEB",
             "jane.doe@example.com": "x"}
        )  # fmt: skip
    assert "jane.doe" not in str(info.value)


# --------------------------------------------------------------------------- times, as exported


def utc(*parts):
    """Unix seconds of a UTC calendar time."""
    return int(dt.datetime(*parts, tzinfo=dt.timezone.utc).timestamp())


NOON = utc(2026, 11, 23, 12)
MIDNIGHT = utc(2026, 11, 23)
TIMEZONE_REMEDY = Remedy(
    argument="timezone",
    flag="--timezone",
    example="Europe/Paris",
    what="the IANA time zone of times written without an offset",
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2026-11-23T12:00:00Z", NOON),
        ("2026-11-23 12:00:00Z", NOON),
        ("2026-11-23t12:00:00z", NOON),
        ("2026-11-23T12:00Z", NOON),
        ("2026-11-23T12:00:00.5Z", NOON),
        ("2026-11-23T12:00:00.123456Z", NOON),
        ("2026-11-23 12:00:00.123456789 UTC", NOON),  # BigQuery, nanoseconds
        ("2026-11-23 12:00:00 UTC", NOON),
        ("2026-11-23 12:00:00 GMT", NOON),
        ("2026-11-23T12:00:00+00:00", NOON),
        ("2026-11-23T12:00:00+0000", NOON),
        ("2026-11-23T13:00:00+01:00", NOON),
        ("2026-11-23T17:30:00+05:30", NOON),
        ("2026-11-23 07:00:00 -0500", NOON),  # Shopify's orders export
        ("2026-11-23T07:00:00-05", NOON),
        ("2026/11/23 12:00:00 UTC", NOON),
        ("2026-11-23", MIDNIGHT),
        (" 2026-11-23 ", MIDNIGHT),
        ("20261123", MIDNIGHT),
        (20261123, MIDNIGHT),
        (20261123.0, MIDNIGHT),
        (Decimal("20261123"), MIDNIGHT),
        (str(NOON), NOON),
        (f"{NOON}.0", NOON),  # a float column as pandas writes it
        (NOON, NOON),
        (NOON + 0.9, NOON),
        (Decimal(f"{NOON}.5"), NOON),
        (NOON * 1000 + 999, NOON),
        (NOON * 1_000_000 + 999_999, NOON),  # GA4's event_timestamp, microseconds
        (str(NOON * 1_000_000), NOON),  # ... which BigQuery exports as text
        (NOON * 10**9, NOON),  # nanoseconds, as pandas stores datetimes
        (float(NOON * 1000), NOON),
    ],
)
def test_time_forms_without_a_timezone(given, expected):
    """Times with an offset, UTC markers, dates, YYYYMMDD and every Unix unit are read alike."""
    assert to_epoch_seconds(given) == expected


def test_numpy_and_pandas_times():
    """numpy numbers are numbers; pandas timestamps are datetimes, naive ones need a zone."""
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    assert to_epoch_seconds(np.int64(NOON * 1_000_000)) == NOON
    assert to_epoch_seconds(np.float64(NOON)) == NOON
    assert to_epoch_seconds(np.int32(20261123)) == MIDNIGHT
    assert to_epoch_seconds(pd.Timestamp("2026-11-23 12:00", tz="UTC")) == NOON
    naive = pd.Timestamp("2026-11-23 13:00")
    assert to_epoch_seconds(naive, timezone="Europe/Paris") == NOON
    assert to_epoch_seconds(naive.to_pydatetime(), timezone="Europe/Paris") == NOON
    with pytest.raises(ValidationError, match="naive datetime"):
        to_epoch_seconds(naive)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2026-07-20 14:22:10", utc(2026, 7, 20, 12, 22, 10)),  # summer: UTC+2
        ("2026-11-20 14:22:10", utc(2026, 11, 20, 13, 22, 10)),  # winter: UTC+1
        ("2026-11-20T14:22", utc(2026, 11, 20, 13, 22)),
        ("2026-11-20 14:22:10.25", utc(2026, 11, 20, 13, 22, 10)),
        (dt.datetime(2026, 7, 20, 14, 22, 10), utc(2026, 7, 20, 12, 22, 10)),
        (dt.datetime(2026, 11, 20, 14, 22, 10), utc(2026, 11, 20, 13, 22, 10)),
        ("2026-11-20", utc(2026, 11, 19, 23)),
        ("20260720", utc(2026, 7, 19, 22)),
        (20261120, utc(2026, 11, 19, 23)),
        (dt.date(2026, 7, 20), utc(2026, 7, 19, 22)),
        # The zone never overrides an offset the time carries.
        ("2026-11-20T14:22:10Z", utc(2026, 11, 20, 14, 22, 10)),
        ("2026-11-20 14:22:10 -0500", utc(2026, 11, 20, 19, 22, 10)),
        (dt.datetime(2026, 11, 20, 14, 22, tzinfo=dt.timezone.utc), utc(2026, 11, 20, 14, 22)),
        (NOON, NOON),
    ],
)
def test_times_without_an_offset_in_a_timezone(given, expected):
    """With timezone=, naive times, bare dates and YYYYMMDD are read in that zone, DST included."""
    assert to_epoch_seconds(given, timezone="Europe/Paris") == expected
    assert to_epoch_seconds(given, timezone=zoneinfo.ZoneInfo("Europe/Paris")) == expected


def test_local_times_that_happen_twice_or_never():
    """Clock changes follow fold=0: the first of a repeated hour, the old offset in a gap."""
    paris = "Europe/Paris"
    # 2026-10-25 02:30 happens twice in Paris (CEST, then CET): the first is taken...
    assert to_epoch_seconds("2026-10-25 02:30", timezone=paris) == utc(2026, 10, 25, 0, 30)
    # ... unless a datetime says otherwise.
    second = dt.datetime(2026, 10, 25, 2, 30, fold=1)
    assert to_epoch_seconds(second, timezone=paris) == utc(2026, 10, 25, 1, 30)
    # 2026-03-29 02:30 never happens (clocks jump from 02:00 to 03:00): read as CET, +01:00.
    assert to_epoch_seconds("2026-03-29 02:30", timezone=paris) == utc(2026, 3, 29, 1, 30)


def test_a_fixed_offset_tzinfo_works_as_a_timezone():
    """Any tzinfo serves as the zone, a fixed offset included."""
    minus_five = dt.timezone(dt.timedelta(hours=-5))
    assert to_epoch_seconds("2026-11-23 07:00:00", timezone=minus_five) == NOON


@pytest.mark.parametrize(
    "given",
    ["2026-11-20 14:22:10", "2026-11-20T14:22", "2026/11/20 14:22:10",
     dt.datetime(2026, 11, 20, 14, 22, 10)],
)  # fmt: skip
def test_naive_times_name_the_timezone_remedy(given):
    """A time without offset or zone says to give the zone, in Python's or the CLI's words."""
    with pytest.raises(ValidationError) as info:
        to_epoch_seconds(given)
    error = info.value
    assert error.field == "event_time"
    assert error.remedy == TIMEZONE_REMEDY
    assert "give timezone='Europe/Paris'" in str(error)
    assert "pass --timezone Europe/Paris" in error.explain("cli")
    assert "timezone=" not in error.explain("cli")
    if isinstance(given, str):  # a time is no one's identifier: shown as it was written
        assert repr(given) in str(error)


def test_the_constructor_keeps_python_advice_for_naive_times():
    """Event() takes no timezone: a naive datetime keeps its advice, naive text points onwards."""
    with pytest.raises(ValidationError) as info:
        purchase(event_time=dt.datetime(2026, 11, 23, 12, 0))
    assert info.value.reason == (
        "is a naive datetime; attach a time zone, e.g. datetime.now(timezone.utc)"
    )
    assert info.value.remedy is None
    with pytest.raises(ValidationError) as info:
        purchase(event_time="2026-11-23 12:00:00")
    assert info.value.remedy is None
    assert "to_epoch_seconds(value, timezone='Europe/Paris')" in info.value.reason
    with pytest.raises(ValidationError) as info:
        purchase(event_time="11/23/2026 12:00")
    assert "to_epoch_seconds(value, time_format='%m/%d/%Y %H:%M')" in info.value.reason


@pytest.mark.parametrize(
    ("given", "time_format", "expected"),
    [
        ("11/20/2026 2:22 PM", "%m/%d/%Y %I:%M %p", utc(2026, 11, 20, 13, 22)),
        ("20/11/2026 14:22", "%d/%m/%Y %H:%M", utc(2026, 11, 20, 13, 22)),
        ("20.11.2026 14:22:10", "%d.%m.%Y %H:%M:%S", utc(2026, 11, 20, 13, 22, 10)),
        ("20/11/2026", "%d/%m/%Y", utc(2026, 11, 19, 23)),
        ("Nov 20, 2026 14:22 +0000", "%b %d, %Y %H:%M %z", utc(2026, 11, 20, 14, 22)),
    ],
)
def test_time_format_reads_ambiguous_forms(given, time_format, expected):
    """time_format reads what only the writer can disambiguate, in the zone when naive."""
    assert to_epoch_seconds(given, time_format=time_format, timezone="Europe/Paris") == expected


def test_time_format_rules():
    """Date-only formats are midnight UTC without a zone; misfits and bad formats are named."""
    assert to_epoch_seconds("23/11/2026", time_format="%d/%m/%Y") == MIDNIGHT
    with pytest.raises(ValidationError, match="has no UTC offset") as info:
        to_epoch_seconds("23/11/2026 12:00", time_format="%d/%m/%Y %H:%M")
    assert info.value.remedy == TIMEZONE_REMEDY
    with pytest.raises(ValidationError, match="does not match the time format '%d/%m/%Y'") as info:
        to_epoch_seconds("2026-11-23", time_format="%d/%m/%Y")
    assert info.value.field == "event_time"
    with pytest.raises(ValidationError, match="not a strptime format") as info:
        to_epoch_seconds("23/11/2026", time_format="%d/%m/%Q")
    assert info.value.field == "time_format"
    with pytest.raises(ValidationError, match="has no year") as info:
        to_epoch_seconds("23/11", time_format="%d/%m")
    assert info.value.field == "time_format"
    with pytest.raises(ValidationError, match="expected a strptime format"):
        to_epoch_seconds("23/11/2026", time_format=3)  # type: ignore[arg-type]
    # Numbers and datetimes are not text: the format does not apply to them.
    assert to_epoch_seconds(NOON, time_format="%d/%m/%Y") == NOON


@pytest.mark.parametrize("given", ["11/20/2026", "20/11/2026 14:22", "20.11.2026", "20-11-26"])
def test_day_month_text_asks_for_a_time_format(given):
    """Slash or dot dates are never guessed: the error names the time_format remedy."""
    with pytest.raises(ValidationError, match="day/month or month/day") as info:
        to_epoch_seconds(given, timezone="Europe/Paris")
    error = info.value
    assert error.remedy is not None
    assert error.remedy.argument == "time_format"
    assert "give time_format='%" in str(error)
    assert "pass --time-format '%" in error.explain("cli")


def test_unreadable_text_offers_a_time_format():
    """Text in no known form says what is read and offers time_format."""
    with pytest.raises(ValidationError, match="is not a time") as info:
        to_epoch_seconds("Friday at noon")
    assert info.value.remedy is not None
    assert info.value.remedy.flag == "--time-format"
    for impossible in ("2026-02-30", "2026-11-23T24:00:00Z", "2026-11-23T12:00:00+25:00"):
        with pytest.raises(ValidationError, match="is not a time"):
            to_epoch_seconds(impossible)


def test_eight_digit_numbers_are_dates_when_they_are_dates():
    """20261120 is that date, never 1970; other eight-digit numbers are seconds, and refused."""
    assert to_epoch_seconds(20261120) == utc(2026, 11, 20)
    assert to_epoch_seconds("20261120") == utc(2026, 11, 20)
    with pytest.raises(ValidationError, match="read as Unix seconds is in 1970, before 2000"):
        to_epoch_seconds(12345678)  # month 34: not a date
    with pytest.raises(ValidationError, match=r"read as a date \(YYYYMMDD\) is before 2000"):
        to_epoch_seconds(19900101)
    with pytest.raises(ValidationError, match="more than a year from now"):
        to_epoch_seconds(20991231)


def test_implausible_numbers_name_the_unit_they_looked_like():
    """A number in no unit between 2000 and next year says how it was read, masked."""
    with pytest.raises(ValidationError) as info:
        to_epoch_seconds(1234567)
    assert info.value.field == "event_time"
    assert info.value.reason == (
        "'1****67' read as Unix seconds is in 1970, before 2000; give Unix seconds, "
        "milliseconds, microseconds or nanoseconds, or a date"
    )
    with pytest.raises(ValidationError, match="read as Unix milliseconds is in 1973"):
        to_epoch_seconds(123_456_789_012)
    with pytest.raises(ValidationError, match="read as Unix seconds is in 2101, more than a year"):
        to_epoch_seconds("4155550132")  # a phone number in the time column...
    with pytest.raises(ValidationError) as info:
        to_epoch_seconds(4155550132)
    assert "4155550132" not in str(info.value)  # ... is not shown


def test_unknown_timezones_suggest_the_closest():
    """An unknown zone is an error on 'timezone' with the closest IANA names."""
    with pytest.raises(ValidationError, match="did you mean 'Europe/Paris'") as info:
        to_epoch_seconds("2026-11-20 14:22:10", timezone="Europe/Pairs")
    assert info.value.field == "timezone"
    with pytest.raises(ValidationError, match="did you mean 'Europe/Paris'"):
        resolve_timezone("Paris")
    with pytest.raises(ValidationError, match="America/Los_Angeles"):
        resolve_timezone("PST")
    with pytest.raises(ValidationError, match="expected an IANA time zone name"):
        resolve_timezone(1)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="not an IANA time zone"):
        resolve_timezone("../../etc/passwd")
    # A typo is caught even when every time carries its own offset.
    with pytest.raises(ValidationError, match="not an IANA time zone"):
        to_epoch_seconds("2026-11-20T14:22:10Z", timezone="Mars/Olympus")


def test_timezone_names_are_cached_and_case_insensitive():
    """Each name is looked up once; 'europe/paris' is Europe/Paris."""
    assert resolve_timezone("Europe/Paris") is resolve_timezone("Europe/Paris")
    assert resolve_timezone(" europe/paris ") == zoneinfo.ZoneInfo("Europe/Paris")
    assert resolve_timezone("UTC") == zoneinfo.ZoneInfo("UTC")


def test_from_dict_reads_times_with_timezone_and_time_format():
    """from_dict takes timezone= and time_format= for the record's time; errors carry remedies."""
    row = {"event_name": "SEARCH", "action_source": "OFFLINE", "email": "a@example.com"}
    summer = Event.from_dict({**row, "event_time": "2026-07-20 14:22:10"}, timezone="Europe/Paris")
    assert summer.event_time == utc(2026, 7, 20, 12, 22, 10)
    us = Event.from_dict(
        {**row, "event_time": "11/20/2026 2:22 PM"},
        timezone="America/New_York",
        time_format="%m/%d/%Y %I:%M %p",
    )
    assert us.event_time == utc(2026, 11, 20, 19, 22)
    ga4 = Event.from_dict({**row, "event_time": str(NOON * 1_000_000)})
    assert ga4.event_time == NOON
    with pytest.raises(ValidationError) as info:
        Event.from_dict({**row, "event_time": "2026-11-20 14:22:10"})
    assert info.value.field == "event_time"
    assert info.value.remedy == TIMEZONE_REMEDY
    assert "--timezone" in info.value.explain("cli")
    with pytest.raises(ValidationError, match="not an IANA time zone") as info:
        Event.from_dict({**row, "event_time": NOW_TS}, timezone="Europe/Pairs")
    assert info.value.field == "timezone"


def test_from_dict_keeps_text_times_outside_the_number_range():
    """A text date before 2000 is read, not judged as a number; problems() reports its age."""
    event = Event.from_dict(
        {"event_name": "SEARCH", "action_source": "OFFLINE", "email": "a@example.com",
         "event_time": "1999-12-31T00:00:00Z"}
    )  # fmt: skip
    assert event.event_time == utc(1999, 12, 31)
    assert any("days old" in p for p in event.problems(now=NOW))


aware_times = st.datetimes(
    min_value=dt.datetime(2000, 1, 2), max_value=dt.datetime(2030, 12, 31),
    timezones=st.sampled_from([dt.timezone.utc, dt.timezone(dt.timedelta(hours=-5)),
                               dt.timezone(dt.timedelta(hours=5, minutes=30))]),
)  # fmt: skip


@given(moment=aware_times)
def test_iso_text_reads_as_its_datetime(moment):
    """Every spelling of an aware time (T or space, offset with or without colon) agrees."""
    expected = int(moment.timestamp())
    text = moment.isoformat()
    assert to_epoch_seconds(text) == expected
    assert to_epoch_seconds(text.replace("T", " ")) == expected
    assert to_epoch_seconds(text.replace("T", " ")[:-3] + text[-2:]) == expected  # +0530
    assert to_epoch_seconds(moment.isoformat(timespec="minutes")) == expected - moment.second


@given(moment=st.datetimes(min_value=dt.datetime(2000, 1, 2), max_value=dt.datetime(2030, 1, 1)))
def test_naive_text_in_a_zone_reads_as_the_naive_datetime(moment):
    """Naive text and the naive datetime it writes agree in a zone with DST."""
    # Text carries no fold: a time that happens twice reads as the first (fold=0), as documented.
    moment = moment.replace(microsecond=0, fold=0)
    for text in (moment.isoformat(), moment.isoformat(sep=" ")):
        assert to_epoch_seconds(text, timezone="America/New_York") == to_epoch_seconds(
            moment, timezone="America/New_York"
        )


@given(
    value=st.one_of(
        st.text(max_size=40), st.integers(), st.floats(), st.decimals(), huge_ints,
        hostile_decimals, hostile_fractions, huge_digit_text, non_finite_floats, surrogate_text,
    )
)  # fmt: skip
def test_any_value_gives_seconds_or_a_validation_error(value):
    """Whatever the value, to_epoch_seconds returns an int or raises ValidationError."""
    try:
        seconds = to_epoch_seconds(value, timezone="Europe/Paris")
    except ValidationError:
        return
    assert isinstance(seconds, int)


def test_a_phone_in_the_time_column_is_masked_in_the_error():
    """Shifted columns put identifiers where times belong: those are still masked."""
    with pytest.raises(ValidationError) as info:
        to_epoch_seconds("+1 415 555 0132")
    assert "415 555" not in str(info.value)


@pytest.mark.parametrize(
    ("given", "suggested"),
    [("11/30/2026 10:20 PM", "'%m/%d/%Y %I:%M %p'"), ("30/11/2026 14:22", "'%d/%m/%Y %H:%M'"),
     ("20.11.2026 14:22:05", "'%d.%m.%Y %H:%M:%S'"), ("11/20/2026", "'%m/%d/%Y'")],
)  # fmt: skip
def test_a_slashed_date_suggests_the_format_it_most_likely_has(given, suggested):
    """The --time-format advice fits the value: 12-hour clocks, a day past 12 first."""
    with pytest.raises(ValidationError) as info:
        to_epoch_seconds(given)
    assert f"--time-format {suggested}" in info.value.explain("cli")


# --------------------------------------------------------------------------- problems as values

APP = {"action_source": "MOBILE_APP", "event_source_url": None}
IOS = AppData(platform="ios")


@pytest.mark.parametrize(
    ("overrides", "code", "field", "message"),
    [
        (
            {"user_data": UserData(email="a@x.com", phone="(415) 555-0132")},
            "phone_no_country_code",
            "phone",
            "phone (***********32 has no country code; give the user's country, "
            "UserData(region=...) or Client(default_region=...)",
        ),
        (
            {"user_data": UserData(client_ip_address="203.0.113.7")},
            "no_match_key",
            "user_data",
            "user_data has no matching key; add email, phone, or client_ip_address together "
            "with client_user_agent",
        ),
        (
            {**APP, "app_data": IOS, "user_data": UserData(client_ip_address="203.0.113.7")},
            "no_match_key",
            "user_data",
            "user_data has no matching key; add email, phone, or client_ip_address together "
            "with client_user_agent or madid",
        ),
        (
            {"custom_data": CustomData(value=5)},
            "purchase_without_value",
            "custom_data",
            "PURCHASE events need custom_data.value and custom_data.currency",
        ),
        (
            {"event_source_url": None},
            "web_without_url",
            "event_source_url",
            "WEB events need event_source_url, the page the event happened on",
        ),
        (
            APP,
            "app_without_platform",
            "app_data",
            "MOBILE_APP events need app_data with platform='android' or 'ios' (for extinfo)",
        ),
        (
            {"event_time": NOW - dt.timedelta(days=38)},
            "event_time_too_old",
            "event_time",
            "event_time is 38 days old; Snap accepts events up to 37 days old",
        ),
        (
            {"event_time": NOW + dt.timedelta(minutes=11)},
            "event_time_future",
            "event_time",
            "event_time is 11 minutes in the future; check the clock or time zone",
        ),
    ],
)
def test_each_problem_has_its_code_field_and_todays_words(overrides, code, field, message):
    """problem_values() gives each problem's code and field; its message is the public string."""
    event = purchase(**overrides)
    [problem] = event.problem_values(now=NOW)
    assert (problem.code, problem.field, problem.message) == (code, field, message)
    assert event.problems(now=NOW) == (message,)
    assert event._review_values(NOW_TS)[0] == (problem,)
    assert event.review(NOW_TS)[0] == (message,)


def test_problems_keep_their_order_and_strings_when_there_are_several():
    """Several problems: problems() is the messages of problem_values(), in the same order."""
    event = purchase(
        user_data=UserData(phone="(415) 555-0132"),
        custom_data=None,
        event_source_url=None,
        event_time=NOW - dt.timedelta(days=50),
    )
    values = event.problem_values(now=NOW)
    assert [p.code for p in values] == [
        "phone_no_country_code",
        "no_match_key",
        "purchase_without_value",
        "web_without_url",
        "event_time_too_old",
    ]
    assert event.problems(now=NOW) == tuple(p.message for p in values)


def test_notices_as_values_are_the_drops_and_a_stale_time():
    """notice_values(): identifiers dropped (with their codes), then an event 7-37 days old."""
    user = UserData(email=["bad@", "a@x.com"], madid="00000000-0000-0000-0000-000000000000",
                    on_invalid="drop")  # fmt: skip
    event = purchase(user_data=user, event_time=NOW - dt.timedelta(days=9))
    notices = event.notice_values(now=NOW)
    assert [(n.code, n.field) for n in notices] == [
        ("invalid_value", "email"),
        ("madid_zero", "madid"),
        ("event_time_stale", "event_time"),
    ]
    assert event.drops == notices[:2] == user.drops
    assert notices[2].message == "event_time is 9 days old; send events within 7 days"
    assert event.notices(now=NOW) == tuple(n.message for n in notices)
    assert event.review(NOW_TS)[1] == event.notices(now=NOW)
    assert event._review_values(NOW_TS) == ((), notices)


def test_events_with_drops_pickle_and_compare_as_before():
    """Events and user data with drops survive pickling, and compare and hash as values."""
    import pickle

    event = purchase(user_data=UserData(email=["bad@", "a@x.com"], on_invalid="drop"))
    copy = pickle.loads(pickle.dumps(event))
    assert copy == event
    assert hash(copy) == hash(event)
    assert copy.drops == event.drops
    assert copy.drops[0].label == "is not a valid email address"
    assert copy.warnings == event.warnings

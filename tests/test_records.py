"""Flat records and DataFrames to events: column matching, defaults, per-row problems."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from snapcapi import RowProblem, ValidationError, events_from_dataframe, events_from_records
from snapcapi.records import SYNONYMS, ColumnMap, Filter, iter_events

WHEN = "2026-11-23T10:00:00Z"
BASE = {"event_name": "PURCHASE", "event_time": WHEN, "action_source": "OFFLINE",
        "value": "10", "currency": "USD"}  # fmt: skip


def test_names_and_synonyms_are_matched_without_case():
    """Field names, wire names and synonyms map; other columns are listed as ignored."""
    columns = ["E-Mail", "Phone Number", "ZIP", "IP", "User Agent", "price", "em", "store"]
    found = ColumnMap.resolve(columns)
    assert found.fields == {
        "E-Mail": "email", "Phone Number": "phone", "ZIP": "zip_code",
        "IP": "client_ip_address", "User Agent": "client_user_agent", "price": "value",
        "em": "em",
    }  # fmt: skip
    assert found.ignored == ("store",)
    assert all(ColumnMap.resolve([target]).fields for target in SYNONYMS.values())


def test_explicit_mapping_wins_and_conflicts_are_errors():
    """--map chooses the column; two columns for one field must be resolved explicitly."""
    found = ColumnMap.resolve(["email", "work_email"], {"email": "work_email"})
    assert found.fields == {"work_email": "email"}
    assert found.ignored == ("email",)
    with pytest.raises(ValidationError, match="'zip' and 'postal_code' both read as zip_code"):
        ColumnMap.resolve(["zip", "postal_code"])
    with pytest.raises(ValidationError, match="'emial' is not a field"):
        ColumnMap.resolve(["email"], {"emial": "email"})
    with pytest.raises(ValidationError, match="which the source lacks"):
        ColumnMap.resolve(["email"], {"phone": "mobile"})


def test_records_give_events_and_problems_in_row_order():
    """Good rows become events, bad ones problems naming row, field and masked reason."""
    records = [
        {**BASE, "Email": "a@example.com"},
        {**BASE, "Email": "jane.secret@"},
        {**BASE, "Email": "b@example.com", "value": "-3"},
        "not a record",
        {**BASE, "mail": "c@example.com", "store": 1},
    ]
    conversion = events_from_records(records)
    events, problems = conversion
    assert conversion.rows == (1, 5)
    assert [e.user_data.email for e in events] == [("a@example.com",), ("c@example.com",)]
    assert [(p.row, p.field) for p in problems] == [(2, "email"), (3, "value"), (4, None)]
    assert "jane.secret" not in str(problems)
    assert conversion.ignored_columns == ("store",)
    assert str(problems[0]).startswith("row 2: email: ")


def test_defaults_drop_mode_and_stable_ids():
    """Defaults fill blanks; drop mode keeps the event; ids come from content, not position."""
    record = {"email": "a@example.com", "phone": "12", "event_time": WHEN, "value": "1",
              "currency": "USD", "event_name": ""}  # fmt: skip
    defaults = {"event_name": "PURCHASE", "action_source": "OFFLINE"}
    (event,), () = events_from_records([record], defaults=defaults, on_invalid="drop")
    assert event.event_name.value == "PURCHASE"
    assert event.user_data.phone is None
    assert event.warnings
    first = [e for _, e in iter_events([(7, record)], defaults=defaults, on_invalid="drop",
                                        stable_ids=True)]  # fmt: skip
    again = [e for _, e in iter_events([(7, dict(record))], defaults=defaults,
                                        on_invalid="drop", stable_ids=True)]  # fmt: skip
    moved = [e for _, e in iter_events([(8, record)], defaults=defaults, on_invalid="drop",
                                        stable_ids=True)]  # fmt: skip
    other = [e for _, e in iter_events([(7, {**record, "value": "2"})], defaults=defaults,
                                        on_invalid="drop", stable_ids=True)]  # fmt: skip
    # The same content on another row is the same event; other content is another event.
    assert first[0].event_id == again[0].event_id == moved[0].event_id != other[0].event_id
    with pytest.raises(ValidationError, match="not a field"):
        events_from_records([record], defaults={"colour": "red"})


def test_dataframe_cells_numpy_nan_and_timestamps():
    """DataFrame rows: NaN blank, numpy numbers, aware Timestamps; problems by index label."""
    frame = pd.DataFrame(
        {
            "email": ["a@example.com", "b@example.com", None],
            "phone": [np.nan, "+14155550132", "+14155550133"],
            "price": [np.float64(12.5), np.int64(3), np.nan],
            "currency": ["usd", "usd", "zzz"],
            "timestamp": pd.to_datetime([WHEN] * 3, utc=True),
        },
        index=["o-1", "o-2", "o-3"],
    )
    conversion = events_from_dataframe(
        frame, defaults={"event_name": "PURCHASE", "action_source": "OFFLINE"}
    )
    events, problems = conversion
    assert conversion.rows == ("o-1", "o-2")
    assert events[0].custom_data.value == 12.5
    assert events[0].user_data.phone is None
    assert events[1].event_time == int(datetime(2026, 11, 23, 10, tzinfo=timezone.utc).timestamp())
    assert [(p.row, p.field) for p in problems] == [("o-3", "currency")]
    assert isinstance(problems[0], RowProblem)
    assert not math.isnan(events[1].custom_data.value)


# --------------------------------------------------------------------------- identity


ORDER = {"order": "#1001", "email": "a@example.com", "event_time": WHEN, "value": "10",
         "currency": "USD"}  # fmt: skip
SALES = {"event_name": "PURCHASE", "action_source": "OFFLINE"}


def test_key_derived_ids_ignore_position_and_differ_by_event_name():
    """--key: the id comes from the key and the event name, whatever the row's position."""
    first = events_from_records([ORDER, {**ORDER, "order": "#1002"}], key="order", defaults=SALES)
    moved = events_from_records([{**ORDER, "order": "#1002"}, ORDER], key="order", defaults=SALES)
    assert first.events[0].event_id == moved.events[1].event_id
    assert first.events[1].event_id == moved.events[0].event_id
    signup = events_from_records([ORDER], key="order",
                                 defaults={**SALES, "event_name": "SIGN_UP"})  # fmt: skip
    assert signup.events[0].event_id != first.events[0].event_id
    # The key holds even when other cells change (a corrected email in tomorrow's export).
    fixed = events_from_records([{**ORDER, "email": "b@example.com"}], key="order",
                                defaults=SALES)  # fmt: skip
    assert fixed.events[0].event_id == first.events[0].event_id


def test_rows_repeating_an_id_are_one_event_and_counted():
    """Identical rows (or rows with the same key) collapse into one event; each is reported."""
    conversion = events_from_records([ORDER, dict(ORDER), {**ORDER, "value": "11"}],
                                     defaults=SALES)  # fmt: skip
    assert len(conversion.events) == 2
    assert [s.row for s in conversion.skipped] == [2]
    assert conversion.stats.duplicates == 1
    keyed = events_from_records([ORDER, {**ORDER, "value": "11"}], key="order", defaults=SALES)
    assert len(keyed.events) == 1
    assert keyed.stats.duplicates == 1


def test_a_blank_key_is_a_problem_naming_the_flag_and_argument():
    """A row whose key column is blank has no identity: a problem, never a random id."""
    (problem,) = events_from_records([{**ORDER, "order": " "}], key="order",
                                     defaults=SALES).problems  # fmt: skip
    assert problem.field == "event_id"
    assert "key column 'order' is blank" in problem.reason
    assert "--key" in problem.explain("cli")
    assert "key=" in problem.explain()


# --------------------------------------------------------------------------- mapping


def test_generic_names_are_never_guessed_and_explicit_mapping_takes_them():
    """source, platform, items, status, type are left unmapped unless mapped explicitly."""
    columns = ["email", "Source", "platform", "items", "status", "type", "timestamp"]
    found = ColumnMap.resolve(columns)
    assert found.mapped_fields == {"email", "event_time"}
    assert set(found.notes) == {"Source", "platform", "items", "status", "type"}
    explicit = ColumnMap.resolve(columns, {"action_source": "Source"})
    assert explicit.column_of("action_source") == "Source"


def test_exact_names_beat_synonyms_and_synonyms_can_be_switched_off():
    """A column named like the field wins over a synonym; --no-synonyms; FIELD= unmaps."""
    found = ColumnMap.resolve(["zip", "zip_code", "mail"])
    assert found.column_of("zip_code") == "zip_code"
    assert "zip" in found.notes
    assert found.column_of("email") == "mail"
    assert ColumnMap.resolve(["zip", "mail"], synonyms=False).mapped_fields == frozenset()
    unmapped = ColumnMap.resolve(["email", "zip"], {"zip_code": ""})
    assert unmapped.mapped_fields == {"email"}
    assert ColumnMap.resolve(["email", "zip"], ignore=["zip"]).mapped_fields == {"email"}


def test_a_synonym_column_whose_values_do_not_fit_is_left_out_and_said_so():
    """A synonym column full of values its field refuses is reported, not made INVALID rows."""
    rows = [{**ORDER, "order": str(i), "sex": "not given"} for i in range(5)]
    noted: list[ColumnMap] = []
    conversion = events_from_records(rows, key="order", defaults=SALES, on_map=noted.append)
    assert len(conversion.events) == 5
    assert "do not fit" in noted[0].notes["sex"]
    # Never for the event's own name, time or id: those rows fail one by one, with advice.
    named = events_from_records([{**ORDER, "event": "Webinar Joined"}], defaults=SALES)
    assert named.problems[0].field == "event_name"
    assert "--aliases" in named.problems[0].explain("cli")


def test_placeholder_external_ids_are_dropped_and_counted():
    """WooCommerce guests' customer_id 0 is not hashed into one id shared by everyone."""
    rows = [{**ORDER, "order": str(i), "customer_id": cid}
            for i, cid in enumerate(["0", "guest", "NULL", "4711", "-1"])]  # fmt: skip
    conversion = events_from_records(rows, key="order", defaults=SALES)
    assert [e.user_data.external_id for e in conversion.events] == [None, None, None,
                                                                   ("4711",), None]  # fmt: skip
    assert conversion.stats.placeholder_ids == 4


# --------------------------------------------------------------------------- shaping


def test_line_items_fold_into_one_event_with_contents():
    """group_by: later rows of an order add contents, content_ids and num_items."""
    rows = [
        {"Name": "#1", "Email": "a@example.com", "Created": WHEN, "Total": "30.00",
         "Currency": "USD", "Status": "paid", "sku": "A", "qty": "2", "price": "10.00"},
        {"Name": "#1", "Email": "", "Created": "", "Total": "", "Currency": "", "Status": "",
         "sku": "B", "qty": "1", "price": "10.00"},
        {"Name": "#2", "Email": "b@example.com", "Created": WHEN, "Total": "5",
         "Currency": "USD", "Status": "refunded", "sku": "C", "qty": "1", "price": "5"},
    ]  # fmt: skip
    mapping = {"email": "Email", "event_time": "Created", "value": "Total",
               "currency": "Currency", "contents.id": "sku", "contents.quantity": "qty",
               "contents.item_price": "price"}  # fmt: skip
    conversion = events_from_records(
        rows, mapping, key="Name", group_by="Name", defaults=SALES, synonyms=False,
        where=[Filter("Status", ("paid",))],
    )  # fmt: skip
    (event,) = conversion.events
    custom = event.to_payload()["custom_data"]
    assert custom["content_ids"] == ["A", "B"]
    assert custom["num_items"] == 3
    assert [c["id"] for c in custom["contents"]] == ["A", "B"]
    assert conversion.stats.folded == 1
    assert [str(s) for s in conversion.skipped] == ["row 3: skipped, filtered by where Status=paid"]


def test_exclude_star_blank_and_case_insensitive_filters():
    """--exclude COLUMN=* drops rows with any value; values compare without case."""
    rows = [{**ORDER, "order": "1", "cancelled": ""}, {**ORDER, "order": "2", "cancelled": "x"},
            {**ORDER, "order": "3", "cancelled": "", "state": "PAID"}]  # fmt: skip
    conversion = events_from_records(rows, key="order", defaults=SALES, ignore=["state"],
                                     exclude=[Filter("cancelled", ("*",), keep=False)])  # fmt: skip
    assert len(conversion.events) == 2
    kept = events_from_records(rows, key="order", defaults=SALES, ignore=["state"],
                               where=[Filter("state", ("paid", ""))])  # fmt: skip
    assert len(kept.events) == 3
    rule = Filter.parse("Financial Status=paid,partially_paid", keep=True)
    assert rule.describe("cli") == "--where Financial Status=paid,partially_paid"
    assert str(rule) == "where Financial Status=paid,partially_paid"
    assert (
        Filter("email", ("test@shop.com",), keep=False).describe() == "exclude email=t***@s***.com"
    )


def test_export_values_are_cleaned_quotes_thousands_decimal_comma_full_name():
    """'-protected zips and phones, 1,200.00, 49,00 with decimal_comma, full_name split."""
    row = {**ORDER, "zip": "'02134", "phone": "'+1 415 555 0132", "value": "1,200.50",
           "full_name": "Jean-Pierre de la Fontaine"}  # fmt: skip
    (event,), () = events_from_records([row], defaults=SALES)
    assert event.user_data.zip_code == ("02134",)
    assert event.user_data.phone == ("14155550132",)
    assert event.custom_data.value == 1200.5
    assert event.user_data.first_name == ("jeanpierre",)
    assert event.user_data.last_name == ("delafontaine",)
    (euro,), () = events_from_records([{**ORDER, "value": "1.200,50"}], defaults=SALES,
                                      decimal_comma=True)  # fmt: skip
    assert euro.custom_data.value == 1200.5


def test_dotted_paths_key_value_arrays_and_list_paths_reach_nested_json():
    """GA4-style records: ecommerce.x, event_params by key, items.item_id for each item."""
    record = {
        "event_name": "purchase", "event_timestamp": "1795428000000000",
        "event_params": [{"key": "page_location", "value": {"string_value": "https://s.example/"}},
                         {"key": "ga_session_id", "value": {"int_value": "17"}}],
        "user_properties": [{"key": "email", "value": {"string_value": "A@Example.com"}}],
        "ecommerce": {"transaction_id": "T1", "purchase_revenue": 12.5},
        "items": [{"item_id": "A", "quantity": 2, "price": 5.0},
                  {"item_id": "B", "quantity": 1, "price": 2.5}],
    }  # fmt: skip
    mapping = {"event_time": "event_timestamp", "email": "user_properties.email",
               "event_source_url": "event_params.page_location", "value":
               "ecommerce.purchase_revenue", "order_id": "ecommerce.transaction_id",
               "contents.id": "items.item_id", "contents.quantity": "items.quantity",
               "contents.item_price": "items.price"}  # fmt: skip
    web = {"action_source": "WEB", "currency": "EUR"}
    (event,), () = events_from_records([record], mapping, synonyms=False, defaults=web)
    payload = event.to_payload()
    assert payload["event_source_url"] == "https://s.example/"
    assert payload["custom_data"]["order_id"] == "T1"
    assert payload["custom_data"]["content_ids"] == ["A", "B"]
    assert payload["custom_data"]["num_items"] == 3
    assert event.user_data.email == ("a@example.com",)


def test_a_column_that_says_utc_is_read_as_utc_and_consent_column_flags():
    """'Created (UTC)' naive times are UTC whatever the timezone; consent from yes/1/true."""
    rows = [
        {"Created (UTC)": "2026-11-20 14:22:10", "email": "a@example.com", "ok": "yes"},
        {"Created (UTC)": "2026-11-20 14:22:11", "email": "b@example.com", "ok": "no"},
    ]
    conversion = events_from_records(rows, {"event_time": "Created (UTC)"},
                                     defaults={"event_name": "SIGN_UP", "action_source": "OFFLINE"},
                                     timezone="Europe/Paris", consent_column="ok")  # fmt: skip
    first, second = conversion.events
    assert first.event_time == int(
        datetime(2026, 11, 20, 14, 22, 10, tzinfo=timezone.utc).timestamp()
    )
    assert (first.consent, second.consent) == (True, False)


# --------------------------------------------------------------------------- regressions


def test_content_ids_do_not_depend_on_column_or_key_order():
    """The same row gives the same content id whatever order its columns come in."""
    row = {"email": "a@example.com", "event_time": WHEN, "value": "10", "currency": "USD"}
    flipped = dict(reversed(list(row.items())))
    first = events_from_records([row], defaults=SALES).events[0].event_id
    again = events_from_records([flipped], defaults=SALES).events[0].event_id
    assert first == again


def test_an_invalid_row_does_not_claim_its_id_from_a_good_one():
    """A bad first row for an order leaves the corrected row after it to be the event."""
    bad = {**ORDER, "event_time": "not a time"}
    conversion = events_from_records([bad, ORDER], key="order", defaults=SALES)
    assert len(conversion.events) == 1
    assert [p.row for p in conversion.problems] == [1]
    assert not conversion.skipped


def test_a_group_that_comes_apart_is_a_problem_not_half_an_order():
    """group_by: rows of one order after another order's are refused, asking for a sort."""
    rows = [{**ORDER, "order": "#1", "sku": "A"}, {**ORDER, "order": "#2", "sku": "B"},
            {**ORDER, "order": "#1", "sku": "C"}]  # fmt: skip
    conversion = events_from_records(rows, {"contents.id": "sku"}, key="order", group_by="order",
                                     defaults=SALES)  # fmt: skip
    assert len(conversion.events) == 2
    (problem,) = conversion.problems
    assert problem.row == 3
    assert "sort the file by order" in problem.reason
    assert conversion.stats.split_groups == 1


def test_filters_keys_and_groups_on_missing_columns_are_refused():
    """A filter on a column the file lacks would skip everything or nothing: refused."""
    cases = [({"where": [Filter("nosuch", ("x",))]}, "where"), ({"key": "nosuch"}, "key"),
             ({"group_by": "nosuch"}, "group_by")]  # fmt: skip
    for options, field in cases:
        with pytest.raises(ValidationError) as info:
            events_from_records([ORDER], defaults=SALES, **options)
        assert info.value.field == field
        assert "'nosuch' is not in the file" in info.value.reason


def test_offset_headers_are_not_utc_and_item_prices_take_decimal_commas():
    """'Order Date (GMT+02:00)' is not UTC; contents.item_price reads 24,50 with decimal_comma."""
    row = {"Order Date (GMT+02:00)": "2026-11-20 12:00:00", "email": "a@example.com",
           "value": "24,50", "currency": "EUR", "sku": "A", "price": "24,50"}  # fmt: skip
    mapping = {"event_time": "Order Date (GMT+02:00)", "contents.id": "sku",
               "contents.item_price": "price"}  # fmt: skip
    (event,), () = events_from_records([row], mapping, defaults=SALES, timezone="Europe/Paris",
                                       decimal_comma=True)  # fmt: skip
    paris_noon = datetime(2026, 11, 20, 11, tzinfo=timezone.utc)  # 12:00 in Paris in November
    assert event.event_time == int(paris_noon.timestamp())
    assert event.to_payload()["custom_data"]["value"] == 24.5


def test_ignore_and_map_on_one_column_is_a_contradiction_and_consent_reads_numbers():
    """--ignore of a mapped column is refused; a consent cell of 1.0 (pandas) is consent."""
    with pytest.raises(ValidationError, match="both mapped to email and ignored"):
        events_from_records([ORDER], {"email": "email"}, defaults=SALES, ignore=["email"])
    (event,), () = events_from_records([{**ORDER, "ok": 1.0}], defaults=SALES,
                                       consent_column="ok")  # fmt: skip
    assert event.consent is True


def test_one_event_id_under_two_event_names_is_two_events():
    """A file's own event_id shared by an order's PURCHASE and SIGN_UP keeps both."""
    rows = [{**ORDER, "event_id": "order-1", "event_name": "PURCHASE"},
            {**ORDER, "event_id": "order-1", "event_name": "SIGN_UP"},
            {**ORDER, "event_id": "order-1", "event_name": "PURCHASE"}]  # fmt: skip
    conversion = events_from_records(rows, defaults={"action_source": "OFFLINE"})
    assert [e.event_name.value for e in conversion.events] == ["PURCHASE", "SIGN_UP"]
    assert [s.row for s in conversion.skipped] == [3]


# --------------------------------------------------------------------------- problems as values


def test_row_problems_carry_a_code_for_what_is_wrong():
    """A refused value, a non-record, a scattered group: each problem row has its code."""
    records = [{**BASE, "Email": "jane.secret@"}, "not a record"]
    _, problems = events_from_records(records)
    assert [(p.code, p.field) for p in problems] == [
        ("invalid_value", "email"),
        ("not_a_record", None),
    ]
    assert [p.to_problem().title for p in problems] == [
        "email: is not a valid email address",
        "expected a record",
    ]
    assert problems[1].reason == "expected a record (a dict), got str"  # the words are unchanged
    rows = [{**ORDER, "order": "#1", "sku": "A"}, {**ORDER, "order": "#2", "sku": "B"},
            {**ORDER, "order": "#1", "sku": "C"}]  # fmt: skip
    split = events_from_records(rows, {"contents.id": "sku"}, key="order", group_by="order",
                                defaults=SALES).problems  # fmt: skip
    assert [p.code for p in split] == ["group_split"]
    assert RowProblem(1, "x", "y") == RowProblem(1, "x", "y", code="not_json")  # code: no identity


def test_phones_no_region_will_resolve_are_problems_or_drops_with_their_code():
    """With no region to come, a national number is a phone_no_country_code problem or drop."""
    row = {**BASE, "email": "a@example.com", "phone": "(415) 555-0132"}
    [(_, problem)] = iter_events([(1, row)], final_region=True, on_invalid="raise")
    assert isinstance(problem, RowProblem)
    assert (problem.code, problem.field) == ("phone_no_country_code", "phone")
    assert problem.reason == "(***********32 has no country code, and the row has no country"
    [(_, event)] = iter_events([(1, row)], final_region=True, on_invalid="drop")
    assert [(d.code, d.field) for d in event.drops] == [("phone_no_country_code", "phone")]
    assert event.warnings == (
        "phone dropped: (***********32 has no country code, and the row has no country",
    )


def test_a_value_python_itself_cannot_handle_fails_its_row_alone():
    """A list nested past the recursion limit is that row's problem; the rows around it go on."""
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    rows = [
        {**BASE, "email": "a@example.com"},
        {**BASE, "email": deep},
        {**BASE, "email": "c@example.com"},
    ]
    conversion = events_from_records(rows)
    assert conversion.rows == (1, 3)
    [problem] = conversion.problems
    assert problem.row == 2
    assert problem.reason.startswith("a value is nested too deeply to read (RecursionError)")

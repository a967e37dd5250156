"""Flat records and DataFrames to events: column matching, defaults, per-row problems."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from snapcapi import RowProblem, ValidationError, events_from_dataframe, events_from_records
from snapcapi.records import SYNONYMS, ColumnMap, iter_events

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

"""Notebook display and table export of events and results."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import make_event

from snapcapi import EventResult, EventStatus, SendResult, UserData


def results():
    return SendResult(
        (
            EventResult(0, "a", EventStatus.ACCEPTED, http_status=200, attempts=1),
            EventResult(1, "<script>", EventStatus.REJECTED, "bad <b>", codes=("C1", "C2")),
            EventResult(2, "c", EventStatus.INVALID, "no key", warnings=("old",)),
        )
    )


def test_send_result_html_counts_and_troubled_events_escaped():
    """The notebook view lists counts and the events not accepted, escaped."""
    shown = results()._repr_html_()
    assert "<td style='text-align:left'>REJECTED</td>" in shown
    assert "&lt;script&gt;" in shown
    assert "bad &lt;b&gt;" in shown
    assert "C1, C2" in shown
    assert "<script>" not in shown
    accepted_only = SendResult((EventResult(0, "a", EventStatus.ACCEPTED),))._repr_html_()
    assert "not accepted" not in accepted_only


def test_to_records_and_to_dataframe():
    """Results become flat dicts and a DataFrame with one row per event."""
    records = results().to_records()
    assert records[1] == {
        "index": 1, "event_id": "<script>", "status": "REJECTED", "reason": "bad <b>",
        "codes": ["C1", "C2"], "messages": [], "warnings": [], "http_status": None, "attempts": 0,
    }  # fmt: skip
    frame = results().to_dataframe()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns)[:4] == ["index", "event_id", "status", "reason"]
    assert frame["status"].value_counts().to_dict() == {"ACCEPTED": 1, "REJECTED": 1, "INVALID": 1}
    assert SendResult(()).to_dataframe().empty


def test_to_dataframe_without_pandas_says_how_to_install(monkeypatch):
    """Without pandas, a clear ImportError names the extra."""
    import builtins

    real_import = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas":
            raise ImportError("no pandas here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    with pytest.raises(ImportError, match=r"snapcapi\[pandas\]"):
        results().to_dataframe()


def test_event_html_masks_identifiers():
    """An event's notebook view shows its fields with identifiers hashed or masked."""
    event = make_event(
        1,
        user_data=UserData(email="jane.secret@example.com", client_ip_address="203.0.113.77"),
        event_source_url="https://shop.example.com/thanks?email=jane.secret@example.com",
    )
    shown = event._repr_html_()
    assert "jane.secret" not in shown
    assert "203.0.113.77" not in shown
    assert "PURCHASE" in shown
    assert "e1" in shown
    assert "https://shop.example.com/thanks?…" in shown
    assert "em" in shown


def test_streamed_results_show_counts_only(snap_server, make_client):
    """A result whose events were not kept still displays its counts."""
    result = make_client().send([make_event(0)], keep_results=False)
    assert "ACCEPTED" in result._repr_html_()

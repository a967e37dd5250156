"""Notebook display and table export of events and results."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import make_event

from snapcapi import EventResult, EventStatus, SendResult, UserData, normalize


def results():
    return SendResult(
        (
            EventResult(0, "a", EventStatus.ACCEPTED, http_status=200, attempts=1),
            EventResult(1, "<script>", EventStatus.REJECTED, "bad <b>", codes=("C1", "C2")),
            EventResult(2, None, EventStatus.INVALID, "no key", warnings=("old",)),
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
        "request_id": None,
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


def test_dataframe_round_trips_to_the_records():
    """The DataFrame holds exactly to_records(): missing values back to None, lists kept."""
    result = results()
    frame = result.to_dataframe()
    assert str(frame["http_status"].dtype) == "Int64"
    assert frame["http_status"].tolist()[0] == 200
    back = frame.astype(object).where(frame.notna(), None).to_dict("records")
    assert back == result.to_records()
    assert back[2]["event_id"] is None
    assert back[1]["codes"] == ["C1", "C2"]


def test_send_result_html_shows_at_most_twenty_troubled_events():
    """A long result lists its counts and only the first 20 events not accepted."""
    many = SendResult(
        tuple(EventResult(i, f"id-{i}", EventStatus.FAILED, "timeout") for i in range(50))
    )
    shown = many._repr_html_()
    assert "50" in shown
    assert "first 20 events not accepted" in shown
    assert "id-19" in shown
    assert "id-20" not in shown


def test_event_html_shows_truncated_hashes_never_the_value():
    """Hashed identifiers show the start of the digest sent, beside their masked form."""
    event = make_event(
        1,
        event_id="<script>alert(1)</script>",
        user_data=UserData(email=["jane.secret@example.com", normalize.hash_value("b@x.com")],
                           phone="+14155550132", first_name="Jane"),
    )  # fmt: skip
    shown = event._repr_html_()
    [em, hashed] = event.user_data.to_payload()["em"]
    assert f"sha256:{em[:8]}… (j**********@e******.com)" in shown
    assert f"sha256:{hashed[:8]}…" in shown
    assert em not in shown  # truncated, not whole
    assert "user_data.phone (ph)" in shown
    assert "4155550132" not in shown
    assert "Jane" not in shown
    assert "&lt;script&gt;" in shown
    assert "<script>" not in shown


def test_html_tables_know_nothing_of_the_models():
    """_html renders escaped tables only: it imports no snapcapi module (no import circle)."""
    import ast
    import pathlib

    import snapcapi._html

    tree = ast.parse(pathlib.Path(snapcapi._html.__file__).read_text(encoding="utf-8"))
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert not {name for name in imported if name and name.startswith("snapcapi")}
    assert snapcapi._html.__all__ == ["table"]
    assert snapcapi._html.table(("a",), [("<b>",)]) == (
        "<table><thead><tr><th style='text-align:left'>a</th></tr></thead><tbody><tr>"
        "<td style='text-align:left'>&lt;b&gt;</td></tr></tbody></table>"
    )

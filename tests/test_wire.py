"""The request body encoder."""

from __future__ import annotations

import json
import math

import pytest

from snapcapi._wire import request_body


def test_compact_ascii_json_that_round_trips():
    """Bodies are compact ASCII JSON with non-ASCII escaped, and decode to what went in."""
    payloads = [{"event_name": "PURCHASE", "custom_data": {"value": 1.5, "brands": "Zoë"}}]
    body = request_body(payloads)
    assert body.startswith(b'{"data":[{"event_name":"PURCHASE"')
    assert b" " not in body
    assert json.loads(body) == {"data": payloads}


def test_test_event_code_sits_at_the_root():
    """A test event code goes next to data, as Snap's Java SDK sends it."""
    assert json.loads(request_body([], test_event_code="TEST123")) == {
        "data": [],
        "test_event_code": "TEST123",
    }


def test_nan_is_refused():
    """NaN never reaches the wire as invalid JSON."""
    with pytest.raises(ValueError, match="JSON compliant"):
        request_body([{"value": math.nan}])

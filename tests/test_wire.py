"""The request body encoder, with and without the optional orjson extra."""

from __future__ import annotations

import json
import math

import pytest

from snapcapi import CustomData, ValidationError
from snapcapi._transport import _wire
from snapcapi._transport._wire import request_body, stdlib_encode

PAYLOADS = [
    {
        "event_name": "PURCHASE",
        "event_time": 1795435200,
        "user_data": {"em": ["542d240129883c019e106e3b1b2d3f3cb3537c43c425364de8e951d5a3083345"]},
        "custom_data": {"value": 1.5, "brands": "Zoë", "num_items": 3, "opt_out": False},
    }
]


def test_request_body_round_trips():
    """Bodies decode to what went in, whichever encoder is installed."""
    assert json.loads(request_body(PAYLOADS)) == {"data": PAYLOADS}
    assert _wire.encoder_name() in ("json", "orjson")


def test_encoders_agree():
    """The stdlib and orjson encoders give the same JSON document."""
    orjson = pytest.importorskip("orjson")
    body = {"data": PAYLOADS, "test_event_code": "T1"}
    assert json.loads(stdlib_encode(body)) == json.loads(orjson.dumps(body))


def test_stdlib_encoding_is_compact_ascii():
    """The stdlib path is compact and escapes non-ASCII."""
    body = stdlib_encode({"data": PAYLOADS})
    assert body.startswith(b'{"data":[{"event_name":"PURCHASE"')
    assert b" " not in body
    assert b"Zo\\u00eb" in body


def test_test_event_code_sits_at_the_root():
    """A test event code goes next to data, as Snap's Java SDK sends it."""
    assert json.loads(request_body([], test_event_code="TEST123")) == {
        "data": [],
        "test_event_code": "TEST123",
    }


def test_stdlib_refuses_nan():
    """NaN never reaches the wire as invalid JSON."""
    with pytest.raises(ValueError, match="JSON compliant"):
        stdlib_encode({"data": [{"value": math.nan}]})


def test_models_keep_nan_out_of_payloads():
    """Extra custom fields must be finite JSON values, so no encoder ever meets NaN."""
    with pytest.raises(ValidationError, match="extra"):
        CustomData(extra={"score": math.inf})
    with pytest.raises(ValidationError, match="extra"):
        CustomData(extra={"tags": [1, {"x": object()}]})


def test_orjson_refusals_fall_back_to_the_standard_library():
    """Integers past 64 bits (which orjson refuses) still encode."""
    pytest.importorskip("orjson")
    assert json.loads(request_body([{"n": 2**70}])) == {"data": [{"n": 2**70}]}

"""Problem values: codes, labels free of values, the line each is counted under."""

from __future__ import annotations

import pickle

import pytest

from snapcapi import RowProblem, ValidationError, normalize
from snapcapi import problems as _problems
from snapcapi.problems import LABELS, Problem, title

CODES = [
    getattr(_problems, name) for name in _problems.__all__ if name.isupper() and name != "LABELS"
]


def test_codes_are_short_stable_identifiers_each_with_a_way_to_its_label():
    """Every code is snake_case and unique; each has a label, or takes its message's."""
    assert len(CODES) == len(set(CODES)) == 15
    assert all(code.isidentifier() and code == code.lower() for code in CODES)
    whole = {"no_match_key", "purchase_without_value", "web_without_url", "app_without_platform"}
    assert set(CODES) - set(LABELS) == whole | {"invalid_value"}
    assert not any("*" in label or "'" in label.split("=")[0] for label in LABELS.values())


def test_the_label_comes_from_the_code_or_from_a_message_that_carries_no_value():
    """A code's label is fixed; a whole-event message is its own; an error's is its category."""
    old = Problem("event_time_too_old", "event_time", "event_time is 40 days old; Snap accepts")
    assert old.label == "older than 37 days (Snap refuses it)"
    assert old.title == "event_time: older than 37 days (Snap refuses it)"
    web = Problem("web_without_url", "event_source_url", "WEB events need event_source_url, x")
    assert web.title == web.label == "WEB events need event_source_url, x"
    error = ValidationError("email", "j***@e******.com is not a valid email address (no dot)")
    bad = Problem.from_error(error)
    assert (bad.code, bad.field, bad.title) == (
        "invalid_value",
        "email",
        "email: is not a valid email address",
    )
    quoted = Problem.from_error(ValidationError("event_name", "'Bought7' is not a Snap event name"))
    assert quoted.label == "is not a Snap event name"
    assert title("not_json", None, "not valid JSON") == "not valid JSON"


def test_a_label_is_read_from_the_start_of_a_reason_however_long_its_value():
    """A 200,000-character value without spaces labels like a short one (no backtracking)."""
    long = Problem.from_error(ValidationError("order_id", "x" * 200_000 + " is too long"))
    short = Problem.from_error(ValidationError("order_id", "x*y is too long"))
    assert short.label == "is too long"
    assert len(long.label) <= 500
    masked = Problem.from_error(ValidationError("email", "j***@e.com " * 50_000))
    assert masked.label == "invalid"


def test_a_drop_is_worded_as_warnings_always_were():
    """Problem.dropped words the message '<field> dropped: <reason>' and labels the reason."""
    drop = Problem.dropped("invalid_value", "zip_code", "7***8 is not a zip code; fix it")
    assert drop.message == "zip_code dropped: 7***8 is not a zip code; fix it"
    assert drop.title == "zip_code: is not a zip code"
    fixed = Problem.dropped("phone_no_country_code", "phone", "4****32 has none, whatever")
    assert fixed.title == "phone: has no country code"


def test_problems_are_frozen_comparable_values_that_pickle():
    """Equal code, field and message are equal problems (the label follows); they pickle."""
    problem = Problem("madid_zero", "madid", "madid dropped: is the all-zero id")
    assert problem == Problem("madid_zero", "madid", "madid dropped: is the all-zero id", "other")
    assert hash(problem) == hash(
        Problem("madid_zero", "madid", "madid dropped: is the all-zero id")
    )
    assert pickle.loads(pickle.dumps(problem)) == problem
    assert pickle.loads(pickle.dumps(problem)).label == problem.label
    with pytest.raises(AttributeError):
        problem.code = "x"  # type: ignore[misc]
    assert repr(problem) == (
        "Problem(code='madid_zero', field='madid', message='madid dropped: is the all-zero id')"
    )


def test_an_error_carries_its_code_to_the_problems_made_of_it():
    """A phone refused for want of a country code says so by code, through pickling too."""
    with pytest.raises(ValidationError) as info:
        normalize.phone("06 12 34 56 78")
    error = info.value
    assert error.code == _problems.PHONE_NO_COUNTRY_CODE
    assert pickle.loads(pickle.dumps(error)).code == _problems.PHONE_NO_COUNTRY_CODE
    assert Problem.from_error(error).code == _problems.PHONE_NO_COUNTRY_CODE
    assert RowProblem.from_error(7, error).code == _problems.PHONE_NO_COUNTRY_CODE
    assert ValidationError("email", "is not valid").code == _problems.INVALID_VALUE

"""RetryPolicy: bounded retries, capped exponential backoff, jitter, Retry-After; redaction."""

from __future__ import annotations

import logging
import random
import threading
import time
from email.utils import formatdate

import pytest
from hypothesis import given
from hypothesis import strategies as st

from snapcapi import ValidationError
from snapcapi._transport import _redact
from snapcapi._transport._redact import install_log_filter, redact
from snapcapi._transport._retry import RetryPolicy, retryable


def test_backoff_doubles_up_to_the_cap_without_jitter():
    """Without jitter the wait is the ceiling: base, 2·base, 4·base, ... up to backoff_max."""
    policy = RetryPolicy(backoff_base=0.5, backoff_max=3.0, jitter=False)
    assert [policy.delay(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.delay(10_000) == 3.0


@given(retry=st.integers(1, 10_000), seed=st.integers(0, 2**32))
def test_full_jitter_stays_under_the_ceiling(retry, seed):
    """With jitter the wait is anywhere from 0 to the capped ceiling, never above."""
    policy = RetryPolicy(backoff_base=1.0, backoff_max=30.0, rng=random.Random(seed))
    assert 0 <= policy.delay(retry) <= min(30.0, 2.0 ** min(retry - 1, 60))


def test_retry_after_is_a_floor_and_the_header_is_capped():
    """Retry-After lengthens the wait, up to retry_after_max; unreadable values are ignored."""
    now = 1_800_000_000.0
    policy = RetryPolicy(backoff_base=0.0, retry_after_max=30.0, now=lambda: now)
    assert policy.retry_after("7") == 7.0
    assert policy.retry_after("3600") == 30.0
    assert policy.retry_after("-5") == 0.0
    assert policy.retry_after(formatdate(now + 20, usegmt=True)) == pytest.approx(20.0)
    for unreadable in (None, "", "soon", "nan", "Mon, 99 Foo 2024 99:99:99"):
        assert policy.retry_after(unreadable) is None
    assert policy.delay(1, policy.retry_after("7")) == 7.0


def test_the_number_of_retries_is_bounded():
    """Retry n is allowed while n <= max_retries; 0 means never retry."""
    assert [RetryPolicy(max_retries=2).allows(n) for n in (1, 2, 3)] == [True, True, False]
    assert not RetryPolicy(max_retries=0).allows(1)


def test_retryable_statuses():
    """408, 429 and every 5xx are worth retrying; other statuses are not."""
    assert all(retryable(s) for s in (408, 429, 500, 503, 599))
    assert not any(retryable(s) for s in (200, 400, 401, 404, 413))


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("max_retries", -1),
        ("max_retries", 1.5),
        ("backoff_base", -0.1),
        ("backoff_max", float("nan")),
        ("retry_after_max", "60"),
        ("deadline", 0),
        ("deadline", float("inf")),
        ("deadline", float("nan")),
        ("deadline", True),
    ],
)
def test_each_bad_setting_is_named(option, value):
    """A bad setting raises a ValidationError naming exactly that setting."""
    with pytest.raises(ValidationError) as info:
        RetryPolicy(**{option: value})
    assert info.value.field == option


def test_sleep_and_clocks_are_injectable():
    """The policy sleeps through what it is given, never time.sleep."""
    slept = []
    policy = RetryPolicy(sleep=slept.append, jitter=False, backoff_base=2.0)
    policy.sleep(policy.delay(2))
    assert slept == [4.0]


def test_the_longest_a_request_can_take_is_its_timeouts_and_backoff_ceilings():
    """longest(timeout): every attempt timing out, every wait its ceiling (the default deadline)."""
    policy = RetryPolicy(max_retries=3, backoff_base=0.5, backoff_max=1.5)
    assert [policy.ceiling(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 1.5, 1.5]
    assert policy.longest(2.0) == 4 * 2.0 + 0.5 + 1.0 + 1.5
    assert RetryPolicy(max_retries=0).longest(7.0) == 7.0
    huge = RetryPolicy(max_retries=10**12, backoff_base=1.0, backoff_max=30.0)
    assert huge.longest(1.0) == pytest.approx(10**12 + 1 + 30.0 * 10**12, rel=1e-9)


def test_a_wait_ends_as_soon_as_the_send_is_stopping():
    """pause() with the real sleep waits on the stopping event: set, the wait ends, False."""
    stopping = threading.Event()
    threading.Timer(0.1, stopping.set).start()
    started = time.monotonic()
    assert RetryPolicy().pause(60, stopping) is False
    assert time.monotonic() - started < 30  # a bound: the wait asked for is 60 s
    assert RetryPolicy().pause(0.01, threading.Event()) is True


def test_an_injected_sleep_is_called_and_a_stop_then_seen():
    """pause() with an injected sleep calls it as it is, then reports a stop that came."""
    stopping, slept = threading.Event(), []

    def sleep(seconds):
        slept.append(seconds)
        stopping.set()

    assert RetryPolicy(sleep=sleep).pause(3.0, stopping) is False
    assert slept == [3.0]
    assert RetryPolicy(sleep=slept.append).pause(1.0) is True


# --------------------------------------------------------------------------- redaction


def test_redaction_removes_every_known_token_and_any_query_or_bearer_token():
    """Tokens go by pattern (access_token=, Bearer) and verbatim, every one held."""
    text = "GET /v3/p/events?access_token=abc&x=1 Authorization: Bearer xyz old-1 new-2"
    cleaned = redact(text, ("old-1", "new-2"))
    for secret in ("abc", "xyz", "old-1", "new-2"):
        assert secret not in cleaned
    assert "access_token=***" in cleaned
    assert "x=1" in cleaned


def test_the_log_filter_is_installed_once_even_from_many_threads(monkeypatch):
    """Installing from several threads at once attaches exactly one filter per logger."""
    names = ("snapcapi-test.urls.a", "snapcapi-test.urls.b")
    monkeypatch.setattr(_redact, "URL_LOGGERS", names)
    monkeypatch.setattr(_redact, "_INSTALLED", threading.Event())
    threads = [threading.Thread(target=install_log_filter) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    install_log_filter()
    for name in names:
        filters = logging.getLogger(name).filters
        assert filters.count(_redact._FILTER) == 1
        logging.getLogger(name).removeFilter(_redact._FILTER)


def test_a_client_installs_the_log_filter(monkeypatch):
    """The first Client attaches the filter to urllib3's loggers (importing does not)."""
    from snapcapi import Client

    logger = logging.getLogger("urllib3.connectionpool")
    monkeypatch.setattr(logger, "filters", [])
    monkeypatch.setattr(_redact, "_INSTALLED", threading.Event())
    assert _redact._FILTER not in logger.filters
    Client("p", "t", base_url="http://127.0.0.1:9").close()
    assert _redact._FILTER in logger.filters

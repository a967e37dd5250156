"""``RetryPolicy``: how often and how long to wait before trying a request again.

A small value, built from the client's options for each call: bounded retries, capped
exponential backoff with full jitter, ``Retry-After`` honoured up to a cap, and a deadline for
the whole request, retries and waits included. Sleep, clocks and the random source are
injected, so tests run instantly and deterministically without patching.
"""

from __future__ import annotations

import email.utils
import math
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import attrs

from snapcapi._convert import read_seconds
from snapcapi.errors import ValidationError

__all__ = ["RETRY_STATUSES", "RetryPolicy", "retryable"]

#: Statuses retried besides every 5xx.
RETRY_STATUSES = frozenset({408, 429})


def retryable(status: int) -> bool:
    """Tell whether an HTTP status is worth trying again (408, 429 and every 5xx)."""
    return status >= 500 or status in RETRY_STATUSES


def _at_least(minimum: float, what: str) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    def check(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError(attribute.name, f"must be a number, got {type(value).__name__}")
        if not value >= minimum:  # also refuses NaN
            raise ValidationError(attribute.name, f"must be {what}, got {value!r}")

    return check


def _whole(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(attribute.name, f"must be a whole number, got {value!r}")


def _seconds_or_none(_instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        read_seconds(attribute.name, value)


#: From this retry on, the backoff ceiling no longer doubles (2**60 seconds: any cap is lower).
_LAST_DOUBLING = 61


@attrs.frozen
class RetryPolicy:
    """When to retry a request, and how long to wait first.

    Attributes:
        max_retries: Retries after the first attempt (0: never retry).
        backoff_base: The backoff ceiling of the first retry, in seconds; it doubles with each
            retry.
        backoff_max: The largest backoff ceiling, in seconds.
        retry_after_max: The longest ``Retry-After`` honoured, in seconds.
        jitter: Wait a random time up to the ceiling ("full jitter"), so that many clients
            that failed together do not retry together; without, wait the ceiling.
        deadline: Seconds one request may take in all, its retries and the waits before
            them included (by ``clock``); None: only ``max_retries`` bounds it.
        sleep: Waits; ``time.sleep`` unless injected. The real ``time.sleep`` is replaced by
            a wait that ends early when the send is stopping (see :meth:`pause`).
        clock: A monotonic clock, for timing requests.
        now: The wall clock, for ``Retry-After`` given as an HTTP date.
        rng: The random source of the jitter.
    """

    max_retries: int = attrs.field(default=5, validator=[_whole, _at_least(0, ">= 0")])
    backoff_base: float = attrs.field(default=0.5, validator=_at_least(0, ">= 0"))
    backoff_max: float = attrs.field(default=30.0, validator=_at_least(0, ">= 0"))
    retry_after_max: float = attrs.field(default=60.0, validator=_at_least(0, ">= 0"))
    jitter: bool = True
    deadline: float | None = attrs.field(default=None, validator=_seconds_or_none)
    sleep: Callable[[float], None] = attrs.field(default=time.sleep, repr=False)
    clock: Callable[[], float] = attrs.field(default=time.monotonic, repr=False)
    now: Callable[[], float] = attrs.field(default=time.time, repr=False)
    rng: random.Random = attrs.field(factory=random.Random, repr=False, eq=False)

    def allows(self, retry: int) -> bool:
        """Tell whether retry number ``retry`` (1 for the first) may be made."""
        return retry <= self.max_retries

    def ceiling(self, retry: int) -> float:
        """Return the longest backoff before retry number ``retry``: capped exponential."""
        return min(
            self.backoff_max, self.backoff_base * 2.0 ** (min(max(retry, 1), _LAST_DOUBLING) - 1)
        )

    def backoff(self, retry: int) -> float:
        """Return the backoff before retry number ``retry``: capped exponential, jittered."""
        ceiling = self.ceiling(retry)
        return self.rng.uniform(0, ceiling) if self.jitter else ceiling

    def longest(self, timeout: float) -> float:
        """Return the longest a request can take with attempts of ``timeout`` seconds.

        That is every attempt taking the whole timeout, and every backoff its ceiling::

            (max_retries + 1) × timeout + Σ ceiling(n) for n = 1 .. max_retries

        ``Retry-After`` waits longer than the backoff are not counted. The client's default
        ``deadline`` is this.
        """
        doubling = min(self.max_retries, _LAST_DOUBLING)
        waits = sum(self.ceiling(n) for n in range(1, doubling + 1))
        waits += (self.max_retries - doubling) * self.ceiling(_LAST_DOUBLING)
        return (self.max_retries + 1) * timeout + waits

    def pause(self, seconds: float, stopping: threading.Event | None = None) -> bool:
        """Wait ``seconds`` before a retry; return False when the send is stopping.

        With the real ``time.sleep``, the wait is on ``stopping`` and ends as soon as it is
        set; an injected ``sleep`` is called as it is (a test's instant sleep).
        """
        if stopping is None:
            self.sleep(seconds)
            return True
        if self.sleep is time.sleep:
            return not stopping.wait(seconds)
        self.sleep(seconds)
        return not stopping.is_set()

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry``: the backoff, or longer if told so.

        Args:
            retry: 1 for the first retry, 2 for the second, ...
            retry_after: What the server's ``Retry-After`` asked for (already capped), if any.
        """
        return max(self.backoff(retry), retry_after or 0.0)

    def retry_after(self, value: str | None) -> float | None:
        """Read a ``Retry-After`` header (seconds or an HTTP date), capped at the maximum.

        Returns:
            The seconds to wait, or None when the header is absent or unreadable (the backoff
            then decides).
        """
        value = (value or "").strip()
        if not value:
            return None
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                return None
            if when.tzinfo is None:
                return None
            seconds = when.timestamp() - self.now()
        if math.isnan(seconds):
            return None
        return max(0.0, min(seconds, self.retry_after_max))

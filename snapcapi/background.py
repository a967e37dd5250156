"""``BackgroundSender``: send events from web requests without waiting on Snap.

A purchase hook calls :meth:`BackgroundSender.enqueue` and returns at once; a worker thread
collects events into batches (by count and by time) and sends them through the synchronous
:class:`~snapcapi.Client`, so batching, retries and results are the very same code. Nothing is
lost silently: an event the queue has no room for is reported through ``on_result`` (status
``FAILED``, reason ``dropped: ...``) and logged.

It is thread-safe, flushes at interpreter exit, and survives ``os.fork()`` (gunicorn and
other pre-forking servers): a child process starts with an empty queue, a fresh HTTP session
and its own worker, on its first ``enqueue``. The exit and fork hooks this takes are installed
by the first ``BackgroundSender`` made, never by importing the module.
"""

from __future__ import annotations

import atexit
import collections
import itertools
import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import Literal

import attrs

from snapcapi.client import Client
from snapcapi.errors import SnapCapiError, ValidationError
from snapcapi.events import Event
from snapcapi.results import EventResult, EventStatus

__all__ = ["BackgroundSender", "Overflow"]

logger = logging.getLogger("snapcapi")

Overflow = Literal["block", "drop_new", "drop_oldest"]
_SENDERS: weakref.WeakSet[BackgroundSender] = weakref.WeakSet()
_hooks_lock = threading.Lock()
_hooks_installed = threading.Event()


@attrs.frozen
class _Queued:
    number: int  # the event's place among everything this sender was given
    event: Event
    at: float  # time.monotonic() when it was queued


class BackgroundSender:
    """Queue events and send them from a worker thread through a :class:`~snapcapi.Client`.

    Args:
        client: The client that sends (its retries, batching limits and results apply).
        max_queue: Events waiting at most; what happens beyond is ``overflow``.
        flush_at: Send as soon as this many events wait.
        flush_interval: Send what waits at the latest this many seconds after it arrived.
        on_result: Called with each event's :class:`~snapcapi.EventResult` (its ``index`` is
            the event's place in everything this sender was given, from 0): in the worker
            thread, or for a dropped event in the thread that called ``enqueue``. Exceptions it
            raises are logged, never propagated. It must not call :meth:`flush`.
        overflow: When the queue is full: ``"block"`` waits for room (at most
            ``block_timeout`` seconds, then drops the new event), ``"drop_new"`` drops the new
            event, ``"drop_oldest"`` drops the oldest waiting one. Drops are reported.
        block_timeout: The longest ``enqueue`` waits with ``overflow="block"`` (None: no limit).
        close_timeout: How long the flush at interpreter exit may take.

    Raises:
        ValidationError: A setting out of range.
    """

    def __init__(
        self,
        client: Client,
        *,
        max_queue: int = 10_000,
        flush_at: int = 100,
        flush_interval: float = 1.0,
        on_result: Callable[[EventResult], object] | None = None,
        overflow: Overflow = "block",
        block_timeout: float | None = None,
        close_timeout: float = 10.0,
    ) -> None:
        if overflow not in ("block", "drop_new", "drop_oldest"):
            raise ValidationError("overflow", "must be 'block', 'drop_new' or 'drop_oldest'")
        if max_queue < 1 or flush_at < 1 or flush_interval < 0:
            raise ValidationError(
                "max_queue", "max_queue and flush_at must be >= 1, flush_interval >= 0"
            )
        self.client = client
        self.max_queue = max_queue
        self.flush_at = min(flush_at, max_queue, client.batch_size)
        self.flush_interval = flush_interval
        self.on_result = on_result
        self.overflow = overflow
        self.block_timeout = block_timeout
        self.close_timeout = close_timeout
        self._fresh_state()
        _install_process_hooks()
        _SENDERS.add(self)

    def _fresh_state(self) -> None:
        """(Re)create the queue, lock and counters: at start and in a forked child."""
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._queue: collections.deque[_Queued] = collections.deque()
        self._numbers = itertools.count()
        self._given = 0  # events given to enqueue
        self._settled = 0  # events with a final result (sent or dropped)
        self._dropped = 0
        self._flush_wanted = 0  # flush() calls waiting
        self._closing = False
        self._closed = False
        self._loop_warned = False  # said once that enqueue blocks an asyncio event loop
        self._worker: threading.Thread | None = None
        self._pid = os.getpid()

    # ------------------------------------------------------------------ the caller's side

    def enqueue(self, event: Event) -> bool:
        """Queue an event to be sent soon; return at once.

        With the queue full and ``overflow="block"``, it waits for room (at most
        ``block_timeout`` seconds; None: without limit). In an ``async def`` endpoint that
        wait blocks the event loop, and with it every request the loop serves, so call it
        from a plain ``def`` endpoint (FastAPI runs those in a worker thread), or make the
        sender with ``overflow="drop_new"`` or a short ``block_timeout``. When it is about to
        wait in a thread running an asyncio event loop, it logs a warning saying so, once per
        sender.

        Returns:
            True when the event was queued, False when it was dropped (queue full, or the
            sender closed); a dropped event is reported through ``on_result`` and the log.

        Raises:
            ValidationError: ``event`` is not an :class:`~snapcapi.Event`.
        """
        if not isinstance(event, Event):
            raise ValidationError("event", f"expected an Event, got {type(event).__name__}")
        if self._pid != os.getpid():
            self._after_fork()
        dropped: _Queued | None = None
        reason = ""
        with self._lock:
            item = _Queued(next(self._numbers), event, time.monotonic())
            self._given += 1
            if self._closing:
                dropped, reason = item, "dropped: the sender is closed"
            elif len(self._queue) >= self.max_queue:
                dropped, reason = self._make_room(item)
            if dropped is not item:
                self._queue.append(item)
                if self._worker is None:
                    self._start_worker()
                waiting = len(self._queue)
                if waiting == 1 or waiting >= self.flush_at:
                    # The first event starts the worker's flush_interval clock; a full batch
                    # goes at once.
                    self._changed.notify_all()
            if dropped is not None:
                self._dropped += 1
                self._settled += 1
                self._changed.notify_all()
        if dropped is not None:
            self._report_drop(dropped, reason)
        return dropped is not item

    def _make_room(self, item: _Queued) -> tuple[_Queued | None, str]:
        """With the lock held and the queue full: the event to drop (if any) and why."""
        full = f"dropped: the queue was full ({self.max_queue} events, overflow={self.overflow!r})"
        if self.overflow == "drop_new":
            return item, full
        if self.overflow == "drop_oldest":
            return self._queue.popleft(), full
        deadline = None if self.block_timeout is None else time.monotonic() + self.block_timeout
        while len(self._queue) >= self.max_queue and not self._closing:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return item, full + f" for {self.block_timeout}s"
            if not self._loop_warned and _in_event_loop():
                self._warn_event_loop()
                continue  # the lock was let go while logging: look at the queue again
            self._changed.wait(remaining)
        if self._closing:
            return item, "dropped: the sender is closed"
        return None, ""

    def _warn_event_loop(self) -> None:
        """Once per sender, with the lock held: say enqueue blocks a running event loop."""
        self._loop_warned = True
        wait = self.block_timeout
        limit = "until there is room" if wait is None else f"for up to {wait}s"
        self._lock.release()  # a log handler may take its time, or even enqueue
        try:
            logger.warning(
                "BackgroundSender.enqueue waits for room in a full queue (max_queue=%d, "
                "overflow='block') in a thread running an asyncio event loop (an async def "
                "endpoint?): it blocks the event loop, and every request it serves, %s. "
                "Call enqueue from a plain def endpoint (FastAPI runs it in a worker thread), "
                "or make the sender with overflow='drop_new' or a short block_timeout= "
                "(seconds). Said once per sender.",
                self.max_queue,
                limit,
            )
        finally:
            self._lock.acquire()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event given so far has a final result.

        Returns:
            True when they all have, False when ``timeout`` seconds passed first.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            target = self._given
            self._flush_wanted += 1
            self._changed.notify_all()
            try:
                while self._settled < target:
                    if self._queue and (self._worker is None or not self._worker.is_alive()):
                        self._start_worker()  # after a fork, or a worker that died
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    self._changed.wait(remaining)
                return True
            finally:
                self._flush_wanted -= 1

    def close(self, timeout: float | None = None) -> bool:
        """Send what is queued, then stop the worker. Later events are dropped (reported).

        Safe to call more than once; runs by itself at interpreter exit.

        Returns:
            True when everything queued was delivered within ``timeout``.
        """
        if self._closed:
            return True
        flushed = self.flush(timeout)
        with self._lock:
            self._closing = True
            self._changed.notify_all()
            worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout)
        self._closed = True
        if not flushed:
            logger.warning(
                "BackgroundSender closed with %d events not delivered (timeout %ss)",
                self.pending,
                timeout,
            )
        return flushed

    def __enter__(self) -> BackgroundSender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def pending(self) -> int:
        """Events given but without a final result yet."""
        return self._given - self._settled

    @property
    def dropped(self) -> int:
        """Events dropped so far (queue full or sender closed)."""
        return self._dropped

    def __repr__(self) -> str:
        return (
            f"BackgroundSender(pending={self.pending}, dropped={self.dropped}, "
            f"overflow={self.overflow!r}, closed={self._closed})"
        )

    # ------------------------------------------------------------------ the worker's side

    def _start_worker(self) -> None:
        self._worker = threading.Thread(
            target=self._work, name="snapcapi-BackgroundSender", daemon=True
        )
        self._worker.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                while True:
                    if self._closing and not self._queue:
                        return
                    if self._queue and self._due():
                        break
                    if self._queue:
                        wait = self._queue[0].at + self.flush_interval - time.monotonic()
                        self._changed.wait(max(wait, 0.0))
                    else:
                        self._changed.wait()
                count = min(len(self._queue), self.client.batch_size)
                batch = [self._queue.popleft() for _ in range(count)]
                self._changed.notify_all()  # room for blocked callers
            self._send(batch)
            with self._lock:
                self._settled += len(batch)
                self._changed.notify_all()

    def _due(self) -> bool:
        """With the lock held: whether to send what waits now."""
        return (
            len(self._queue) >= self.flush_at
            or self._flush_wanted > 0
            or self._closing
            or time.monotonic() >= self._queue[0].at + self.flush_interval
        )

    def _send(self, batch: list[_Queued]) -> None:
        """Send one batch through the client; report every event's result."""
        numbers = [item.number for item in batch]

        def report(result: EventResult) -> None:
            self._deliver(attrs.evolve(result, index=numbers[result.index]))

        try:
            self.client.send([item.event for item in batch], on_result=report)
        except Exception as exc:  # a refused token, a closed client: report, keep going
            logger.error("background send of %d events failed: %s", len(batch), exc)
            reported = getattr(exc, "result", None)
            settled = {r.index for r in reported.events} if reported is not None else set()
            for position, item in enumerate(batch):
                if position not in settled:
                    self._deliver(
                        EventResult(
                            item.number,
                            item.event.event_id,
                            EventStatus.FAILED,
                            f"not sent: {type(exc).__name__}: {exc}",
                        )
                    )

    def _deliver(self, result: EventResult) -> None:
        if self.on_result is None:
            return
        try:
            self.on_result(result)
        except Exception:
            logger.exception("on_result raised for event %s", result.event_id)

    def _report_drop(self, item: _Queued, reason: str) -> None:
        logger.warning("event %s %s", item.event.event_id, reason)
        self._deliver(EventResult(item.number, item.event.event_id, EventStatus.FAILED, reason))

    def _after_fork(self) -> None:
        """In a forked child: forget the parent's queue and worker; start afresh."""
        self._fresh_state()
        self.client._reset_after_fork()


def _in_event_loop() -> bool:
    """Whether this thread is running an asyncio event loop (asked only before blocking)."""
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:  # never imported: no loop can be running
        return False
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _close_all() -> None:
    for sender in list(_SENDERS):
        if sender._pid == os.getpid():
            try:
                sender.close(sender.close_timeout)
            except SnapCapiError:  # pragma: no cover - closing must not break interpreter exit
                logger.exception("closing a BackgroundSender at exit failed")


def _reset_in_child() -> None:
    for sender in list(_SENDERS):
        sender._after_fork()


def _install_process_hooks() -> None:
    """Close every sender at interpreter exit and reset them in a forked child: once."""
    if _hooks_installed.is_set():  # the common case, without taking the lock
        return
    with _hooks_lock:
        if _hooks_installed.is_set():
            return
        atexit.register(_close_all)
        if hasattr(os, "register_at_fork"):  # pragma: no branch - POSIX
            os.register_at_fork(after_in_child=_reset_in_child)
        _hooks_installed.set()

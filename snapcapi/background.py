"""``BackgroundSender``: send events from web requests without waiting on Snap.

A purchase hook calls :meth:`BackgroundSender.enqueue` and returns at once; a worker thread
collects events into batches (by count and by time) and sends them through the synchronous
:class:`~snapcapi.Client`, so batching, retries and results are the very same code. Nothing is
lost silently: an event the queue has no room for is reported through ``on_result`` (status
``FAILED``, reason ``dropped: ...``) and logged, and so is every event a process ending cuts
off.

It is thread-safe and survives ``os.fork()`` (gunicorn and other pre-forking servers): a child
process starts with an empty queue, a fresh HTTP session and its own worker, on its first
``enqueue``. What is queued is delivered when the process ends:

- at interpreter exit (a normal end, ``sys.exit``, an uncaught ``KeyboardInterrupt`` after
  Ctrl-C), within ``close_timeout``;
- on ``SIGTERM``, when the application has no handler of its own: the sender's handler
  delivers within ``sigterm_timeout``, then lets SIGTERM end the process as it would have.
  Python installs signal handlers only from the main thread: a sender made in another thread
  (lazily, in a request) relies on :meth:`BackgroundSender.install_sigterm_handler` having
  been called from the main thread at startup, and logs a warning once when it was not;
- never on ``SIGKILL``, which no process survives.

Whatever could not be delivered in time is reported ``FAILED`` (safe to resend) through
``on_result``, and logged in one summary line (each event at ``DEBUG``). The exit, fork and
SIGTERM hooks are installed by the first ``BackgroundSender`` made (or by
``install_sigterm_handler``), never by importing the module.
"""

from __future__ import annotations

import _thread
import atexit
import collections
import contextlib
import itertools
import logging
import os
import signal
import sys
import threading
import time
import weakref
from collections.abc import Callable
from types import FrameType
from typing import Literal, NamedTuple

import attrs

from snapcapi._convert import read_seconds
from snapcapi._transport._config import read_whole
from snapcapi._transport._delivery import interrupted_reason
from snapcapi._transport._judge import RESEND
from snapcapi.client import Client
from snapcapi.errors import ValidationError
from snapcapi.events import Event
from snapcapi.results import EventResult, EventStatus

__all__ = ["BackgroundSender", "Overflow"]

logger = logging.getLogger("snapcapi")

Overflow = Literal["block", "drop_new", "drop_oldest"]
_SENDERS: weakref.WeakSet[BackgroundSender] = weakref.WeakSet()
_hooks_lock = threading.Lock()
_hooks_installed = threading.Event()
#: How often a wait for delivery at SIGTERM looks whether a second SIGTERM said to hurry.
_POLL = 0.1
#: How many event ids the one warning about events a process ending cut off names.
_IDS_SHOWN = 5


@attrs.frozen
class _Queued:
    number: int  # the event's place among everything this sender was given
    event: Event
    at: float  # time.monotonic() when it was queued


class _Lost(NamedTuple):
    """An event a process ending cut off, and whether it was on its way to Snap then."""

    item: _Queued
    on_the_wire: bool


@attrs.frozen
class _Ending:
    """A way the process ends, as the results of the events it cuts off say it."""

    why: str  # "the process was terminated (SIGTERM)"

    @property
    def refusal(self) -> str:
        return f"dropped: {self.why}"

    @property
    def queued(self) -> str:
        return f"not sent: {self.why} before it was sent{RESEND}"

    @property
    def on_the_wire(self) -> str:
        return interrupted_reason(self.why)


_TERMINATED = _Ending("the process was terminated (SIGTERM)")
_EXITED = _Ending("the process exited")
_CLOSED = "dropped: the sender is closed"


class BackgroundSender:
    """Queue events and send them from a worker thread through a :class:`~snapcapi.Client`.

    Args:
        client: The client that sends (its retries, batching limits and results apply).
        max_queue: Events waiting at most; what happens beyond is ``overflow``.
        flush_at: Send as soon as this many events wait.
        flush_interval: Send what waits at the latest this many seconds after it arrived.
        on_result: Called with each event's :class:`~snapcapi.EventResult` (its ``index`` is
            the event's place in everything this sender was given, from 0): in the worker
            thread, or for a dropped event in the thread that called ``enqueue``. It must not
            call :meth:`flush`. What it raises is logged and never stops the results of the
            other events. An ``Exception`` goes no further. ``KeyboardInterrupt`` and
            ``SystemExit`` raised in the thread that called ``enqueue`` are raised again
            there once the drop is counted; raised in the worker thread, which cannot end
            the process, a ``KeyboardInterrupt`` is passed on to the main thread (as Ctrl-C
            would be) once the batch has all its results, and a ``SystemExit`` is logged
            while the worker goes on.
        overflow: When the queue is full: ``"block"`` waits for room (at most
            ``block_timeout`` seconds, then drops the new event), ``"drop_new"`` drops the new
            event, ``"drop_oldest"`` drops the oldest waiting one. Drops are counted
            (:attr:`dropped`) and reported.
        block_timeout: The longest ``enqueue`` waits with ``overflow="block"``: 50 ms by
            default, so that a web request never waits on a slow Snap. ``None`` waits without
            limit, for batch jobs that would rather slow down than drop.
        close_timeout: How long the delivery at interpreter exit may take; what is not
            delivered then is reported ``FAILED``.
        handle_sigterm: Deliver what is queued when the process gets ``SIGTERM``. The handler
            is installed only from the main thread and only while SIGTERM has its default
            disposition (an application or server with its own handler keeps it); after
            delivering it restores the default and sends SIGTERM again, so the process ends
            as the process manager expects. A sender made in another thread (lazily, in a
            request) uses the handler :meth:`install_sigterm_handler` installed from the main
            thread at startup; without it, it logs a warning, once per process. ``False``:
            this sender takes no part (what it holds is lost on SIGTERM).
        sigterm_timeout: How long the delivery on SIGTERM may take; what is not delivered
            then is reported ``FAILED``. Keep it under the process manager's grace period
            (10 s for ``docker stop``, 30 s for Kubernetes).

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
        block_timeout: float | None = 0.05,
        close_timeout: float = 10.0,
        handle_sigterm: bool = True,
        sigterm_timeout: float = 5.0,
    ) -> None:
        if overflow not in ("block", "drop_new", "drop_oldest"):
            raise ValidationError("overflow", "must be 'block', 'drop_new' or 'drop_oldest'")
        self.client = client
        self.max_queue = read_whole("max_queue", max_queue, 1)
        self.flush_at = min(read_whole("flush_at", flush_at, 1), self.max_queue, client.batch_size)
        self.flush_interval = _seconds("flush_interval", flush_interval)
        self.on_result = on_result
        self.overflow = overflow
        self.block_timeout = _limit("block_timeout", block_timeout)
        self.close_timeout = _seconds("close_timeout", close_timeout)
        if not isinstance(handle_sigterm, bool):
            raise ValidationError(
                "handle_sigterm", f"must be True or False, got {handle_sigterm!r}"
            )
        self.handle_sigterm = handle_sigterm
        self.sigterm_timeout = _seconds("sigterm_timeout", sigterm_timeout)
        self._fresh_state()
        _install_process_hooks()
        if handle_sigterm:
            _SIGTERM.install()
        _SENDERS.add(self)

    @staticmethod
    def install_sigterm_handler() -> bool:
        """Have SIGTERM deliver what every sender holds, senders made later in any thread too.

        Call it from the main thread at startup (an ``AppConfig.ready()``, an app factory, a
        ``wsgi.py``) when senders are made later, lazily, in request threads: Python installs
        signal handlers only from the main thread, so such a sender cannot install one itself.
        A sender made in the main thread does this by itself. It installs the handler only
        while SIGTERM has its default disposition (an application or server with a handler of
        its own keeps it); called again with the handler in place, it changes nothing. It can
        be called before any sender exists.

        Returns:
            True when snapcapi's handler handles SIGTERM (installed now or before); False when
            another handler does, SIGTERM is ignored, the platform has no SIGTERM to handle,
            or this is not the main thread (which also logs a warning, once per process).
        """
        return _SIGTERM.install()

    def _fresh_state(self) -> None:
        """(Re)create the queue, lock and counters: at start and in a forked child."""
        # Reentrant: the SIGTERM handler runs in the main thread, perhaps while that very
        # thread is inside enqueue or flush with the lock held.
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._queue: collections.deque[_Queued] = collections.deque()
        self._sending: dict[int, _Queued] = {}  # taken by the worker, without a result yet
        self._working = False  # the worker holds a batch it has not counted yet
        self._numbers = itertools.count()
        self._given = 0  # events given to enqueue
        self._settled = 0  # events with a final result (sent, dropped or cut off)
        self._dropped = 0
        self._flush_wanted = 0  # flush() calls waiting
        self._closing = False
        self._refusal = _CLOSED  # why an enqueue after closing is dropped
        self._closed = False
        self._loop_warned = False  # said once that enqueue blocks an asyncio event loop
        self._worker: threading.Thread | None = None
        self._pid = os.getpid()

    # ------------------------------------------------------------------ the caller's side

    def enqueue(self, event: Event) -> bool:
        """Queue an event to be sent soon; return at once.

        With the queue full and ``overflow="block"``, it waits for room, at most
        ``block_timeout`` seconds (50 ms by default; None: without limit), then drops the
        event. In an ``async def`` endpoint that wait blocks the event loop, and with it every
        request the loop serves, so call it from a plain ``def`` endpoint (FastAPI runs those
        in a worker thread), or make the sender with ``overflow="drop_new"``. When it is
        about to wait in a thread running an asyncio event loop, it logs a warning saying so,
        once per sender.

        Returns:
            True when the event was queued, False when it was dropped (queue full, or the
            sender closed); a dropped event is counted in :attr:`dropped` and reported
            through ``on_result`` and the log.

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
                dropped, reason = item, self._refusal
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
            interpreter_exit = self._report_drop(dropped, reason)
            if interpreter_exit is not None:
                raise interpreter_exit  # on_result's own, in its own thread: the drop counted
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
            return item, self._refusal
        return None, ""

    def _warn_event_loop(self) -> None:
        """Once per sender, with the lock held: say enqueue blocks a running event loop."""
        self._loop_warned = True
        wait = self.block_timeout
        limit = "until there is room" if wait is None else f"for up to {wait}s per event"
        self._lock.release()  # a log handler may take its time, or even enqueue
        try:
            logger.warning(
                "BackgroundSender.enqueue waits for room in a full queue (max_queue=%d, "
                "overflow='block') in a thread running an asyncio event loop (an async def "
                "endpoint?): it blocks the event loop, and every request it serves, %s. "
                "Call enqueue from a plain def endpoint (FastAPI runs it in a worker thread), "
                "or make the sender with overflow='drop_new' or a shorter block_timeout= "
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
                    if self._queue and not self._worker_alive():
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
        flushed = self._shut(timeout)
        if not flushed:
            logger.warning(
                "BackgroundSender closed with %d events not delivered (timeout %ss)",
                self.pending,
                timeout,
            )
        return flushed

    def _shut(self, timeout: float | None) -> bool:
        """Close without a word: say whether everything queued was delivered in time."""
        if self._closed:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        flushed = self.flush(timeout)
        with self._lock:
            self._closing = True
            self._changed.notify_all()
            worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(None if deadline is None else max(deadline - time.monotonic(), 0.0))
        self._closed = True
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

    def _worker_alive(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    def _start_worker(self) -> None:
        if self.handle_sigterm:
            _SIGTERM.install()  # the sender may have been made in another thread
        self._worker = threading.Thread(
            target=self._work, name="snapcapi-BackgroundSender", daemon=True
        )
        self._worker.start()

    def _work(self) -> None:
        while True:
            batch = self._take_batch()
            if batch is None:
                return
            reported, interpreter_exit = self._send(batch)
            with self._lock:
                self._settled += reported
                self._working = False
                self._changed.notify_all()
            if interpreter_exit is not None:
                _pass_on(interpreter_exit)

    def _take_batch(self) -> list[_Queued] | None:
        """Wait until a batch is due and take it; None once closing with nothing queued."""
        with self._lock:
            while True:
                if self._closing and not self._queue:
                    return None
                if self._queue and self._due():
                    break
                if self._queue:
                    wait = self._queue[0].at + self.flush_interval - time.monotonic()
                    self._changed.wait(max(wait, 0.0))
                else:
                    self._changed.wait()
            count = min(len(self._queue), self.client.batch_size)
            batch = [self._queue.popleft() for _ in range(count)]
            self._sending.update((item.number, item) for item in batch)
            self._working = True
            self._changed.notify_all()  # room for blocked callers
            return batch

    def _due(self) -> bool:
        """With the lock held: whether to send what waits now."""
        return (
            len(self._queue) >= self.flush_at
            or self._flush_wanted > 0
            or self._closing
            or time.monotonic() >= self._queue[0].at + self.flush_interval
        )

    def _send(self, batch: list[_Queued]) -> tuple[int, BaseException | None]:
        """Send one batch through the client; report every event's result.

        Returns:
            How many results it reported (the others were reported when the process
            ended), and the first interpreter exit (``KeyboardInterrupt``, ``SystemExit``)
            that ``on_result`` raised, to pass on once the batch has all its results.
        """
        numbers = [item.number for item in batch]
        reported: list[int] = []
        exits: list[BaseException] = []

        def report(result: EventResult) -> None:
            number = numbers[result.index]
            if not self._claim(number):
                return  # reported already (by the send, or when the process ended)
            reported.append(number)
            raised = self._deliver(attrs.evolve(result, index=number))
            if raised is not None:
                exits.append(raised)

        try:
            self.client.send([item.event for item in batch], on_result=report)
        except BaseException as exc:  # a refused token, a closed client: report, keep going
            logger.error("background send of %d events failed: %s", len(batch), exc)
            why = f"not sent: {type(exc).__name__}: {exc}"
            for position, item in enumerate(batch):  # those the send did not report
                report(EventResult(position, item.event.event_id, EventStatus.FAILED, why))
            if not isinstance(exc, Exception):
                exits.append(exc)
        return len(reported), exits[0] if exits else None

    def _claim(self, number: int) -> bool:
        """Take the right to report a sent event's result: True once per event."""
        with self._lock:
            return self._sending.pop(number, None) is not None

    def _deliver(self, result: EventResult) -> BaseException | None:
        """Call on_result; log what it raises; return it when it is an interpreter exit."""
        if self.on_result is None:
            return None
        try:
            self.on_result(result)
        except BaseException as exc:  # a callback must never strand the other results
            logger.exception(
                "on_result raised %s for event %s", type(exc).__name__, result.event_id
            )
            return None if isinstance(exc, Exception) else exc
        return None

    def _report_drop(self, item: _Queued, reason: str) -> BaseException | None:
        logger.warning("event %s %s", item.event.event_id, reason)
        return self._deliver(
            EventResult(item.number, item.event.event_id, EventStatus.FAILED, reason)
        )

    # ------------------------------------------------------------------ when the process ends

    def _stop_taking(self, ending: _Ending) -> None:
        """Drop what comes from now on (reported) and have the worker send what waits."""
        with self._lock:
            self._closing = True
            self._refusal = ending.refusal
            if self._queue and not self._worker_alive():
                self._start_worker()
            self._changed.notify_all()

    def _wait_delivered(self, deadline: float, hurry: threading.Event) -> None:
        """Wait until nothing is queued or being sent, the deadline passes, or ``hurry``."""
        with self._lock:
            while self._queue or self._working:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or hurry.is_set():
                    return
                self._changed.wait(min(remaining, _POLL))

    def _cut_off(self, ending: _Ending) -> list[_Lost]:
        """Report every event still queued or being sent ``FAILED``; return them.

        Each is logged at ``DEBUG`` only: the caller logs one summary for all of them.
        """
        with self._lock:
            self._closing = True
            self._refusal = ending.refusal
            lost = [_Lost(item, on_the_wire=True) for item in self._sending.values()]
            lost.extend(_Lost(item, on_the_wire=False) for item in self._queue)
            self._sending.clear()
            self._queue.clear()
            self._changed.notify_all()
        for item, on_the_wire in lost:
            reason = ending.on_the_wire if on_the_wire else ending.queued
            logger.debug("event %s %s", item.event.event_id, reason)
            # The process is ending: an interpreter exit from on_result has nowhere to go.
            self._deliver(EventResult(item.number, item.event.event_id, EventStatus.FAILED, reason))
        with self._lock:
            self._settled += len(lost)
            self._changed.notify_all()
        return lost

    def _after_fork(self) -> None:
        """In a forked child: forget the parent's queue and worker; start afresh.

        The client renews its own session there (any :class:`~snapcapi.Client` is fork-safe).
        """
        self._fresh_state()


def _seconds(name: str, value: object) -> float:
    """Check a finite number of seconds >= 0, naming the setting when it is wrong."""
    return read_seconds(name, value, zero=True)


def _limit(name: str, value: object) -> float | None:
    """Check a number of seconds >= 0, or None for no limit."""
    return None if value is None else read_seconds(name, value, zero=True, or_none="for no limit")


def _pass_on(interpreter_exit: BaseException) -> None:
    """In the worker, once the batch has its results: pass on what on_result raised.

    A worker thread cannot end the process: raised there, ``SystemExit`` would end only the
    worker (stranding the queue), so it is logged and the worker goes on. A
    ``KeyboardInterrupt`` goes to the main thread, as Ctrl-C would.
    """
    name = type(interpreter_exit).__name__
    if isinstance(interpreter_exit, KeyboardInterrupt):
        logger.warning(
            "on_result raised KeyboardInterrupt in the worker: passed on to the main thread"
        )
        _thread.interrupt_main()
        return
    logger.error(
        "on_result raised %s in the worker thread, which cannot end the process; "
        "the sender goes on",
        name,
    )


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


def _own_senders() -> list[BackgroundSender]:
    """List the senders of this process (not those a fork copied from the parent)."""
    return [sender for sender in list(_SENDERS) if sender._pid == os.getpid()]


def _close_all() -> None:
    """At interpreter exit: deliver what every sender holds; report what is left ``FAILED``."""
    senders = _own_senders()
    held = sum(sender.pending for sender in senders)
    if held:
        # Said before the wait: a SIGKILL during it (a process manager's grace period shorter
        # than close_timeout) leaves no other trace of what was at stake.
        logger.info(
            "at exit: delivering the %d events BackgroundSenders hold, within close_timeout "
            "(%ss); a SIGKILL before that loses the rest unreported",
            held,
            max(sender.close_timeout for sender in senders),
        )
    start = time.monotonic()
    cause = "close_timeout ran out"
    for sender in senders:
        try:
            sender._shut(sender.close_timeout)
        except KeyboardInterrupt:  # Ctrl-C again while exiting: stop waiting
            cause = "Ctrl-C cut the wait short"
            break
    lost = [cut for sender in senders for cut in sender._cut_off(_EXITED)]
    _summarize_lost("at exit", held, lost, f"{cause} after {time.monotonic() - start:.1f}s")


def _summarize_lost(when: str, held: int, lost: list[_Lost], cause: str) -> None:
    """Log one WARNING for every event a process ending cut off (each one is at DEBUG)."""
    if not lost:
        return
    on_the_wire = sum(1 for cut in lost if cut.on_the_wire)
    shown = [cut.item.event.event_id for cut in lost[:_IDS_SHOWN]]
    more = f" and {len(lost) - len(shown)} more" if len(lost) > len(shown) else ""
    logger.warning(
        "%s: %d of %d events waiting were not delivered (%s): %d not sent, %d interrupted while "
        "being sent (they may have reached Snap); each is reported FAILED through on_result, "
        "safe to resend (the event_id deduplicates); event ids: %s%s",
        when,
        len(lost),
        max(held, len(lost)),
        cause,
        len(lost) - on_the_wire,
        on_the_wire,
        ", ".join(shown),
        more,
    )


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


class _SigtermHandler:
    """Deliver what the senders hold on SIGTERM, then end the process by SIGTERM after all.

    Installed (and inherited by forked children) only from the main thread, only on POSIX,
    and only while SIGTERM has its default disposition, which is what the handler restores
    before sending SIGTERM again.
    """

    def __init__(self) -> None:
        self.running = False
        self.hurry = threading.Event()  # a second SIGTERM: stop waiting
        self.warned_pid = 0  # the process told already that SIGTERM would lose its queue

    def install(self) -> bool:
        """Handle SIGTERM if this is the main thread and nobody else does; say if it is ours."""
        if os.name != "posix":
            return False
        if threading.current_thread() is not threading.main_thread():
            self._warn_if_unhandled()  # signal.signal works only in the main thread
        else:
            with _hooks_lock:
                if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
                    # ValueError: the main thread of a subinterpreter, which cannot either.
                    with contextlib.suppress(ValueError):
                        signal.signal(signal.SIGTERM, self)
        return signal.getsignal(signal.SIGTERM) is self

    def _warn_if_unhandled(self) -> None:
        """Outside the main thread: say once per process that SIGTERM would lose the queue."""
        with _hooks_lock:
            if self.warned_pid == os.getpid():
                return
            if signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
                return  # ours, or the application's: it decides
            self.warned_pid = os.getpid()
        logger.warning(
            "BackgroundSender used outside the main thread (in thread %r) while SIGTERM has "
            "its default handling: Python installs signal handlers only from the main thread, "
            "so on SIGTERM the events senders hold would be lost, unreported. Call "
            "snapcapi.BackgroundSender.install_sigterm_handler() from the main thread at "
            "startup (before serving requests), or make the sender there. Said once per "
            "process.",
            threading.current_thread().name,
        )

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.running:
            self.hurry.set()
            return
        self.running = True
        try:
            _deliver_before_termination(self.hurry)
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)


def _deliver_before_termination(hurry: threading.Event) -> None:
    """On SIGTERM: let every sender deliver within its sigterm_timeout; report the rest."""
    senders = [sender for sender in _own_senders() if sender.handle_sigterm]
    start = time.monotonic()
    for sender in senders:  # all at once: their workers send side by side
        sender._stop_taking(_TERMINATED)
    held = sum(sender.pending for sender in senders)  # what comes from now on is dropped
    for sender in senders:
        sender._wait_delivered(start + sender.sigterm_timeout, hurry)
    lost = [cut for sender in senders for cut in sender._cut_off(_TERMINATED)]
    cause = "a second SIGTERM cut the wait short" if hurry.is_set() else "sigterm_timeout ran out"
    _summarize_lost("SIGTERM", held, lost, f"{cause} after {time.monotonic() - start:.1f}s")


_SIGTERM = _SigtermHandler()

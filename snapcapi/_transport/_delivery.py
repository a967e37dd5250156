"""Deliver one batch until every event in it has a final status.

:class:`BatchDelivery` posts a batch through the ``post`` callable it is handed, asks
:func:`~snapcapi._transport._judge.judge` what each answer means, and acts on the verdict:
settle the events, re-send the rest without a culprit Snap named, split a batch Snap found too
large, or, when Snap refused several events without naming one, send halves of halves
(breadth first) to isolate the bad events, within a budget of requests. It returns a
:class:`Delivered` value: the results, and the error that must stop the send (a refused
token, an asset id Snap does not know), if any. It never raises for Snap's answers. The events
of a request Snap accepted are settled as one :class:`~snapcapi.results.ResultRun`, not a
result object each.

The deliveries of one send share two signals: ``stopping`` (a :class:`threading.Event` the
pipeline sets when the send stops early; a delivery checks it between requests) and a
:class:`Brake`, applied once a batch's isolation found not one event Snap accepts: the refusal
is about the request, so the send's later refused batches are rejected whole, not split.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence

import attrs

from snapcapi._masking import plural
from snapcapi._transport._batching import Batch, Item, join_body
from snapcapi._transport._http import Response
from snapcapi._transport._judge import RESEND, Kind, Verdict, attempts_text, judge
from snapcapi.errors import AuthenticationError, SnapCapiError, UnknownAssetError
from snapcapi.results import EventResult, EventStatus, ResultRun

__all__ = ["BatchDelivery", "Brake", "Delivered", "DeliverySettings", "Post", "interrupted_reason"]

logger = logging.getLogger("snapcapi")

#: Posts a body to an asset id's endpoint: (asset_id, body) -> the answer after retries.
Post = Callable[[str, bytes], Response]


def interrupted_reason(why: str) -> str:
    """Say why an event on the wire when ``why`` happened is FAILED: it may have reached Snap."""
    return f"interrupted while being sent, {why}: it may have reached Snap{RESEND}"


@attrs.frozen
class DeliverySettings:
    """How hard one batch is worked on.

    Attributes:
        max_resends: Re-sends of a batch after Snap named (and so removed) a bad event.
        max_isolation_requests: Requests spent isolating the bad events of one batch Snap
            refused without naming them, after that first request (``k`` bad events among
            ``n`` take at most ``1 + 2·k·⌈log2 n⌉`` requests in all); events still unresolved
            then are ``REJECTED``. 0: isolation is off, such a batch is rejected whole.
        root: Root fields of every body (``,"test_event_code":...``).
        asset_settings: The setting that gave each asset id (``{"...": "pixel_id"}``), for
            the advice of an :class:`~snapcapi.errors.UnknownAssetError`.
        expect_logs: The batches go to the validate endpoint, whose answer judges each event
            in ``event_logs``: a 2xx without them proves nothing (see
            :func:`~snapcapi._transport._judge.judge`).
    """

    max_resends: int = 50
    max_isolation_requests: int = 250
    root: bytes = b""
    asset_settings: Mapping[str, str] = attrs.field(factory=dict)
    expect_logs: bool = False


#: A final result, or the results of events settled alike (see ResultStore.put_all).
Settled = EventResult | ResultRun


def expand(settled: Sequence[Settled]) -> list[EventResult]:
    """Spell out the results ``settled`` stands for, in order, each run's one by one."""
    results: list[EventResult] = []
    for entry in settled:
        if isinstance(entry, ResultRun):
            results.extend(entry)
        else:
            results.append(entry)
    return results


def _indexes(settled: Sequence[Settled]) -> set[int]:
    """Gather the input indexes of the events ``settled`` settles."""
    found: set[int] = set()
    for entry in settled:
        if isinstance(entry, ResultRun):
            found.update(item.index for item in entry.items)
        else:
            found.add(entry.index)
    return found


@attrs.frozen
class Delivered:
    """What became of one batch.

    Attributes:
        settled: One final result per event of the batch (fewer only when the send was
            stopping: :meth:`BatchDelivery.abandon` gives the rest), the events of each
            request Snap accepted as one :class:`~snapcapi.results.ResultRun`.
        stop: The error the send must raise (Snap refused the token or does not know the
            asset id; the token callable failed; the client was closed), or None.
    """

    settled: tuple[Settled, ...]
    stop: SnapCapiError | None = None

    @property
    def results(self) -> tuple[EventResult, ...]:
        """Every result of :attr:`settled`, runs spelled out, in the order they became final."""
        return tuple(expand(self.settled))


class Brake:
    """Whether a refusal of a whole request proved to be about the request (one per send).

    Applied when a batch's isolation ended without one event Snap accepts (every event
    refused on its own, or the budget spent with none accepted): Snap refuses the request,
    not its events (a bad ``test_event_code``, an asset that takes nothing), and splitting
    the send's later batches would only multiply the refused requests.
    """

    def __init__(self) -> None:
        self._applied = threading.Event()

    @property
    def applied(self) -> bool:
        """Whether an earlier batch of the send was isolated without any event accepted."""
        return self._applied.is_set()

    def apply(self) -> None:
        """Say that a batch's isolation found no event Snap accepts."""
        self._applied.set()


@attrs.frozen
class _Task:
    """Events to post together, and why.

    Attributes:
        items: The events.
        refusal: While isolating: Snap's verdict on the larger request these events were
            split from (what their results say should the isolation budget run out).
        group: The number of events of that larger request.
        resends: How often these events were re-sent after Snap named a culprit.
    """

    items: tuple[Item, ...]
    refusal: Verdict | None = None
    group: int = 0
    resends: int = 0

    def halves(self, refusal: Verdict | None, group: int) -> list[_Task]:
        half = len(self.items) // 2
        return [_Task(self.items[:half], refusal, group), _Task(self.items[half:], refusal, group)]


class BatchDelivery:
    """Deliver one batch: post, judge, act, until each event is settled.

    The work is a first-in first-out queue of requests to make, so that isolating goes
    breadth first: with its budget spent, the parts left unresolved are the smallest ones
    holding bad events, and every part found good on the way has been accepted.

    :meth:`run` works in one thread; :meth:`abandon` may be called from another while it does
    (the pipeline stopping the send), and finds every event somewhere: settled, on the wire,
    or waiting for a request.

    Args:
        batch: The events and the asset id they go to.
        post: Sends a body to the asset (retries included) and returns the answer.
        settings: Re-send and isolation bounds, root fields.
        clock: A monotonic clock, for the log line of each request.
        stopping: Set when the send stops early: no request is started after it is.
        brake: Shared by the batches of one send (see :class:`Brake`).
    """

    def __init__(
        self,
        batch: Batch,
        post: Post,
        settings: DeliverySettings,
        clock: Callable[[], float] = time.monotonic,
        *,
        stopping: threading.Event | None = None,
        brake: Brake | None = None,
    ) -> None:
        self._batch = batch
        self._post = post
        self._settings = settings
        self._clock = clock
        self._stopping = stopping if stopping is not None else threading.Event()
        self._brake = brake if brake is not None else Brake()
        # The HTTP requests that carried each event: those of the first request (the whole
        # batch), plus the later ones per event, so that a batch accepted at once is counted
        # without a loop over its events.
        self._first_attempts = 0
        self._posted = False  # whether the whole batch was posted (its first request)
        self._more_attempts: dict[int, int] = {}
        self._results: list[Settled] = []
        self._budget = settings.max_isolation_requests  # isolation requests left
        self._accepted = 0  # events of the batch Snap accepted so far
        self._isolated = False  # whether the batch was split to find unnamed bad events
        self._stop: SnapCapiError | None = None
        self._stop_reason = ""
        self._stop_verdict: Verdict | None = None  # Snap's answer that stopped the batch
        # What abandon() reads: guarded, so that it never sees an event in no place at all.
        self._lock = threading.Lock()
        self._queue = collections.deque([_Task(batch.items)])
        self._on_the_wire: _Task | None = None

    def run(self) -> Delivered:
        """Deliver the batch; return every event's result and the stop, if any.

        When the send is stopping, the requests not yet started are not made, and the results
        cover only the events settled (:meth:`abandon` gives the others theirs).
        """
        while (task := self._next()) is not None:
            follow = self._work(task)
            with self._lock:
                self._queue.extend(follow)
                self._on_the_wire = None
        if self._stop is not None:
            settled = _indexes(self._results)
            for item in self._batch.items:
                if item.index not in settled:
                    self._settle(item, EventStatus.FAILED, self._stop_reason, self._stop_verdict)
        elif self._refused_throughout():
            self._brake.apply()
        return Delivered(tuple(self._results), self._stop)

    def abandon(self, why: str) -> tuple[EventResult, ...]:
        """Give every event of the batch a result when the send stops before the batch ends.

        The results known stay as they are (events Snap accepted stay ``ACCEPTED``). Events
        on the wire are ``FAILED`` as interrupted (they may have reached Snap), events waiting
        for a request ``FAILED`` as not sent (again); every one keeps its ``event_id``.

        Args:
            why: Why the send stopped, as in ``"the send stopped early (KeyboardInterrupt)"``.
        """
        with self._lock:
            results = expand(self._results)
            on_the_wire = self._on_the_wire.items if self._on_the_wire is not None else ()
            waiting = [item for task in self._queue for item in task.items]
        settled = {result.index for result in results}
        interrupted = interrupted_reason(why)
        refused = (
            "not sent again: Snap refused the request that carried this event with others, "
            f"and {why} before it was sent again{RESEND}"
        )
        for item in on_the_wire:
            if item.index not in settled:
                settled.add(item.index)
                results.append(self._result(item, EventStatus.FAILED, interrupted, None))
        for item in waiting:
            if item.index not in settled:
                settled.add(item.index)
                sent = self._attempts_of(item.index)
                reason = refused if sent else f"not sent: {why}{RESEND}"
                results.append(self._result(item, EventStatus.FAILED, reason, None))
        return tuple(results)

    def _refused_throughout(self) -> bool:
        """Tell whether the batch was isolated to its end and Snap accepted none of it."""
        if not self._isolated or self._accepted or self._stopping.is_set():
            return False
        # Refused, not merely unreachable (parts that FAILED prove nothing).
        return any(entry.status is EventStatus.REJECTED for entry in self._results)

    # ------------------------------------------------------------------ the loop

    def _next(self) -> _Task | None:
        """Take the next request to make; None when done, stopped or stopping."""
        with self._lock:
            while self._queue and self._stop is None and not self._stopping.is_set():
                task = self._queue.popleft()
                if task.refusal is not None and self._budget <= 0:
                    self._give_up_isolating(task)
                    continue
                self._on_the_wire = task
                return task
            return None

    def _work(self, task: _Task) -> list[_Task]:
        """Post one task's events, act on the verdict; return the requests it leads to."""
        started, before = self._clock(), len(self._results)
        if task.refusal is not None:
            self._budget -= 1
        verdict = self._exchange(task.items)
        if verdict is None:
            return []
        follow = self._act(task, verdict)
        self._log(verdict, task.items, before, follow, self._clock() - started)
        return follow

    def _exchange(self, items: Sequence[Item]) -> Verdict | None:
        """Post ``items`` once (with retries) and judge the answer; None when stopped."""
        try:
            response = self._post(self._batch.asset_id, join_body(items, self._settings.root))
        except SnapCapiError as exc:  # the client closed, the token callable failed
            self._stop, self._stop_reason = exc, f"not sent: {exc}"
            return None
        if not self._posted and items is self._batch.items:
            self._posted = True
            self._first_attempts = response.attempts
        else:
            more = self._more_attempts
            for item in items:
                more[item.index] = more.get(item.index, 0) + response.attempts
        return judge(response, len(items), logs_expected=self._settings.expect_logs)

    def _act(self, task: _Task, verdict: Verdict) -> list[_Task]:
        """Settle what ``verdict`` decides; return the requests still to make."""
        kind, items = verdict.kind, task.items
        if kind is Kind.TOO_LARGE:  # its halves count against the budget, as isolation's do
            return task.halves(task.refusal or verdict, task.group or len(items))
        if kind is Kind.ISOLATE:
            return self._isolate(task, verdict)
        if kind is Kind.CULPRIT:
            return self._past_culprit(task, verdict)
        if kind is Kind.LOGS:
            self._settle_logs(items, verdict)
        elif kind is Kind.ACCEPTED:
            self._accept(items, verdict)
        elif kind is Kind.REJECTED:
            for item in items:
                self._reject(item, verdict)
        elif kind is Kind.UNKNOWN_ASSET:
            self._unknown_asset(verdict)  # run() settles the events with the stop's reason
        else:  # FAILED, REFUSED
            for item in items:
                self._settle(item, EventStatus.FAILED, verdict.reason, verdict)
            if kind is Kind.REFUSED:
                self._refused(verdict)
        return []

    def _isolate(self, task: _Task, verdict: Verdict) -> list[_Task]:
        """Split a request Snap refused without naming a bad event, unless that is useless."""
        n = len(task.items)
        if self._settings.max_isolation_requests == 0:
            why = (
                "isolation is off (max_isolation_requests=0), so this event may be fine: fix "
                "the bad events and resend"
            )
        elif self._brake.applied and not self._accepted:
            why = (
                "an earlier batch of this send was isolated event by event and Snap accepted "
                "none of its events: the refusal is about the request, not its events, so "
                "this batch was not split; fix what Snap says and resend"
            )
        else:
            self._isolated = True
            return task.halves(verdict, n)
        reason = (
            f"{verdict.reason}; Snap refused this request of {n} events without naming a bad "
            f"one, and {why} (safe: the event_id deduplicates)"
        )
        for item in task.items:
            self._reject(item, verdict, reason)
        return []

    def _past_culprit(self, task: _Task, verdict: Verdict) -> list[_Task]:
        """Reject the event Snap named; re-send the others, within ``max_resends``."""
        index = verdict.answer.event
        assert index is not None
        self._reject(task.items[index], verdict)
        rest = task.items[:index] + task.items[index + 1 :]
        if not rest:
            return []
        if task.resends < self._settings.max_resends:
            return [_Task(rest, task.refusal, task.group, task.resends + 1)]
        reason = (
            f"Snap rejected other events of this batch {task.resends + 1} times; gave up "
            f"re-sending the rest after {task.resends} re-sends (max_resends); safe to resend"
        )
        for item in rest:
            self._settle(item, EventStatus.FAILED, reason, verdict)
        return []

    # ------------------------------------------------------------------ results

    def _attempts_of(self, index: int) -> int:
        """Count the HTTP requests that carried the event of input index ``index`` so far."""
        return self._first_attempts + self._more_attempts.get(index, 0)

    def _result(
        self,
        item: Item,
        status: EventStatus,
        reason: str | None,
        verdict: Verdict | None,
        *,
        codes: tuple[str, ...] = (),
        messages: tuple[str, ...] = (),
        warnings: tuple[str, ...] = (),
    ) -> EventResult:
        return EventResult(
            item.index,
            item.event_id,
            status,
            reason,
            codes=codes,
            messages=messages,
            warnings=item.warnings + warnings,
            http_status=None if verdict is None else verdict.status,
            attempts=self._attempts_of(item.index),
            request_id=None if verdict is None else verdict.answer.request_id,
        )

    def _settle(
        self,
        item: Item,
        status: EventStatus,
        reason: str | None,
        verdict: Verdict | None,
        **details: tuple[str, ...],
    ) -> None:
        """Record an event's final result (``details``: its codes, messages, warnings)."""
        if status is EventStatus.ACCEPTED:
            self._accepted += 1
        self._results.append(self._result(item, status, reason, verdict, **details))

    def _accept(self, items: Sequence[Item], verdict: Verdict) -> None:
        # The common case, settled as one run: it runs for every request of a good upload.
        more = self._more_attempts
        counts = {more.get(item.index, 0) for item in items} if more else {0}
        status, request_id = verdict.status, verdict.answer.request_id
        self._accepted += len(items)
        if len(counts) == 1:  # every event carried by the same requests (always, but re-sends)
            attempts = self._first_attempts + counts.pop()
            self._results.append(
                ResultRun(items, EventStatus.ACCEPTED, status, attempts, request_id)
            )
            return
        accepted = EventStatus.ACCEPTED
        self._results.extend(
            EventResult(
                item.index, item.event_id, accepted, None, (), (), item.warnings, status,
                self._attempts_of(item.index), request_id,
            )
            for item in items
        )  # fmt: skip

    def _reject(self, item: Item, verdict: Verdict, reason: str | None = None) -> None:
        answer = verdict.answer
        self._settle(
            item,
            EventStatus.REJECTED,
            reason or verdict.reason,
            verdict,
            codes=answer.codes,
            messages=answer.messages,
        )

    def _settle_logs(self, items: Sequence[Item], verdict: Verdict) -> None:
        """Settle each event as the validate endpoint judged it."""
        for item, log in zip(items, verdict.logs, strict=True):
            if log is None:
                reason = f"Snap's answer gave no log with this event's index{RESEND}"
                self._settle(item, EventStatus.FAILED, reason, verdict)
                continue
            self._settle(
                item,
                EventStatus.ACCEPTED if log.valid else EventStatus.REJECTED,
                log.reason,
                verdict,
                codes=log.codes,
                messages=log.messages,
                warnings=log.warnings,
            )

    def _give_up_isolating(self, task: _Task) -> None:
        """Reject the events of a part left unresolved by a spent budget, blaming none.

        Snap's codes and messages are left out: they are about some other event of the group
        this one was refused in. The reason quotes the first message, as context.
        """
        refusal = task.refusal
        assert refusal is not None
        if refusal.kind is Kind.TOO_LARGE:
            self._give_up_splitting(task, refusal)
            return
        messages = refusal.answer.messages
        said = f"its first message: {messages[0]!r}" if messages else f"it said {refusal.reason}"
        reason = (
            f"not isolated: Snap refused a group of {task.group} events holding this one "
            f"without naming the bad ones ({said}), and isolating them stopped after "
            f"{self._settings.max_isolation_requests} requests (max_isolation_requests): "
            "this event may be fine; fix the bad events and resend them all (safe: the "
            "event_id deduplicates)"
        )
        for item in task.items:
            self._settle(item, EventStatus.REJECTED, reason, refusal)

    def _give_up_splitting(self, task: _Task, refusal: Verdict) -> None:
        """Fail the events of a part of a too-large request left unsent by a spent budget."""
        reason = (
            f"not sent: Snap found a request of {task.group} events holding this one too "
            f"large (HTTP {refusal.status}), and splitting it stopped after "
            f"{self._settings.max_isolation_requests} requests (max_isolation_requests); "
            f"send fewer or smaller events per batch (batch_size){RESEND}"
        )
        for item in task.items:
            self._settle(item, EventStatus.FAILED, reason, refusal)

    def _refused(self, verdict: Verdict) -> None:
        """Snap refused the token: stop this batch (and the send) with the error to raise."""
        status = verdict.status or 0
        answer = verdict.answer
        self._stop = AuthenticationError(
            f"Snap refused the access token (HTTP {status}): "
            f"{answer.reason or 'no reason given'}; check the token (SNAP_ACCESS_TOKEN) and "
            f"that it belongs to the organization owning asset {self._batch.asset_id}",
            status_code=status,
            codes=answer.codes,
            messages=answer.messages,
            request_id=answer.request_id,
        )
        self._stop_reason = f"not sent: Snap refused the access token (HTTP {status})"
        self._stop_verdict = verdict

    def _unknown_asset(self, verdict: Verdict) -> None:
        """Snap does not know the asset id: stop this batch (and the send) with the error."""
        asset = self._batch.asset_id
        setting = self._settings.asset_settings.get(asset)
        answer = verdict.answer
        self._stop = UnknownAssetError(
            asset,
            setting=setting,
            reason=answer.reason,
            status_code=verdict.status or 404,
            codes=answer.codes,
            messages=answer.messages,
            request_id=answer.request_id,
            from_snap=answer.status is not None or answer.reason is not None,
        )
        fix = setting or "the asset id"
        self._stop_reason = (
            f"not sent: Snap does not know asset id {asset!r} (HTTP {verdict.status}); "
            f"safe to resend once {fix} is fixed"
        )
        self._stop_verdict = verdict

    # ------------------------------------------------------------------ the log

    def _log(
        self,
        verdict: Verdict,
        items: Sequence[Item],
        before: int,
        follow: Sequence[_Task],
        seconds: float,
    ) -> None:
        """Write the one INFO line of a request: counts per status, HTTP status, attempts."""
        if not logger.isEnabledFor(logging.INFO):
            return
        counts = collections.Counter(r.status.value.lower() for r in expand(self._results[before:]))
        parts = [f"{name}={n}" for name, n in counts.items()]
        if verdict.kind is Kind.CULPRIT and follow:
            parts.append(f"re-sending {len(follow[0].items)}")
        elif follow:
            how = "isolating" if verdict.kind is Kind.ISOLATE else "splitting"
            parts.append(f"{how} {len(items)} in halves")
        logger.info(
            "batch to %s: %s, HTTP %s, %s, %.3fs: %s",
            self._batch.asset_id,
            plural(len(items), "event"),
            verdict.status if verdict.status is not None else "none (transport error)",
            attempts_text(verdict.attempts),
            seconds,
            ", ".join(parts),
        )

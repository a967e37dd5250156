"""Deliver one batch until every event in it has a final status.

:class:`BatchDelivery` posts a batch through the ``post`` callable it is handed, asks
:func:`~snapcapi._transport._judge.judge` what each answer means, and acts on the verdict:
settle the events, re-send the rest without a culprit Snap named, split a batch Snap found too
large, or, when Snap refused several events without naming one, send halves of halves
(breadth first) to isolate the bad events, within a budget of requests. It returns a
:class:`Delivered` value: the results, and the error that must stop the send (a refused
token), if any. It never raises for Snap's answers.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable, Sequence

import attrs

from snapcapi._transport._batching import Batch, Item, join_body
from snapcapi._transport._http import Response
from snapcapi._transport._judge import Kind, Verdict, attempts_text, judge
from snapcapi.errors import AuthenticationError, SnapCapiError
from snapcapi.results import EventResult, EventStatus

__all__ = ["BatchDelivery", "Delivered", "DeliverySettings", "Post"]

logger = logging.getLogger("snapcapi")

#: Posts a body to an asset id's endpoint: (asset_id, body) -> the answer after retries.
Post = Callable[[str, bytes], Response]


@attrs.frozen
class DeliverySettings:
    """How hard one batch is worked on.

    Attributes:
        max_resends: Re-sends of a batch after Snap named (and so removed) a bad event.
        max_isolation_requests: Requests spent isolating the bad events of one batch Snap
            refused without naming them; events still unresolved then are ``REJECTED``.
        root: Root fields of every body (``,"test_event_code":...``).
    """

    max_resends: int = 50
    max_isolation_requests: int = 100
    root: bytes = b""


@attrs.frozen
class Delivered:
    """What became of one batch.

    Attributes:
        results: One final result per event of the batch.
        stop: The error the send must raise (Snap refused the token; the token callable
            failed; the client was closed), or None.
    """

    results: tuple[EventResult, ...]
    stop: SnapCapiError | None = None


@attrs.frozen
class _Task:
    """Events to post together, and why.

    Attributes:
        items: The events.
        refusal: While isolating: Snap's verdict on the larger request these events were
            split from (what their results say should the isolation budget run out).
        resends: How often these events were re-sent after Snap named a culprit.
    """

    items: tuple[Item, ...]
    refusal: Verdict | None = None
    resends: int = 0

    def halves(self, refusal: Verdict | None) -> list[_Task]:
        half = len(self.items) // 2
        return [_Task(self.items[:half], refusal), _Task(self.items[half:], refusal)]


class BatchDelivery:
    """Deliver one batch: post, judge, act, until each event is settled.

    The work is a first-in first-out queue of requests to make, so that isolating goes
    breadth first: with its budget spent, the parts left unresolved are the smallest ones
    holding bad events, and every part found good on the way has been accepted.

    Args:
        batch: The events and the asset id they go to.
        post: Sends a body to the asset (retries included) and returns the answer.
        settings: Re-send and isolation bounds, root fields.
        clock: A monotonic clock, for the log line of each request.
    """

    def __init__(
        self,
        batch: Batch,
        post: Post,
        settings: DeliverySettings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._batch = batch
        self._post = post
        self._settings = settings
        self._clock = clock
        self._attempts = dict.fromkeys((item.index for item in batch.items), 0)
        self._results: list[EventResult] = []
        self._budget = settings.max_isolation_requests  # isolation requests left
        self._stop: SnapCapiError | None = None
        self._stop_reason = ""
        self._stop_verdict: Verdict | None = None  # Snap's answer that stopped the batch

    def run(self) -> Delivered:
        """Deliver the batch; return every event's result and the stop, if any."""
        queue = collections.deque([_Task(self._batch.items)])
        while queue and self._stop is None:
            task = queue.popleft()
            if task.refusal is not None and self._budget <= 0:
                self._give_up_isolating(task.items, task.refusal)
                continue
            queue.extend(self._work(task))
        if self._stop is not None:
            settled = {result.index for result in self._results}
            for item in self._batch.items:
                if item.index not in settled:
                    self._settle(item, EventStatus.FAILED, self._stop_reason, self._stop_verdict)
        return Delivered(tuple(self._results), self._stop)

    # ------------------------------------------------------------------ the loop

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
        for item in items:
            self._attempts[item.index] += response.attempts
        return judge(response, len(items))

    def _act(self, task: _Task, verdict: Verdict) -> list[_Task]:
        """Settle what ``verdict`` decides; return the requests still to make."""
        kind, items = verdict.kind, task.items
        if kind is Kind.TOO_LARGE:
            return task.halves(task.refusal)
        if kind is Kind.ISOLATE:
            return task.halves(verdict)
        if kind is Kind.CULPRIT:
            return self._past_culprit(task, verdict)
        if kind is Kind.LOGS:
            self._settle_logs(items, verdict)
        elif kind is Kind.ACCEPTED:
            self._accept(items, verdict)
        elif kind is Kind.REJECTED:
            for item in items:
                self._reject(item, verdict)
        else:  # FAILED, REFUSED
            for item in items:
                self._settle(item, EventStatus.FAILED, verdict.reason, verdict)
            if kind is Kind.REFUSED:
                self._refused(verdict)
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
            return [_Task(rest, task.refusal, task.resends + 1)]
        reason = (
            f"Snap rejected other events of this batch {task.resends + 1} times; gave up "
            f"re-sending the rest after {task.resends} re-sends (max_resends); safe to resend"
        )
        for item in rest:
            self._settle(item, EventStatus.FAILED, reason, verdict)
        return []

    # ------------------------------------------------------------------ results

    def _settle(
        self,
        item: Item,
        status: EventStatus,
        reason: str | None,
        verdict: Verdict | None,
        *,
        codes: tuple[str, ...] = (),
        messages: tuple[str, ...] = (),
        warnings: tuple[str, ...] = (),
    ) -> None:
        self._results.append(
            EventResult(
                item.index,
                item.event_id,
                status,
                reason,
                codes=codes,
                messages=messages,
                warnings=item.warnings + warnings,
                http_status=None if verdict is None else verdict.status,
                attempts=self._attempts[item.index],
                request_id=None if verdict is None else verdict.answer.request_id,
            )
        )

    def _accept(self, items: Sequence[Item], verdict: Verdict) -> None:
        # The common case, built in one pass: it runs for every event of a good upload.
        status, request_id, attempts = verdict.status, verdict.answer.request_id, self._attempts
        accepted = EventStatus.ACCEPTED
        self._results.extend(
            EventResult(
                item.index, item.event_id, accepted, None, (), (), item.warnings, status,
                attempts[item.index], request_id,
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
                reason = "Snap's answer did not cover this event"
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

    def _give_up_isolating(self, items: Sequence[Item], refusal: Verdict) -> None:
        budget = self._settings.max_isolation_requests
        reason = (
            f"{refusal.reason}; Snap refused a request holding this event without naming the "
            f"bad events, and isolating them stopped after {budget} requests "
            "(max_isolation_requests): this event may be fine; fix the bad ones and resend "
            "(safe: the event_id deduplicates)"
        )
        for item in items:
            self._reject(item, refusal, reason)

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
        counts = collections.Counter(r.status.value.lower() for r in self._results[before:])
        parts = [f"{name}={n}" for name, n in counts.items()]
        if verdict.kind is Kind.CULPRIT and follow:
            parts.append(f"re-sending {len(follow[0].items)}")
        elif follow:
            how = "isolating" if verdict.kind is Kind.ISOLATE else "splitting"
            parts.append(f"{how} {len(items)} in halves")
        logger.info(
            "batch to %s: %d events, HTTP %s, %s, %.3fs: %s",
            self._batch.asset_id,
            len(items),
            verdict.status if verdict.status is not None else "none (transport error)",
            attempts_text(verdict.attempts),
            seconds,
            ", ".join(parts),
        )

"""The send pipeline: read events lazily, batch them, keep requests in flight, record results.

:class:`SendPipeline` is handed its collaborators and reaches back into nothing: ``prepare``
checks and encodes one event (:class:`~snapcapi._transport._prepare.Preparer`), ``deliver``
works one batch to the end (:class:`~snapcapi._transport._delivery.BatchDelivery`) and returns
a :class:`~snapcapi._transport._delivery.Delivered` value. A delivery that must stop the send
(a refused token) says so in that value, and the pipeline raises its error once, with
``.result`` holding a result for every event read.
"""

from __future__ import annotations

import collections
import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import attrs

from snapcapi._transport._batching import Batch, Batcher, Item
from snapcapi._transport._delivery import Delivered
from snapcapi._transport._prepare import MissingAsset, Prepared
from snapcapi.errors import SnapCapiError
from snapcapi.results import EventResult, EventStatus, ResultStore, SendResult

__all__ = ["PipelineSettings", "SendPipeline"]

logger = logging.getLogger("snapcapi")

#: Where the result of a send that stopped early goes on exceptions that are not snapcapi's.
RESULT_ATTRIBUTE = "snapcapi_result"


@attrs.frozen
class PipelineSettings:
    """Batch limits and concurrency of one send.

    Attributes:
        batch_size: Events per request.
        max_batch_bytes: Bytes of JSON per request.
        max_workers: Requests in flight at once (threads); 1 sends from the calling thread.
        root_bytes: Bytes the body's root fields add to every request.
    """

    batch_size: int
    max_batch_bytes: int
    max_workers: int = 1
    root_bytes: int = 0


class SendPipeline:
    """Stream events through preparation, batching and delivery into one result per event.

    Args:
        prepare: Judges one event at a moment: ``(index, event, now) -> Prepared``.
        deliver: Delivers one batch to the end.
        settings: Batch limits and concurrency.
        now: The wall clock each event is judged against, as it is about to be sent.
    """

    def __init__(
        self,
        prepare: Callable[[int, Any, float], Prepared],
        deliver: Callable[[Batch], Delivered],
        settings: PipelineSettings,
        now: Callable[[], float],
    ) -> None:
        self._prepare = prepare
        self._deliver = deliver
        self._settings = settings
        self._now = now

    def run(
        self,
        events: Iterable[Any],
        on_result: Callable[[EventResult], object] | None = None,
        keep_results: bool = True,
    ) -> SendResult:
        """Send every event; return one result per input event, in input order.

        Raises:
            SnapCapiError: A delivery stopped the send (a refused token) or an event needs an
                asset id the client lacks; ``.result`` holds the statuses reached.
        """
        run = _Run(self, ResultStore(on_result, keep=keep_results))
        try:
            run.read(iter(events))
            run.finish()
        except BaseException as exc:
            run.stop_early(exc)
            raise
        run.close(wait=True)
        return SendResult.from_store(run.store)


class _Run:
    """The state of one :meth:`SendPipeline.run`: batches filling, sending and in flight."""

    def __init__(self, pipeline: SendPipeline, store: ResultStore) -> None:
        settings = pipeline._settings
        self.prepare = pipeline._prepare
        self.deliver = pipeline._deliver
        self.now = pipeline._now
        self.settings = settings
        self.store = store
        self.batcher = Batcher(settings.batch_size, settings.max_batch_bytes, settings.root_bytes)
        self.workers = settings.max_workers
        self.pool = ThreadPoolExecutor(self.workers) if self.workers > 1 else None
        self.in_flight: collections.deque[tuple[Batch, Future[Delivered]]] = collections.deque()
        self.sending: list[Batch] = []  # the batch being posted from this thread, if any
        self.waiting: list[Batch] = []  # the batch waiting for a free worker, if any

    # ------------------------------------------------------------------ the way through

    def read(self, iterator: Iterator[Any]) -> None:
        """Read, prepare and batch every event; dispatch the batches that fill up."""
        index = -1
        reserve, prepare, now, add = self.store.reserve, self.prepare, self.now, self.add
        while True:
            try:
                event = next(iterator)
            except StopIteration:
                return
            except Exception as exc:
                # The input broke: deliver every event read before it, then re-raise.
                self.finish()
                logger.warning(
                    "the events iterable raised %s after %d events; those were delivered",
                    type(exc).__name__,
                    index + 1,
                )
                raise
            index = reserve()
            # Judged against the clock now, as it is about to be sent (a long upload must not
            # send an event that aged out while earlier ones were going).
            add(index, prepare(index, event, now()))

    def add(self, index: int, prepared: Prepared) -> None:
        """Record a final result, or batch the item (dispatching full batches)."""
        if isinstance(prepared, EventResult):
            self.store.put(prepared)
            return
        if isinstance(prepared, MissingAsset):
            self.store.put(prepared.result)
            raise prepared.error
        asset, item = prepared
        if not self.batcher.fits_alone(item):
            too_large = f"the event is larger than max_batch_bytes ({self.batcher.max_bytes})"
            self.store.put(EventResult(index, item.event_id, EventStatus.INVALID, too_large))
            return
        for batch in self.batcher.add(asset, item):
            self.dispatch(batch)

    def dispatch(self, batch: Batch) -> None:
        """Deliver a batch here, or hand it to a worker once one is free."""
        if self.pool is None:
            self.sending.append(batch)
            delivered = self.deliver(batch)
            self.sending.clear()
            self.settle(delivered)
            return
        self.waiting.append(batch)
        while len(self.in_flight) >= self.workers:
            self.settle(self.in_flight.popleft()[1].result())
        self.in_flight.append((batch, self.pool.submit(self.deliver, batch)))
        self.waiting.clear()

    def settle(self, delivered: Delivered) -> None:
        """Record a batch's results; raise its stop, if it has one."""
        for result in delivered.results:
            self.store.put(result)
        if delivered.stop is not None:
            raise delivered.stop

    def finish(self) -> None:
        """Dispatch the partly filled batches and wait for every batch in flight."""
        for batch in self.batcher.flush():
            self.dispatch(batch)
        while self.in_flight:
            self.settle(self.in_flight.popleft()[1].result())

    def close(self, *, wait: bool) -> None:
        """Shut the worker pool down (not waiting for requests on the wire unless ``wait``)."""
        if self.pool is not None:
            self.pool.shutdown(wait=wait, cancel_futures=True)

    # ------------------------------------------------------------------ stopping early

    def stop_early(self, exc: BaseException) -> None:
        """Give every event read a result when the send stops early; attach them to ``exc``.

        Requests already on the wire finish (unless the stop is a ``KeyboardInterrupt`` or
        ``SystemExit``); batches not yet posted are not posted, and their events are
        ``FAILED`` (safe to resend). The result is ``exc.result`` for snapcapi's own errors and
        ``exc.snapcapi_result`` for any other exception.
        """
        unsent, interrupted = self._collect_in_flight(exc)
        unsent.extend(item for batch in self.batcher.flush() for item in batch.items)
        unsent.extend(item for batch in self.waiting for item in batch.items)
        interrupted.extend(item for batch in self.sending for item in batch.items)
        stopped = f"the send stopped early ({type(exc).__name__})"
        self._fail(
            interrupted,
            f"interrupted while being sent, {stopped}: it may have reached Snap; safe to "
            "resend (the event_id deduplicates)",
        )
        self._fail(unsent, f"not sent: {stopped}")
        for index in self.store.pending():  # a safety net: no event read goes unreported
            self.store.put(EventResult(index, None, EventStatus.FAILED, f"not sent: {stopped}"))
        # On Ctrl-C, do not wait for requests on the wire: their events are reported.
        self.close(wait=isinstance(exc, Exception))
        result = SendResult.from_store(self.store)
        if isinstance(exc, SnapCapiError):
            exc.result = result
        else:
            with contextlib.suppress(AttributeError, TypeError):  # a type that takes none
                setattr(exc, RESULT_ATTRIBUTE, result)
        logger.warning(
            "send stopped early (%s): %s",
            type(exc).__name__,
            ", ".join(f"{name.lower()}={n}" for name, n in result.counts.items() if n),
        )

    def _collect_in_flight(self, exc: BaseException) -> tuple[list[Item], list[Item]]:
        """Record what the batches in flight settled; return their unsent and cut-off items."""
        for _, future in self.in_flight:
            future.cancel()
        unsent: list[Item] = []
        interrupted: list[Item] = []
        for batch, future in self.in_flight:
            if future.cancelled():
                unsent.extend(batch.items)
                continue
            if not isinstance(exc, Exception) and not future.done():
                interrupted.extend(batch.items)
                continue
            try:
                delivered = future.result()
            except BaseException:  # a delivery that broke: its events may have gone
                interrupted.extend(batch.items)
                continue
            for result in delivered.results:  # its own stop, if any, is not raised again
                if self.store.is_pending(result.index):
                    self.store.put(result)
        self.in_flight.clear()
        return unsent, interrupted

    def _fail(self, items: list[Item], reason: str) -> None:
        for item in items:
            if self.store.is_pending(item.index):
                self.store.put(
                    EventResult(
                        item.index,
                        item.event_id,
                        EventStatus.FAILED,
                        reason,
                        warnings=item.warnings,
                    )
                )

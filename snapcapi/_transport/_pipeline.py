"""The send pipeline: read events lazily, batch them, keep requests in flight, record results.

:class:`SendPipeline` is handed its collaborators and reaches back into nothing: ``prepare``
checks and encodes one event (:class:`~snapcapi._transport._prepare.Preparer`), ``start``
makes the :class:`Delivery` of one batch (a
:class:`~snapcapi._transport._delivery.BatchDelivery`), whose ``run`` works the batch to the end
and returns a :class:`~snapcapi._transport._delivery.Delivered` value. A delivery that must
stop the send (a refused token, an unknown asset id) says so in that value, and the pipeline
raises its error once, with ``.result`` holding a result for every event read.

When the send stops early (that error, a missing asset id, the input raising, ``on_result``
raising, Ctrl-C), the pipeline sets ``stopping``, which the deliveries check between requests,
and asks each unfinished delivery to :meth:`~Delivery.abandon`: what Snap decided stays, only
events whose fate is unknown are reported as interrupted.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from typing import Any, Protocol

import attrs

from snapcapi._transport._batching import Batch, Batcher, Item
from snapcapi._transport._delivery import Delivered
from snapcapi._transport._judge import RESEND
from snapcapi._transport._prepare import MissingAsset, Prepared
from snapcapi.errors import SnapCapiError
from snapcapi.results import EventResult, EventStatus, ResultStore, SendResult

__all__ = ["Delivery", "PipelineSettings", "SendPipeline"]

logger = logging.getLogger("snapcapi")

#: Where the result of a send that stopped early goes on exceptions that are not snapcapi's.
RESULT_ATTRIBUTE = "snapcapi_result"


class Delivery(Protocol):
    """The work on one batch, as the pipeline sees it."""

    def run(self) -> Delivered:
        """Deliver the batch to the end (or until the send is stopping)."""

    def abandon(self, why: str) -> Sequence[EventResult]:
        """Give every event of the batch a result, the known ones as they are."""


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


@attrs.frozen
class SendPipeline:
    """Stream events through preparation, batching and delivery into one result per event.

    One pipeline serves one send.

    Attributes:
        prepare: Judges one event at a moment: ``(index, event, now) -> Prepared``.
        start: Makes the delivery of one batch.
        settings: Batch limits and concurrency.
        now: The wall clock each event is judged against, as it is about to be sent.
        stopping: Set when the send stops early; the deliveries ``start`` makes must watch it.
    """

    prepare: Callable[[int, Any, float], Prepared]
    start: Callable[[Batch], Delivery]
    settings: PipelineSettings
    now: Callable[[], float]
    stopping: threading.Event = attrs.field(factory=threading.Event)

    def run(
        self,
        events: Iterable[Any],
        on_result: Callable[[EventResult], object] | None = None,
        keep_results: bool = True,
    ) -> SendResult:
        """Send every event; return one result per input event, in input order.

        Raises:
            SnapCapiError: A delivery stopped the send (a refused token, an asset id Snap does
                not know) or an event needs an asset id the client lacks; ``.result`` holds
                the statuses reached.
            Exception: What ``on_result`` or the input raised, with ``.snapcapi_result``.
        """
        run = _Run(self, ResultStore(on_result, keep=keep_results))
        try:
            run.read(iter(events))
            run.finish()
            run.close(wait=True)  # an interrupt while the workers wind down is an early stop too
        except BaseException as exc:
            run.stop_early(exc)
            raise
        return SendResult.from_store(run.store)


class _Run:
    """The state of one :meth:`SendPipeline.run`: batches filling, sending and in flight."""

    def __init__(self, pipeline: SendPipeline, store: ResultStore) -> None:
        settings = pipeline.settings
        self.pipeline = pipeline
        self.store = store
        self.batcher = Batcher(settings.batch_size, settings.max_batch_bytes, settings.root_bytes)
        self.workers = settings.max_workers
        self.pool = ThreadPoolExecutor(self.workers) if self.workers > 1 else None
        self.in_flight: collections.deque[tuple[Delivery, Future[Delivered]]] = collections.deque()
        # The delivery this thread runs, records or is handing to a worker (not yet listed in
        # flight), if any: a stop finds it here whatever instant it comes at.
        self.here: list[Delivery] = []
        self.waiting: list[Batch] = []  # the batch waiting for a free worker, if any
        self.reading: Any = None  # the input event being read and prepared

    # ------------------------------------------------------------------ the way through

    def read(self, iterator: Iterator[Any]) -> None:
        """Read, prepare and batch every event; dispatch the batches that fill up.

        An item that fits in its asset's open batch (the common case) is batched here, in
        :meth:`Batcher.offer`'s one look-up; anything else goes through :meth:`add`.
        """
        index = -1
        reserve, add, offer = self.store.reserve, self.add, self.batcher.offer
        prepare, now = self.pipeline.prepare, self.pipeline.now
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
            self.reading = event  # its id is reported should the send stop before it is batched
            index = reserve()
            # Judged against the clock now, as it is about to be sent (a long upload must not
            # send an event that aged out while earlier ones were going).
            prepared = prepare(index, event, now())
            if type(prepared) is tuple:
                full = offer(*prepared)
                if full:
                    for batch in full:
                        self.dispatch(batch)
                elif full is None:
                    self.too_large(index, prepared[1])
                continue
            add(index, prepared)

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
            self.too_large(index, item)
            return
        for batch in self.batcher.add(asset, item):
            self.dispatch(batch)

    def too_large(self, index: int, item: Item) -> None:
        """Record an event too large for any request as ``INVALID``."""
        too_large = f"the event is larger than max_batch_bytes ({self.batcher.max_bytes})"
        self.store.put(EventResult(index, item.event_id, EventStatus.INVALID, too_large))

    def dispatch(self, batch: Batch) -> None:
        """Deliver a batch here, or hand it to a worker once one is free."""
        if self.pool is None:
            delivery = self.pipeline.start(batch)
            self.here.append(delivery)
            self.record(delivery.run())
            self.here.clear()
            return
        self.waiting.append(batch)
        while len(self.in_flight) >= self.workers:
            self.collect()
        delivery = self.pipeline.start(batch)
        # Held here from before the worker may start it until it is listed in flight: an
        # interrupt in between (submit waits for a new thread to start) must not report a
        # batch on the wire as not sent.
        self.here.append(delivery)
        self.waiting.clear()
        self.in_flight.append((delivery, self.pool.submit(delivery.run)))
        self.here.clear()

    def collect(self) -> None:
        """Wait for the oldest batch in flight and record it (it stays listed until then)."""
        _, future = self.in_flight[0]
        self.record(future.result())
        self.in_flight.popleft()

    def record(self, delivered: Delivered) -> None:
        """Record a batch's results, all of them; then raise on_result's error, or the stop."""
        error = self.store.put_all(delivered.settled)
        if error is not None:
            raise error
        if delivered.stop is not None:
            raise delivered.stop

    def finish(self) -> None:
        """Dispatch the partly filled batches and wait for every batch in flight."""
        for batch in self.batcher.flush():
            self.dispatch(batch)
        while self.in_flight:
            self.collect()

    def close(self, *, wait: bool) -> None:
        """Shut the worker pool down (not waiting for requests on the wire unless ``wait``)."""
        if self.pool is not None:
            self.pool.shutdown(wait=wait, cancel_futures=True)

    # ------------------------------------------------------------------ stopping early

    def stop_early(self, exc: BaseException) -> None:
        """Give every event read a result when the send stops early; attach them to ``exc``.

        No request starts from now on. Requests already on the wire finish and their batches
        keep what Snap decided (unless the stop is a ``KeyboardInterrupt`` or ``SystemExit``,
        which waits for nothing: events on the wire are then interrupted, safe to resend).
        Batches not yet posted are not posted, and their events are ``FAILED`` (safe to
        resend). ``on_result`` hears of every result once, and what it raises now is ignored.
        The result is ``exc.result`` for snapcapi's own errors and ``exc.snapcapi_result``
        for any other exception.
        """
        self.pipeline.stopping.set()
        wait = isinstance(exc, Exception)
        why = f"the send stopped early ({type(exc).__name__})"
        for _, future in self.in_flight:
            future.cancel()
        if wait:
            wait_for([future for _, future in self.in_flight])
        for delivery in [delivery for delivery, _ in self.in_flight] + self.here:
            self.put_quietly(delivery.abandon(why))
        self.in_flight.clear()
        batches = [*self.batcher.flush(), *self.batcher.handed, *self.waiting]
        unsent = [item for batch in batches for item in batch.items]
        self.put_quietly(self._failed(unsent, f"not sent: {why}{RESEND}"))
        # The event being read and prepared when the stop came, not yet batched.
        self.put_quietly(self._unread(f"not sent: {why}{RESEND}"))
        self.close(wait=wait)
        self._attach(exc, SendResult.from_store(self.store))

    def put_quietly(self, results: Iterable[EventResult]) -> None:
        """Record the results of events still pending; on_result's errors are not raised now."""
        error = self.store.put_all(r for r in results if self.store.is_pending(r.index))
        if error is not None:
            logger.debug("on_result raised %s again while stopping", type(error).__name__)

    def _unread(self, reason: str) -> Iterator[EventResult]:
        """Report the events read but in no batch: the one being prepared (with its id)."""
        event_id = getattr(self.reading, "event_id", None)
        last = len(self.store) - 1
        for index in self.store.pending():
            known = event_id if index == last and isinstance(event_id, str) else None
            yield EventResult(index, known, EventStatus.FAILED, reason)

    @staticmethod
    def _failed(items: Iterable[Item], reason: str) -> Iterator[EventResult]:
        for item in items:
            yield EventResult(
                item.index, item.event_id, EventStatus.FAILED, reason, warnings=item.warnings
            )

    @staticmethod
    def _attach(exc: BaseException, result: SendResult) -> None:
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

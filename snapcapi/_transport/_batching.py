"""Split a stream of encoded events into request-sized batches, one stream per asset id.

Pure bookkeeping, no I/O: the client feeds events one at a time and gets back the batches that
became full; :meth:`Batcher.flush` returns what is left at the end. A batch never holds more
than ``max_events`` events nor more than ``max_bytes`` of JSON body, and events keep their
input order within their asset's stream.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import attrs

__all__ = ["Batch", "Batcher", "Item", "body_size", "join_body"]

_OPEN = b'{"data":['
_CLOSE = b"]}"


@attrs.define(eq=True)
class Item:
    """One event ready to send: its input index, id and encoded JSON object.

    Slotted and not frozen (a frozen attrs class pays a ``object.__setattr__`` per field): one
    is made for every event sent, and nothing changes an item once made.
    """

    index: int
    event_id: str
    # Out of the repr: the body holds the user's IP address, user agent and page URL, and a
    # repr reaches error trackers that capture local variables.
    encoded: bytes = attrs.field(repr=False)
    warnings: tuple[str, ...] = ()


@attrs.frozen
class Batch:
    """Events bound for one asset id in one request."""

    asset_id: str
    items: tuple[Item, ...]


def body_size(items: Sequence[Item], extra: int = 0) -> int:
    """Bytes of the body :func:`join_body` makes of ``items`` (``extra``: root fields)."""
    return len(_OPEN) + len(_CLOSE) + sum(len(i.encoded) for i in items) + len(items) - 1 + extra


def join_body(items: Sequence[Item], root: bytes = b"") -> bytes:
    """Assemble ``{"data":[...]}`` from encoded events; ``root`` is ``,"key":value`` text.

    The body is copied once: the envelope is glued to the first and last fragments (small),
    and one join lays every fragment down in place.
    """
    if not items:
        return _OPEN + b"]" + root + b"}"
    parts = [item.encoded for item in items]
    parts[0] = _OPEN + parts[0]
    parts[-1] = parts[-1] + b"]" + root + b"}"
    return b",".join(parts)


class _Open:
    """The batch filling up for one asset id: its items and the body size they make."""

    __slots__ = ("items", "size")

    def __init__(self, size: int) -> None:
        self.items: list[Item] = []
        self.size = size


#: What an add that completes no batch hands out (shared: nobody adds to it).
_NONE: tuple[Batch, ...] = ()


class Batcher:
    """Accumulate items per asset id and hand out full batches.

    Attributes:
        handed: The batches the last :meth:`add` (or :meth:`offer`) handed out (or is handing
            out): from the moment it takes an item until the next one, the item is in an open
            batch or here, so that a caller stopped by an interrupt before it recorded the
            batches returned still finds them.
    """

    def __init__(self, max_events: int, max_bytes: int, root_bytes: int = 0) -> None:
        self.max_events = max_events
        self.max_bytes = max_bytes
        self._root = root_bytes
        self._empty = len(_OPEN) + len(_CLOSE) + root_bytes - 1  # the size of no items, less 1
        self._open: dict[str, _Open] = {}
        self.handed: Sequence[Batch] = []

    def fits_alone(self, item: Item) -> bool:
        """Tell whether a single event fits in a request at all."""
        return self._empty + 1 + len(item.encoded) <= self.max_bytes

    def add(self, asset_id: str, item: Item) -> list[Batch]:
        """Add an item; return the batches it completes or displaces (usually none)."""
        full: list[Batch] = []
        self.handed = full  # each batch goes here before its items leave the open one
        self._add(asset_id, item, full)
        return full

    def offer(self, asset_id: str, item: Item) -> Sequence[Batch] | None:
        """Add an item that fits alone, as :meth:`add`; None (and nothing added) if it does not.

        The common case, an item that fits in its asset's open batch without filling it,
        costs one dictionary look-up and no new object.
        """
        size = len(item.encoded) + 1
        batch = self._open.get(asset_id)
        if batch is not None:
            grown = batch.size + size
            items = batch.items
            if grown <= self.max_bytes and len(items) + 1 < self.max_events:
                self.handed = _NONE
                items.append(item)
                batch.size = grown
                return _NONE
        if self._empty + size > self.max_bytes:
            return None
        return self.add(asset_id, item)

    def _add(self, asset_id: str, item: Item, full: list[Batch]) -> None:
        batch = self._open.get(asset_id)
        if batch is None:
            batch = self._open[asset_id] = _Open(self._empty)
        items = batch.items
        grown = batch.size + len(item.encoded) + 1
        if items and grown > self.max_bytes:
            full.append(Batch(asset_id, tuple(items)))
            items.clear()
            grown = self._empty + len(item.encoded) + 1
        items.append(item)
        batch.size = grown
        if len(items) >= self.max_events:
            full.append(Batch(asset_id, tuple(items)))
            items.clear()
            batch.size = self._empty

    def flush(self) -> Iterator[Batch]:
        """Hand out every partly filled batch, then start afresh."""
        for asset_id, batch in self._open.items():
            if batch.items:
                yield Batch(asset_id, tuple(batch.items))
        self._open.clear()

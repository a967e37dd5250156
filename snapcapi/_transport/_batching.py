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


@attrs.frozen
class Item:
    """One event ready to send: its input index, id and encoded JSON object."""

    index: int
    event_id: str
    encoded: bytes
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
    """Assemble ``{"data":[...]}`` from encoded events; ``root`` is ``,"key":value`` text."""
    return _OPEN + b",".join(item.encoded for item in items) + b"]" + root + b"}"


class Batcher:
    """Accumulate items per asset id and hand out full batches.

    Attributes:
        handed: The batches the last :meth:`add` handed out (or is handing out): from the
            moment ``add`` takes an item until the next ``add``, the item is in an open batch
            or here, so that a caller stopped by an interrupt before it recorded the batches
            ``add`` returned still finds them.
    """

    def __init__(self, max_events: int, max_bytes: int, root_bytes: int = 0) -> None:
        self.max_events = max_events
        self.max_bytes = max_bytes
        self._root = root_bytes
        self._open: dict[str, list[Item]] = {}
        self._sizes: dict[str, int] = {}
        self.handed: list[Batch] = []

    def fits_alone(self, item: Item) -> bool:
        """Tell whether a single event fits in a request at all."""
        return len(_OPEN) + len(_CLOSE) + self._root + len(item.encoded) <= self.max_bytes

    def add(self, asset_id: str, item: Item) -> list[Batch]:
        """Add an item; return the batches it completes or displaces (usually none)."""
        items = self._open.setdefault(asset_id, [])
        size = self._sizes.get(asset_id, len(_OPEN) + len(_CLOSE) + self._root - 1)
        grown = size + len(item.encoded) + 1
        full: list[Batch] = []
        self.handed = full  # each batch goes here before its items leave the open one
        if items and grown > self.max_bytes:
            full.append(Batch(asset_id, tuple(items)))
            items.clear()
            grown = len(_OPEN) + len(_CLOSE) + self._root + len(item.encoded)
        items.append(item)
        self._sizes[asset_id] = grown
        if len(items) >= self.max_events:
            full.append(Batch(asset_id, tuple(items)))
            items.clear()
            del self._sizes[asset_id]
        return full

    def flush(self) -> Iterator[Batch]:
        """Hand out every partly filled batch, then start afresh."""
        for asset_id, items in self._open.items():
            if items:
                yield Batch(asset_id, tuple(items))
        self._open.clear()
        self._sizes.clear()

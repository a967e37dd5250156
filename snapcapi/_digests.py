"""A growing set of 64-bit keys in 16 bytes each, for the ids a bulk run has seen.

A Python ``set`` of ints costs about 60 bytes an entry (the int object and its slot), so a
run over ten million rows would hold 600 MB just to notice duplicate rows. This set keeps
the digests in one flat table (open addressing, linear probing, at most half full): 16 bytes
an entry, and no object per entry.
"""

from __future__ import annotations

__all__ = ["DigestSet", "run_key"]

_MASK64 = (1 << 64) - 1


def run_key(text: str) -> int:
    """Return a 64-bit key for ``text``, for sets that live one run (never 0: an empty slot).

    Python's own string hash is enough there and several times cheaper than a digest; it
    changes between processes, so nothing kept across runs may use it.
    """
    return hash(text) & _MASK64 or 1


class DigestSet:
    """A set of 64-bit digests that grows as needed; ``add`` tells whether it was new."""

    def __init__(self, capacity: int = 1024) -> None:
        size = 1024
        while size < capacity * 2:
            size *= 2
        self._allocate(size)
        self._count = 0

    def _allocate(self, size: int) -> None:
        self._buffer = bytearray(size * 8)
        self._slots = memoryview(self._buffer).cast("Q")
        self._mask = size - 1

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        """Bytes held by the table."""
        return len(self._buffer)

    def add(self, digest: int) -> bool:
        """Add a key (from :func:`run_key`); return False when it was there already."""
        slots, mask = self._slots, self._mask
        index = digest & mask
        while True:
            found = slots[index]
            if found == 0:
                break
            if found == digest:
                return False
            index = (index + 1) & mask
        slots[index] = digest
        self._count += 1
        if self._count * 2 > mask:
            self._grow()
        return True

    def __contains__(self, digest: object) -> bool:
        if not isinstance(digest, int):
            return False
        slots, mask = self._slots, self._mask
        index = digest & mask
        while True:
            found = slots[index]
            if found == 0:
                return False
            if found == digest:
                return True
            index = (index + 1) & mask

    def _grow(self) -> None:
        old = self._slots
        self._allocate((self._mask + 1) * 2)
        slots, mask = self._slots, self._mask
        for digest in old:
            if digest:
                index = digest & mask
                while slots[index]:
                    index = (index + 1) & mask
                slots[index] = digest
        old.release()

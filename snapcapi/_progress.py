"""Progress of a bulk upload on a terminal: a tqdm bar, or plain lines without it.

Quiet unless asked for and the stream is a terminal. tqdm comes with the ``progress`` extra
(``pip install 'snapcapi[progress]'``); it is imported only here, only when a bar is shown.

The display is refreshed by time: whenever a row is read or a result arrives and at least
``interval`` seconds (default 0.5) have passed since the last refresh, for the bar and the plain
lines alike. There is no timer thread, so nothing is drawn while nothing happens (a long wait
for Snap's answer); the first row or result after it redraws. Plain lines are redrawn in place
(a carriage return) when the stream is a terminal, and written one per refresh otherwise.

A stream that can no longer be written to (``snapcapi send ... 2>&1 | head``) silences the
display: the error is swallowed, and nothing else is written.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

__all__ = ["INTERVAL", "STATUSES", "Progress"]

#: Seconds between refreshes by default: the bar and the plain lines alike.
INTERVAL = 0.5

#: The statuses counted, in display order (``valid`` is a dry run's ``accepted``).
STATUSES = ("accepted", "valid", "rejected", "invalid", "skipped", "failed")

# What writing to a stream that is gone raises: BrokenPipeError and other OSErrors, or
# ValueError for a stream closed already.
_GONE = (OSError, ValueError)


class Progress:
    """Count rows read and results by status, and show them every ``interval`` seconds.

    Args:
        stream: Where to draw (standard error in the CLI).
        enabled: Show anything at all (the CLI passes: not ``--quiet`` and a terminal).
        interval: Seconds between refreshes, while rows are read or results arrive (default
            :data:`INTERVAL`, 0.5 s), for the bar and the plain lines alike.
        clock: Injectable ``time.monotonic``.
        use_tqdm: Use tqdm when it is installed (tests turn it off).

    Attributes:
        read: Rows read.
        sent: Results of events that went to Snap.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        enabled: bool,
        interval: float = INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        use_tqdm: bool = True,
    ) -> None:
        self.read = 0
        self.sent = 0
        self._counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
        self._stream = stream
        self._enabled = enabled
        self._interval = interval
        self._clock = clock
        self._started = clock()
        self._next = self._started + interval
        self._bar: Any = None
        self._bar_shown = 0
        self._in_place = False
        self._width = 0  # of the last line drawn in place, to blank what a shorter one leaves
        if not enabled:
            return
        if use_tqdm:
            try:
                from tqdm import tqdm
            except ImportError:
                pass
            else:
                # Refreshed by this class on its clock: tqdm draws on every call it gets.
                try:
                    self._bar = tqdm(
                        file=stream,
                        unit=" rows",
                        dynamic_ncols=True,
                        mininterval=0,
                        miniters=1,
                        leave=True,
                    )
                except _GONE:
                    self._enabled = False
                return
        try:
            self._in_place = stream.isatty()
        except _GONE:
            self._in_place = False

    @property
    def counts(self) -> Mapping[str, int]:
        """Results so far by lower-case status, the non-zero ones, in :data:`STATUSES` order."""
        return {status: n for status, n in self._counts.items() if n}

    def row(self) -> None:
        """Count one row read."""
        self.read += 1
        if self._enabled:
            self._tick()

    def result(self, status: str, *, sent: bool) -> None:
        """Count one final result by its status (``ACCEPTED``...; ``sent``: it went to Snap)."""
        if sent:
            self.sent += 1
        key = status.lower()
        self._counts[key] = self._counts.get(key, 0) + 1
        if self._enabled:
            self._tick()

    def summary(self) -> str:
        """Return the counts so far as one line, naming only the statuses seen.

        ``1,200 rows read, 1,000 sent: 990 accepted, 10 rejected, 200 invalid (1,234 rows/s)``
        """
        seconds = max(self._clock() - self._started, 1e-9)
        counts = ", ".join(f"{n:,} {status}" for status, n in self.counts.items())
        return (
            f"{self.read:,} rows read, {self.sent:,} sent{': ' + counts if counts else ''} "
            f"({self.read / seconds:,.0f} rows/s)"
        )

    def _tick(self) -> None:
        now = self._clock()
        if now < self._next:
            return
        # On a steady cadence; after a pause, the next refresh is an interval from now.
        self._next += self._interval
        if self._next <= now:
            self._next = now + self._interval
        self._show(final=False)

    def _show(self, *, final: bool) -> None:
        try:
            if self._bar is not None:
                # As a mapping: tqdm would sort keyword arguments by name.
                self._bar.set_postfix({"sent": self.sent, **self.counts}, refresh=False)
                if self.read > self._bar_shown:
                    self._bar.update(self.read - self._bar_shown)  # draws
                    self._bar_shown = self.read
                else:
                    self._bar.refresh()
                if final:
                    self._bar.close()
                return
            line = self.summary()
            if self._in_place:
                padding = " " * max(self._width - len(line), 0)
                self._width = len(line)
                self._stream.write("\r" + line + padding + ("\n" if final else ""))
            else:
                self._stream.write(line + "\n")
            self._stream.flush()
        except _GONE:
            self._silence()

    def pause(self) -> None:
        """Erase what is drawn, so that other text can be written; the next tick draws again.

        The next row or result redraws at once, not an interval later. For a message on the
        same terminal (the mapping table before the first row); plain lines written one per
        refresh (not a terminal) are left as they are.
        """
        if not self._enabled:
            return
        try:
            if self._bar is not None:
                self._bar.clear()
            elif self._in_place and self._width:
                self._stream.write("\r" + " " * self._width + "\r")
                self._stream.flush()
                self._width = 0
        except _GONE:
            self._silence()
        self._next = self._clock()

    def _silence(self) -> None:
        """Write nothing more: the stream is gone (a closed pipe)."""
        self._enabled = False
        if self._bar is not None:
            bar, self._bar = self._bar, None
            with contextlib.suppress(*_GONE):
                bar.close()  # it marks itself closed before it writes, so this is final

    def close(self) -> None:
        """Draw the final counts: finish the bar, or write a last line."""
        if not self._enabled:
            return
        self._show(final=True)
        self._enabled = False

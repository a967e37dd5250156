"""Progress of a bulk upload on a terminal: a tqdm bar, or plain periodic lines without it.

Quiet unless asked for and the stream is a terminal. tqdm comes with the ``progress`` extra
(``pip install 'snapcapi[progress]'``); it is imported only here, only when a bar is shown.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TextIO

__all__ = ["Progress"]


class Progress:
    """Count rows read and results, and show them now and then.

    Args:
        stream: Where to draw (standard error in the CLI).
        enabled: Show anything at all (the CLI passes: not ``--quiet`` and a terminal).
        interval: Seconds between plain lines (the bar refreshes on its own schedule).
        clock: Injectable ``time.monotonic``.
        use_tqdm: Use tqdm when it is installed (tests turn it off).
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        enabled: bool,
        interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        use_tqdm: bool = True,
    ) -> None:
        self.read = 0
        self.sent = 0
        self.accepted = 0
        self.failed = 0
        self._stream = stream
        self._enabled = enabled
        self._interval = interval
        self._clock = clock
        self._started = clock()
        self._next = self._started + interval
        self._bar: Any = None
        self._bar_shown = 0
        if enabled and use_tqdm:
            try:
                from tqdm import tqdm
            except ImportError:
                pass
            else:
                self._bar = tqdm(
                    file=stream, unit=" rows", dynamic_ncols=True, mininterval=0.5, leave=True
                )

    def row(self) -> None:
        """Count one row read."""
        self.read += 1
        if self._enabled:
            self._tick()

    def result(self, status: str, *, sent: bool) -> None:
        """Count one final result (``sent``: it went to Snap)."""
        if sent:
            self.sent += 1
        if status == "ACCEPTED":
            self.accepted += 1
        elif status != "VALID":
            self.failed += 1
        if self._enabled:
            self._tick()

    def summary(self) -> str:
        """Return the counts so far as one line."""
        seconds = max(self._clock() - self._started, 1e-9)
        return (
            f"{self.read:,} rows read, {self.sent:,} sent: {self.accepted:,} accepted, "
            f"{self.failed:,} not ({self.read / seconds:,.0f} rows/s)"
        )

    def _tick(self) -> None:
        if self._bar is not None:
            if self.read - self._bar_shown >= 500:
                self._bar.update(self.read - self._bar_shown)
                self._bar_shown = self.read
                self._bar.set_postfix(
                    sent=self.sent, accepted=self.accepted, failed=self.failed, refresh=False
                )
            return
        now = self._clock()
        if now >= self._next:
            self._next = now + self._interval
            self._stream.write(self.summary() + "\n")
            self._stream.flush()

    def close(self) -> None:
        """Finish the bar or write a last line."""
        if not self._enabled:
            return
        if self._bar is not None:
            self._bar.update(self.read - self._bar_shown)
            self._bar.set_postfix(sent=self.sent, accepted=self.accepted, failed=self.failed)
            self._bar.close()
        else:
            self._stream.write(self.summary() + "\n")
            self._stream.flush()

"""Progress: counts by status, refreshed by time on an injected clock, quiet on a closed pipe."""

from __future__ import annotations

import io

import pytest

from snapcapi._progress import INTERVAL, Progress


class Clock:
    """A fake monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Recorder(io.StringIO):
    """A stream that notes the clock time of each line written."""

    def __init__(self, clock: Clock, tty: bool = False) -> None:
        super().__init__()
        self.clock = clock
        self.tty = tty
        self.times: list[float] = []

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> int:
        self.times.append(self.clock.now)
        return super().write(text)


class Gone(io.StringIO):
    """A stream whose reader went away after ``ok`` writes (``... 2>&1 | head``)."""

    def __init__(self, ok: int = 0) -> None:
        super().__init__()
        self.ok = ok
        self.attempts = 0

    def write(self, text: str) -> int:
        self.attempts += 1
        if self.attempts > self.ok:
            raise BrokenPipeError(32, "Broken pipe")
        return super().write(text)


def plain(clock: Clock, stream: io.StringIO) -> Progress:
    return Progress(stream, enabled=True, use_tqdm=False, clock=clock)


def test_plain_lines_are_refreshed_every_half_second_while_rows_flow():
    """Rows every 0.125 s: a line at each 0.5 s, none in between, and a last one on close."""
    clock = Clock()
    stream = Recorder(clock)
    progress = plain(clock, stream)
    for _ in range(40):  # 5 seconds of rows
        clock.now += 0.125
        progress.row()
    assert INTERVAL == 0.5
    assert stream.times == [0.5 * k for k in range(1, 11)]
    progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 11
    assert lines[3] == "16 rows read, 0 sent (8 rows/s)"
    assert lines[-1] == "40 rows read, 0 sent (8 rows/s)"


def test_results_alone_refresh_the_display():
    """Once every row is read, arriving results keep refreshing it by time."""
    clock = Clock()
    stream = Recorder(clock)
    progress = plain(clock, stream)
    for _ in range(10):
        progress.row()  # all at t=0: nothing due yet
    assert stream.times == []
    for _ in range(10):
        clock.now += 0.25
        progress.result("ACCEPTED", sent=True)
    assert stream.times == [0.5, 1.0, 1.5, 2.0, 2.5]
    assert stream.getvalue().splitlines()[-1] == "10 rows read, 10 sent: 10 accepted (4 rows/s)"


def test_a_burst_draws_once_and_a_pause_restarts_the_cadence():
    """Many rows at one instant draw at most once; after a pause the cadence restarts."""
    clock = Clock()
    stream = Recorder(clock)
    progress = plain(clock, stream)
    clock.now = 0.5
    for _ in range(1000):
        progress.row()
    assert stream.times == [0.5]
    clock.now = 10.0  # a long wait for Snap's answer: nothing can be drawn meanwhile
    progress.result("ACCEPTED", sent=True)
    clock.now = 10.25
    progress.row()
    clock.now = 10.5
    progress.row()
    assert stream.times == [0.5, 10.0, 10.5]


def test_a_custom_interval_is_honoured():
    """interval= sets the cadence (here 0.25 s)."""
    clock = Clock()
    stream = Recorder(clock)
    progress = Progress(stream, enabled=True, use_tqdm=False, clock=clock, interval=0.25)
    for _ in range(8):
        clock.now += 0.125
        progress.row()
    assert stream.times == [0.25, 0.5, 0.75, 1.0]


def test_summary_names_each_status_seen_and_only_those():
    """Counts by status, non-zero ones only, in a fixed order; unknown statuses last."""
    clock = Clock()
    progress = Progress(io.StringIO(), enabled=False, clock=clock)
    for _ in range(1200):
        progress.row()
    results = (("INVALID", 200, False), ("REJECTED", 10, True), ("ACCEPTED", 990, True))
    for status, n, sent in results:
        for _ in range(n):
            progress.result(status, sent=sent)
    clock.now = 1200 / 1234
    assert progress.summary() == (
        "1,200 rows read, 1,000 sent: 990 accepted, 10 rejected, 200 invalid (1,234 rows/s)"
    )
    assert progress.counts == {"accepted": 990, "rejected": 10, "invalid": 200}
    progress.result("FAILED", sent=True)
    progress.result("SKIPPED", sent=False)
    progress.result("SOMETHING_NEW", sent=False)
    assert list(progress.counts) == [
        "accepted", "rejected", "invalid", "skipped", "failed", "something_new"
    ]  # fmt: skip


def test_a_dry_run_counts_valid_and_invalid():
    """In a dry run the statuses are VALID and INVALID, and nothing is sent."""
    clock = Clock()
    progress = Progress(io.StringIO(), enabled=False, clock=clock)
    progress.row()
    progress.row()
    progress.result("VALID", sent=False)
    progress.result("INVALID", sent=False)
    clock.now = 1.0
    assert progress.summary() == "2 rows read, 0 sent: 1 valid, 1 invalid (2 rows/s)"


def test_close_writes_a_final_line_once():
    """close() writes the final counts even when no refresh was due, and only once."""
    clock = Clock()
    stream = Recorder(clock)
    progress = plain(clock, stream)
    progress.row()
    progress.result("REJECTED", sent=True)
    clock.now = 0.25
    progress.close()
    progress.close()
    assert stream.getvalue() == "1 rows read, 1 sent: 1 rejected (4 rows/s)\n"


def test_on_a_terminal_plain_lines_are_redrawn_in_place():
    """On a terminal each refresh overwrites the line, blanking what is left; close ends it."""
    clock = Clock()
    stream = Recorder(clock, tty=True)
    progress = plain(clock, stream)
    for _ in range(20):
        progress.row()
    clock.now = 0.5
    progress.row()
    clock.now = 10.0
    progress.result("ACCEPTED", sent=True)
    progress.close()
    text = stream.getvalue()
    first, second, last = text.split("\r")[1:]
    assert first == "21 rows read, 0 sent (42 rows/s)"
    assert second.startswith("21 rows read, 1 sent: 1 accepted (2 rows/s)")
    assert last.rstrip(" \n") == "21 rows read, 1 sent: 1 accepted (2 rows/s)"
    assert text.endswith("\n")
    assert text.count("\n") == 1


def test_disabled_writes_nothing():
    """Disabled (--quiet, or not a terminal): counts are kept, nothing is drawn."""
    clock = Clock()
    stream = Recorder(clock)
    progress = Progress(stream, enabled=False, clock=clock)
    clock.now = 5.0
    progress.row()
    progress.result("ACCEPTED", sent=True)
    progress.close()
    assert stream.getvalue() == ""
    assert (progress.read, progress.sent) == (1, 1)


@pytest.mark.parametrize("ok", [0, 1, 2])
def test_a_closed_pipe_silences_plain_lines(ok):
    """A write to a closed pipe does not raise; nothing more is attempted after it."""
    clock = Clock()
    stream = Gone(ok=ok)
    progress = plain(clock, stream)
    for _ in range(10):
        clock.now += 0.5
        progress.row()
        progress.result("ACCEPTED", sent=True)
    progress.close()
    assert stream.attempts == ok + 1
    assert progress.read == 10  # still counting


def test_the_bar_refreshes_by_time_with_the_counts_by_status():
    """With tqdm: drawn when the interval has passed, not per 500 rows; postfix names statuses."""
    pytest.importorskip("tqdm")
    clock = Clock()
    stream = io.StringIO()
    progress = Progress(stream, enabled=True, clock=clock)
    drawn = stream.getvalue().count("\r")  # tqdm's first, empty bar
    for _ in range(2000):
        progress.row()  # no time passes: no redraw, however many rows
    assert stream.getvalue().count("\r") == drawn
    clock.now = 0.5
    progress.result("ACCEPTED", sent=True)
    assert stream.getvalue().count("\r") == drawn + 1
    assert "2000 rows" in stream.getvalue().rsplit("\r", 1)[1]
    clock.now = 0.75
    progress.result("REJECTED", sent=True)  # not due yet
    assert stream.getvalue().count("\r") == drawn + 1
    clock.now = 1.0
    progress.result("INVALID", sent=False)  # results alone redraw it
    last = stream.getvalue().rsplit("\r", 1)[1]
    assert "sent=2, accepted=1, rejected=1, invalid=1" in last
    assert "failed" not in last
    progress.close()
    assert stream.getvalue().endswith("\n")


@pytest.mark.parametrize("ok", [0, 1, 3])
def test_a_closed_pipe_silences_the_bar(ok):
    """With tqdm, a closed pipe (when the bar is made, drawn or closed) raises nothing."""
    pytest.importorskip("tqdm")
    clock = Clock()
    stream = Gone(ok=ok)
    progress = Progress(stream, enabled=True, clock=clock)
    for _ in range(10):
        clock.now += 0.5
        progress.row()
        progress.result("ACCEPTED", sent=True)
    progress.close()
    attempts = stream.attempts
    progress.row()
    progress.close()
    assert stream.attempts == attempts
    assert progress.counts == {"accepted": 10}


def test_pause_erases_the_line_and_the_next_tick_redraws_at_once():
    """pause() blanks an in-place line for other text; the next row draws without waiting."""
    clock = Clock()
    stream = Recorder(clock, tty=True)
    progress = plain(clock, stream)
    clock.now = 0.5
    progress.row()
    drawn = stream.getvalue()
    progress.pause()
    assert stream.getvalue() == drawn + "\r" + " " * len(drawn[1:]) + "\r"
    clock.now = 0.625
    progress.row()
    assert stream.getvalue().endswith("\r2 rows read, 0 sent (3 rows/s)")
    assert stream.times[-1] == 0.625


def test_pause_clears_the_bar_and_is_quiet_on_a_closed_pipe():
    """With tqdm the bar is cleared; pausing a progress whose pipe is gone raises nothing."""
    pytest.importorskip("tqdm")
    clock = Clock()
    stream = io.StringIO()
    progress = Progress(stream, enabled=True, clock=clock)
    before = stream.getvalue()
    progress.pause()
    assert len(stream.getvalue()) > len(before)  # tqdm's clear: \r, blanks, \r
    progress.row()  # due at once
    assert "1 rows" in stream.getvalue().rsplit("\r", 1)[1]
    gone = Gone(ok=1)
    progress = Progress(gone, enabled=True, clock=clock)
    progress.pause()  # the clear fails: silenced
    attempts = gone.attempts
    progress.pause()
    progress.row()
    progress.close()
    assert gone.attempts == attempts

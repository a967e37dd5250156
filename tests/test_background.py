"""BackgroundSender: enqueue from many threads, slow and failing servers, overflow, fork, exit."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest
from conftest import make_event

from snapcapi import BackgroundSender, Client, EventStatus, ValidationError

RESEND = "; safe to resend (the event_id deduplicates)"


@pytest.fixture
def client(snap_server):
    made = Client(snap_server.pixel_id, snap_server.token, base_url=snap_server.url,
                  sleep=lambda seconds: None)  # fmt: skip
    yield made
    made.close()


def test_many_threads_every_event_delivered_and_reported_once(snap_server, client):
    """8 threads enqueue 1,600 events; each reaches the server and on_result exactly once."""
    results = []
    sender = BackgroundSender(client, flush_at=50, flush_interval=0.05, on_result=results.append)

    def produce(offset):
        for i in range(200):
            assert sender.enqueue(make_event(offset + i))

    threads = [threading.Thread(target=produce, args=(k * 1000,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sender.flush(timeout=30)
    assert sorted(r.index for r in results) == list(range(1600))
    assert {r.status for r in results} == {EventStatus.ACCEPTED}
    assert len(snap_server.event_ids()) == 1600
    assert sender.pending == 0
    sender.close()


def test_enqueue_does_not_wait_for_a_slow_server(snap_server, client):
    """With a slow Snap, enqueue returns before anything was sent; flush waits for it."""
    snap_server.latency = 0.5
    sender = BackgroundSender(client, flush_at=1)
    sender.enqueue(make_event(0))
    assert snap_server.received == []  # still on the way: enqueue did not wait
    assert sender.flush(timeout=10)
    assert snap_server.event_ids() == {"e0"}
    sender.close()


def test_a_failing_server_reports_failed_never_raises(snap_server, client):
    """Outages end as FAILED results through on_result; enqueue and flush do not raise."""
    snap_server.script(503, times=100)
    results = []
    failing = Client(snap_server.pixel_id, snap_server.token, base_url=snap_server.url,
                     max_retries=1, sleep=lambda seconds: None)  # fmt: skip
    sender = BackgroundSender(failing, flush_at=2, on_result=results.append)
    for i in range(4):
        sender.enqueue(make_event(i))
    assert sender.flush(timeout=10)
    assert [r.status for r in results] == [EventStatus.FAILED] * 4
    assert results[0].reason == "HTTP 503 after 2 attempts" + RESEND
    sender.close()
    failing.close()


def test_a_refused_token_is_reported_for_every_event(snap_server, client, caplog):
    """A 401 in the worker is logged and every event of the batch reported FAILED."""
    results = []
    sender = BackgroundSender(client, flush_at=3, on_result=results.append)
    snap_server.token = "rotated"
    for i in range(3):
        sender.enqueue(make_event(i))
    assert sender.flush(timeout=10)
    assert sorted(r.index for r in results) == [0, 1, 2]
    assert {r.status for r in results} == {EventStatus.FAILED}
    assert "background send of 3 events failed" in caplog.text
    sender.close()


def test_close_delivers_everything_queued(snap_server, client):
    """close() sends what waits (even before flush_interval) and stops the worker."""
    sender = BackgroundSender(client, flush_at=1000, flush_interval=3600)
    for i in range(25):
        sender.enqueue(make_event(i))
    assert sender.close(timeout=10)
    assert len(snap_server.event_ids()) == 25
    results = []
    sender.on_result = results.append
    assert sender.enqueue(make_event(99)) is False  # closed: dropped and reported
    assert results[0].reason == "dropped: the sender is closed"
    assert sender.close() is True


class HeldClient(Client):
    """A client whose sends wait at a gate, to keep the worker busy on purpose."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.entered = threading.Event()
        self.gate = threading.Event()

    def send(self, events, **options):
        self.entered.set()
        self.gate.wait(10)
        return super().send(events, **options)


def test_overflow_policies_drop_and_report(snap_server, caplog):
    """drop_new drops the newcomer, drop_oldest the oldest; both reported and counted."""
    for overflow, kept in (("drop_new", {"e0", "e1", "e2"}), ("drop_oldest", {"e0", "e3", "e4"})):
        snap_server.reset()
        results = []
        held = HeldClient(snap_server.pixel_id, snap_server.token, base_url=snap_server.url)
        sender = BackgroundSender(held, max_queue=2, flush_at=1, overflow=overflow,
                                  on_result=results.append)  # fmt: skip
        sender.enqueue(make_event(0))
        assert held.entered.wait(10)  # the worker holds e0 at the gate; the queue is empty
        for i in range(1, 5):
            sender.enqueue(make_event(i))
        dropped = sorted(r.event_id for r in results)
        assert dropped == (["e3", "e4"] if overflow == "drop_new" else ["e1", "e2"])
        assert all(r.reason.startswith("dropped: the queue was full") for r in results)
        assert sender.dropped == 2
        held.gate.set()
        assert sender.flush(timeout=10)
        assert snap_server.event_ids() == kept
        assert "the queue was full" in caplog.text
        sender.close()
        held.close()


def test_block_waits_for_room_then_everything_goes(snap_server, client):
    """overflow='block' with block_timeout=None makes enqueue wait for the worker; no drops."""
    sender = BackgroundSender(client, max_queue=2, flush_at=2, overflow="block",
                              block_timeout=None)  # fmt: skip
    for i in range(20):
        assert sender.enqueue(make_event(i))
    assert sender.flush(timeout=10)
    assert len(snap_server.event_ids()) == 20
    assert sender.dropped == 0
    sender.close()


class Records(logging.Handler):
    """Keep the snapcapi log records that mention the event loop; signal the first."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []
        self.first = threading.Event()

    def emit(self, record):
        if "event loop" in record.getMessage():
            self.records.append(record)
            self.first.set()


@pytest.fixture
def loop_warnings():
    """The warnings the snapcapi logger gives about blocking an asyncio event loop."""
    handler = Records()
    logging.getLogger("snapcapi").addHandler(handler)
    yield handler
    logging.getLogger("snapcapi").removeHandler(handler)


def full_sender(snap_server, **options):
    """A sender whose worker is held at a gate with one event, and whose queue is full."""
    held = HeldClient(snap_server.pixel_id, snap_server.token, base_url=snap_server.url)
    sender = BackgroundSender(held, max_queue=1, flush_at=1, **options)
    sender.enqueue(make_event(0))
    assert held.entered.wait(10)  # the worker holds e0 at the gate
    assert sender.enqueue(make_event(1))  # the one place in the queue: now it is full
    return held, sender


def test_enqueue_that_blocks_an_event_loop_says_so(snap_server, loop_warnings):
    """A blocking enqueue in an async endpoint logs a warning naming the fixes, then waits."""
    held, sender = full_sender(snap_server, block_timeout=None)  # overflow="block"
    # The gate opens once the warning is out (or after 10 s, and the test fails below).
    opener = threading.Thread(target=lambda: (loop_warnings.first.wait(10), held.gate.set()))
    opener.start()

    async def endpoint():
        return sender.enqueue(make_event(2))

    assert asyncio.run(endpoint()) is True  # waited for room, as overflow="block" says
    opener.join()
    [record] = loop_warnings.records
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert "blocks the event loop" in message
    assert "until there is room" in message
    assert "plain def endpoint" in message
    assert "overflow='drop_new'" in message
    assert "block_timeout=" in message
    assert sender.flush(timeout=10)
    assert snap_server.event_ids() == {"e0", "e1", "e2"}
    sender.close()
    held.close()


def test_the_event_loop_warning_comes_once_per_sender_and_only_in_a_loop(
    snap_server, loop_warnings
):
    """Said once per sender; not on the fast path, not when no loop runs in the thread."""
    held, sender = full_sender(snap_server, block_timeout=0.001)

    async def endpoint():
        return [sender.enqueue(make_event(i)) for i in range(2, 5)]

    assert asyncio.run(endpoint()) == [False, False, False]  # each dropped after its wait
    [record] = loop_warnings.records
    assert "for up to 0.001s per event" in record.getMessage()
    assert sender.dropped == 3
    held.gate.set()
    assert sender.flush(timeout=10)
    sender.close()
    held.close()

    plain_held, plain = full_sender(snap_server, block_timeout=0.001)
    assert plain.enqueue(make_event(5)) is False  # blocked (briefly) outside any loop
    plain_held.gate.set()
    assert plain.flush(timeout=10)

    async def with_room():
        return plain.enqueue(make_event(6))

    assert asyncio.run(with_room()) is True  # room in the queue: no wait, nothing said
    assert len(loop_warnings.records) == 1
    plain.close()
    plain_held.close()


def test_bad_input_and_settings():
    """enqueue takes Events only; each setting is checked, and the error names it."""
    holder = Client("p", "t", base_url="http://127.0.0.1:9")
    sender = BackgroundSender(holder)
    with pytest.raises(ValidationError, match="expected an Event"):
        sender.enqueue({"event_name": "PURCHASE"})
    with pytest.raises(ValidationError, match="overflow"):
        BackgroundSender(holder, overflow="wait")
    bad = {"max_queue": [0, 1.5, True, "5"], "flush_at": [0], "flush_interval": [-1, "1"],
           "block_timeout": [-0.1, float("nan"), float("inf")], "close_timeout": [None, -1],
           "sigterm_timeout": [None, float("nan")], "handle_sigterm": [1, "no"]}  # fmt: skip
    for name, values in bad.items():
        for value in values:
            with pytest.raises(ValidationError) as caught:
                BackgroundSender(holder, **{name: value})
            assert caught.value.field == name
    assert BackgroundSender(holder, block_timeout=None).block_timeout is None  # no limit
    assert "pending=0" in repr(sender)
    sender.close()
    holder.close()


def run_script(snap_server, body):
    """Run ``body`` in a fresh Python process that has a client and a sender ready."""
    tests = os.path.dirname(os.path.abspath(__file__))
    script = "\n".join([
        "import os, sys",
        f"sys.path.insert(0, {tests!r})",
        "from conftest import make_event",
        "from snapcapi import BackgroundSender, Client",
        f"client = Client({snap_server.pixel_id!r}, {snap_server.token!r}, "
        f"base_url={snap_server.url!r})",
        "sender = BackgroundSender(client, flush_at=1000, flush_interval=3600)",
        textwrap.dedent(body),
    ])  # fmt: skip
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip


def test_events_queued_at_exit_are_sent(snap_server):
    """A process that ends without close() still delivers its queue (atexit)."""
    completed = run_script(snap_server, "for i in range(5):\n    sender.enqueue(make_event(i))")
    assert completed.returncode == 0, completed.stderr
    assert snap_server.event_ids() == {f"e{i}" for i in range(5)}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_sends_its_own_events_not_its_parents(snap_server):
    """After fork the child starts empty with its own worker; the parent keeps its queue."""
    body = textwrap.dedent(
        """
        sender.enqueue(make_event(1))            # queued in the parent before the fork
        pid = os.fork()
        if pid == 0:
            # The fork hook emptied the queue at once: a flush before any enqueue sends nothing.
            empty = sender.flush(timeout=30) and sender.pending == 0
            sender.enqueue(make_event(2))        # the child's own event
            ok = sender.flush(timeout=30)
            os._exit(0 if empty and ok and sender.pending == 0 else 3)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        sender.enqueue(make_event(3))
        assert sender.flush(timeout=30)
        """
    )
    completed = run_script(snap_server, body)
    assert completed.returncode == 0, completed.stderr
    ids = [e["event_id"] for e in snap_server.events]
    assert sorted(ids) == ["e1", "e2", "e3"]  # nothing sent twice


def test_close_that_times_out_says_how_many_were_not_delivered(snap_server, caplog):
    """A close() that runs out of time logs the events still pending; nothing goes silently."""
    held = HeldClient(snap_server.pixel_id, snap_server.token, base_url=snap_server.url)
    sender = BackgroundSender(held, flush_at=1)
    sender.enqueue(make_event(0))
    assert held.entered.wait(10)
    assert sender.close(timeout=0.05) is False
    assert "closed with 1 events not delivered" in caplog.text
    held.gate.set()
    held.close()


def test_a_lone_event_goes_after_flush_interval_without_flush(snap_server, client):
    """One event below flush_at is sent once flush_interval has passed, without any flush."""
    sender = BackgroundSender(client, flush_at=100, flush_interval=0.05)
    sender.enqueue(make_event(0))
    done = threading.Event()
    for _ in range(200):  # poll up to ~10 s: a synchronisation, not a timing assertion
        if snap_server.event_ids():
            done.set()
            break
        done.wait(0.05)
    assert done.is_set()
    assert snap_server.event_ids() == {"e0"}
    sender.close()


def test_the_default_enqueue_waits_briefly_then_drops_while_snap_hangs(snap_server, caplog):
    """With Snap hanging and the queue full, enqueue drops after 50 ms (counted, reported)."""
    snap_server.script("process", delay=60)  # the first request hangs for a minute
    hanging = Client(snap_server.pixel_id, snap_server.token, base_url=snap_server.url,
                     timeout=60, max_retries=0)  # fmt: skip
    results = []
    sender = BackgroundSender(hanging, max_queue=2, flush_at=1, on_result=results.append)
    sender.enqueue(make_event(0))  # overflow="block", block_timeout=0.05: the defaults
    for _ in range(200):  # poll up to ~10 s until the worker holds e0 on the wire
        if snap_server.request_count:
            break
        threading.Event().wait(0.05)
    assert sender.enqueue(make_event(1))
    assert sender.enqueue(make_event(2))  # now the queue is full
    returned = []
    request = threading.Thread(target=lambda: returned.append(sender.enqueue(make_event(3))),
                               daemon=True)  # fmt: skip
    request.start()
    request.join(10)  # a bound for a hang (50 ms plus slack), not a speed target
    assert not request.is_alive(), "enqueue is still waiting on a hanging Snap"
    assert returned == [False]
    assert sender.dropped == 1
    [drop] = results
    assert (drop.event_id, drop.status) == ("e3", EventStatus.FAILED)
    assert drop.reason == "dropped: the queue was full (2 events, overflow='block') for 0.05s"
    assert "event e3 dropped: the queue was full" in caplog.text
    snap_server.stop()  # the hanging request ends: the rest fail (safe to resend), no hang
    assert sender.flush(timeout=30)
    assert sorted(r.event_id for r in results) == ["e0", "e1", "e2", "e3"]
    assert (sender.overflow, sender.block_timeout) == ("block", 0.05)
    sender.close()
    hanging.close()


@pytest.fixture
def sigints():
    """Record the SIGINTs the main thread gets (instead of raising KeyboardInterrupt)."""
    seen = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))
    yield seen
    signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize("interpreter_exit", [SystemExit, KeyboardInterrupt])
def test_on_result_raising_an_interpreter_exit_strands_no_event(
    snap_server, client, caplog, sigints, interpreter_exit
):
    """An exit raised at a batch's first result: all 40 get results, flush() returns True."""
    results, when_interrupted = [], []
    sigints_seen = sigints

    def on_result(result):
        results.append(result)
        if len(results) == 1:
            raise interpreter_exit()

    sender = BackgroundSender(client, flush_at=40, flush_interval=3600, on_result=on_result)
    for i in range(40):
        sender.enqueue(make_event(i))
    assert sender.flush(timeout=10)
    assert sorted(r.index for r in results) == list(range(40))
    assert {r.status for r in results} == {EventStatus.ACCEPTED}
    assert len(snap_server.event_ids()) == 40
    name = interpreter_exit.__name__
    assert f"on_result raised {name} for event {results[0].event_id}" in caplog.text
    if interpreter_exit is KeyboardInterrupt:  # passed on to the main thread, batch settled
        for _ in range(200):
            if sigints_seen:
                when_interrupted.append(len(results))
                break
            threading.Event().wait(0.05)
        assert sigints_seen == [signal.SIGINT]
        assert when_interrupted == [40]
    assert sender.enqueue(make_event(40))  # the worker lives on (and said what it did)
    assert sender.flush(timeout=10)
    assert len(results) == 41
    if interpreter_exit is KeyboardInterrupt:
        assert "passed on to the main thread" in caplog.text
    else:
        assert sigints_seen == []
        assert "which cannot end the process; the sender goes on" in caplog.text
    sender.close()


def test_an_interpreter_exit_from_on_result_for_a_drop_is_raised_after_counting(snap_server):
    """A drop reported in the caller's thread: on_result's SystemExit is raised there, counted."""
    held = HeldClient(snap_server.pixel_id, snap_server.token, base_url=snap_server.url)

    def on_result(result):
        raise SystemExit(3)

    sender = BackgroundSender(held, max_queue=1, flush_at=1, overflow="drop_new",
                              on_result=on_result)  # fmt: skip
    sender.enqueue(make_event(0))
    assert held.entered.wait(10)  # e0 on its way: the queue is empty
    assert sender.enqueue(make_event(1))  # the queue is full
    with pytest.raises(SystemExit):
        sender.enqueue(make_event(2))
    assert (sender.dropped, sender.pending) == (1, 2)
    held.gate.set()
    assert sender.flush(timeout=10)
    sender.close()
    held.close()

"""BackgroundSender as a process ends: SIGTERM, an exit that runs out of time, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")

TESTS = os.path.dirname(os.path.abspath(__file__))
ALL = {f"e{i}" for i in range(2000)}


def run_child(snap_server, tmp_path, body, **client_options):
    """Run ``body`` in a fresh Python with a client, and ``record`` writing results to a file.

    ``record`` is an ``on_result`` that writes each result at once (unbuffered: a process
    that SIGTERM ends keeps nothing in a buffer). Returns the finished process and the results
    as ``{event_id: (status, reason)}``, asserting that no event got two.
    """
    results = tmp_path / "results.txt"
    options = ", ".join(f"{name}={value!r}" for name, value in client_options.items())
    prelude = textwrap.dedent(
        f"""
        import json, os, signal, sys, threading, time
        sys.path.insert(0, {TESTS!r})
        from conftest import make_event
        from snapcapi import BackgroundSender, Client
        out = os.open({str(results)!r}, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        def record(result):
            line = [result.index, result.event_id, result.status.value, result.reason]
            os.write(out, (json.dumps(line) + "\\n").encode())
        client = Client({snap_server.pixel_id!r}, {snap_server.token!r},
                        base_url={snap_server.url!r}, {options})
        """
    )
    script = prelude + textwrap.dedent(body)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               timeout=120, check=False)  # fmt: skip
    lines = results.read_text().splitlines() if results.exists() else []
    reported = {}
    for line in lines:
        _index, event_id, status, reason = json.loads(line)
        assert event_id not in reported, f"{event_id} reported twice"
        reported[event_id] = (status, reason)
    return completed, reported


ENQUEUE_AND_TERMINATE = """
for i in range(2000):
    assert sender.enqueue(make_event(i))
os.kill(os.getpid(), signal.SIGTERM)
time.sleep(30)  # SIGTERM ends the process before this is over
sys.exit(7)
"""


def test_sigterm_delivers_all_2000_queued_events_then_ends_by_sigterm(snap_server, tmp_path):
    """SIGTERM with 2,000 events queued: every one reaches Snap; the process ends by SIGTERM."""
    body = "sender = BackgroundSender(client, flush_at=100, on_result=record)" + (
        ENQUEUE_AND_TERMINATE
    )
    completed, reported = run_child(snap_server, tmp_path, body, batch_size=100)
    assert completed.returncode == -signal.SIGTERM, completed.stderr
    assert snap_server.event_ids() == ALL
    assert set(reported) == ALL
    assert {status for status, _ in reported.values()} == {"ACCEPTED"}


def test_sigterm_reports_what_its_grace_period_could_not_deliver(snap_server, tmp_path):
    """A slow Snap and a short sigterm_timeout: each of 2,000 is delivered or reported FAILED."""
    snap_server.latency = 0.2  # 40 requests of 50 events: 8 s, far beyond the grace period
    body = (
        "sender = BackgroundSender(client, flush_at=50, sigterm_timeout=0.5, on_result=record)"
        + ENQUEUE_AND_TERMINATE
    )
    completed, reported = run_child(snap_server, tmp_path, body, batch_size=50)
    assert completed.returncode == -signal.SIGTERM, completed.stderr
    assert set(reported) == ALL  # none lost
    received = snap_server.event_ids()
    accepted = {i for i, (status, _) in reported.items() if status == "ACCEPTED"}
    not_sent = {i for i, (_, reason) in reported.items() if reason and "not sent" in reason}
    on_the_wire = set(reported) - accepted - not_sent
    assert accepted <= received
    assert not_sent
    assert not (not_sent & received)
    assert len(on_the_wire) <= 50  # the one batch on its way when the time was up
    terminated = "the process was terminated (SIGTERM)"
    for event_id in not_sent:
        assert reported[event_id] == (
            "FAILED",
            f"not sent: {terminated} before it was sent; safe to resend (the event_id "
            "deduplicates)",
        )
    for event_id in on_the_wire:
        status, reason = reported[event_id]
        assert status == "FAILED"
        assert reason.startswith(f"interrupted while being sent, {terminated}: it may have")
    last = max(not_sent, key=lambda event_id: int(event_id[1:]))
    assert f"event {last} not sent: {terminated}" in completed.stderr  # logged, by id
    assert f"SIGTERM: {len(not_sent | on_the_wire)} queued events" in completed.stderr


def test_an_application_sigterm_handler_is_kept(snap_server, tmp_path):
    """An app with its own SIGTERM handler keeps it; its clean exit delivers the queue."""
    body = """
    def graceful(signum, frame):
        sys.exit(0)  # the app's own way to stop: a normal exit, which flushes
    signal.signal(signal.SIGTERM, graceful)
    sender = BackgroundSender(client, flush_interval=3600, on_result=record)
    for i in range(20):
        sender.enqueue(make_event(i))
    assert signal.getsignal(signal.SIGTERM) is graceful
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)
    sys.exit(7)
    """
    completed, reported = run_child(snap_server, tmp_path, body)
    assert completed.returncode == 0, completed.stderr
    assert len(reported) == 20
    assert len(snap_server.event_ids()) == 20


def test_a_server_that_restores_and_raises_sigterm_reaches_the_sender(snap_server, tmp_path):
    """A server that handles SIGTERM, then restores the handler before it and raises it again."""
    # What uvicorn does: when the sender came first, its handler is the one restored.
    body = """
    sender = BackgroundSender(client, flush_interval=3600, on_result=record)
    captured = []
    before = signal.signal(signal.SIGTERM, lambda signum, frame: captured.append(signum))
    for i in range(2000):
        sender.enqueue(make_event(i))
    os.kill(os.getpid(), signal.SIGTERM)   # the server's handler: it shuts down gracefully
    assert captured == [signal.SIGTERM]
    signal.signal(signal.SIGTERM, before)  # then it restores the handler it found
    signal.raise_signal(signal.SIGTERM)    # and raises the signal again
    time.sleep(30)
    sys.exit(7)
    """
    completed, reported = run_child(snap_server, tmp_path, body)
    assert completed.returncode == -signal.SIGTERM, completed.stderr
    assert set(reported) == ALL
    assert snap_server.event_ids() == ALL


def test_sigterm_is_handled_only_when_made_in_the_main_thread_and_not_refused(
    snap_server, tmp_path
):
    """No handler from a sender made in another thread, nor from handle_sigterm=False."""
    body = """
    def default():
        return signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    states = {}
    def in_a_thread():
        elsewhere = BackgroundSender(client, flush_interval=3600)
        elsewhere.enqueue(make_event(0))  # starts its worker, from this thread too
        assert elsewhere.flush(timeout=30)
        states["thread"] = default()
    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()
    refused = BackgroundSender(client, flush_interval=3600, handle_sigterm=False)
    refused.enqueue(make_event(1))
    states["refused"] = default()
    BackgroundSender(client)
    states["main"] = default()
    print(json.dumps(states))
    """
    completed, _ = run_child(snap_server, tmp_path, body)
    assert completed.returncode == 0, completed.stderr
    states = json.loads(completed.stdout.splitlines()[-1])
    assert states == {"thread": True, "refused": True, "main": False}


def test_a_sender_that_refuses_sigterm_is_not_waited_for(snap_server, tmp_path):
    """On SIGTERM, handle_sigterm=False senders take no part; the others deliver."""
    body = """
    taking_part = BackgroundSender(client, flush_interval=3600, on_result=record)
    apart = BackgroundSender(client, flush_interval=3600, handle_sigterm=False,
                             on_result=record)
    for i in range(10):
        taking_part.enqueue(make_event(i))
        apart.enqueue(make_event(100 + i))
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)
    sys.exit(7)
    """
    completed, reported = run_child(snap_server, tmp_path, body)
    assert completed.returncode == -signal.SIGTERM, completed.stderr
    assert snap_server.event_ids() == {f"e{i}" for i in range(10)}
    assert set(reported) == {f"e{i}" for i in range(10)}


def test_an_exit_that_runs_out_of_time_reports_what_is_left(snap_server, tmp_path):
    """A normal exit whose close_timeout passes with Snap hanging: the rest reported FAILED."""
    snap_server.script("process", delay=60)  # the first request hangs
    body = """
    sender = BackgroundSender(client, flush_at=5, close_timeout=0.5, on_result=record)
    for i in range(20):
        sender.enqueue(make_event(i))
    """
    completed, reported = run_child(snap_server, tmp_path, body, batch_size=5, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert len(reported) == 20
    reasons = sorted({reason for _, reason in reported.values()})
    assert reasons == [
        "interrupted while being sent, the process exited: it may have reached Snap; safe to "
        "resend (the event_id deduplicates)",
        "not sent: the process exited before it was sent; safe to resend (the event_id "
        "deduplicates)",
    ]
    assert "event e19 not sent: the process exited" in completed.stderr
    snap_server.stop()  # end the hanging request


def test_ctrl_c_ends_the_process_after_delivering_the_queue(snap_server, tmp_path):
    """Ctrl-C (SIGINT): KeyboardInterrupt ends the program, and the exit flush delivers."""
    body = """
    sender = BackgroundSender(client, flush_interval=3600, on_result=record)
    for i in range(20):
        sender.enqueue(make_event(i))
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(30)
    sys.exit(7)
    """
    completed, reported = run_child(snap_server, tmp_path, body)
    assert completed.returncode == -signal.SIGINT, completed.stderr  # as Python ends on Ctrl-C
    assert "KeyboardInterrupt" in completed.stderr
    assert len(reported) == 20
    assert len(snap_server.event_ids()) == 20


def test_ctrl_c_during_the_exit_flush_reports_what_is_left(snap_server, tmp_path):
    """Ctrl-C while the exit flush waits stops the wait; what is left is reported FAILED."""
    snap_server.script("process", delay=60)
    body = """
    sender = BackgroundSender(client, flush_at=5, close_timeout=60, on_result=record)
    for i in range(20):
        sender.enqueue(make_event(i))
    def press_ctrl_c():
        time.sleep(1)  # by then the exit flush waits on the hanging request
        os.kill(os.getpid(), signal.SIGINT)
    threading.Thread(target=press_ctrl_c, daemon=True).start()
    """
    completed, reported = run_child(snap_server, tmp_path, body, batch_size=5, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert len(reported) == 20
    assert {status for status, _ in reported.values()} == {"FAILED"}
    snap_server.stop()

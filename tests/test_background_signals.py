"""BackgroundSender as a process ends: SIGTERM, an exit that runs out of time, Ctrl-C."""

from __future__ import annotations

import json
import os
import re
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
    script = child_script(snap_server, results, body, **client_options)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               timeout=120, check=False)  # fmt: skip
    lines = results.read_text().splitlines() if results.exists() else []
    reported = {}
    for line in lines:
        _index, event_id, status, reason = json.loads(line)
        assert event_id not in reported, f"{event_id} reported twice"
        reported[event_id] = (status, reason)
    return completed, reported


def child_script(snap_server, results, body, **client_options):
    """The Python program run_child runs: the prelude, then ``body``."""
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
    return prelude + textwrap.dedent(body)


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
    [summary] = completed.stderr.splitlines()  # one line, not one per event
    assert summary.startswith(
        f"SIGTERM: {len(not_sent | on_the_wire)} of 2000 events waiting were not delivered "
        f"(sigterm_timeout ran out after 0."
    )
    assert f": {len(not_sent)} not sent, {len(on_the_wire)} interrupted while being sent" in (
        summary
    )
    assert summary.endswith(f" and {len(not_sent | on_the_wire) - 5} more")


def test_sigterm_logs_one_summary_warning_and_each_event_at_debug(snap_server, tmp_path):
    """With logging at DEBUG: one WARNING for all the events cut off, and a DEBUG line each."""
    snap_server.latency = 0.5
    body = textwrap.dedent(
        """
        import logging
        logging.basicConfig(level=logging.DEBUG, format="%(name)s %(levelname)s %(message)s")
        sender = BackgroundSender(client, flush_at=50, sigterm_timeout=0.2, on_result=record)
        """
    )
    body += ENQUEUE_AND_TERMINATE
    completed, reported = run_child(snap_server, tmp_path, body, batch_size=50)
    assert completed.returncode == -signal.SIGTERM, completed.stderr
    assert set(reported) == ALL  # one result per event, still
    lines = completed.stderr.splitlines()
    warnings = [line for line in lines if line.startswith("snapcapi WARNING")]
    assert len(warnings) == 1, warnings
    assert "sigterm_timeout ran out" in warnings[0]
    cut_off = [line for line in lines if line.startswith("snapcapi DEBUG event e")]
    not_delivered = [i for i, (status, _) in reported.items() if status == "FAILED"]
    assert len(cut_off) == len(not_delivered) > 1000
    assert (
        "snapcapi DEBUG event e1999 not sent: the process was terminated (SIGTERM) before it "
        "was sent; safe to resend (the event_id deduplicates)"
    ) in lines


def test_a_second_sigterm_cuts_the_wait_short_and_the_summary_says_so(snap_server, tmp_path):
    """SIGTERM twice: the wait stops, the rest is reported, and the log says the second did it."""
    snap_server.latency = 0.5
    body = textwrap.dedent(
        """
        sender = BackgroundSender(client, flush_at=50, sigterm_timeout=60, on_result=record)
        threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM)).start()  # the second one
        """
    )
    body += ENQUEUE_AND_TERMINATE
    completed, reported = run_child(snap_server, tmp_path, body, batch_size=50)
    assert completed.returncode == -signal.SIGTERM, completed.stderr
    assert set(reported) == ALL
    [summary] = completed.stderr.splitlines()
    # The timer starts before the events are queued, so the wait it cuts is a little under 1 s;
    # what matters is that it ended long before the 60 s sigterm_timeout.
    cut = re.search(r"\(a second SIGTERM cut the wait short after (\d+\.\d)s\)", summary)
    assert cut is not None, summary
    assert float(cut.group(1)) < 10.0, summary
    assert "sigterm_timeout" not in summary


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


IN_A_REQUEST_THREAD = """
senders = []
def serve_requests():  # what a threaded server's request thread does with a lazy sender
    senders.append(BackgroundSender(client, flush_at=100, on_result=record))
    for i in range(2000):
        assert senders[0].enqueue(make_event(i))
thread = threading.Thread(target=serve_requests, name="request-1")
thread.start()
thread.join()
os.kill(os.getpid(), signal.SIGTERM)
time.sleep(30)
sys.exit(7)
"""


def test_a_sender_made_in_a_request_thread_delivers_on_sigterm_after_the_installer(
    snap_server, tmp_path
):
    """install_sigterm_handler() at startup: a sender made later in a thread delivers all 2,000."""
    body = textwrap.dedent(
        """
        assert BackgroundSender.install_sigterm_handler() is True
        assert BackgroundSender.install_sigterm_handler() is True  # again: nothing changes
        """
    )
    completed, reported = run_child(snap_server, tmp_path, body + IN_A_REQUEST_THREAD)
    assert completed.returncode == -signal.SIGTERM, completed.stderr
    assert completed.stderr == ""  # no warning: the handler was in place
    assert set(reported) == ALL
    assert {status for status, _ in reported.values()} == {"ACCEPTED"}
    assert snap_server.event_ids() == ALL


def test_a_slow_snap_and_a_request_thread_sender_report_every_event_on_sigterm(
    snap_server, tmp_path
):
    """The trial's case: a slow Snap, a sender made in a thread; each of 2,000 is accounted for."""
    snap_server.latency = 0.5
    body = "BackgroundSender.install_sigterm_handler()\n" + IN_A_REQUEST_THREAD
    completed, reported = run_child(snap_server, tmp_path, body, batch_size=50)
    assert completed.returncode == -signal.SIGTERM, completed.stderr
    assert set(reported) == ALL
    accepted = {i for i, (status, _) in reported.items() if status == "ACCEPTED"}
    assert accepted <= snap_server.event_ids()
    [summary] = completed.stderr.splitlines()
    assert summary.startswith(f"SIGTERM: {2000 - len(accepted)} of 2000 events waiting")


WARNING = "BackgroundSender used outside the main thread (in thread 'request-1')"


def test_a_sender_made_in_a_thread_without_a_handler_warns_once(snap_server, tmp_path):
    """No handler in place and SIGTERM's default: one warning per process, naming the fix."""
    body = textwrap.dedent(
        """
        def serve_requests():
            for _ in range(3):  # three senders made, three workers started: one warning
                sender = BackgroundSender(client, flush_interval=3600)
                sender.enqueue(make_event(0))
                assert sender.flush(timeout=30)
        thread = threading.Thread(target=serve_requests, name="request-1")
        thread.start()
        thread.join()
        print(signal.getsignal(signal.SIGTERM) == signal.SIG_DFL)
        """
    )
    completed, _ = run_child(snap_server, tmp_path, body)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == ["True"]  # no handler from another thread
    [warning] = completed.stderr.splitlines()
    assert warning.startswith(WARNING)
    assert "on SIGTERM the events senders hold would be lost, unreported" in warning
    assert "Call snapcapi.BackgroundSender.install_sigterm_handler() from the main thread" in (
        warning
    )


@pytest.mark.parametrize(
    "setup",
    [
        "BackgroundSender.install_sigterm_handler()",
        "signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))",
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)",
        "options['handle_sigterm'] = False",
    ],
    ids=["installed", "the-app-s-own-handler", "ignored", "refused"],
)
def test_a_sender_made_in_a_thread_warns_only_when_sigterm_would_lose_its_queue(
    snap_server, tmp_path, setup
):
    """No warning with snapcapi's handler, the app's own, SIGTERM ignored, or the opt-out."""
    body = textwrap.dedent(
        f"""
        options = {{}}
        {setup}
        def serve_requests():
            sender = BackgroundSender(client, flush_interval=3600, **options)
            sender.enqueue(make_event(0))
            assert sender.flush(timeout=30)
        thread = threading.Thread(target=serve_requests, name="request-1")
        thread.start()
        thread.join()
        """
    )
    completed, _ = run_child(snap_server, tmp_path, body)
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""


def test_the_installer_says_whether_snapcapi_handles_sigterm(snap_server, tmp_path):
    """True once in place; False with the app's own handler, SIGTERM ignored, or in a thread."""
    body = textwrap.dedent(
        """
        install = BackgroundSender.install_sigterm_handler
        found = {}
        thread = threading.Thread(target=lambda: found.update(thread=install()), name="request-1")
        thread.start()
        thread.join()
        found["main"] = install()
        found["again"] = install()
        def own(signum, frame):
            pass
        signal.signal(signal.SIGTERM, own)
        found["own"] = install()
        found["kept"] = signal.getsignal(signal.SIGTERM) is own
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        found["ignored"] = install()
        print(json.dumps(found))
        """
    )
    completed, _ = run_child(snap_server, tmp_path, body)
    assert completed.returncode == 0, completed.stderr
    found = json.loads(completed.stdout.splitlines()[-1])
    assert found == {
        "thread": False, "main": True, "again": True, "own": False, "kept": True,
        "ignored": False,
    }  # fmt: skip
    assert completed.stderr.startswith(WARNING)  # the call from a thread said why


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
    [summary] = completed.stderr.splitlines()  # one line for all of them
    not_sent = sum(1 for _, reason in reported.values() if reason.startswith("not sent"))
    assert summary.startswith(
        "at exit: 20 of 20 events waiting were not delivered (close_timeout ran out after 0."
    )
    assert f": {not_sent} not sent, {20 - not_sent} interrupted while being sent" in summary
    snap_server.stop()  # end the hanging request


def test_the_exit_flush_says_what_is_at_stake_before_a_sigkill_can_cut_it(snap_server, tmp_path):
    """A SIGKILL during the exit flush (a grace period under close_timeout) leaves a trace."""
    snap_server.script("process", delay=60)  # Snap hangs: the exit flush waits
    body = """
    import logging
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    sender = BackgroundSender(client, close_timeout=60, on_result=record)
    for i in range(20):
        sender.enqueue(make_event(i))
    """  # then a normal exit, as a gunicorn worker's after its graceful stop
    script = child_script(snap_server, tmp_path / "results.txt", body)
    with subprocess.Popen(
        [sys.executable, "-c", script], stderr=subprocess.PIPE, text=True
    ) as child:
        for line in child.stderr:  # the process manager's SIGKILL comes during the wait
            if line.startswith("INFO at exit:"):
                child.kill()
                break
        assert child.wait(timeout=30) == -signal.SIGKILL
    assert line == (
        "INFO at exit: delivering the 20 events BackgroundSenders hold, within close_timeout "
        "(60.0s); a SIGKILL before that loses the rest unreported\n"
    )
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

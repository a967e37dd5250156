"""The command line: snapcapi demo, help and exit codes."""

from __future__ import annotations

import io
import signal
import subprocess
import sys

import pytest
import requests
from conftest import make_event

from snapcapi import Client, UserData, cli
from snapcapi.normalize import hash_value


def test_demo_runs_through_python_dash_m():
    """`python -m snapcapi demo` sends to the fake server and prints one row per event."""
    completed = subprocess.run(
        [sys.executable, "-m", "snapcapi", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    out = completed.stdout
    assert "order-1001   PURCHASE    ACCEPTED" in out
    assert "search-5005  SEARCH      INVALID" in out
    assert "order-6006   PURCHASE    REJECTED  400" in out
    assert "6 events: accepted 4, rejected 1, invalid 1" in out
    assert "The server recorded 4 events." in out
    assert "jane.doe" not in out.lower()


def test_help_and_usage_errors(capsys):
    """No command prints help and exits 2; --help lists the demo."""
    assert cli.main([]) == 2
    assert "demo" in capsys.readouterr().out
    out = io.StringIO()
    assert cli.run_demo(out) == 0
    assert "Fake Snap server at http://127.0.0.1:" in out.getvalue()


def start_fake_server(*flags):
    """Start `snapcapi fake-server` with flags; return the process, its URL and its token."""
    process = subprocess.Popen(
        [sys.executable, "-m", "snapcapi", "fake-server", "--pixel-id", "px-1", *flags],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    first = process.stdout.readline()
    assert first.startswith("fake Snap server at "), first
    url = first.split(" at ")[1].split()[0]
    token = [process.stdout.readline() for _ in range(3)][2].split("=", 1)[1].strip()
    return process, first, url, token


def stop(process):
    """Ctrl-C the server; return everything it printed after its first four lines."""
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=10)
    return out


def test_fake_server_shows_each_accepted_event_without_raw_values():
    """--show prints a line per accepted event: name, id, source, keys; hashes shortened."""
    process, _first, url, token = start_fake_server("--show")
    try:
        user = UserData(
            email="jane@example.com",
            phone="+1 415 555 0132",
            client_ip_address="203.0.113.7",
            client_user_agent="Mozilla/5.0 secret-agent",
            sc_cookie1="pixel-cookie-77",
        )
        with Client("px-1", token, base_url=url) as client:
            result = client.send([make_event(1, user_data=user), make_event(2)])
        assert result.ok
    finally:
        out = stop(process)
    lines = [line for line in out.splitlines() if line.startswith("+ ")]
    email_hash = hash_value("jane@example.com")
    assert lines[0] == (
        f"+ PURCHASE  event_id=e1  WEB  user_data: em=sha256:{email_hash[:8]}…, "
        "client_ip_address, client_user_agent, sc_cookie1, "
        f"ph=sha256:{hash_value('14155550132')[:8]}…"
    )  # the keys in the order they came
    assert lines[1].startswith("+ PURCHASE  event_id=e2  WEB  user_data: em=sha256:")
    assert len(lines) == 2
    for secret in (email_hash, "jane", "203.0.113.7", "secret-agent", "pixel-cookie-77", token):
        assert secret not in "\n".join(lines)
    assert "stopped; 2 events accepted" in out


def test_fake_server_answers_in_the_live_shape_when_asked():
    """--answers live makes the fake refuse as a live Snap does: only a top-level error_msgs."""
    process, first, url, token = start_fake_server("--answers", "live")
    try:
        refused = requests.post(
            f"{url}/v3/px-1/events", params={"access_token": token},
            json={"data": [{"event_name": "PURCHASE"}]}, timeout=10,
        )  # fmt: skip
    finally:
        out = stop(process)
    assert "(live answers;" in first
    assert refused.status_code == 400
    body = refused.json()
    assert body["status"] == "INVALID"
    assert body["error_msgs"]
    assert "errors" not in body
    assert "reason" not in body
    assert "+ " not in out  # nothing accepted, and --show was not asked for


def test_fake_server_help_names_answers_and_show(capsys):
    """`snapcapi fake-server --help` documents --answers and --show."""
    with pytest.raises(SystemExit):
        cli.main(["fake-server", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "--answers {documented,live}" in shown
    assert "--show" in shown
    assert "never a raw value or the token" in shown
    with pytest.raises(SystemExit):
        cli.main(["fake-server", "--answers", "guessed"])
    assert "invalid choice: 'guessed'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"SNAP_ACCESS_TOKEN": "  "}, "no access token: SNAP_ACCESS_TOKEN is set but blank"),
        ({}, "no access token: SNAP_ACCESS_TOKEN is not set"),
        (
            {"SNAP_ACCESS_TOKEN": "t", "SNAP_PIXEL_ID": "  "},
            "(or SNAP_PIXEL_ID; SNAP_PIXEL_ID is set but blank)",
        ),
    ],
)
def test_blank_credentials_are_called_blank(tmp_path, monkeypatch, capsys, variables, expected):
    """A variable set to spaces is told apart from one not set, in the command line's words."""
    for name in ("SNAP_ACCESS_TOKEN", "SNAP_PIXEL_ID", "SNAP_APP_ID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    source = tmp_path / "o.csv"
    source.write_text("email,event_time\na@example.com,2026-11-30T10:00:00Z\n")
    argv = ["send", str(source), "--event-name", "PURCHASE", "--action-source", "OFFLINE"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "Client(" not in err

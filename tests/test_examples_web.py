"""The Django, Flask and FastAPI example shops: checkout → background sender → fake Snap server."""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import pathlib
import re
import runpy
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from fastapi.testclient import TestClient

import snapcapi
from snapcapi import BackgroundSender, Client

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DJANGO_TESTS = (EXAMPLES / "django_shop" / "shop" / "tests.py").read_text(encoding="utf-8")
# The order both the Flask and the FastAPI checkout get, through one trusted proxy.
ORDER = {
    "id": "7",
    "email": "Jane@Example.com",
    "phone": "(415) 555-0132",
    "total": 19.99,
    "currency": "eur",
}
BEHIND_A_PROXY = {"User-Agent": "Mozilla/5.0", "X-Forwarded-For": "1.2.3.4, 203.0.113.7"}


def documented_command(pattern: str) -> list[str]:
    """The shell command docs/web.md gives (the one matching pattern), ready to run here."""
    text = (ROOT / "docs" / "web.md").read_text(encoding="utf-8")
    lines = re.findall(r"^```sh\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    [line] = [line for block in lines for line in block.splitlines() if re.search(pattern, line)]
    command = shlex.split(line, comments=True)
    assert command[0] == "python"
    return [sys.executable, *command[1:]]


def run(command: list[str], cwd: pathlib.Path) -> subprocess.CompletedProcess[str]:
    """Run a command as a user would, without leaving a pytest cache in the work tree."""
    env = {**os.environ, "PYTEST_ADDOPTS": "-p no:cacheprovider"}
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def load_example(relative: str, name: str):
    """Import an example's module from its file (the examples are not a package)."""
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / relative)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # as an import does: pydantic resolves the models' names there
    spec.loader.exec_module(module)
    return module


def load_flask_app():
    return load_example("flask_shop/app.py", "flask_shop_app")


def test_flask_checkout_sends_a_purchase_in_the_background(snap_server):
    """The Flask view answers at once; the PURCHASE reaches Snap with the request's data."""
    shop = load_flask_app()
    client = Client(snap_server.pixel_id, snap_server.token, base_url=snap_server.url)
    with client, BackgroundSender(client, flush_interval=3600, flush_at=100) as sender:
        app = shop.create_app(sender, trusted_proxies=1)
        browser = app.test_client()
        browser.set_cookie("_scid", "pixel-cookie")
        response = browser.post("/checkout?ScCid=click-9", json=ORDER, headers=BEHIND_A_PROXY)
        assert response.get_json() == {"status": "paid", "order": "7"}
        assert snap_server.events == []  # queued, not sent while the request was served
        assert sender.flush(timeout=10)
    [event] = snap_server.events
    user = event["user_data"]
    assert user["client_ip_address"] == "203.0.113.7"  # one trusted proxy
    assert user["sc_cookie1"] == "pixel-cookie"
    assert user["sc_click_id"] == "click-9"
    assert len(user["ph"][0]) == 64
    assert event["custom_data"] == {"value": 19.99, "currency": "EUR", "order_id": "7"}


def test_flask_checkout_sends_the_page_the_buyer_was_on(snap_server):
    """page_url in the order is the event's URL; its ScCid is the click id the API URL lacks."""
    shop = load_flask_app()
    client = Client(snap_server.pixel_id, snap_server.token, base_url=snap_server.url)
    with client, BackgroundSender(client, flush_interval=3600, flush_at=100) as sender:
        browser = shop.create_app(sender).test_client()
        order = {**ORDER, "page_url": "https://shop.example.com/cart?ScCid=page-click"}
        assert browser.post("/checkout", json=order).status_code == 200
        assert sender.flush(timeout=10)
    [event] = snap_server.events
    assert event["event_source_url"] == "https://shop.example.com/cart?ScCid=page-click"
    assert event["user_data"]["sc_click_id"] == "page-click"


def test_flask_checkout_survives_bad_order_data(snap_server, caplog):
    """A bad email is logged; the checkout still succeeds; nothing half-built is sent."""
    shop = load_flask_app()
    client = Client(snap_server.pixel_id, snap_server.token, base_url=snap_server.url)
    with client, BackgroundSender(client) as sender:
        response = (
            shop.create_app(sender)
            .test_client()
            .post("/checkout", json={"id": "8", "email": "nope", "total": 1, "currency": "USD"})
        )
        assert response.status_code == 200
        assert sender.flush(timeout=10)
    assert snap_server.events == []
    assert "order 8 not sent to Snap" in caplog.text


def test_django_example_tests_run_from_the_repository_root():
    """The command docs/web.md gives, run from the repository root, runs every shop test."""
    command = documented_command(r"manage\.py test")
    assert command[1:] == ["examples/django_shop/manage.py", "test"]
    completed = run([*command, "--verbosity", "2"], ROOT)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    ran = re.search(r"^Ran (\d+) tests?", completed.stderr, re.MULTILINE)
    assert ran, completed.stderr
    assert int(ran[1]) == DJANGO_TESTS.count("    def test_") > 0


def test_django_example_tests_run_from_the_project_directory():
    """``python manage.py test`` inside examples/django_shop runs the same tests."""
    completed = run([sys.executable, "manage.py", "test"], EXAMPLES / "django_shop")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    ran = re.search(r"^Ran (\d+) tests?", completed.stderr, re.MULTILINE)
    assert ran, completed.stderr
    assert int(ran[1]) == DJANGO_TESTS.count("    def test_") > 0


@pytest.fixture
def fastapi_shop(snap_server, monkeypatch):
    """examples/fastapi_shop/main.py, configured from the environment for the fake server."""
    monkeypatch.setenv("SNAP_PIXEL_ID", snap_server.pixel_id)
    monkeypatch.setenv("SNAP_ACCESS_TOKEN", snap_server.token)
    monkeypatch.setenv("SNAP_CAPI_BASE_URL", snap_server.url)
    monkeypatch.setenv("SNAP_TRUSTED_PROXIES", "1")
    return load_example("fastapi_shop/main.py", "fastapi_shop_main")


def test_fastapi_checkout_sends_a_purchase_in_the_background(snap_server, fastapi_shop):
    """The FastAPI endpoint answers at once; the PURCHASE reaches Snap with the request's data."""
    app = fastapi_shop.create_app(flush_interval=3600, flush_at=100)
    with TestClient(app) as browser:  # the lifespan starts the sender
        browser.cookies.set("_scid", "pixel-cookie")
        response = browser.post("/checkout?ScCid=click-9", json=ORDER, headers=BEHIND_A_PROXY)
        answer = response.json()
        assert answer == {"status": "paid", "order": "7", "snap_event_id": "order-7"}
        assert snap_server.events == []  # queued, not sent while the request was served
        assert app.state.snap.flush(timeout=10)
    [event] = snap_server.events
    assert event["event_id"] == answer["snap_event_id"]  # what the page gives the Pixel
    assert event["event_name"] == "PURCHASE"
    assert event["event_source_url"] == "http://testserver/checkout?ScCid=click-9"
    user = event["user_data"]
    assert user["em"] == [snapcapi.normalize.hash_value("jane@example.com")]
    assert user["ph"] == [snapcapi.normalize.hash_value("14155550132")]
    assert user["client_ip_address"] == "203.0.113.7"  # one trusted proxy
    assert user["client_user_agent"] == "Mozilla/5.0"
    assert user["sc_cookie1"] == "pixel-cookie"
    assert user["sc_click_id"] == "click-9"
    assert event["custom_data"] == {"value": 19.99, "currency": "EUR", "order_id": "7"}


def test_fastapi_checkout_sends_the_page_the_buyer_was_on(snap_server, fastapi_shop):
    """page_url in the order is the event's URL; its ScCid is the click id the API URL lacks."""
    app = fastapi_shop.create_app(flush_interval=3600, flush_at=100)
    page = "https://shop.example.com/cart?ScCid=page-click#pay"
    with TestClient(app) as browser:
        for order_id, target in (("10", "/checkout"), ("11", "/checkout?ScCid=api-click")):
            order = {**ORDER, "id": order_id, "page_url": page}
            assert browser.post(target, json=order, headers=BEHIND_A_PROXY).status_code == 200
        bad = {**ORDER, "id": "12", "page_url": "/cart"}  # not a URL: logged, checkout still paid
        assert browser.post("/checkout", json=bad).status_code == 200
        assert app.state.snap.flush(timeout=10)
    events = {event["event_id"]: event for event in snap_server.events}
    assert sorted(events) == ["order-10", "order-11"]
    for event in events.values():
        assert event["event_source_url"] == "https://shop.example.com/cart?ScCid=page-click"
    assert events["order-10"]["user_data"]["sc_click_id"] == "page-click"
    assert events["order-11"]["user_data"]["sc_click_id"] == "api-click"  # the API URL's first


def test_fastapi_lifespan_starts_the_sender_and_its_end_delivers_the_queue(
    snap_server, fastapi_shop
):
    """Nothing starts at import; leaving the lifespan sends what waits and closes the client."""
    app = fastapi_shop.create_app(flush_interval=3600, flush_at=100)
    assert not hasattr(app.state, "snap")  # made by the lifespan, in the serving process
    with TestClient(app) as browser:
        sender = app.state.snap
        order = {"id": "8", "email": "jane@example.com", "total": "5", "currency": "USD"}
        assert browser.post("/checkout", json=order).status_code == 200
        assert sender.pending == 1
    assert snap_server.event_ids() == {"order-8"}  # sent by the close at shutdown
    assert "closed=True" in repr(sender)
    with pytest.raises(snapcapi.SnapCapiError, match="closed"):
        sender.client.send([])


def test_fastapi_checkout_survives_bad_order_data(snap_server, fastapi_shop, caplog):
    """A bad email is logged; the checkout still succeeds; nothing half-built is sent."""
    app = fastapi_shop.create_app()
    with TestClient(app) as browser:
        order = {"id": "9", "email": "nope", "total": 1, "currency": "USD"}
        response = browser.post("/checkout", json=order)
        assert response.status_code == 200
        assert app.state.snap.flush(timeout=10)
    assert snap_server.events == []
    assert "order 9 not sent to Snap" in caplog.text


@pytest.mark.parametrize(
    ("shop", "tests"), [("flask_shop", "test_app.py"), ("fastapi_shop", "test_main.py")]
)
def test_example_tests_pass_from_the_repository_root(shop, tests):
    """The command docs/web.md gives runs the shop's own test file, and every test passes."""
    completed = run(documented_command(rf"pytest examples/{shop}"), ROOT)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    text = (EXAMPLES / shop / tests).read_text(encoding="utf-8")
    count = len(re.findall(r"^def test_", text, re.MULTILINE))
    assert count > 0
    assert f"{count} passed" in completed.stdout


@pytest.mark.parametrize("program", ["flask_shop/app.py", "fastapi_shop/main.py"])
def test_example_runs(program):
    """The shop's program runs on its own against the fake server and shows what Snap got."""
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / program)],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert "PURCHASE order-1001" in completed.stdout
    assert "sc_cookie1" in completed.stdout
    assert "outside the main thread" not in completed.stderr  # the SIGTERM handler was in place


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_django_shop(snap_server, command: list[str], port: int) -> subprocess.Popen[str]:
    """Start the Django example under a real server, pointed at the fake Snap server."""
    env = {
        **os.environ,
        "SNAP_PIXEL_ID": snap_server.pixel_id,
        "SNAP_ACCESS_TOKEN": snap_server.token,
        "SNAP_CAPI_BASE_URL": snap_server.url,
        "PYTHONUNBUFFERED": "1",
    }
    server = subprocess.Popen(
        command, cwd=EXAMPLES / "django_shop", env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise AssertionError(f"the server did not start: {server.communicate()[0]}")


def check_out(port: int, orders: int, tag: str) -> None:
    """Post ``orders`` checkouts to the shop on ``port``, as a browser's page would."""
    for number in range(orders):
        order = {"id": f"{tag}-{number}", "email": f"buyer{number}@example.com",
                 "total": "1.00", "currency": "USD"}  # fmt: skip
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/checkout", data=json.dumps(order).encode(),
            headers={"Content-Type": "application/json", "User-Agent": "Mozilla/5.0"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert json.load(answer)["status"] == "paid"


def stop(server: subprocess.Popen[str]) -> tuple[int, str]:
    """SIGTERM the server, as a process manager stops it; return its exit status and output."""
    server.send_signal(signal.SIGTERM)
    try:
        output, _ = server.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        output, _ = server.communicate()
        raise AssertionError(f"SIGTERM did not end the server: {output}") from None
    return server.returncode, output


DJANGO_SERVERS = {
    "runserver": [sys.executable, "manage.py", "runserver", "--noreload", "127.0.0.1:{port}"],
    "waitress": [sys.executable, "-m", "waitress", "--listen=127.0.0.1:{port}",
                 "shop.wsgi:application"],
    "gunicorn": [sys.executable, "-m", "gunicorn", "-b", "127.0.0.1:{port}", "shop.wsgi"],
}  # fmt: skip


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("name", sorted(DJANGO_SERVERS))
def test_django_shop_delivers_every_checkout_when_its_server_gets_sigterm(snap_server, name):
    """The lazy sender, made in a request thread: SIGTERM to the server delivers all 30."""
    # The servers come with the test extra: a missing one is a broken install, not a skip.
    snap_server.latency = 0.2  # a Snap that takes its time: events still queued at SIGTERM
    port = free_port()
    command = [part.format(port=port) for part in DJANGO_SERVERS[name]]
    server = serve_django_shop(snap_server, command, port)
    check_out(port, 30, name)
    status, output = stop(server)
    expected = {f"order-{name}-{number}" for number in range(30)}
    assert snap_server.event_ids() == expected, output
    # gunicorn ends by a normal exit; the others by SIGTERM again, after the delivery.
    assert status == (0 if name == "gunicorn" else -signal.SIGTERM), output
    assert "snapcapi" not in output  # nothing lost, nothing to warn about


def test_django_shop_gives_the_exit_flush_its_time_under_gunicorn():
    """gunicorn.conf.py lets a worker outlive the sender's close_timeout, with a margin."""
    settings = runpy.run_path(str(EXAMPLES / "django_shop" / "gunicorn.conf.py"))
    close_timeout = inspect.signature(BackgroundSender).parameters["close_timeout"].default
    assert settings["graceful_timeout"] >= close_timeout + 5
    text = (ROOT / "docs" / "web.md").read_text(encoding="utf-8")
    assert "graceful_timeout = 15" in text  # the line the docs give to copy

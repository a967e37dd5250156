# test_app.py, next to app.py
import pytest
from app import create_app

import snapcapi


@pytest.fixture
def sender(snap_server):
    """A BackgroundSender sending to the fake Snap server; closed after the test."""
    client = snapcapi.Client(snap_server.pixel_id, snap_server.token, base_url=snap_server.url)
    # flush_interval=3600: events wait in the queue until the test flushes the sender
    with client, snapcapi.BackgroundSender(client, flush_interval=3600) as sender:
        yield sender


def test_checkout_sends_a_purchase(snap_server, sender):
    """The checkout answers at once; once flushed, Snap has the PURCHASE."""
    browser = create_app(sender).test_client()
    browser.set_cookie("_scid", "pixel-cookie")  # set by the Snap Pixel on the page
    response = browser.post(
        "/checkout?ScCid=click-1",
        json={"id": "1001", "email": "Jane@Example.com", "total": "42.50", "currency": "usd"},
        headers={"User-Agent": "Mozilla/5.0"},
    )
    assert response.get_json() == {"status": "paid", "order": "1001"}
    assert snap_server.events == []  # still queued: the view did not wait on Snap
    assert sender.flush(timeout=10)  # the sender's thread sends it: wait before asserting
    [event] = snap_server.events
    assert event["event_name"] == "PURCHASE"
    assert event["event_id"] == "order-1001"
    assert event["custom_data"] == {"value": 42.5, "currency": "USD", "order_id": "1001"}
    assert event["user_data"]["sc_cookie1"] == "pixel-cookie"
    assert event["user_data"]["sc_click_id"] == "click-1"
    assert event["user_data"]["em"] == [snapcapi.normalize.hash_value("jane@example.com")]


def test_a_bad_email_does_not_break_the_checkout(snap_server, sender, caplog):
    """A bad email is logged, the checkout still succeeds, nothing is sent."""
    browser = create_app(sender).test_client()
    order = {"id": "1002", "email": "not-an-email", "total": "5", "currency": "USD"}
    response = browser.post("/checkout", json=order)
    assert response.status_code == 200
    assert sender.flush(timeout=10)
    assert snap_server.events == []
    assert "order 1002 not sent to Snap" in caplog.text

# test_main.py, next to main.py
import pytest
from fastapi.testclient import TestClient
from main import create_app

import snapcapi


@pytest.fixture
def shop(snap_server, monkeypatch):
    """The app configured from the environment to send to the fake Snap server."""
    monkeypatch.setenv("SNAP_PIXEL_ID", snap_server.pixel_id)
    monkeypatch.setenv("SNAP_ACCESS_TOKEN", snap_server.token)
    monkeypatch.setenv("SNAP_CAPI_BASE_URL", snap_server.url)
    # flush_interval=3600: events wait in the queue until the test flushes the sender
    return create_app(flush_interval=3600)


def test_checkout_sends_a_purchase(snap_server, shop):
    """The checkout answers at once; once flushed, Snap has the PURCHASE."""
    with TestClient(shop) as browser:  # runs the lifespan: the sender starts
        browser.cookies.set("_scid", "pixel-cookie")  # set by the Snap Pixel on the page
        response = browser.post(
            "/checkout?ScCid=click-1",
            json={"id": "1001", "email": "Jane@Example.com", "total": "42.50", "currency": "usd"},
            headers={"User-Agent": "Mozilla/5.0"},
        )
        assert response.json() == {
            "status": "paid",
            "order": "1001",
            "snap_event_id": "order-1001",  # for the page's Pixel call (client_dedup_id)
        }
        assert snap_server.events == []  # still queued: the endpoint did not wait on Snap
        assert shop.state.snap.flush(timeout=10)  # sent from the sender's thread: wait for it
    [event] = snap_server.events
    assert event["event_name"] == "PURCHASE"
    assert event["event_id"] == "order-1001"
    assert event["custom_data"] == {"value": 42.5, "currency": "USD", "order_id": "1001"}
    assert event["user_data"]["sc_cookie1"] == "pixel-cookie"
    assert event["user_data"]["sc_click_id"] == "click-1"
    assert event["user_data"]["em"] == [snapcapi.normalize.hash_value("jane@example.com")]


def test_the_event_is_on_the_page_the_buyer_was_on(snap_server, shop):
    """With page_url, the event's URL is that page, and its ScCid is the click id."""
    with TestClient(shop) as browser:
        order = {
            "id": "1003",
            "email": "jane@example.com",
            "total": "9.90",
            "currency": "USD",
            "page_url": "https://shop.example.com/cart?ScCid=click-from-the-ad",  # location.href
        }
        assert browser.post("/checkout", json=order).status_code == 200
        assert shop.state.snap.flush(timeout=10)
    [event] = snap_server.events
    assert event["event_source_url"] == "https://shop.example.com/cart?ScCid=click-from-the-ad"
    assert event["user_data"]["sc_click_id"] == "click-from-the-ad"


def test_a_bad_email_does_not_break_the_checkout(snap_server, shop, caplog):
    """A bad email is logged, the checkout still succeeds, nothing is sent."""
    with TestClient(shop) as browser:
        order = {"id": "1002", "email": "not-an-email", "total": "5", "currency": "USD"}
        response = browser.post("/checkout", json=order)
        assert response.status_code == 200
        assert shop.state.snap.flush(timeout=10)
    assert snap_server.events == []
    assert "order 1002 not sent to Snap" in caplog.text

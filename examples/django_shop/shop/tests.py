"""The checkout, through Django's test client, against snapcapi's fake Snap server."""

from __future__ import annotations

import os

from django.test import SimpleTestCase, override_settings

from snapcapi.testing import FakeSnapServer

from . import snap


class CheckoutSendsPurchase(SimpleTestCase):
    """A paid order reaches Snap as a PURCHASE with the request's identifiers."""

    def setUp(self) -> None:
        self.server = FakeSnapServer().start()
        os.environ["SNAP_ACCESS_TOKEN"] = self.server.token
        self.settings = override_settings(
            SNAP_PIXEL_ID=self.server.pixel_id, SNAP_CAPI_BASE_URL=self.server.url
        )
        self.settings.enable()
        snap.reset()

    def tearDown(self) -> None:
        snap.reset()
        self.settings.disable()
        self.server.stop()

    def test_checkout_enqueues_a_purchase(self) -> None:
        """The order, the cookie, the click id and the IP reach Snap, hashed where due."""
        self.client.cookies["_scid"] = "cookie-from-the-pixel"
        response = self.client.post(
            "/checkout?ScCid=click-123",
            data={
                "id": "1001",
                "email": " Jane@Example.com ",
                "total": "42.50",
                "currency": "usd",
            },
            content_type="application/json",
            HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
        )
        assert response.json() == {"status": "paid", "order": "1001"}
        assert snap.sender().flush(timeout=10)
        [event] = self.server.events
        assert event["event_name"] == "PURCHASE"
        assert event["event_id"] == "order-1001"
        assert event["custom_data"] == {"value": 42.5, "currency": "USD", "order_id": "1001"}
        user = event["user_data"]
        assert len(user["em"][0]) == 64  # hashed, never raw
        assert user["sc_cookie1"] == "cookie-from-the-pixel"
        assert user["sc_click_id"] == "click-123"
        assert user["client_ip_address"] == "127.0.0.1"
        assert event["event_source_url"] == "http://testserver/checkout?ScCid=click-123"

    def test_the_event_is_on_the_page_the_buyer_was_on(self) -> None:
        """With page_url in the order, the event's URL is that page; its ScCid the click id."""
        response = self.client.post(
            "/checkout",
            data={
                "id": "1003",
                "email": "jane@example.com",
                "total": "9.90",
                "currency": "USD",
                "page_url": "https://shop.example.com/cart?ScCid=click-from-the-ad",
            },
            content_type="application/json",
        )
        assert response.status_code == 200
        assert snap.sender().flush(timeout=10)
        [event] = self.server.events
        assert event["event_source_url"] == "https://shop.example.com/cart?ScCid=click-from-the-ad"
        assert event["user_data"]["sc_click_id"] == "click-from-the-ad"

    def test_a_bad_email_does_not_break_the_checkout(self) -> None:
        """A bad email is logged, the checkout still succeeds, nothing is sent."""
        with self.assertLogs("shop.views", "WARNING"):
            response = self.client.post(
                "/checkout",
                data={"id": "1002", "email": "not-an-email", "total": "5", "currency": "USD"},
                content_type="application/json",
            )
        assert response.status_code == 200
        assert snap.sender().flush(timeout=10)
        assert self.server.events == []

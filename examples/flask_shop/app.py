"""A Flask shop whose checkout sends a PURCHASE to Snap without waiting on it.

The view builds the event from the order and the request (IP, user agent, Snap cookie and
click id, page URL) and hands it to a ``BackgroundSender``; the response never waits on Snap
and a bad value in the order never breaks the checkout. The checkout is an API call made by
the shop's page: the page sends its own URL with the order (``page_url``, its
``location.href``), which is the event's URL, and whose ``ScCid`` is the click id when the API
URL has none. Run it against the fake server with
``python examples/flask_shop/app.py`` (it prints what Snap received).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from flask import Flask, Response, jsonify, request

import snapcapi

log = logging.getLogger(__name__)


def create_app(sender: snapcapi.BackgroundSender, *, trusted_proxies: int = 0) -> Flask:
    """Build the app around a sender (one per process; it survives gunicorn's fork).

    Call it at startup, in the main thread (a ``wsgi.py``: ``app = create_app(sender)``), as
    app factories are: it installs snapcapi's SIGTERM handler there, which a sender made later
    in a request thread could not do (see docs/web.md, "When the process ends").
    """
    snapcapi.BackgroundSender.install_sigterm_handler()  # kept out if the server has its own
    app = Flask(__name__)

    @app.post("/checkout")
    def checkout() -> Response:
        order = request.get_json(force=True)
        # ... charge the card, store the order ...
        try:
            context = snapcapi.web.from_wsgi(
                request.environ,
                trusted_proxies=trusted_proxies,
                page_url=order.get("page_url"),  # the page the buyer was on (location.href)
            )
            sender.enqueue(
                snapcapi.Event(
                    event_name="PURCHASE",
                    event_time=datetime.now(timezone.utc),
                    action_source="WEB",
                    event_source_url=context.event_source_url,
                    event_id=f"order-{order['id']}",  # the Pixel sends the same id: deduplicated
                    user_data=context.user_data(
                        email=order.get("email"), phone=order.get("phone"), region="US"
                    ),
                    custom_data=snapcapi.CustomData(
                        value=order["total"], currency=order["currency"], order_id=order["id"]
                    ),
                )
            )
        except snapcapi.ValidationError as exc:  # never let tracking break a checkout
            log.warning("order %s not sent to Snap: %s", order.get("id"), exc)
        return jsonify(status="paid", order=order["id"])

    return app


def main() -> None:
    """Serve one checkout against the fake Snap server and show what it received."""
    from snapcapi.testing import FakeSnapServer

    with FakeSnapServer() as server:
        client = snapcapi.Client(server.pixel_id, server.token, base_url=server.url)
        with snapcapi.BackgroundSender(client) as sender:
            app = create_app(sender)
            browser = app.test_client()
            browser.set_cookie("_scid", "demo-cookie")  # set by the Snap Pixel on the page
            response = browser.post(
                "/checkout?ScCid=demo-click",
                json={
                    "id": "1001",
                    "email": "Jane@Example.com",
                    "total": "42.50",
                    "currency": "usd",
                },
                headers={"User-Agent": "Mozilla/5.0"},
            )
            print(response.status_code, response.get_json())
        event = server.events[0]
        print(event["event_name"], event["event_id"], sorted(event["user_data"]))


if __name__ == "__main__":
    main()

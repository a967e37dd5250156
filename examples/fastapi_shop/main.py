"""A FastAPI shop whose checkout sends a PURCHASE to Snap without waiting on it.

Configured from the environment, as in production: ``SNAP_PIXEL_ID`` and ``SNAP_ACCESS_TOKEN``
(and ``SNAP_CAPI_BASE_URL``) for the client, ``SNAP_TRUSTED_PROXIES`` for the proxies you run
in front of the app. The app's lifespan makes one ``BackgroundSender`` when the server starts
(in each worker process) and closes it when the server stops, sending what still waits.

The endpoint builds the event from the order and the request (IP, user agent, Snap cookie and
click id) and only enqueues it: the response never waits on Snap, and a bad value in the order
never breaks the checkout. It answers with the event id, for the page to give the Pixel
(``client_dedup_id``) so that Snap counts the purchase once.

The checkout is an API call (``POST /checkout``) made by the shop's page, so the request's URL
is the API's, not the page the buyer was on. The page sends its own URL with the order
(``page_url``: the front end's ``location.href``); it becomes the event's ``event_source_url``,
and its ``ScCid`` (the Snap ad click that brought the buyer) is the click id when the API URL
has none. Without ``page_url`` the API URL is used, as before.

Serve it with ``uvicorn main:app`` in this directory; ``python examples/fastapi_shop/main.py``
runs one checkout against the fake Snap server and prints what it received.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Request
from pydantic import BaseModel

import snapcapi

log = logging.getLogger(__name__)


class Order(BaseModel):
    id: str
    total: Decimal
    currency: str
    email: str | None = None
    phone: str | None = None
    page_url: str | None = None  # the page the buyer was on: the front end's location.href


def snap_event_id(order_id: str) -> str:
    """The id the server's event and the page's Pixel call share: Snap deduplicates on it."""
    return f"order-{order_id}"


def create_app(**sender_options: Any) -> FastAPI:
    """Build the app; at startup its lifespan reads the environment and starts the sender.

    ``sender_options`` go to the ``BackgroundSender`` (tests hold events with a long
    ``flush_interval`` until they flush).

    Called at import, in the main thread, it installs snapcapi's SIGTERM handler there: the
    lifespan may run in another thread (``TestClient`` runs it in one), where Python cannot.
    While uvicorn serves, SIGTERM is uvicorn's to handle: its shutdown runs the lifespan's
    ``close()``, which delivers the queue.
    """
    snapcapi.BackgroundSender.install_sigterm_handler()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = snapcapi.Client()  # SNAP_PIXEL_ID, SNAP_ACCESS_TOKEN, SNAP_CAPI_BASE_URL
        app.state.snap = snapcapi.BackgroundSender(client, **sender_options)
        app.state.trusted_proxies = int(os.environ.get("SNAP_TRUSTED_PROXIES", "0"))
        try:
            yield
        finally:
            app.state.snap.close()  # sends what is still queued
            client.close()

    app = FastAPI(lifespan=lifespan)

    # A plain def, not async def: FastAPI runs it in a worker thread, so even an enqueue that
    # waits for room in a full queue (at most block_timeout, 50 ms by default, then the event
    # is dropped and reported) never holds up the event loop.
    @app.post("/checkout")
    def checkout(order: Order, request: Request) -> dict[str, str]:
        # ... charge the card, store the order ...
        event_id = snap_event_id(order.id)
        try:
            context = snapcapi.web.from_asgi(
                request, trusted_proxies=app.state.trusted_proxies, page_url=order.page_url
            )
            app.state.snap.enqueue(
                snapcapi.Event(
                    event_name="PURCHASE",
                    event_time=datetime.now(timezone.utc),
                    action_source="WEB",
                    event_source_url=context.event_source_url,
                    event_id=event_id,
                    user_data=context.user_data(email=order.email, phone=order.phone, region="US"),
                    custom_data=snapcapi.CustomData(
                        value=order.total, currency=order.currency, order_id=order.id
                    ),
                )
            )
        except snapcapi.ValidationError as exc:  # never let tracking break a checkout
            log.warning("order %s not sent to Snap: %s", order.id, exc)
        return {"status": "paid", "order": order.id, "snap_event_id": event_id}

    return app


app = create_app()  # for `uvicorn main:app`: the sender starts with the server, not at import


def main() -> None:
    """Serve one checkout against the fake Snap server and show what it received."""
    from fastapi.testclient import TestClient

    from snapcapi.testing import FakeSnapServer

    with FakeSnapServer() as server:
        os.environ.update(
            SNAP_PIXEL_ID=server.pixel_id,
            SNAP_ACCESS_TOKEN=server.token,
            SNAP_CAPI_BASE_URL=server.url,
        )
        with TestClient(create_app()) as browser:  # runs the lifespan: starts, then closes
            browser.cookies.set("_scid", "demo-cookie")  # set by the Snap Pixel on the page
            response = browser.post(
                "/checkout",  # the page's fetch(): its own URL, with the ad's ScCid, in the body
                json={
                    "id": "1001",
                    "email": "Jane@Example.com",
                    "total": "42.50",
                    "currency": "usd",
                    "page_url": "https://shop.example.com/cart?ScCid=demo-click",
                },
                headers={"User-Agent": "Mozilla/5.0"},
            )
            print(response.status_code, response.json())
        event = server.events[0]  # sent by the lifespan's close, at the latest
        print(event["event_name"], event["event_id"], sorted(event["user_data"]))
        print("event_source_url:", event["event_source_url"])


if __name__ == "__main__":
    main()

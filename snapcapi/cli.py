"""The ``snapcapi`` command line: a thin layer over :class:`snapcapi.Client`.

``snapcapi demo`` starts the embedded fake Snap server, sends a handful of realistic events
through the real client and prints what became of each one.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import TextIO

from snapcapi.client import Client
from snapcapi.custom_data import CustomData
from snapcapi.events import Event
from snapcapi.results import SendResult
from snapcapi.testing import FakeSnapServer
from snapcapi.user_data import UserData

__all__ = ["main"]

_UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 Version/17.1 Safari"


def demo_events(now: datetime) -> list[Event]:
    """Build the demo's events: four good ones, one unfit to send, one Snap will reject."""
    shop = "https://shop.example.com"
    return [
        Event(
            event_name="Purchase",
            event_time=now - timedelta(minutes=2),
            action_source="website",
            event_source_url=f"{shop}/checkout/thanks",
            event_id="order-1001",
            user_data=UserData(
                email=" Jane.Doe@Example.com ",
                phone="(415) 555-0132",
                region="US",
                client_ip_address="203.0.113.7",
                client_user_agent=_UA,
            ),
            custom_data=CustomData(value=Decimal("142.52"), currency="usd", order_id="order-1001"),
        ),
        Event(
            event_name="Add to Cart",
            event_time=now - timedelta(minutes=9),
            action_source="WEB",
            event_source_url=f"{shop}/products/boots",
            event_id="cart-2002",
            user_data=UserData(client_ip_address="198.51.100.23", client_user_agent=_UA),
            custom_data=CustomData(content_ids=["boots-42"], value="89.00", currency="USD"),
        ),
        Event(
            event_name="Complete Registration",
            event_time=now - timedelta(hours=1),
            action_source="WEB",
            event_source_url=f"{shop}/signup",
            event_id="signup-3003",
            user_data=UserData(email="raphael@example.fr", first_name="Raphaël", country="FR"),
            custom_data=CustomData(sign_up_method="email"),
        ),
        Event(
            event_name="PURCHASE",
            event_time=now - timedelta(days=2),
            action_source="physical_store",
            event_id="store-4004",
            user_data=UserData(phone="+44 20 7946 0958", last_name="O'Neil"),
            custom_data=CustomData(value=25, currency="GBP", order_id="store-4004"),
        ),
        Event(  # no matching key: reported INVALID, never sent
            event_name="SEARCH",
            event_time=now,
            action_source="WEB",
            event_source_url=f"{shop}/search?q=boots",
            event_id="search-5005",
            user_data=UserData(client_ip_address="192.0.2.10"),
            custom_data=CustomData(search_string="boots"),
        ),
        Event(  # the fake server is told to reject this one, as Snap would a bad event
            event_name="PURCHASE",
            event_time=now - timedelta(minutes=30),
            action_source="WEB",
            event_source_url=f"{shop}/checkout/thanks",
            event_id="order-6006",
            user_data=UserData(email="buyer@example.com"),
            custom_data=CustomData(value="10.00", currency="EUR", order_id="order-6006"),
        ),
    ]


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def print_table(events: Sequence[Event], result: SendResult, out: TextIO) -> None:
    """Print one line per event: index, id, name, status, attempts and reason."""
    rows = [("#", "event_id", "event_name", "status", "http", "tries", "reason")]
    for event, outcome in zip(events, result.events, strict=True):
        rows.append(
            (
                str(outcome.index),
                outcome.event_id or "",
                event.event_name.value,
                outcome.status.value,
                str(outcome.http_status or ""),
                str(outcome.attempts),
                _shorten(outcome.reason or "", 100),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        out.write(line.rstrip() + "\n")
    counts = ", ".join(f"{name.lower()} {n}" for name, n in result.counts.items() if n)
    out.write(f"\n{len(result)} events: {counts}\n")


def run_demo(out: TextIO) -> int:
    """Send the demo events to a fake Snap server and print the per-event results."""
    now = datetime.now(timezone.utc)
    events = demo_events(now)
    with (
        FakeSnapServer() as server,
        Client(server.pixel_id, server.token, base_url=server.url) as client,
    ):
        server.reject("order-6006", code="INVALID_CURRENCY", message="Currency not enabled")
        server.script(503, headers={"Retry-After": "0"})  # one outage, retried transparently
        out.write(f"Fake Snap server at {server.url}; sending {len(events)} events...\n\n")
        result = client.send(events)
        print_table(events, result, out)
        out.write(f"The server recorded {len(server.unique_events())} events.\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``snapcapi`` command line."""
    parser = argparse.ArgumentParser(
        prog="snapcapi",
        description="Send conversions to Snap's Conversions API v3.",
        epilog="Example: snapcapi demo",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "demo",
        help="send example events to an embedded fake Snap server and print the results",
        description=(
            "Start a fake Snap server on 127.0.0.1, send six realistic events through the real "
            "client (one unfit to send, one the server rejects, one outage retried) and print "
            "what became of each event. Needs no network and no credentials."
        ),
    )
    args = parser.parse_args(argv)
    if args.command == "demo":
        return run_demo(sys.stdout)
    parser.print_help()
    return 2

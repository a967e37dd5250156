"""Build Snap CAPI events from messy order records and print what would be sent.

Run it with ``python examples/build_events.py``. Nothing is sent anywhere: this shows the
normalization and hashing, the per-event problems, and the exact JSON body.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import snapcapi

NOW = datetime.now(timezone.utc)

ORDERS = [
    {
        "event_name": "Purchase",
        "event_time": (NOW - timedelta(minutes=3)).isoformat(),
        "action_source": "website",
        "event_source_url": "https://shop.example.com/checkout",
        "event_id": "order-1001",
        "email": "  Jane.Doe@Example.COM ",
        "phone": "(415) 555-0132",
        "first_name": "Jane",
        "last_name": "O'Neil",
        "zip": "94107-1234",
        "client_ip_address": "203.0.113.7",
        "client_user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15",
        "value": "142.52",
        "currency": "usd",
    },
    {
        "event_name": "Add to Cart",
        "event_time": int((NOW - timedelta(hours=2)).timestamp()),
        "action_source": "physical_store",
        "event_id": "cart-77",
        "email": "not-an-email",
        "phone": "+44 20 7946 0958",
        "first_name": "Raphaël",
        "country": "United Kingdom",
    },
    {
        "event_name": "Search",
        "event_time": int(NOW.timestamp()),
        "action_source": "WEB",
        "event_source_url": "https://shop.example.com/search?q=boots",
        "client_ip_address": "198.51.100.23",
        "search_string": "boots",
    },
]

COLUMNS = {"zip": "zip_code"}


def main() -> None:
    """Build one event per order and print its problems, warnings and payload."""
    events = []
    for number, order in enumerate(ORDERS, start=1):
        record = {COLUMNS.get(key, key): value for key, value in order.items()}
        event = snapcapi.Event.from_dict(record, region="US", on_invalid="drop")
        print(f"order {number}: {event.event_name} ({', '.join(event.match_keys) or 'no keys'})")
        for warning in event.warnings:
            print(f"  warning: {warning}")
        for problem in event.problems():
            print(f"  not sendable: {problem}")
        events.append(event)
    body = {"data": [event.to_payload() for event in events if not event.problems()]}
    print(json.dumps(body, indent=2))


if __name__ == "__main__":
    main()

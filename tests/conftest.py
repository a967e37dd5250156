"""Shared helpers for the tests."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from snapcapi import AppData, Client, CustomData, Event, UserData
from snapcapi.testing import FakeSnapServer

# Property tests judge behaviour, not speed: on a fresh or busy machine hypothesis' first draws
# (building its Unicode tables) and single examples can be slow, which is not a failure here.
settings.register_profile("snapcapi", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("snapcapi")


def make_event(i: int = 0, **overrides: Any) -> Event:
    """A valid WEB purchase with event_id f"e{i}"."""
    fields: dict[str, Any] = {
        "event_name": "PURCHASE",
        "event_time": datetime.now(timezone.utc) - timedelta(minutes=5),
        "action_source": "WEB",
        "event_source_url": "https://shop.example.com/checkout",
        "event_id": f"e{i}",
        "user_data": UserData(email=f"buyer{i}@example.com"),
        "custom_data": CustomData(value=Decimal("10.50"), currency="USD"),
    }
    fields.update(overrides)
    return Event(**fields)


def make_app_event(i: int = 0) -> Event:
    """A valid MOBILE_APP event with event_id f"app{i}"."""
    return make_event(
        i,
        event_name="APP_OPEN",
        action_source="MOBILE_APP",
        event_id=f"app{i}",
        event_source_url=None,
        custom_data=None,
        user_data=UserData(madid="6d92078a-8246-4ba4-ae5b-76104861e7dc"),
        app_data=AppData(platform="ios", app_id="123456789"),
    )


class Sleeps(list[float]):
    """An injectable sleep that records instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_client(snap_server: FakeSnapServer, sleeps: Sleeps):
    """Build clients for the fake server that sleep instantly; closed after the test."""
    made: list[Client] = []

    def build(**options: Any) -> Client:
        settings: dict[str, Any] = {
            "snap_app_id": snap_server.snap_app_id,
            "base_url": snap_server.url,
            "sleep": sleeps,
            "rng": random.Random(0),
        }
        settings.update(options)
        client = Client(snap_server.pixel_id, snap_server.token, **settings)
        made.append(client)
        return client

    yield build
    for client in made:
        client.close()

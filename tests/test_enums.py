"""EventName and ActionSource resolution."""

from __future__ import annotations

import pytest

from snapcapi import ActionSource, EventName, ValidationError


def test_all_31_standard_names():
    """The enum holds exactly Snap's 31 standard event names."""
    assert len(EventName) == 31
    assert {"PAGE_VIEW", "ADD_CART", "PURCHASE", "SPENT_CREDITS", "APP_INSTALL", "APP_OPEN",
            "CUSTOM_EVENT_5"} <= {e.value for e in EventName}  # fmt: skip
    assert str(EventName.PURCHASE) == "PURCHASE"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Purchase", EventName.PURCHASE),
        ("Complete Registration", EventName.SIGN_UP),
        ("Add to Cart", EventName.ADD_CART),
        ("add-cart", EventName.ADD_CART),
        ("Initiate Checkout", EventName.START_CHECKOUT),
        ("Add Payment Info", EventName.ADD_BILLING),
        ("Add to Wishlist", EventName.ADD_TO_WISHLIST),
        ("View Content", EventName.VIEW_CONTENT),
        ("Search", EventName.SEARCH),
        ("Subscribe", EventName.SUBSCRIBE),
        ("Start Trial", EventName.START_TRIAL),
        ("Place an Order", EventName.PURCHASE),
        ("page_view", EventName.PAGE_VIEW),
        ("custom event 2", EventName.CUSTOM_EVENT_2),
    ],
)
def test_aliases(name, expected):
    """Common names from the seed guide and other platforms resolve to Snap's names."""
    assert EventName.resolve(name) is expected


def test_business_aliases_come_first():
    """Business names map to standard names or custom event numbers."""
    aliases = {"Webinar Joined": 1, "Demo Booked": "RESERVE", "Search": "CUSTOM_EVENT_4"}
    assert EventName.resolve("webinar joined", aliases) is EventName.CUSTOM_EVENT_1
    assert EventName.resolve("Demo Booked", aliases) is EventName.RESERVE
    assert EventName.resolve("search", aliases) is EventName.CUSTOM_EVENT_4
    with pytest.raises(ValidationError, match="1 to 5"):
        EventName.resolve("Webinar Joined", {"Webinar Joined": 6})


def test_unknown_and_empty_names():
    """Unknown names suggest the closest; empty names and non-strings are refused."""
    with pytest.raises(ValidationError, match="did you mean 'ADD_CART'"):
        EventName.resolve("Add to Crat")
    with pytest.raises(ValidationError, match="empty"):
        EventName.resolve("  ")
    with pytest.raises(ValidationError, match="expected a string"):
        EventName.resolve(3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("source", "expected"),
    [("WEB", ActionSource.WEB), ("website", ActionSource.WEB), ("app", ActionSource.MOBILE_APP),
     ("mobile app", ActionSource.MOBILE_APP), ("physical_store", ActionSource.OFFLINE),
     ("phone_call", ActionSource.OFFLINE), ("email", ActionSource.OFFLINE),
     ("chat", ActionSource.OFFLINE), ("system_generated", ActionSource.OFFLINE),
     ("other", ActionSource.OFFLINE)],
)  # fmt: skip
def test_action_sources(source, expected):
    """Snap's values and Meta's spellings resolve."""
    assert ActionSource.resolve(source) is expected

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
    with pytest.raises(ValidationError, match="did you mean 'PURCHASE'"):
        EventName.resolve("Purchse")
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


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # Segment's and RudderStack's e-commerce, B2B SaaS and mobile specs
        ("Products Searched", EventName.SEARCH),
        ("Product List Viewed", EventName.LIST_VIEW),
        ("Product Viewed", EventName.VIEW_CONTENT),
        ("Product Added", EventName.ADD_CART),
        ("Product Added to Wishlist", EventName.ADD_TO_WISHLIST),
        ("Product Shared", EventName.SHARE),
        ("Cart Shared", EventName.SHARE),
        ("Product Reviewed", EventName.RATE),
        ("Checkout Started", EventName.START_CHECKOUT),
        ("Payment Info Entered", EventName.ADD_BILLING),
        ("Order Completed", EventName.PURCHASE),
        ("Promotion Viewed", EventName.AD_VIEW),
        ("Promotion Clicked", EventName.AD_CLICK),
        ("Signed Up", EventName.SIGN_UP),
        ("Signed In", EventName.LOGIN),
        ("Trial Started", EventName.START_TRIAL),
        ("Subscription Started", EventName.SUBSCRIBE),
        ("Invite Sent", EventName.INVITE),
        ("Page Viewed", EventName.PAGE_VIEW),
        ("Application Installed", EventName.APP_INSTALL),
        ("Application Opened", EventName.APP_OPEN),
        # GA4's recommended and automatic events, snake_case as GA4 writes them
        ("add_to_cart", EventName.ADD_CART),
        ("begin_checkout", EventName.START_CHECKOUT),
        ("add_payment_info", EventName.ADD_BILLING),
        ("add_to_wishlist", EventName.ADD_TO_WISHLIST),
        ("view_item", EventName.VIEW_CONTENT),
        ("view_item_list", EventName.LIST_VIEW),
        ("purchase", EventName.PURCHASE),
        ("ecommerce_purchase", EventName.PURCHASE),
        ("search", EventName.SEARCH),
        ("view_search_results", EventName.SEARCH),
        ("sign_up", EventName.SIGN_UP),
        ("login", EventName.LOGIN),
        ("page_view", EventName.PAGE_VIEW),
        ("share", EventName.SHARE),
        ("tutorial_complete", EventName.COMPLETE_TUTORIAL),
        ("level_up", EventName.LEVEL_COMPLETE),
        ("unlock_achievement", EventName.ACHIEVEMENT_UNLOCKED),
        ("spend_virtual_currency", EventName.SPENT_CREDITS),
        ("view_promotion", EventName.AD_VIEW),
        ("select_promotion", EventName.AD_CLICK),
        ("first_open", EventName.APP_INSTALL),
        ("app_open", EventName.APP_OPEN),
        # the same names, written other ways
        ("PRODUCT_ADDED", EventName.ADD_CART),
        ("product-added", EventName.ADD_CART),
        ("  Add To Cart ", EventName.ADD_CART),
        ("BEGIN_CHECKOUT", EventName.START_CHECKOUT),
    ],
)
def test_platform_aliases(name, expected):
    """Segment/RudderStack spec names and GA4's events resolve, in any case or separator."""
    assert EventName.resolve(name) is expected


@pytest.mark.parametrize(
    "name",
    ["Product Removed", "Order Refunded", "refund", "remove_from_cart", "Order Cancelled",
     "Checkout Abandoned", "Payment Failed", "Product Removed from Wishlist",
     "Subscription Cancelled"],
)  # fmt: skip
def test_names_that_undo_a_conversion_never_resolve_nor_suggest(name):
    """Refunds and removals stay unknown and suggest nothing: sent as PURCHASE they would count."""
    with pytest.raises(ValidationError) as info:
        EventName.resolve(name)
    assert "did you mean" not in str(info.value)
    assert "undoes a conversion" in str(info.value)


def test_lead_is_suggested_as_sign_up_but_not_mapped():
    """GA4's generate_lead and Meta's Lead have no Snap event; SIGN_UP is suggested, not taken."""
    for name in ("generate_lead", "Lead"):
        with pytest.raises(ValidationError, match="did you mean 'SIGN_UP'"):
            EventName.resolve(name)
    assert EventName.resolve("generate_lead", {"generate_lead": "SIGN_UP"}) is EventName.SIGN_UP


@pytest.mark.parametrize(
    ("name", "first"),
    [
        ("Order Placed", EventName.PURCHASE),
        ("Checkout Completed", EventName.PURCHASE),
        ("Payment Succeeded", EventName.PURCHASE),
        ("Basket Add", EventName.ADD_CART),
        ("Lead Captured", EventName.SIGN_UP),
        ("Registration Done", EventName.SIGN_UP),
        ("Sign-Up Completed", EventName.SIGN_UP),
        ("Category Viewed", EventName.LIST_VIEW),
        ("Added to Favorites", EventName.ADD_TO_WISHLIST),
        ("App Downloaded", EventName.APP_INSTALL),
        ("Booking Confirmed", EventName.RESERVE),
        ("OrderPlaced", EventName.PURCHASE),
        ("Tutorial Completed", EventName.COMPLETE_TUTORIAL),
    ],
)
def test_suggestions_rank_by_meaning(name, first):
    """Events sharing the name's meaning come first in "did you mean", before look-alikes."""
    with pytest.raises(ValidationError) as info:
        EventName.resolve(name)
    assert f"did you mean {first.value!r}" in str(info.value)


def test_checkout_completed_suggests_purchase_then_checkout_only():
    """Spelling alone does not add unrelated events beside meaningful ones."""
    with pytest.raises(ValidationError) as info:
        EventName.resolve("Checkout Completed")
    assert "(did you mean 'PURCHASE' or 'START_CHECKOUT'?)" in str(info.value)


def test_unknown_name_remedy_speaks_python_and_cli():
    """The unknown-name error points to aliases: a dict in Python, a pasteable --aliases pair."""
    with pytest.raises(ValidationError) as info:
        EventName.resolve("Webinar Joined")
    error = info.value
    assert error.field == "event_name"
    assert error.remedy is not None
    assert error.remedy.argument == "aliases"
    assert error.problem == "'W***********ed' is not a Snap event name"  # no event words: masked
    assert "give aliases={'Webinar Joined': 1}" in str(error)
    assert "pass --aliases 'Webinar Joined=CUSTOM_EVENT_1'" in error.explain("cli")


def test_the_cli_example_is_one_name_event_pair():
    """The --aliases example is one shell word, NAME=EVENT, as the CLI's --aliases reads it."""
    import shlex

    from snapcapi.enums import _ALIASES_REMEDY

    (pair,) = shlex.split(_ALIASES_REMEDY.example)
    name, equals, target = pair.partition("=")
    assert equals
    assert name == "Webinar Joined"
    assert EventName.resolve(target) is EventName.CUSTOM_EVENT_1


def test_unknown_names_are_masked_when_they_look_personal():
    """An email in the event name column is masked, and suggestions never echo it."""
    with pytest.raises(ValidationError) as info:
        EventName.resolve("jane.doe@example.com")
    assert "jane" not in str(info.value)

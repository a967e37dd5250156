"""Snap's event names and action sources, and the everyday spellings that map onto them."""

from __future__ import annotations

import difflib
import enum
import functools
import itertools
import re
from collections.abc import Mapping

from snapcapi._convert import check_unicode, one_of
from snapcapi._masking import echo, echo_code
from snapcapi.errors import Remedy, ValidationError

__all__ = ["ActionSource", "EventName"]


def _key(text: str) -> str:
    """Fold a name for look-up: lowercase letters and digits only ("Add to Cart" -> "addtocart")."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


class EventName(str, enum.Enum):
    """The 31 standard event names Snap accepts in ``event_name``."""

    PAGE_VIEW = "PAGE_VIEW"
    ADD_CART = "ADD_CART"
    PURCHASE = "PURCHASE"
    SIGN_UP = "SIGN_UP"
    VIEW_CONTENT = "VIEW_CONTENT"
    SEARCH = "SEARCH"
    SAVE = "SAVE"
    START_CHECKOUT = "START_CHECKOUT"
    LOGIN = "LOGIN"
    LIST_VIEW = "LIST_VIEW"
    SUBSCRIBE = "SUBSCRIBE"
    ADD_BILLING = "ADD_BILLING"
    ADD_TO_WISHLIST = "ADD_TO_WISHLIST"
    ACHIEVEMENT_UNLOCKED = "ACHIEVEMENT_UNLOCKED"
    START_TRIAL = "START_TRIAL"
    RATE = "RATE"
    INVITE = "INVITE"
    COMPLETE_TUTORIAL = "COMPLETE_TUTORIAL"
    AD_CLICK = "AD_CLICK"
    AD_VIEW = "AD_VIEW"
    SHARE = "SHARE"
    RESERVE = "RESERVE"
    LEVEL_COMPLETE = "LEVEL_COMPLETE"
    CUSTOM_EVENT_1 = "CUSTOM_EVENT_1"
    CUSTOM_EVENT_2 = "CUSTOM_EVENT_2"
    CUSTOM_EVENT_3 = "CUSTOM_EVENT_3"
    CUSTOM_EVENT_4 = "CUSTOM_EVENT_4"
    CUSTOM_EVENT_5 = "CUSTOM_EVENT_5"
    SPENT_CREDITS = "SPENT_CREDITS"
    APP_INSTALL = "APP_INSTALL"
    APP_OPEN = "APP_OPEN"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def resolve(
        cls,
        name: str | EventName,
        aliases: Mapping[str, str | int | EventName] | None = None,
    ) -> EventName:
        """Find the standard event for a name as people write it.

        Standard names match in any case and with spaces or hyphens for underscores
        (``"purchase"``, ``"Add Cart"``); common names from other platforms map too
        (``"Add to Cart"`` → ``ADD_CART``, ``"Complete Registration"`` → ``SIGN_UP``).
        ``aliases`` maps business-specific names, matched the same forgiving way, to a
        standard name or to a custom event number 1-5 (``{"Webinar Joined": 1}`` →
        ``CUSTOM_EVENT_1``); it is consulted first.

        Names are never mapped by guesswork, and names that undo a conversion (refunds,
        cancellations, removals from the cart) match nothing.

        Raises:
            ValidationError: The name matches nothing; the message suggests the events that
                share its meaning ("Order Placed": ``PURCHASE``), then those spelled alike.

        """
        if isinstance(name, EventName):
            return name
        if not isinstance(name, str):
            raise ValidationError("event_name", f"expected a string, got {type(name).__name__}")
        key = _key(name)
        if aliases:
            if not isinstance(aliases, Mapping):
                raise ValidationError(
                    "aliases",
                    f"expected a dict of event names, got {type(aliases).__name__}",
                )
            for alias, target in aliases.items():
                if not isinstance(alias, str):
                    raise ValidationError(
                        "aliases", f"keys must be event names, got {type(alias).__name__}"
                    )
                if _key(alias) == key:
                    return cls._target(alias, target)
        found = _EVENT_NAMES.get(key)
        if found is not None:
            return found
        if not key:
            raise ValidationError("event_name", "is empty; give one of Snap's event names")
        check_unicode(name, "event_name")  # a name read in the wrong encoding says so
        if _undoing(name):
            # Suggesting anything here invites mapping a refund to PURCHASE, counted as revenue.
            hint = (
                " (no Snap event undoes a conversion: leave refunds, cancellations and so on out)"
            )
        else:
            names = [member.value for member in _suggestions(name)]
            hint = f" (did you mean {' or '.join(repr(n) for n in names)}?)" if names else ""
        raise ValidationError(
            "event_name", f"{_shown(name)} is not a Snap event name{hint}", remedy=_ALIASES_REMEDY
        )

    @classmethod
    def _target(cls, alias: str, target: str | int | EventName) -> EventName:
        if isinstance(target, bool):
            raise ValidationError("aliases", f"{echo(alias)} maps to a bool; give a name or 1 to 5")
        if isinstance(target, int):
            if 1 <= target <= 5:
                return cls(f"CUSTOM_EVENT_{target}")
            shown = target if -1000 < target < 1000 else "a number"  # never str() of 10**5000
            raise ValidationError(
                "aliases", f"{echo(alias)} maps to {shown}; custom event numbers are 1 to 5"
            )
        if not isinstance(target, (str, EventName)):
            raise ValidationError(
                "aliases",
                f"{echo(alias)} maps to a {type(target).__name__}; give an event name or 1 to 5",
            )
        return cls.resolve(target)


_ALIASES_REMEDY = Remedy(
    argument="aliases",
    flag="--aliases",
    example="'Webinar Joined=CUSTOM_EVENT_1'",
    what="map your own event names to Snap's or to custom events 1-5",
    python_example="{'Webinar Joined': 1}",
)

# Everyday spellings: Meta's standard events, GA4's, Segment's and RudderStack's specs, and
# the names in Snap's own guides. A name is here only when it means what Snap's event means;
# near misses (a lead is not a sign-up, an order placed may be unpaid) are left to the user's
# aliases, and refunds and removals never map to anything (sending a refund as PURCHASE
# would count it as revenue). Keys are folded by _key, so "add_to_cart", "Add to Cart" and
# "ADD-TO-CART" are one entry.
_ALIAS_SPELLINGS: dict[str, EventName] = {
    # Meta and Snap's guides
    "Add to Cart": EventName.ADD_CART,
    "Add Payment Info": EventName.ADD_BILLING,
    "Add to Wishlist": EventName.ADD_TO_WISHLIST,
    "Complete Registration": EventName.SIGN_UP,
    "Register": EventName.SIGN_UP,
    "Registration": EventName.SIGN_UP,
    "Initiate Checkout": EventName.START_CHECKOUT,
    "Begin Checkout": EventName.START_CHECKOUT,
    "Checkout": EventName.START_CHECKOUT,
    "View Content": EventName.VIEW_CONTENT,
    "View Item": EventName.VIEW_CONTENT,
    "Product View": EventName.VIEW_CONTENT,
    "View Item List": EventName.LIST_VIEW,
    "View Category": EventName.LIST_VIEW,
    "Page View": EventName.PAGE_VIEW,
    "Place an Order": EventName.PURCHASE,
    "Place Order": EventName.PURCHASE,
    "Order Completed": EventName.PURCHASE,
    "Start Trial": EventName.START_TRIAL,
    "Subscribe": EventName.SUBSCRIBE,
    "Search": EventName.SEARCH,
    "Login": EventName.LOGIN,
    "Log In": EventName.LOGIN,
    "Unlock Achievement": EventName.ACHIEVEMENT_UNLOCKED,
    "Achieve Level": EventName.LEVEL_COMPLETE,
    "Level Achieved": EventName.LEVEL_COMPLETE,
    "Tutorial Complete": EventName.COMPLETE_TUTORIAL,
    "Complete Tutorial": EventName.COMPLETE_TUTORIAL,
    "Spend Credits": EventName.SPENT_CREDITS,
    "Rating": EventName.RATE,
    "Schedule": EventName.RESERVE,
    "Ad Impression": EventName.AD_VIEW,
    "Install": EventName.APP_INSTALL,
    "Activate App": EventName.APP_OPEN,
    "App Launch": EventName.APP_OPEN,
    # Segment's and RudderStack's e-commerce, B2B SaaS and mobile specs
    "Products Searched": EventName.SEARCH,
    "Product List Viewed": EventName.LIST_VIEW,
    "Product Viewed": EventName.VIEW_CONTENT,
    "Product Added": EventName.ADD_CART,
    "Product Added to Wishlist": EventName.ADD_TO_WISHLIST,
    "Product Shared": EventName.SHARE,
    "Cart Shared": EventName.SHARE,
    "Product Reviewed": EventName.RATE,
    "Checkout Started": EventName.START_CHECKOUT,
    "Payment Info Entered": EventName.ADD_BILLING,
    "Promotion Viewed": EventName.AD_VIEW,
    "Promotion Clicked": EventName.AD_CLICK,
    "Signed Up": EventName.SIGN_UP,
    "Signed In": EventName.LOGIN,
    "Sign In": EventName.LOGIN,
    "Trial Started": EventName.START_TRIAL,
    "Subscription Started": EventName.SUBSCRIBE,
    "Invite Sent": EventName.INVITE,
    "Page Viewed": EventName.PAGE_VIEW,
    "Application Installed": EventName.APP_INSTALL,
    "Application Opened": EventName.APP_OPEN,
    # GA4's recommended and automatic events not spelled above (add_to_cart, begin_checkout,
    # add_payment_info, view_item, purchase, sign_up, ... already fold onto an entry)
    "level_up": EventName.LEVEL_COMPLETE,
    "spend_virtual_currency": EventName.SPENT_CREDITS,
    "view_promotion": EventName.AD_VIEW,
    "select_promotion": EventName.AD_CLICK,
    "view_search_results": EventName.SEARCH,
    "first_open": EventName.APP_INSTALL,
    "ecommerce_purchase": EventName.PURCHASE,  # GA4's name for purchase until 2020
}

_EVENT_NAMES: dict[str, EventName] = {_key(member.value): member for member in EventName}
_EVENT_NAMES.update({_key(alias): member for alias, member in _ALIAS_SPELLINGS.items()})

# "Did you mean": words that carry an event's meaning, so "Order Placed" suggests PURCHASE
# although it is spelled like nothing in the table. The first event of a word counts 2, the
# others 1. Only suggestions come from this, never a mapping.
_MEANING_WORDS: tuple[tuple[str, tuple[EventName, ...]], ...] = (
    (
        "order orders ordered purchase purchased purchases buy buys bought paid sale sales sold "
        "transaction transactions",
        (EventName.PURCHASE,),
    ),
    ("payment payments", (EventName.ADD_BILLING, EventName.PURCHASE)),
    ("billing card", (EventName.ADD_BILLING,)),
    ("cart carts basket baskets bag", (EventName.ADD_CART,)),
    ("add added adds", (EventName.ADD_CART, EventName.ADD_TO_WISHLIST, EventName.ADD_BILLING)),
    ("checkout checkouts", (EventName.START_CHECKOUT,)),
    (
        "signup signups signedup register registered registration registrations lead leads "
        "enroll enrolled enrollment newsletter account",
        (EventName.SIGN_UP,),
    ),
    (
        "subscribe subscribed subscription subscriptions subscriber",
        (EventName.SUBSCRIBE, EventName.SIGN_UP),
    ),
    ("trial trials", (EventName.START_TRIAL,)),
    ("login logins signin signedin loggedin logon", (EventName.LOGIN,)),
    (
        "view viewed views visit visited",
        (EventName.VIEW_CONTENT, EventName.PAGE_VIEW, EventName.LIST_VIEW, EventName.AD_VIEW),
    ),
    ("product products item items detail details", (EventName.VIEW_CONTENT,)),
    ("page pages pageview pageviews screen screens", (EventName.PAGE_VIEW,)),
    ("list lists category categories catalog collection", (EventName.LIST_VIEW,)),
    ("search searched searches query", (EventName.SEARCH,)),
    ("wishlist wishlisted favorite favorites favourite favourites", (EventName.ADD_TO_WISHLIST,)),
    ("save saved bookmark bookmarked", (EventName.SAVE,)),
    ("share shared shares", (EventName.SHARE,)),
    ("rate rated rating ratings review reviewed reviews", (EventName.RATE,)),
    ("invite invited invites invitation referral referred", (EventName.INVITE,)),
    (
        "reserve reserved reservation booking booked appointment scheduled",
        (EventName.RESERVE,),
    ),
    ("tutorial onboarding", (EventName.COMPLETE_TUTORIAL,)),
    ("level levels", (EventName.LEVEL_COMPLETE,)),
    ("achievement achievements unlock unlocked badge", (EventName.ACHIEVEMENT_UNLOCKED,)),
    ("credits coins gems spend spent", (EventName.SPENT_CREDITS,)),
    ("install installed installs download downloaded", (EventName.APP_INSTALL,)),
    ("open opened launch launched", (EventName.APP_OPEN,)),
    ("app apps application", (EventName.APP_OPEN, EventName.APP_INSTALL)),
    ("ad ads advert promotion promotions promo banner", (EventName.AD_VIEW, EventName.AD_CLICK)),
    ("impression impressions", (EventName.AD_VIEW,)),
    ("click clicked clicks tap tapped", (EventName.AD_CLICK,)),
)
_MEANINGS: dict[str, tuple[EventName, ...]] = {
    word: events for words, events in _MEANING_WORDS for word in words.split()
}
# A checkout or payment that is done is a purchase: "Checkout Completed" suggests PURCHASE.
_DONE_WORDS = frozenset({
    "complete", "completed", "done", "finished", "success", "successful", "succeeded", "placed",
    "confirmed",
})  # fmt: skip
# Names that undo something. No Snap event means that, so nothing is suggested for them, not
# even by spelling ("Order Refunded" is spelled much like "Order Completed").
_UNDOING_WORDS = frozenset({
    "refund", "refunded", "refunds", "return", "returned", "returns", "cancel", "cancelled",
    "canceled", "cancellation", "remove", "removed", "removal", "delete", "deleted", "void",
    "voided", "chargeback", "chargebacks", "reversed", "reversal", "dispute", "disputed", "fail",
    "failed", "failure", "declined", "abandon", "abandoned", "unsubscribe", "unsubscribed",
    "uninstall", "uninstalled", "logout", "loggedout", "signout", "signedout", "unpaid",
    "expired", "lost", "rejected",
})  # fmt: skip
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def _words(name: str) -> set[str]:
    """Split a name into lowercase words (camelCase too), adding each pair of neighbours joined.

    ``"sign_up completed"`` gives ``sign``, ``up``, ``completed``, ``signup`` and ``upcompleted``;
    the pairs catch ``sign up``, ``log in``, ``check out``, ``wish list``.
    """
    words = [word.lower() for word in _WORD.findall(name)]
    return set(words) | {a + b for a, b in itertools.pairwise(words)}


def _undoing(name: str) -> bool:
    return not _words(name).isdisjoint(_UNDOING_WORDS)


@functools.lru_cache(maxsize=256)  # a file repeats its unknown names on every row
def _suggestions(name: str) -> tuple[EventName, ...]:
    """Up to three events a name may mean: those sharing its meaning first, then by spelling."""
    scores: dict[EventName, int] = {}
    words = _words(name)
    for word in words:
        for rank, event in enumerate(_MEANINGS.get(word, ())):
            scores[event] = scores.get(event, 0) + (2 if rank == 0 else 1)
    if not words.isdisjoint(_DONE_WORDS) and (
        EventName.START_CHECKOUT in scores or EventName.ADD_BILLING in scores
    ):
        scores[EventName.PURCHASE] = scores.get(EventName.PURCHASE, 0) + 3
    # A lone secondary sense (the 1 of "add" for ADD_BILLING) is too weak to show. Ties keep
    # the enum's order, so the result does not depend on set iteration.
    order = {event: index for index, event in enumerate(EventName)}
    by_meaning = sorted(
        (event for event, score in scores.items() if score >= 2),
        key=lambda event: (-scores[event], order[event]),
    )
    # Spelling alone is weak evidence beside meaning ("Tutorial Completed" is spelled much like
    # "Order Completed"): with meaning found, only very close spellings join it.
    cutoff = 0.8 if by_meaning else 0.6
    close = difflib.get_close_matches(_key(name), list(_EVENT_NAMES), n=6, cutoff=cutoff)
    by_spelling = [_EVENT_NAMES[c] for c in close]
    return tuple(dict.fromkeys(by_meaning + by_spelling))[:3]


class ActionSource(str, enum.Enum):
    """Where the conversion happened: ``WEB``, ``MOBILE_APP`` or ``OFFLINE``."""

    WEB = "WEB"
    MOBILE_APP = "MOBILE_APP"
    OFFLINE = "OFFLINE"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def resolve(cls, source: str | ActionSource) -> ActionSource:
        """Find the action source for Snap's or Meta's spelling, in any case.

        ``website`` → ``WEB``, ``app`` → ``MOBILE_APP``, and Meta's offline sources
        (``physical_store``, ``phone_call``, ``email``, ``chat``, ``system_generated``,
        ``other``) → ``OFFLINE``.

        Raises:
            ValidationError: The value is none of these.

        """
        if isinstance(source, ActionSource):
            return source
        if not isinstance(source, str):
            raise ValidationError(
                "action_source", f"expected a string, got {type(source).__name__}"
            )
        found = _ACTION_SOURCES.get(_key(source))
        if found is None:
            check_unicode(source, "action_source")
            raise one_of(
                [member.value for member in cls],
                "action_source",
                source.strip(),
                "an action source",
                shown=echo_code(source, _CODE_WORDS),
            )
        return found


_ACTION_SOURCES: dict[str, ActionSource] = {
    "web": ActionSource.WEB,
    "website": ActionSource.WEB,
    "mobileapp": ActionSource.MOBILE_APP,
    "app": ActionSource.MOBILE_APP,
    "offline": ActionSource.OFFLINE,
    "physicalstore": ActionSource.OFFLINE,
    "phonecall": ActionSource.OFFLINE,
    "email": ActionSource.OFFLINE,
    "chat": ActionSource.OFFLINE,
    "systemgenerated": ActionSource.OFFLINE,
    "other": ActionSource.OFFLINE,
}

# Words quoted back in errors about event names and action sources: Snap's own names and
# the spellings that map onto them, never data. Anything else is masked (it may be a name
# or an email that a careless mapping put in the column).
_CODE_WORDS: frozenset[str] = frozenset(
    [member.value for member in (*EventName, *ActionSource)]
    + [source.upper() for source in _ACTION_SOURCES]
)
# The words event names are made of ("Order", "Placed", "Checkout", "Refunded"): a name of
# these words only is no one's data, and quoting it keeps the message useful.
_EVENT_WORDS: frozenset[str] = frozenset(
    [*_MEANINGS, *_DONE_WORDS, *_UNDOING_WORDS]
    + [word.lower() for name in (*_ALIAS_SPELLINGS, *_CODE_WORDS) for word in _WORD.findall(name)]
)
_WORDS_ONLY = re.compile(r"[A-Za-z][A-Za-z _\-]{0,39}")


def _shown(name: str) -> str:
    """Show an unknown event name in its error, masked unless it is made of event words.

    An event name column is where a careless mapping puts a name or an email, so only codes
    (``'WEB'``) and names made of the words of event names (``'Order Placed'``) are quoted;
    ``'Webinar Joined'`` is masked like ``'Zebulonia Smith'``, since no table tells them apart.
    """
    text = name.strip()
    if _WORDS_ONLY.fullmatch(text) and all(
        word.lower() in _EVENT_WORDS for word in _WORD.findall(text)
    ):
        return repr(text)
    return echo_code(text, _CODE_WORDS)

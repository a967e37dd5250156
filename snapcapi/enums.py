"""Snap's event names and action sources, and the everyday spellings that map onto them."""

from __future__ import annotations

import difflib
import enum
from collections.abc import Mapping

from snapcapi._convert import one_of
from snapcapi._masking import echo
from snapcapi.errors import ValidationError

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

        Raises:
            ValidationError: The name matches nothing; the message lists the closest names.

        """
        if isinstance(name, EventName):
            return name
        if not isinstance(name, str):
            raise ValidationError("event_name", f"expected a string, got {type(name).__name__}")
        key = _key(name)
        if aliases:
            for alias, target in aliases.items():
                if not isinstance(alias, str):
                    raise ValidationError("aliases", f"keys must be event names, got {alias!r}")
                if _key(alias) == key:
                    return cls._target(alias, target)
        found = _EVENT_NAMES.get(key)
        if found is not None:
            return found
        if not key:
            raise ValidationError("event_name", "is empty; give one of Snap's event names")
        close = difflib.get_close_matches(key, list(_EVENT_NAMES), n=6, cutoff=0.6)
        names = list(dict.fromkeys(_EVENT_NAMES[c].value for c in close))[:3]
        hint = f"; did you mean {' or '.join(repr(n) for n in names)}?" if names else "."
        raise ValidationError(
            "event_name",
            f"{echo(name)} is not a Snap event name{hint} Map business-specific events to "
            "CUSTOM_EVENT_1..5: EventName.resolve(name, aliases={'Your Name': 1}), or "
            "Event.from_dict(record, aliases=...).",
        )

    @classmethod
    def _target(cls, alias: str, target: str | int | EventName) -> EventName:
        if isinstance(target, bool):
            raise ValidationError("aliases", f"{alias!r} maps to a bool; give a name or 1 to 5")
        if isinstance(target, int):
            if 1 <= target <= 5:
                return cls(f"CUSTOM_EVENT_{target}")
            raise ValidationError(
                "aliases", f"{alias!r} maps to {target}; custom event numbers are 1 to 5"
            )
        return cls.resolve(target)


# Everyday spellings: Meta's standard events, GA4's, and the names in Snap's own guides.
_ALIAS_SPELLINGS: dict[str, EventName] = {
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
}

_EVENT_NAMES: dict[str, EventName] = {_key(member.value): member for member in EventName}
_EVENT_NAMES.update({_key(alias): member for alias, member in _ALIAS_SPELLINGS.items()})


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
            raise one_of(
                [member.value for member in cls],
                "action_source",
                source.strip(),
                "an action source",
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

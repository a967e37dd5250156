"""Ready one input event for the wire, or say why it goes no further.

:class:`Preparer` holds the client's per-send choices (asset ids, consent, default region) and
turns each input into an encoded item bound for an asset id, a final result (``INVALID``,
``SKIPPED``), or a :class:`MissingAsset` stop: an event the client has no asset id for.
"""

from __future__ import annotations

from typing import Any

import attrs

from snapcapi._transport import _wire
from snapcapi._transport._batching import Item
from snapcapi._transport._config import APP_REMEDY, PIXEL_REMEDY
from snapcapi.enums import ActionSource
from snapcapi.errors import ValidationError
from snapcapi.events import Event
from snapcapi.results import EventResult, EventStatus

__all__ = ["MissingAsset", "Prepared", "Preparer"]


@attrs.frozen
class MissingAsset:
    """An event the client has no asset id for: the send stops with ``error``.

    Attributes:
        result: The event's own result (``INVALID``).
        error: The error the send raises, naming the missing setting.
    """

    result: EventResult
    error: ValidationError


#: An item with the asset id it goes to, a final result, or a stop.
Prepared = tuple[str, Item] | EventResult | MissingAsset


def _missing_asset(index: int, event: Event) -> MissingAsset:
    app = event.action_source is ActionSource.MOBILE_APP
    remedy, field, target = (
        (APP_REMEDY, "snap_app_id", "Snap App ID")
        if app
        else (PIXEL_REMEDY, "pixel_id", "Pixel ID")
    )
    source = event.action_source.value
    problem = (
        f"the {event.event_name.value} event {event.event_id!r} (input index {index}) is "
        f"{source}, and {source} events go to a {target}, but none was given"
    )
    error = ValidationError(field, problem, remedy=remedy)
    return MissingAsset(EventResult(index, event.event_id, EventStatus.INVALID, problem), error)


@attrs.frozen
class Preparer:
    """Check and encode input events for one send.

    Attributes:
        pixel_id: Where WEB and OFFLINE events go, if anywhere.
        snap_app_id: Where MOBILE_APP events go, if anywhere.
        require_consent: Send only events whose ``consent`` is ``True``.
        default_region: The region of national phone numbers without a country.
    """

    pixel_id: str | None
    snap_app_id: str | None
    require_consent: bool = False
    default_region: str | None = None

    def prepare(self, index: int, event: Any, now: float) -> Prepared:
        """Judge one input event against the clock ``now``; encode it if it can go."""
        if not isinstance(event, Event):
            return EventResult(
                index, None, EventStatus.INVALID, f"expected an Event, got {type(event).__name__}"
            )
        if self.require_consent and event.consent is not True:
            return EventResult(
                index,
                event.event_id,
                EventStatus.SKIPPED,
                "no consent: the client requires consent=True (require_consent=True)",
            )
        user = event.user_data
        if user.unresolved_phones and self.default_region:
            try:
                event = event._replace(user_data=user.with_default_region(self.default_region))
            except ValidationError as exc:
                return EventResult(index, event.event_id, EventStatus.INVALID, str(exc))
        problems, notices = event._review_values(now)
        if problems:
            return EventResult(
                index,
                event.event_id,
                EventStatus.INVALID,
                "; ".join(problem.message for problem in problems),
                codes=tuple(problem.code for problem in problems),
                warnings=tuple(notice.message for notice in notices),
            )
        asset = (
            self.snap_app_id if event.action_source is ActionSource.MOBILE_APP else self.pixel_id
        )
        if asset is None:
            return _missing_asset(index, event)
        warnings = tuple([notice.message for notice in notices]) if notices else ()
        # The payload's JSON written from the event's fields: the bytes of
        # _wire.encode(event.to_payload()), without building the dict.
        return asset, Item(index, event.event_id, _wire.encode_event(event), warnings)

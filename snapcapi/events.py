"""``Event``: one conversion, validated at construction and ready to serialize."""

from __future__ import annotations

import datetime as _dt
import decimal
import math
import numbers
import re
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import attrs

from snapcapi._convert import (
    count,
    flag,
    is_blank,
    keywords,
    none_defaults,
    one_of,
    text,
    text_list,
)
from snapcapi._masking import echo, mask
from snapcapi.app_data import AppData
from snapcapi.custom_data import CustomData
from snapcapi.enums import ActionSource, EventName
from snapcapi.errors import ValidationError
from snapcapi.user_data import OnInvalid, UserData

__all__ = ["MAX_AGE", "MAX_FUTURE_SKEW", "STALE_AGE", "Event", "EventTime"]

EventTime = _dt.datetime | _dt.date | int | float | str

#: Snap drops events older than this (documented: 37 days).
MAX_AGE = _dt.timedelta(days=37)
#: Events older than this still count, but attribution suffers; they get a warning.
STALE_AGE = _dt.timedelta(days=7)
#: How far in the future an event may be stamped (clock skew between servers).
MAX_FUTURE_SKEW = _dt.timedelta(minutes=10)

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MS_THRESHOLD = 10**11
_MAX_SKEW_S = 600
_STALE_S = 7 * 86400  # 5138 AD in seconds, 1973 in milliseconds
_MAX_MS = 10**14


def _epoch(value: float, field: str) -> int:
    if not math.isfinite(value) or value <= 0:
        raise ValidationError(field, "must be a positive Unix timestamp")
    if value >= _MAX_MS:
        raise ValidationError(field, "is too large; give Unix seconds or milliseconds")
    if value >= _MS_THRESHOLD:
        value /= 1000
    return int(value)


def _event_time(value: Any) -> int:
    if value.__class__ is int and 0 < value < _MS_THRESHOLD:
        return int(value)
    return to_epoch_seconds(value)


def to_epoch_seconds(value: Any, field: str = "event_time") -> int:
    """Convert an event time to integer Unix seconds.

    Accepts an aware ``datetime``, a ``date`` or ``YYYY-MM-DD`` text (midnight UTC), Unix
    seconds (any real number, numpy's included), Unix milliseconds (13 digits), a string of
    digits, or ISO 8601 text with an offset as ``datetime.fromisoformat`` reads it (a trailing
    ``Z`` is accepted on every Python version).

    Raises:
        ValidationError: The value is a naive datetime, not a time, or not positive.

    """
    if isinstance(value, bool):
        raise ValidationError(field, "expected a datetime or a Unix timestamp, got bool")
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError(
                field,
                "is a naive datetime; attach a time zone, e.g. datetime.now(timezone.utc)",
            )
        return int(value.timestamp())
    if isinstance(value, _dt.date):
        return int(
            _dt.datetime(value.year, value.month, value.day, tzinfo=_dt.timezone.utc).timestamp()
        )
    if isinstance(value, (numbers.Real, decimal.Decimal)):
        return _epoch(float(value), field)
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.isascii() and stripped.isdigit():
            return _epoch(int(stripped), field)
        if _ISO_DATE.fullmatch(stripped):
            try:
                return to_epoch_seconds(_dt.date.fromisoformat(stripped), field)
            except ValueError:
                pass
        try:
            parsed = _dt.datetime.fromisoformat(
                stripped.replace("Z", "+00:00").replace("z", "+00:00")
            )
        except ValueError:
            raise ValidationError(
                field,
                f"{echo(stripped)} is not a time; use ISO 8601 with an offset or Unix seconds",
            ) from None
        return to_epoch_seconds(parsed, field)
    raise ValidationError(
        field, f"expected a datetime or a Unix timestamp, got {type(value).__name__}"
    )


def _event_id(value: Any) -> str:
    if value is None:
        return str(uuid.uuid4())
    if (
        value.__class__ is str
        and value
        and len(value) <= 255
        and not value[0].isspace()
        and (not value[-1].isspace())
    ):
        return str(value)
    result = text(value, "event_id")
    if len(result) > 255:
        raise ValidationError("event_id", "is longer than 255 characters")
    return result


_URL_START = re.compile(r"https?://[^\s/?#@]+(?:[/?#]|$)")


def _url(value: Any) -> str:
    if value.__class__ is str and _URL_START.match(value) and not value[-1].isspace():
        return str(value)
    result = text(value, "event_source_url")
    parts = urlsplit(result)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValidationError(
            "event_source_url", "must be an absolute http(s) URL such as https://shop.example.com/"
        )
    return result


Model = TypeVar("Model", UserData, CustomData, AppData)


def _part(cls: type[Model], value: Any, field: str) -> Model:
    """Take a model instance as it is, or build one from a dict of its arguments."""
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        return cls(**keywords(value, field))
    raise ValidationError(field, f"expected {cls.__name__} or a dict, got {type(value).__name__}")


def _options(value: Any) -> tuple[str, ...]:
    return tuple(v.upper() for v in text_list(value, "data_processing_options"))


# Plain strings for the payload (an enum member's .value is a slow descriptor look-up).
_WIRE_NAMES_OF: dict[Any, str] = {m: m.value for m in (*EventName, *ActionSource)}
_EXACT_EVENT_NAMES: dict[Any, EventName] = {m.value: m for m in EventName} | {
    m: m for m in EventName
}
_EXACT_ACTION_SOURCES: dict[Any, ActionSource] = {m.value: m for m in ActionSource} | {
    m: m for m in ActionSource
}


def _event_name(value: Any) -> EventName:
    found = _EXACT_EVENT_NAMES.get(value) if value.__class__ in (str, EventName) else None
    return found if found is not None else EventName.resolve(value)


def _action_source(value: Any) -> ActionSource:
    found = _EXACT_ACTION_SOURCES.get(value) if value.__class__ in (str, ActionSource) else None
    return found if found is not None else ActionSource.resolve(value)


def _now_seconds() -> int:
    return int(time.time())


def _to_instant(now: _dt.datetime | float | None) -> float:
    if now is None:
        return time.time()
    if isinstance(now, _dt.datetime):
        return to_epoch_seconds(now, "now")
    return float(now)


@none_defaults
@attrs.frozen(init=False, slots=False, repr=False)
class Event:
    """One conversion event, checked when it is built.

    Args:
        event_name: An :class:`EventName`, or a name such as ``"PURCHASE"``, ``"purchase"`` or
            ``"Add to Cart"`` (see :meth:`EventName.resolve`).
        action_source: ``WEB``, ``MOBILE_APP`` or ``OFFLINE`` (Meta spellings accepted).
        user_data: A :class:`UserData` (or a dict of its arguments).
        event_time: When it happened: aware ``datetime``, ``date``, Unix seconds or
            milliseconds, or ISO 8601 text; defaults to now. Stored as Unix seconds.
        event_source_url: The page the event happened on (needed for ``WEB`` events).
        event_id: Deduplication id shared with the Pixel's ``client_dedup_id``; a UUID4 is
            generated when omitted, so a retried send dedupes at Snap.
        custom_data: A :class:`CustomData` (or dict).
        app_data: An :class:`AppData` (or dict); needed for ``MOBILE_APP`` events.
        data_processing_options: Limited-use flags, e.g. ``["LMU"]``.
        data_processing_options_country: 0 to let Snap geolocate, 1 for the USA.
        data_processing_options_state: 0 to let Snap geolocate, 1000 for California.
        integration: Your partner or connector name, when you are one.
        opt_out: Use the event for attribution only, not for ad optimisation.
        consent: Whether the user consented; not sent, but a client created with
            ``require_consent=True`` sends only events whose consent is ``True``.

    Raises:
        ValidationError: A field has the wrong type or value (unknown event name, naive
            datetime, bad URL, ...).

    """

    event_name: EventName
    action_source: ActionSource
    user_data: UserData
    event_time: int
    event_id: str
    event_source_url: str | None
    custom_data: CustomData | None
    app_data: AppData | None
    data_processing_options: tuple[str, ...] | None
    data_processing_options_country: int | None
    data_processing_options_state: int | None
    integration: str | None
    opt_out: bool | None
    consent: bool | None

    def __init__(
        self,
        *,
        event_name: str | EventName,
        action_source: str | ActionSource,
        user_data: UserData | Mapping[str, Any],
        event_time: EventTime | None = None,
        event_source_url: str | None = None,
        event_id: str | int | None = None,
        custom_data: CustomData | Mapping[str, Any] | None = None,
        app_data: AppData | Mapping[str, Any] | None = None,
        data_processing_options: str | Iterable[str] | None = None,
        data_processing_options_country: int | None = None,
        data_processing_options_state: int | None = None,
        integration: str | None = None,
        opt_out: bool | None = None,
        consent: bool | None = None,
    ) -> None:
        # Written out rather than generated: building events is the hot path of every
        # pipeline, and most optional fields are None.
        fields: dict[str, Any] = {
            "event_name": _event_name(event_name),
            "action_source": _action_source(action_source),
            "user_data": _part(UserData, user_data, "user_data"),
            "event_time": _now_seconds() if event_time is None else _event_time(event_time),
            "event_id": _event_id(event_id),
        }
        if event_source_url is not None:
            fields["event_source_url"] = _url(event_source_url)
        if custom_data is not None:
            fields["custom_data"] = _part(CustomData, custom_data, "custom_data")
        if app_data is not None:
            fields["app_data"] = _part(AppData, app_data, "app_data")
        if data_processing_options is not None:
            fields["data_processing_options"] = _options(data_processing_options)
        if data_processing_options_country is not None:
            fields["data_processing_options_country"] = count(
                data_processing_options_country, "data_processing_options_country"
            )
        if data_processing_options_state is not None:
            fields["data_processing_options_state"] = count(
                data_processing_options_state, "data_processing_options_state"
            )
        if integration is not None:
            fields["integration"] = text(integration, "integration")
        if opt_out is not None:
            fields["opt_out"] = flag(opt_out, "opt_out")
        if consent is not None:
            fields["consent"] = flag(consent, "consent")
        self.__dict__.update(fields)

    def _replace(self, **fields: Any) -> Event:
        """Return a copy with some fields swapped for already-converted values (no checks)."""
        copy = object.__new__(Event)
        copy.__dict__.update(self.__dict__)
        copy.__dict__.update(fields)
        return copy

    @property
    def match_keys(self) -> tuple[str, ...]:
        """The matching keys this event carries (``madid`` counts only for app events)."""
        keys = self.user_data.match_keys
        if "madid" in keys and self.action_source is not ActionSource.MOBILE_APP:
            return tuple(k for k in keys if k != "madid")
        return keys

    @property
    def warnings(self) -> tuple[str, ...]:
        """What was dropped or adjusted when the event was built (identifiers, masked)."""
        return self.user_data.warnings or ()

    def problems(self, *, now: _dt.datetime | float | None = None) -> tuple[str, ...]:
        """List why this event cannot be sent as it is, judged at ``now`` (default: the clock).

        An empty tuple means the event is fit to send. The checks: a matching key is present,
        phone numbers have a country code, ``PURCHASE`` has value and currency, ``WEB`` events
        have their page URL, ``MOBILE_APP`` events have app data with a platform, and the
        event time lies between 37 days ago and 10 minutes ahead.
        """
        found: list[str] = []
        user = self.user_data
        if user.unresolved_phones:
            found.append(
                f"phone {', '.join(mask(p) for p in user.unresolved_phones)} has no country code; "
                "give UserData(region=...), the user's country, or Client(default_region=...)"
            )
        if not self.match_keys:
            app = " or madid" if self.action_source is ActionSource.MOBILE_APP else ""
            found.append(
                "user_data has no matching key; add email, phone, or client_ip_address together "
                f"with client_user_agent{app}"
            )
        if self.event_name is EventName.PURCHASE:
            custom = self.custom_data
            if custom is None or custom.value is None or custom.currency is None:
                found.append("PURCHASE events need custom_data.value and custom_data.currency")
        if self.action_source is ActionSource.WEB and self.event_source_url is None:
            found.append("WEB events need event_source_url, the page the event happened on")
        if self.action_source is ActionSource.MOBILE_APP and (
            self.app_data is None or self.app_data.platform is None
        ):
            found.append(
                "MOBILE_APP events need app_data with platform='android' or 'ios' (for extinfo)"
            )
        age = _to_instant(now) - self.event_time
        if age > MAX_AGE.total_seconds():
            found.append(
                f"event_time is {age / 86400:.0f} days old; Snap accepts events up to 37 days old"
            )
        elif -age > MAX_FUTURE_SKEW.total_seconds():
            found.append(
                f"event_time is {-age / 60:.0f} minutes in the future; check the clock or time zone"
            )
        return tuple(found)

    def review(self, now: float) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Return ``(problems, notices)`` at Unix time ``now``: the client's check of each event.

        Events that are clearly fine (the common case) are recognised without building the
        full lists.
        """
        user = self.user_data.__dict__
        custom = self.custom_data
        age = now - self.event_time
        source = self.action_source
        if (
            (user.get("email") or user.get("phone"))
            and not user.get("unresolved_phones")
            and not user.get("warnings")
            and -_MAX_SKEW_S <= age <= _STALE_S
            and (
                source is ActionSource.OFFLINE
                or (source is ActionSource.WEB and self.event_source_url is not None)
            )
            and (
                self.event_name is not EventName.PURCHASE
                or (custom is not None and custom.value is not None and custom.currency is not None)
            )
        ):
            return (), ()
        return self.problems(now=now), self.notices(now=now)

    def notices(self, *, now: _dt.datetime | float | None = None) -> tuple[str, ...]:
        """List what Snap will accept but you should know, judged at ``now``.

        That is the :attr:`warnings` from construction plus an event older than 7 days, which
        Snap accepts but attributes less well.
        """
        found = list(self.warnings)
        age = _to_instant(now) - self.event_time
        if STALE_AGE.total_seconds() < age <= MAX_AGE.total_seconds():
            found.append(f"event_time is {age / 86400:.0f} days old; send events within 7 days")
        return tuple(found)

    def to_payload(self) -> dict[str, Any]:
        """Return the exact JSON-ready dict sent to Snap for this event."""
        payload: dict[str, Any] = {
            "event_name": _WIRE_NAMES_OF[self.event_name],
            "event_time": self.event_time,
            "action_source": _WIRE_NAMES_OF[self.action_source],
            "event_id": self.event_id,
            "user_data": self.user_data.to_payload(),
        }
        if self.event_source_url is not None:
            payload["event_source_url"] = self.event_source_url
        if self.custom_data is not None:
            payload["custom_data"] = self.custom_data.to_payload()
        if self.app_data is not None:
            payload["app_data"] = self.app_data.to_payload()
        if self.data_processing_options is not None:
            payload["data_processing_options"] = list(self.data_processing_options)
        if self.data_processing_options_country is not None:
            payload["data_processing_options_country"] = self.data_processing_options_country
        if self.data_processing_options_state is not None:
            payload["data_processing_options_state"] = self.data_processing_options_state
        if self.integration is not None:
            payload["integration"] = self.integration
        if self.opt_out is not None:
            payload["opt_out"] = self.opt_out
        return payload

    @classmethod
    def from_dict(
        cls,
        record: Mapping[str, Any],
        *,
        aliases: Mapping[str, str | int | EventName] | None = None,
        region: str | None = None,
        on_invalid: OnInvalid = "raise",
    ) -> Event:
        """Build an event from a flat record: a CSV row, a JSONL object, a DataFrame row.

        Keys are the argument names of :class:`Event`, :class:`UserData`, :class:`CustomData`
        and :class:`AppData` (``email``, ``phone``, ``value``, ``platform``, ...) or Snap's wire
        names (``em``, ``ph``, ``fn``, ``zp``, ...). A name both ``UserData`` and
        ``CustomData`` have (``country``, ``city``, ``region``) is the user's; prefix it to
        choose (``custom_data.country``). Nested ``user_data``/``custom_data``/``app_data``
        dicts work too. Blank values (None, "", NaN) count as absent, strings are converted
        (``"12.50"``, ``"true"``, ISO times), and ``event_time`` is required here, since a
        missing time in a file is a mistake, not "now".

        Args:
            record: The record.
            aliases: Business event names mapped to standard names or custom event numbers.
            region: Default region for phone numbers without a country code.
            on_invalid: ``"raise"`` or ``"drop"`` for identifiers that cannot be normalized.

        Raises:
            ValidationError: An unknown key, a missing required field, or a bad value.

        """
        if not isinstance(record, Mapping):
            raise ValidationError("record", f"expected a dict, got {type(record).__name__}")
        parts: dict[str, dict[str, Any]] = {"event": {}, "user": {}, "custom": {}, "app": {}}
        items: list[tuple[str, Any]] = []
        for raw_key, value in record.items():
            key = str(raw_key).strip()
            if key not in _NESTED:
                items.append((key, value))
            elif isinstance(value, Mapping):
                items.extend((f"{key}.{str(k).strip()}", v) for k, v in value.items())
            elif value is not None:
                raise ValidationError(key, f"expected a dict, got {type(value).__name__}")
        for key, value in items:
            part, name = _route(key)
            if not is_blank(value):
                parts[part][name] = value
        event_fields = parts["event"]
        for required in ("event_name", "event_time", "action_source"):
            if required not in event_fields:
                raise ValidationError(required, "is missing from the record")
        user_fields = parts["user"]
        user_fields.setdefault("on_invalid", on_invalid)
        if region is not None:
            user_fields.setdefault("region", region)
        event_fields["event_name"] = EventName.resolve(event_fields["event_name"], aliases)
        return cls(
            **event_fields,
            user_data=UserData(**user_fields),
            custom_data=CustomData(**parts["custom"]) if parts["custom"] else None,
            app_data=_app_from_record(parts["app"]),
        )

    def _repr_html_(self) -> str:
        """Show the event in a notebook as a small table, identifiers masked or hashed."""
        from snapcapi._html import identifier_rows, table

        when = _dt.datetime.fromtimestamp(self.event_time, _dt.timezone.utc).isoformat()
        rows: list[tuple[str, object]] = [
            ("event_name", self.event_name.value),
            ("action_source", self.action_source.value),
            ("event_time", f"{self.event_time} ({when})"),
            ("event_id", self.event_id),
            ("match keys", ", ".join(self.match_keys) or "none"),
        ]
        if self.event_source_url is not None:
            rows.append(("event_source_url", _url_for_display(self.event_source_url)))
        rows.extend(identifier_rows(self.user_data))
        if self.custom_data is not None:
            rows.extend(
                (f"custom_data.{key}", value)
                for key, value in self.custom_data.to_payload().items()
            )
        rows.extend(("warning", warning) for warning in self.warnings)
        return table(("field", "value"), rows)

    def __repr__(self) -> str:
        parts = [
            f"event_name={self.event_name.value!r}",
            f"action_source={self.action_source.value!r}",
            f"event_time={self.event_time}",
            f"event_id={self.event_id!r}",
            f"user_data={self.user_data!r}",
        ]
        if self.custom_data is not None:
            parts.append(f"custom_data={self.custom_data!r}")
        if self.app_data is not None:
            parts.append(f"app_data={self.app_data!r}")
        for name in (
            "event_source_url",
            "data_processing_options",
            "data_processing_options_country",
            "data_processing_options_state",
            "integration",
            "opt_out",
            "consent",
        ):
            value = getattr(self, name)
            if name == "event_source_url" and value is not None:
                value = _url_for_display(value)
            if value is not None:
                parts.append(f"{name}={value!r}")
        return f"Event({', '.join(parts)})"


_EVENT_KEYS = frozenset(a.name for a in attrs.fields(Event)) - {
    "user_data",
    "custom_data",
    "app_data",
}
_USER_KEYS = frozenset(UserData._FIELDS) - {"on_invalid"}
_WIRE_NAMES = {
    "em": "email",
    "ph": "phone",
    "fn": "first_name",
    "ln": "last_name",
    "ge": "gender",
    "db": "date_of_birth",
    "ct": "city",
    "st": "state",
    "zp": "zip_code",
}
_CUSTOM_KEYS = frozenset(attrs.fields_dict(CustomData))
_APP_KEYS = frozenset(attrs.fields_dict(AppData)) | {"extinfo"}
_NESTED = {"user_data": "user", "custom_data": "custom", "app_data": "app"}
_ALL_KEYS: tuple[str, ...] = tuple(
    sorted(_EVENT_KEYS | _USER_KEYS | set(_WIRE_NAMES) | _CUSTOM_KEYS | _APP_KEYS)
)


def _url_for_display(url: str) -> str:
    """Drop the query and fragment, which often carry emails, ids or tokens."""
    parts = urlsplit(url)
    hidden = "?…" if parts.query or parts.fragment else ""
    host = parts.netloc.rpartition("@")[2]  # never user:password@
    return f"{parts.scheme}://{host}{parts.path}{hidden}"


def _route(key: str) -> tuple[str, str]:
    prefix, dot, name = key.partition(".")
    if dot and prefix in _NESTED:
        part = _NESTED[prefix]
        known = {"user": _USER_KEYS, "custom": _CUSTOM_KEYS, "app": _APP_KEYS}[part]
        name = _WIRE_NAMES.get(name, name) if part == "user" else name
        if name not in known:
            raise one_of(known, "record", name, f"a {prefix} field")
        return part, name
    if key in _EVENT_KEYS:
        return "event", key
    if key in _USER_KEYS:
        return "user", key
    if key in _WIRE_NAMES:
        return "user", _WIRE_NAMES[key]
    if key in _CUSTOM_KEYS:
        return "custom", key
    if key in _APP_KEYS:
        return "app", key
    raise one_of(_ALL_KEYS, "record", key, "a field snapcapi knows")


def _app_from_record(fields: dict[str, Any]) -> AppData | None:
    if not fields:
        return None
    extinfo = fields.pop("extinfo", None)
    if extinfo is None:
        return AppData(**fields)
    if isinstance(extinfo, str):
        extinfo = [part.strip() for part in extinfo.split(",")]
    return AppData.from_extinfo(extinfo, **fields)

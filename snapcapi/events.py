"""``Event``: one conversion, validated at construction and ready to serialize."""

from __future__ import annotations

import datetime as _dt
import decimal
import difflib
import functools
import math
import numbers
import re
import time
import uuid
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import attrs

from snapcapi import problems as _problems
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
from snapcapi._masking import echo, echo_code, echo_time, mask
from snapcapi.app_data import AppData
from snapcapi.custom_data import CustomData
from snapcapi.enums import ActionSource, EventName
from snapcapi.errors import Remedy, ValidationError
from snapcapi.problems import Problem
from snapcapi.user_data import OnInvalid, UserData, identifier_rows

__all__ = [
    "MAX_AGE",
    "MAX_FUTURE_SKEW",
    "STALE_AGE",
    "Event",
    "EventTime",
    "resolve_timezone",
    "to_epoch_seconds",
]

EventTime = _dt.datetime | _dt.date | int | float | str

#: Snap drops events older than this (documented: 37 days).
MAX_AGE = _dt.timedelta(days=37)
#: Events older than this still count, but attribution suffers; they get a warning.
STALE_AGE = _dt.timedelta(days=7)
#: How far in the future an event may be stamped (clock skew between servers).
MAX_FUTURE_SKEW = _dt.timedelta(minutes=10)

_MAX_SKEW_S = 600
_STALE_S = 7 * 86400

# ----------------------------------------------------------------------------- event times
#
# Exports write times in many ways. The rule: read what is unambiguous, refuse what is not
# and name the setting that settles it (a time zone for times without an offset, a strptime
# format for day/month orders), never guess per row.

_TIMEZONE_REMEDY = Remedy(
    argument="timezone",
    flag="--timezone",
    example="Europe/Paris",
    what="the IANA time zone of times written without an offset",
)
_TIME_FORMAT_REMEDY = Remedy(
    argument="time_format",
    flag="--time-format",
    example="'%m/%d/%Y %H:%M'",
    what="the strptime format of the time column",
    python_example="'%m/%d/%Y %H:%M'",
)

_UTC = _dt.timezone.utc
_DAY_S = 86400
_YEAR_S = 365 * _DAY_S
_EPOCH_ORDINAL = _dt.date(1970, 1, 1).toordinal()
#: Numbers are told apart by size: below 10**11 seconds (5138 AD), below 10**14 milliseconds,
#: and so on; each limit is 1973 in the next unit, so the ranges cannot overlap.
_UNITS = (
    (10**11, 1, "seconds"),
    (10**14, 10**3, "milliseconds"),
    (10**17, 10**6, "microseconds"),
    (10**20, 10**9, "nanoseconds"),
)
#: A number read as a time must land between 2000 and a year from now; anything else is a
#: number in the wrong unit, or not a time at all (a shifted column, an order number).
_Y2000 = 946_684_800
# The constructor's fast path takes ints below this bound, fixed at import; it only errs
# towards the full check (the bound is never later than a year from the current time).
_FAST_MAX = int(time.time()) + _YEAR_S
_Y2000_MS, _FAST_MAX_MS = _Y2000 * 1000, _FAST_MAX * 1000
_UNIT_ADVICE = "give Unix seconds, milliseconds, microseconds or nanoseconds, or a date"

# ISO 8601 and its everyday relatives: T or a space, seconds and fractions optional, then Z,
# UTC, GMT or an offset (+01:00, +0100, -05). Year first, so the order of the rest is known.
_ISO_TEXT = re.compile(
    r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})"
    r"(?:(?:T|\s+)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?)?"
    r"\s*(?:(Z|UTC|GMT)|([+-])(\d{2})(?::?(\d{2}))?)?",
    re.ASCII | re.IGNORECASE,
)
# 11/20/2026, 20.11.2026, 20-11-26: only the writer knows which number is the month.
_DAY_MONTH_TEXT = re.compile(r"\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}(?!\d)", re.ASCII)
_FRACTION = re.compile(r"\d+", re.ASCII)
_OFFSET_TEXT = re.compile(
    r"\s*(?:(Z|UTC|GMT)|([+-])(\d{2})(?::?(\d{2}))?)", re.ASCII | re.IGNORECASE
)
_UNREADABLE = 1 << 40  # no offset is this large
_NUMBER_TEXT = re.compile(r"[+-]?\d+(?:\.\d*)?", re.ASCII)
_FORMAT_TIME = re.compile(r"%[HIMSXcfpz]")
_FORMAT_YEAR = re.compile(r"%[YyGc]")
# Abbreviations are not IANA names and several are ambiguous; point at a zone instead.
_ABBREVIATIONS = {
    "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles",
    "MDT": "America/Denver",
    "CST": "America/Chicago",
    "CDT": "America/Chicago",
    "EDT": "America/New_York",
    "BST": "Europe/London",
    "CEST": "Europe/Paris",
    "AEST": "Australia/Sydney",
    "AEDT": "Australia/Sydney",
}


@functools.lru_cache(maxsize=256)
def _offset_of(tail: str) -> int | None:
    """Read what follows a time: its UTC offset in seconds, None for nothing, or _UNREADABLE.

    Cached: a file holds a handful of distinct tails ("Z", " -0500"), not one per row.
    """
    if not tail:
        return None
    match = _OFFSET_TEXT.fullmatch(tail)
    if match is None:
        return _UNREADABLE
    utc, sign, hours, minutes = match.groups()
    if utc is not None:
        return 0
    h, m = int(hours), int(minutes or 0)
    if h > 23 or m > 59:
        return _UNREADABLE
    return (h * 3600 + m * 60) * (1 if sign == "+" else -1)


@functools.lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    """Every IANA name the system knows, by its lowercase form (read once, on a miss)."""
    return {name.lower(): name for name in zoneinfo.available_timezones()}


@functools.lru_cache(maxsize=128)
def _named_zone(name: str) -> _dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (KeyError, ValueError, OSError):
        pass
    # The database is case-sensitive, people are not: "europe/paris" has one meaning.
    exact = _zone_names().get(name.lower())
    if exact is not None:
        return zoneinfo.ZoneInfo(exact)
    raise ValidationError("timezone", _unknown_zone(name))


@functools.lru_cache(maxsize=32)
def _unknown_zone(name: str) -> str:
    """Say why ``name`` is no zone, with the closest names (cached: every row may ask)."""
    if name.upper() in _ABBREVIATIONS:
        hint = (
            f"; abbreviations are ambiguous, give a name such as {_ABBREVIATIONS[name.upper()]!r}"
        )
    else:
        names = _zone_names()
        wanted = name.lower().replace(" ", "_")
        # "Paris" is the city of "Europe/Paris"; otherwise the closest spellings.
        close = [full for key, full in names.items() if key.rpartition("/")[2] == wanted]
        close += [
            names[key] for key in difflib.get_close_matches(wanted, list(names), n=3, cutoff=0.8)
        ]
        close = list(dict.fromkeys(close))[:3]
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    shown = echo_code(name, _ABBREVIATIONS)
    return f"{shown} is not an IANA time zone such as 'Europe/Paris' or 'UTC'{hint}"


def resolve_timezone(value: _dt.tzinfo | str) -> _dt.tzinfo:
    """Return the ``tzinfo`` for an IANA name (``"Europe/Paris"``) or a ``tzinfo`` as it is.

    Names are looked up with :mod:`zoneinfo` (once each; the result is cached) and matched
    without regard to case.

    Raises:
        ValidationError: ``timezone``: the name is no IANA zone; the message gives the closest.

    """
    if isinstance(value, _dt.tzinfo):
        return value
    if not isinstance(value, str):
        raise ValidationError(
            "timezone",
            f"expected an IANA time zone name such as 'Europe/Paris', got {type(value).__name__}",
        )
    return _named_zone(value.strip())


def _utc_seconds(year: int, month: int, day: int, seconds_of_day: int = 0) -> int:
    """Unix seconds of a UTC calendar time, without building a datetime (the hot path)."""
    return (_dt.date(year, month, day).toordinal() - _EPOCH_ORDINAL) * _DAY_S + seconds_of_day


def _midnight(day: _dt.date, zone: _dt.tzinfo | None) -> int:
    if zone is None:
        return (day.toordinal() - _EPOCH_ORDINAL) * _DAY_S
    return int(_dt.datetime(day.year, day.month, day.day, tzinfo=zone).timestamp())


def _naive(field: str, what: str) -> ValidationError:
    return ValidationError(field, what, remedy=_TIMEZONE_REMEDY)


def _from_number(value: int | float, field: str, zone: _dt.tzinfo | None) -> int:
    """Read a number as a YYYYMMDD date or as Unix seconds, ms, µs or ns, told by its size."""
    if value.__class__ is int:  # the common cases first: seconds and milliseconds of now
        if _Y2000 <= value <= _FAST_MAX:
            return int(value)
        if _Y2000_MS <= value <= _FAST_MAX_MS:
            return int(value) // 1000
    if not value > 0:  # NaN compares false
        raise ValidationError(field, "must be a positive Unix timestamp")
    if value < 100_000_000:
        if value >= 10_000_000 and value == int(value):
            day = _yyyymmdd(int(value))
            if day is not None:
                return _plausible_date(day, value, field, zone)
        unit = _UNITS[0]  # 1970-1973: refused below, naming the unit
    else:
        found = next((size for size in _UNITS if value < size[0]), None)
        if found is None:  # infinite, or past 10**20: its digits are not shown (nor str()'d)
            raise _too_large(field)
        unit = found
    _, per_second, name = unit
    seconds = int(value // per_second if value.__class__ is int else value / per_second)
    if _Y2000 <= seconds <= _FAST_MAX or _Y2000 <= seconds <= time.time() + _YEAR_S:
        return seconds
    # Only the year is shown: a shifted column may hold a phone number, and the full date
    # would give most of its digits back.
    year = _dt.datetime.fromtimestamp(seconds, _UTC).year
    when = "before 2000" if seconds < _Y2000 else "more than a year from now"
    raise ValidationError(
        field, f"{echo(str(value))} read as Unix {name} is in {year}, {when}; {_UNIT_ADVICE}"
    )


def _too_large(field: str) -> ValidationError:
    return ValidationError(
        field, f"is too large for a Unix time in seconds to nanoseconds; {_UNIT_ADVICE}"
    )


def _yyyymmdd(number: int) -> _dt.date | None:
    # Eight digits are 1970-1973 as Unix seconds, so one that is a real calendar date is that
    # date (GA4's event_date, YYYYMMDD exports); other eight-digit numbers are seconds.
    try:
        return _dt.date(number // 10000, number // 100 % 100, number % 100)
    except ValueError:
        return None


def _plausible_date(day: _dt.date, value: float, field: str, zone: _dt.tzinfo | None) -> int:
    seconds = _midnight(day, zone)
    if seconds < _Y2000:
        raise ValidationError(field, f"{echo(str(value))} read as a date (YYYYMMDD) is before 2000")
    if seconds > time.time() + _YEAR_S:
        raise ValidationError(
            field, f"{echo(str(value))} read as a date (YYYYMMDD) is more than a year from now"
        )
    return seconds


def _from_iso(match: re.Match[str], text: str, field: str, zone: _dt.tzinfo | None) -> int:
    year, _, month, day, hour, minute, second, utc, sign, offset_h, offset_m = match.groups()
    h = m = s = offset = 0
    if hour is not None:
        h, m, s = int(hour), int(minute), int(second or 0)
    if sign is not None:
        oh, om = int(offset_h), int(offset_m or 0)
        if oh > 23 or om > 59:
            raise ValidationError(
                field, f"{echo_time(text)} is not a time (its offset is out of range)"
            )
        offset = (oh * 3600 + om * 60) * (1 if sign == "+" else -1)
    if h > 23 or m > 59 or s > 59:
        raise ValidationError(field, f"{echo_time(text)} is not a time (its clock is out of range)")
    local = utc is None and sign is None
    if local and zone is None and hour is not None:
        raise _naive(field, f"{echo_time(text)} has no UTC offset")
    try:
        if local and zone is not None:
            moment = _dt.datetime(int(year), int(month), int(day), h, m, s, tzinfo=zone)
            return int(moment.timestamp())
        # An offset, Z/UTC/GMT, or a bare date without a zone (midnight UTC, as for a date).
        return _utc_seconds(int(year), int(month), int(day), h * 3600 + m * 60 + s - offset)
    except ValueError:
        raise ValidationError(field, f"{echo_time(text)} is not a time (no such date)") from None


@functools.lru_cache(maxsize=16)
def _format_parts(time_format: str) -> tuple[bool, bool]:
    """Tell whether a strptime format reads a time of day and a year."""
    plain = time_format.replace("%%", "")
    return bool(_FORMAT_TIME.search(plain)), bool(_FORMAT_YEAR.search(plain))


def _shown_format(time_format: str) -> str:
    """Quote a time format in a message (a setting, not data), cut when it is long."""
    return repr(time_format if len(time_format) <= 60 else time_format[:60] + "…")


def _from_format(text: str, time_format: str, field: str, zone: _dt.tzinfo | None) -> int:
    shown = _shown_format(time_format)
    try:
        parsed = _dt.datetime.strptime(text, time_format)
    except ValueError as exc:
        detail = str(exc)
        if detail.startswith(("time data", "unconverted data")):
            raise ValidationError(
                field, f"{echo_time(text)} does not match the time format {shown}"
            ) from None
        # strptime's own words quote the format (and only it), at any length: say it once.
        detail = detail.replace(f" {time_format!r}", "")
        raise ValidationError(
            "time_format", f"{shown} is not a strptime format ({detail[:200]})"
        ) from None
    has_time, has_year = _format_parts(time_format)
    if not has_year:
        raise ValidationError("time_format", f"{shown} has no year; add %Y")
    if parsed.tzinfo is not None:
        return int(parsed.timestamp())
    if zone is not None:
        return int(parsed.replace(tzinfo=zone).timestamp())
    if not has_time:
        return _midnight(parsed.date(), None)
    raise _naive(field, f"{echo_time(text)} has no UTC offset")


def _from_text(value: str, field: str, zone: _dt.tzinfo | None, time_format: str | None) -> int:
    text = value.strip()
    if time_format is not None:
        return _from_format(text, time_format, field, zone)
    if text.isdigit() and text.isascii():  # Unix time or YYYYMMDD; GA4 writes INT64 as text
        if len(text) > 20:  # past nanoseconds; int() refuses 4,300 digits
            raise _too_large(field)
        return _from_number(int(text), field, zone)
    # Fast paths for the shapes most exports write, YYYY-MM-DD and YYYY-MM-DD HH:MM:SS with an
    # optional fraction and offset: fromisoformat reads exactly these alike on every Python
    # (3.11's reads more, which is why the shape is checked first). The regex does the rest.
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            return _midnight(_dt.date.fromisoformat(text), zone)
        except ValueError:
            pass  # the regex path says what is wrong
    elif (
        len(text) >= 19
        and text[10] in "Tt "
        and text[4] == "-"
        and text[7] == "-"
        and text[13] == ":"
        and text[16] == ":"
    ):
        end = 19
        if text[19:20] in (".", ","):
            fraction = _FRACTION.match(text, 20)
            end = 19 if fraction is None else fraction.end()  # "12:00:00." is for the regex
        offset = _offset_of(text[end:])
        if offset != _UNREADABLE:
            try:
                moment = _dt.datetime.fromisoformat(text[:19])
            except ValueError:
                pass
            else:
                if offset is None:
                    if zone is None:
                        raise _naive(field, f"{echo_time(text)} has no UTC offset")
                    return int(moment.replace(tzinfo=zone).timestamp())
                days = moment.toordinal() - _EPOCH_ORDINAL
                clock = moment.hour * 3600 + moment.minute * 60 + moment.second
                return days * _DAY_S + clock - offset
    match = _ISO_TEXT.fullmatch(text)
    if match is not None:
        return _from_iso(match, text, field, zone)
    if _NUMBER_TEXT.fullmatch(text):  # 1795435200.0, as pandas writes a float column
        return _from_number(float(text), field, zone)
    if _DAY_MONTH_TEXT.match(text):
        raise ValidationError(
            field,
            f"{echo_time(text)} is written day/month or month/day, which snapcapi does not guess",
            remedy=_format_remedy(text),
        )
    raise ValidationError(
        field,
        f"{echo_time(text)} is not a time (snapcapi reads ISO 8601, Unix seconds to nanoseconds "
        "and YYYYMMDD)",
        remedy=_TIME_FORMAT_REMEDY,
    )


_SLASHED = re.compile(
    r"\s*(\d{1,2})([/.\-])(\d{1,2})[/.\-](\d{2,4})(?:[ T]+(\d{1,2}):(\d{2})(:\d{2})?)?"
)


def _format_remedy(text: str) -> Remedy:
    """Suggest the format a slashed date most likely has (day first when its day says so)."""
    found = _SLASHED.match(text)
    if found is None:
        return _TIME_FORMAT_REMEDY
    first, separator, year = found.group(1, 2, 4)
    date = ["%d", "%m"] if int(first) > 12 else ["%m", "%d"]  # a day past 12 says day first
    clock = ""
    if found.group(5):
        twelve = re.search(r"[AaPp]\.?[Mm]", text) is not None
        clock = (" %I:%M" if twelve else " %H:%M") + (":%S" if found.group(7) else "")
        clock += " %p" if twelve else ""
    example = f"{date[0]}{separator}{date[1]}{separator}{'%Y' if len(year) == 4 else '%y'}{clock}"
    return attrs.evolve(_TIME_FORMAT_REMEDY, example=repr(example), python_example=repr(example))


def _event_time(value: Any) -> int:
    """Convert the constructor's event_time; its errors speak to a Python caller."""
    if value.__class__ is int and _Y2000 <= value <= _FAST_MAX:
        return int(value)
    try:
        return to_epoch_seconds(value)
    except ValidationError as exc:
        remedy = exc.remedy
        if remedy is None:
            raise
        if isinstance(value, _dt.datetime):
            raise ValidationError(
                "event_time",
                "is a naive datetime; attach a time zone, e.g. datetime.now(timezone.utc)",
            ) from None
        # Event() takes no timezone or time_format: say where they are given.
        example = remedy.python_example or repr(remedy.example)
        raise ValidationError(
            "event_time",
            f"{exc.problem}; convert it first with snapcapi.events.to_epoch_seconds(value, "
            f"{remedy.argument}={example}) ({remedy.what})",
        ) from None


def to_epoch_seconds(
    value: Any,
    field: str = "event_time",
    *,
    timezone: _dt.tzinfo | str | None = None,
    time_format: str | None = None,
) -> int:
    """Convert an event time to integer Unix seconds.

    Accepts:

    - an aware ``datetime``; a naive one (pandas' naive ``Timestamp`` too) in ``timezone``;
    - a ``date``, midnight in ``timezone`` (UTC without one);
    - a number (int, float, ``Decimal``, numpy's): eight digits that form a calendar date are
      that date (``20261120``, GA4's ``event_date``); otherwise Unix seconds, milliseconds,
      microseconds or nanoseconds, told apart by size, which must land between 2000 and a
      year from now;
    - text: digits read as a number (GA4 writes ``event_timestamp`` as text), ISO 8601 with
      ``T`` or a space, optional seconds and fraction, and ``Z``, ``UTC``, ``GMT`` or an
      offset (``+01:00``, ``+0100``, ``-0500``); a bare ``YYYY-MM-DD`` is midnight in
      ``timezone`` (UTC without one); with ``time_format``, text is read with
      ``datetime.strptime`` and that format only.

    Args:
        value: The time.
        field: The field named in errors.
        timezone: The IANA name (``"Europe/Paris"``) or ``tzinfo`` of times written without an
            offset. It never overrides an offset the time carries. Local times that happen
            twice (when clocks go back) are the first of the two, and times that never happen
            (when clocks go forward) are read with the offset before the change, as
            ``fold=0`` does; a naive ``datetime`` with ``fold=1`` keeps its own choice.
        time_format: A ``strptime`` format for text that is not ISO 8601
            (``"%m/%d/%Y %I:%M %p"``, ``"%d/%m/%Y %H:%M"``); numbers and datetimes ignore it.

    Raises:
        ValidationError: The value is not a time, has no offset and no ``timezone`` was given,
            is day/month text without ``time_format``, or is a number no unit makes plausible.

    """
    zone = None if timezone is None else resolve_timezone(timezone)
    if time_format is not None and not isinstance(time_format, str):
        raise ValidationError(
            "time_format", f"expected a strptime format, got {type(time_format).__name__}"
        )
    cls = value.__class__
    if cls is int:
        return _from_number(value, field, zone)
    if cls is str:
        return _from_text(value, field, zone, time_format)
    if isinstance(value, bool):
        raise ValidationError(field, "expected a datetime or a Unix timestamp, got bool")
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            if zone is None:
                raise _naive(field, "is a naive datetime (no time zone)")
            value = value.replace(tzinfo=zone)
        try:
            return int(value.timestamp())
        except (ValueError, OverflowError):  # pandas' NaT; a zone pushing past year 9999
            raise ValidationError(field, "is not a time") from None
    if isinstance(value, _dt.date):
        return _midnight(value, zone)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise ValidationError(field, "must be a positive Unix timestamp")
        if value.adjusted() >= 20:  # before int(), which would build all its digits
            raise _too_large(field)
        integral = value == value.to_integral_value()
        return _from_number(int(value) if integral else float(value), field, zone)
    if isinstance(value, numbers.Integral):
        return _from_number(int(value), field, zone)
    if isinstance(value, numbers.Real):
        return _from_number(_real_seconds(value), field, zone)
    if isinstance(value, str):
        return _from_text(str(value), field, zone, time_format)
    raise ValidationError(
        field, f"expected a datetime or a Unix timestamp, got {type(value).__name__}"
    )


def _real_seconds(value: Any) -> float:
    """Read a real number that is not an int, a float or a Decimal (a Fraction, numpy's)."""
    try:
        return float(value)
    except OverflowError:  # a Fraction past the float range
        return math.inf if value > 0 else -math.inf


def _event_id(value: Any) -> str:
    if value is None:
        return str(uuid.uuid4())
    if (
        value.__class__ is str
        and value
        and len(value) <= 255
        and not value[0].isspace()
        and not value[-1].isspace()
        and value.isascii()
    ):
        return str(value)
    result = text(value, "event_id")
    if len(result) > 255:
        raise ValidationError("event_id", "is longer than 255 characters")
    return result


# The common URL, taken without urlsplit (IPv6 hosts, in brackets, go the long way).
_URL_START = re.compile(r"https?://[^\s/?#@\[\]]+(?:[/?#]|$)")


def _url(value: Any) -> str:
    if (
        value.__class__ is str
        and value.isascii()
        and _URL_START.match(value)
        and not value[-1].isspace()
    ):
        return str(value)
    result = text(value, "event_source_url")
    try:
        parts = urlsplit(result)
        valid = parts.scheme.lower() in ("http", "https") and bool(parts.netloc)
    except ValueError:  # an unclosed IPv6 bracket
        valid = False
    if not valid:
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


# The same, as the JSON text of the payload's first members (enum values are plain ASCII).
_NAMES_JSON: dict[Any, str] = {m: f'"event_name":"{m.value}"' for m in EventName}
_SOURCES_JSON: dict[Any, str] = {m: f',"action_source":"{m.value}"' for m in ActionSource}
_I64_MIN, _I64_END = -(2**63), 2**63


def _integer(number: Any, value: Callable[[Any], str]) -> str:
    """Write an int within 64 bits as every encoder does; anything else as ``value`` does."""
    if number.__class__ is int and _I64_MIN <= number < _I64_END:
        return int.__repr__(number)
    return value(number)


#: The payload's last members, in order, each a plain value.
_EVENT_TAIL = (
    "data_processing_options_country",
    "data_processing_options_state",
    "integration",
    "opt_out",
)


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
        event_time: When it happened: aware ``datetime``, ``date``, Unix seconds,
            milliseconds, microseconds or nanoseconds, a ``YYYYMMDD`` date, or ISO 8601 text
            with an offset (see :func:`to_epoch_seconds`); defaults to now. Stored as Unix
            seconds. Times without an offset need a zone: use :meth:`from_dict` or
            :func:`to_epoch_seconds` with ``timezone=``.
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

    @property
    def drops(self) -> tuple[Problem, ...]:
        """The :attr:`warnings` as :class:`~snapcapi.problems.Problem` values."""
        return self.user_data.drops or ()

    def problems(self, *, now: _dt.datetime | float | None = None) -> tuple[str, ...]:
        """List why this event cannot be sent as it is, judged at ``now`` (default: the clock).

        An empty tuple means the event is fit to send. The checks: a matching key is present,
        phone numbers have a country code, ``PURCHASE`` has value and currency, ``WEB`` events
        have their page URL, ``MOBILE_APP`` events have app data with a platform, and the
        event time lies between 37 days ago and 10 minutes ahead.
        """
        return tuple([problem.message for problem in self.problem_values(now=now)])

    def problem_values(self, *, now: _dt.datetime | float | None = None) -> tuple[Problem, ...]:
        """Return :meth:`problems` as :class:`~snapcapi.problems.Problem` values.

        Their messages are the strings :meth:`problems` lists, in the same order; code that
        counts or groups them reads their ``code`` and ``field``.
        """
        found = [*self._content_problems()]
        age = _to_instant(now) - self.event_time
        if age > MAX_AGE.total_seconds():
            found.append(
                Problem(
                    _problems.EVENT_TIME_TOO_OLD,
                    "event_time",
                    f"event_time is {age / 86400:.0f} days old; Snap accepts events up to 37 "
                    "days old",
                )
            )
        elif -age > MAX_FUTURE_SKEW.total_seconds():
            found.append(
                Problem(
                    _problems.EVENT_TIME_FUTURE,
                    "event_time",
                    f"event_time is {-age / 60:.0f} minutes in the future; check the clock or "
                    "time zone",
                )
            )
        return tuple(found)

    def _content_problems(self) -> list[Problem]:
        """Return the problems that do not depend on the time of judging, in report order."""
        found: list[Problem] = []
        user = self.user_data
        if user.unresolved_phones:
            phones = ", ".join(mask(p) for p in user.unresolved_phones)
            found.append(
                Problem(
                    _problems.PHONE_NO_COUNTRY_CODE,
                    "phone",
                    f"phone {phones} has no country code; give the user's country, "
                    "UserData(region=...) or Client(default_region=...)",
                )
            )
        if not self.match_keys:
            app = " or madid" if self.action_source is ActionSource.MOBILE_APP else ""
            found.append(
                Problem(
                    _problems.NO_MATCH_KEY,
                    "user_data",
                    "user_data has no matching key; add email, phone, or client_ip_address "
                    f"together with client_user_agent{app}",
                )
            )
        if self.event_name is EventName.PURCHASE:
            custom = self.custom_data
            if custom is None or custom.value is None or custom.currency is None:
                found.append(_PURCHASE_WITHOUT_VALUE)
        if self.action_source is ActionSource.WEB and self.event_source_url is None:
            found.append(_WEB_WITHOUT_URL)
        if self.action_source is ActionSource.MOBILE_APP and (
            self.app_data is None or self.app_data.platform is None
        ):
            found.append(_APP_WITHOUT_PLATFORM)
        return found

    def review(self, now: float) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Return ``(problems, notices)`` at Unix time ``now``: the client's check of each event.

        Events that are clearly fine (the common case) are recognised without building the
        full lists.
        """
        found = self._review_values(now)
        if found is _NOTHING:  # the common case: clearly fine
            return (), ()
        problems, notices = found
        return tuple([p.message for p in problems]), tuple([n.message for n in notices])

    def _review_values(self, now: float) -> tuple[tuple[Problem, ...], tuple[Problem, ...]]:
        """:meth:`review` as :class:`~snapcapi.problems.Problem` values."""
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
            return _NOTHING
        return self.problem_values(now=now), self.notice_values(now=now)

    def notices(self, *, now: _dt.datetime | float | None = None) -> tuple[str, ...]:
        """List what Snap will accept but you should know, judged at ``now``.

        That is the :attr:`warnings` from construction plus an event older than 7 days, which
        Snap accepts but attributes less well.
        """
        return tuple([notice.message for notice in self.notice_values(now=now)])

    def notice_values(self, *, now: _dt.datetime | float | None = None) -> tuple[Problem, ...]:
        """Return :meth:`notices` as :class:`~snapcapi.problems.Problem` values."""
        found = list(self.drops)
        age = _to_instant(now) - self.event_time
        if STALE_AGE.total_seconds() < age <= MAX_AGE.total_seconds():
            found.append(
                Problem(
                    _problems.EVENT_TIME_STALE,
                    "event_time",
                    f"event_time is {age / 86400:.0f} days old; send events within 7 days",
                )
            )
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

    def _json(self, quote: Callable[[str], str], value: Callable[[Any], str]) -> str:
        """Return :meth:`to_payload` as JSON text, written from the fields without the dict.

        ``quote`` encodes one string and ``value`` any other JSON value, as the encoder in use
        does; the client encodes events this way (see
        :func:`snapcapi._transport._wire.encode_event`), and the text is the encoding of
        :meth:`to_payload`, key for key.
        """
        values = self.__dict__
        time = self.event_time
        out = (
            f"{{{_NAMES_JSON[self.event_name]}"
            f',"event_time":{_integer(time, value)}'
            f"{_SOURCES_JSON[self.action_source]}"
            f',"event_id":{quote(self.event_id)}'
            f',"user_data":{self.user_data._json(quote, value)}'
        )
        url, custom, app = self.event_source_url, self.custom_data, self.app_data
        if url is not None:
            out += f',"event_source_url":{quote(url)}'
        if custom is not None:
            out += f',"custom_data":{custom._json(quote, value)}'
        if app is not None:
            out += f',"app_data":{app._json(quote, value)}'
        options = self.data_processing_options
        if options is not None:
            listed = ",".join([quote(item) for item in options])
            out += f',"data_processing_options":[{listed}]'
        for key in _EVENT_TAIL:
            item = values.get(key)
            if item is not None:
                out += f',"{key}":{quote(item) if item.__class__ is str else value(item)}'
        return out + "}"

    @classmethod
    def from_dict(
        cls,
        record: Mapping[str, Any],
        *,
        aliases: Mapping[str, str | int | EventName] | None = None,
        region: str | None = None,
        on_invalid: OnInvalid = "raise",
        timezone: _dt.tzinfo | str | None = None,
        time_format: str | None = None,
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
            timezone: The IANA name (``"Europe/Paris"``) or ``tzinfo`` of times written
                without an offset (``2026-11-20 14:22:10``, naive datetimes, ``YYYYMMDD``);
                see :func:`to_epoch_seconds`.
            time_format: A ``strptime`` format for time text that is not ISO 8601
                (``"%m/%d/%Y %I:%M %p"``).

        Raises:
            ValidationError: An unknown key, a missing required field, or a bad value.

        """
        if not isinstance(record, Mapping):
            raise ValidationError("record", f"expected a dict, got {type(record).__name__}")
        parts: dict[str, dict[str, Any]] = {"event": {}, "user": {}, "custom": {}, "app": {}}
        items: list[tuple[str, Any]] = []
        for raw_key, value in record.items():
            key = _record_key(raw_key)
            if key not in _NESTED:
                items.append((key, value))
            elif isinstance(value, Mapping):
                items.extend((f"{key}.{_record_key(k)}", v) for k, v in value.items())
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
        when = event_fields.pop("event_time")
        zone = None if timezone is None else resolve_timezone(timezone)  # checked on every row
        if when.__class__ is int and _Y2000 <= when <= _FAST_MAX:
            seconds = when
        else:
            seconds = to_epoch_seconds(when, timezone=zone, time_format=time_format)
        event = cls(
            **event_fields,
            user_data=UserData(**user_fields),
            custom_data=CustomData(**parts["custom"]) if parts["custom"] else None,
            app_data=_app_from_record(parts["app"]),
        )
        # The time was read here, with the record's zone and format, which the constructor
        # does not take; set it on the new event before anyone else sees it. (Passing the
        # seconds to the constructor would judge a text date such as 1999-12-31 as a number.)
        event.__dict__["event_time"] = seconds
        return event

    def _repr_html_(self) -> str:
        """Show the event in a notebook as a small table, identifiers masked or hashed."""
        from snapcapi._html import table

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


_NOTHING: tuple[tuple[Any, ...], tuple[Any, ...]] = ((), ())
# The problems whose message never varies, made once.
_PURCHASE_WITHOUT_VALUE = Problem(
    _problems.PURCHASE_WITHOUT_VALUE,
    "custom_data",
    "PURCHASE events need custom_data.value and custom_data.currency",
)
_WEB_WITHOUT_URL = Problem(
    _problems.WEB_WITHOUT_URL,
    "event_source_url",
    "WEB events need event_source_url, the page the event happened on",
)
_APP_WITHOUT_PLATFORM = Problem(
    _problems.APP_WITHOUT_PLATFORM,
    "app_data",
    "MOBILE_APP events need app_data with platform='android' or 'ios' (for extinfo)",
)

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


def _record_key(key: object) -> str:
    """Return a record's key as a field name: text, or a column number (a DataFrame's 0)."""
    if isinstance(key, str):
        return key.strip()
    if isinstance(key, int) and not isinstance(key, bool) and -(10**9) < key < 10**9:
        return str(key)
    raise ValidationError("record", f"keys must be field names (text), got {type(key).__name__}")


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

"""Converters that turn user input into model field values, raising ``ValidationError``.

Each converter takes the raw value and the field name (for the message) and returns the stored
form. They are shared by the models so that one kind of input (a money amount, a list of ids, a
yes/no flag) is accepted the same way everywhere.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import difflib
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import attrs

from snapcapi.errors import ValidationError

T = TypeVar("T")

Converter = Callable[[Any, str], Any]

_TRUE = frozenset({"true", "t", "yes", "y", "1", "on"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "off"})


def is_blank(value: object) -> bool:
    """Tell whether a value means "no value": None, an empty or blank string, or a float NaN."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, float) and math.isnan(value)


def text(value: Any, field: str) -> str:
    """Return ``value`` as a trimmed, non-empty string (ints are accepted and formatted)."""
    if value.__class__ is str:
        stripped: str = value.strip()
        if stripped:
            return stripped
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValidationError(field, f"expected a string, got {type(value).__name__}")
    result = str(value).strip()
    if not result:
        raise ValidationError(field, "is empty; leave the field out when there is no value")
    return result


def text_list(value: Any, field: str) -> tuple[str, ...]:
    """Return a tuple of strings from one string (comma-separated) or an iterable of strings."""
    items: Iterable[Any]
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        items = (value,)
    elif isinstance(value, Iterable) and not isinstance(value, (bytes, Mapping)):
        items = value
    else:
        raise ValidationError(
            field, f"expected a string or a list of strings, got {type(value).__name__}"
        )
    result = tuple(
        str(item).strip() for item in items if not is_blank(item) and not isinstance(item, bool)
    )
    if not result:
        raise ValidationError(field, "is empty; leave the field out when there is no value")
    return result


def money(value: Any, field: str) -> decimal.Decimal:
    """Return a non-negative, finite amount as a Decimal (from int, float, Decimal or str)."""
    if isinstance(value, bool):
        raise ValidationError(field, "expected a number, got bool")
    try:
        if isinstance(value, decimal.Decimal):
            amount = value
        elif isinstance(value, int):
            amount = decimal.Decimal(value)
        elif isinstance(value, float):
            amount = decimal.Decimal(repr(value))
        elif isinstance(value, str):
            amount = decimal.Decimal(value.strip())
        else:
            raise ValidationError(field, f"expected a number, got {type(value).__name__}")
    except decimal.InvalidOperation:
        raise ValidationError(
            field, f"{value!r} is not a number; write amounts like 142.52 (no currency symbols)"
        ) from None
    if not amount.is_finite():
        raise ValidationError(field, "must be a finite number")
    if amount < 0:
        raise ValidationError(field, "must not be negative; send refunds as separate events")
    return amount


def json_number(amount: decimal.Decimal) -> int | float:
    """Return the JSON number for an amount: an int when it is whole, else the nearest float."""
    if amount == amount.to_integral_value():
        return int(amount)
    return float(amount)


def count(value: Any, field: str) -> int:
    """Return a non-negative integer (from int, integral float, or a string of digits)."""
    if isinstance(value, bool):
        raise ValidationError(field, "expected a whole number, got bool")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise ValidationError(field, f"expected a whole number, got {value!r}")
    if number < 0:
        raise ValidationError(field, "must not be negative")
    return number


def flag(value: Any, field: str) -> bool:
    """Return a bool from a bool, 0/1, or a yes/no word such as "true" or "no"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise ValidationError(field, f"expected true or false, got {value!r}")


def travel_date(value: Any, field: str) -> str:
    """Return a travel date as text: a ``date`` becomes ``YYYY-MM-DD``; strings pass through."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            return value.strftime("%Y-%m-%dT%H:%M")
        return value.isoformat(timespec="seconds")
    if isinstance(value, _dt.date):
        return value.isoformat()
    return text(value, field)


def one_of(choices: Iterable[str], field: str, given: str, what: str) -> ValidationError:
    """Build the error for a name that is not among ``choices``, suggesting the closest ones."""
    close = difflib.get_close_matches(given, list(choices), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return ValidationError(field, f"{given!r} is not {what}{hint}")


def build(cls: type[T], mapping: Mapping[Any, Any], field: str) -> T:
    """Build an attrs model from a dict of its arguments, reporting bad keys as ValidationError."""
    known = attrs.fields_dict(cls)  # type: ignore[arg-type]
    for key in mapping:
        if not isinstance(key, str) or key not in known:
            raise one_of(known, field, str(key), f"a {field} field")
    for name, attribute in known.items():
        if attribute.default is attrs.NOTHING and is_blank(mapping.get(name)):
            raise ValidationError(f"{field}.{name}", "is required")
    return cls(**mapping)


def fields_repr(instance: object) -> str:
    """Show a dict-based model with just the fields that are set, amounts as Decimals."""
    parts = []
    for key, value in instance.__dict__.items():
        if isinstance(value, decimal.Decimal):
            shown = f"Decimal('{value}')"
        elif isinstance(value, Mapping):
            shown = repr(dict(value))
        else:
            shown = repr(value)
        parts.append(f"{key}={shown}")
    return f"{type(instance).__name__}({', '.join(parts)})"


def keywords(mapping: Mapping[Any, Any], field: str) -> dict[str, Any]:
    """Return a dict's items as keyword arguments, refusing keys that are not strings."""
    for key in mapping:
        if not isinstance(key, str):
            raise ValidationError(field, f"keys must be field names (strings), got {key!r}")
    return dict(mapping)


def init_fields(
    instance: object,
    owner: str,
    fields: Mapping[str, Any],
    converters: Mapping[str, Converter],
) -> None:
    """Convert and store the given keyword fields on a frozen, dict-based attrs instance.

    Only the fields actually passed are converted; the others keep their class-level default
    of None. This keeps models with dozens of optional fields cheap to build when, as usual,
    only a handful are set.
    """
    values: dict[str, Any] = instance.__dict__
    for key, raw in fields.items():
        convert = converters.get(key)
        if convert is None:
            raise one_of(converters, owner, key, f"a {owner} field")
        if raw is None or (raw.__class__ is str and not raw.strip()) or is_blank(raw):
            continue
        values[key] = convert(raw, key)


def none_defaults(cls: type[T]) -> type[T]:
    """Give every attrs field of a dict-based class a class-level default of None."""
    for attribute in attrs.fields(cls):  # type: ignore[arg-type]
        setattr(cls, attribute.name, None)
    return cls

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
import numbers
import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import attrs

from snapcapi._masking import echo, echo_amount, echo_masked
from snapcapi.errors import Remedy, ValidationError

T = TypeVar("T")

Converter = Callable[[Any, str], Any]

_TRUE = frozenset({"true", "t", "yes", "y", "1", "on"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "off"})


def is_blank(value: object) -> bool:
    """Tell whether a value means "no value": None, an empty or blank string, or a float NaN.

    NaN counts as blank because that is how pandas marks a missing cell.
    """
    if value.__class__ is str:  # the usual case first, without isinstance's lookups
        return not value.strip()
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, float) and math.isnan(value)


class _Blank:
    """The type of :data:`BLANK`, so that a reader's result can say "no value" apart from None."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "BLANK"


#: What a reader returns for a blank value (see :func:`is_blank`): leave the field out.
BLANK: Any = _Blank()


#: What fixes text that is not valid Unicode: reading the file in its real encoding.
ENCODING_REMEDY = Remedy(
    argument="encoding",
    flag="--encoding",
    example="cp1252",
    what="the encoding the file was written in; Excel on Windows writes cp1252",
    python_example="'cp1252' to open() or pandas",
)


def check_unicode(value: str, field: str) -> str:
    """Refuse text that cannot be encoded as UTF-8 (lone surrogates from broken decoding)."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError(
                field,
                "is not valid Unicode (it holds a lone surrogate, as when a file is decoded "
                "with the wrong encoding)",
                remedy=ENCODING_REMEDY,
            ) from None
    return value


#: Numbers given as ids or text have fewer digits than this (ids are at most 255 characters).
_MAX_ID_NUMBER = 10**255


def number_text(value: Any, field: str) -> str:
    """Return an integer as text, refusing numbers too long to be an id.

    Checked before ``str()``, which Python refuses past 4,300 digits.
    """
    number = operator.index(value)
    if not -_MAX_ID_NUMBER < number < _MAX_ID_NUMBER:
        raise _too_long_number(field)
    return str(number)


def _too_long_number(field: str) -> ValidationError:
    return ValidationError(
        field, "is a number of more than 255 digits, too long for an id; check the column"
    )


def read_seconds(name: str, value: Any, *, zero: bool = False, or_none: str = "") -> float:
    """Check a finite number of seconds, naming the option when it is wrong.

    Args:
        name: The option, as the user named it.
        value: What was given.
        zero: Whether 0 is allowed (``>= 0``); else the seconds must be ``> 0``.
        or_none: What None means where the caller allows it (``"for no limit"``), for the
            message; the caller handles None itself.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not (math.isfinite(value) and (value >= 0 if zero else value > 0))
    ):
        wanted = ">= 0" if zero else "> 0"
        alternative = f", or None {or_none}" if or_none else ""
        raise ValidationError(
            name, f"must be a number of seconds {wanted}{alternative}, got {value!r}"
        )
    return float(value)


def finite_float(value: Any) -> float | None:
    """Return a real number as a finite float, or None when it has none (NaN, inf, 10**400)."""
    try:
        number = float(value)
    except (ValueError, TypeError, ArithmeticError):  # OverflowError is an ArithmeticError
        return None
    return number if math.isfinite(number) else None


def text(value: Any, field: str) -> str:
    """Return ``value`` as a trimmed, non-empty string (integers are accepted and formatted)."""
    if value.__class__ is str:
        stripped: str = value.strip()
        if stripped and stripped.isascii():
            return stripped
    if isinstance(value, bool) or not isinstance(value, (str, numbers.Integral)):
        raise ValidationError(field, f"expected a string, got {type(value).__name__}")
    result = value.strip() if isinstance(value, str) else number_text(value, field)
    if not result:
        raise ValidationError(field, "is empty; leave the field out when there is no value")
    return check_unicode(result, field)


def _list_item(item: Any, field: str) -> str:
    if isinstance(item, str):
        return check_unicode(item.strip(), field)
    if isinstance(item, bool):
        raise ValidationError(field, "expected strings, got bool")
    if isinstance(item, numbers.Integral):
        return number_text(item, field)
    if isinstance(item, decimal.Decimal) and item.is_finite():
        if item.adjusted() >= 255:  # before int(), which would build all its digits
            raise _too_long_number(field)
        integral = item == item.to_integral_value()
        return number_text(int(item), field) if integral else str(item)
    if isinstance(item, numbers.Real):
        # Ids read from a spreadsheet column with gaps arrive as floats: 12345.0 means "12345".
        number = finite_float(item)
        if number is not None:
            return number_text(int(number), field) if number.is_integer() else repr(number)
    raise ValidationError(field, f"expected strings, got {type(item).__name__}")


def text_list(value: Any, field: str) -> tuple[str, ...]:
    """Return a tuple of strings from one string (comma-separated) or an iterable of strings."""
    items: Iterable[Any]
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, (numbers.Real, bool)):
        items = (value,)
    elif isinstance(value, Iterable) and not isinstance(value, (bytes, bytearray, Mapping)):
        items = value
    else:
        raise ValidationError(
            field, f"expected a string or a list of strings, got {type(value).__name__}"
        )
    kept: list[str] = []
    for item in items:
        if item.__class__ is str:  # what is_blank and _list_item do for text, in one pass
            stripped = item.strip()
            if stripped:
                kept.append(stripped if stripped.isascii() else check_unicode(stripped, field))
        elif not is_blank(item):
            converted = _list_item(item, field)
            if converted:
                kept.append(converted)
    result = tuple(kept)
    if not result:
        raise ValidationError(field, "is empty; leave the field out when there is no value")
    return result


_DECIMAL_COMMA = Remedy(
    "decimal_comma", "--decimal-comma", "", "to read amounts written 142,52 or 1.200,50",
    python_example="True (in events_from_records)",
)  # fmt: skip

#: Amounts above this are refused: no order is worth a quadrillion, and floats lose cents there.
MAX_AMOUNT = decimal.Decimal(10**15)
#: The smallest amount above zero that is sent as a number.
MIN_AMOUNT = 1e-9
#: The largest whole number JSON consumers handle exactly (2**53 - 1).
MAX_COUNT = 2**53 - 1


def money(value: Any, field: str) -> decimal.Decimal:
    """Return a non-negative, finite amount as a Decimal (from int, float, Decimal or str).

    Numeric types from numpy or pandas are accepted like the built-in ones.
    """
    if isinstance(value, bool):
        raise ValidationError(field, "expected a number, got bool")
    try:
        if isinstance(value, decimal.Decimal):
            amount = value
        elif isinstance(value, numbers.Integral):
            amount = decimal.Decimal(int(value))
        elif isinstance(value, numbers.Real):
            amount = _real_amount(value, field)
        elif isinstance(value, str):
            amount = decimal.Decimal(value.strip())
        else:
            raise ValidationError(field, f"expected a number, got {type(value).__name__}")
    except decimal.InvalidOperation:
        raise ValidationError(
            field,
            f"{echo_amount(value)} is not a number; write amounts like 142.52 (no currency "
            "symbols)",
            remedy=_DECIMAL_COMMA if isinstance(value, str) and "," in value else None,
        ) from None
    if not amount.is_finite():
        raise ValidationError(field, "must be a finite number")
    if amount < 0:
        raise ValidationError(field, "must not be negative; send refunds as separate events")
    if amount > MAX_AMOUNT:
        raise _too_large_amount(field)
    if amount and float(amount) < MIN_AMOUNT:
        raise ValidationError(field, "is too small to send as a number (below 1e-9)")
    return amount


def _real_amount(value: Any, field: str) -> decimal.Decimal:
    """Read a real number that is not an int or a Decimal (a float, a Fraction, numpy's)."""
    try:
        return decimal.Decimal(repr(float(value)))
    except OverflowError:  # a Fraction past the float range
        raise _too_large_amount(field) from None


def _too_large_amount(field: str) -> ValidationError:
    return ValidationError(field, "is implausibly large (over 10**15); check the column")


def json_number(amount: decimal.Decimal) -> int | float:
    """Return the JSON number for an amount: an int when it is whole, else the nearest float."""
    if amount == amount.to_integral_value():
        return int(amount)
    return float(amount)


def count(value: Any, field: str) -> int:
    """Return a non-negative whole number (from an integer, a whole float, or ASCII digits)."""
    if isinstance(value, bool):
        raise ValidationError(field, "expected a whole number, got bool")
    number: int | None = None
    if isinstance(value, numbers.Integral):
        number = operator.index(value)
    elif isinstance(value, numbers.Real):
        real = finite_float(value)  # None for NaN, infinities and Fractions past the floats
        if real is not None and real.is_integer():
            number = int(real)
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        digits = value.strip()
        number = MAX_COUNT + 1 if len(digits) > 20 else int(digits)
    if number is None:
        raise ValidationError(field, f"expected a whole number, got {echo_masked(value)}")
    if number < 0:
        raise ValidationError(field, "must not be negative")
    if number > MAX_COUNT:
        raise ValidationError(field, "is implausibly large (over 2**53); check the column")
    return number


def flag(value: Any, field: str) -> bool:
    """Return a bool from a bool, 0/1, or a yes/no word such as "true" or "no"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise ValidationError(field, f"expected true or false, got {echo_masked(value)}")


# Readers: a converter with ``is_blank`` in front, as the models apply them, where the common
# input (an exact str, int, float, or list of clean ids) is answered by a class check or two
# before the converter's full type dispatch. Every other input goes to the converter itself, so
# results and errors are the converter's on every input; tests/test_custom_data_fast.py proves
# each reader equal to ``is_blank`` + its converter.

# MAX_AMOUNT as an int and a float, for comparisons without building a Decimal.
_MAX_INT_AMOUNT = int(MAX_AMOUNT)
_MAX_FLOAT_AMOUNT = float(MAX_AMOUNT)
_Decimal = decimal.Decimal  # one global look-up on the hot path, not a module's attribute too


def blank_or(convert: Converter) -> Converter:
    """Return a reader for ``convert``: :data:`BLANK` for a blank value, else its result."""

    def read(value: Any, field: str) -> Any:
        if is_blank(value):
            return BLANK
        return convert(value, field)

    return read


def read_text(value: Any, field: str) -> Any:
    """:func:`text`, or :data:`BLANK` for a blank value."""
    cls = value.__class__
    if cls is str:
        stripped: str = value.strip()
        if not stripped:
            return BLANK
        return stripped if stripped.isascii() else check_unicode(stripped, field)
    if cls is int:
        return number_text(value, field)
    if is_blank(value):
        return BLANK
    return text(value, field)


def read_text_list(value: Any, field: str) -> Any:
    """:func:`text_list`, or :data:`BLANK` for a blank value.

    A list or tuple of ids that are already clean (ASCII, trimmed, not empty) becomes a
    tuple without a look at each id beyond that.
    """
    cls = value.__class__
    if cls is list or cls is tuple:
        for item in value:
            # CPython's strip() gives back the very string when there is nothing to trim;
            # were it a copy, the id would only take the general path below.
            if (
                item.__class__ is not str
                or item.strip() is not item
                or not item.isascii()
                or not item
            ):
                break
        else:
            if value:
                return tuple(value)
    elif cls is str and "," not in value:
        stripped: str = value.strip()
        if not stripped:
            return BLANK
        return (stripped if stripped.isascii() else check_unicode(stripped, field),)
    if is_blank(value):
        return BLANK
    return text_list(value, field)


def read_money(value: Any, field: str) -> Any:
    """:func:`money`, or :data:`BLANK` for a blank value (a float NaN).

    A float in ``[MIN_AMOUNT, MAX_AMOUNT]`` (or zero) passes every check of :func:`money` as
    it stands: ``repr`` gives the shortest text that reads back as the same float, so the Decimal is
    in range exactly when the float is.
    """
    cls = value.__class__
    if cls is float:
        if MIN_AMOUNT <= value <= _MAX_FLOAT_AMOUNT or value == 0.0:  # NaN: is_blank's
            return _Decimal(repr(value))
    elif cls is int and 0 <= value <= _MAX_INT_AMOUNT:
        return _Decimal(value)
    if is_blank(value):
        return BLANK
    return money(value, field)


def read_count(value: Any, field: str) -> Any:
    """:func:`count`, or :data:`BLANK` for a blank value."""
    if value.__class__ is int and 0 <= value <= MAX_COUNT:
        return value
    if is_blank(value):
        return BLANK
    return count(value, field)


def travel_date(value: Any, field: str) -> str:
    """Return a travel date as text: a ``date`` becomes ``YYYY-MM-DD``; strings pass through."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            return value.strftime("%Y-%m-%dT%H:%M")
        return value.isoformat(timespec="seconds")
    if isinstance(value, _dt.date):
        return value.isoformat()
    return text(value, field)


def one_of(
    choices: Iterable[str], field: str, given: str, what: str, *, shown: str | None = None
) -> ValidationError:
    """Build the error for a name that is not among ``choices``, suggesting the closest ones.

    ``given`` is shown as :func:`~snapcapi._masking.echo` shows names of things (a field or
    column name), unless ``shown`` says how: a value of a field of codes (an action source, a
    currency), where a careless mapping may put personal data, is shown with
    :func:`~snapcapi._masking.echo_code`.
    """
    close = difflib.get_close_matches(given, list(choices), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return ValidationError(field, f"{echo(given) if shown is None else shown} is not {what}{hint}")


def prefixed(convert: Converter, owner: str) -> Converter:
    """Wrap a converter so its errors name the field as ``owner.field``."""

    def converter(value: Any, field: str) -> Any:
        return convert(value, f"{owner}.{field}")

    return converter


def build(cls: type[T], mapping: Mapping[Any, Any], field: str) -> T:
    """Build an attrs model from a dict of its arguments, reporting bad keys as ValidationError."""
    known = attrs.fields_dict(cls)  # type: ignore[arg-type]
    for key in keywords(mapping, field):
        if key not in known:
            raise one_of(known, field, key, f"a {field} field")
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
            raise ValidationError(
                field, f"keys must be field names (strings), got {type(key).__name__}"
            )
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
        if is_blank(raw):
            continue
        values[key] = convert(raw, key)


def none_defaults(cls: type[T]) -> type[T]:
    """Give every attrs field of a dict-based class a class-level default of None."""
    for attribute in attrs.fields(cls):  # type: ignore[arg-type]
        setattr(cls, attribute.name, None)
    return cls

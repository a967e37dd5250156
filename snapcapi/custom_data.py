"""``CustomData`` and ``Content``: what was bought, searched or booked."""

from __future__ import annotations

import datetime as _dt
import decimal
import math
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypedDict

import attrs

from snapcapi import _iso
from snapcapi._convert import (
    BLANK,
    Converter,
    blank_or,
    build,
    check_unicode,
    count,
    fields_repr,
    is_blank,
    json_number,
    keywords,
    money,
    none_defaults,
    one_of,
    read_count,
    read_money,
    read_text,
    read_text_list,
    text,
    text_list,
    travel_date,
)
from snapcapi._masking import echo_code, echo_masked
from snapcapi.errors import ValidationError

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["Content", "CustomData"]

Amount = int | float | decimal.Decimal | str


def currency(value: Any, field: str = "currency") -> str:
    """Return an ISO 4217 currency code, uppercased (``usd`` → ``USD``).

    An unknown value is quoted in the error only when it is some other code (``'US'``), since
    a careless mapping may have put a name here; otherwise it is masked.
    """
    given = text(value, field)
    code = given.upper()
    if code not in _iso.CURRENCIES:
        what = "an ISO 4217 currency code such as 'USD'"
        if len(code) == 3 and code.isalpha():
            raise ValidationError(field, f"{echo_code(given)} is not {what}")
        raise one_of(_iso.CURRENCIES, field, code, what, shown=echo_code(given))
    return code


#: Every spelling of a code that :func:`currency` takes without trimming: ``USD``, ``usd``, ``Usd``.
_CURRENCY_SPELLINGS: dict[str, str] = {
    spelling: code for code in _iso.CURRENCIES for spelling in (code, code.lower(), code.title())
}


def _read_currency(value: Any, field: str) -> Any:
    """:func:`currency`, or BLANK for a blank value; the usual spellings by one look-up."""
    if value.__class__ is str:
        code = _CURRENCY_SPELLINGS.get(value)
        if code is not None:
            return code
    if is_blank(value):
        return BLANK
    return currency(value, field)


def _content(value: Any, field: str) -> Content:
    if isinstance(value, Content):
        return value
    if isinstance(value, Mapping):
        return build(Content, keywords(value, field), field)  # unknown keys named, not TypeError
    raise ValidationError(field, f"expected a Content or a dict, got {type(value).__name__}")


def _contents(value: Any, field: str) -> tuple[Content, ...]:
    if isinstance(value, (Content, Mapping)):
        value = (value,)
    if not isinstance(value, Iterable) or isinstance(value, (str, bytes)):
        raise ValidationError(field, "expected a list of Content items")
    return tuple(_content(item, field) for item in value)


def _joined(value: Any, field: str) -> str:
    return ",".join(text_list(value, field))


def _read_joined(value: Any, field: str) -> Any:
    """:func:`_joined`, or BLANK for a blank value; one category (no comma) as it is."""
    if value.__class__ is str and "," not in value:
        stripped: str = value.strip()
        if not stripped:
            return BLANK
        return stripped if stripped.isascii() else check_unicode(stripped, field)
    items = read_text_list(value, field)
    return items if items is BLANK else ",".join(items)


def _airport(value: Any, field: str) -> str:
    code = text(value, field).upper()
    if len(code) != 3 or not code.isalpha():
        raise ValidationError(field, f"{echo_masked(code)} is not a 3-letter IATA airport code")
    return code


def _string_map(value: Any, field: str) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        raise ValidationError(field, f"expected a dict of strings, got {type(value).__name__}")
    return MappingProxyType({text(k, field): text(v, f"{field}[{k!r}]") for k, v in value.items()})


def _json_map(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(field, f"expected a dict, got {type(value).__name__}")
    extra = {text(k, field): _json_value(v, field, 1) for k, v in value.items() if not is_blank(v)}
    clashes = sorted(set(extra) & set(_CONVERTERS))
    if clashes:
        raise ValidationError(
            field, f"{', '.join(clashes)} are CustomData fields; pass them as keyword arguments"
        )
    return MappingProxyType(extra)


#: How deep ``extra`` may nest lists and dicts (JSON parsers stop near here; a cycle never ends).
MAX_DEPTH = 32
#: Integers in ``extra`` stay within 64 bits, which JSON parsers read exactly.
_MAX_JSON_INT = 2**63


def _past_64_bits(field: str) -> ValidationError:
    return ValidationError(
        field, "holds a number past 64 bits, which Snap cannot read exactly; send it as text"
    )


def _json_value(value: Any, field: str, depth: int) -> Any:
    """Check that a value is plain, finite JSON (str, int, float, bool, None, lists, dicts)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return check_unicode(value, field)
    if isinstance(value, int):
        if not -_MAX_JSON_INT < value < _MAX_JSON_INT:
            raise _past_64_bits(field)
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(field, "values must be finite numbers")
        return value
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise ValidationError(field, "values must be finite numbers")
        if value.adjusted() >= 19:  # before int(), which would build all its digits
            raise _past_64_bits(field)
        return _json_value(json_number(value), field, depth)
    if isinstance(value, (list, tuple, Mapping)):
        if depth >= MAX_DEPTH:
            raise ValidationError(
                field,
                f"is nested more than {MAX_DEPTH} lists or dicts deep (or contains itself); "
                "flatten it",
            )
        if isinstance(value, Mapping):
            return {text(k, field): _json_value(v, field, depth + 1) for k, v in value.items()}
        return [_json_value(item, field, depth + 1) for item in value]
    raise ValidationError(
        field, f"values must be JSON (text, numbers, lists, dicts), not {type(value).__name__}"
    )


# Each field of Content with the name its errors give and its reader (a converter behind
# is_blank), in the order the fields are stored.
_CONTENT_READERS: tuple[tuple[str, str, Converter], ...] = (
    ("id", "contents.id", read_text),
    ("quantity", "contents.quantity", read_count),
    ("item_price", "contents.item_price", read_money),
    ("delivery_category", "contents.delivery_category", read_text),
    ("brand", "contents.brand", read_text),
)


@none_defaults
@attrs.frozen(init=False, slots=False, repr=False)
class Content:
    """One item of ``custom_data.contents``.

    Args:
        id: Your product id (as in your catalogue).
        quantity: Units bought, a whole number.
        item_price: Unit price, non-negative.
        delivery_category: ``in_store``, ``curbside`` or ``home_delivery``.
        brand: The item's brand.

    Raises:
        ValidationError: The id is missing, or a value is out of range.
    """

    id: str
    quantity: int | None
    item_price: decimal.Decimal | None
    delivery_category: str | None
    brand: str | None

    def __init__(
        self,
        *,
        id: str | int | None = None,  # required; checked below
        quantity: int | str | None = None,
        item_price: Amount | None = None,
        delivery_category: str | None = None,
        brand: str | None = None,
    ) -> None:
        values = self.__dict__
        given = (id, quantity, item_price, delivery_category, brand)
        for (key, field, read), raw in zip(_CONTENT_READERS, given, strict=True):
            if raw is not None:
                found = read(raw, field)
                if found is not BLANK:
                    values[key] = found
        if self.id is None:
            raise ValidationError("contents.id", "is required: the product id of the item")

    def to_payload(self) -> dict[str, str]:
        """Return the item as Snap's documented example has it: every value a string."""
        payload = {"id": self.id}
        if self.quantity is not None:
            payload["quantity"] = str(self.quantity)
        if self.item_price is not None:
            payload["item_price"] = str(json_number(self.item_price))
        if self.delivery_category is not None:
            payload["delivery_category"] = self.delivery_category
        if self.brand is not None:
            payload["brand"] = self.brand
        return payload

    def _json(self, quote: Callable[[str], str], value: Callable[[Any], str]) -> str:
        """Return :meth:`to_payload` as JSON text (``quote`` and ``value`` as the encoder's)."""
        out = f'{{"id":{quote(self.id)}'
        values = self.__dict__
        if "quantity" in values:
            out += f',"quantity":{quote(str(self.quantity))}'
        if "item_price" in values:
            out += f',"item_price":{quote(str(json_number(values["item_price"])))}'
        if "delivery_category" in values:
            out += f',"delivery_category":{quote(values["delivery_category"])}'
        if "brand" in values:
            out += f',"brand":{quote(values["brand"])}'
        return out + "}"

    __repr__ = fields_repr


class CustomDataFields(TypedDict, total=False):
    """The keyword arguments of :class:`CustomData` (see its docstring)."""

    value: Amount | None
    currency: str | None
    content_ids: str | Iterable[str] | None
    contents: Iterable[Content | Mapping[str, Any]] | None
    content_category: str | Iterable[str] | None
    content_name: str | None
    content_type: str | None
    num_items: int | str | None
    order_id: str | int | None
    search_string: str | None
    sign_up_method: str | None
    brands: str | Iterable[str] | None
    predicted_ltv: Amount | None
    status: str | None
    delivery_category: str | None
    event_tag: str | None
    destination_ids: str | Iterable[str] | None
    custom_fields: Mapping[str, str] | None
    extra: Mapping[str, Any] | None
    checkin_date: str | _dt.date | None
    travel_start: str | _dt.date | None
    travel_end: str | _dt.date | None
    suggested_destinations: str | Iterable[str] | None
    destination_airport: str | None
    origin_airport: str | None
    country: str | None
    city: str | None
    region: str | None
    neighborhood: str | None
    departing_departure_date: str | _dt.date | None
    departing_arrival_date: str | _dt.date | None
    returning_departure_date: str | _dt.date | None
    returning_arrival_date: str | _dt.date | None
    num_adults: int | str | None
    num_children: int | str | None
    num_infants: int | str | None
    hotel_score: str | float | None
    postal_code: str | None
    preferred_neighborhoods: str | Iterable[str] | None
    preferred_star_ratings: str | Iterable[str | float] | None
    suggested_hotels: str | Iterable[str] | None


def _score(value: Any, field: str) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(field, "must be a finite number")
        return str(value)
    return text(value, field)


_CONVERTERS: dict[str, Converter] = {
    "value": money,
    "currency": currency,
    "content_ids": text_list,
    "contents": _contents,
    "content_category": _joined,
    "content_name": text,
    "content_type": text,
    "num_items": count,
    "order_id": text,
    "search_string": text,
    "sign_up_method": text,
    "brands": text_list,
    "predicted_ltv": money,
    "status": text,
    "delivery_category": text,
    "event_tag": text,
    "destination_ids": text_list,
    "custom_fields": _string_map,
    "extra": _json_map,
    "checkin_date": travel_date,
    "travel_start": travel_date,
    "travel_end": travel_date,
    "suggested_destinations": text_list,
    "destination_airport": _airport,
    "origin_airport": _airport,
    "country": text,
    "city": text,
    "region": text,
    "neighborhood": text,
    "departing_departure_date": travel_date,
    "departing_arrival_date": travel_date,
    "returning_departure_date": travel_date,
    "returning_arrival_date": travel_date,
    "num_adults": count,
    "num_children": count,
    "num_infants": count,
    "hotel_score": _score,
    "postal_code": text,
    "preferred_neighborhoods": text_list,
    "preferred_star_ratings": text_list,  # numbers or text; sent as text like Snap's model
    "suggested_hotels": text_list,
}

# The reader of each field: its converter behind is_blank, with the common inputs answered
# before the converter's type dispatch where a fast reader exists for that converter.
_FAST_READERS: dict[Converter, Converter] = {
    money: read_money,
    currency: _read_currency,
    text: read_text,
    text_list: read_text_list,
    _joined: _read_joined,
    count: read_count,
}
_READERS: dict[str, Converter] = {
    key: _FAST_READERS.get(convert) or blank_or(convert) for key, convert in _CONVERTERS.items()
}


def _contents_payload(contents: tuple[Content, ...]) -> list[dict[str, str]]:
    return [item.to_payload() for item in contents]


#: How each stored value goes on the wire, where that is not the value itself (``extra`` is
#: spread into ``custom_data`` instead: see :meth:`CustomData.to_payload`).
_WIRE_FORMS: dict[str, Callable[[Any], Any]] = {
    "value": json_number,
    "predicted_ltv": json_number,
    "content_ids": list,
    "destination_ids": list,
    "suggested_destinations": list,
    "preferred_neighborhoods": list,
    "preferred_star_ratings": list,
    "suggested_hotels": list,
    "brands": ",".join,
    "contents": _contents_payload,
    "custom_fields": dict,
}
_WIRE_KEYS = frozenset(_WIRE_FORMS)

Quote = Callable[[str], str]
Encode = Callable[[Any], str]


def _plain_json(item: Any, quote: Quote, value: Encode) -> str:
    return quote(item) if item.__class__ is str else value(item)


def _number_json(amount: decimal.Decimal, quote: Quote, value: Encode) -> str:
    number = json_number(amount)
    if number.__class__ is int and -(2**63) <= number < 2**63:
        return int.__repr__(number)
    return value(number)


def _list_json(items: tuple[Any, ...], quote: Quote, value: Encode) -> str:
    return f"[{','.join([_plain_json(item, quote, value) for item in items])}]"


def _joined_json(items: tuple[str, ...], quote: Quote, value: Encode) -> str:
    return quote(",".join(items))


def _contents_json(contents: tuple[Content, ...], quote: Quote, value: Encode) -> str:
    return f"[{','.join([item._json(quote, value) for item in contents])}]"


def _map_json(mapping: Mapping[str, Any], quote: Quote, value: Encode) -> str:
    members = [f"{quote(key)}:{_plain_json(item, quote, value)}" for key, item in mapping.items()]
    return f"{{{','.join(members)}}}"


#: The fields whose wire form is not their stored value as an encoder writes it (with amounts
#: as :func:`json_number` makes them): brands are joined, contents and maps rebuilt, extra spread.
_SPREAD_KEYS = frozenset({"brands", "contents", "custom_fields", "extra"})

#: :data:`_WIRE_FORMS` as JSON text: each stored value written as its wire form encodes.
_JSON_FORMS: dict[str, Callable[[Any, Quote, Encode], str]] = {
    "value": _number_json,
    "predicted_ltv": _number_json,
    "content_ids": _list_json,
    "destination_ids": _list_json,
    "suggested_destinations": _list_json,
    "preferred_neighborhoods": _list_json,
    "preferred_star_ratings": _list_json,
    "suggested_hotels": _list_json,
    "brands": _joined_json,
    "contents": _contents_json,
    "custom_fields": _map_json,
}


@none_defaults
@attrs.frozen(init=False, slots=False, repr=False)
class CustomData:
    """Details of the conversion: value, currency, products, and Dynamic (Travel) Ads fields.

    All arguments are keyword-only and optional; blank values are left out.

    Args:
        value: Order value (int, float, ``Decimal`` or a numeric string), sent as a JSON number.
            ``PURCHASE`` events need ``value`` and ``currency``.
        currency: ISO 4217 code in any case (``usd`` → ``USD``).
        content_ids: Product id(s) of the catalogue items involved.
        contents: :class:`Content` items (or dicts) with id, quantity, price, brand.
        content_category, content_name, content_type: Catalogue descriptors
            (``content_type`` is ``product`` or ``product_group``).
        num_items: Number of items, a whole number.
        order_id: Your order or transaction id; Snap deduplicates purchases on it.
        search_string: What the user searched for (``SEARCH``).
        sign_up_method: How the user signed up (``SIGN_UP``).
        brands: Brand name(s); sent comma-joined as Snap's SDK sends them.
        predicted_ltv: Predicted lifetime value, a non-negative amount.
        status, delivery_category, event_tag, destination_ids: As in Snap's v3 model.
        custom_fields: Extra ``{name: text}`` pairs sent in ``custom_fields``.
        extra: Further keys sent at the top of ``custom_data`` as given (JSON values).
        checkin_date ... suggested_hotels: The Dynamic Travel Ads fields, as Snap names them;
            dates may be ``date`` objects (sent as ``YYYY-MM-DD``), airports are IATA codes.

    Raises:
        ValidationError: A value has the wrong type or is out of range (a negative amount, an
            unknown currency, an unknown field name).

    """

    value: decimal.Decimal | None
    currency: str | None
    content_ids: tuple[str, ...] | None
    contents: tuple[Content, ...] | None
    content_category: str | None
    content_name: str | None
    content_type: str | None
    num_items: int | None
    order_id: str | None
    search_string: str | None
    sign_up_method: str | None
    brands: tuple[str, ...] | None
    predicted_ltv: decimal.Decimal | None
    status: str | None
    delivery_category: str | None
    event_tag: str | None
    destination_ids: tuple[str, ...] | None
    custom_fields: Mapping[str, str] | None = attrs.field(hash=False)
    extra: Mapping[str, Any] | None = attrs.field(hash=False)
    checkin_date: str | None
    travel_start: str | None
    travel_end: str | None
    suggested_destinations: tuple[str, ...] | None
    destination_airport: str | None
    origin_airport: str | None
    country: str | None
    city: str | None
    region: str | None
    neighborhood: str | None
    departing_departure_date: str | None
    departing_arrival_date: str | None
    returning_departure_date: str | None
    returning_arrival_date: str | None
    num_adults: int | None
    num_children: int | None
    num_infants: int | None
    hotel_score: str | None
    postal_code: str | None
    preferred_neighborhoods: tuple[str, ...] | None
    preferred_star_ratings: tuple[str, ...] | None
    suggested_hotels: tuple[str, ...] | None

    def __init__(self, /, **fields: Unpack[CustomDataFields]) -> None:
        # init_fields with each field's reader: the same checks, in the same order.
        values = self.__dict__
        for key, raw in fields.items():
            try:
                read = _READERS[key]  # a subscript, cheaper than .get() on every field
            except KeyError:
                read = None
            if read is None:
                raise one_of(_CONVERTERS, "custom_data", key, "a custom_data field")
            if raw is not None:
                found = read(raw, key)
                if found is not BLANK:
                    values[key] = found

    def to_payload(self) -> dict[str, Any]:
        """Return the ``custom_data`` object as Snap expects it."""
        values = self.__dict__
        if "extra" in values:  # its keys go in its place, so the order is built key by key
            payload: dict[str, Any] = {}
            for key, value in values.items():
                if key == "extra":
                    payload.update(value)
                else:
                    wire = _WIRE_FORMS.get(key)
                    payload[key] = value if wire is None else wire(value)
            return payload
        payload = values.copy()  # in place of the loop: most values go on the wire as they are
        for key in _WIRE_KEYS.intersection(values):
            payload[key] = _WIRE_FORMS[key](values[key])
        return payload

    def _json(self, quote: Quote, value: Encode) -> str:
        """Return :meth:`to_payload` as JSON text, written from the fields without the dict.

        ``quote`` encodes one string and ``value`` any other JSON value, as the encoder in use
        does (see :func:`snapcapi._transport._wire.encode_event`).
        """
        values = self.__dict__
        if _SPREAD_KEYS.isdisjoint(values):
            # The usual case: every value is written as stored (amounts as json_number makes
            # them, tuples as lists), so the encoder writes the dict in one call.
            return value(values)
        out = ""
        for key, item in values.items():
            if key == "extra":  # its members go in its place, as in the payload
                for name, member in item.items():
                    out += f",{quote(name)}:{_plain_json(member, quote, value)}"
                continue
            form = _JSON_FORMS.get(key)
            if form is not None:
                out += f',"{key}":{form(item, quote, value)}'
            elif item.__class__ is str:
                out += f',"{key}":{quote(item)}'
            else:
                out += f',"{key}":{value(item)}'
        return f"{{{out[1:]}}}"

    __repr__ = fields_repr

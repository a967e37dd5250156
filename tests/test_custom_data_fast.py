"""CustomData's and Content's readers: the fast paths give what the general converters give.

The models read each field with a reader (``snapcapi._convert.read_*``, ``_read_currency``,
``_read_joined``): the field's converter behind ``is_blank``, with the common inputs answered
before the converter's type dispatch. The property tests build every model both ways, with
the readers and with ``init_fields`` and the plain converters (the code before the readers),
and compare everything a user can see: the stored values and their types, ``repr``, the
payload, and for refusals the field, problem, remedy and code. ``SNAPCAPI_EXAMPLES`` scales
them (``SNAPCAPI_EXAMPLES=200000 pytest tests/test_custom_data_fast.py``).
"""

from __future__ import annotations

import math
import numbers
import os
import string
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest
from conftest import (
    LONE_SURROGATE_TEXT,
    hostile_decimals,
    hostile_fractions,
    hostile_values,
    huge_ints,
    non_finite_floats,
    surrogate_text,
)
from hypothesis import example, given, settings
from hypothesis import strategies as st

from snapcapi import Content, CustomData, ValidationError, _convert, _iso, custom_data
from snapcapi._convert import (
    BLANK,
    ENCODING_REMEDY,
    MAX_COUNT,
    count,
    init_fields,
    is_blank,
    money,
    prefixed,
    read_count,
    read_money,
    read_text,
    read_text_list,
    text,
    text_list,
)
from snapcapi.custom_data import _CONVERTERS, _joined, _read_currency, _read_joined, currency

try:
    import numpy as np
except ImportError:  # numpy is a test dependency; without it its scalars are not drawn
    np = None

EXAMPLES = int(os.environ.get("SNAPCAPI_EXAMPLES", "200"))


# --------------------------------------------------------------------------- the references


def old_is_blank(value: object) -> bool:
    """``is_blank`` before the readers (verbatim)."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, float) and math.isnan(value)


def old_text_list(value: Any, field: str) -> tuple[str, ...]:
    """``text_list`` before its one-pass loop (verbatim, with the old ``is_blank``)."""
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
    result = tuple(
        item
        for item in (_convert._list_item(v, field) for v in items if not old_is_blank(v))
        if item
    )
    if not result:
        raise ValidationError(field, "is empty; leave the field out when there is no value")
    return result


def general_custom_data(fields: dict[str, Any]) -> CustomData:
    """Build a CustomData as before the readers: init_fields with the plain converters."""
    made = object.__new__(CustomData)
    init_fields(made, "custom_data", fields, _CONVERTERS)
    return made


_CONTENT_CONVERTERS = {
    "id": prefixed(text, "contents"),
    "quantity": prefixed(count, "contents"),
    "item_price": prefixed(money, "contents"),
    "delivery_category": prefixed(text, "contents"),
    "brand": prefixed(text, "contents"),
}


def general_content(fields: dict[str, Any]) -> Content:
    """Build a Content as before the readers: every field, in declaration order."""
    made = object.__new__(Content)
    init_fields(
        made, "contents", {k: fields.get(k) for k in _CONTENT_CONVERTERS}, _CONTENT_CONVERTERS
    )
    if made.id is None:
        raise ValidationError("contents.id", "is required: the product id of the item")
    return made


def shape(value: Any) -> Any:
    """Everything about a stored or sent value that a user could tell apart: types and reprs."""
    if isinstance(value, (dict, MappingProxyType)):
        return (type(value), [(k, shape(v)) for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        return (type(value), [shape(v) for v in value])
    if isinstance(value, Content):
        return (Content, shape(value.__dict__))
    return (type(value), repr(value))


def outcome(build: Callable[[Any], Any], given: Any) -> tuple[Any, ...]:
    """What building from ``given`` shows: the model, or the refusal, or another exception."""
    try:
        made = build(given)
    except ValidationError as error:
        return ("refused", error.field, error.problem, error.remedy, error.code, str(error))
    except Exception as error:  # whatever the general path raises, so must the other
        return ("raised", type(error), str(error))
    if isinstance(made, (CustomData, Content)):
        return ("made", shape(made.__dict__), repr(made), shape(made.to_payload()))
    return ("made", shape(made))


# --------------------------------------------------------------------------- the inputs


class Text(str):
    """A str subclass (pandas' and numpy's string types are ones)."""


class Real(float):
    """A float subclass (numpy's float64 is one)."""


class Whole(int):
    """An int subclass."""


_SPACES = " \t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2003\u3000"
padded = st.builds(
    lambda head, body, tail: head + body + tail,
    st.text(alphabet=_SPACES, max_size=2),
    st.text(max_size=10),
    st.text(alphabet=_SPACES, max_size=2),
)
clean_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,10}[A-Za-z0-9]|[A-Za-z0-9]", fullmatch=True)
numpy_scalars = (
    st.one_of(
        st.floats().map(np.float64),
        st.floats(width=32).map(np.float32),
        st.integers(-(2**63), 2**63 - 1).map(np.int64),
        st.integers(0, 2**64 - 1).map(np.uint64),
        st.booleans().map(np.bool_),
    )
    if np is not None
    else st.nothing()
)
subclassed = st.one_of(
    st.text(max_size=8).map(Text), padded.map(Text), st.floats().map(Real),
    st.integers().map(Whole),
)  # fmt: skip
blanks = st.sampled_from([None, "", " ", "\t\n", "\u3000", math.nan, -math.nan, Text(" ")])

amounts = st.one_of(
    st.floats(),
    st.floats(min_value=0, max_value=5000).map(lambda x: round(x, 2)),
    st.floats(min_value=1e-12, max_value=1e-6),
    st.floats(min_value=1e14, max_value=1e16),
    st.sampled_from(
        [0.0, -0.0, 1e-9, 9.999999999999999e-10, 1.0000000000000002e-9, 1e15,
         1.0000000000000002e15, 999999999999999.9, 5e-324, 0.1, 12.0, 1e16]
    ),
    st.integers(),
    st.integers(min_value=10**15 - 3, max_value=10**15 + 3),
    st.sampled_from([True, False, -1, 0, 1]),
    st.decimals(), hostile_decimals, hostile_fractions, huge_ints, non_finite_floats,
    st.fractions(),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from([" 142.52 ", "1,5", "1.200,50", "$12", "1e3", "nan", "-0", "1_000"]),
    padded, numpy_scalars, subclassed, blanks, hostile_values,
)  # fmt: skip
texts = st.one_of(
    clean_ids, padded, st.text(), surrogate_text, st.integers(), huge_ints,
    st.sampled_from([True, False, 10**255 - 1, 10**255, -(10**255) + 1, 1.5, 2.0]),
    numpy_scalars, subclassed, blanks, hostile_values,
)  # fmt: skip
list_items = st.one_of(
    clean_ids, padded, st.text(max_size=6), surrogate_text, st.integers(), huge_ints,
    st.floats(), st.decimals(), hostile_decimals, st.fractions(), st.booleans(), numpy_scalars,
    subclassed, blanks, st.sampled_from([b"x", [], ["a"], {"a": 1}, object()]),
)  # fmt: skip
id_lists = st.one_of(
    st.lists(clean_ids, max_size=5),
    st.lists(clean_ids, max_size=5).map(tuple),
    st.lists(list_items, max_size=5),
    st.lists(list_items, max_size=5).map(tuple),
    st.lists(st.one_of(clean_ids, padded), max_size=5).map(",".join),
    st.lists(clean_ids, max_size=4).map(frozenset),
    st.lists(clean_ids, max_size=3).map(lambda ids: dict.fromkeys(ids, 1)),
    st.lists(clean_ids, max_size=3).map(lambda ids: dict.fromkeys(ids).keys()),
    texts,
    st.sampled_from([b"a,b", bytearray(b"a"), ",", " , ,", "a,,b", 12, 1.5, True]),
)  # fmt: skip
_CODES = sorted(_iso.CURRENCIES)
currencies = st.one_of(
    st.builds(
        lambda code, lowered: "".join(c.lower() if lowered[i] else c for i, c in enumerate(code)),
        st.sampled_from(_CODES),
        st.lists(st.booleans(), min_size=3, max_size=3),
    ),
    st.builds(lambda code, pad: pad + code + pad, st.sampled_from(_CODES), padded),
    st.text(alphabet=string.ascii_letters, min_size=2, max_size=4),
    st.sampled_from(["usd", "USD", "Usd", "uSD", "xyz", "US", "USDD", "U$", "eur\u0301", "ＵＳＤ"]),
    st.sampled_from(_CODES).map(Text),
    texts,
)  # fmt: skip
counts = st.one_of(
    st.integers(),
    st.integers(min_value=MAX_COUNT - 2, max_value=MAX_COUNT + 2),
    st.sampled_from([True, False, -1, 0, 1, 2.0, 2.5, "3", " 4 ", "٣", "1" * 25, "-1"]),
    st.floats(), huge_ints, numpy_scalars, subclassed, blanks, hostile_values,
)  # fmt: skip
_BY_CONVERTER = {money: amounts, currency: currencies, text: texts, text_list: id_lists,
                 _joined: id_lists, count: counts}  # fmt: skip
_ANYTHING = st.one_of(texts, id_lists, amounts, counts)


def values_for(key: str) -> st.SearchStrategy[Any]:
    """What to give ``key``: inputs shaped for its converter, and anything at all."""
    convert = _CONVERTERS.get(key)
    return st.one_of(_BY_CONVERTER.get(convert, _ANYTHING), _ANYTHING) if convert else _ANYTHING


_KEYS = [*_CONVERTERS, "colour", "Value", "content_id", ""]
custom_fields = st.lists(st.sampled_from(_KEYS), unique=True, max_size=7).flatmap(
    lambda keys: st.fixed_dictionaries({key: values_for(key) for key in keys})
)
#: The benchmark's messy records: what the fast paths are for.
workload_fields = st.fixed_dictionaries(
    {
        "value": st.floats(min_value=0, max_value=4999).map(lambda x: round(x, 2)),
        "currency": st.sampled_from(["usd", "gbp", "eur", "cad", "aud", "USD"]),
        "order_id": st.from_regex(r"ORD-[0-9]{7}-[0-9]{2}", fullmatch=True),
        "content_ids": st.lists(clean_ids, min_size=2, max_size=4),
        "content_category": st.sampled_from(["shoes", "apparel", "home", "beauty"]),
        "num_items": st.integers(min_value=1, max_value=6),
    }
)
content_fields = st.fixed_dictionaries(
    {},
    optional={
        "id": texts,
        "quantity": counts,
        "item_price": amounts,
        "delivery_category": texts,
        "brand": texts,
    },
)


# --------------------------------------------------------------------------- the properties


@given(fields=st.one_of(custom_fields, workload_fields))
@settings(max_examples=EXAMPLES)
@example(fields={"value": 1e15, "currency": "usd", "content_ids": ("a", "b")})
@example(fields={"value": -0.0, "num_items": MAX_COUNT, "order_id": 10**255 - 1})
@example(fields={"content_ids": ["a", " b"], "content_category": "a,b", "brands": " x "})
@example(fields={"currency": Text("usd"), "order_id": Text(" x "), "value": Real(2.5)})
def test_custom_data_matches_the_general_path(fields):
    """CustomData(**fields) stores, shows, sends and refuses exactly as init_fields does."""
    assert outcome(lambda f: CustomData(**f), fields) == outcome(general_custom_data, fields)


@given(fields=content_fields)
@settings(max_examples=EXAMPLES)
@example(fields={"id": "sku-1", "quantity": 2, "item_price": 9.99})
@example(fields={"quantity": -1})
@example(fields={"id": " ", "brand": LONE_SURROGATE_TEXT})
def test_content_matches_the_general_path(fields):
    """Content(**fields) gives what init_fields with the prefixed converters gives."""
    assert outcome(lambda f: Content(**f), fields) == outcome(general_content, fields)


_READERS = [
    (read_money, money, amounts),
    (read_text, text, texts),
    (read_text_list, text_list, id_lists),
    (read_count, count, counts),
    (_read_currency, currency, currencies),
    (_read_joined, _joined, id_lists),
]


@pytest.mark.parametrize(
    ("read", "convert", "values"), _READERS, ids=[r.__name__ for r, _, _ in _READERS]
)
@given(data=st.data())
@settings(max_examples=EXAMPLES)
def test_each_reader_is_its_converter_behind_is_blank(read, convert, values, data):
    """A reader gives BLANK for what is_blank calls blank, else exactly its converter's result."""
    value = data.draw(values)

    def general(given: Any) -> Any:
        return BLANK if old_is_blank(given) else convert(given, "field")

    assert outcome(lambda v: read(v, "field"), value) == outcome(general, value)


@given(value=st.one_of(id_lists, list_items, hostile_values))
@settings(max_examples=EXAMPLES)
@example(value=["a", " ", "", " b ", 12, 12.0, Decimal("1.50"), Text(" t "), None, math.nan])
@example(value=["é", "\u3000", LONE_SURROGATE_TEXT])
def test_text_list_matches_its_old_form(value):
    """text_list's one-pass loop keeps the old result, and the old first refusal."""
    assert outcome(lambda v: text_list(v, "ids"), value) == outcome(
        lambda v: old_text_list(v, "ids"), value
    )


@given(value=st.one_of(blanks, padded, amounts, list_items, hostile_values))
@settings(max_examples=EXAMPLES)
def test_is_blank_matches_its_old_form(value):
    """is_blank's exact-str check first changes no answer."""
    assert is_blank(value) is old_is_blank(value)


# --------------------------------------------------------------------------- the fast paths


WORKLOAD = {
    "value": 123.45,
    "currency": "usd",
    "order_id": "ORD-1234567-05",
    "content_ids": ["SKU-1234", "SKU-1235", "SKU-1236"],
    "content_category": "shoes",
    "num_items": 3,
}


def test_common_inputs_never_reach_the_converters(monkeypatch):
    """The benchmark's values, and int ids and amounts, are read without any converter."""

    def forbidden(*args: Any) -> Any:
        raise AssertionError("the general converter was called")

    for name in ("money", "text", "text_list", "count", "is_blank", "check_unicode"):
        monkeypatch.setattr(_convert, name, forbidden)
    for name in ("currency", "is_blank", "_joined", "check_unicode"):
        monkeypatch.setattr(custom_data, name, forbidden)
    made = CustomData(**WORKLOAD)
    assert made.to_payload() == {
        "value": 123.45,
        "currency": "USD",
        "order_id": "ORD-1234567-05",
        "content_ids": ["SKU-1234", "SKU-1235", "SKU-1236"],
        "content_category": "shoes",
        "num_items": 3,
    }
    assert CustomData(value=10, order_id=12345, content_ids=("a",)).content_ids == ("a",)
    assert Content(id="sku", quantity=2, item_price=9.5).item_price == Decimal("9.5")


def test_the_fast_paths_store_what_the_converters_store():
    """Shared or fresh, the stored values are the converters' values and types."""
    ids = ("a", "b")
    made = CustomData(value=12.0, currency="eur", content_ids=ids, order_id=42, num_items=0)
    assert made.content_ids is ids  # a tuple of clean ids is kept, not copied
    assert repr(made) == (
        "CustomData(value=Decimal('12.0'), currency='EUR', content_ids=('a', 'b'), "
        "order_id='42', num_items=0)"
    )
    assert made.to_payload() == {
        "value": 12, "currency": "EUR", "content_ids": ["a", "b"], "order_id": "42",
        "num_items": 0,
    }  # fmt: skip
    assert type(made.to_payload()["value"]) is int
    assert str(CustomData(value=-0.0).value) == "-0.0"
    assert CustomData(value=10**15).value == Decimal(10**15)
    assert CustomData(value=1e-9).value == Decimal("1e-9")


@pytest.mark.parametrize(
    ("fields", "field", "problem"),
    [
        ({"value": 1.0000000000000002e15}, "value",
         "is implausibly large (over 10**15); check the column"),
        ({"value": 10**15 + 1}, "value", "is implausibly large (over 10**15); check the column"),
        ({"value": 9.99e-10}, "value", "is too small to send as a number (below 1e-9)"),
        ({"value": -1.0}, "value", "must not be negative; send refunds as separate events"),
        ({"value": -1}, "value", "must not be negative; send refunds as separate events"),
        ({"value": math.inf}, "value", "must be a finite number"),
        ({"value": -math.inf}, "value", "must be a finite number"),
        ({"value": True}, "value", "expected a number, got bool"),
        ({"currency": "xyz"}, "currency", "'x**' is not an ISO 4217 currency code such as 'USD'"),
        ({"currency": "usdd"}, "currency",
         "'u***' is not an ISO 4217 currency code such as 'USD'; did you mean 'USD'?"),
        ({"order_id": 10**255}, "order_id",
         "is a number of more than 255 digits, too long for an id; check the column"),
        ({"order_id": True}, "order_id", "expected a string, got bool"),
        ({"order_id": 1.5}, "order_id", "expected a string, got float"),
        ({"content_ids": []}, "content_ids",
         "is empty; leave the field out when there is no value"),
        ({"content_ids": ["", " "]}, "content_ids",
         "is empty; leave the field out when there is no value"),
        ({"content_ids": ["a", True]}, "content_ids", "expected strings, got bool"),
        ({"content_ids": ("a", 10**255)}, "content_ids",
         "is a number of more than 255 digits, too long for an id; check the column"),
        ({"content_category": " ,"}, "content_category",
         "is empty; leave the field out when there is no value"),
        ({"num_items": MAX_COUNT + 1}, "num_items",
         "is implausibly large (over 2**53); check the column"),
        ({"num_items": -1}, "num_items", "must not be negative"),
        ({"num_items": True}, "num_items", "expected a whole number, got bool"),
        ({"colour": "red"}, "custom_data",
         "'colour' is not a custom_data field; did you mean 'country'?"),
        ({"value": 1.0, "Value": 1}, "custom_data",
         "'Value' is not a custom_data field; did you mean 'value'?"),
    ],
)  # fmt: skip
def test_fast_path_refusals(fields, field, problem):
    """Each fast path's edge is refused with the general converter's field and words."""
    with pytest.raises(ValidationError) as info:
        CustomData(**fields)
    assert (info.value.field, info.value.problem) == (field, problem)
    assert (info.value.remedy, info.value.code) == (None, "invalid_value")


@pytest.mark.parametrize(
    "fields",
    [{"currency": LONE_SURROGATE_TEXT}, {"order_id": LONE_SURROGATE_TEXT},
     {"content_ids": ["a", LONE_SURROGATE_TEXT]}, {"content_category": LONE_SURROGATE_TEXT},
     {"content_ids": LONE_SURROGATE_TEXT}, {"search_string": " " + LONE_SURROGATE_TEXT}],
)  # fmt: skip
def test_fast_path_refuses_lone_surrogates(fields):
    """Non-ASCII text on a fast path is still checked, with the encoding remedy."""
    with pytest.raises(ValidationError) as info:
        CustomData(**fields)
    assert info.value.field == next(iter(fields))
    assert info.value.remedy == ENCODING_REMEDY
    assert info.value.problem.startswith("is not valid Unicode")


def test_blank_values_are_left_out_on_every_path():
    """None, blank text and NaN leave a field out, as init_fields leaves them."""
    made = CustomData(value=math.nan, currency=" ", order_id="", content_ids="\t",
                      content_category=" ", num_items=None, search_string="\u3000")  # fmt: skip
    assert made.__dict__ == {}
    assert made.to_payload() == {}


def test_the_first_bad_field_is_the_one_refused():
    """Fields are read in the order given, so the first bad one names the error."""
    with pytest.raises(ValidationError) as info:
        CustomData(num_items=-1, value=-1.0, colour="x")
    assert info.value.field == "num_items"
    with pytest.raises(ValidationError) as info:
        CustomData(colour="x", num_items=-1)
    assert info.value.field == "custom_data"


def test_content_refusals_name_contents_fields():
    """Content's fast readers name its fields as contents.<field>."""
    with pytest.raises(ValidationError, match=r"contents\.item_price: must not be negative"):
        Content(id="a", item_price=-1.0)
    with pytest.raises(ValidationError, match=r"contents\.quantity: must not be negative"):
        Content(id="a", quantity=-1)
    with pytest.raises(ValidationError, match=r"contents\.id: is required"):
        Content(id=" ", brand="b")
    assert list(Content(brand="b", id=7, quantity=1).__dict__) == ["id", "quantity", "brand"]


def test_payload_keeps_key_order_and_spreads_extra_in_place():
    """to_payload keeps the order fields were given, extra's keys where extra was."""
    made = CustomData(
        currency="usd", extra={"z": 1, "a": [1.5]}, value="2.50", content_ids="b,a",
        brands=["x", "y"], custom_fields={"k": "v"}, contents=[{"id": "s", "item_price": 1}],
    )  # fmt: skip
    payload = made.to_payload()
    assert list(payload) == ["currency", "z", "a", "value", "content_ids", "brands",
                             "custom_fields", "contents"]  # fmt: skip
    assert payload["value"] == 2.5
    assert payload["contents"] == [{"id": "s", "item_price": "1"}]
    assert payload["brands"] == "x,y"
    assert type(payload["custom_fields"]) is dict
    plain = CustomData(value=3, content_ids=("a",), num_items=1).to_payload()
    assert list(plain) == ["value", "content_ids", "num_items"]
    assert type(plain["content_ids"]) is list
    sent = CustomData(value=3, currency="usd")
    sent.to_payload()["currency"] = "EUR"  # a fresh dict each time: the model is not changed
    assert sent.to_payload() == {"value": 3, "currency": "USD"}


def test_readers_cover_every_field():
    """Every field has a reader, and every fast reader stands for the converter it replaces."""
    assert list(custom_data._READERS) == list(_CONVERTERS)
    for key, convert in _CONVERTERS.items():
        fast = custom_data._FAST_READERS.get(convert)
        assert (custom_data._READERS[key] is fast) if fast else callable(custom_data._READERS[key])

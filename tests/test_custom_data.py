"""CustomData and Content: amounts, currencies, lists, travel fields and the payload."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from snapcapi import Content, CustomData, ValidationError


@pytest.mark.parametrize(
    ("given", "stored", "sent"),
    [
        (10, Decimal(10), 10),
        (142.52, Decimal("142.52"), 142.52),
        (Decimal("142.520"), Decimal("142.520"), 142.52),
        ("142.52", Decimal("142.52"), 142.52),
        (" 0 ", Decimal(0), 0),
        ("1e3", Decimal("1e3"), 1000),
    ],
)
def test_value_forms(given, stored, sent):
    """Value accepts int, float, Decimal or numeric text and is sent as a JSON number."""
    custom = CustomData(value=given, currency="USD")
    assert custom.value == stored
    assert custom.to_payload()["value"] == sent
    assert type(custom.to_payload()["value"]) is type(sent)


@pytest.mark.parametrize(
    ("given", "fragment"),
    [(-1, "negative"), ("$12", "not a number"), ("nan", "finite"), (True, "bool"),
     ([1], "expected a number")],
)  # fmt: skip
def test_bad_values(given, fragment):
    """Negative, non-numeric and non-finite values raise, naming the field."""
    with pytest.raises(ValidationError, match=fragment) as info:
        CustomData(value=given)
    assert info.value.field == "value"


def test_currency_is_iso_4217_uppercased():
    """Currencies are uppercased and checked against ISO 4217, with suggestions."""
    assert CustomData(currency=" eur ").currency == "EUR"
    with pytest.raises(ValidationError, match=r"'x\*\*' is not an ISO 4217"):
        CustomData(currency="xyz")  # not a code anywhere: masked, since it may be a name
    with pytest.raises(ValidationError, match="did you mean"):
        CustomData(currency="USDD")


def test_full_payload():
    """Lists, contents, brands and extras take the wire shapes Snap documents."""
    custom = CustomData(
        value="10.00",
        currency="usd",
        content_ids="sku-1, sku-2",
        contents=[Content(id="sku-1", quantity=2, item_price="5"), {"id": "sku-2", "brand": "b"}],
        content_category=["shoes", "sale"],
        content_type="product",
        num_items="3",
        order_id=1234,
        brands=["fidos_fare", "acme"],
        predicted_ltv=99.5,
        custom_fields={"tier": "gold"},
        extra={"coupon": "WELCOME10", "empty": ""},
    )
    assert custom.to_payload() == {
        "value": 10,
        "currency": "USD",
        "content_ids": ["sku-1", "sku-2"],
        "contents": [
            {"id": "sku-1", "quantity": "2", "item_price": "5"},
            {"id": "sku-2", "brand": "b"},
        ],
        "content_category": "shoes,sale",
        "content_type": "product",
        "num_items": 3,
        "order_id": "1234",
        "brands": "fidos_fare,acme",
        "predicted_ltv": 99.5,
        "custom_fields": {"tier": "gold"},
        "coupon": "WELCOME10",
    }


def test_travel_fields():
    """Travel dates may be dates, airports are IATA codes, counts are whole numbers."""
    custom = CustomData(
        checkin_date=dt.date(2026, 12, 24),
        travel_end="2026-12-31",
        destination_airport="cdg",
        origin_airport="JFK",
        num_adults=2,
        preferred_star_ratings=[3, 5],
        suggested_hotels="h1,h2",
    )
    payload = custom.to_payload()
    assert payload["checkin_date"] == "2026-12-24"
    assert payload["destination_airport"] == "CDG"
    assert payload["preferred_star_ratings"] == ["3", "5"]
    assert payload["suggested_hotels"] == ["h1", "h2"]
    with pytest.raises(ValidationError, match="IATA"):
        CustomData(origin_airport="Paris")


def test_unknown_field_and_extra_clash():
    """Unknown keywords are reported with suggestions; extra may not shadow real fields."""
    with pytest.raises(ValidationError, match="did you mean 'currency'"):
        CustomData(curency="USD")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match=r"value are CustomData fields"):
        CustomData(extra={"value": 3})


def test_empty_and_blank_fields_are_left_out():
    """Blank strings and None mean 'not given'."""
    assert CustomData(value=None, currency="", order_id="  ").to_payload() == {}


def test_repr_equality_and_hash():
    """CustomData compares by value, hashes, and has a pinned repr."""
    a = CustomData(value="1.50", currency="usd", custom_fields={"k": "v"})
    b = CustomData(value=Decimal("1.50"), currency="USD", custom_fields={"k": "v"})
    assert a == b
    assert hash(a) == hash(b)
    assert repr(a) == "CustomData(value=Decimal('1.50'), currency='USD', custom_fields={'k': 'v'})"


def test_content_validation():
    """Content needs an id; quantity is a whole number and price non-negative."""
    with pytest.raises(ValidationError, match=r"contents\.quantity"):
        Content(id="a", quantity=1.5)
    with pytest.raises(ValidationError, match=r"contents\.item_price"):
        Content(id="a", item_price=-1)
    with pytest.raises(ValidationError, match="contents"):
        CustomData(contents=["sku"])
    assert repr(Content(id="a", quantity=1)) == "Content(id='a', quantity=1)"


def test_numpy_numbers_are_numbers():
    """Values from a DataFrame row (numpy scalars) are accepted like built-in numbers."""
    np = pytest.importorskip("numpy")
    custom = CustomData(value=np.float64(5.5), num_items=np.int64(3), content_ids=[np.int64(7)])
    assert custom.to_payload() == {"value": 5.5, "num_items": 3, "content_ids": ["7"]}


@pytest.mark.parametrize(("given", "fragment"), [("1e5000", "large"), ("1e-400", "small")])
def test_amounts_are_bounded(given, fragment):
    """Amounts that JSON floats cannot carry faithfully are refused, not sent wrong."""
    with pytest.raises(ValidationError, match=fragment):
        CustomData(value=given)


def test_counts_are_bounded_and_ascii():
    """Counts stay within JSON's exact integers; digits must be ASCII."""
    with pytest.raises(ValidationError, match="large"):
        CustomData(num_items=2**70)
    with pytest.raises(ValidationError, match="whole number"):
        CustomData(num_items="²")


def test_id_lists_from_spreadsheets():
    """Whole floats become plain ids; nested or binary items are refused."""
    assert CustomData(content_ids=[12345.0, "sku-2"]).content_ids == ("12345", "sku-2")
    with pytest.raises(ValidationError, match="expected strings"):
        CustomData(content_ids=[["a"]])
    with pytest.raises(ValidationError, match="expected strings"):
        CustomData(preferred_star_ratings=[True])
    assert CustomData(preferred_star_ratings=[Decimal("4.5"), 3]).preferred_star_ratings == (
        "4.5",
        "3",
    )


def test_extra_keys_are_trimmed_before_the_clash_check():
    """' value' is still value: extra cannot overwrite a real field through whitespace."""
    with pytest.raises(ValidationError, match="CustomData fields"):
        CustomData(extra={" value": "oops"})


def test_errors_mask_values_that_look_personal():
    """A shifted CSV column puts an email in 'value'; the error does not repeat it."""
    with pytest.raises(ValidationError) as info:
        CustomData(value="jane.doe@example.com")
    assert "jane.doe" not in str(info.value)

"""The models under attack: hostile values give a model or ValidationError, never a crash or PII.

Issue 11 found constructors raising OverflowError, ValueError (Python's 4,300-digit limit),
RecursionError, AttributeError and TypeError on values a broken file or a careless mapping
produces, accepting text no encoder takes, and quoting names in their messages. Each case has
a regression test here; the property tests at the end draw from the hostile strategies in
``conftest.py`` over every public constructor and normalizer.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from conftest import (
    LONE_SURROGATE_TEXT,
    PII_VALUES,
    assert_never_quoted,
    cyclic_dict,
    cyclic_list,
    hostile_values,
    nested_dict,
    nested_list,
    pii_text,
    wrong_types,
)
from hypothesis import example, given, settings

from snapcapi import (
    ActionSource,
    AppData,
    Content,
    CustomData,
    Event,
    EventName,
    UserData,
    ValidationError,
    normalize,
    web,
)
from snapcapi.events import resolve_timezone, to_epoch_seconds
from snapcapi.problems import Problem

NOW_TS = int(dt.datetime.now(dt.timezone.utc).timestamp()) - 60
BAD = LONE_SURROGATE_TEXT


def outcome(build: Callable[[Any], object], value: Any) -> tuple[object, ValidationError | None]:
    """Return what ``build(value)`` gave: its result, or the ValidationError it raised."""
    try:
        return build(value), None
    except ValidationError as error:
        return None, error


def event(**overrides: Any) -> Event:
    """Build a valid WEB event with some fields swapped."""
    fields: dict[str, Any] = {
        "event_name": "PURCHASE",
        "action_source": "WEB",
        "event_time": NOW_TS,
        "event_source_url": "https://shop.example.com/checkout",
        "user_data": {"email": "buyer@example.com"},
    }
    fields.update(overrides)
    return Event(**fields)


# --------------------------------------------------------------------------- lone surrogates


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event_id", BAD),
        ("event_id", f"order-{BAD}"),
        ("event_source_url", f"https://shop.example.com/{BAD}"),
        ("event_source_url", f"https://sh{BAD}op.example.com/"),
        ("integration", BAD),
        ("data_processing_options", [BAD]),
    ],
)
def test_event_refuses_text_that_is_not_unicode(field, value):
    """Event ids and URLs with a lone surrogate are refused, naming the field and the fix."""
    with pytest.raises(ValidationError) as info:
        event(**{field: value})
    assert info.value.field == field
    assert "is not valid Unicode" in info.value.reason
    assert "encoding" in info.value.reason
    assert info.value.remedy is not None
    assert "--encoding cp1252" in info.value.explain("cli")


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: CustomData(order_id=BAD), "order_id"),
        (lambda: CustomData(content_ids=["sku-1", BAD]), "content_ids"),
        (lambda: CustomData(content_name=BAD), "content_name"),
        (lambda: CustomData(extra={"note": BAD}), "extra"),
        (lambda: CustomData(extra={"notes": [{"text": BAD}]}), "extra"),
        (lambda: CustomData(custom_fields={"note": BAD}), "custom_fields['note']"),
        (lambda: CustomData(contents=[{"id": BAD}]), "contents.id"),
        (lambda: UserData(client_user_agent=BAD), "client_user_agent"),
        (lambda: UserData(sc_click_id=BAD), "sc_click_id"),
        (lambda: UserData(sc_cookie1=BAD), "sc_cookie1"),
        (lambda: UserData(external_id=BAD), "external_id"),
        (lambda: UserData(lead_id=BAD), "lead_id"),
        (lambda: UserData(phone="4155550132", region=BAD), "region"),
        (lambda: AppData(app_id=BAD), "app_data.app_id"),
        (lambda: AppData(device_model=BAD), "app_data.device_model"),
        (lambda: AppData(url_schemes=[BAD]), "app_data.url_schemes"),
        (lambda: normalize.phone("4155550132", region=BAD), "region"),
        (lambda: EventName.resolve(BAD), "event_name"),
        (lambda: ActionSource.resolve(BAD), "action_source"),
    ],
)
def test_every_text_field_refuses_lone_surrogates(build, field):
    """Every other text field refuses a lone surrogate the same way, naming its field."""
    with pytest.raises(ValidationError) as info:
        build()
    assert info.value.field == field
    assert "is not valid Unicode" in info.value.reason


def test_the_unicode_error_is_counted_under_one_label():
    """Rows refused for their encoding count under one line, whatever the text was."""
    with pytest.raises(ValidationError) as info:
        event(event_id=BAD)
    assert Problem.from_error(info.value).label == "is not valid Unicode"


def test_ipv6_urls_are_still_accepted_and_an_unclosed_bracket_is_refused():
    """The URL fast path leaves IPv6 hosts to urlsplit, which refuses a broken one."""
    assert event(event_source_url="https://[2001:db8::1]/a").event_source_url.endswith("/a")
    with pytest.raises(ValidationError, match="event_source_url: must be an absolute"):
        event(event_source_url="https://[::1/checkout")


# --------------------------------------------------------------------------- personal data


@pytest.mark.parametrize("raw", ["Zebulonia", "Zebulonia Smith", "jane.doe@example.com"])
@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda raw: UserData(country=raw), "country"),
        (lambda raw: normalize.country(raw), "country"),
        (lambda raw: event(event_name=raw), "event_name"),
        (lambda raw: event(action_source=raw), "action_source"),
        (lambda raw: CustomData(currency=raw), "currency"),
        (lambda raw: CustomData(destination_airport=raw), "destination_airport"),
        (lambda raw: UserData(phone="4155550132", region=raw), "region"),
        (lambda raw: normalize.phone("4155550132", region=raw), "region"),
        (lambda raw: event(event_time=raw), "event_time"),
        (lambda raw: event(opt_out=raw), "opt_out"),
        (lambda raw: event(data_processing_options_country=raw), "data_processing_options_country"),
        (lambda raw: CustomData(value=raw), "value"),
        (lambda raw: CustomData(num_items=raw), "num_items"),
        (lambda raw: Content(id="sku", quantity=raw), "contents.quantity"),
        (lambda raw: AppData(advertiser_tracking_enabled=raw),
         "app_data.advertiser_tracking_enabled"),
        (lambda raw: to_epoch_seconds(raw, time_format="%Y-%m-%d"), "event_time"),
    ],
)  # fmt: skip
def test_errors_never_quote_a_name_or_an_email(build, field, raw):
    """A name or an email in a field of codes, times or numbers is masked in the error."""
    with pytest.raises(ValidationError) as info:
        build(raw)
    assert info.value.field == field
    assert_never_quoted(info.value, raw)
    assert "*" in info.value.problem  # masked, not left out: a row can still be recognised
    assert raw not in Problem.from_error(info.value).title


def test_the_zebulonia_country_message_masks_the_value():
    """The issue's example: 'Zebulonia' is not quoted back, the advice stays."""
    with pytest.raises(ValidationError) as info:
        UserData(country="Zebulonia")
    assert str(info.value) == (
        "country: 'Z******ia' is not a country; use an ISO 3166-1 code such as 'us' or an "
        "English name"
    )


@pytest.mark.parametrize(
    ("build", "shown"),
    [
        (lambda: CustomData(currency="US"), "'US' is not an ISO 4217"),
        (lambda: CustomData(currency="ABC"), "'ABC' is not an ISO 4217"),
        (lambda: UserData(country="USD"), "'USD' is not a country"),
        (lambda: event(event_name="WEB"), "'WEB' is not a Snap event name"),
        (lambda: event(action_source="PURCHASE"), "'PURCHASE' is not an action source"),
        (lambda: event(event_name="PURCHSE"), "'P****SE' is not a Snap event name"),
    ],
)
def test_known_codes_are_quoted_and_the_rest_masked(build, shown):
    """Codes that exist (ISO codes, Snap's names) are quoted as written; anything else masked."""
    with pytest.raises(ValidationError, match="is not") as info:
        build()
    if shown == "'ABC' is not an ISO 4217":
        assert "'A**' is not an ISO 4217" in str(info.value)  # not a code anywhere: masked
    else:
        assert shown in str(info.value)


def test_a_lowercase_name_is_not_taken_for_a_code():
    """'Jo' is Jordan's code only in capitals: written as a name, it is masked."""
    with pytest.raises(ValidationError) as info:
        CustomData(currency="Jo")
    assert "'Jo'" not in str(info.value)
    assert "'JO'" not in str(info.value)


@pytest.mark.parametrize(
    "address",
    [
        "jane@\u0663azebulonia.com",  # a label of the wrong direction, quoted by email-validator
        "jane@ab\u30fbzebulonia\u00e9.com",  # a disallowed codepoint, the label quoted
        "jane@xn--zebulonia-smith.com",  # punycode whose decoded label is quoted
        "jane@zeb\u0640ulonia\u00e9.com",
    ],
)
def test_email_validator_details_never_quote_a_domain_label(address):
    """email-validator's IDNA messages quote one label; snapcapi masks what they quote."""
    with pytest.raises(ValidationError) as info:
        normalize.email(address)
    message = str(info.value)
    assert "zebulonia" not in message.lower()
    assert "ze\u0482bulo" not in message
    assert "is not a valid email address (" in message


def test_a_long_value_gives_a_short_mask():
    """A 5,000-character value gives a message of bounded size."""
    with pytest.raises(ValidationError) as info:
        UserData(country="Zebulonia" * 600)
    assert len(str(info.value)) < 200


# ------------------------------------------------------------------- numbers past every range


@pytest.mark.parametrize(
    "value",
    [
        10**400,
        "9" * 400,
        10**5000,
        "9" * 5000,
        Fraction(10**400, 3),
        Decimal("sNaN"),
        Decimal("1e5000"),
        Decimal("1e999999999"),
        float("inf"),
        "9" * 400 + ".5",
    ],
    ids=lambda value: type(value).__name__,
)
def test_event_time_past_every_range_is_a_validation_error(value):
    """Huge or non-finite times are refused with advice, never OverflowError or ValueError."""
    with pytest.raises(ValidationError) as info:
        event(event_time=value)
    assert info.value.field == "event_time"
    assert len(str(info.value)) < 300
    with pytest.raises(ValidationError):
        Event.from_dict(
            {"event_name": "SEARCH", "action_source": "WEB", "event_time": value, "em": "a@x.com"}
        )


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: event(event_id=10**5000), "event_id"),
        (lambda: CustomData(order_id=10**5000), "order_id"),
        (lambda: CustomData(content_ids=[10**5000]), "content_ids"),
        (lambda: CustomData(content_ids=[Decimal("1e5000")]), "content_ids"),
        (lambda: CustomData(content_ids=[Decimal("1e999999999")]), "content_ids"),
        (lambda: CustomData(content_ids=[Fraction(10**400, 3)]), "content_ids"),
        (lambda: CustomData(hotel_score=10**5000), "hotel_score"),
        (lambda: CustomData(value=Fraction(10**400, 3)), "value"),
        (lambda: CustomData(value=Decimal("sNaN")), "value"),
        (lambda: CustomData(num_items=Fraction(10**400, 3)), "num_items"),
        (lambda: CustomData(num_items="9" * 5000), "num_items"),
        (lambda: CustomData(extra={"big": 10**5000}), "extra"),
        (lambda: CustomData(extra={"big": 2**64}), "extra"),
        (lambda: CustomData(extra={"big": Decimal("1e999999999")}), "extra"),
        (lambda: Content(id=10**5000), "contents.id"),
        (lambda: UserData(lead_id=10**5000), "lead_id"),
        (lambda: UserData(client_user_agent=10**5000), "client_user_agent"),
        (lambda: AppData(screen_width=10**5000), "app_data.screen_width"),
        (lambda: event(data_processing_options_country=Fraction(10**400, 3)),
         "data_processing_options_country"),
        (lambda: event(data_processing_options=[10**5000]), "data_processing_options"),
        (lambda: EventName.resolve("x", {10**5000: 1}), "aliases"),
        (lambda: EventName.resolve("x", {"x": 10**5000}), "aliases"),
        (lambda: EventName.resolve("x", ["x"]), "aliases"),
    ],
)  # fmt: skip
def test_numbers_past_every_range_are_validation_errors(build, field):
    """Integers past 4,300 digits, huge Fractions and sNaN give ValidationError in every field."""
    with pytest.raises(ValidationError) as info:
        build()
    assert info.value.field == field


def test_extra_keeps_64_bit_integers():
    """Integers within 64 bits stay numbers in extra; past them the advice is to send text."""
    assert CustomData(extra={"n": 2**63 - 1}).to_payload()["n"] == 2**63 - 1
    with pytest.raises(ValidationError, match="send it as text"):
        CustomData(extra={"n": -(2**63)})


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: CustomData(hotel_score=float("inf")), "hotel_score"),
        (lambda: AppData(screen_density=float("inf")), "app_data.screen_density"),
        (lambda: AppData(storage_size_gb=float("-inf")), "app_data.storage_size_gb"),
        (lambda: CustomData(extra={"n": Decimal("sNaN")}), "extra"),
    ],
)
def test_infinities_are_refused_where_text_is_sent(build, field):
    """An infinite float would be sent as the text 'inf': it is refused instead."""
    with pytest.raises(ValidationError, match="finite") as info:
        build()
    assert info.value.field == field


# ----------------------------------------------------------------- containers that never end


@pytest.mark.parametrize(
    "extra",
    [
        {"a": nested_list()},
        {"a": nested_dict()},
        nested_dict(),
        {"a": cyclic_list()},
        cyclic_dict(),
    ],
    ids=["deep list", "deep dict", "deep extra", "cyclic list", "cyclic dict"],
)
def test_deep_or_cyclic_extra_is_a_validation_error(extra):
    """extra nested 600 deep, or containing itself, is refused (no RecursionError)."""
    with pytest.raises(ValidationError, match="nested more than 32") as info:
        CustomData(extra=extra)
    assert info.value.field == "extra"
    with pytest.raises(ValidationError, match="nested more than 32"):
        Event.from_dict(
            {"event_name": "SEARCH", "action_source": "WEB", "event_time": NOW_TS,
             "em": "a@x.com", "extra": extra}
        )  # fmt: skip


def test_extra_nested_within_the_limit_is_sent():
    """Nesting up to the limit is fine and reaches the payload as given."""
    payload = CustomData(extra={"a": nested_list(30)}).to_payload()
    assert json.dumps(payload).count("[") == 30


@pytest.mark.parametrize(
    "value", [cyclic_list(), nested_list(), cyclic_dict()], ids=["cyclic", "deep", "dict"]
)
@pytest.mark.parametrize(
    "build",
    [
        lambda v: UserData(email=v),
        lambda v: UserData(external_id=v),
        lambda v: CustomData(content_ids=v),
        lambda v: CustomData(contents=v),
        lambda v: CustomData(custom_fields=v),
        lambda v: AppData(url_schemes=v),
        lambda v: AppData.from_extinfo(v),
        lambda v: event(data_processing_options=v),
        lambda v: event(user_data=v),
        lambda v: event(custom_data=v),
    ],
)
def test_deep_or_cyclic_values_elsewhere_are_validation_errors(build, value):
    """Lists and dicts that never end are refused by every field that takes a container."""
    with pytest.raises(ValidationError):
        build(value)


# --------------------------------------------------------------------------- wrong-type regions


@pytest.mark.parametrize("region", [5, ["US"], ("US",), b"US", {"US"}, 2.5, True])
def test_a_region_of_the_wrong_type_is_a_validation_error(region):
    """normalize.phone(x, region=5) or region=['US'] names the region, not AttributeError."""
    with pytest.raises(ValidationError, match="region: expected a country code") as info:
        normalize.phone("4155550132", region=region)
    assert info.value.field == "region"
    with pytest.raises(ValidationError, match="region: expected a country code"):
        UserData(phone="4155550132", region=region)
    with pytest.raises(ValidationError, match="region: expected a country code"):
        UserData(phone="4155550132").with_default_region(region)


def test_record_keys_that_are_not_text_are_refused():
    """A record key that is no name (a huge number, a tuple) gives ValidationError."""
    for key in (10**5000, ("a",), 2.5):
        with pytest.raises(ValidationError, match="keys must be field names"):
            Event.from_dict({"event_name": "SEARCH", "action_source": "WEB", "event_time": NOW_TS,
                             key: 1})  # fmt: skip
    with pytest.raises(ValidationError, match="keys must be field names"):
        CustomData(contents=[{10**5000: 1}])


# --------------------------------------------------------------------------- web requests


@pytest.mark.parametrize(
    "environ",
    [
        {"REMOTE_ADDR": 5, "HTTP_HOST": "shop.example.com"},
        {"HTTP_HOST": 5, "PATH_INFO": "/a"},
        {"HTTP_HOST": "shop.example.com", "PATH_INFO": 5},
        {"HTTP_HOST": "shop.example.com", "PATH_INFO": "/caf\u20ac"},
        {"HTTP_HOST": "shop.example.com", "PATH_INFO": f"/{BAD}"},
        {"HTTP_HOST": "shop.example.com", "QUERY_STRING": f"ScCid={BAD}"},
        {"HTTP_HOST": "shop.example.com", "HTTP_USER_AGENT": BAD},
        {"HTTP_HOST": "shop.example.com", "HTTP_X_FORWARDED_FOR": 10**5000},
    ],
)
def test_a_hostile_environ_gives_a_context_or_a_validation_error(environ):
    """Whatever a hand-made environ holds, from_wsgi gives a context or ValidationError."""
    context, error = outcome(
        lambda value: web.from_wsgi({"REQUEST_METHOD": "GET", **value}, trusted_proxies=1),
        environ,
    )
    if error is not None:
        assert error.field.startswith("environ")
        return
    repr(context)
    for value in (context.client_user_agent, context.sc_click_id, context.event_source_url):
        if value is not None:
            value.encode("utf-8")


def test_a_page_url_that_is_not_unicode_is_refused():
    """page_url is checked like event_source_url: a lone surrogate is a ValidationError."""
    with pytest.raises(ValidationError, match="page_url: is not valid Unicode"):
        web.from_wsgi({"REQUEST_METHOD": "GET"}, page_url=f"https://shop.example.com/{BAD}")


# --------------------------------------------------------------------------- properties


def _event_with(field: str) -> Callable[[Any], object]:
    return lambda value: event(**{field: value})


def _model_with(cls: Callable[..., object], field: str) -> Callable[[Any], object]:
    return lambda value: cls(**{field: value})


def _record_with(key: str) -> Callable[[Any], object]:
    def build(value: Any) -> object:
        record = {"event_name": "SEARCH", "action_source": "WEB", "event_time": NOW_TS,
                  "em": "a@x.com", key: value}  # fmt: skip
        return Event.from_dict(record, region="US")

    return build


def _public_builders() -> dict[str, Callable[[Any], object]]:
    """Every public constructor and normalizer, as a function of one value."""
    builders: dict[str, Callable[[Any], object]] = {}
    for field in ("event_name", "action_source", "user_data", "event_time", "event_source_url",
                  "event_id", "custom_data", "app_data", "data_processing_options",
                  "data_processing_options_country", "data_processing_options_state",
                  "integration", "opt_out", "consent"):  # fmt: skip
        builders[f"Event.{field}"] = _event_with(field)
    for cls in (UserData, CustomData, AppData):
        for field in sorted(cls._FIELDS if cls is UserData else _fields(cls)):
            builders[f"{cls.__name__}.{field}"] = _model_with(cls, field)
    for field in _fields(Content):
        builders[f"Content.{field}"] = lambda value, field=field: Content(
            **{"id": "sku", field: value}
        )
    for name in normalize.__all__:
        builders[f"normalize.{name}"] = getattr(normalize, name)
    builders["normalize.phone(region=)"] = lambda value: normalize.phone("4155550132", value)
    builders["UserData(region=)"] = lambda value: UserData(phone="4155550132", region=value)
    builders["with_default_region"] = lambda value: UserData(
        phone="4155550132"
    ).with_default_region(value)
    builders["to_epoch_seconds"] = to_epoch_seconds
    builders["to_epoch_seconds(timezone=)"] = lambda value: to_epoch_seconds(
        "2026-01-01 10:00", timezone=value
    )
    builders["to_epoch_seconds(time_format=)"] = lambda value: to_epoch_seconds(
        "2026-01-01", time_format=value
    )
    builders["resolve_timezone"] = resolve_timezone
    builders["EventName.resolve"] = EventName.resolve
    builders["EventName.resolve(aliases=)"] = lambda value: EventName.resolve("Joined", value)
    builders["EventName.resolve(alias target)"] = lambda value: EventName.resolve(
        "Joined", {"Joined": value}
    )
    builders["ActionSource.resolve"] = ActionSource.resolve
    builders["AppData.from_extinfo"] = AppData.from_extinfo
    builders["AppData.from_extinfo(item)"] = lambda value: AppData.from_extinfo(["i2", value])
    for key in ("event_time", "event_name", "email", "phone", "value", "currency", "extra",
                "country", "contents", "extinfo", "user_data", "custom_data", "madid"):  # fmt: skip
        builders[f"from_dict.{key}"] = _record_with(key)
    builders["from_wsgi(page_url=)"] = lambda value: web.from_wsgi(
        {"REQUEST_METHOD": "GET"}, page_url=value
    )
    builders["from_wsgi(trusted_proxies=)"] = lambda value: web.from_wsgi(
        {"REQUEST_METHOD": "GET"}, trusted_proxies=value
    )
    for key in ("REMOTE_ADDR", "HTTP_USER_AGENT", "HTTP_COOKIE", "QUERY_STRING", "HTTP_HOST",
                "PATH_INFO", "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_HOST"):  # fmt: skip
        builders[f"from_wsgi[{key}]"] = lambda value, key=key: web.from_wsgi(
            {"REQUEST_METHOD": "GET", "HTTP_HOST": "shop.example.com", key: value},
            trusted_proxies=1,
        )
    return builders


def _fields(cls: type) -> list[str]:
    import attrs

    return [attribute.name for attribute in attrs.fields(cls)]


BUILDERS = _public_builders()
# Settings, not data: their errors may quote what was given (a time zone is nobody's name),
# and a close zone name ("Europe/Paris" for "Paris") holds the value it was asked about.
SETTINGS = frozenset(
    {"to_epoch_seconds(timezone=)", "resolve_timezone", "to_epoch_seconds(time_format=)",
     "EventName.resolve(aliases=)", "EventName.resolve(alias target)"}
)  # fmt: skip


def _use(result: object) -> None:
    """Use a result as a pipeline would: show it, build its payload, encode that as JSON."""
    repr(result)
    payload = getattr(result, "to_payload", None)
    if payload is not None:
        json.dumps(payload(), allow_nan=False)
    if isinstance(result, Event):
        result.problems()
        result._repr_html_()


@pytest.mark.parametrize("name", sorted(BUILDERS))
@given(value=hostile_values)
@settings(max_examples=60)
@example(value=10**400)
@example(value="9" * 5000)
@example(value=Fraction(10**400, 3))
@example(value=Decimal("sNaN"))
@example(value=LONE_SURROGATE_TEXT)
@example(value=5)
@example(value=["US"])
def test_every_public_builder_succeeds_or_raises_validation_error(name, value):
    """Hostile values give a usable result or ValidationError naming a field, nothing else."""
    result, error = outcome(BUILDERS[name], value)
    if error is None:
        _use(result)
        return
    assert error.field
    assert len(str(error)) < 1000
    if name not in SETTINGS:
        assert_never_quoted(error, value)


@pytest.mark.parametrize("name", sorted(set(BUILDERS) - SETTINGS))
@given(value=pii_text)
@settings(max_examples=25)
@example(value=PII_VALUES[0])
@example(value=PII_VALUES[1])
def test_no_error_quotes_personal_data(name, value):
    """A name or an email given to any field is never quoted back in an error."""
    try:
        BUILDERS[name](value)
    except ValidationError as error:
        assert_never_quoted(error, value)


@given(region=wrong_types)
def test_wrong_type_regions_are_validation_errors(region):
    """Any non-text region is a ValidationError naming the region."""
    with pytest.raises(ValidationError) as info:
        normalize.phone("4155550132", region=region)
    assert info.value.field == "region"

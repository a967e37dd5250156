"""Byte identity of snapcapi's outputs on a fixed corpus of a million messy records.

Speed work on the hot path must change no output, on any input. This tool fixes a seeded
corpus, runs every record through the models and the client's preparation step, and keeps a
SHA-256 per chunk of 10,000 records over everything a user or Snap can see:

* a ``ValidationError``: its ``field``, ``str()``, ``remedy`` and ``code``;
* otherwise ``repr(event)``, ``event.warnings``, the drops (codes and values),
  ``event.problems()`` and ``event.notices()``, ``match_keys``, the ``to_payload()`` dict as
  ``json.dumps(..., ensure_ascii=False)`` (so key order counts), the encoder's bytes of that
  dict (``snapcapi._transport._wire.encode``) and what ``Preparer.prepare`` makes of the
  event: the bytes of the item the client puts in a request body, or the result that keeps
  it out (problems, a missing asset id, no consent, a default region applied or refused).

The encoding-dependent part runs twice: once with orjson, and once in a second process where
``import orjson`` fails (``sys.modules["orjson"] = None`` before snapcapi is imported), so the
standard-library path is checked whatever the client's encoding code becomes. That process
generates each chunk and hands its records to the first through a pipe, so each chunk is
generated once and the two passes overlap on two cores.

The corpus
----------
Each chunk is generated from the seed and its index alone (the first 200,000 records are the
same whatever ``--records`` says): records from ``benchmarks/bench_pipeline.py``'s
``generate_messy_records`` and ``generate_records``, each turned into one of the families
below, most of them valid, about 15% hitting an error path. The clock is fixed (``NOW``) and
passed wherever the API takes one; every event id is given; no value lies near a bound that
depends on the machine's clock (``date.today()`` for birth dates, a year from now for event
times). Families: the records as generated (``UserData``/``CustomData`` objects or dicts);
lists of identifiers with duplicates; values already SHA-256 hashed (upper and lower hex);
phones in international, ``00``, ``(0)``, E.164-without-``+`` and IDD forms, read in the
user's country, in ``region``, or in none (unresolved, then given a default region by the
preparer); emails with IDNA domains, quoted local parts, NFC and NFD accents, mixed case and
odd whitespace; every ``CustomData`` field; app events with ``AppData`` (and ``from_extinfo``);
every optional ``Event`` field; ``Event.from_dict`` on flat and nested records; event times in
every form the constructor and ``from_dict`` read; ``on_invalid="drop"``; events that build
but may not be sent (stale, too old, in the future, no URL, no value, no match key); and one
invalid value in an otherwise full record.

Usage
-----
``python benchmarks/check_identity.py --records 1000000 --write REF`` writes the reference
(run it on the old tree: ``PYTHONPATH=/path/to/old/tree``). ``... --compare REF`` recomputes
every chunk with the snapcapi on the path; when a chunk differs, it runs that chunk again
record by record on this tree and on the reference's tree (named in the file, or
``--base``), prints the first differing record with both outcomes and exits 1. Otherwise it
prints ``identical: N records (V valid, I invalid) in S s`` and exits 0. ``--jobs N`` runs N
pairs of processes on strided chunks. Exit status 2: bad arguments, or a corpus that differs
from the reference's (the generators changed: write a new reference from the old tree).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import hashlib
import importlib.util
import json
import os
import pathlib
import pickle
import random
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any, BinaryIO, NamedTuple

FORMAT = 1
NOW = 1_790_000_000  # 2026-09-21T12:53:20Z: the clock of every record and every check
CLOCK = NOW + 0.5  # the "now" passed to the checks, a float as time.time() gives
DEFAULT_SEED = 12
DEFAULT_CHUNK = 10_000
HERE = pathlib.Path(__file__).resolve().parent
UTC = dt.timezone.utc

Spec = dict[str, Any]
Outcome = tuple[tuple[str, Any], ...]


class Make(NamedTuple):
    """A model object to build at evaluation time (records hold data, never snapcapi objects).

    The corpus is hashed from ``repr`` of the records, so it must not depend on the snapcapi
    under test: a ``Content`` or ``UserData`` is built from its arguments when the record runs.
    """

    kind: str
    kwargs: dict[str, Any]


# --------------------------------------------------------------------------- the corpus


def _load_generators(path: pathlib.Path) -> Any:
    spec = importlib.util.spec_from_file_location("_identity_bench_pipeline", path)
    if spec is None or spec.loader is None:
        sys.exit(f"cannot import the generators from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it runs
    spec.loader.exec_module(module)
    return module


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _hashed(rng: random.Random, text: str) -> str:
    digest = _sha(text)
    return digest.upper() if rng.random() < 0.4 else digest


_USER_KEYS = (
    "email", "phone", "region", "first_name", "last_name", "city", "state", "zip_code",
    "country", "external_id", "client_ip_address", "client_user_agent", "gender",
    "date_of_birth", "madid", "sc_click_id", "sc_cookie1", "subscription_id", "lead_id",
)  # fmt: skip
_CUSTOM_KEYS = ("value", "currency", "order_id", "content_ids", "content_category", "num_items")


def _split(record: dict[str, Any], *, keep_none: bool = False) -> tuple[Spec, Spec, Spec]:
    """Return a generated record as the Event's, the UserData's and the CustomData's arguments."""
    user = {k: record.get(k) for k in _USER_KEYS if keep_none or record.get(k) is not None}
    custom = {k: record.get(k) for k in _CUSTOM_KEYS if keep_none or record.get(k) is not None}
    event = {
        "event_name": record["event_name"],
        "action_source": record["action_source"],
        "event_time": record["event_time"],
        "event_id": record["event_id"],
    }
    if keep_none or record.get("event_source_url") is not None:
        event["event_source_url"] = record.get("event_source_url")
    return event, user, custom


def _event_spec(
    family: str,
    event: Spec,
    user: Spec,
    custom: Spec | None,
    rng: random.Random,
    preparers: Sequence[Spec] = (),
) -> Spec:
    """Assemble an Event record: user and custom data as objects or as dicts, at random."""
    args = dict(event)
    objects = rng.random() < 0.6
    args["user_data"] = Make("UserData", user) if objects else user
    if custom is not None:
        args["custom_data"] = Make("CustomData", custom) if objects else custom
    return {"family": family, "via": "event", "args": args, "preparers": tuple(preparers)}


def _family_plain(rng: random.Random, record: dict[str, Any]) -> Spec:
    # As bench_pipeline builds them: every key passed, None where the record has none.
    event, user, custom = _split(record, keep_none=True)
    family = "plain_messy" if "gender" in record else "plain_ascii"
    return _event_spec(family, event, user, custom, rng)


def _case_variants(rng: random.Random, value: str) -> list[str]:
    return [value, value.upper(), f"  {value.lower()} ", value.swapcase()][: rng.randint(2, 4)]


def _family_lists(rng: random.Random, record: dict[str, Any]) -> Spec:
    event, user, custom = _split(record)
    if user.get("email"):
        emails: list[Any] = _case_variants(rng, user["email"].strip())
        emails += rng.sample(["", None, "second.address@example.org", " Third@Example.NET"], 2)
        rng.shuffle(emails)
        user["email"] = tuple(emails) if rng.random() < 0.3 else emails
    if user.get("phone"):
        phone = user["phone"]
        others = rng.sample(["+44 20 7946 0958", "+1 415-555-2671", "", "+33 1 42 68 53 00"], 2)
        user["phone"] = [phone, f" {phone} ", phone.replace(" ", ""), *others]
    user["first_name"] = [record.get("first_name") or "Ana", "ANA", "Zoë"][: rng.randint(1, 3)]
    user["external_id"] = ["C-1001", "c-1001", "C-1002", " C-1003 "][: rng.randint(2, 4)]
    user["date_of_birth"] = rng.choice(
        (["1990-01-31", "19900131", dt.date(1990, 1, 31)], ["1985.05.05", dt.date(1970, 2, 3)])
    )
    user["zip_code"] = ["94107-1234", "94107", "SW1A 1AA"][: rng.randint(1, 3)]
    user["city"] = ["Paris", "paris", "São Paulo"][: rng.randint(1, 3)]
    user["anon_id"] = rng.choice(("a1, b2, ,c3", ["anon-1", "anon-2"], "solo"))
    user["lead_id"] = rng.choice((1234567890, "L-77", 42))
    for key in ("idfv", "download_id", "partner_id"):
        if rng.random() < 0.4:
            user[key] = f" {key}-{rng.randint(1, 10**6)} "
    return _event_spec("lists", event, user, custom, rng)


def _family_hashed(rng: random.Random, record: dict[str, Any]) -> Spec:
    event, user, custom = _split(record)
    for key in ("email", "phone", "first_name", "last_name", "city", "state", "zip_code",
                "country", "external_id", "gender", "date_of_birth"):  # fmt: skip
        if key in user and rng.random() < 0.6:
            user[key] = _hashed(rng, str(user[key]).strip().lower())
    if rng.random() < 0.2:
        # A hashed country cannot say where a national phone number is: the region does.
        user["country"] = _hashed(rng, "us")
        user["phone"], user["region"] = "(415) 555-2671", "US"
    if rng.random() < 0.1:
        user["email"] = "g" * 64  # 64 characters but not hex: an email to validate (and refuse)
    return _event_spec("hashed", event, user, custom, rng)


def _phone_forms(number: Any, phonenumbers: Any, region: str) -> list[str]:
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    forms = [
        e164,
        international,
        national,
        "00" + e164[1:],
        "00 " + international[1:],
        e164[1:],  # E.164 without its '+', as warehouses store it
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.RFC3966),
    ]
    if region in ("GB", "DE", "FR") and national.startswith("0"):
        code = international.split(" ", 1)[0]
        forms.append(f"{code} (0){national[1:]}")
        forms.append(f"{code}(0){national[1:].replace(' ', '')}")
    if region == "US":
        forms.append("011 44 20 7946 0958")  # dialled with the US international prefix
    return forms


_BAD_PHONES = (
    "12", "+1 234", "n/a", "+999 1234567", "(415) 555-01", "+44 20 7946 09581234567", "phone",
    "0000000000", "+1 (000) 000-0000", "++44 20 7946 0958", "+44 0 20 7946 0958",
    "\u0664\u0661\u0665\u0665\u0665\u0665\u0662\u0666\u0667\u0661", "415 555 2671 ext. 12",
    "+1 415 555 2671 x99", "+0 123 456 789", "00", "+", "tel:+1-415-555-2671",
)  # fmt: skip


def _family_phone_forms(rng: random.Random, record: dict[str, Any], phonenumbers: Any) -> Spec:
    event, user, custom = _split(record)
    region = record["region"]
    preparers: list[Spec] = []
    roll = rng.random()
    phone = record.get("phone") or "+1 415 555 2671"
    try:
        number = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:  # the generators promise valid numbers
        number = phonenumbers.parse("+14155552671")
    if roll < 0.45:
        user["phone"] = rng.choice(_phone_forms(number, phonenumbers, region))
        if rng.random() < 0.3:
            user.pop("region", None)  # the country says where
    elif roll < 0.7:
        # Neither country nor region: national numbers wait for the client's default_region.
        user.pop("region", None)
        user.pop("country", None)
        user["phone"] = rng.choice(
            (
                phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL),
                phone,
                [phone, "+44 20 7946 0958"],
            )
        )
        preparers.append(
            {"default_region": rng.choice((region, region.lower(), "GB", "US", "XX", " de "))}
        )
    elif roll < 0.8:
        # The user's country and the file's region disagree: the country wins.
        user["region"] = rng.choice(("GB", "US", "FR", "de"))
        user["country"] = rng.choice(("France", "DE", "usa", "United Kingdom"))
    elif roll < 0.85:
        user["country"] = rng.choice(("AQ", "Antarctica", "BV"))  # no numbering plan
        user["phone"] = rng.choice(("020 7946 0958", "+672 1 23456"))
    else:
        user["phone"] = rng.choice(_BAD_PHONES)
        if rng.random() < 0.3:
            user["on_invalid"] = "drop"
    if rng.random() < 0.05:
        user["region"] = rng.choice(("ZZ", "Narnia", 44, ""))
    return _event_spec("phone_forms", event, user, custom, rng, preparers)


_IDNA_DOMAINS = (
    "bücher.de", "Bücher.DE", "xn--bcher-kva.de", "münchen-shop.de", "Exämple.COM",
    "例え.jp", "пример.рф", "ÉCOLE.fr", "straße.de", "xn--strae-oqa.de", "faß.de",
)  # fmt: skip
_BAD_EMAILS = (
    "no-at-sign.example.com", "two@@example.com", "a@b@example.com", "a..b@example.com",
    ".start@example.com", "end.@example.com", "@example.com", "user@", "user@localhost",
    "user@example", "user@-example.com", "user@example-.com", "user@exa_mple.com",
    "user@example..com", "user@example.invalid", "user@example.test", "user@x.onion",
    "user@[192.0.2.1]", "user name@example.com", "x" * 65 + "@example.com",
    "a@" + "b" * 64 + ".com", "a@" + ".".join(["abcdefghij"] * 25) + ".com",
    "ü@xn--zz.com", "user@xn--.com", "user@example.c", "user@123.com.456", "😀@example.com",
    "a\u200d@example.com", "a\u202e@example.com", "user@exam\u00adple.com",
    "caf\udce9@example.com", "user@.example.com", "user@example.com.", "(comment)a@b.com",
    "a\\@b@example.com", "user@ex ample.com",
)  # fmt: skip


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if c.isascii() and c.isalnum())


def _family_email_forms(rng: random.Random, record: dict[str, Any]) -> Spec:
    event, user, custom = _split(record)
    first = (record.get("first_name") or "Chloé").strip().replace(" ", "")
    last = (record.get("last_name") or "García").strip().replace(" ", "").replace("'", "")
    n = rng.randint(1, 9999)
    roll = rng.random()
    if roll < 0.2:
        email = f"{first}.{last}{n}@{rng.choice(_IDNA_DOMAINS)}"
    elif roll < 0.35:
        email = unicodedata.normalize("NFD", f"{first}.{last}{n}@Example.com")
    elif roll < 0.45:
        email = unicodedata.normalize("NFC", f"{first}_{last}+{n}@GMAIL.com")
    elif roll < 0.55:
        email = rng.choice(('"john doe"@example.com', '"j.o"@Example.com', '"a"@b.co',
                            '"very.unusual.@.unusual.com"@example.com'))  # fmt: skip
    elif roll < 0.65:
        email = rng.choice(("\t", "\u00a0", "\u3000", "\n ", "\u2003")) + (
            f"{_ascii(first) or 'x'}.{n}@Example.ORG" + rng.choice((" ", "\r\n", "\u00a0"))
        )
    elif roll < 0.72:
        email = rng.choice(("ａｂｃ@example.com", "ǅemal@example.com", "İstanbul@example.com",
                            "ﬁnance@example.com", "Ωmega@ΕΛΛΑΔΑ.gr", "ß@EXAMPLE.com"))  # fmt: skip
    elif roll < 0.76:
        email = rng.choice((42, 3.5, b"user@example.com", ["ok@example.com", 7]))
    else:
        email = rng.choice(_BAD_EMAILS)
    user["email"] = email
    if rng.random() < 0.15:
        user["on_invalid"] = "drop"
    return _event_spec("email_forms", event, user, custom, rng)


_VALUES = ("12.50", 12.5, 12, "  7.00 ", "0", "0.00", "1e3", "1200", 0.1 + 0.2, 99999.99,
           "0.000001", 4999, 10**12)  # fmt: skip
_BAD_CUSTOM: tuple[tuple[str, Any], ...] = (
    ("value", -1), ("value", "12,50"), ("value", "1.200,50"), ("value", "$12"),
    ("value", float("nan")), ("value", float("inf")), ("value", 10**16), ("value", 1e-12),
    ("value", True), ("value", [12]), ("value", Decimal("-0.01")), ("value", Decimal("sNaN")),
    ("currency", "US"), ("currency", "dollars"), ("currency", "XYZ"), ("currency", 840),
    ("currency", "€"), ("num_items", "three"), ("num_items", -1), ("num_items", 2.5),
    ("num_items", True), ("num_items", "9" * 30), ("content_ids", []), ("content_ids", [True]),
    ("content_ids", {"a": 1}), ("content_ids", " , "), ("contents", [{"quantity": 1}]),
    ("contents", [{"id": "x", "colour": "red"}]), ("contents", "SKU-1"),
    ("contents", [{"id": "x", "item_price": "-3"}]), ("contents", [7]),
    ("predicted_ltv", "-5"), ("destination_airport", "JFKX"), ("origin_airport", "1AB"),
    ("extra", {"value": 1}), ("extra", {"x": float("nan")}), ("extra", {"x": 2**70}),
    ("extra", "coupon"), ("custom_fields", ["a"]), ("custom_fields", {"tier": 3.5}),
    ("hotel_score", float("inf")), ("num_adults", "-2"), ("colour", "red"),
    ("order_id", 10**300), ("order_id", 12.5), ("content_type", ["product"]),
)  # fmt: skip


def _content_items(rng: random.Random) -> list[Any]:
    items: list[Any] = []
    for k in range(rng.randint(1, 4)):
        fields: dict[str, Any] = {"id": rng.choice((f"SKU-{rng.randint(1, 99999)}", 12345 + k))}
        if rng.random() < 0.7:
            fields["quantity"] = rng.choice((1, 2, "3", 4.0))
        if rng.random() < 0.7:
            fields["item_price"] = rng.choice(("9.99", 5, 19.5, Decimal("2.50"), "0"))
        if rng.random() < 0.3:
            fields["delivery_category"] = rng.choice(("in_store", "curbside", "home_delivery"))
        if rng.random() < 0.3:
            fields["brand"] = rng.choice(("Acme", "Zeta Ñ", " Nordwind "))
        items.append(Make("Content", fields) if rng.random() < 0.5 else fields)
    return items


def _full_custom(rng: random.Random, record: dict[str, Any]) -> Spec:
    custom: Spec = {}
    custom["value"] = rng.choice((*_VALUES, Decimal("12.50"), Decimal("1E+2"), record.get("value")))
    custom["currency"] = rng.choice(("usd", " eur ", "GBP", "jpy", "Chf", record.get("currency")))
    optional: dict[str, Callable[[], Any]] = {
        "order_id": lambda: rng.choice((record.get("order_id"), 123456789, " ORD-7 ")),
        "content_ids": lambda: rng.choice(
            ("SKU-1,SKU-2", ["A", "B", "A"], [123, 456.0, Decimal("7")], "SKU-9", " a , ,b ")
        ),
        "contents": lambda: _content_items(rng),
        "content_category": lambda: rng.choice(("shoes", ["shoes", "sale"], " home ")),
        "content_name": lambda: rng.choice(("Trail Runner", "Chaussure légère")),
        "content_type": lambda: rng.choice(("product", "product_group")),
        "num_items": lambda: rng.choice(("3", 3, 3.0, " 12 ", 0)),
        "search_string": lambda: rng.choice(("red shoes", "café crème")),
        "sign_up_method": lambda: "email",
        "brands": lambda: rng.choice((["Acme", "Zeta"], "Acme", "Acme, Zeta")),
        "predicted_ltv": lambda: rng.choice(("120.5", 300, 45.25, Decimal("0"))),
        "status": lambda: rng.choice(("paid", "pending")),
        "delivery_category": lambda: rng.choice(("in_store", "curbside", "home_delivery")),
        "event_tag": lambda: rng.choice(("summer-sale", "vip")),
        "destination_ids": lambda: rng.choice(("LON,PAR", ["NYC"])),
        "custom_fields": lambda: rng.choice(({"tier": "gold"}, {"a": "1", "b": "ü"})),
        "extra": lambda: rng.choice(
            (
                {"coupon": "X1", "n": 3, "f": 1.5},
                {"nested": {"a": [1, 2, {"b": None}]}, "d": Decimal("2.50"), "flag": True},
                {"empty": "", "none": None, "big": 2**62},
            )
        ),
        "checkin_date": lambda: rng.choice((dt.date(2026, 12, 24), "2026-12-24")),
        "travel_start": lambda: rng.choice(
            ("2026-12-20", dt.datetime(2026, 12, 20, 9, 30), dt.datetime(2026, 12, 20, tzinfo=UTC))
        ),
        "travel_end": lambda: dt.date(2027, 1, 3),
        "suggested_destinations": lambda: ["LIS", "OPO"],
        "destination_airport": lambda: rng.choice(("jfk", "LHR")),
        "origin_airport": lambda: " cdg ",
        "country": lambda: "FR",
        "city": lambda: "Lyon",
        "region": lambda: "Auvergne-Rhône-Alpes",
        "neighborhood": lambda: "Vieux Lyon",
        "departing_departure_date": lambda: "2026-12-20",
        "departing_arrival_date": lambda: dt.date(2026, 12, 20),
        "returning_departure_date": lambda: "2027-01-03",
        "returning_arrival_date": lambda: dt.date(2027, 1, 4),
        "num_adults": lambda: rng.choice(("2", 2)),
        "num_children": lambda: 1,
        "num_infants": lambda: "0",
        "hotel_score": lambda: rng.choice((4.5, "8.7", 9.0)),
        "postal_code": lambda: "69005",
        "preferred_neighborhoods": lambda: "Vieux Lyon, Croix-Rousse",
        "preferred_star_ratings": lambda: rng.choice(([4, 5.0, "3"], "4,5", [4.5])),
        "suggested_hotels": lambda: ["H1", "H2"],
    }
    keys = rng.sample(sorted(optional), rng.randint(3, len(optional)))
    for key in keys:
        custom[key] = optional[key]()
    return custom


def _family_custom(rng: random.Random, record: dict[str, Any]) -> Spec:
    event, user, _ = _split(record)
    custom = _full_custom(rng, record)
    if rng.random() < 0.1:
        key, value = rng.choice(_BAD_CUSTOM)
        custom[key] = value
    return _event_spec("custom_data", event, user, custom, rng)


def _app_fields(rng: random.Random) -> Spec:
    fields: Spec = {
        "app_id": rng.choice(("com.example.shop", "123456789", " 987654321 ")),
        "platform": rng.choice(("android", "iOS", "i2", "a2", "ipados", " Android ")),
    }
    optional: dict[str, Callable[[], Any]] = {
        "advertiser_tracking_enabled": lambda: rng.choice((True, False, "yes", 1, 0, "off")),
        "application_tracking_enabled": lambda: rng.choice((True, "true", 0)),
        "package_name": lambda: "com.example.shop",
        "short_version": lambda: "2.4",
        "long_version": lambda: "2.4.1 (2041)",
        "os_version": lambda: rng.choice(("17.5", "14")),
        "device_model": lambda: rng.choice(("iPhone15,2", "Pixel 8")),
        "locale": lambda: rng.choice(("en_US", "fr_FR")),
        "timezone_abbreviation": lambda: "CET",
        "carrier": lambda: rng.choice(("Orange", "T-Mobile")),
        "screen_width": lambda: rng.choice((1080, "1170")),
        "screen_height": lambda: rng.choice((2400, "2532")),
        "screen_density": lambda: rng.choice((2.625, 3.0, "3.00", 2.0)),
        "cpu_cores": lambda: rng.choice((8, "6")),
        "storage_size_gb": lambda: rng.choice((128, 256.0, "64")),
        "free_storage_gb": lambda: rng.choice((64.5, 12, "3.2")),
        "device_timezone": lambda: "Europe/Paris",
        "campaign_ids": lambda: "c-1",
        "install_referrer": lambda: "utm_source=snap",
        "installer_package": lambda: "com.android.vending",
        "url_schemes": lambda: rng.choice((["fb123", "shop"], "shop,app")),
        "windows_attribution_id": lambda: "w-1",
    }
    for key in rng.sample(sorted(optional), rng.randint(0, len(optional))):
        fields[key] = optional[key]()
    return fields


_EXTINFO_FIELDS = (
    "package_name", "short_version", "long_version", "os_version", "device_model", "locale",
    "timezone_abbreviation", "carrier", "screen_width", "screen_height", "screen_density",
    "cpu_cores", "storage_size_gb", "free_storage_gb", "device_timezone",
)  # fmt: skip
_BAD_APP: tuple[tuple[str, Any], ...] = (
    ("platform", "windows"), ("platform", 7), ("advertiser_tracking_enabled", "maybe"),
    ("advertiser_tracking_enabled", 2), ("screen_density", float("nan")), ("os", "17"),
    ("url_schemes", []), ("cpu_cores", True),
)  # fmt: skip


def _family_app(rng: random.Random, record: dict[str, Any]) -> Spec:
    event, user, custom = _split(record)
    event["action_source"] = rng.choice(("MOBILE_APP", "app", "mobile_app"))
    event["event_name"] = rng.choice(("PURCHASE", "APP_OPEN", "APP_INSTALL", "Add to Cart"))
    event.pop("event_source_url", None)
    if rng.random() < 0.5:
        user["madid"] = rng.choice(
            (str(record.get("madid") or "6D92078A-8246-4BA4-AE5B-76104861E7DC"),
             "00000000-0000-0000-0000-000000000000", "6d92078a-8246-4ba4-ae5b-76104861e7dc")
        )  # fmt: skip
        if rng.random() < 0.3:
            for key in ("email", "phone", "client_ip_address"):
                user.pop(key, None)  # the mobile ad id is the only match key
    fields = _app_fields(rng)
    roll = rng.random()
    app: Any
    if roll < 0.1:
        key, value = rng.choice(_BAD_APP)
        fields[key] = value
        app = fields
    elif roll < 0.25:
        extinfo: Any = [fields.pop("platform"), "com.example.shop", "2.4", "2.4.1", "17.5",
                        "iPhone15,2", "en_US", "CET", "Orange", "1170", "2532", "3.00", "6",
                        "256", "120", "Europe/Paris"][: rng.randint(1, 16)]  # fmt: skip
        if rng.random() < 0.9:  # else a value given twice, in extinfo and by name
            for key in _EXTINFO_FIELDS[: len(extinfo) - 1]:
                fields.pop(key, None)
        if rng.random() < 0.1:
            extinfo = [*extinfo, "x", "y"] * 9  # more than 16 values
        app = Make("AppData.from_extinfo", {"extinfo": extinfo, **fields})
    elif roll < 0.3:
        app = None  # an app event without app data: a problem, not an error
    elif roll < 0.35:
        fields.pop("platform")
        app = fields
    else:
        app = Make("AppData", fields) if rng.random() < 0.5 else fields
    spec = _event_spec("app", event, user, custom, rng, [{"snap_app_id": None}])
    if app is not None:
        spec["args"]["app_data"] = app
    return spec


def _family_optional(rng: random.Random, record: dict[str, Any]) -> Spec:
    event, user, custom = _split(record)
    optional: dict[str, Callable[[], Any]] = {
        "data_processing_options": lambda: rng.choice(("LDU", ["ldu"], ("LDU", " ldu "))),
        "data_processing_options_country": lambda: rng.choice((0, 1, "1", 1.0)),
        "data_processing_options_state": lambda: rng.choice((0, 1000, "1000")),
        "integration": lambda: rng.choice(("shopify", " woocommerce ", 17)),
        "opt_out": lambda: rng.choice((True, False, "true", "no", 0, 1)),
        "consent": lambda: rng.choice((True, False, "yes", "n", 1)),
    }
    for key in rng.sample(sorted(optional), rng.randint(1, len(optional))):
        event[key] = optional[key]()
    if rng.random() < 0.08:
        key, value = rng.choice(
            (("opt_out", "maybe"), ("consent", 2), ("data_processing_options_country", -1),
             ("data_processing_options_state", "CA"), ("integration", ""),
             ("data_processing_options", []), ("data_processing_options", 5))
        )  # fmt: skip
        event[key] = value
    preparers = [{"require_consent": True}] if rng.random() < 0.6 else []
    return _event_spec("optional_fields", event, user, custom, rng, preparers)


# Event times: (how the record writes it, as a function of the record's Unix seconds).
def _iso(seconds: int, offset_hours: float = 0, fmt: str = "%Y-%m-%dT%H:%M:%S") -> str:
    zone = dt.timezone(dt.timedelta(hours=offset_hours))
    return dt.datetime.fromtimestamp(seconds, zone).strftime(fmt)


_TIME_OK: tuple[Callable[[int], Any], ...] = (
    lambda t: t * 1000,
    lambda t: t * 1_000_000,
    lambda t: t * 1_000_000_000,
    lambda t: t + 0.25,
    lambda t: str(t),
    lambda t: f" {t * 1000} ",
    lambda t: f"{t}.0",
    lambda t: Decimal(t) + Decimal("0.5"),
    lambda t: Decimal(t),
    lambda t: Fraction(t * 4 + 1, 4),
    lambda t: dt.datetime.fromtimestamp(t, UTC),
    lambda t: dt.datetime.fromtimestamp(t, dt.timezone(dt.timedelta(hours=-5))),
    lambda t: dt.datetime.fromtimestamp(t, UTC).date(),
    lambda t: int(_iso(t, 0, "%Y%m%d")),
    lambda t: _iso(t, 0, "%Y%m%d"),
    lambda t: _iso(t) + "Z",
    lambda t: _iso(t) + "z",
    lambda t: _iso(t, 2, "%Y-%m-%d %H:%M:%S") + "+02:00",
    lambda t: _iso(t, 5.5) + ".123456+0530",
    lambda t: _iso(t, -5) + ",5-05",
    lambda t: _iso(t, 0, "%Y-%m-%d %H:%M:%S") + " UTC",
    lambda t: _iso(t, 0, "%Y-%m-%d %H:%M:%S") + " GMT",
    lambda t: _iso(t, 0, "%Y/%m/%d %H:%M:%S") + "Z",
    lambda t: _iso(t, 0, "%Y.%m.%d %H:%M") + " Z",
    lambda t: _iso(t, 0, "%Y-%m-%dT%H:%M") + "Z",
    lambda t: _iso(t, 0, "%Y-%m-%d"),
    lambda t: "  " + _iso(t) + "Z  ",
    lambda t: _iso(t, 0, "%Y-%m-%dt%H:%M:%S") + "+00",
    lambda t: t - 10 * 86400,  # stale: a notice
    lambda t: t - 40 * 86400,  # too old: a problem
    lambda t: t + 3 * 3600,  # in the future: a problem
)
# What the constructor refuses.
_TIME_BAD: tuple[Callable[[int], Any], ...] = (
    lambda t: _iso(t),
    lambda t: _iso(t, 0, "%Y-%m-%d %H:%M"),
    lambda t: dt.datetime.fromtimestamp(t, UTC).replace(tzinfo=None),
    lambda t: _iso(t, 0, "%d/%m/%Y"),
    lambda t: _iso(t, 0, "%m/%d/%Y %I:%M %p"),
    lambda t: _iso(t, 0, "%d.%m.%y %H:%M:%S"),
    lambda t: "yesterday",
    lambda t: "",
    lambda t: 0,
    lambda t: -1,
    lambda t: 123,
    lambda t: 10**21,
    lambda t: float("nan"),
    lambda t: float("-inf"),
    lambda t: True,
    lambda t: 7_500_000_000,  # the year 2207, read as seconds
    lambda t: 7_500_000_000_000,
    lambda t: 19991231,
    lambda t: 21991231,
    lambda t: 20261340,
    lambda t: "2026-13-01",
    lambda t: "2026-09-31T10:00:00Z",
    lambda t: "2026-09-20T24:00:00Z",
    lambda t: "2026-09-20T10:00:00+24:00",
    lambda t: "2026-09-20T10:00:00 PST",
    lambda t: Decimal("NaN"),
    lambda t: Decimal("1e25"),
    lambda t: [t],
    lambda t: 946_684_799,  # one second before 2000
)


def _family_times(rng: random.Random, record: dict[str, Any]) -> Spec:
    event, user, custom = _split(record)
    forms = _TIME_OK if rng.random() < 0.75 else _TIME_BAD
    event["event_time"] = rng.choice(forms)(record["event_time"])
    return _event_spec("event_time", event, user, custom, rng)


_BAD_USER: tuple[tuple[str, Any], ...] = (
    ("email", "not-an-email"), ("email", "user@example"), ("phone", "12"),
    ("phone", "+999 1234567"), ("client_ip_address", "256.1.1.1"),
    ("client_ip_address", "1.2.3"), ("client_ip_address", "01.2.3.4"),
    ("client_ip_address", "2001:db8::g"), ("client_ip_address", "localhost"),
    ("country", "Narnia"), ("country", "Germny"), ("country", "XX"), ("country", "12"),
    ("state", "!!!"), ("state", "--"), ("zip_code", "#12"), ("zip_code", "ü1234"),
    ("zip_code", "12 345 !"), ("date_of_birth", "31/01/1990"), ("date_of_birth", "1990-02-30"),
    ("date_of_birth", "1899-12-31"), ("date_of_birth", "2150-01-01"), ("date_of_birth", "soon"),
    ("gender", "x"), ("gender", "unknown"), ("madid", "not-a-uuid"), ("madid", "1234"),
    ("first_name", "123"), ("last_name", "!!"), ("city", "42"), ("external_id", "\udce9x"),
)  # fmt: skip


def _family_drop(rng: random.Random, record: dict[str, Any]) -> Spec:
    event, user, custom = _split(record)
    user["on_invalid"] = "drop"
    for key, value in rng.sample(_BAD_USER, rng.randint(1, 3)):
        user[key] = value
    if rng.random() < 0.2:
        user["madid"] = "00000000-0000-0000-0000-000000000000"
    if rng.random() < 0.05:
        user["on_invalid"] = rng.choice(("banana", "Drop"))
    return _event_spec("on_invalid_drop", event, user, custom, rng)


def _family_problems(rng: random.Random, record: dict[str, Any]) -> Spec:
    event, user, custom = _split(record)
    roll = rng.random()
    c: Spec | None = custom
    if roll < 0.2:
        event["event_time"] = record["event_time"] - rng.choice((8, 20, 36)) * 86400
    elif roll < 0.35:
        event["event_time"] = record["event_time"] - rng.choice((38, 60, 400)) * 86400
    elif roll < 0.45:
        event["event_time"] = NOW + rng.choice((11 * 60, 5 * 3600, 200 * 86400))
    elif roll < 0.55:
        event["action_source"] = "WEB"
        event.pop("event_source_url", None)
    elif roll < 0.65:
        c = None if rng.random() < 0.5 else {"order_id": "o-1", "value": "5"}
    elif roll < 0.8:
        for key in ("email", "phone", "madid"):
            user.pop(key, None)
        if rng.random() < 0.5:
            user.pop("client_user_agent", None)
    elif roll < 0.9:
        event["event_name"] = rng.choice(("PAGE_VIEW", "SIGN_UP", "page view", "custom_event_1"))
        c = None
    else:
        event["event_id"] = rng.choice((12345, " spaced-id ", "ïd-ünïcode", 10**20))
    return _event_spec("not_sendable", event, user, c, rng)


_BAD_EVENT: tuple[tuple[str, Any], ...] = (
    ("event_name", "buy stuff"), ("event_name", ""), ("event_name", 3.5),
    ("action_source", "email"), ("action_source", None), ("event_source_url", "ftp://x"),
    ("event_source_url", "example.com/page"), ("event_source_url", "https://"),
    ("event_source_url", "http://[::1"), ("event_id", "x" * 300), ("event_id", ""),
    ("event_id", ["a"]), ("user_data", "jane@example.com"), ("custom_data", 5),
    ("app_data", ["a2"]),
)  # fmt: skip


def _family_invalid(rng: random.Random, record: dict[str, Any]) -> Spec:
    event, user, custom = _split(record)
    roll = rng.random()
    if roll < 0.55:
        key, value = rng.choice(_BAD_USER)
        user[key] = value
    elif roll < 0.65:
        user[rng.choice(("emial", "phone_number", "ip"))] = "x"
    elif roll < 0.8:
        key, value = rng.choice(_BAD_CUSTOM)
        custom[key] = value
    else:
        key, value = rng.choice(_BAD_EVENT)
        event[key] = value
    return _event_spec("invalid_value", event, user, custom, rng)


_WIRE = {"email": "em", "phone": "ph", "first_name": "fn", "last_name": "ln", "city": "ct",
         "state": "st", "zip_code": "zp", "gender": "ge", "date_of_birth": "db"}  # fmt: skip
_ZONES = ("Europe/Paris", "america/new_york", "UTC", "Asia/Kolkata", "Australia/Sydney")


def _family_from_dict(rng: random.Random, record: dict[str, Any]) -> Spec:
    event, user, custom = _split(record)
    flat: Spec = {}
    options: Spec = {}
    nested = rng.random() < 0.2
    flat.update(event)
    if rng.random() < 0.3:
        flat["event_name"] = rng.choice(("order_completed", "Purchase", "purchase", "lead_form"))
        options["aliases"] = {"order_completed": "PURCHASE", "lead_form": 3}
    if "region" in user and rng.random() < 0.5:
        options["region"] = user.pop("region")
    if nested:
        flat["user_data"] = dict(user)
        flat["custom_data"] = dict(custom)
    else:
        for key, value in user.items():
            wire = _WIRE.get(key)
            name = wire if wire is not None and rng.random() < 0.4 else key
            flat[f" {name} " if rng.random() < 0.05 else name] = value
        for key, value in custom.items():
            flat[f"custom_data.{key}" if rng.random() < 0.2 else key] = value
    roll = rng.random()
    seconds = record["event_time"]
    if roll < 0.25:
        zone = rng.choice(_ZONES)
        options["timezone"] = zone if rng.random() < 0.8 else dt.timezone(dt.timedelta(hours=1))
        flat["event_time"] = rng.choice(
            (_iso(seconds, 1, "%Y-%m-%d %H:%M:%S"), _iso(seconds, 1, "%Y-%m-%d"),
             dt.datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None), seconds,
             int(_iso(seconds, 0, "%Y%m%d")), _iso(seconds) + "Z")
        )  # fmt: skip
    elif roll < 0.4:
        fmt = rng.choice(("%m/%d/%Y %H:%M", "%d.%m.%Y %H:%M:%S %z", "%Y%m%d%H%M", "%d/%m/%Y"))
        options["time_format"] = fmt
        options["timezone"] = "Europe/London"
        flat["event_time"] = dt.datetime.fromtimestamp(seconds, UTC).strftime(
            fmt.replace("%z", "+0000")
        )
    elif roll < 0.45:
        options["time_format"] = rng.choice(("%m/%d", "%Q %Y", 17))
        flat["event_time"] = "09/20"
    elif roll < 0.5:
        options["timezone"] = rng.choice(("Mars/Olympus", "PST", "Paris", "CEST", 5))
    if rng.random() < 0.15:
        flat[rng.choice(("email", "phone", "value", "city"))] = rng.choice(
            ("", None, float("nan"), "  ")
        )
    if rng.random() < 0.15:
        options["on_invalid"] = "drop"
        flat["client_ip_address"] = "999.1.1.1"
    if rng.random() < 0.1:
        flat["action_source"] = "MOBILE_APP"
        if rng.random() < 0.5:
            flat["platform"] = rng.choice(("ios", "Android"))
        else:
            flat["extinfo"] = rng.choice(("i2,com.example,1.0,1.0.1,17.5", ["a2", "com.x", "3"]))
    if rng.random() < 0.07:
        broken = rng.choice(
            (("emial", "x"), ("event_time", None), ("user_data", "x"), ("custom_data.colour", 1),
             ("app_data.os", "17"), ("event_name", None), ("action_source", ""),
             ("user_data.phone_number", "1"))
        )  # fmt: skip
        if broken[1] is None:
            flat.pop(broken[0], None)
        else:
            flat[broken[0]] = broken[1]
    return {"family": "from_dict", "via": "from_dict", "record": flat, "options": options,
            "preparers": ()}  # fmt: skip


Family = Callable[[random.Random, dict[str, Any]], Spec]


class Corpus:
    """The seeded records of every chunk, from the benchmark's generators and the families."""

    def __init__(self, seed: int, chunk_size: int, generators: pathlib.Path) -> None:
        import phonenumbers

        self.seed = seed
        self.chunk_size = chunk_size
        self.bp = _load_generators(generators)
        self.families: tuple[tuple[Family, float], ...] = (
            (_family_plain, 33),
            (_family_lists, 5),
            (_family_hashed, 4),
            (lambda rng, r: _family_phone_forms(rng, r, phonenumbers), 7),
            (_family_email_forms, 7),
            (_family_custom, 6),
            (_family_app, 5),
            (_family_optional, 4),
            (_family_from_dict, 10),
            (_family_times, 6),
            (_family_drop, 3),
            (_family_problems, 3),
            (_family_invalid, 7),
        )

    def chunk(self, index: int) -> list[Spec]:
        """Return the records of chunk ``index``: they depend on the seed and index only."""
        chunk_seed = self.seed * 1_000_003 + index
        messy = (self.chunk_size * 7 + 9) // 10
        base = self.bp.generate_messy_records(messy, chunk_seed, now=NOW)
        base += self.bp.generate_records(self.chunk_size - messy, chunk_seed + 1, now=NOW)
        rng = random.Random(chunk_seed + 2)
        rng.shuffle(base)
        functions = [f for f, _ in self.families]
        weights = [w for _, w in self.families]
        chosen = rng.choices(functions, weights=weights, k=len(base))
        return [family(rng, record) for family, record in zip(chosen, base, strict=True)]


# --------------------------------------------------------------------------- outcomes


class Evaluator:
    """Build each record with the snapcapi on the path and describe everything it outputs."""

    def __init__(self, *, full: bool) -> None:
        import snapcapi
        from snapcapi._transport import _prepare, _wire

        self.full = full
        self.snapcapi = snapcapi
        self.encode = _wire.encode
        self.Preparer = _prepare.Preparer
        self.base = _prepare.Preparer(pixel_id="p", snap_app_id="a")
        self.preparers: dict[str, Any] = {}

    def _make(self, value: Any) -> Any:
        if not isinstance(value, Make):
            return value
        s = self.snapcapi
        kwargs = dict(value.kwargs)
        if value.kind == "UserData":
            return s.UserData(**kwargs)
        if value.kind == "CustomData":
            if isinstance(kwargs.get("contents"), list):
                kwargs["contents"] = [self._make(item) for item in kwargs["contents"]]
            return s.CustomData(**kwargs)
        if value.kind == "Content":
            return s.Content(**kwargs)
        if value.kind == "AppData":
            return s.AppData(**kwargs)
        if value.kind == "AppData.from_extinfo":
            return s.AppData.from_extinfo(kwargs.pop("extinfo"), **kwargs)
        raise AssertionError(value.kind)

    def build(self, spec: Spec) -> Any:
        """Build the record's Event (raising what snapcapi raises)."""
        if spec["via"] == "from_dict":
            return self.snapcapi.Event.from_dict(spec["record"], **spec["options"])
        args = dict(spec["args"])
        for key in ("user_data", "custom_data", "app_data"):
            value = args.get(key)
            if isinstance(value, Make):
                args[key] = self._make(value)
            elif key == "custom_data" and isinstance(value, dict) and "contents" in value:
                contents = value["contents"]
                if isinstance(contents, list):
                    args[key] = {**value, "contents": [self._make(c) for c in contents]}
        return self.snapcapi.Event(**args)

    def _preparer(self, options: Spec) -> Any:
        key = repr(sorted(options.items()))
        found = self.preparers.get(key)
        if found is None:
            found = self.preparers[key] = self.Preparer(
                **{"pixel_id": "p", "snap_app_id": "a", **options}
            )
        return found

    def _prepared(self, preparer: Any, event: Any) -> tuple[Any, ...]:
        try:
            prepared = preparer.prepare(0, event, CLOCK)
        except Exception as exc:
            return ("raised", type(exc).__name__, str(exc))
        if isinstance(prepared, tuple):
            asset, item = prepared
            return ("item", asset, item.index, item.event_id, bytes(item.encoded), item.warnings)
        result = getattr(prepared, "result", prepared)
        described = (
            "result", result.index, result.event_id, result.status.value, result.reason,
            result.codes, result.warnings,
        )  # fmt: skip
        error = getattr(prepared, "error", None)
        if error is not None:
            described += ("missing asset", error.field, str(error), error.code)
        return described

    def outcome(self, spec: Spec) -> Outcome:
        """Return everything the record's event shows, or the error building it raised."""
        try:
            event = self.build(spec)
        except self.snapcapi.ValidationError as exc:
            return (
                ("kind", "invalid"), ("field", exc.field), ("str", str(exc)),
                ("remedy", repr(exc.remedy)), ("code", exc.code),
            )  # fmt: skip
        except Exception as exc:
            return (("kind", "error"), ("type", type(exc).__name__), ("str", str(exc)))
        parts: list[tuple[str, Any]] = [("kind", "valid")]
        try:
            payload = event.to_payload()
            if self.full:
                drops = event.drops
                parts += [
                    ("repr", repr(event)),
                    ("warnings", event.warnings),
                    ("drop_codes", [p.code for p in drops]),
                    ("drops", [(p.code, p.field, p.message, repr(p.remedy)) for p in drops]),
                    ("problems", event.problems(now=CLOCK)),
                    ("notices", event.notices(now=CLOCK)),
                    ("match_keys", event.match_keys),
                    ("payload_json", json.dumps(payload, sort_keys=False, ensure_ascii=False)),
                ]
            parts.append(("encoded", self.encode(payload)))
            parts.append(("prepare", self._prepared(self.base, event)))
            for options in spec["preparers"]:
                parts.append((f"prepare {options}", self._prepared(self._preparer(options), event)))
        except Exception as exc:
            parts.append(("raised", f"{type(exc).__name__}: {exc}"))
        return tuple(parts)


class Tally:
    """Counts per family: records, valid, invalid, other errors, warned, prepared kinds."""

    COLUMNS = ("records", "valid", "invalid", "errors", "warned", "sendable", "refused")

    def __init__(self) -> None:
        self.rows: dict[str, list[int]] = {}

    def add(self, family: str, outcome: Outcome) -> None:
        """Count one record's outcome (a full one: warnings are read from it)."""
        row = self.rows.setdefault(family, [0] * len(self.COLUMNS))
        row[0] += 1
        parts = dict(outcome)
        kind = parts["kind"]
        row[{"valid": 1, "invalid": 2, "error": 3}[kind]] += 1
        if kind == "valid":
            row[4] += bool(parts.get("warnings"))
            prepared = parts.get("prepare", ("raised",))
            row[5 if prepared[0] == "item" else 6] += 1

    def merge(self, other: dict[str, list[int]]) -> None:
        """Add another tally's rows."""
        for family, row in other.items():
            mine = self.rows.setdefault(family, [0] * len(self.COLUMNS))
            for i, n in enumerate(row):
                mine[i] += n

    def totals(self) -> list[int]:
        """Sum the columns over every family."""
        return [sum(row[i] for row in self.rows.values()) for i in range(len(self.COLUMNS))]


# --------------------------------------------------------------------------- the workers
#
# Each job is a pair of processes. The second, where orjson cannot be imported, generates each
# chunk, sends its records to the first, then runs them itself; the first runs them with
# orjson and everything else. Generating on the lighter side balances the two on two cores.


def _send(stream: BinaryIO, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(data).to_bytes(8, "big") + data)
    stream.flush()


def _receive(stream: BinaryIO) -> Any:
    head = stream.read(8)
    if len(head) < 8:
        return None
    size = int.from_bytes(head, "big")
    data = stream.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)


def _digest(items: Iterable[Any]) -> str:
    """SHA-256 over records or outcomes: text and bytes as they are, anything else by repr."""
    parts: list[bytes] = []
    for item in items:
        for label, value in item.items() if isinstance(item, dict) else item:
            parts.append(label.encode())
            if value.__class__ is bytes:
                parts.append(value)
            else:
                text = value if value.__class__ is str else repr(value)
                parts.append(text.encode("utf-8", "surrogatepass"))
        parts.append(b"\x1e")
    return hashlib.sha256(b"\x1f".join(parts)).hexdigest()


def _snapcapi_home() -> str:
    import snapcapi

    return str(pathlib.Path(snapcapi.__file__).resolve().parent.parent)


def _stdlib_worker(args: argparse.Namespace) -> int:
    """The second of a pair: generate each chunk, hand it over, run it with orjson unimportable."""
    sys.modules["orjson"] = None  # type: ignore[assignment] # import orjson now fails
    stdout = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but messages on the pipe
    corpus = Corpus(args.seed, args.chunk_size, args.generators)
    evaluator = Evaluator(full=False)
    for index in _chunk_list(args.stdlib_worker):
        specs = corpus.chunk(index)[: args.sizes[index]]
        _send(stdout, specs)
        outcomes = [evaluator.outcome(spec) for spec in specs]
        if sys.modules.get("orjson") is not None:
            sys.exit("orjson was imported in the pass without it")
        _send(stdout, outcomes if args.detail else _digest(outcomes))
    return 0


def _chunk_list(text: str) -> list[int]:
    return [int(c) for c in text.split(",") if c]


def _worker(args: argparse.Namespace) -> int:
    """The first of a pair: run each chunk the second hands over with orjson, and report."""
    stdout = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but messages on the pipe
    try:
        import orjson

        encoder = f"orjson {orjson.__version__}"
    except ImportError:
        encoder = "json (orjson is not installed)"
    evaluator = Evaluator(full=True)
    command = _worker_command(args, "--stdlib-worker", _chunk_list(args.worker), args.detail)
    twin = subprocess.Popen(command, stdout=subprocess.PIPE)
    assert twin.stdout is not None
    import snapcapi

    _send(stdout, ("hello", _snapcapi_home(), snapcapi.__version__, encoder))
    chunks = _chunk_list(args.worker)
    for position, index in enumerate(chunks):
        specs = _receive(twin.stdout)
        if specs is None:
            sys.exit("the pass without orjson stopped")
        outcomes = [evaluator.outcome(spec) for spec in specs]
        stdlib = _receive(twin.stdout)
        if args.detail:
            _send(stdout, ("detail", index, specs, outcomes, stdlib))
            continue
        tally = Tally()
        for spec, outcome in zip(specs, outcomes, strict=True):
            tally.add(spec["family"], outcome)
        _send(stdout, ("chunk", index, _digest(specs), _digest(outcomes), stdlib, tally.rows))
        if args.progress and (position + 1) % 10 == 0:
            print(f"  worker {chunks[0]}: {position + 1}/{len(chunks)} chunks", file=sys.stderr)
    return twin.wait()


# --------------------------------------------------------------------------- the driver


class Run(NamedTuple):
    """What one pass over the corpus found."""

    home: str
    version: str
    encoder: str
    chunks: dict[int, tuple[str, str, str]]  # index -> (corpus, orjson pass, stdlib pass)
    tally: Tally
    seconds: float


def _sizes(records: int, chunk_size: int) -> list[int]:
    full, rest = divmod(records, chunk_size)
    return [chunk_size] * full + ([rest] if rest else [])


def _worker_command(
    args: argparse.Namespace, role: str, chunks: Iterable[int], detail: bool
) -> list[str]:
    command = [
        sys.executable, str(pathlib.Path(__file__).resolve()),
        role, ",".join(str(c) for c in chunks) + ",",
        "--records", str(args.records), "--seed", str(args.seed),
        "--chunk-size", str(args.chunk_size), "--generators", str(args.generators),
    ]  # fmt: skip
    if detail:
        command.append("--detail")
    if args.progress:
        command.append("--progress")
    return command


def _messages(command: list[str], env: dict[str, str] | None = None) -> Iterator[Any]:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env)
    assert process.stdout is not None
    while (message := _receive(process.stdout)) is not None:
        yield message
    if process.wait() != 0:
        sys.exit(f"a worker failed (exit status {process.returncode}): {' '.join(command)}")


def run_corpus(args: argparse.Namespace) -> Run:
    """Run every chunk in ``args.jobs`` worker pairs and collect their digests and counts."""
    start = time.perf_counter()
    count = len(_sizes(args.records, args.chunk_size))
    jobs = max(1, min(args.jobs, count))
    groups = [range(j, count, jobs) for j in range(jobs)]
    hellos: list[tuple[str, str, str]] = []
    chunks: dict[int, tuple[str, str, str]] = {}
    tally = Tally()

    def consume(group: range) -> None:
        for message in _messages(_worker_command(args, "--worker", group, detail=False)):
            if message[0] == "hello":
                hellos.append(message[1:])
            else:
                _, index, corpus_digest, digest, stdlib_digest, rows = message
                chunks[index] = (corpus_digest, digest, stdlib_digest)
                tally.merge(rows)

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for future in [pool.submit(consume, group) for group in groups]:
            future.result()
    if len(set(hellos)) != 1 or len(chunks) != count:
        sys.exit(f"the workers disagree or stopped early: {hellos}, {len(chunks)}/{count} chunks")
    home, version, encoder = hellos[0]
    return Run(home, version, encoder, chunks, tally, time.perf_counter() - start)


def _write(path: pathlib.Path, args: argparse.Namespace, run: Run) -> None:
    stamp = dt.datetime.now(UTC).isoformat(timespec="seconds")
    lines = [
        f"# snapcapi byte-identity reference (benchmarks/check_identity.py, format {FORMAT})",
        f"# written {stamp} with snapcapi {run.version}; first pass {run.encoder}, second "
        "pass with orjson unimportable",
        f"params records={args.records} seed={args.seed} chunk={args.chunk_size} now={NOW}",
        f"tree {run.home}",
        f"generators {args.generators}",
        f"encoder {run.encoder.split()[0]}",
    ]
    for index in sorted(run.chunks):
        corpus_digest, digest, stdlib_digest = run.chunks[index]
        lines.append(f"chunk {index} corpus={corpus_digest} orjson={digest} json={stdlib_digest}")
    lines.append(
        "totals "
        + " ".join(f"{c}={n}" for c, n in zip(Tally.COLUMNS, run.tally.totals(), strict=True))
    )
    for family in sorted(run.tally.rows):
        row = run.tally.rows[family]
        lines.append(
            f"family {family} "
            + " ".join(f"{c}={n}" for c, n in zip(Tally.COLUMNS, row, strict=True))
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


class Reference(NamedTuple):
    """A reference file, read back."""

    params: dict[str, int]
    tree: str
    generators: str
    encoder: str
    chunks: dict[int, tuple[str, str, str]]


def _read(path: pathlib.Path) -> Reference:
    params: dict[str, int] = {}
    tree = generators = encoder = ""
    chunks: dict[int, tuple[str, str, str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        word, _, rest = line.partition(" ")
        if word == "params":
            params = {k: int(v) for k, v in (item.split("=") for item in rest.split())}
        elif word == "tree":
            tree = rest
        elif word == "generators":
            generators = rest
        elif word == "encoder":
            encoder = rest
        elif word == "chunk":
            index, *digests = rest.split()
            values = dict(d.split("=") for d in digests)
            chunks[int(index)] = (values["corpus"], values["orjson"], values["json"])
    if not params or not chunks:
        sys.exit(f"{path} is not a reference written by this tool")
    return Reference(params, tree, generators, encoder, chunks)


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return value if isinstance(value, str) else repr(value)


def _around(before: str, after: str, width: int = 120) -> tuple[str, str, str]:
    """Cut two long texts to where they first differ, saying at which character."""
    if len(before) <= 2 * width and len(after) <= 2 * width:
        return before, after, ""
    at = next(
        (i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b),
        min(len(before), len(after)),
    )
    start = max(0, at - width // 2)

    def cut(text: str) -> str:
        end = start + width
        return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")

    return cut(before), cut(after), f" (from character {at} of {len(before)} / {len(after)})"


def _explain(args: argparse.Namespace, index: int, base: str, home: str) -> None:
    """Run one chunk record by record on both trees and print the first differing record."""
    if pathlib.Path(base).resolve() == pathlib.Path(home).resolve():
        print(f"chunk {index} differs, but the reference's tree {base} is the tree under test: "
              "pass --base with the old tree to see the record")  # fmt: skip
        return
    command = _worker_command(args, "--worker", [index], detail=True)
    env = {**os.environ, "PYTHONPATH": base}
    ((_, _, specs, new, new_stdlib),) = [m for m in _messages(command) if m[0] == "detail"]
    ((_, _, old_specs, old, old_stdlib),) = [m for m in _messages(command, env) if m[0] == "detail"]
    for i, spec in enumerate(specs):
        passes = (("orjson", old[i], new[i]), ("json", old_stdlib[i], new_stdlib[i]))
        changed = [(name, a, b) for name, a, b in passes if a != b]
        if not changed:
            continue
        number = index * args.chunk_size + i
        print(f"first differing record: {number} (chunk {index}, #{i} in it), "
              f"family {spec['family']}")  # fmt: skip
        print(f"  input: {spec!r}")
        if old_specs[i] != spec:
            print(f"  input on the reference's tree: {old_specs[i]!r}")
        for name, a, b in changed:
            before, after = dict(a), dict(b)
            for label in dict.fromkeys([*before, *after]):
                if before.get(label) != after.get(label):
                    old_text, new_text, where = _around(
                        _show(before.get(label, "(absent)")), _show(after.get(label, "(absent)"))
                    )
                    print(f"  [{name} pass] {label}{where}:")
                    print(f"    reference: {old_text}")
                    print(f"    now:       {new_text}")
        return
    print(
        f"chunk {index} differs, yet each record's outcome, rerun alone in fresh processes, is "
        "the same on both trees: an outcome depends on what ran before it (a cache?)"
    )


def _summary(run: Run) -> str:
    total = dict(zip(Tally.COLUMNS, run.tally.totals(), strict=True))
    return (
        f"{total['records']:,} records ({total['valid']:,} valid, {total['invalid']:,} invalid"
        + (f", {total['errors']:,} other errors" if total["errors"] else "")
        + f") in {run.seconds:.0f} s"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments; write a reference, compare with one, or run as a worker."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", type=pathlib.Path, metavar="REF", help="write a reference")
    action.add_argument("--compare", type=pathlib.Path, metavar="REF", help="compare with one")
    parser.add_argument("--records", type=int, help="records (default 1,000,000, or the REF's)")
    parser.add_argument("--seed", type=int, help=f"corpus seed (default {DEFAULT_SEED})")
    parser.add_argument("--chunk-size", type=int, help=f"records per chunk ({DEFAULT_CHUNK:,})")
    parser.add_argument("--jobs", type=int, default=1, help="worker pairs (2 processes each)")
    parser.add_argument("--base", help="the reference's tree, to show a differing record")
    parser.add_argument(
        "--generators", type=pathlib.Path, default=HERE / "bench_pipeline.py",
        help="the file with generate_messy_records and generate_records",
    )  # fmt: skip
    parser.add_argument("--progress", action="store_true", help="report every 10 chunks")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--detail", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--stdlib-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    reference = _read(args.compare) if args.compare is not None else None
    for name, default in (
        ("records", 1_000_000),
        ("seed", DEFAULT_SEED),
        ("chunk_size", DEFAULT_CHUNK),
    ):
        key = "chunk" if name == "chunk_size" else name
        given = getattr(args, name)
        if reference is not None:
            if given is not None and given != reference.params[key]:
                flag = "--" + name.replace("_", "-")
                parser.error(f"{flag} {given} differs from the reference's {reference.params[key]}")
            setattr(args, name, reference.params[key])
        elif given is None:
            setattr(args, name, default)
    if args.records < 1 or args.chunk_size < 1 or args.jobs < 1:
        parser.error("--records, --chunk-size and --jobs must be positive")
    args.sizes = _sizes(args.records, args.chunk_size)
    if args.stdlib_worker is not None:
        return _stdlib_worker(args)
    if args.worker is not None:
        return _worker(args)
    if args.write is None and reference is None:
        parser.error("give --write REF or --compare REF")

    run = run_corpus(args)
    print(
        f"snapcapi {run.version} from {run.home}/snapcapi; first pass {run.encoder}, second "
        "pass with orjson unimportable"
    )
    if args.write is not None:
        _write(args.write, args, run)
        print(f"wrote {args.write}: {_summary(run)}")
        return 0
    assert reference is not None
    if reference.encoder != run.encoder.split()[0]:
        print(f"the reference's first pass used {reference.encoder}, this one {run.encoder}")
        return 2
    changed = [i for i in sorted(run.chunks) if run.chunks[i] != reference.chunks.get(i)]
    if not changed:
        print(f"identical: {_summary(run)}")
        return 0
    moved = [i for i in changed if run.chunks[i][0] != reference.chunks[i][0]]
    if moved:
        print(
            f"the corpus differs from the reference's in {len(moved)} chunks, from chunk "
            f"{moved[0]} on: the generators in {args.generators} (the reference used "
            f"{reference.generators}) or this file changed. Pass --generators with the old "
            "tree's benchmarks/bench_pipeline.py, or write a new reference from the old tree."
        )
        return 2
    more = " ..." if len(changed) > 20 else ""
    print(f"{len(changed)} of {len(run.chunks)} chunks differ: {changed[:20]}{more}")
    _explain(args, changed[0], args.base or reference.tree, run.home)
    return 1


if __name__ == "__main__":
    sys.exit(main())

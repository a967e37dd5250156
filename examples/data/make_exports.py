#!/usr/bin/env python3
"""Write one small, realistic export per platform, for trying ``snapcapi send --preset``.

    python examples/data/make_exports.py [--out DIR] [--today YYYY-MM-DD]

Every file is made from a fixed seed, so the same ``--today`` always gives the same bytes.
Every event time falls within the six days before ``--today`` (midnight UTC; default: the
current UTC date), because Snap refuses events older than 7 to 37 days: tests regenerate
the files for the day they run, and the committed files are a snapshot.

The people are fictional: emails at example.com, example.org and example.fr, US and
Canadian numbers in the 555-01xx range, other numbers checked with ``phonenumbers`` for
their country (many written in national form, the row's country telling which).

Alongside the exports it writes ``expected.json``: per file, the rows, the events a preset
should send (with their time, value, currency and line items), the ones it must not send
and why, and a few phone numbers with the digits they should normalize to.

Only the standard library and ``phonenumbers`` are used.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import random
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers

SEED = "snapcapi-example-exports-v1"
UTC = dt.timezone.utc
NEW_YORK = ZoneInfo("America/New_York")  # the Shopify shop's and the HubSpot portal's zone
PARIS = ZoneInfo("Europe/Paris")  # the WooCommerce shop's and the GA4 property's zone
CENT = Decimal("0.01")


# ------------------------------------------------------------------------------ basics


def money(value: Decimal | float | int) -> Decimal:
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


def fmt(value: Decimal) -> str:
    return f"{money(value):.2f}"


def thousands(value: Decimal) -> str:
    """``1,200.00`` for large amounts, as some WooCommerce export plugins write them."""
    return f"{money(value):,.2f}"


def plain_number(value: Decimal) -> str:
    """A warehouse float as a CSV export writes it: ``54.5``, ``120``, ``39.99``."""
    text = f"{money(value):f}".rstrip("0").rstrip(".")
    return text or "0"


def excel_quoted(postcode: str) -> str:
    """Shopify's ``'02134``: a quote before a code of digits, so Excel keeps it as text."""
    return f"'{postcode}" if postcode[:1].isdigit() else postcode


def ascii_fold(text: str) -> str:
    for letter, spelled in (("ß", "ss"), ("ø", "o"), ("æ", "ae"), ("œ", "oe")):
        text = text.replace(letter, spelled)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def rand_id(rng: random.Random, length: int, alphabet: str | None = None) -> str:
    chars = alphabet or "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(rng.choice(chars) for _ in range(length))


def rand_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def weighted(rng: random.Random, options: Sequence[tuple[Any, int]]) -> Any:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


class Window:
    """The six days before ``today`` (midnight UTC), less two hours at each end."""

    def __init__(self, today: dt.date) -> None:
        midnight = dt.datetime(today.year, today.month, today.day, tzinfo=UTC)
        self.start = midnight - dt.timedelta(days=6) + dt.timedelta(hours=2)
        self.end = midnight - dt.timedelta(hours=2)

    def instants(self, rng: random.Random, count: int, margin_s: int = 0) -> list[dt.datetime]:
        """``count`` distinct instants (whole seconds), ascending, ``margin_s`` before the end."""
        span = int((self.end - self.start).total_seconds()) - margin_s
        seconds = sorted(rng.sample(range(span), count))
        return [self.start + dt.timedelta(seconds=s) for s in seconds]


def epoch(instant: dt.datetime) -> int:
    return int(instant.timestamp())


def iso_z(instant: dt.datetime, millis: int = 0) -> str:
    """``2026-11-20T14:22:10.123Z``, as Segment and RudderStack warehouses hold times."""
    stamp = instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{millis:03d}Z"


# ------------------------------------------------------------------------------ people

# fmt: off
FIRST = {
    "US": ["Avery", "Jordan", "Taylor", "Morgan", "Riley", "Casey", "Jamie", "Quinn", "Harper",
        "Logan", "Emerson", "Rowan", "Dakota", "Skyler", "Parker", "Reese", "Cameron", "Hayden",
        "Sasha", "Devon"],
    "CA": ["Étienne", "Mathilde", "Liam", "Chloe", "Gabriel", "Océane", "Noah", "Ava"],
    "FR": ["Chloé", "Raphaël", "Léa", "Hélène", "François", "Noémie", "Maël", "Amélie", "Théo",
        "Zoé", "Jérôme", "Inès", "Gaëlle", "Benoît"],
    "GB": ["Oliver", "Amelia", "Harry", "Isla", "George", "Poppy", "Alfie", "Freya", "Imogen",
        "Callum"],
    "DE": ["Jürgen", "Jörg", "Anna", "Lena", "Lukas", "Sophie", "Maximilian", "Katrin", "Björn",
        "Ute"],
    "BE": ["Zoë", "Lotte", "Arne", "Wout", "Elise"],
    "ES": ["José", "Lucía", "Martín", "Nuria"],
    "CH": ["Luca", "Nina", "Reto", "Mélanie"],
}
LAST = {
    "US": ["Collins", "Bennett", "Hughes", "Foster", "Reyes", "Brooks", "Sanders", "Price",
        "Myers", "Ford", "Hayes", "Wallace", "Porter", "Sullivan", "O'Brien", "McAllister",
        "Nguyen", "Patel", "Okafor", "Lindqvist"],
    "CA": ["Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier", "MacDonald", "Campbell"],
    "FR": ["Martin", "Dubois", "Lefèvre", "Girard", "Rousseau", "Moreau", "Fournier", "Lemaître",
        "Garçon", "Bonnaire", "Petit", "Faure", "Mercier", "Chevalier"],
    "GB": ["Whitaker", "Pennington", "Ashworth", "Cartwright", "Holloway", "Kendrick", "Fairbairn",
        "Thornton", "Ellison", "Marsh"],
    "DE": ["Müller", "Schäfer", "Becker", "Weiß", "Köhler", "Hoffmann", "Schröder", "Wagner",
        "Krüger", "Groß"],
    "BE": ["Peeters", "Janssens", "Maes", "Claes", "Wouters"],
    "ES": ["Martínez", "Fernández", "Núñez", "Ibáñez"],
    "CH": ["Meier", "Keller", "Brunner", "Favre"],
}
# city, state code, state name, postal code, US/CA area code
PLACES = {
    "US": [
        ("Boston", "MA", "Massachusetts", "02134", 617),
        ("Cambridge", "MA", "Massachusetts", "02139", 617),
        ("Providence", "RI", "Rhode Island", "02903", 401),
        ("New York", "NY", "New York", "10001", 212), ("Brooklyn", "NY", "New York", "11201", 718),
        ("Austin", "TX", "Texas", "78701", 512), ("Seattle", "WA", "Washington", "98101", 206),
        ("Chicago", "IL", "Illinois", "60601", 312), ("Portland", "OR", "Oregon", "97205", 503),
        ("Denver", "CO", "Colorado", "80202", 303), ("Newark", "NJ", "New Jersey", "07102", 973),
        ("Hartford", "CT", "Connecticut", "06103", 860),
    ],
    "CA": [
        ("Toronto", "ON", "Ontario", "M5V 2T6", 416), ("Montréal", "QC", "Quebec", "H2X 1Y4", 514),
        ("Vancouver", "BC", "British Columbia", "V6B 1A1", 604),
        ("Ottawa", "ON", "Ontario", "K1P 5J2", 613),
    ],
    "FR": [
        ("Paris", "", "Île-de-France", "75008", 0), ("Paris", "", "Île-de-France", "75011", 0),
        ("Lyon", "", "Auvergne-Rhône-Alpes", "69002", 0),
        ("Marseille", "", "Provence-Alpes-Côte d'Azur", "13001", 0),
        ("Bordeaux", "", "Nouvelle-Aquitaine", "33000", 0),
        ("Lille", "", "Hauts-de-France", "59000", 0),
        ("Nantes", "", "Pays de la Loire", "44000", 0),
        ("Annecy", "", "Auvergne-Rhône-Alpes", "74000", 0),
    ],
    "GB": [
        ("London", "", "England", "SW1A 1AA", 0), ("London", "", "England", "EC1A 1BB", 0),
        ("Manchester", "", "England", "M1 1AE", 0), ("Edinburgh", "", "Scotland", "EH1 1YZ", 0),
        ("Bristol", "", "England", "BS1 4DJ", 0),
    ],
    "DE": [
        ("Berlin", "", "Berlin", "10115", 0), ("München", "", "Bayern", "80331", 0),
        ("Hamburg", "", "Hamburg", "20095", 0), ("Köln", "", "Nordrhein-Westfalen", "50667", 0),
        ("Dresden", "", "Sachsen", "01067", 0),
    ],
    "BE": [
        ("Bruxelles", "", "Bruxelles", "1000", 0), ("Antwerpen", "", "Vlaanderen", "2000", 0),
        ("Gent", "", "Vlaanderen", "9000", 0),
    ],
    "ES": [
        ("Madrid", "", "Madrid", "28013", 0), ("Barcelona", "", "Cataluña", "08002", 0),
    ],
    "CH": [
        ("Genève", "", "Genève", "1204", 0), ("Zürich", "", "Zürich", "8001", 0),
    ],
}
COUNTRY_NAMES = {
    "US": "United States",
    "CA": "Canada",
    "FR": "France",
    "GB": "United Kingdom",
    "DE": "Germany",
    "BE": "Belgium",
    "ES": "Spain",
    "CH": "Switzerland",
}
STREETS = {
    "US": ["Maple Street", "Harbor Avenue", "Elm Court", "Beacon Street", "Cedar Lane",
        "Union Square W", "Lakeview Drive"],
    "CA": ["rue Saint-Denis", "Queen Street W", "Robson Street", "Bank Street"],
    "FR": ["rue de la Paix", "avenue Jean Jaurès", "rue Sainte-Catherine", "boulevard Voltaire",
        "rue du Faubourg Saint-Honoré", "quai des Chartrons"],
    "GB": ["Baker Street", "Deansgate", "Royal Mile", "Park Row"],
    "DE": ["Friedrichstraße", "Sendlinger Straße", "Mönckebergstraße", "Schildergasse"],
    "BE": ["Rue Neuve", "Meir", "Veldstraat"],
    "ES": ["Calle Mayor", "Carrer de Pelai"],
    "CH": ["Rue du Rhône", "Bahnhofstrasse"],
}
MOBILE_PREFIXES = {
    "FR": ["6", "7"],
    "GB": ["74", "75", "77", "78", "79"],
    "DE": ["151", "152", "160", "170", "171", "176", "157"],
    "BE": ["470", "475", "478", "486"],
    "ES": ["6"],
    "CH": ["76", "78", "79"],
}
# fmt: on
CALLING = {"FR": "33", "GB": "44", "DE": "49", "BE": "32", "ES": "34", "CH": "41"}
NATIONAL_DIGITS = {"FR": 9, "GB": 10, "DE": 11, "BE": 9, "ES": 9, "CH": 9}


def make_e164(rng: random.Random, country: str, area: int = 0) -> str:
    """A number ``phonenumbers.is_valid_number`` accepts for ``country``, as E.164."""
    for _ in range(10_000):
        if country in ("US", "CA"):
            text = f"+1{area}55501{rng.randrange(100):02d}"
        else:
            prefix = rng.choice(MOBILE_PREFIXES[country])
            rest = NATIONAL_DIGITS[country] - len(prefix)
            text = f"+{CALLING[country]}{prefix}" + "".join(
                rng.choice("0123456789") for _ in range(rest)
            )
        number = phonenumbers.parse(text)
        if phonenumbers.is_valid_number(number) and (
            phonenumbers.region_code_for_number(number) == country
        ):
            return text
    raise RuntimeError(f"no valid {country} number found")


def phone_text(e164: str, country: str, style: str) -> str:
    """Write a number the way people type it: national forms need the row's country."""
    number = phonenumbers.parse(e164)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    if style == "national":
        text = national
    elif style == "compact":
        text = "".join(c for c in national if c.isdigit())
    elif style == "dotted":  # 06.12.34.56.78, or 617.555.0142
        digits = "".join(c for c in national if c.isdigit())
        if country in ("US", "CA"):
            text = f"{digits[:3]}.{digits[3:6]}.{digits[6:]}"
        else:
            text = national.replace(" ", ".")
    elif style == "dashed":  # 617-555-0142
        digits = "".join(c for c in national if c.isdigit())
        text = f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    elif style == "international":
        text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    elif style == "e164":
        text = e164
    elif style == "us_dashed_intl":  # +1 617-555-0142
        digits = e164[2:]
        text = f"+1 {digits[:3]}-{digits[3:6]}-{digits[6:]}"
    else:
        raise ValueError(style)
    check_phone(text, country, e164)
    return text


def check_phone(text: str, country: str | None, e164: str) -> None:
    """Every number written is checked: valid, and read back as the intended one."""
    number = phonenumbers.parse(text, country)
    if not phonenumbers.is_valid_number(number):
        raise AssertionError(f"{text!r} is not a valid number in {country}")
    written = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if written != e164:
        raise AssertionError(f"{text!r} in {country} reads as {written}, not {e164}")


class Person:
    def __init__(self, rng: random.Random, country: str, index: int) -> None:
        self.country = country
        self.first = rng.choice(FIRST[country])
        self.last = rng.choice(LAST[country])
        city, state, state_name, postcode, area = rng.choice(PLACES[country])
        self.city, self.state, self.state_name, self.zip = city, state, state_name, postcode
        self.street = f"{rng.randrange(1, 220)} {rng.choice(STREETS[country])}"
        if country == "FR" or country == "BE" or country == "CH":
            self.street = f"{rng.randrange(1, 90)} {rng.choice(STREETS[country])}"
        self.e164 = make_e164(rng, country, area)
        domain = (
            "example.fr"
            if country in ("FR", "BE", "CH")
            else rng.choice(["example.com", "example.com", "example.org"])
        )
        local = f"{ascii_fold(self.first)}.{ascii_fold(self.last)}".lower()
        local = local.replace("'", "").replace(" ", "")
        if index % 7 == 3:
            local += str(rng.randrange(10, 99))
        self.email = f"{local}@{domain}"

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    def messy_email(self, rng: random.Random, chance: float = 0.25) -> str:
        """The email as typed: sometimes in mixed case, sometimes with spaces around it."""
        if rng.random() >= chance:
            return self.email
        local, domain = self.email.split("@")
        styled = ".".join(p[:1].upper() + p[1:] for p in local.split("."))
        domain = domain[:1].upper() + domain[1:]
        if rng.random() < 0.5:
            return f" {styled}@{domain} "
        return f"{styled}@{domain.upper() if rng.random() < 0.5 else domain}"


def people(rng: random.Random, mix: Sequence[tuple[str, int]]) -> list[Person]:
    found: list[Person] = []
    emails: set[str] = set()
    index = 0
    for country, count in mix:
        made = 0
        while made < count:
            person = Person(rng, country, index)
            index += 1
            if person.email in emails:
                continue
            emails.add(person.email)
            found.append(person)
            made += 1
    rng.shuffle(found)
    return found


def documentation_ip(rng: random.Random) -> str:
    """Addresses reserved for documentation (RFC 5737, RFC 3849): never a real visitor."""
    if rng.random() < 0.15:
        return f"2001:db8:{rng.randrange(1, 0xFFFF):x}::{rng.randrange(1, 0xFFFF):x}"
    net = rng.choice(["192.0.2", "198.51.100", "203.0.113"])
    return f"{net}.{rng.randrange(1, 255)}"


USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
]


# ------------------------------------------------------------------------------ output


class Expected:
    """What one file should give: events to send, rows to refuse, phone digits."""

    def __init__(self, preset: str, key: Sequence[str], note: str) -> None:
        self.preset = preset
        self.key = list(key)
        self.note = note
        self.rows = 0
        self.send: dict[str, dict[str, Any]] = {}
        self.not_sent: dict[str, dict[str, str]] = {}
        self.phones: list[dict[str, str]] = []
        self.emails: list[dict[str, str]] = []

    def sent(self, key: str, **facts: Any) -> None:
        if key in self.send or key in self.not_sent:
            raise AssertionError(f"{self.preset}: {key} listed twice")
        self.send[key] = facts

    def refused(self, key: str, why: str, reason: str) -> None:
        if key in self.send or key in self.not_sent:
            raise AssertionError(f"{self.preset}: {key} listed twice")
        self.not_sent[key] = {"why": why, "reason": reason}

    def phone(self, key: str, column: str, raw: str, country: str | None, e164: str) -> None:
        check_phone(raw, country, e164)
        self.phones.append(
            {"id": key, "column": column, "raw": raw, "country": country or "", "digits": e164[1:]}
        )

    def email(self, key: str, column: str, raw: str) -> None:
        if raw != raw.strip().lower():
            self.emails.append(
                {"id": key, "column": column, "raw": raw, "normalized": raw.strip().lower()}
            )

    def to_json(self) -> dict[str, Any]:
        return {
            "preset": self.preset,
            "rows": self.rows,
            "key_columns": self.key,
            "note": self.note,
            "send": sorted(self.send),
            "events": {k: self.send[k] for k in sorted(self.send)},
            "must_not_send": {k: self.not_sent[k] for k in sorted(self.not_sent)},
            "phones": self.phones,
            "emails": self.emails[:6],
        }


def compact_json(value: Any, indent: int = 0) -> str:
    """JSON with one line per leaf object (an event's facts, a phone) and wrapped id lists."""
    pad, inner = " " * indent, " " * (indent + 2)
    if (
        isinstance(value, dict)
        and value
        and any(isinstance(v, (dict, list)) for v in value.values())
    ):
        parts = [
            f"{inner}{json.dumps(k, ensure_ascii=False)}: {compact_json(v, indent + 2)}"
            for k, v in value.items()
        ]
        return "{\n" + ",\n".join(parts) + f"\n{pad}}}"
    if isinstance(value, list) and value and any(isinstance(v, dict) for v in value):
        parts = [f"{inner}{compact_json(v, indent + 2)}" for v in value]
        return "[\n" + ",\n".join(parts) + f"\n{pad}]"
    if isinstance(value, list) and len(json.dumps(value, ensure_ascii=False)) > 90:
        lines, line = [], ""
        for item in value:
            text = json.dumps(item, ensure_ascii=False)
            if line and len(line) + len(text) + 2 > 90:
                lines.append(line)
                line = ""
            line = f"{line}, {text}" if line else text
        lines.append(line)
        return "[\n" + ",\n".join(inner + ln for ln in lines) + f"\n{pad}]"
    return json.dumps(value, ensure_ascii=False)


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Iterable[dict[str, Any]],
    *,
    encoding: str = "utf-8",
    newline: str = "\n",
) -> int:
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=list(header), lineterminator=newline, extrasaction="raise"
    )
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        count += 1
    path.write_bytes(buffer.getvalue().encode(encoding))
    return count


# ------------------------------------------------------------------------------ Shopify

SHOPIFY_HEADER = [
    "Name",
    "Email",
    "Financial Status",
    "Paid at",
    "Fulfillment Status",
    "Fulfilled at",
    "Accepts Marketing",
    "Currency",
    "Subtotal",
    "Shipping",
    "Taxes",
    "Total",
    "Discount Code",
    "Discount Amount",
    "Shipping Method",
    "Created at",
    "Lineitem quantity",
    "Lineitem name",
    "Lineitem price",
    "Lineitem compare at price",
    "Lineitem sku",
    "Lineitem requires shipping",
    "Lineitem taxable",
    "Lineitem fulfillment status",
    "Billing Name",
    "Billing Street",
    "Billing Address1",
    "Billing Address2",
    "Billing Company",
    "Billing City",
    "Billing Zip",
    "Billing Province",
    "Billing Country",
    "Billing Phone",
    "Shipping Name",
    "Shipping Street",
    "Shipping Address1",
    "Shipping Address2",
    "Shipping Company",
    "Shipping City",
    "Shipping Zip",
    "Shipping Province",
    "Shipping Country",
    "Shipping Phone",
    "Notes",
    "Note Attributes",
    "Cancelled at",
    "Payment Method",
    "Payment Reference",
    "Refunded Amount",
    "Vendor",
    "Outstanding Balance",
    "Employee",
    "Location",
    "Device ID",
    "Id",
    "Tags",
    "Risk Level",
    "Source",
    "Lineitem discount",
    "Tax 1 Name",
    "Tax 1 Value",
    "Tax 2 Name",
    "Tax 2 Value",
    "Tax 3 Name",
    "Tax 3 Value",
    "Tax 4 Name",
    "Tax 4 Value",
    "Tax 5 Name",
    "Tax 5 Value",
    "Phone",
    "Receipt Number",
    "Duties",
    "Billing Province Name",
    "Shipping Province Name",
    "Payment ID",
    "Payment Terms Name",
    "Next Payment Due At",
    "Payment References",
]
SHOPIFY_PRODUCTS = [
    ("NW-TEE-BLK-M", "Organic Cotton Tee - Black / M", "28.00", "34.00", "Northwind"),
    ("NW-TEE-SND-L", "Organic Cotton Tee - Sand / L", "28.00", "", "Northwind"),
    ("NW-HOOD-NVY-M", "Harbor Hoodie - Navy / M", "64.00", "78.00", "Northwind"),
    ("NW-BEAN-RUST", "Merino Beanie - Rust", "24.00", "", "Northwind"),
    ("NW-SOCK-3PK", "Trail Socks 3-Pack", "18.00", "", "Ridgeline Socks"),
    ("NW-MUG-ENML", "Enamel Camp Mug", "16.00", "", "Northwind"),
    ("NW-BTL-750", "Insulated Bottle 750 ml", "32.00", "", "Keel & Co"),
    ("NW-PACK-22L", "Daypack 22 L - Olive", "89.00", "110.00", "Keel & Co"),
    ("NW-CAP-WAX", "Waxed Canvas Cap", "30.00", "", "Northwind"),
    ("NW-JKT-RAIN-S", "Packable Rain Jacket - S", "129.00", "", "Northwind"),
    ("NW-GIFT-50", "Gift Card $50", "50.00", "", "Northwind"),
]
SHOPIFY_TAX = {
    "MA": ("MA State Tax", "0.0625"),
    "RI": ("RI State Tax", "0.07"),
    "NY": ("NY State Tax", "0.04"),
    "TX": ("TX State Tax", "0.0625"),
    "WA": ("WA State Tax", "0.065"),
    "IL": ("IL State Tax", "0.0625"),
    "CO": ("CO State Tax", "0.029"),
    "NJ": ("NJ State Tax", "0.06625"),
    "CT": ("CT State Tax", "0.0635"),
    "OR": ("", "0"),
    "ON": ("HST", "0.13"),
    "QC": ("GST", "0.05"),
    "BC": ("GST", "0.05"),
    "FR": ("FR TVA", "0.20"),
    "GB": ("GB VAT", "0.20"),
    "DE": ("DE MwSt", "0.19"),
}
SHOPIFY_CURRENCY = {"US": "USD", "CA": "CAD", "FR": "EUR", "DE": "EUR", "GB": "GBP"}


def shopify(out: Path, window: Window) -> Expected:
    rng = random.Random(f"{SEED}:shopify")
    expected = Expected(
        "shopify",
        ["Name"],
        "Sent: Financial Status paid or partially_paid and no Cancelled at, one PURCHASE per "
        "order however many line-item rows, value = Total. The POS walk-in sale has no "
        "identifier at all, so snapcapi refuses it (no matching key).",
    )
    customers = people(rng, [("US", 26), ("CA", 4), ("FR", 4), ("GB", 3), ("DE", 3)])
    # 45 orders: the financial statuses Shopify writes, a few cancelled
    plan = (
        ["paid"] * 28
        + ["partially_paid"] * 3
        + ["pending"] * 3
        + ["refunded"] * 4
        + ["voided"] * 3
        + ["partially_refunded"] * 3
        + ["paid_cancelled"]
        + ["refunded_cancelled"]
    )
    rng.shuffle(plan)
    instants = window.instants(rng, len(plan), margin_s=3600)
    rows: list[dict[str, Any]] = []
    orders: list[list[dict[str, Any]]] = []
    walk_in_done = False
    order_id = 5_812_640_000_000 + rng.randrange(10_000)
    for number, (status, created) in enumerate(zip(plan, instants, strict=True), start=1001):
        order_id += rng.randrange(3_000, 90_000)
        name = f"#{number}"
        person = (
            customers[(number - 1001) % len(customers)]
            if number < 1041
            else customers[rng.randrange(len(customers))]
        )
        international = person.country != "US"
        source = "web"
        if not international:
            source = weighted(rng, [("web", 72), ("pos", 14), ("shopify_draft_order", 14)])
        if status == "partially_paid":
            source = "shopify_draft_order"  # deposits are taken on draft orders
        walk_in = source == "pos" and status == "paid" and not walk_in_done
        walk_in_done = walk_in_done or walk_in
        financial = status.replace("_cancelled", "")
        cancelled = status.endswith("_cancelled") or financial == "voided"

        def stamp(instant: dt.datetime) -> str:
            return instant.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M:%S %z")

        # line items
        count = weighted(rng, [(1, 64), (2, 22), (3, 10), (4, 4)])
        picks = rng.sample(SHOPIFY_PRODUCTS, count)
        items = [
            (sku, title, Decimal(price), compare, vendor, weighted(rng, [(1, 80), (2, 15), (3, 5)]))
            for sku, title, price, compare, vendor in picks
        ]
        currency = SHOPIFY_CURRENCY[person.country]
        rate = {"USD": "1", "CAD": "1.39", "EUR": "0.94", "GBP": "0.79"}[currency]
        items = [(s, t, money(p * Decimal(rate)), c, v, q) for s, t, p, c, v, q in items]
        subtotal = sum((p * q for _, _, p, _, _, q in items), Decimal(0))
        code, discount = "", Decimal(0)
        if rng.random() < 0.2 and source == "web":
            code, discount = "WELCOME10", money(subtotal * Decimal("0.10"))
        shipping = Decimal(0) if source == "pos" else money(rng.choice(["0", "6.95", "12.00"]))
        region = person.state or person.country
        tax_name, tax_rate = SHOPIFY_TAX.get(region, ("", "0"))
        if person.country == "US" and source != "pos" and rng.random() < 0.1:
            tax_name, tax_rate = "", "0"  # a tax-exempt customer
        taxes = money((subtotal - discount) * Decimal(tax_rate))
        total = subtotal - discount + shipping + taxes
        paid_at = ""
        if financial in ("paid", "refunded", "partially_refunded", "partially_paid"):
            paid_at = stamp(created + dt.timedelta(seconds=rng.randrange(2, 95)))
        refunded = Decimal(0)
        if financial == "refunded":
            refunded = total
        elif financial == "partially_refunded":
            refunded = money(items[0][2])
        outstanding = Decimal(0)
        if financial == "partially_paid":
            outstanding = money(total * Decimal("0.5"))
        elif financial == "pending":
            outstanding = total
        fulfilled = financial in ("paid", "partially_refunded") and rng.random() < 0.55
        fulfillment = "fulfilled" if fulfilled else "unfulfilled"
        if source == "pos":
            fulfilled, fulfillment = True, "fulfilled"
        fulfilled_at = (
            stamp(created + dt.timedelta(hours=rng.randrange(2, 40))) if fulfilled else ""
        )
        if fulfilled_at and dt.datetime.strptime(fulfilled_at, "%Y-%m-%d %H:%M:%S %z") > window.end:
            fulfilled_at, fulfillment, fulfilled = "", "unfulfilled", False
        cancelled_at = ""
        if cancelled:
            cancelled_at = stamp(created + dt.timedelta(minutes=rng.randrange(20, 600)))
        payment = {
            "web": weighted(rng, [("Shopify Payments", 80), ("PayPal Express Checkout", 20)]),
            "pos": weighted(rng, [("Cash", 40), ("Shopify Payments", 60)]),
            "shopify_draft_order": weighted(rng, [("manual", 50), ("Shopify Payments", 50)]),
        }[source]
        reference = f"c{rng.randrange(10**10, 10**11)}.1" if paid_at else ""
        # the customer, as Shopify writes them
        email = "" if walk_in else person.email
        if email and rng.random() < 0.15:
            email = person.messy_email(rng, 1.0).strip()  # mixed case, no spaces: Shopify trims
        phone_style = (
            "national"
            if international
            else weighted(
                rng, [("national", 40), ("dashed", 25), ("e164", 20), ("us_dashed_intl", 15)]
            )
        )
        if international and rng.random() < 0.3:
            phone_style = "international"
        billing_phone = (
            ""
            if walk_in or rng.random() < 0.12
            else phone_text(person.e164, person.country, phone_style)
        )
        contact_phone = ""
        if not walk_in and not international and rng.random() < 0.25:
            contact_phone = person.e164  # Shopify keeps the customer's phone in E.164
        zip_text = excel_quoted(person.zip)
        gift = not walk_in and source == "web" and rng.random() < 0.1
        ship = person
        if gift:
            ship = Person(rng, person.country, number)
        notes = ""
        if rng.random() < 0.08:
            notes = "Please leave at the side door, thanks!"
        if number == 1007:
            notes = "Gift for my sister,\nplease no invoice in the box"
        note_attributes = "gift_wrap: yes" if gift else ""
        tags = weighted(rng, [("", 70), ("VIP", 10), ("wholesale", 5), ("returning", 15)])
        location = "Back Bay Store" if source == "pos" else ""
        employee = rng.choice(["Riley Chen", "Marcus Bell"]) if source == "pos" else ""
        device = str(rng.randrange(1000, 9999)) if source == "pos" else ""
        first_row = {
            "Name": name,
            "Email": email,
            "Financial Status": financial,
            "Paid at": paid_at,
            "Fulfillment Status": fulfillment,
            "Fulfilled at": fulfilled_at,
            "Accepts Marketing": "" if walk_in else rng.choice(["yes", "no", "no"]),
            "Currency": currency,
            "Subtotal": fmt(subtotal),
            "Shipping": fmt(shipping),
            "Taxes": fmt(taxes),
            "Total": fmt(total),
            "Discount Code": code,
            "Discount Amount": fmt(discount),
            "Shipping Method": ""
            if source == "pos"
            else ("Free Shipping" if shipping == 0 else rng.choice(["Standard", "Express"])),
            "Created at": stamp(created),
            "Billing Name": "" if walk_in else person.name,
            "Billing Street": "" if walk_in else person.street,
            "Billing Address1": "" if walk_in else person.street,
            "Billing Address2": "",
            "Billing Company": "",
            "Billing City": "" if walk_in else person.city,
            "Billing Zip": "" if walk_in else zip_text,
            "Billing Province": "" if walk_in else person.state,
            "Billing Country": "" if walk_in else person.country,
            "Billing Phone": billing_phone,
            "Shipping Name": "" if source == "pos" else ship.name,
            "Shipping Street": "" if source == "pos" else ship.street,
            "Shipping Address1": "" if source == "pos" else ship.street,
            "Shipping Address2": "",
            "Shipping Company": "",
            "Shipping City": "" if source == "pos" else ship.city,
            "Shipping Zip": "" if source == "pos" else excel_quoted(ship.zip),
            "Shipping Province": "" if source == "pos" else ship.state,
            "Shipping Country": "" if source == "pos" else ship.country,
            "Shipping Phone": ""
            if source == "pos" or not gift
            else phone_text(ship.e164, ship.country, "national"),
            "Notes": notes,
            "Note Attributes": note_attributes,
            "Cancelled at": cancelled_at,
            "Payment Method": payment,
            "Payment Reference": reference,
            "Refunded Amount": fmt(refunded),
            "Outstanding Balance": fmt(outstanding),
            "Employee": employee,
            "Location": location,
            "Device ID": device,
            "Id": str(order_id),
            "Tags": tags,
            "Risk Level": "Low" if source == "web" else "",
            "Source": source,
            "Tax 1 Name": f"{tax_name} {float(tax_rate) * 100:g}%" if tax_name else "",
            "Tax 1 Value": fmt(taxes) if tax_name else "",
            "Phone": contact_phone,
            "Receipt Number": "",
            "Duties": "",
            "Billing Province Name": ""
            if walk_in
            else (person.state_name if person.country in ("US", "CA") else ""),
            "Shipping Province Name": ""
            if source == "pos"
            else (ship.state_name if ship.country in ("US", "CA") else ""),
            "Payment ID": reference,
            "Payment Terms Name": "",
            "Next Payment Due At": "",
            "Payment References": reference,
        }
        group: list[dict[str, Any]] = []
        for position, (sku, title, price, compare, vendor, qty) in enumerate(items):
            line: dict[str, Any] = dict.fromkeys(SHOPIFY_HEADER, "")
            if position == 0:
                line.update(first_row)
            else:  # Shopify repeats the order's Name, Email and Created at, nothing else
                line.update({"Name": name, "Email": email, "Created at": stamp(created)})
            line.update(
                {
                    "Lineitem quantity": str(qty),
                    "Lineitem name": title,
                    "Lineitem price": fmt(price),
                    "Lineitem compare at price": fmt(money(Decimal(compare) * Decimal(rate)))
                    if compare
                    else "",
                    "Lineitem sku": sku,
                    "Lineitem requires shipping": "false" if sku.startswith("NW-GIFT") else "true",
                    "Lineitem taxable": "false" if sku.startswith("NW-GIFT") else "true",
                    "Lineitem fulfillment status": "fulfilled" if fulfilled else "pending",
                    "Vendor": vendor,
                    "Lineitem discount": "0.00",
                }
            )
            group.append(line)
        orders.append(group)
        # what the preset should do with it
        if cancelled:
            expected.refused(
                name, "filtered", f"Cancelled at is set (Financial Status {financial})"
            )
        elif financial not in ("paid", "partially_paid"):
            expected.refused(name, "filtered", f"Financial Status is {financial}")
        elif walk_in:
            expected.refused(
                name, "invalid", "POS walk-in sale: no email, phone or address (no matching key)"
            )
        else:
            expected.sent(
                name,
                event_name="PURCHASE",
                event_time=epoch(created),
                value=float(total),
                currency=currency,
                order_id=name,
                line_items=len(items),
                source=source,
            )
        if (
            billing_phone
            and (international or len(expected.phones) < 3)
            and sum(1 for p in expected.phones if p["country"] == person.country) < 2
        ):
            expected.phone(name, "Billing Phone", billing_phone, person.country, person.e164)
        if email:
            expected.email(name, "Email", email)
    # newest first, as the admin lists them
    for group in reversed(orders):
        rows.extend(group)
    expected.rows = write_csv(out / "shopify_orders.csv", SHOPIFY_HEADER, rows)
    return expected


# ------------------------------------------------------------------------------ WooCommerce

WOO_HEADER = [
    "Order ID",
    "Order Number",
    "Order Key",
    "Order Date",
    "Completed Date",
    "Order Status",
    "Order Currency",
    "Payment Method",
    "Order Total",
    "Customer User ID",
    "Customer Note",
    "Billing First Name",
    "Billing Last Name",
    "Billing Company",
    "Billing Address 1",
    "Billing Address 2",
    "Billing City",
    "Billing Postcode",
    "Billing Country",
    "Billing State",
    "Billing Email",
    "Billing Phone",
    "Shipping First Name",
    "Shipping Last Name",
    "Shipping Company",
    "Shipping Address 1",
    "Shipping Address 2",
    "Shipping City",
    "Shipping Postcode",
    "Shipping Country",
    "Shipping State",
    "Customer IP Address",
    "Customer User Agent",
    "Product ID",
    "SKU",
    "Product Name",
    "Product Variation Details",
    "Quantity",
    "Item Cost",
    "Item Total",
    "Shipping Method",
    "Shipping Cost",
    "Total Tax Amount",
    "Coupons Used",
    "Total Discount Amount",
]
WOO_PRODUCTS = [
    (311, "AL-BOUG-CED-200", "Bougie parfumée Cèdre", "Taille: 200 g", "32.00"),
    (312, "AL-BOUG-FIG-200", "Bougie parfumée Figue & Thé", "Taille: 200 g", "32.00"),
    (318, "AL-BOUG-CED-450", "Bougie parfumée Cèdre", "Taille: 450 g", "54.00"),
    (402, "AL-DIFF-AMB", "Diffuseur Ambre boisé", "Contenance: 100 ml", "39.90"),
    (415, "AL-SAV-LAV", "Savon surgras Lavande", "", "8.50"),
    (420, "AL-COFF-NOEL", "Coffret Noël « Forêt »", "", "89.00"),
    (436, "AL-LAMP-LAI", "Lampe en laiton Élise", "Finition: laiton brossé", "249.00"),
    (437, "AL-LUST-OPA", "Lustre Opaline 5 feux", "", "1150.00"),
    (440, "AL-PLAID-LIN", "Plaid en lin lavé", "Couleur: écru", "119.00"),
]
WOO_SHIPPING = [
    ("Colissimo", "6.90"),
    ("Mondial Relay", "4.50"),
    ("Retrait en boutique", "0.00"),
    ("Livraison express DHL", "14.90"),
]


def woocommerce(out: Path, window: Window) -> Expected:
    rng = random.Random(f"{SEED}:woocommerce")
    expected = Expected(
        "woocommerce",
        ["Order ID"],
        "Sent: Order Status wc-completed or wc-processing, one PURCHASE per Order ID (the "
        "order fields repeat on every item row), value = Order Total. The file is cp1252, "
        "CRLF, as Excel re-saves it; Order Date is naive Europe/Paris time.",
    )
    customers = people(rng, [("FR", 22), ("BE", 4), ("DE", 4), ("CH", 2), ("ES", 2), ("GB", 2)])
    dresden = next(c for c in customers if c.country == "DE")
    dresden.city, dresden.state_name, dresden.zip = "Dresden", "Sachsen", "01067"
    plan = (
        ["wc-completed"] * 20
        + ["wc-processing"] * 8
        + ["wc-refunded"] * 3
        + ["wc-failed"] * 3
        + ["wc-cancelled"] * 2
        + ["wc-on-hold"] * 2
        + ["wc-pending"] * 2
    )
    rng.shuffle(plan)
    instants = window.instants(rng, len(plan), margin_s=3600)
    user_ids: dict[str, int] = {}
    orders: list[list[dict[str, Any]]] = []
    order_id = 4_810 + rng.randrange(40)
    for index, (status, created) in enumerate(zip(plan, instants, strict=True)):
        order_id += rng.randrange(1, 4)  # ids are shared with other posts, so they skip
        person = customers[index % len(customers)]
        guest = rng.random() < 0.4
        user = 0 if guest else user_ids.setdefault(person.email, 12 + 37 * len(user_ids))
        local = created.astimezone(PARIS).replace(tzinfo=None)
        count = weighted(rng, [(1, 60), (2, 28), (3, 12)])
        picks = rng.sample(WOO_PRODUCTS, count)
        if index == 5:
            picks = [WOO_PRODUCTS[7]]  # the chandelier: Order Total above 1,000
        lines = []
        for pid, sku, title, variation, price in picks:
            qty = 1 if Decimal(price) > 100 else weighted(rng, [(1, 70), (2, 22), (3, 8)])
            lines.append((pid, sku, title, variation, Decimal(price), qty))
        subtotal = sum((p * q for *_, p, q in lines), Decimal(0))
        coupon = "BIENVENUE10" if rng.random() < 0.2 else ""
        discount = money(subtotal * Decimal("0.10")) if coupon else Decimal(0)
        method, ship_cost = rng.choice(WOO_SHIPPING)
        ship_cost_d = Decimal(ship_cost)
        total = subtotal - discount + ship_cost_d
        tax = money(total - total / Decimal("1.2"))  # prices include 20 % TVA
        country = person.country
        style = weighted(
            rng, [("national", 55), ("compact", 15), ("international", 20), ("dotted", 10)]
        )
        if style == "dotted" and country != "FR":
            style = "national"
        phone = phone_text(person.e164, country, style)
        postcode = person.zip
        # Excel read digit-only cells as numbers and dropped their leading zeros when it
        # re-saved the file: 01067 became 1067, 0612345678 became 612345678.
        if postcode.isdigit():
            postcode = postcode.lstrip("0")
        if style == "compact":
            phone = phone.lstrip("0")
            check_phone(phone, country, person.e164)
        ip = documentation_ip(rng)
        agent = rng.choice(USER_AGENTS)
        completed = ""
        if status == "wc-completed":
            done = created + dt.timedelta(hours=rng.randrange(3, 60))
            if done < window.end:
                completed = done.astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S")
        email = person.messy_email(rng, 0.3)
        order = {
            "Order ID": str(order_id),
            "Order Number": str(order_id),
            "Order Key": "wc_order_" + rand_id(rng, 13),
            "Order Date": local.strftime("%Y-%m-%d %H:%M:%S"),
            "Completed Date": completed,
            "Order Status": status,
            "Order Currency": "EUR",
            "Payment Method": rng.choice(["Carte bancaire", "PayPal", "Virement bancaire"]),
            "Order Total": thousands(total),
            "Customer User ID": str(user),
            "Customer Note": "Merci d'emballer pour un cadeau" if rng.random() < 0.1 else "",
            "Billing First Name": person.first,
            "Billing Last Name": person.last,
            "Billing Company": "",
            "Billing Address 1": person.street,
            "Billing Address 2": "",
            "Billing City": person.city,
            "Billing Postcode": postcode,
            "Billing Country": country,
            "Billing State": "",
            "Billing Email": email,
            "Billing Phone": phone,
            "Shipping First Name": person.first,
            "Shipping Last Name": person.last,
            "Shipping Company": "",
            "Shipping Address 1": person.street,
            "Shipping Address 2": "",
            "Shipping City": person.city,
            "Shipping Postcode": postcode,
            "Shipping Country": country,
            "Shipping State": "",
            "Customer IP Address": ip,
            "Customer User Agent": agent,
            "Shipping Method": method,
            "Shipping Cost": ship_cost,
            "Total Tax Amount": fmt(tax),
            "Coupons Used": coupon,
            "Total Discount Amount": fmt(discount),
        }
        group = []
        for pid, sku, title, variation, price, qty in lines:
            line_subtotal = price * qty
            line_total = money(line_subtotal * (Decimal("0.9") if coupon else Decimal(1)))
            group.append(
                {
                    **order,
                    "Product ID": str(pid),
                    "SKU": sku,
                    "Product Name": title,
                    "Product Variation Details": variation,
                    "Quantity": str(qty),
                    "Item Cost": fmt(line_subtotal),
                    "Item Total": fmt(line_total),
                }
            )
        orders.append(group)
        key = str(order_id)
        if status in ("wc-completed", "wc-processing"):
            expected.sent(
                key,
                event_name="PURCHASE",
                event_time=epoch(created),
                value=float(money(total)),
                currency="EUR",
                order_id=key,
                line_items=len(lines),
                guest=guest,
            )
        else:
            expected.refused(key, "filtered", f"Order Status is {status}")
        if (
            style != "international"
            and len(expected.phones) < 6
            and country not in {p["country"] for p in expected.phones[-2:]}
        ):
            expected.phone(key, "Billing Phone", phone, country, person.e164)
        expected.email(key, "Billing Email", email)
    rows = [line for group in reversed(orders) for line in group]
    for row in rows:
        for value in row.values():
            value.encode("cp1252")  # an Excel re-save can only hold what cp1252 holds
    expected.rows = write_csv(
        out / "woocommerce_orders.csv", WOO_HEADER, rows, encoding="cp1252", newline="\r\n"
    )
    return expected


# ------------------------------------------------------------------------------ Stripe

STRIPE_HEADER = [
    "id",
    "Description",
    "Seller Message",
    "Created (UTC)",
    "Amount",
    "Amount Refunded",
    "Currency",
    "Converted Amount",
    "Converted Amount Refunded",
    "Fee",
    "Tax",
    "Converted Currency",
    "Mode",
    "Status",
    "Statement Descriptor",
    "Customer ID",
    "Customer Description",
    "Customer Email",
    "Captured",
    "Card ID",
    "Card Last4",
    "Card Brand",
    "Card Funding",
    "Card Exp Month",
    "Card Exp Year",
    "Card Name",
    "Card Address Line1",
    "Card Address Line2",
    "Card Address City",
    "Card Address State",
    "Card Address Country",
    "Card Address Zip",
    "Card Issue Country",
    "Card Fingerprint",
    "Card CVC Status",
    "Card AVS Zip Status",
    "Card AVS Line1 Status",
    "Card Tokenization Method",
    "Disputed Amount",
    "Dispute Status",
    "Dispute Reason",
    "Dispute Date (UTC)",
    "Dispute Evidence Due (UTC)",
    "Invoice ID",
    "Payment Source Type",
    "Destination",
    "Transfer",
    "Interchange Costs",
    "Merchant Service Charge",
    "Transfer Group",
    "PaymentIntent ID",
]
DECLINES = [
    "The bank did not return any further details with this decline.",
    "The bank returned the decline code `insufficient_funds`.",
    "The customer's bank could not be reached; the payment was declined.",
    "Your card's security code is incorrect.",
    "The bank returned the decline code `do_not_honor`.",
]


def stripe(out: Path, window: Window) -> Expected:
    rng = random.Random(f"{SEED}:stripe")
    expected = Expected(
        "stripe",
        ["id"],
        "Sent: Status Paid (two of them partly refunded: Stripe still says Paid, and the "
        "preset sends the full Amount), value = Amount in Currency. Refunded and Failed "
        "charges are filtered; Paid charges without a Customer Email carry no identifier "
        "snapcapi can match on, so they are refused.",
    )
    customers = people(rng, [("US", 30), ("CA", 4), ("GB", 4), ("FR", 4), ("DE", 2)])
    plan = (
        ["Paid"] * 34
        + ["Paid_partial"] * 2
        + ["Paid_guest"] * 2
        + ["Refunded"] * 5
        + ["Failed"] * 7
    )
    rng.shuffle(plan)
    instants = window.instants(rng, len(plan), margin_s=600)
    rows = []
    currency_of = {"US": "usd", "CA": "cad", "GB": "gbp", "FR": "eur", "DE": "eur"}
    to_usd = {"usd": "1", "cad": "0.72", "gbp": "1.27", "eur": "1.06"}
    for index, (status, created) in enumerate(zip(plan, instants, strict=True)):
        person = customers[index % len(customers)]
        charge = "ch_3" + rand_id(rng, 23)
        intent = "pi_3" + rand_id(rng, 23)
        currency = currency_of[person.country]
        amount = money(
            rng.choice([19, 24, 36, 49, 49, 59, 79, 99, 129, 149, 249])
            + Decimal(rng.choice(["0", "0", "0.50", "0.99"]))
        )
        converted = money(amount * Decimal(to_usd[currency]))
        refunded = Decimal(0)
        shown_status = status.split("_")[0]
        if status == "Refunded":
            refunded = amount
        elif status == "Paid_partial":
            refunded = money(amount * Decimal("0.3"))
        failed = status == "Failed"
        fee = Decimal(0) if failed else money(converted * Decimal("0.029") + Decimal("0.30"))
        guest = status == "Paid_guest"
        customer_id = "" if guest else "cus_" + rand_id(rng, 14)
        email = "" if guest else person.messy_email(rng, 0.15).strip()
        brand = weighted(rng, [("Visa", 55), ("MasterCard", 30), ("American Express", 15)])
        last4 = {"Visa": "4242", "MasterCard": "4444", "American Express": "8431"}[brand]
        wallet = weighted(rng, [("", 70), ("apple_pay", 20), ("google_pay", 10)])
        description = rng.choice(
            [
                f"Order #{rng.randrange(2000, 2999)}",
                "Payment for Invoice",
                "Subscription creation",
                f"Order #{rng.randrange(2000, 2999)}",
            ]
        )
        rows.append(
            {
                "id": charge,
                "Description": description,
                "Seller Message": rng.choice(DECLINES) if failed else "Payment complete.",
                "Created (UTC)": created.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                "Amount": fmt(amount),
                "Amount Refunded": fmt(refunded),
                "Currency": currency,
                "Converted Amount": fmt(converted),
                "Converted Amount Refunded": fmt(money(refunded * Decimal(to_usd[currency]))),
                "Fee": fmt(fee),
                "Tax": "0.00",
                "Converted Currency": "usd",
                "Mode": "Live",
                "Status": shown_status,
                "Statement Descriptor": "NORTHWIND OUTFTR",
                "Customer ID": customer_id,
                "Customer Description": "" if guest or rng.random() < 0.5 else person.name,
                "Customer Email": email,
                "Captured": "false" if failed else "true",
                "Card ID": "pm_1" + rand_id(rng, 23),
                "Card Last4": last4,
                "Card Brand": brand,
                "Card Funding": weighted(rng, [("credit", 70), ("debit", 30)]),
                "Card Exp Month": str(rng.randrange(1, 13)),
                "Card Exp Year": str(created.year + rng.randrange(1, 6)),
                "Card Name": person.name if rng.random() < 0.85 else "",
                "Card Address Line1": person.street if not wallet else "",
                "Card Address Line2": "",
                "Card Address City": person.city if not wallet else "",
                "Card Address State": person.state if not wallet else "",
                "Card Address Country": person.country,
                "Card Address Zip": person.zip,
                "Card Issue Country": person.country,
                "Card Fingerprint": rand_id(rng, 16),
                "Card CVC Status": ""
                if wallet
                else ("fail" if failed and rng.random() < 0.3 else "pass"),
                "Card AVS Zip Status": "pass",
                "Card AVS Line1 Status": "" if wallet else "pass",
                "Card Tokenization Method": wallet,
                "Disputed Amount": "",
                "Dispute Status": "",
                "Dispute Reason": "",
                "Dispute Date (UTC)": "",
                "Dispute Evidence Due (UTC)": "",
                "Invoice ID": "in_1" + rand_id(rng, 23)
                if description == "Payment for Invoice"
                else "",
                "Payment Source Type": "card",
                "Destination": "",
                "Transfer": "",
                "Interchange Costs": "",
                "Merchant Service Charge": "",
                "Transfer Group": "",
                "PaymentIntent ID": intent,
            }
        )
        if shown_status == "Paid" and not guest:
            expected.sent(
                charge,
                event_name="PURCHASE",
                event_time=epoch(created),
                value=float(amount),
                currency=currency.upper(),
                order_id=charge,
                line_items=0,
                partly_refunded=status == "Paid_partial",
            )
        elif guest:
            expected.refused(charge, "invalid", "Paid, but no Customer Email: no matching key")
        else:
            expected.refused(charge, "filtered", f"Status is {shown_status}")
        if email:
            expected.email(charge, "Customer Email", email)
    rows.reverse()  # the dashboard exports newest first
    expected.rows = write_csv(out / "stripe_payments.csv", STRIPE_HEADER, rows)
    return expected


# ------------------------------------------------------------------------------ GA4

GA4_ITEMS = [
    ("BOUG-CED-200", "Bougie Cèdre 200 g", "Bougies", "200 g", "32.00"),
    ("BOUG-FIG-200", "Bougie Figue & Thé 200 g", "Bougies", "200 g", "32.00"),
    ("BOUG-CED-450", "Bougie Cèdre 450 g", "Bougies", "450 g", "54.00"),
    ("DIFF-AMB-100", "Diffuseur Ambre boisé", "Diffuseurs", "100 ml", "39.90"),
    ("SAV-LAV", "Savon Lavande", "Bain", "", "8.50"),
    ("COFF-FORET", "Coffret Forêt", "Coffrets", "", "89.00"),
    ("PLAID-LIN", "Plaid en lin lavé", "Maison", "écru", "119.00"),
]
GA4_PAGES = {
    "home": ("https://shop.example.fr/", "Maison Exemple – Bougies & maison"),
    "cart": ("https://shop.example.fr/panier", "Panier – Maison Exemple"),
    "checkout": ("https://shop.example.fr/commande", "Commande – Maison Exemple"),
    "thanks": ("https://shop.example.fr/commande/merci", "Merci ! – Maison Exemple"),
}
GA4_GEO = [
    (
        {
            "city": "Paris",
            "country": "France",
            "continent": "Europe",
            "region": "Ile-de-France",
            "sub_continent": "Western Europe",
            "metro": "(not set)",
        },
        "FR",
    ),
    (
        {
            "city": "Lyon",
            "country": "France",
            "continent": "Europe",
            "region": "Auvergne-Rhone-Alpes",
            "sub_continent": "Western Europe",
            "metro": "(not set)",
        },
        "FR",
    ),
    (
        {
            "city": "Bordeaux",
            "country": "France",
            "continent": "Europe",
            "region": "Nouvelle-Aquitaine",
            "sub_continent": "Western Europe",
            "metro": "(not set)",
        },
        "FR",
    ),
    (
        {
            "city": "Lille",
            "country": "France",
            "continent": "Europe",
            "region": "Hauts-de-France",
            "sub_continent": "Western Europe",
            "metro": "(not set)",
        },
        "FR",
    ),
    (
        {
            "city": "Brussels",
            "country": "Belgium",
            "continent": "Europe",
            "region": "Brussels",
            "sub_continent": "Western Europe",
            "metro": "(not set)",
        },
        "BE",
    ),
    (
        {
            "city": "Geneva",
            "country": "Switzerland",
            "continent": "Europe",
            "region": "Geneva",
            "sub_continent": "Western Europe",
            "metro": "(not set)",
        },
        "CH",
    ),
]
GA4_DEVICES = [
    {
        "category": "mobile",
        "mobile_brand_name": "Apple",
        "operating_system": "iOS",
        "operating_system_version": "iOS 18.1",
        "language": "fr-fr",
        "is_limited_ad_tracking": "No",
        "web_info": {"browser": "Safari", "browser_version": "18.1", "hostname": "shop.example.fr"},
    },
    {
        "category": "desktop",
        "mobile_brand_name": "Google",
        "operating_system": "Windows",
        "operating_system_version": "Windows 10",
        "language": "fr",
        "is_limited_ad_tracking": "No",
        "web_info": {
            "browser": "Chrome",
            "browser_version": "131.0.6778.86",
            "hostname": "shop.example.fr",
        },
    },
    {
        "category": "mobile",
        "mobile_brand_name": "Samsung",
        "operating_system": "Android",
        "operating_system_version": "Android 14",
        "language": "fr-fr",
        "is_limited_ad_tracking": "No",
        "web_info": {
            "browser": "Chrome",
            "browser_version": "131.0.6778.81",
            "hostname": "shop.example.fr",
        },
    },
    {
        "category": "desktop",
        "mobile_brand_name": "Apple",
        "operating_system": "Macintosh",
        "operating_system_version": "Macintosh Intel 10.15",
        "language": "fr-fr",
        "is_limited_ad_tracking": "No",
        "web_info": {"browser": "Safari", "browser_version": "18.1", "hostname": "shop.example.fr"},
    },
]
GA4_SOURCES = [
    {"name": "(direct)", "medium": "(none)", "source": "(direct)"},
    {"name": "(organic)", "medium": "organic", "source": "google"},
    {"name": "noel_2026", "medium": "paid_social", "source": "snapchat"},
    {"name": "(referral)", "medium": "referral", "source": "instagram.com"},
]
USD_PER_EUR = Decimal("1.06")


def _param(key: str, value: Any) -> dict[str, Any]:
    """One ``event_params``/``user_properties`` element as BigQuery's JSON export writes it."""
    if isinstance(value, bool):
        raise TypeError(key)
    if isinstance(value, int):
        return {"key": key, "value": {"int_value": str(value)}}  # INT64 is written as a string
    if isinstance(value, float):
        return {"key": key, "value": {"double_value": value}}
    return {"key": key, "value": {"string_value": value}}


def _amount_param(key: str, amount: Decimal) -> dict[str, Any]:
    """``value`` arrives as int_value when the site sends a whole number, else double_value."""
    if amount == amount.to_integral_value():
        return _param(key, int(amount))
    return _param(key, float(amount))


def ga4(out: Path, window: Window) -> Expected:
    rng = random.Random(f"{SEED}:ga4")
    expected = Expected(
        "ga4",
        ["user_pseudo_id", "event_timestamp"],
        "An id is user_pseudo_id|event_timestamp (the event's name is part of its event_id "
        "too). Sent: page_view, view_item, add_to_cart, begin_checkout and purchase events "
        "of users whose user_properties hold an email or a phone (GA4 itself stores neither: "
        "this shop sets them, see the README). The same events of anonymous users have no "
        "matching key and are refused; session_start, first_visit, user_engagement, scroll "
        "and refund are filtered.",
    )
    # 30 visitors: 17 signed in with an email, 3 with a phone only, 10 anonymous
    kinds = ["email"] * 17 + ["phone"] * 3 + ["anonymous"] * 10
    rng.shuffle(kinds)
    visitors = []
    for index, kind in enumerate(kinds):
        geo, country = rng.choice(GA4_GEO[:4]) if index % 5 else rng.choice(GA4_GEO)
        person = Person(rng, country, index)
        first_touch = window.start - dt.timedelta(
            days=rng.randrange(1, 90), seconds=rng.randrange(86400)
        )
        visitor = {
            "kind": kind,
            "person": person,
            "geo": geo,
            "country": country,
            "pseudo": f"{rng.randrange(10**8, 2 * 10**9)}.{epoch(first_touch)}",
            "user_id": f"u{rng.randrange(10_000, 99_999)}" if kind != "anonymous" else None,
            "first_touch": first_touch,
            "device": rng.choice(GA4_DEVICES),
            "sessions": rng.randrange(1, 9),
        }
        if kind == "email":
            visitor["email"] = person.messy_email(rng, 0.2).strip()
        if kind == "phone" or (kind == "email" and rng.random() < 0.25):
            style = weighted(rng, [("national", 60), ("international", 25), ("compact", 15)])
            visitor["phone"] = phone_text(person.e164, country, style)
        visitors.append(visitor)
    # 30 sessions that end in a purchase, 8 that only browse; 3 refunds later on
    sessions = [(visitors[i % len(visitors)], True) for i in range(30)]
    sessions += [(visitors[(7 * i + 3) % len(visitors)], False) for i in range(8)]
    rng.shuffle(sessions)
    starts = window.instants(rng, len(sessions), margin_s=5 * 3600)
    events: list[dict[str, Any]] = []
    purchases: list[tuple[dict[str, Any], str, Decimal, dt.datetime]] = []
    transaction = 10_230 + rng.randrange(50)
    stream_id = "4178201135"
    for (visitor, buys), start in zip(sessions, starts, strict=True):
        visitor["sessions"] += 1
        session_id = epoch(start)
        clock = [start]
        batch = rand_id(rng, 10, "0123456789")
        source = rng.choice(GA4_SOURCES)

        def event(
            name: str,
            page: str,
            params: list[dict[str, Any]],
            *,
            ecommerce: dict[str, Any] | None = None,
            items: list[dict[str, Any]] | None = None,
            gap: tuple[int, int] = (4, 90),
            visitor: dict[str, Any] = visitor,
            source: dict[str, Any] = source,
            session_id: int = session_id,
            clock: list[dt.datetime] = clock,
            batch: str = batch,
        ) -> dict[str, Any]:
            clock[0] += dt.timedelta(
                seconds=rng.randrange(*gap), microseconds=rng.randrange(1, 999_999)
            )
            when = clock[0]
            micros = epoch(when) * 1_000_000 + when.microsecond
            location, title = page if isinstance(page, tuple) else GA4_PAGES[page]
            base = [
                _param("ga_session_id", session_id),
                _param("ga_session_number", visitor["sessions"]),
                _param("page_location", location),
                _param("page_title", title),
            ]
            if name not in ("session_start", "first_visit"):
                base.append(_param("engagement_time_msec", rng.randrange(100, 40_000)))
            record: dict[str, Any] = {
                "event_date": when.astimezone(PARIS).strftime("%Y%m%d"),
                "event_timestamp": str(micros),
                "event_name": name,
                "event_params": base + params,
                "event_bundle_sequence_id": str(rng.randrange(10**6, 10**7)),
            }
            if visitor["user_id"]:
                record["user_id"] = visitor["user_id"]
            record["user_pseudo_id"] = visitor["pseudo"]
            record["privacy_info"] = {
                "analytics_storage": "Yes",
                "ads_storage": "Yes",
                "uses_transient_token": "No",
            }
            props = []
            set_at = str(epoch(visitor["first_touch"]) * 1_000_000 + 125_000)
            if "email" in visitor:
                props.append(
                    {
                        "key": "email",
                        "value": {"string_value": visitor["email"], "set_timestamp_micros": set_at},
                    }
                )
            if "phone" in visitor:
                props.append(
                    {
                        "key": "phone",
                        "value": {"string_value": visitor["phone"], "set_timestamp_micros": set_at},
                    }
                )
            if visitor["user_id"]:
                props.append(
                    {
                        "key": "customer_tier",
                        "value": {
                            "string_value": rng.choice(["new", "returning"]),
                            "set_timestamp_micros": set_at,
                        },
                    }
                )
            record["user_properties"] = props
            record["user_first_touch_timestamp"] = str(
                epoch(visitor["first_touch"]) * 1_000_000 + 125_000
            )
            record["device"] = visitor["device"]
            record["geo"] = visitor["geo"]
            record["traffic_source"] = source
            record["stream_id"] = stream_id
            record["platform"] = "WEB"
            if ecommerce is not None:
                record["ecommerce"] = ecommerce
            record["items"] = items or []
            record["is_active_user"] = True
            record["batch_page_id"] = batch
            events.append(record)
            return record

        def ga_item(sku: str, qty: int, bought: bool) -> dict[str, Any]:
            _, title, category, variant, price = next(i for i in GA4_ITEMS if i[0] == sku)
            unit = Decimal(price)
            item: dict[str, Any] = {
                "item_id": sku,
                "item_name": title,
                "item_brand": "Maison Exemple",
                "item_variant": variant or "(not set)",
                "item_category": category,
                "price_in_usd": float(money(unit * USD_PER_EUR)),
                "price": float(unit),
                "quantity": str(qty),
            }
            if bought:
                item["item_revenue_in_usd"] = float(money(unit * qty * USD_PER_EUR))
                item["item_revenue"] = float(money(unit * qty))
            item["coupon"] = "(not set)"
            return item

        def product_page(sku: str, source: dict[str, Any] = source) -> tuple[str, str]:
            title = next(i for i in GA4_ITEMS if i[0] == sku)[1]
            slug = ascii_fold(title).lower().replace(" ", "-").replace("&", "et")
            url = f"https://shop.example.fr/produits/{slug}"
            if source["source"] == "snapchat":
                url += "?utm_source=snapchat&utm_medium=paid_social&utm_campaign=noel_2026"
            return url, f"{title} – Maison Exemple"

        def expect(
            record: dict[str, Any], snap_name: str, visitor: dict[str, Any] = visitor, **facts: Any
        ) -> None:
            key = f"{record['user_pseudo_id']}|{record['event_timestamp']}"
            micros = int(record["event_timestamp"])
            if visitor["kind"] == "anonymous":
                expected.refused(
                    key,
                    "invalid",
                    f"{record['event_name']} of an anonymous "
                    "visitor: no email or phone, no matching key",
                )
            else:
                expected.sent(
                    key,
                    event_name=snap_name,
                    event_time=micros // 1_000_000,
                    event_name_in_file=record["event_name"],
                    **facts,
                )
                visitor.setdefault("first_key", key)

        def skip(record: dict[str, Any]) -> None:
            key = f"{record['user_pseudo_id']}|{record['event_timestamp']}"
            expected.refused(key, "filtered", f"event_name is {record['event_name']}")

        first = visitor["sessions"] == 1 and rng.random() < 0.5
        landing = weighted(rng, [("home", 40), ("product", 60)])
        sku = rng.choice(GA4_ITEMS)[0]
        if first:
            skip(event("first_visit", "home", [], gap=(0, 1)))
        skip(
            event(
                "session_start", "home" if landing == "home" else product_page(sku), [], gap=(0, 1)
            )
        )
        if landing == "home":
            record = event("page_view", "home", [], gap=(0, 2))
            expect(record, "PAGE_VIEW", line_items=0)
        record = event("page_view", product_page(sku), [])
        expect(record, "PAGE_VIEW", line_items=0)
        price = Decimal(next(i for i in GA4_ITEMS if i[0] == sku)[4])
        record = event(
            "view_item",
            product_page(sku),
            [_param("currency", "EUR"), _amount_param("value", price)],
            ecommerce={
                "total_item_quantity": "1",
                "unique_items": "1",
                "transaction_id": "(not set)",
            },
            items=[ga_item(sku, 1, False)],
            gap=(0, 3),
        )
        expect(record, "VIEW_CONTENT", value=float(price), currency="EUR", line_items=1)
        if rng.random() < 0.25:
            skip(event("scroll", product_page(sku), [_param("percent_scrolled", 90)]))
        if not buys:
            if rng.random() < 0.5:
                skip(event("user_engagement", product_page(sku), []))
            continue
        basket = [(sku, weighted(rng, [(1, 75), (2, 20), (3, 5)]))]
        if rng.random() < 0.35:
            other = rng.choice([i[0] for i in GA4_ITEMS if i[0] != sku])
            basket.append((other, 1))
        for item_sku, qty in basket:
            unit = Decimal(next(i for i in GA4_ITEMS if i[0] == item_sku)[4])
            record = event(
                "add_to_cart",
                product_page(item_sku),
                [_param("currency", "EUR"), _amount_param("value", unit * qty)],
                ecommerce={
                    "total_item_quantity": str(qty),
                    "unique_items": "1",
                    "transaction_id": "(not set)",
                },
                items=[ga_item(item_sku, qty, False)],
            )
            expect(record, "ADD_CART", value=float(money(unit * qty)), currency="EUR", line_items=1)
        subtotal = sum(
            (Decimal(next(i for i in GA4_ITEMS if i[0] == s)[4]) * q for s, q in basket), Decimal(0)
        )
        quantity = sum(q for _, q in basket)
        record = event(
            "begin_checkout",
            "checkout",
            [_param("currency", "EUR"), _amount_param("value", subtotal)],
            ecommerce={
                "total_item_quantity": str(quantity),
                "unique_items": str(len(basket)),
                "transaction_id": "(not set)",
            },
            items=[ga_item(s, q, False) for s, q in basket],
            gap=(20, 120),
        )
        expect(
            record, "START_CHECKOUT", value=float(subtotal), currency="EUR", line_items=len(basket)
        )
        shipping = Decimal("0") if subtotal >= 60 else Decimal("4.90")
        revenue = subtotal + shipping
        tax = money(revenue - revenue / Decimal("1.2"))
        transaction += rng.randrange(1, 6)
        tid = f"FR-{transaction}"
        record = event(
            "purchase",
            "thanks",
            [
                _param("transaction_id", tid),
                _param("currency", "EUR"),
                _param("value", float(revenue)),
                _param("tax", float(tax)),
                _param("shipping", float(shipping)),
            ],
            ecommerce={
                "total_item_quantity": str(quantity),
                "purchase_revenue_in_usd": float(money(revenue * USD_PER_EUR)),
                "purchase_revenue": float(revenue),
                "shipping_value_in_usd": float(money(shipping * USD_PER_EUR)),
                "shipping_value": float(shipping),
                "tax_value_in_usd": float(money(tax * USD_PER_EUR)),
                "tax_value": float(tax),
                "unique_items": str(len(basket)),
                "transaction_id": tid,
            },
            items=[ga_item(s, q, True) for s, q in basket],
            gap=(60, 400),
        )
        expect(
            record,
            "PURCHASE",
            value=float(revenue),
            currency="EUR",
            order_id=tid,
            line_items=len(basket),
        )
        purchases.append((visitor, tid, revenue, clock[0]))
    # three refunds, issued from the back office a few hours later
    for visitor, tid, revenue, when in rng.sample(purchases, 3):
        later = min(when + dt.timedelta(hours=rng.randrange(2, 30)), window.end)
        micros = epoch(later) * 1_000_000 + rng.randrange(1, 999_999)
        record = {
            "event_date": later.astimezone(PARIS).strftime("%Y%m%d"),
            "event_timestamp": str(micros),
            "event_name": "refund",
            "event_params": [
                _param("transaction_id", tid),
                _param("currency", "EUR"),
                _param("value", float(revenue)),
            ],
            "event_bundle_sequence_id": str(rng.randrange(10**6, 10**7)),
            "user_pseudo_id": visitor["pseudo"],
            "privacy_info": {
                "analytics_storage": "Yes",
                "ads_storage": "Yes",
                "uses_transient_token": "No",
            },
            "user_properties": [],
            "stream_id": stream_id,
            "platform": "WEB",
            "ecommerce": {
                "refund_value_in_usd": float(money(revenue * USD_PER_EUR)),
                "refund_value": float(revenue),
                "transaction_id": tid,
            },
            "items": [],
            "is_active_user": False,
        }
        events.append(record)
        expected.refused(f"{visitor['pseudo']}|{micros}", "filtered", "event_name is refund")
    events.sort(key=lambda e: int(e["event_timestamp"]))
    for visitor in visitors:  # listed under the visitor's first event that is sent
        if "first_key" not in visitor:
            continue
        if "phone" in visitor and len(expected.phones) < 5:
            expected.phone(
                visitor["first_key"],
                "user_properties.phone",
                visitor["phone"],
                visitor["country"],
                visitor["person"].e164,
            )
        if "email" in visitor:
            expected.email(visitor["first_key"], "user_properties.email", visitor["email"])
    with open(out / "ga4_events.jsonl", "w", encoding="utf-8", newline="\n") as stream:
        for record in events:
            stream.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    expected.rows = len(events)
    return expected


# ------------------------------------------------------------------------------ HubSpot

HUBSPOT_HEADER = [
    "Record ID",
    "First Name",
    "Last Name",
    "Email",
    "Phone Number",
    "Mobile Phone Number",
    "Contact owner",
    "Company Name",
    "Lifecycle Stage",
    "Lead Status",
    "Marketing contact status",
    "City",
    "State/Region",
    "Postal Code",
    "Country/Region",
    "Create Date",
    "Last Activity Date",
    "Original Traffic Source",
]


def hubspot(out: Path, window: Window) -> Expected:
    rng = random.Random(f"{SEED}:hubspot")
    expected = Expected(
        "hubspot",
        ["Record ID"],
        "Each contact created in the window is one SIGN_UP at its Create Date (naive "
        "America/New_York, the portal's zone). Sent: Lifecycle Stage Lead and later stages "
        "(Marketing/Sales Qualified Lead, Opportunity, Customer, Evangelist); Subscriber and "
        "Other are filtered. A lead with neither email nor phone is refused.",
    )
    contacts = people(rng, [("US", 24), ("CA", 4), ("GB", 5), ("FR", 5), ("DE", 2)])
    plan = (
        ["Lead"] * 16
        + ["Marketing Qualified Lead"] * 6
        + ["Sales Qualified Lead"] * 2
        + ["Opportunity"] * 1
        + ["Customer"] * 5
        + ["Subscriber"] * 8
        + ["Other"] * 2
    )
    rng.shuffle(plan)
    instants = window.instants(rng, len(plan), margin_s=600)
    rows = []
    record_id = 91_200_000_000 + rng.randrange(10**6)
    no_key_done = False
    for index, (stage, created) in enumerate(zip(plan, instants, strict=True)):
        person = contacts[index]
        record_id += rng.randrange(100, 40_000)
        key = str(record_id)
        no_key = stage == "Lead" and not no_key_done and index > 5
        no_key_done = no_key_done or no_key
        country = person.country
        country_text = {
            "US": rng.choice(["United States", "United States", "USA", ""]),
            "CA": "Canada",
            "GB": rng.choice(["United Kingdom", "UK"]),
            "FR": "France",
            "DE": rng.choice(["Germany", "Deutschland"]),
        }[country]
        if country_text == "Deutschland":
            country_text = "Germany"  # snapcapi reads English names; keep the row honest
        phone = mobile = ""
        if not no_key:
            if country_text:  # a national number needs the row's country to be read
                style = weighted(rng, [("national", 50), ("dashed", 20), ("international", 30)])
                if style == "dashed" and country not in ("US", "CA"):
                    style = "national"
            else:
                style = "us_dashed_intl"
            if rng.random() < 0.7:
                phone = phone_text(person.e164, country, style)
            elif rng.random() < 0.6:
                mobile = phone_text(person.e164, country, style)
        email = (
            ""
            if no_key or (index % 11 == 4 and (phone or mobile))
            else person.messy_email(rng, 0.3)
        )
        local = created.astimezone(NEW_YORK)
        last_activity = ""
        if rng.random() < 0.6:
            then = created + dt.timedelta(hours=rng.randrange(1, 72))
            if then < window.end:
                last_activity = then.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M")
        rows.append(
            {
                "Record ID": key,
                "First Name": person.first,
                "Last Name": person.last,
                "Email": email,
                "Phone Number": phone,
                "Mobile Phone Number": mobile,
                "Contact owner": rng.choice(["Dana Whitfield", "Marco Esposito", ""]),
                "Company Name": rng.choice(
                    [
                        "",
                        "",
                        "Brightline Studio",
                        "Harbor & Pine LLC",
                        "Atelier Nord",
                        "Kestrel Analytics",
                    ]
                ),
                "Lifecycle Stage": stage,
                "Lead Status": rng.choice(
                    ["New", "Open", "In progress", "Attempted to contact", ""]
                )
                if stage not in ("Subscriber", "Other")
                else "",
                "Marketing contact status": rng.choice(
                    ["Marketing contact", "Non-marketing contact"]
                ),
                "City": person.city if rng.random() < 0.8 else "",
                "State/Region": (person.state if rng.random() < 0.6 else person.state_name)
                if country in ("US", "CA")
                else "",
                "Postal Code": person.zip if rng.random() < 0.7 else "",
                "Country/Region": country_text,
                "Create Date": local.strftime("%Y-%m-%d %H:%M"),
                "Last Activity Date": last_activity,
                "Original Traffic Source": rng.choice(
                    [
                        "Organic Search",
                        "Paid Social",
                        "Direct Traffic",
                        "Email Marketing",
                        "Referrals",
                        "Offline Sources",
                    ]
                ),
            }
        )
        created_minute = epoch(local.replace(second=0))
        if stage in ("Subscriber", "Other"):
            expected.refused(key, "filtered", f"Lifecycle Stage is {stage}")
        elif no_key:
            expected.refused(key, "invalid", "no email and no phone: no matching key")
        else:
            expected.sent(key, event_name="SIGN_UP", event_time=created_minute, line_items=0)
        raw = phone or mobile
        if raw and country_text and len(expected.phones) < 5 and not raw.startswith("+"):
            expected.phone(
                key, "Phone Number" if phone else "Mobile Phone Number", raw, country, person.e164
            )
        if email:
            expected.email(key, "Email", email)
    rows.reverse()  # the view is sorted by Create Date, newest first
    expected.rows = write_csv(out / "hubspot_contacts.csv", HUBSPOT_HEADER, rows)
    return expected


# ------------------------------------------------------------------------------ Segment

SEGMENT_HEADER = [
    "id",
    "received_at",
    "sent_at",
    "timestamp",
    "original_timestamp",
    "uuid_ts",
    "event",
    "event_text",
    "user_id",
    "anonymous_id",
    "context_ip",
    "context_user_agent",
    "context_page_url",
    "context_page_path",
    "context_page_title",
    "context_page_referrer",
    "context_library_name",
    "context_library_version",
    "context_locale",
    "context_campaign_source",
    "context_campaign_medium",
    "context_campaign_name",
    "context_traits_email",
    "context_traits_phone",
    "context_traits_first_name",
    "context_traits_last_name",
    "context_traits_address_city",
    "context_traits_address_state",
    "context_traits_address_postal_code",
    "context_traits_address_country",
    "order_id",
    "checkout_id",
    "affiliation",
    "total",
    "subtotal",
    "revenue",
    "shipping",
    "tax",
    "discount",
    "coupon",
    "currency",
    "products",
]
SEGMENT_PRODUCTS = [
    ("507f1f77bcf86cd799439011", "KL-KNIFE-8", 'Chef Knife 8"', "Kitchen", "129.00"),
    ("507f1f77bcf86cd799439012", "KL-BOARD-WAL", "Walnut Cutting Board", "Kitchen", "74.00"),
    ("507f1f77bcf86cd799439013", "KL-PAN-10", 'Carbon Steel Pan 10"', "Cookware", "65.00"),
    ("507f1f77bcf86cd799439014", "KL-APRON-DNM", "Denim Apron", "Textiles", "42.00"),
    ("507f1f77bcf86cd799439015", "KL-SALT-3", "Finishing Salt Trio", "Pantry", "24.50"),
    ("507f1f77bcf86cd799439016", "KL-HONE-ROD", "Ceramic Honing Rod", "Kitchen", "38.00"),
]


def segment(out: Path, window: Window) -> Expected:
    rng = random.Random(f"{SEED}:segment")
    expected = Expected(
        "segment",
        ["id"],
        "Every row is an Order Completed, sent as a PURCHASE with value = total. The rows "
        "sent by analytics-node from the order service have no page URL, so as WEB events "
        "snapcapi refuses them (WEB needs event_source_url).",
    )
    customers = people(rng, [("US", 30), ("CA", 6)])
    count = 42
    instants = window.instants(rng, count, margin_s=600)
    server_rows = {5, 17, 31}
    rows = []
    order = 30_100 + rng.randrange(100)
    for index, created in enumerate(instants):
        person = customers[index % len(customers)]
        server = index in server_rows
        known = server or rng.random() < 0.75
        order += rng.randrange(1, 9)
        picks = rng.sample(SEGMENT_PRODUCTS, weighted(rng, [(1, 55), (2, 30), (3, 15)]))
        products = [
            {
                "product_id": pid,
                "sku": sku,
                "name": name,
                "category": cat,
                "brand": "Keel & Ladle",
                "price": float(Decimal(price)),
                "quantity": weighted(rng, [(1, 85), (2, 15)]),
            }
            for pid, sku, name, cat, price in picks
        ]
        subtotal = sum((Decimal(str(p["price"])) * p["quantity"] for p in products), Decimal(0))
        coupon = "HOLIDAY15" if rng.random() < 0.2 else ""
        discount = money(subtotal * Decimal("0.15")) if coupon else Decimal(0)
        shipping = Decimal(0) if subtotal >= 100 else Decimal("7.50")
        tax = money((subtotal - discount) * Decimal("0.0625"))
        total = subtotal - discount + shipping + tax
        currency = "CAD" if person.country == "CA" else "USD"
        sent_at = created + dt.timedelta(milliseconds=rng.randrange(40, 900))
        received = sent_at + dt.timedelta(milliseconds=rng.randrange(30, 400))
        millis = rng.randrange(1000)
        phone = ""
        if known and rng.random() < 0.6:
            style = weighted(rng, [("e164", 50), ("us_dashed_intl", 20), ("national", 30)])
            phone = phone_text(person.e164, person.country, style)
        library = ("analytics-node", "2.1.2") if server else ("analytics.js", "next-1.74.0")
        anonymous = rand_uuid(rng)
        message = (
            f"node-next-{epoch(created)}{millis:03d}-{rand_uuid(rng)}"
            if server
            else f"ajs-next-{epoch(created)}{millis:03d}-{rand_uuid(rng)}"
        )
        campaign = weighted(
            rng,
            [
                (("", "", ""), 70),
                (("snapchat", "paid_social", "holiday_gifting"), 20),
                (("newsletter", "email", "weekly_1124"), 10),
            ],
        )
        rows.append(
            {
                "id": message,
                "received_at": iso_z(received, received.microsecond // 1000),
                "sent_at": iso_z(sent_at, sent_at.microsecond // 1000),
                "timestamp": iso_z(created, millis),
                "original_timestamp": iso_z(created, millis),
                "uuid_ts": iso_z(received + dt.timedelta(minutes=rng.randrange(5, 50))),
                "event": "order_completed",
                "event_text": "Order Completed",
                "user_id": f"usr_{rng.randrange(100000, 999999)}" if known else "",
                "anonymous_id": "" if server else anonymous,
                "context_ip": documentation_ip(rng),
                "context_user_agent": "" if server else rng.choice(USER_AGENTS),
                "context_page_url": ""
                if server
                else f"https://www.keel-and-ladle.example.com/checkout/thank-you?order={order}",
                "context_page_path": "" if server else "/checkout/thank-you",
                "context_page_title": "" if server else "Thank you – Keel & Ladle",
                "context_page_referrer": ""
                if server
                else "https://www.keel-and-ladle.example.com/checkout/payment",
                "context_library_name": library[0],
                "context_library_version": library[1],
                "context_locale": "" if server else ("en-CA" if currency == "CAD" else "en-US"),
                "context_campaign_source": campaign[0],
                "context_campaign_medium": campaign[1],
                "context_campaign_name": campaign[2],
                "context_traits_email": person.messy_email(rng, 0.2).strip() if known else "",
                "context_traits_phone": phone,
                "context_traits_first_name": person.first if known else "",
                "context_traits_last_name": person.last if known else "",
                "context_traits_address_city": person.city if known else "",
                "context_traits_address_state": person.state if known else "",
                "context_traits_address_postal_code": person.zip if known else "",
                "context_traits_address_country": person.country if known else "",
                "order_id": str(order),
                "checkout_id": rand_id(rng, 20, "0123456789abcdef"),
                "affiliation": "Online Store",
                "total": plain_number(total),
                "subtotal": plain_number(subtotal),
                "revenue": plain_number(subtotal - discount),
                "shipping": plain_number(shipping),
                "tax": plain_number(tax),
                "discount": plain_number(discount),
                "coupon": coupon,
                "currency": currency,
                "products": json.dumps(products, separators=(",", ":")),
            }
        )
        key = message
        if server:
            expected.refused(
                key,
                "invalid",
                "sent server-side: no context_page_url, and WEB events need event_source_url",
            )
        else:
            expected.sent(
                key,
                event_name="PURCHASE",
                event_time=epoch(created),
                value=float(money(total)),
                currency=currency,
                order_id=str(order),
                line_items=len(products),
            )
        if phone and not phone.startswith("+") and len(expected.phones) < 4:
            expected.phone(key, "context_traits_phone", phone, person.country, person.e164)
        if rows[-1]["context_traits_email"]:
            expected.email(key, "context_traits_email", rows[-1]["context_traits_email"])
    expected.rows = write_csv(out / "segment_order_completed.csv", SEGMENT_HEADER, rows)
    return expected


# ------------------------------------------------------------------------------ RudderStack

RUDDER_HEADER = [
    "id",
    "anonymous_id",
    "user_id",
    "channel",
    "event",
    "event_text",
    "timestamp",
    "original_timestamp",
    "sent_at",
    "received_at",
    "uuid_ts",
    "context_ip",
    "context_request_ip",
    "context_user_agent",
    "context_locale",
    "context_library_name",
    "context_library_version",
    "context_page_url",
    "context_page_path",
    "context_page_title",
    "context_page_referrer",
    "context_session_id",
    "context_traits_email",
    "context_source_id",
    "context_source_type",
    "context_destination_id",
    "context_destination_type",
]
RUDDER_PAGES = [
    "/products/linen-duvet-cover",
    "/products/waffle-towel-set",
    "/products/wool-throw-charcoal",
    "/products/stoneware-vase",
]


def rudderstack(out: Path, window: Window) -> Expected:
    rng = random.Random(f"{SEED}:rudderstack")
    expected = Expected(
        "rudderstack",
        ["id"],
        "Sent: Product Added as ADD_CART and Checkout Started as START_CHECKOUT (the tracks "
        "table has no product or revenue columns, so no contents and no value). Order "
        "Completed rows are filtered: a PURCHASE needs value and currency, which RudderStack "
        "keeps in the order_completed table, not in tracks. Anonymous rows still match on "
        "context_ip + context_user_agent.",
    )
    shoppers = people(rng, [("US", 28), ("CA", 4)])
    journeys = 28
    starts = window.instants(rng, journeys, margin_s=3 * 3600)
    rows = []
    source_id = "2Q" + rand_id(rng, 25)
    destination_id = "2Q" + rand_id(rng, 25)
    for index, start in enumerate(starts):
        person = shoppers[index % len(shoppers)]
        known = rng.random() < 0.6
        anonymous = rand_uuid(rng)
        user = f"{rng.randrange(10**5, 10**6)}" if known else ""
        ip = documentation_ip(rng)
        agent = rng.choice(USER_AGENTS)
        session = str(epoch(start) * 1000 + rng.randrange(1000))
        steps = ["product_added"]
        if rng.random() < 0.3:
            steps.append("product_added")
        if rng.random() < 0.7:
            steps.append("checkout_started")
            if rng.random() < 0.8:
                steps.append("order_completed")
        clock = start
        for step in steps:
            clock += dt.timedelta(seconds=rng.randrange(15, 600))
            millis = rng.randrange(1000)
            sent = clock + dt.timedelta(milliseconds=rng.randrange(50, 1500))
            received = sent + dt.timedelta(milliseconds=rng.randrange(20, 300))
            path = {
                "product_added": rng.choice(RUDDER_PAGES),
                "checkout_started": "/checkout",
                "order_completed": "/checkout/confirmation",
            }[step]
            text = {
                "product_added": "Product Added",
                "checkout_started": "Checkout Started",
                "order_completed": "Order Completed",
            }[step]
            message = rand_uuid(rng)
            rows.append(
                {
                    "id": message,
                    "anonymous_id": anonymous,
                    "user_id": user,
                    "channel": "web",
                    "event": step,
                    "event_text": text,
                    "timestamp": iso_z(clock, millis),
                    "original_timestamp": iso_z(clock, millis),
                    "sent_at": iso_z(sent, sent.microsecond // 1000),
                    "received_at": iso_z(received, received.microsecond // 1000),
                    "uuid_ts": iso_z(received + dt.timedelta(minutes=rng.randrange(30, 90))),
                    "context_ip": ip,
                    "context_request_ip": ip,
                    "context_user_agent": agent,
                    "context_locale": "en-CA" if person.country == "CA" else "en-US",
                    "context_library_name": "RudderLabs JavaScript SDK",
                    "context_library_version": "3.11.2",
                    "context_page_url": f"https://home.example.org{path}",
                    "context_page_path": path,
                    "context_page_title": "Linden & Loom"
                    if step != "product_added"
                    else f"{path.rsplit('/', 1)[1].replace('-', ' ').title()} – Linden & Loom",
                    "context_page_referrer": "https://home.example.org/collections/bedroom",
                    "context_session_id": session,
                    "context_traits_email": person.messy_email(rng, 0.2).strip() if known else "",
                    "context_source_id": source_id,
                    "context_source_type": "Javascript",
                    "context_destination_id": destination_id,
                    "context_destination_type": "BQ",
                }
            )
            if step == "order_completed":
                expected.refused(
                    message,
                    "filtered",
                    "event is order_completed: a PURCHASE "
                    "needs value and currency, which the tracks table lacks",
                )
            else:
                expected.sent(
                    message,
                    event_name="ADD_CART" if step == "product_added" else "START_CHECKOUT",
                    event_time=epoch(clock),
                    line_items=0,
                    anonymous=not known,
                )
            if rows[-1]["context_traits_email"]:
                expected.email(message, "context_traits_email", rows[-1]["context_traits_email"])
    rows.sort(key=lambda r: r["timestamp"])
    expected.rows = write_csv(out / "rudderstack_tracks.csv", RUDDER_HEADER, rows)
    return expected


# ------------------------------------------------------------------------------ main

FILES = {
    "shopify_orders.csv": shopify,
    "woocommerce_orders.csv": woocommerce,
    "stripe_payments.csv": stripe,
    "ga4_events.jsonl": ga4,
    "hubspot_contacts.csv": hubspot,
    "segment_order_completed.csv": segment,
    "rudderstack_tracks.csv": rudderstack,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="folder to write into (default: this script's folder)",
    )
    parser.add_argument(
        "--today",
        type=dt.date.fromisoformat,
        default=dt.datetime.now(UTC).date(),
        help="YYYY-MM-DD; every event falls in the six days before it (default: today's UTC date)",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    window = Window(args.today)
    files = {name: make(args.out, window).to_json() for name, make in FILES.items()}
    summary = {
        "today": args.today.isoformat(),
        "window": {"from": window.start.isoformat(), "to": window.end.isoformat()},
        "how_to_read": (
            "Per file: rows = data rows (CSV records, not lines; JSONL lines); send = the "
            "ids (values of key_columns, joined with '|') a preset should send, with each "
            "event's Snap name, Unix event_time, value, currency, order_id and line_items "
            "(the contents it carries); must_not_send = ids the preset filters out (why: "
            "filtered) or snapcapi refuses (why: invalid); phones = raw numbers with the "
            "digits they normalize to, read in the row's country; emails = messy emails "
            "with their normalized form."
        ),
        "files": files,
    }
    text = compact_json(summary) + "\n"
    (args.out / "expected.json").write_text(text, encoding="utf-8")
    for name, facts in files.items():
        print(
            f"{name:30} {facts['rows']:4} rows  {len(facts['send']):3} to send  "
            f"{len(facts['must_not_send']):3} not"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

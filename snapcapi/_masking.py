"""Masked forms of identifiers, for messages, warnings and reprs (and their counts).

A masked value keeps just enough to recognise a record while debugging (``p*****@e******.com``,
``*********53``) and never enough to recover the identifier.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from snapcapi import _iso

__all__ = [
    "echo",
    "echo_amount",
    "echo_code",
    "echo_masked",
    "echo_time",
    "mask",
    "mask_email",
    "plural",
]

#: Masked forms are cut to about this width: a 5,000-character value must not make a
#: 5,000-character message (or report cell).
_MASK_WIDTH = 40


def plural(count: int, noun: str) -> str:
    """Count a noun for a message: ``"1 event"``, ``"2,000 events"``."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _mask_word(word: str) -> str:
    if len(word) <= 1:
        return "*" * len(word)
    if len(word) > _MASK_WIDTH:
        return word[0] + "*" * 12 + "…"
    return word[0] + "*" * (len(word) - 1)


def mask_email(value: str) -> str:
    """Mask an email address: the first letter of the local part and of the domain survive."""
    local, at, domain = value.strip().rpartition("@")
    if not at:
        return mask(value)
    host, dot, tld = domain.rpartition(".")
    if not dot:
        return f"{_mask_word(local)}@{_mask_word(domain)}"
    return f"{_mask_word(local)}@{_mask_word(host)}.{tld}"


def mask(value: object) -> str:
    """Mask any identifier: its first character and, for long values, its last two survive."""
    text = str(value).strip()
    if len(text) <= 2:
        return "*" * len(text)
    if len(text) < 6:
        return text[0] + "*" * (len(text) - 1)
    if len(text) > _MASK_WIDTH:
        return text[0] + "*" * 12 + "…" + text[-2:]
    return text[0] + "*" * (len(text) - 3) + text[-2:]


def echo(value: object) -> str:
    """Show a value the user gave in an error message, masked if it might be personal data.

    Names of things (an event name, a currency, a column) are shown as given, which is what
    makes the message useful. Anything that looks like an identifier (an ``@``, several digits,
    or long text, as when CSV columns are shifted) is masked.
    """
    if not isinstance(value, str):
        return type(value).__name__
    text = value.strip()
    digits = sum(ch.isdigit() for ch in text)
    if len(text) > 40 or "@" in text or digits >= 5:
        return echo_masked(text)
    return repr(text)


def echo_masked(value: object) -> str:
    """Show a value in an error message masked, quoted: ``'j*******@e******.com'``.

    For fields whose value may be personal data whatever it looks like (a name where a
    number or a code belongs, as when a mapping points at the wrong column). Values that are
    not text show as their type's name.
    """
    if not isinstance(value, str):
        return type(value).__name__
    text = value.strip()
    return repr(mask_email(text) if "@" in text else mask(text))


def echo_code(value: object, *known: Collection[str]) -> str:
    """Show a value given for a field of codes (an event name, a currency, a country).

    Such a field is where a careless mapping puts a name or an email, so the value is quoted
    only when it is one of the codes in ``known`` (as written, trimmed) or an ISO 3166-1 or
    ISO 4217 code in capitals (``'US'``, ``'GBR'``, ``'USD'``), which are nobody's data.
    Anything else is masked (:func:`echo_masked`).
    """
    if isinstance(value, str):
        text = value.strip()
        if text in _ISO_CODES or any(text in vocabulary for vocabulary in known):
            return repr(text)
    return echo_masked(value)


# Codes that are nobody's data, quoted back in messages: ISO 3166-1 alpha-2 and alpha-3 and
# ISO 4217, in capitals ("short all-caps codes that exist").
_ISO_CODES: frozenset[str] = frozenset(
    {code.upper() for code in _iso.COUNTRY_NAMES}
    | {key.upper() for key in _iso.COUNTRY_ALIASES if len(key) == 3}
    | _iso.CURRENCIES
)

# A time as exports write them: a date with - / . or a clock with ':' (a phone has neither).
_TIME_LIKE = re.compile(
    r"[\dTtZz:+\-/. ,]*(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}|\d{1,2}:\d{2})"
    r"[\dTtZz:+\-/. ,]*(?:[AaPp][Mm]|UTC|GMT)?[\dTtZz:+\-/. ,]*"
)
# An amount: digits with a decimal or thousands separator, perhaps a currency sign or code.
_AMOUNT_LIKE = re.compile(r"[-+]?[$€£¥]?\s?\d{1,12}(?:[.,' ]\d{1,3})+\s?(?:[$€£¥]|[A-Za-z]{3})?")


def echo_time(value: object) -> str:
    """Show a time the user gave as it was written, unless it might be personal data.

    Dates and clock times (``2026-11-20 14:22:10``, ``11/20/2026 2:22 PM``) are no one's
    identifiers and the message is useless without them; anything else goes through
    :func:`echo_masked` (a time field is where a shifted column puts a name or a phone).
    """
    if isinstance(value, str) and len(value.strip()) <= 40 and _TIME_LIKE.fullmatch(value.strip()):
        return repr(value.strip())
    return echo_masked(value)


def echo_amount(value: object) -> str:
    """Show an amount the user gave (``1.200,50``, ``49,00 €``) as written; else masked."""
    if isinstance(value, str) and len(value) <= 40 and _AMOUNT_LIKE.fullmatch(value.strip()):
        return repr(value.strip())
    return echo_masked(value)

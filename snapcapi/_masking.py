"""Masked forms of identifiers, for messages, warnings and reprs (and their counts).

A masked value keeps just enough to recognise a record while debugging (``p*****@e******.com``,
``*********53``) and never enough to recover the identifier.
"""

from __future__ import annotations

import re

__all__ = ["echo", "echo_amount", "echo_time", "mask", "mask_email", "plural"]


def plural(count: int, noun: str) -> str:
    """Count a noun for a message: ``"1 event"``, ``"2,000 events"``."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _mask_word(word: str) -> str:
    if len(word) <= 1:
        return "*" * len(word)
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
        return repr(mask_email(text) if "@" in text else mask(text))
    return repr(text)


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
    :func:`echo`.
    """
    if isinstance(value, str) and len(value.strip()) <= 40 and _TIME_LIKE.fullmatch(value.strip()):
        return repr(value.strip())
    return echo(value)


def echo_amount(value: object) -> str:
    """Show an amount the user gave (``1.200,50``, ``49,00 €``) as written; else :func:`echo`."""
    if isinstance(value, str) and _AMOUNT_LIKE.fullmatch(value.strip()):
        return repr(value.strip())
    return echo(value)

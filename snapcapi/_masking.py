"""Masked forms of identifiers, for messages, warnings and reprs.

A masked value keeps just enough to recognise a record while debugging (``p*****@e******.com``,
``*********53``) and never enough to recover the identifier.
"""

from __future__ import annotations

__all__ = ["echo", "mask", "mask_email"]


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

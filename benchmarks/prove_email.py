"""Prove the email fast path for non-ASCII local parts equal to email-validator.

``snapcapi.normalize.email`` accepts an internationalized local part before a plain ASCII
domain (``chloé.garcía12@example.com``) without calling email-validator when
``_email_fast_intl_ok`` says yes, and asks email-validator for everything else. This tool
generates addresses and compares, for each one, ``normalize.email`` as shipped with a
reference that always asks email-validator (``validator_only``): the same address, or the
same error (field and message). For every address the fast path accepted it also checks
directly that email-validator accepts it and normalizes it to the same string. A
disagreement prints the input and exits 1.

The generator mixes addresses shaped like customer exports (accented first and last names,
tags, digits, domains of several countries in any case, spaces around) with adversarial ones:

* local parts with characters of every Unicode general category (letters of every script,
  combining marks first, after a dot and later, spaces ``Zs``/``Zl``/``Zp``, controls, format
  characters, private use, unassigned code points, lone surrogates), written NFC or NFD;
* characters whose lowercase is not NFC or changes length (``İ``, ``Å`` as U+212B, ``ẞ``);
* the full-width ``＠`` (U+FF20) and the small ``﹫`` (U+FE6B), quotes, angle brackets,
  backslashes, a second ``@``, dots at the edges or doubled, every ASCII special;
* quoted local parts, display names;
* IDNA domains in Unicode, Punycode ``xn--`` labels (valid and not), ``--`` in labels,
  special-use top-level domains, labels of 63 and 64 characters, numeric top-level domains;
* lengths around 64 characters before the ``@`` and 254 UTF-8 bytes in all, counted with
  characters of one to four bytes.

It reports how many examples the fast path accepted (those are the ones proven), how many
non-ASCII addresses email-validator accepted (what the fast path could have taken), and the
disagreements (which must be 0).

Usage: ``python benchmarks/prove_email.py --examples 5000000 [--seed S] [--jobs N]``
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import unicodedata
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor

import email_validator

from snapcapi import normalize
from snapcapi._masking import mask_email
from snapcapi.errors import ValidationError

_FIRST = (
    "Chloé", "José", "Zoë", "Raphaël", "François", "Björn", "Łukasz", "Siobhán", "Renée",
    "Jürgen", "Anaïs", "Noémie", "Søren", "Émile", "Inès", "Ana-María", "Jean-Luc", "Sofía",
    "İlkay", "Çağla", "Şule", "Øystein", "Ærø", "Ðorđe", "Žofia", "Ólafur", "Þóra", "Dũng",
    "Nguyễn", "Σωκράτης", "Дмитрий", "Олена", "Ιωάννα", "محمد", "דוד", "अमित", "ப்ரியா",
    "สมชาย", "王伟", "さくら", "지민", "James", "Mary", "Wei", "Priya", "Hiroshi",
)  # fmt: skip
_LAST = (
    "García", "Müller", "Ñúñez", "Dubois", "Brontë", "Schröder", "Łukasiewicz", "Fernández",
    "Lefèvre", "O'Neil", "Da Silva", "Smith-Jones", "Straße", "Åström", "Yılmaz", "Öztürk",
    "Trần", "Παπαδόπουλος", "Иванов", "Шевченко", "כהן", "शर्मा", "李", "山田", "김",
    "Smith", "Patel", "Okafor",
)  # fmt: skip
_DOMAINS = (
    "gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.co.uk", "web.de", "gmx.de",
    "t-online.de", "orange.fr", "free.fr", "laposte.net", "proton.me", "telefonica.net",
    "yahoo.es", "optusnet.com.au", "mail.shop-uk.co.uk", "acme-corp.com", "mail.ru", "qq.com",
)  # fmt: skip
_ODD_DOMAINS = (
    "exämple.de", "bücher.de", "例え.jp", "почта.рф", "xn--bcher-kva.de", "xn--zz.com",
    "xn--ls8h.la", "ab--cd.com", "a-.com", "-a.com", "example", "example.test", "x.localhost",
    "a.invalid", "b.onion", "c.local", "d.arpa", "e.123", "example.com.", "example..com",
    "ex_ample.com", "ｅｘａｍｐｌｅ.com", "example．com", "example。com", "ex\u200dample.com",
    "ex ample.com", "[127.0.0.1]", "a.b.c.d.e.f.g.example.museum", "EXAMPLE.COM",
    "Xn--Bcher-Kva.de",
    "x" * 63 + ".com", "x" * 64 + ".com", "a." + "b" * 24 + "z", "a." + "b" * 25 + "z",
)  # fmt: skip
_TAGS = ("shop", "news", "orders", "promo", "2024", "snap")
_ASCII_SPECIALS = "!#$%&'*/=?^`{|}~_+-.\"<>@\\()[],;: \t"
_TRICKY = (
    "\uff20", "\ufe6b", "\u0130", "\u212b", "\u212a", "\u2126", "\u1e9e", "\u03a3", "\u00df",
    "\u0307", "\u0301", "\u0338", "\u00a0", "\u2028", "\u2029", "\u200b", "\u200d", "\u202e",
    "\ufeff", "\u00ad", "\ue000", "\U000f0000", "\u0378", "\U000e0001", "\u3000", "\uff0e",
    "\u3002", "\u00c5", "A\u030a", "\ufb01", "\u2460", "\u00bd", "\u0085", "\u007f", "\x00",
)  # fmt: skip


def _by_category() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for point in range(0x80, 0x110000):
        char = chr(point)
        found.setdefault(unicodedata.category(char), []).append(char)
    return found


_CATEGORIES = _by_category()
_CATEGORY_NAMES = sorted(_CATEGORIES)
_MULTIBYTE = ("é", "€", "\U0001f600", "a")  # one char of each UTF-8 length, 2, 3, 4 and 1 bytes


def _any_char(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.5:
        return rng.choice(_CATEGORIES[rng.choice(_CATEGORY_NAMES)])
    if roll < 0.75:
        return rng.choice(_TRICKY)
    if roll < 0.9:
        return rng.choice(_ASCII_SPECIALS)
    return chr(rng.randint(0x80, 0x10FFFF))


def _name_local(rng: random.Random) -> str:
    first = rng.choice(_FIRST).replace("'", "")
    last = rng.choice(_LAST).replace("'", "").replace(" ", "")
    n = rng.randint(1, 99999)
    return rng.choice(
        (
            f"{first}.{last}{n}",
            f"{first}{last}{n}",
            f"{first[0]}{last}{n}",
            f"{first}_{last}.{n}",
            f"{first}.{last}+{rng.choice(_TAGS)}{n}",
            f"{last}.{first}.{n}",
            f"{first}-{last}",
        )
    )


def _mutate(rng: random.Random, local: str) -> str:
    """Insert, replace or append characters of any class, or break the dots."""
    chars = list(local)
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        at = rng.randint(0, len(chars))
        if roll < 0.45:
            chars.insert(at, _any_char(rng))
        elif roll < 0.65 and chars:
            chars[min(at, len(chars) - 1)] = _any_char(rng)
        elif roll < 0.75:
            chars.insert(0, rng.choice(_CATEGORIES[rng.choice(("Mn", "Mc", "Me"))]))
        elif roll < 0.85:
            chars.insert(at, "." + rng.choice(_CATEGORIES[rng.choice(("Mn", "Mc", "Me"))]))
        elif roll < 0.9:
            chars.insert(at, "..")
        elif roll < 0.95:
            chars.insert(rng.choice((0, len(chars))), ".")
        else:
            chars.append(rng.choice(_CATEGORIES[rng.choice(("Mn", "Mc", "Me"))]))
    return "".join(chars)


def _long_local(rng: random.Random, domain: str) -> str:
    """A local part that brings the address near 254 UTF-8 bytes, or near 64 characters."""
    if rng.random() < 0.5:
        target = rng.randint(60, 68)
        return "".join(rng.choice(_MULTIBYTE) for _ in range(target))
    budget = rng.randint(240, 262) - len(domain.encode("utf-8")) - 1
    chars: list[str] = []
    while budget > 0:
        char = rng.choice(_MULTIBYTE)
        size = len(char.encode("utf-8"))
        if size > budget:
            char, size = "a", 1
        chars.append(char)
        budget -= size
    return "".join(chars)


def _case(rng: random.Random, text: str) -> str:
    roll = rng.random()
    if roll < 0.5:
        return text
    if roll < 0.65:
        return text.upper()
    if roll < 0.8:
        return text.capitalize()
    return "".join(c.upper() if rng.random() < 0.5 else c for c in text)


def _domain(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.8:
        domain = rng.choice(_DOMAINS)
    elif roll < 0.95:
        domain = rng.choice(_ODD_DOMAINS)
    else:
        label = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789-") for _ in range(8))
        domain = f"{label}.{rng.choice(('com', 'de', 'test', 'x1', 'co', 'onion'))}"
    return _case(rng, domain)


def generate(seed: int, count: int) -> Iterator[str]:
    """Yield ``count`` raw email values, the same ones for the same seed."""
    rng = random.Random(seed)
    for _ in range(count):
        domain = _domain(rng)
        roll = rng.random()
        if roll < 0.55:
            local = _name_local(rng)
        elif roll < 0.85:
            local = _mutate(rng, _name_local(rng))
        elif roll < 0.9:
            local = _long_local(rng, domain)
        elif roll < 0.94:
            local = '"' + _mutate(rng, _name_local(rng)) + '"'
        else:
            local = "".join(_any_char(rng) for _ in range(rng.randint(1, 6)))
        form = rng.random()
        if form < 0.1:
            local = unicodedata.normalize("NFD", local)
        elif form < 0.35:
            local = _case(rng, local)
        address = f"{local}@{domain}"
        if rng.random() < 0.02:
            address = f"Name <{address}>"
        if rng.random() < 0.2:
            address = rng.choice((" ", "  ", "\t")) + address + rng.choice(("", " ", "\n"))
        yield address


def validator_only(value: str) -> str:
    """``normalize.email`` as it was before any fast path: email-validator judges every address."""
    text = normalize._text(value, "email")
    address = text.lower() if text.isascii() else unicodedata.normalize("NFC", text).lower()
    try:
        email_validator.validate_email(address, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        detail = normalize._masked_detail(str(exc), address)
        raise ValidationError(
            "email", f"{mask_email(address)} is not a valid email address ({detail})"
        ) from None
    return address


def _outcome(function: object, value: str) -> str:
    assert callable(function)
    try:
        return "ok " + str(function(value))
    except ValidationError as exc:
        return f"ValidationError({exc.field!r}, {str(exc)!r})"


_FAST = normalize._email_fast_intl_ok


def _validator_normalized(address: str) -> str | None:
    try:
        found = email_validator.validate_email(address, check_deliverability=False)
    except email_validator.EmailNotValidError:
        return None
    return str(found.normalized)


def check(seed: int, count: int) -> tuple[int, int, int, list[str]]:
    """Compare both paths on one seeded chunk.

    Returns (examples, accepted by the fast path, non-ASCII addresses email-validator accepted,
    disagreements).
    """
    accepted = 0
    diffs: list[str] = []

    def counting(address: str) -> bool:
        nonlocal accepted
        ok = _FAST(address)
        if ok:
            accepted += 1
            normalized = _validator_normalized(address)
            if normalized != address:
                diffs.append(f"{address!r}: fast path accepts, email-validator: {normalized!r}")
        return ok

    normalize._email_fast_intl_ok = counting  # email() looks it up at each call
    possible = 0
    try:
        for value in generate(seed, count):
            fast = _outcome(normalize.email, value)
            full = _outcome(validator_only, value)
            if fast != full:
                diffs.append(f"{value!r}: email() {fast} | validator only {full}")
            elif full.startswith("ok ") and not full.isascii():
                possible += 1
    finally:
        normalize._email_fast_intl_ok = _FAST
    return count, accepted, possible, diffs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--examples", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--chunk", type=int, default=50_000)
    args = parser.parse_args(argv)
    chunks = [
        (args.seed * 1_000_003 + i, min(args.chunk, args.examples - start))
        for i, start in enumerate(range(0, args.examples, args.chunk))
    ]
    start = time.perf_counter()
    total = accepted = possible = 0
    diffs: list[str] = []
    with ProcessPoolExecutor(args.jobs) as pool:
        for count, fast, could, found in pool.map(check, *zip(*chunks, strict=True)):
            total += count
            accepted += fast
            possible += could
            diffs += found
    took = time.perf_counter() - start
    print(
        f"email-validator {email_validator.__version__}: {total:,} examples in {took:.0f} s "
        f"({total / max(took, 1e-9):,.0f}/s); {accepted:,} ({accepted / max(total, 1):.1%}) "
        f"accepted by the fast path of {possible:,} non-ASCII addresses email-validator accepts "
        f"({accepted / max(possible, 1):.1%}), the rest by email-validator on both sides; "
        f"{total - len(diffs):,} agreed, {len(diffs)} disagreements"
    )
    for line in diffs[:20]:
        print("  " + line)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())

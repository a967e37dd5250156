"""The email fast path for non-ASCII local parts agrees with email-validator; a wrong one fails.

``normalize.email`` returns an address with an internationalized local part before a plain
ASCII domain without asking email-validator when ``_email_fast_intl_ok`` says yes. These tests
compare it with email-validator itself (the fast path accepts only what email-validator accepts,
normalized to the same string) and ``normalize.email`` with ``validator_only``, the function as
it was before the fast path: the same address or the same error, on every input.
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import email_validator
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from snapcapi import normalize
from snapcapi.errors import ValidationError

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "benchmarks" / "prove_email.py"


def _load_prover() -> ModuleType:
    spec = importlib.util.spec_from_file_location("prove_email", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_PROVER = _load_prover()
# normalize.email before any fast path, email-validator judging every address: the prover's
# reference, which these tests share rather than keep a second copy of.
validator_only: Callable[[str], str] = _PROVER.validator_only


def outcome(function: Callable[[str], str], value: str) -> str:
    try:
        return "ok " + function(value)
    except ValidationError as exc:
        return f"ValidationError({exc.field!r}, {str(exc)!r})"


def validator_normalized(address: str) -> str | None:
    """What email-validator makes of ``address``, or None when it refuses it."""
    try:
        found = email_validator.validate_email(address, check_deliverability=False)
    except email_validator.EmailNotValidError:
        return None
    return str(found.normalized)


def assert_fast_path_exact(address: str) -> bool:
    """The fast path's answer for ``address``, checked against email-validator when it is yes."""
    accepted = normalize._email_fast_intl_ok(address)
    if accepted:
        assert validator_normalized(address) == address
    return accepted


# --------------------------------------------------------------------------- generated addresses

_NAMES = ("chloé", "García", "Zoë", "Łukasz", "Søren", "Brontë", "Ñúñez", "İlkay", "Straße")
_NAMES += ("Σωκράτης", "Дмитрий", "محمد", "אמית", "अमित", "ப்ரியா", "王伟", "さくら", "지민")
_ASCII = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_SPECIALS = "!#$%&'*/=?^`{|}~_+-.\"<>@\\()[],;: \t"
_TRICKY = (
    "\uff20",  # FULLWIDTH COMMERCIAL AT
    "\ufe6b",  # SMALL COMMERCIAL AT
    "\u0130",  # İ: lowercases to i + combining dot above
    "\u212b",  # ANGSTROM SIGN: NFC is Å
    "\u212a",  # KELVIN SIGN: lowercases to ASCII k
    "\u1e9e",  # ẞ
    "\u03a3",  # Σ: final sigma when lowercased
    "\u0301",  # combining acute: composes with a letter before it
    "\u0307",
    "\u0338",  # combining long solidus overlay: < + U+0338 is ≮
    "\u00a0",  # Zs
    "\u3000",  # Zs
    "\u2028",  # Zl
    "\u2029",  # Zp
    "\u200b",  # Cf
    "\u200d",  # Cf
    "\u202e",  # Cf, bidi override
    "\ufeff",  # Cf
    "\u00ad",  # Cf, soft hyphen
    "\ue000",  # Co
    "\U000f0000",  # Co
    "\u0378",  # Cn
    "\U000e0001",  # Cf, language tag
    "\x85",  # Cc
    "\x7f",  # Cc
    "\ufb01",  # ﬁ ligature
    "\u2460",  # ①
    "\uff0e",  # FULLWIDTH FULL STOP
)
_MULTIBYTE = ("a", "é", "€", "\U0001f600")  # UTF-8 lengths 1, 2, 3 and 4

_local_char = st.one_of(
    st.sampled_from(_ASCII),
    st.sampled_from(_SPECIALS),
    st.sampled_from(_TRICKY),
    st.characters(min_codepoint=0x80),
    st.characters(categories=["Mn", "Mc", "Me"]),
    st.characters(categories=["Lu", "Lt", "Lm", "Lo", "Nd", "Nl", "No"]),
    st.characters(categories=["P", "S"], min_codepoint=0x80),
    st.characters(categories=["Zs", "Zl", "Zp", "Cc", "Cf", "Co", "Cn"]),
)
_realistic_domain = st.sampled_from(
    ("gmail.com", "yahoo.co.uk", "web.de", "t-online.de", "orange.fr", "proton.me", "mail.ru")
)
_odd_domain = st.sampled_from(
    (
        "exämple.de", "bücher.de", "例え.jp", "xn--bcher-kva.de", "xn--zz.com", "ab--cd.com",
        "a-.com", "-a.com", "example", "example.test", "x.localhost", "a.invalid", "b.onion",
        "c.local", "d.arpa", "e.123", "example.com.", "example..com", "ex_ample.com",
        "ｅｘａｍｐｌｅ.com", "example．com", "[127.0.0.1]", "x" * 63 + ".com", "x" * 64 + ".com",
        "a." + "b" * 24, "a." + "b" * 25, "Xn--Bcher-Kva.de",
    )
)  # fmt: skip
_ldh_domain = st.builds(
    lambda labels, tld: ".".join([*labels, tld]),
    st.lists(
        st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9\-]{0,8}", fullmatch=True), min_size=1, max_size=3
    ),
    st.one_of(
        st.sampled_from(["com", "de", "test", "local", "localhost", "invalid", "onion", "arpa"]),
        st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0", min_size=1, max_size=26),
    ),
)
_idna_domain = st.builds(
    lambda label, tld: f"{label}.{tld}",
    st.text(st.characters(categories=["Ll", "Lu", "Lo", "Mn"]), min_size=1, max_size=10),
    st.sampled_from(["com", "de", "рф", "xn--p1ai"]),
)
_domain = st.one_of(
    _realistic_domain,
    _realistic_domain.map(str.upper),
    _realistic_domain.map(str.capitalize),
    _odd_domain,
    _ldh_domain,
    _idna_domain,
)


@st.composite
def _name_local(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.sampled_from(_NAMES), min_size=1, max_size=3))
    separator = draw(st.sampled_from([".", "_", "-", "+", ""]))
    local = separator.join(parts) + draw(st.sampled_from(["", "12", "+shop", ".2024"]))
    chars = list(local)
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.integers(0, len(chars)))
        chars.insert(where, draw(st.one_of(_local_char, st.just("."), st.just(".."))))
    return "".join(chars)


@st.composite
def _near_limits(draw: st.DrawFn) -> tuple[str, str]:
    """A local part near 64 characters or an address near 254 UTF-8 bytes."""
    domain = draw(_realistic_domain)
    if draw(st.booleans()):
        return "".join(
            draw(st.lists(st.sampled_from(_MULTIBYTE), min_size=60, max_size=68))
        ), domain
    budget = draw(st.integers(240, 262)) - len(domain) - 1
    chars: list[str] = []
    while budget > 0:
        char = draw(st.sampled_from(_MULTIBYTE))
        if len(char.encode("utf-8")) > budget:
            char = "a"
        chars.append(char)
        budget -= len(char.encode("utf-8"))
    return "".join(chars), domain


@st.composite
def addresses(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 5))
    domain = draw(_domain)
    if kind <= 1:
        local = draw(_name_local())
    elif kind == 2:
        local = draw(st.text(_local_char, min_size=0, max_size=12))
    elif kind == 3:
        local, domain = draw(_near_limits())
    elif kind == 4:
        local = '"' + draw(_name_local()) + '"'
    else:
        local = draw(st.text(st.characters(min_codepoint=0x80), min_size=1, max_size=8))
    form = draw(st.sampled_from(["as is", "NFD", "upper", "lower"]))
    if form == "NFD":
        local = unicodedata.normalize("NFD", local)
    elif form == "upper":
        local = local.upper()
    elif form == "lower":
        local = local.lower()
    return f"{local}@{domain}"


_EXAMPLES = (
    # (address as email() receives it, the fast path takes its normalized form)
    ("chloé.garcía12@example.com", True),
    ("Chloé.García12@Example.COM", True),
    ("  zoë+news@gmail.com ", True),
    ("łukasz_patel.29058@proton.me", True),
    ("дмитрий.иванов@mail.ru", True),
    ("王伟2024@qq.com", True),
    ("अमित@example.com", True),  # U+093F is a spacing mark (Mc), not first
    ("a.\u0301b@example.com", True),  # a mark right after a dot is not first in the local part
    ("\u0130lkay@example.com", True),  # İ lowercases to i + U+0307: NFC, accepted
    ("\u212bsa@example.com", True),  # NFC makes Å, lowercased å
    ("a\uff20b@example.com", True),  # full-width @ is an ordinary character in a local part
    ("a\ufe6bb@example.com", True),  # so is the small @
    ("\U0001f600@example.com", True),  # So
    ("€uro@example.com", True),  # Sc
    ("ä" * 64 + "@example.com", True),
    ("\U0001f600" * 60 + "@exampleab.com", True),  # 254 UTF-8 bytes
    ("\U0001f600" * 60 + "@exampleabc.com", False),  # 255 bytes: email-validator refuses
    ("ä" * 65 + "@example.com", False),  # over 64 characters: left to email-validator
    ("a\u0301b@example.com", True),  # NFC(text) composes á
    ("\u0130\u0316@example.com", False),  # lowercased, i + U+0307 + U+0316 is not NFC
    ("\u0124\u0331@example.com", False),  # lowercased, h + U+0331 composes to ẖ
    ("\u0301b@example.com", False),  # a combining mark first: refused
    ("a\u00a0b@example.com", False),  # Zs
    ("a\u3000b@example.com", False),  # Zs
    ("a\u2028b@example.com", False),  # Zl
    ("a\u2029b@example.com", False),  # Zp
    ("a\u200bb@example.com", False),  # Cf
    ("a\u202eb@example.com", False),  # Cf
    ("a\ue000b@example.com", False),  # Co
    ("a\u0378b@example.com", False),  # Cn
    ("a\x85b@example.com", False),  # Cc
    ("é@xn--bcher-kva.de", False),  # Punycode: email-validator decodes it
    ("é@bücher.de", False),  # IDNA
    ("é@example.test", False),
    ("é@x.localhost", False),
    ("é@ab--cd.com", False),
    ("é@example", False),
    ("é@example.com.", False),
    (".é@example.com", False),
    ("é.@example.com", False),
    ("é..a@example.com", False),
    ('"é"@example.com', False),
    ('"é a"@example.com', False),
    ("é@@example.com", False),
    ("é <a@example.com>", False),
    ("Zoë <zoe@example.com>", False),
    ("é\uff20example.com", False),
    ("é\ufe6bexample.com", False),
    ("é@ｅｘａｍｐｌｅ.com", False),
    ("é@example．com", False),
)


# --------------------------------------------------------------------------- properties


@given(address=st.one_of(addresses(), st.text(max_size=80)))
@settings(max_examples=1500)
@example(address="a.\u0301b@example.com")
@example(address="\u0301b@example.com")
@example(address="i\u0307@example.com")
@example(address="\u212bsa@example.com")
@example(address="\U0001f600" * 60 + "@exampleab.com")
@example(address="\U0001f600" * 60 + "@exampleabc.com")
def test_the_fast_path_accepts_only_what_email_validator_accepts_unchanged(address: str) -> None:
    """Whenever the fast path says yes, email-validator accepts the address and keeps it."""
    assert_fast_path_exact(address)


@given(value=st.one_of(addresses(), addresses().map(lambda a: f"  {a}\t")))
@settings(max_examples=1500)
def test_email_gives_what_email_validator_alone_gives(value: str) -> None:
    """The same address or the same error (field and message) as with email-validator alone."""
    assert outcome(normalize.email, value) == outcome(validator_only, value)


@pytest.mark.parametrize(("value", "fast"), _EXAMPLES)
def test_edge_cases(value: str, fast: bool) -> None:
    text = unicodedata.normalize("NFC", value.strip()).lower()
    assert assert_fast_path_exact(text) is fast
    assert outcome(normalize.email, value) == outcome(validator_only, value)


def test_the_word_class_holds_only_letters_and_digits() -> None:
    """``\\w`` outside ASCII matches letters and digits only, which email-validator allows."""
    word = re.compile(r"\w")
    wrong = [
        f"U+{point:04X}"
        for point in range(0x80, 0x110000)
        if word.match(chr(point)) and unicodedata.category(chr(point))[0] not in "LN"
    ]
    assert wrong == []


def test_the_fast_path_takes_realistic_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Accented local parts never reach email-validator (so what is proven is what runs)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("email-validator was called")

    monkeypatch.setattr(email_validator, "validate_email", refuse)
    for value, fast in _EXAMPLES:
        if fast:
            normalize.email(value)
    assert normalize.email("Chloé.García12@Example.COM") == "chloé.garcía12@example.com"


def test_the_character_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        normalize, "_EMAIL_SAFE_CHARS", set("abcdefghijklmnopqrstuvwxyz0123456789_+-.")
    )
    monkeypatch.setattr(normalize, "_EMAIL_SAFE_CHARS_MAX", 50)
    marks = [chr(point) for point in range(0x0300, 0x0370)]  # 112 combining marks
    for mark in marks:
        assert assert_fast_path_exact(f"a{mark}@example.com") is unicodedata.is_normalized(
            "NFC", f"a{mark}"
        )
        assert assert_fast_path_exact(f"{mark}a@example.com") is False
    assert len(normalize._EMAIL_SAFE_CHARS) == 50
    assert assert_fast_path_exact("a\u036f@example.com")  # past the bound: judged, not cached


# ---------------------------------------------------------------- a broken fast path is caught


def _broken_variants() -> Iterator[Callable[[str], bool]]:
    real = normalize._email_fast_intl_ok

    def any_category(address: str) -> bool:  # forgets the category check
        local, _, domain = address.partition("@")
        clean = "".join("a" if not char.isascii() else char for char in local)
        return real(clean + "@" + domain) if "@" in address else False

    def no_nfc(address: str) -> bool:  # forgets that lower() can undo NFC
        local, _, domain = address.partition("@")
        return real(unicodedata.normalize("NFC", local) + "@" + domain)

    def any_length(address: str) -> bool:  # forgets the UTF-8 length
        local, _, domain = address.partition("@")
        return real(local[:10] + "@" + domain) if "@" in address else False

    yield any_category
    yield no_nfc
    yield any_length


@pytest.mark.parametrize("broken", list(_broken_variants()), ids=lambda f: f.__name__)
def test_a_broken_fast_path_is_caught(
    broken: Callable[[str], bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(normalize, "_email_fast_intl_ok", broken)
    assert _caught([value for value, _ in _EXAMPLES])


def _caught(values: list[str]) -> list[str]:
    """The values on which the two checks above find the fast path wrong."""
    found = []
    for value in values:
        if outcome(normalize.email, value) != outcome(validator_only, value):
            found.append(value)
            continue
        try:
            assert_fast_path_exact(unicodedata.normalize("NFC", value.strip()).lower())
        except AssertionError:
            found.append(value)
    return found


def test_the_real_fast_path_is_not_caught() -> None:
    assert _caught([value for value, _ in _EXAMPLES]) == []


# ---------------------------------------------------------------- benchmarks/prove_email.py


@pytest.fixture(scope="module")
def prove() -> ModuleType:
    return _PROVER


def test_the_generator_is_seeded_and_mixes_every_class(prove: ModuleType) -> None:
    first = list(prove.generate(7, 3000))
    assert first == list(prove.generate(7, 3000))
    assert len(set(first)) > 2500
    assert sum(not value.isascii() for value in first) > 1500
    assert any(value.lstrip().startswith('"') for value in first)
    assert any("xn--" in value.lower() for value in first)
    assert any(len(value.strip().encode("utf-8", "surrogatepass")) > 254 for value in first)
    assert any(unicodedata.category(char)[0] == "M" for value in first for char in value)
    assert any(unicodedata.category(char) in ("Cc", "Cf", "Co", "Cn") for v in first for char in v)


def test_the_prover_agrees_on_a_chunk(prove: ModuleType) -> None:
    count, accepted, possible, diffs = prove.check(11, 3000)
    assert diffs == []
    assert count == 3000
    assert accepted > 1000  # the fast path really answered: what it answered is what is proven
    assert possible >= accepted
    assert normalize._email_fast_intl_ok is prove._FAST  # check() puts the real one back


def test_the_prover_catches_a_broken_fast_path(
    prove: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prove, "_FAST", lambda address: "@" in address)
    monkeypatch.setattr(normalize, "_email_fast_intl_ok", normalize._email_fast_intl_ok)
    _, _, _, diffs = prove.check(11, 2000)
    assert diffs
    assert prove.main(["--examples", "0"]) == 0

"""Normalize identifiers exactly as Snap specifies, and hash them.

Each function takes a raw value, returns its normalized (not yet hashed) form, and raises
:class:`snapcapi.ValidationError` naming the field when the value cannot be used. They are pure
and safe to call one value at a time in a notebook::

    >>> from snapcapi import normalize
    >>> normalize.email(" Person@Example.com ")
    'person@example.com'
    >>> normalize.phone("+44 844 412 4653")
    '448444124653'
    >>> normalize.hash_value("person@example.com")
    '542d240129883c019e106e3b1b2d3f3cb3537c43c425364de8e951d5a3083345'

Every normalizer is idempotent: normalizing its own output gives the output back (for phones,
the output read back with a ``+``, since it carries its country code). The rules, and the places
where Snap's documentation is silent, are described in ``docs/normalization.md``.

Two hot paths (email and phone) first try a fast check that accepts only inputs the full
validator (``email-validator``, ``phonenumbers``) is known to accept with the same result, and
fall back to the full validator for everything else; ``tests/test_normalize.py`` proves the
equivalence with property tests.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import hashlib
import ipaddress
import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

import email_validator
import phonenumbers

from snapcapi import _iso
from snapcapi._convert import check_unicode
from snapcapi._masking import echo_code, mask, mask_email
from snapcapi.errors import Remedy, ValidationError
from snapcapi.problems import PHONE_NO_COUNTRY_CODE

__all__ = [
    "city",
    "country",
    "date_of_birth",
    "email",
    "external_id",
    "gender",
    "hash_value",
    "ip_address",
    "is_hashed",
    "madid",
    "name",
    "phone",
    "state",
    "zip_code",
]

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def is_hashed(value: object) -> bool:
    """Tell whether ``value`` already is a SHA-256 digest in hex (64 hex characters)."""
    if not isinstance(value, str):
        return False
    return len(value) == 64 and _HEX64.fullmatch(value) is not None


def hash_value(normalized: str) -> str:
    """Hash a normalized value the way Snap expects: SHA-256 of its NFC UTF-8 form, lowercase hex.

    A value that already is 64 hex characters is taken to be a hash and returned lowercased, so
    pre-hashed identifiers pass through unchanged.

    Raises:
        ValidationError: ``normalized`` is not text, is blank (an empty value is omitted, never
            hashed), or is not valid Unicode.

    """
    if not isinstance(normalized, str):
        raise ValidationError("value", f"expected a string, got {type(normalized).__name__}")
    if is_hashed(normalized):
        return normalized.lower()
    if not normalized.strip():
        raise ValidationError("value", "is empty; omit the identifier instead of hashing ''")
    return sha256_hex(check_unicode(normalized, "value"))


def sha256_hex(normalized: str) -> str:
    """SHA-256 of the NFC UTF-8 form, lowercase hex, for a value already checked and normalized."""
    if not normalized.isascii():
        normalized = unicodedata.normalize("NFC", normalized)
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, f"expected a string, got {type(value).__name__}")
    text = value.strip()
    if not text:
        raise ValidationError(field, "is empty; leave the field out when there is no value")
    return text if text.isascii() else check_unicode(text, field)


# --------------------------------------------------------------------------- email

# Dot-atom local parts and LDH domains in plain ASCII: the everyday address. Anything this
# pattern accepts, email-validator accepts too (a property test checks it); anything else goes
# to email-validator for the full RFC 5322 / IDNA treatment.
_FAST_EMAIL = re.compile(
    r"[a-z0-9_+\-]+(?:\.[a-z0-9_+\-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}"
)
_SPECIAL_USE_TLDS = frozenset(email_validator.SPECIAL_USE_DOMAIN_NAMES)


def _email_fast_ok(address: str) -> bool:
    if len(address) > 254 or _FAST_EMAIL.fullmatch(address) is None:
        return False
    local, _, domain = address.rpartition("@")
    return (
        len(local) <= 64
        and "--" not in domain
        and domain.rpartition(".")[2] not in (_SPECIAL_USE_TLDS)
    )


# Internationalized local parts (``chloé.garcía12@example.com``) before a plain ASCII LDH
# domain. For such an address email-validator 2.4 splits at the one "@" (the character after
# it is ASCII, so nothing combines with it), matches the local part against its dot-atom
# pattern (any character from U+0080 on is allowed), then refuses a character of category
# C* or Z*, or a combining mark (M*) in first position; it re-checks the NFC form when the
# local part is not NFC, and limits the whole address to 254 UTF-8 bytes. The domain gets
# the ASCII path's conditions. ``\w`` matches, beyond ``[A-Za-z0-9_]``, only letters and
# digits (categories L* and N*: checked over every code point by a test), so the first
# pattern needs no per-character look-up; the second admits any non-ASCII character, which
# ``_email_local_chars_safe`` then judges by its category.
_FAST_EMAIL_DOMAIN = r"@(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}"
_FAST_EMAIL_WORDS = re.compile(r"[\w+\-]+(?:\.[\w+\-]+)*" + _FAST_EMAIL_DOMAIN)
_FAST_EMAIL_INTL = re.compile(
    r"[a-z0-9_+\-\x80-\U0010ffff]+(?:\.[a-z0-9_+\-\x80-\U0010ffff]+)*" + _FAST_EMAIL_DOMAIN
)
# Characters known to pass email-validator's category check anywhere but first in a local
# part: the ASCII the patterns allow, and the non-ASCII ones met so far (a bounded cache).
_EMAIL_SAFE_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_+-.")
_EMAIL_SAFE_CHARS_MAX = 4096


def _email_local_chars_safe(local: str) -> bool:
    if _EMAIL_SAFE_CHARS.issuperset(local):
        return unicodedata.category(local[0])[0] != "M"
    if unicodedata.category(local[0])[0] == "M":
        return False
    for char in set(local).difference(_EMAIL_SAFE_CHARS):
        if unicodedata.category(char)[0] not in "LNPSM":
            return False
        if len(_EMAIL_SAFE_CHARS) < _EMAIL_SAFE_CHARS_MAX:
            _EMAIL_SAFE_CHARS.add(char)
    return True


def _email_fast_intl_ok(address: str) -> bool:
    if len(address) > 254:  # more than 254 UTF-8 bytes: email-validator gives the reason
        return False
    if _FAST_EMAIL_WORDS.fullmatch(address) is None and (
        _FAST_EMAIL_INTL.fullmatch(address) is None
        or not _email_local_chars_safe(address.partition("@")[0])
    ):
        return False
    local, _, domain = address.partition("@")
    return (
        len(local) <= 64
        and (len(address) <= 63 or len(address.encode("utf-8")) <= 254)  # 63 * 4 bytes < 254
        and "--" not in domain
        and domain.rpartition(".")[2] not in (_SPECIAL_USE_TLDS)
        and unicodedata.is_normalized("NFC", local)
    )


def email(value: str) -> str:
    """Normalize an email address: trim, lowercase, check the syntax.

    The syntax is checked with ``email-validator`` without DNS look-ups. Gmail dots and ``+tags``
    are kept: Snap matches the address as the user typed it.

    Raises:
        ValidationError: The value is empty or not an email address.

    """
    text = _text(value, "email")
    if text.isascii():
        address = text.lower()
        if _email_fast_ok(address):
            return address
    else:
        address = unicodedata.normalize("NFC", text).lower()
        if _email_fast_intl_ok(address):
            return address
    try:
        email_validator.validate_email(address, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        detail = _masked_detail(str(exc), address)
        raise ValidationError(
            "email", f"{mask_email(address)} is not a valid email address ({detail})"
        ) from None
    return address


# What email-validator quotes in its messages: a domain label, a local part, decoded IDNA.
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def _masked_detail(detail: str, address: str) -> str:
    """Mask every part of an address that email-validator's message quotes or repeats.

    Its IDNA messages quote one label of the domain (``in 'zebulonia'``), sometimes decoded
    from punycode, so a label is no substring of the address: everything quoted is masked,
    then every remaining label, local part or domain of at least three characters (but the
    top-level domain, which the masked address shows anyway).
    """
    detail = _QUOTED.sub(lambda quoted: repr(mask(quoted.group()[1:-1])), detail)
    local, _, domain = address.rpartition("@")
    parts = {address, local, domain, *domain.split(".")[:-1], *local.split(".")}
    for part in sorted(parts, key=len, reverse=True):
        if len(part) >= 3:
            detail = detail.replace(part, mask(part))
    return detail.rstrip(".")


# --------------------------------------------------------------------------- phone

_PHONE_FAST_CHARS = re.compile(r"\+?[0-9 .\-()]+")
_PHONE_PUNCTUATION = str.maketrans("", "", " .-()")
_IS_POSSIBLE = phonenumbers.ValidationResult.IS_POSSIBLE
_IS_POSSIBLE_LOCAL_ONLY = phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY
try:  # pragma: no branch - the fast path is an optimisation only
    from phonenumbers.phonenumberutil import (
        _match_national_number,
        _maybe_strip_national_prefix_carrier_code,
        _test_number_length,
    )
except ImportError:  # pragma: no cover - a phonenumbers release that renamed its internals
    _PHONE_FAST_PATH = False
else:
    _PHONE_FAST_PATH = True


class _Numbering(NamedTuple):
    """What the fast path needs of one numbering plan, looked up once per region."""

    metadata: phonenumbers.PhoneMetadata
    code: int
    code_text: str
    idd: re.Pattern[str] | None
    trunk: re.Pattern[str] | None
    main: _Numbering | None  # the plan of the calling code's main region, when this is not it
    # phonenumbers' _test_number_length for the general description, as sets: a length is
    # "possible" in either set, and "too long" past the longest possible one.
    lengths: frozenset[int]
    local_lengths: frozenset[int]
    longest: int

    def is_possible_length(self, length: int) -> bool:
        """``_test_number_length`` says IS_POSSIBLE (local-only lengths lack an area code)."""
        return length in self.lengths and length not in self.local_lengths

    def keeps_stripped(self, length: int) -> bool:
        """``_test_number_length`` is not TOO_SHORT, IS_POSSIBLE_LOCAL_ONLY or INVALID_LENGTH."""
        if length in self.local_lengths:
            return False
        return length in self.lengths or length > self.longest


def _numbering(metadata: phonenumbers.PhoneMetadata | None) -> _Numbering | None:
    if metadata is None or metadata.country_code is None:
        return None
    code = metadata.country_code
    main_region = phonenumbers.region_code_for_country_code(code)
    main_metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
        code, main_region
    )
    main = None if main_metadata is metadata else _numbering(main_metadata)
    prefix = metadata.national_prefix_for_parsing
    general = metadata.general_desc
    if general is None or not general.possible_length:  # pragma: no cover - not in the data
        return None
    return _Numbering(
        metadata=metadata,
        code=code,
        code_text=str(code),
        idd=re.compile(metadata.international_prefix) if metadata.international_prefix else None,
        trunk=re.compile(prefix) if prefix else None,
        main=main,
        lengths=frozenset(general.possible_length),
        local_lengths=frozenset(general.possible_length_local_only or ()),
        longest=max(general.possible_length),
    )


_CALLING_CODES = {str(code): code for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE}


@lru_cache(maxsize=512)
def _numbering_for_code(code: int) -> _Numbering | None:
    region = phonenumbers.region_code_for_country_code(code)
    return _numbering(phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region))


@lru_cache(maxsize=512)
def _numbering_for_region(region: str) -> _Numbering | None:
    return _numbering(phonenumbers.PhoneMetadata.metadata_for_region(region, None))


# The number types phonenumbers' _number_type_helper tries, the common ones first (any match
# makes a number valid, so the order only saves time). The mobile pattern counts only when it
# differs from the fixed-line one, as there.
_NUMBER_TYPES = ("fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "voip",
                 "personal_number", "pager", "uan", "voicemail")  # fmt: skip


def _admits(desc: phonenumbers.PhoneNumberDesc | None, length: int) -> bool:
    """``_is_number_matching_desc`` before its pattern: a pattern, and the length listed."""
    if desc is None or not desc.national_number_pattern:
        return False
    return not desc.possible_length or length in desc.possible_length


def _valid_pattern(code: int, region: str, length: int) -> re.Pattern[str] | None:
    """Compile "some number type of ``region`` has this national number of ``length`` digits".

    It mirrors ``_number_type_helper(nsn, metadata) != UNKNOWN``: the general description
    must match (the lookahead) and so must one type whose possible lengths admit ``length``.
    """
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    general = metadata.general_desc if metadata is not None else None
    if metadata is None or general is None or not _admits(general, length):
        return None
    alternatives = [
        f"(?:{desc.national_number_pattern})"
        for kind in _NUMBER_TYPES
        if (desc := getattr(metadata, kind)) is not None
        and _admits(desc, length)
        and not (kind == "mobile" and metadata.same_mobile_and_fixed_line_pattern)
    ]
    if not alternatives:
        return None
    return re.compile(f"(?=(?:{general.national_number_pattern})\\Z)(?:{'|'.join(alternatives)})")


_Step = tuple[re.Pattern[str] | None, re.Pattern[str] | None]


@lru_cache(maxsize=2048)
def _validity(code: int, length: int) -> tuple[_Step, ...]:
    """List, for numbers of a calling code and length, each region's (leading digits, pattern).

    The regions come in phonenumbers' order; built once from the metadata, so that checking
    validity costs one or two regex matches (~0.5 us) instead of ``is_valid_number`` (~12 us).
    """
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ())
    if len(regions) == 1:
        return ((None, _valid_pattern(code, regions[0], length)),)
    steps = []
    for region in regions:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region, None)
        if metadata is not None:
            leading = metadata.leading_digits
            steps.append(
                (
                    re.compile(leading) if leading is not None else None,
                    _valid_pattern(code, region, length),
                )
            )
    return tuple(steps)


def _is_valid(code: int, nsn: str) -> bool:
    """``phonenumbers.is_valid_number`` for the number ``+<code> <nsn>``, from cached patterns.

    As phonenumbers does, the region of a shared calling code is the first (in its order)
    whose leading digits match or, for a region without leading digits, whose number types
    have the number; the number is then valid when that region's types have it.
    """
    for leading, pattern in _validity(code, len(nsn)):
        if leading is None:
            if pattern is not None and pattern.fullmatch(nsn) is not None:
                return True
        elif leading.match(nsn):
            return pattern is not None and pattern.fullmatch(nsn) is not None
    return False


def _phone_fast(digits: str, international: bool, region: str | None) -> str | None:
    """Mirror the full path (``phonenumbers.parse`` and its checks) for plain digit strings.

    An ``international`` number (written with ``+``) must be ``is_possible_number``; one read in
    ``region`` must also be ``is_valid_number`` there. Returns the normalized number when it is
    certain to equal what the full path returns, and ``None`` whenever the input leaves the
    well-trodden path or fails a check (the caller then asks ``phonenumbers`` itself, which
    also gives the reason). ``tests/test_normalize.py`` checks the equivalence.
    """
    plan: _Numbering | None
    if international:
        if len(digits) <= 2 or digits[0] == "0":
            return None
        for size in (1, 2, 3):
            code = _CALLING_CODES.get(digits[:size])
            if code is not None:
                break
        else:
            return None
        national = digits[size:]
        plan = _numbering_for_code(code)
    else:
        plan = _numbering_for_region(region) if region is not None else None
        if plan is None or (plan.idd is not None and plan.idd.match(digits)):
            # An international prefix dialled from the region: phonenumbers' IDD rules apply.
            return None
        if len(digits) < 3:
            return None  # phonenumbers reads two digits amid punctuation as no number at all
        national = digits
        if digits.startswith(plan.code_text):
            # A national number written with its own country code in front ("1 415 555 0132"):
            # phonenumbers keeps the code off when that makes a better number.
            metadata = plan.metadata
            _, potential, _ = _maybe_strip_national_prefix_carrier_code(
                digits[len(plan.code_text) :], metadata
            )
            general = metadata.general_desc
            if (
                not _match_national_number(digits, general, False)
                and _match_national_number(potential, general, False)
            ) or _test_number_length(digits, metadata) == phonenumbers.ValidationResult.TOO_LONG:
                national = potential
                plan = plan.main or plan
    if plan is None or len(national) < 2:
        return None
    national = _strip_trunk_prefix(national, plan)
    if not 2 <= len(national) <= 17:
        return None
    check = plan.main or plan
    if _strip_trunk_prefix(national, check) != national:
        # Read back with '+', the digits would lose another "trunk prefix": not stable.
        return None
    if not check.is_possible_length(len(national)):
        return None
    if not international and not _is_valid(plan.code, national):
        return None  # the full path says why, or reads the digits as carrying their own code
    return f"{plan.code}{national}"


def _strip_trunk_prefix(national: str, plan: _Numbering) -> str:
    """Strip a national (trunk) prefix as ``phonenumbers.parse`` does, keeping short numbers."""
    if plan.trunk is None or plan.trunk.match(national) is None:
        return national
    _, stripped, _ = _maybe_strip_national_prefix_carrier_code(national, plan.metadata)
    if stripped != national and plan.keeps_stripped(len(stripped)):
        return stripped
    return national


def _region_code(region: object) -> str | None:
    if region is None:
        return None
    if not isinstance(region, str):  # checked before the cache, which needs a hashable key
        raise ValidationError(
            "region",
            f"expected a country code such as 'US' or 'GB', got {type(region).__name__}",
        )
    return _known_region_code(region)


@lru_cache(maxsize=1024)
def _known_region_code(region: str) -> str:
    code = region.strip().upper()
    if len(code) == 2 and code in phonenumbers.SUPPORTED_REGIONS:
        return code
    try:
        return country(region).upper()
    except ValidationError as exc:
        if exc.remedy is not None:  # not valid Unicode: say so
            raise ValidationError("region", exc.problem, remedy=exc.remedy) from None
        raise ValidationError(
            "region",
            f"{echo_code(region)} is not a country; use an ISO 3166-1 code such as 'US' or 'GB'",
        ) from None


def phone(value: str, region: str | None = None) -> str:
    """Normalize a phone number to its digits with the country code and no ``+``.

    ``+44 844 412 4653`` becomes ``448444124653``. A leading ``00`` is read as the international
    prefix, ``(0)`` trunk markers and national leading zeros are removed.

    A number written with its own country code (``+`` or ``00``) is read as written and needs
    only a possible length for its country (``phonenumbers.is_possible_number``). A number
    without one is read in ``region`` (an ISO 3166-1 code such as ``"US"``), and since that is
    an assumption it must be a valid number there (``phonenumbers.is_valid_number``, which
    accepts the fictional 555-01xx numbers but not numbers missing their area code); when it
    is not, it is read as digits that already start with their country code, which must then
    be valid too. ``UserData`` chooses ``region``: the user's own ``country`` first, else
    ``UserData(region=...)``, else the client's ``default_region`` (``docs/normalization.md``,
    "Which country a phone number is read in"). The result is stable:
    ``phone("+" + phone(x))`` equals ``phone(x)``.

    Raises:
        ValidationError: The value is not a possible phone number, or it has no country code
            and no region was given, or it has none and is not a valid number of ``region``.

    """
    return read_phone(value, region)


def read_phone(value: str, region: str | None, *, region_is_country: bool = False) -> str:
    """:func:`phone`, saying in its errors whether ``region`` is the user's own country.

    ``UserData`` reads a number without country code in the user's ``country`` when it has
    one; a number invalid there is then not fixed by a ``region=`` (the country wins), so the
    error advises writing the number with its country code instead.
    """
    text = _text(value, "phone")
    if text.startswith("00"):
        text = "+" + text[2:]
    region_code = _region_code(region)
    if _PHONE_FAST_PATH and _PHONE_FAST_CHARS.fullmatch(text):
        international = text[0] == "+"
        digits = (text[1:] if international else text).translate(_PHONE_PUNCTUATION)
        if digits.isdigit():
            fast = _phone_fast(digits, international, region_code)
            if fast is not None:
                return fast
    if text[0] == "+":
        return _phone_full(text, region_code)
    if region_code is None:
        raise ValidationError(
            "phone",
            f"{mask(text)} has no country code (write it as +<country code> <number>, or say "
            "which country it belongs to)",
            remedy=_region_remedy(None),
            code=PHONE_NO_COUNTRY_CODE,
        )
    try:
        return _phone_full(text, region_code, assumed=True, from_country=region_is_country)
    except ValidationError:
        # Digits that already carry their country code (our own output, a warehouse column of
        # E.164 numbers without '+') are no valid national number; read them as such. That is
        # an assumption too, so the number must be valid with that code.
        try:
            return _phone_full("+" + text, None, assumed=True)
        except ValidationError:
            pass
        raise


def _region_remedy(used: str | None) -> Remedy:
    """Advise giving the region; the example is another country (digits cannot tell which)."""
    example = "US" if used is None else "GB" if used == "FR" else "FR"
    return Remedy(
        argument="region",
        flag="--region",
        example=example,
        what="the country of numbers written without +code",
    )


def _phone_full(
    text: str, region_code: str | None, *, assumed: bool = False, from_country: bool = False
) -> str:
    """Normalize with ``phonenumbers`` itself.

    ``assumed`` says the country code was not written but assumed (``region_code``, or the
    leading digits): the number must then be valid, not merely possible, and an error names
    the region it was read in.
    """
    try:
        number = phonenumbers.parse(text, region_code)
    except phonenumbers.NumberParseException as exc:
        if assumed and region_code not in (None, *phonenumbers.SUPPORTED_REGIONS):
            # A country (Antarctica, Bouvet Island...) without a numbering plan of its own.
            reason = f"{mask(text)} has no country code, and {region_code} has no phone numbers"
            if from_country:  # the user's own country: a region= would not be used
                reason += "; write it as +<country code> <number>"
                raise ValidationError("phone", reason) from None
            raise ValidationError("phone", reason, remedy=_region_remedy(region_code)) from None
        if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            reason = f"{mask(text)} starts with an unknown country calling code"
        else:
            reason = f"{mask(text)} is not a phone number"
        raise ValidationError("phone", reason) from None
    if (
        assumed
        and region_code is not None
        and number.country_code != phonenumbers.country_code_for_region(region_code)
    ):
        # Dialled with the region's international prefix ("011 44 ..." read in US): the number
        # names its own country code, as with '+' or '00'.
        assumed = False
    length = phonenumbers.is_possible_number_with_reason(number)
    # IS_POSSIBLE_LOCAL_ONLY fails too: a number without its area code can never match.
    possible = length == _IS_POSSIBLE
    if not possible or (assumed and not phonenumbers.is_valid_number(number)):
        if assumed and region_code is not None:
            raise _not_in_region(text, region_code, from_country, length)
        if possible:
            raise ValidationError("phone", f"{mask(text)} is not a valid phone number")
        raise ValidationError(
            "phone",
            f"{mask(text)} has the wrong number of digits for country code "
            f"+{number.country_code} (an area code missing?); check the number",
        )
    result = f"{number.country_code}{phonenumbers.national_significant_number(number)}"
    if text != "+" + result:
        try:
            reread = phonenumbers.parse("+" + result)
        except phonenumbers.NumberParseException:  # pragma: no cover - defensive
            reread = None
        if (
            reread is None
            or f"{reread.country_code}{phonenumbers.national_significant_number(reread)}" != result
        ):
            raise ValidationError(
                "phone",
                f"{mask(text)} is not a phone number (after its country code it starts with a "
                "trunk prefix twice)",
            )
    return result


def _not_in_region(text: str, region: str, from_country: bool, length: int) -> ValidationError:
    """Say that a number without country code does not fit the region it was read in.

    The message names the region, so that foreign numbers read in the wrong country are told
    apart from mistyped ones. When the region is the user's own country, giving ``region=``
    would not help (the country comes first), so the advice is to write the country code.
    """
    if length == _IS_POSSIBLE:
        problem = f"{mask(text)} is not a valid {region} number"
    else:
        problem = f"{mask(text)} has the wrong number of digits for {region} numbers"
    short = length in (_IS_POSSIBLE_LOCAL_ONLY, phonenumbers.ValidationResult.TOO_SHORT)
    hint = "; an area code missing?" if short else ""
    if from_country:
        return ValidationError(
            "phone",
            f"{problem} (read in {region}, the user's country, since it has no +country code"
            f"{hint}); write it as +<country code> <number> if it belongs to another country",
        )
    return ValidationError(
        "phone",
        f"{problem} (read in {region}, since it has no +country code{hint})",
        remedy=_region_remedy(region),
    )


# --------------------------------------------------------------------------- names and places

_ASCII_NON_LETTERS = str.maketrans(
    "", "", "".join(chr(c) for c in range(128) if not chr(c).isalpha())
)
_ASCII_NON_ALNUM = str.maketrans(
    "", "", "".join(chr(c) for c in range(128) if not chr(c).isalnum())
)


def _keep(text: str, categories: str) -> str:
    """Keep the characters whose Unicode category starts with one of ``categories``."""
    folded = unicodedata.normalize("NFC", text).lower()
    kept = "".join(ch for ch in folded if unicodedata.category(ch)[0] in categories)
    return unicodedata.normalize("NFC", kept)


def _letters(value: object, field: str) -> str:
    text = _text(value, field)
    result = text.lower().translate(_ASCII_NON_LETTERS) if text.isascii() else _keep(text, "LM")
    if not result:
        raise ValidationError(field, f"{mask(text)} contains no letters")
    return result


def name(value: str) -> str:
    """Normalize a first or last name: NFC, lowercase, letters only.

    Punctuation, digits and spaces are removed and accents are kept:
    ``O'Neil`` becomes ``oneil``, ``Raphaël`` becomes ``raphaël``.
    """
    return _letters(value, "name")


def city(value: str) -> str:
    """Normalize a city: NFC, lowercase, letters only (``San Francisco`` → ``sanfrancisco``)."""
    return _letters(value, "city")


def state(value: str) -> str:
    """Normalize a state or province: lowercase, no spaces or punctuation.

    US and Canadian names map to their two-letter codes (``California`` → ``ca``,
    ``Québec`` → ``qc``); other regions keep their (normalized) text.
    """
    text = _text(value, "state")
    result = text.lower().translate(_ASCII_NON_ALNUM) if text.isascii() else _keep(text, "LMN")
    if not result:
        raise ValidationError("state", f"{mask(text)} contains no letters or digits")
    if len(result) > 2:
        key = result if result.isascii() else _ascii_fold(result)
        return _iso.SUBDIVISION_CODES.get(key, result)
    return result


def _ascii_fold(text: str) -> str:
    """Fold to lowercase ASCII letters and digits: accents go, other characters are dropped."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalnum())


_ZIP_PLUS_FOUR = re.compile(r"(\d{5})-?\d{4}")
_ZIP_CHARS = re.compile(r"[0-9a-z][0-9a-z\-]*")


def zip_code(value: str) -> str:
    """Normalize a postal code: lowercase, no spaces; a US ZIP+4 keeps its first five digits.

    ``SW1A 1AA`` becomes ``sw1a1aa``; ``94107-1234``, ``94107 1234`` and ``941071234`` (nine
    digits: no country uses nine-digit postcodes) become ``94107``.
    """
    text = _text(value, "zip_code")
    result = "".join(text.lower().split())
    plus_four = _ZIP_PLUS_FOUR.fullmatch(result)
    if plus_four:
        return plus_four.group(1)
    if not result.isascii() or _ZIP_CHARS.fullmatch(result) is None:
        raise ValidationError(
            "zip_code", f"{mask(text)} is not a postal code (letters, digits and '-' only)"
        )
    return result


def country(value: str) -> str:
    """Normalize a country to its lowercase ISO 3166-1 alpha-2 code.

    Alpha-2 and alpha-3 codes and common English names are accepted: ``US``, ``USA``,
    ``United States`` and ``united states of america`` all become ``us``.
    """
    text = _text(value, "country")
    key = text.lower().translate(_ASCII_NON_LETTERS) if text.isascii() else _ascii_fold(text)
    if len(key) == 2 and key in _iso.COUNTRY_NAMES:
        return key
    code = _iso.COUNTRY_ALIASES.get(key)
    if code is None and key.startswith("the"):
        code = _iso.COUNTRY_ALIASES.get(key[3:])  # "The Netherlands", "the Gambia"
    if code is not None:
        return code
    close = difflib.get_close_matches(key, list(_iso.COUNTRY_ALIASES), n=6, cutoff=0.75)
    names = list(dict.fromkeys(_iso.COUNTRY_NAMES[_iso.COUNTRY_ALIASES[c]] for c in close))[:3]
    hint = f"; did you mean {' or '.join(repr(n) for n in names)}?" if names else ""
    # A country column is where a careless mapping puts a name: only known codes are quoted.
    raise ValidationError(
        "country",
        f"{echo_code(text)} is not a country; use an ISO 3166-1 code such as 'us' or an "
        f"English name{hint}",
    )


_GENDERS = {"m": "m", "male": "m", "f": "f", "female": "f"}


def gender(value: str) -> str:
    """Normalize a gender to ``m`` or ``f`` (from m, f, male or female, in any case)."""
    text = _text(value, "gender")
    result = _GENDERS.get(text.lower())
    if result is None:
        raise ValidationError(
            "gender", "must be 'm', 'f', 'male' or 'female'; leave it out otherwise"
        )
    return result


_DATE_FORMS = (
    re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})"),
    re.compile(r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?:[T ]\d{1,2}:\d{2}\S*)?"),
)


def date_of_birth(value: str | _dt.date) -> str:
    """Normalize a date of birth to ``YYYYMMDD``.

    Accepts a :class:`datetime.date` (or datetime) and the unambiguous string forms
    ``YYYYMMDD``, ``YYYY-MM-DD``, ``YYYY/MM/DD`` and ``YYYY.MM.DD`` (an ISO timestamp is cut to
    its date). Day-first and month-first forms such as ``01/02/1990`` are refused because they
    cannot be told apart.
    """
    if isinstance(value, _dt.date):
        born = value.date() if isinstance(value, _dt.datetime) else value
    else:
        text = _text(value, "date_of_birth")
        for form in _DATE_FORMS:
            match = form.fullmatch(text)
            if match:
                break
        else:
            raise ValidationError("date_of_birth", "use YYYY-MM-DD or YYYYMMDD")
        try:
            born = _dt.date(int(match["y"]), int(match["m"]), int(match["d"]))
        except ValueError:
            raise ValidationError("date_of_birth", "is not a real calendar date") from None
    if born.year < 1900 or born > _dt.date.today():
        raise ValidationError("date_of_birth", "must lie between 1900-01-01 and today")
    return f"{born.year:04d}{born.month:02d}{born.day:02d}"


def external_id(value: str) -> str:
    """Normalize an external (advertiser-side user) id: trim and lowercase."""
    return _text(value, "external_id").lower()


_MADID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ZERO_MADID = "00000000-0000-0000-0000-000000000000"
ZERO_MADID_REASON = "is the all-zero id a device reports when ad tracking is limited; omit it"


def madid(value: str) -> str:
    """Normalize a mobile advertising id (IDFA or AAID): lowercase, hyphens kept.

    Raises:
        ValidationError: The value is not in UUID form, or it is the all-zero id a device
            reports when the user limited ad tracking (leave it out).

    """
    text = _text(value, "madid").lower()
    if _MADID.fullmatch(text) is None:
        raise ValidationError(
            "madid", "must be an IDFA or AAID in UUID form (8-4-4-4-12 hexadecimal digits)"
        )
    if text == ZERO_MADID:
        raise ValidationError("madid", ZERO_MADID_REASON)
    return text


_FAST_IPV4 = re.compile(
    r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
)


def ip_address(value: str) -> str:
    """Normalize a client IP address (IPv4 or IPv6) to its canonical text; it is sent unhashed.

    An IPv4 address written in IPv6 form (``::ffff:203.0.113.7``, as dual-stack servers report
    it) becomes the IPv4 address.
    """
    text = _text(value, "client_ip_address")
    if _FAST_IPV4.fullmatch(text):
        return text
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise ValidationError(
            "client_ip_address", f"{mask(text)} is not an IPv4 or IPv6 address"
        ) from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)

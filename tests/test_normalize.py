"""Normalization rules, Snap's published hash vectors, and the laws every normalizer obeys."""

from __future__ import annotations

import datetime as dt
import hashlib
import string

import email_validator
import phonenumbers
import pytest
from conftest import assert_never_quoted, hostile_values, pii_text, surrogate_text, wrong_types
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from snapcapi import ValidationError, normalize
from snapcapi.errors import Remedy

# --------------------------------------------------------------------------- published vectors

# (id, normalizer, input, normalized, expected sha256) from shared/reference/test-vectors.md
VECTORS = [
    ("S1", normalize.email, "Person@Example.com", "person@example.com",
     "542d240129883c019e106e3b1b2d3f3cb3537c43c425364de8e951d5a3083345"),
    ("S2", normalize.phone, "+44 844 412 4653", "448444124653",
     "dc008fda46e2e64002cf2f82a4906236282d431c4f75e5b60bfe79fc48546383"),
    ("S3", normalize.name, "John", "john",
     "96d9632f363564cc3032521409cf22a852f2032eec099ed5967c0d000cec607a"),
    ("S4", normalize.name, "Raphaël", "raphaël",
     "e74bb89e718fe1e19c422a48382870399f8bf7ca8dfa008739e75b0be76627b7"),
    ("P1", normalize.email, "    test123@example.com  ", "test123@example.com",
     "20b82517b67108ed3a171539dc5dd1da605660249b02f38dd70f572a545c7d18"),
    ("G1", normalize.email, "   Test123@gmail.com    ", "test123@gmail.com",
     "cc779c04191c2e736d89e45c11339c8382832bcaf70383f7df94e3d08ba7a6d9"),
    ("G2", normalize.phone, "+44 844 412 4653", "448444124653",
     "dc008fda46e2e64002cf2f82a4906236282d431c4f75e5b60bfe79fc48546383"),
    ("Q1", normalize.email, "test@email.com", "test@email.com",
     "73062d872926c2a556f17b36f50e328ddf9bff9d403939bd14b6c3b7f5a33fc2"),
    ("Q2", normalize.gender, "M", "m",
     "62c66a7a5dd70c3146618063c344e531e6d4b59e379808443ce962b3abd63c5a"),
    ("Q4", normalize.name, "john", "john",
     "96d9632f363564cc3032521409cf22a852f2032eec099ed5967c0d000cec607a"),
    ("Q5", normalize.name, "doe", "doe",
     "799ef92a11af918e3fb741df42934f3b568ed2d93ac1df74f1b8d41a27932a6f"),
    ("R5", normalize.state, "CA", "ca",
     "6959097001d10501ac7d54c0bdb8db61420f658f2922cc26e46d536119a31126"),
    ("R6", normalize.zip_code, "00000", "00000",
     "e7042ac7d09c7bc41c8cfa5749e41858f6980643bc0db1a83cc793d3e24d3f77"),
    # Segment's v3 city rule, which the design adopts (no spaces): "Los Angeles" -> "losangeles".
    ("R4-v3", normalize.city, "Los Angeles", "losangeles",
     "8760663bb25fa79f35c2c14fb9c6bcbe444a8c938491cd24fe684a7056c9dbc4"),
]  # fmt: skip


@pytest.mark.parametrize(("vid", "normalizer", "raw", "normalized", "digest"), VECTORS)
def test_published_vectors(vid, normalizer, raw, normalized, digest):
    """Every Snap-documented (and Snap-consistent third-party) vector reproduces exactly."""
    assert normalizer(raw) == normalized, vid
    assert normalize.hash_value(normalizer(raw)) == digest, vid


def test_nfd_input_hashes_like_snaps_nfc_example():
    """A decomposed 'Raphaël' (e + U+0308) hashes to Snap's NFC digest, not the NFD one."""
    nfd = "Rapha\u0065\u0308l"
    assert normalize.hash_value(normalize.name(nfd)) == VECTORS[3][4]
    assert normalize.hash_value("rapha\u0065\u0308l") == VECTORS[3][4]


@pytest.mark.parametrize(
    "raw", ["+44-447-234-2344", "0044-447-234-2344", "+44-0447-234-2344", "+44 0447 234 2344"]
)
def test_v2_sdk_international_phone_vectors(raw):
    """Snap's v2 SDK phone vectors with a country code normalize to the same digits."""
    assert normalize.phone(raw) == "444472342344"


@pytest.mark.parametrize(
    "raw",
    ["447-234-2344", "4472342344", "+1-447-234-2344", "(447)-234-2344", "447 234-2344",
     "+1-(447) 234 2344"],
)  # fmt: skip
def test_v2_sdk_national_phone_vectors_with_region(raw):
    """The v2 SDK's implicit US default becomes an explicit region here, with the same result."""
    assert normalize.phone(raw, "US") == "14472342344"
    assert normalize.hash_value(normalize.phone(raw, "US")) == (
        "34053b331d29734f081bf74160cd33bc2f621b3b6f8ec991500bebf49f14e014"
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+442071234567", "442071234567"),
        ("+1 415.555.1234", "14155551234"),
        ("+44 (0)20 7123 4567", "442071234567"),
        ("0014155551234", "14155551234"),
        ("+14155551234", "14155551234"),
    ],
)
def test_inputs_the_v2_sdk_got_wrong(raw, expected):
    """The inputs where Snap's v2 regex went wrong follow Snap's documented rule here."""
    assert normalize.phone(raw) == expected


# --------------------------------------------------------------------------- rules

MADID = "6d92078a-8246-4ba4-ae5b-76104861e7dc"


@pytest.mark.parametrize(
    ("normalizer", "raw", "expected"),
    [
        (normalize.email, "first.last+tag@Gmail.com", "first.last+tag@gmail.com"),
        (normalize.email, " Zoë@Exämple.de ", "zoë@exämple.de"),
        (normalize.name, "O'Neil", "oneil"),
        (normalize.name, "Anne-Marie 2nd", "annemariend"),
        (normalize.name, "김", "김"),
        (normalize.name, "ÑÚÑEZ", "ñúñez"),
        (normalize.city, "San Francisco", "sanfrancisco"),
        (normalize.city, "Saint-Étienne", "saintétienne"),
        (normalize.state, "California", "ca"),
        (normalize.state, "new york", "ny"),
        (normalize.state, "Québec", "qc"),
        (normalize.state, "N.Y.", "ny"),
        (normalize.state, "Île-de-France", "îledefrance"),
        (normalize.zip_code, "94107-1234", "94107"),
        (normalize.zip_code, "SW1A 1AA", "sw1a1aa"),
        (normalize.zip_code, " 10115 ", "10115"),
        (normalize.country, "US", "us"),
        (normalize.country, "USA", "us"),
        (normalize.country, "United States", "us"),
        (normalize.country, "united kingdom", "gb"),
        (normalize.country, "Germany", "de"),
        (normalize.country, "DEU", "de"),
        (normalize.country, "Côte d'Ivoire", "ci"),
        (normalize.gender, "Female", "f"),
        (normalize.gender, " male ", "m"),
        (normalize.date_of_birth, "1997-12-26", "19971226"),
        (normalize.date_of_birth, "19971226", "19971226"),
        (normalize.date_of_birth, "1997/1/6", "19970106"),
        (normalize.date_of_birth, "1997-12-26T00:00:00Z", "19971226"),
        (normalize.date_of_birth, dt.date(1997, 12, 26), "19971226"),
        (normalize.external_id, "  User-42 ", "user-42"),
        (normalize.madid, "6D92078A-8246-4BA4-AE5B-76104861E7DC", MADID),
        (normalize.ip_address, "203.0.113.7", "203.0.113.7"),
        (normalize.ip_address, "2001:0DB8:0000::0001", "2001:db8::1"),
        (normalize.ip_address, "[::1]", "::1"),
    ],
)  # fmt: skip
def test_rules(normalizer, raw, expected):
    """Each normalizer applies the rule the design fixes for its field."""
    assert normalizer(raw) == expected


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(415) 555-0132", "US", "14155550132"),
        ("415-555-0132", "us", "14155550132"),
        ("1 415 555 0132", "US", "14155550132"),
        ("020 7946 0958", "GB", "442079460958"),
        ("07911 123456", "GB", "447911123456"),
        ("030 1234567", "DE", "49301234567"),
        ("06 12 34 56 78", "FR", "33612345678"),
        ("+39 06 1234 5678", None, "390612345678"),
        ("448444124653", "US", "448444124653"),
        ("0044 844 412 4653", "US", "448444124653"),
        ("+1 (415) 555-0132 ext. 12", None, "14155550132"),
        ("(415) 555-0132", "United States", "14155550132"),
    ],
)
def test_phone_forms(raw, region, expected):
    """National numbers are read in their region; trunk zeros go, Italian leading zeros stay."""
    assert normalize.phone(raw, region) == expected


@pytest.mark.parametrize(
    ("normalizer", "raw", "field", "fragment"),
    [
        (normalize.email, "person@example", "email", "not a valid email address"),
        (normalize.email, "no-at-sign", "email", "not a valid email address"),
        (normalize.email, "   ", "email", "is empty"),
        (normalize.phone, "(415) 555-0132", "phone", "no country code"),
        (normalize.phone, "+44 12", "phone", ""),
        (normalize.phone, "+999 1234 5678", "phone", "unknown country calling code"),
        (normalize.phone, "call me maybe", "phone", "no country code"),
        (normalize.name, "1234", "name", "no letters"),
        (normalize.city, "!!!", "city", "no letters"),
        (normalize.zip_code, "9410#7", "zip_code", "not a postal code"),
        (normalize.country, "Untied States", "country", "did you mean 'United States'"),
        (normalize.gender, "x", "gender", "'m', 'f'"),
        (normalize.date_of_birth, "12/26/1997", "date_of_birth", "YYYY-MM-DD"),
        (normalize.date_of_birth, "1997-02-30", "date_of_birth", "not a real calendar date"),
        (normalize.date_of_birth, "1850-01-01", "date_of_birth", "1900"),
        (normalize.madid, "not-a-uuid", "madid", "UUID form"),
        (normalize.madid, "00000000-0000-0000-0000-000000000000", "madid", "all-zero"),
        (normalize.ip_address, "999.1.1.1", "client_ip_address", "not an IPv4 or IPv6"),
    ],
)
def test_invalid_values_name_the_field(normalizer, raw, field, fragment):
    """Bad values raise ValidationError (a ValueError) naming the field and what is wrong."""
    with pytest.raises(ValidationError) as info:
        normalizer(raw)
    assert info.value.field == field
    assert isinstance(info.value, ValueError)
    assert fragment in str(info.value)


def test_phone_region_must_be_a_country():
    """An unknown region is reported against the region, not the phone."""
    with pytest.raises(ValidationError, match="region"):
        normalize.phone("555 0132", "Atlantis")


@pytest.mark.parametrize(
    ("normalizer", "raw", "secret"),
    [
        (normalize.email, "jane.doe@nowhere", "jane.doe"),
        (normalize.email, "jane.doe@invalid.test", "invalid.test"),
        (normalize.phone, "+1 415 555 01", "415 555 01"),
        (normalize.phone, "07911 123456", "07911 123456"),
        (normalize.name, "12345678", "12345678"),
    ],
)
def test_errors_never_carry_raw_pii(normalizer, raw, secret):
    """Error messages show identifiers masked, never as given."""
    with pytest.raises(ValidationError) as info:
        normalizer(raw)
    assert secret not in str(info.value)


def test_hash_value_passes_digests_through_and_refuses_empty():
    """A 64-hex value is taken as a hash (lowercased); an empty value is never hashed."""
    digest = hashlib.sha256(b"person@example.com").hexdigest()
    assert normalize.hash_value(digest.upper()) == digest
    with pytest.raises(ValidationError):
        normalize.hash_value("")
    assert normalize.is_hashed(digest)
    assert not normalize.is_hashed(digest[:-1] + "g")


# --------------------------------------------------------------------------- laws

NORMALIZERS = {
    "email": normalize.email,
    "name": normalize.name,
    "city": normalize.city,
    "state": normalize.state,
    "zip_code": normalize.zip_code,
    "country": normalize.country,
    "gender": normalize.gender,
    "date_of_birth": normalize.date_of_birth,
    "external_id": normalize.external_id,
    "madid": normalize.madid,
    "ip_address": normalize.ip_address,
}

# Any code point, lone surrogates included (plain st.text() leaves those out).
any_text = st.text(alphabet=st.characters(exclude_categories=()))
messy_text = st.one_of(
    any_text,
    hostile_values,  # issue 11: huge ints, NaN, sNaN, Fractions, surrogates, deep and cyclic
    st.text(alphabet=string.printable),
    st.emails().map(lambda e: f"  {e.upper()} "),
    st.sampled_from(["Raphaël", "O'Neil", "San Francisco", "94107-1234", "SW1A 1AA", "usa",
                     "Female", "1997-12-26", "6D92078A-8246-4BA4-AE5B-76104861E7DC",
                     "203.0.113.7", "::ffff:1.2.3.4", "İstanbul", "ǅemal", "e\u0301"]),
)  # fmt: skip


@pytest.mark.parametrize("field", sorted(NORMALIZERS))
@given(value=messy_text)
@settings(max_examples=300)
def test_normalizers_are_total_and_idempotent(field, value):
    """Any text normalizes or raises ValidationError; normalizing twice changes nothing."""
    normalizer = NORMALIZERS[field]
    try:
        once = normalizer(value)
    except ValidationError as error:
        assert_never_quoted(error, value)
        return
    assert isinstance(once, str)
    assert once
    assert normalizer(once) == once


phone_like = st.builds(
    lambda prefix, groups, sep: prefix + sep.join(groups),
    st.sampled_from(["", "+", "00", "+1 ", "+44 ", "+49 ", "(0)", "+33 (0)"]),
    st.lists(st.text(alphabet=string.digits, min_size=1, max_size=5), min_size=1, max_size=5),
    st.sampled_from(["", " ", "-", ".", ") ", "/"]),
)
regions = st.one_of(st.none(), st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)))
# Regions as a careless caller gives them (issue 11): numbers, lists, bytes, broken text, names.
hostile_regions = st.one_of(regions, wrong_types, surrogate_text, pii_text, st.text(max_size=6))


@given(value=st.one_of(phone_like, any_text, hostile_values), region=hostile_regions)
@settings(max_examples=1000)
@example(value="+44 844 412 4653", region=None)
@example(value="4155550132", region=5)
@example(value="4155550132", region=["US"])
def test_phone_is_total_and_stable(value, region):
    """Any value and region end in digits or ValidationError; the digits read back unchanged."""
    try:
        once = normalize.phone(value, region)
    except ValidationError as error:
        assert_never_quoted(error, value)
        assert_never_quoted(error, region)
        return
    assert once.isdigit()
    assert normalize.phone("+" + once) == once


@given(value=st.text())
def test_hashing_is_stable_hex_and_idempotent(value):
    """hash_value gives 64 lowercase hex digits, the same every time, and passes itself through.

    Blank text and text that is not valid Unicode (lone surrogates) are refused instead.
    """
    try:
        digest = normalize.hash_value(value)
    except ValidationError:
        assert not value.strip() or any(0xD800 <= ord(ch) <= 0xDFFF for ch in value)
        return
    assert len(digest) == 64
    assert set(digest) <= set("0123456789abcdef")
    assert normalize.hash_value(value) == digest
    assert normalize.hash_value(digest) == digest


# --------------------------------------------------------------------------- fast paths


email_like = st.builds(
    lambda local, domain, tld: f"{local}@{domain}.{tld}",
    st.text(alphabet=string.ascii_lowercase + string.digits + "._+-!#'~%", min_size=1, max_size=70),
    st.text(alphabet=string.ascii_lowercase + string.digits + "-.", min_size=1, max_size=70),
    st.one_of(
        st.sampled_from(["com", "test", "local", "localhost", "invalid", "onion", "arpa", "x1"]),
        st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=30),
    ),
)


@given(address=st.one_of(email_like, st.emails().map(str.lower), st.text(max_size=300)))
@settings(max_examples=2000)
@example(address="a@b-.com")
@example(address="a@xn--bcher-kva.de")
@example(address="a@ab--cd.com")
@example(address="x" * 65 + "@example.com")
def test_email_fast_path_accepts_only_what_email_validator_accepts(address):
    """Whenever the fast email check says yes, email-validator agrees (with DNS checks off)."""
    if normalize._email_fast_ok(address):
        email_validator.validate_email(address, check_deliverability=False)


@given(
    digits=st.text(alphabet=string.digits, min_size=1, max_size=19),
    international=st.booleans(),
    region=regions,
)
@settings(max_examples=3000)
@example(digits="448444124653", international=True, region=None)
@example(digits="4155550132", international=False, region="US")
@example(digits="07911123456", international=False, region="GB")
@example(digits="0612345678", international=True, region="IT")
@example(digits="3906123456", international=True, region=None)
@example(digits="14155550132", international=False, region="US")
@example(digits="15145550132", international=False, region="CA")
@example(digits="4402079460958", international=True, region=None)
def test_phone_fast_path_matches_phonenumbers(digits, international, region):
    """Whenever the phone fast path answers, phonenumbers gives the same digits and agrees.

    Written with '+', the number must be possible; read in a region, also valid there.
    """
    fast = normalize._phone_fast(digits, international, region)
    if fast is None:
        return
    text = "+" + digits if international else digits
    number = phonenumbers.parse(text, region)
    assert phonenumbers.is_possible_number(number)
    if not international:
        assert phonenumbers.is_valid_number(number)
    assert fast == f"{number.country_code}{phonenumbers.national_significant_number(number)}"


@given(
    region=st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)),
    rest=st.text(alphabet=string.digits, min_size=0, max_size=14),
)
@settings(max_examples=3000)
def test_phone_fast_path_with_the_regions_own_country_code(region, rest):
    """National numbers that start with their region's country code take phonenumbers' reading."""
    digits = str(phonenumbers.country_code_for_region(region)) + rest
    test_phone_fast_path_matches_phonenumbers.hypothesis.inner_test(
        digits=digits, international=False, region=region
    )


@given(region=st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)))
@settings(max_examples=250)
def test_phone_fast_path_on_each_regions_example_numbers(region):
    """Every region's example number, national or international, normalizes as phonenumbers says."""
    example_number = phonenumbers.example_number(region)
    assume(example_number is not None)
    expected = (
        f"{example_number.country_code}{phonenumbers.national_significant_number(example_number)}"
    )
    national = phonenumbers.format_number(example_number, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(
        example_number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    assert normalize.phone(international) == expected
    assert normalize.phone(national, region) == expected


def _mutated_national_numbers():
    """National significant numbers near each region's example: valid ones and near misses."""
    examples = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                examples.append(
                    (number.country_code, phonenumbers.national_significant_number(number))
                )
    return st.builds(
        lambda example, keep, tail: (example[0], example[1][:keep] + tail),
        st.sampled_from(examples),
        st.integers(min_value=1, max_value=8),
        st.text(alphabet=string.digits, min_size=0, max_size=9),
    )


def _phone_number(code, nsn):
    zeros = len(nsn) - len(nsn.lstrip("0"))
    return phonenumbers.PhoneNumber(
        country_code=code,
        national_number=int(nsn),
        italian_leading_zero=zeros > 0 or None,
        number_of_leading_zeros=zeros if zeros > 1 else None,
    )


@given(number=st.one_of(
    _mutated_national_numbers(),
    st.tuples(st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)),
              st.text(alphabet=string.digits, min_size=2, max_size=14)),
))  # fmt: skip
@settings(max_examples=5000)
@example(number=(1, "4155550132"))  # US, the first NANP region
@example(number=(1, "5145550132"))  # CA, further down the NANP list
@example(number=(1, "5551234567"))  # no NANP region has area code 555
@example(number=(44, "7911123456"))  # GG by its leading digits
@example(number=(7, "7012345678"))  # KZ by its leading digits
@example(number=(39, "0612345678"))  # Italian leading zero
@example(number=(800, "12345678"))  # a non-geographic calling code
def test_validity_check_matches_is_valid_number(number):
    """The fast path's cached validity check says exactly what is_valid_number says."""
    code, nsn = number
    assume(nsn.strip("0"))
    expected = phonenumbers.is_valid_number(_phone_number(code, nsn))
    assert normalize._is_valid(code, nsn) == expected


def reference_phone(value, region):
    """Issue 9's rule with phonenumbers' public API alone: no fast path, no cached patterns.

    Returns the digits, or None where normalize.phone must raise ValidationError.
    """
    text = value.strip()
    if text.startswith("00"):
        text = "+" + text[2:]

    def read(text, region, assumed):
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            return None
        if region is not None and number.country_code != phonenumbers.country_code_for_region(
            region
        ):
            assumed = False  # dialled with the region's international prefix: code written
        possible = phonenumbers.is_possible_number_with_reason(number)
        if possible != phonenumbers.ValidationResult.IS_POSSIBLE:
            return None
        if assumed and not phonenumbers.is_valid_number(number):
            return None
        digits = f"{number.country_code}{phonenumbers.national_significant_number(number)}"
        reread = phonenumbers.parse("+" + digits)
        if f"{reread.country_code}{phonenumbers.national_significant_number(reread)}" != digits:
            return None
        return digits

    if not text:
        return None
    if text[0] == "+":
        return read(text, region, False)
    if region is None:
        return None
    return read(text, region, True) or read("+" + text, None, True)


def _national_forms():
    """Each region's example numbers written nationally and as bare digits, with the region."""
    forms = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                national = phonenumbers.format_number(
                    number, phonenumbers.PhoneNumberFormat.NATIONAL
                )
                forms.append((national, region))
                forms.append(("".join(ch for ch in national if ch.isdigit()), region))
    return st.sampled_from(forms)


@given(
    case=st.one_of(
        st.tuples(st.one_of(phone_like, st.text(alphabet=string.digits + " +-()", max_size=20)),
                  regions),
        _national_forms(),
        st.tuples(_national_forms().map(lambda form: form[0]),
                  st.sampled_from(["US", "GB", "FR", "DE", "IT", "AU", "CA"])),
    )
)  # fmt: skip
@settings(max_examples=3000)
@example(case=("06 10 82 64 17", "US"))
@example(case=("06 10 82 64 17", "FR"))
@example(case=("448444124653", "US"))
@example(case=("444472342344", "US"))
@example(case=("(555) 123-4567", "US"))
@example(case=("011 44 447 234 2344", "US"))
@example(case=("1 415 555 0132", "CA"))
def test_phone_follows_the_rule_exactly(case):
    """normalize.phone, fast path included, gives what the rule spelled out with phonenumbers
    gives: written codes need a possible number, assumed ones (region or leading digits) a
    valid one."""
    value, region = case
    expected = reference_phone(value, region)
    if expected is None:
        with pytest.raises(ValidationError):
            normalize.phone(value, region)
    else:
        assert normalize.phone(value, region) == expected


@pytest.mark.parametrize(
    ("raw", "region"),
    [("(415) 555-0132", "US"), ("020 7946 0958", "GB"), ("07911 123456", "GB"),
     ("030 1234567", "DE"), ("06 12 34 56 78", "FR"), ("0612345678", "FR")],
)  # fmt: skip
def test_phone_fast_path_answers_common_national_numbers(raw, region):
    """The fast path does answer (it is not a fast path that always defers) for everyday numbers."""
    digits = raw.translate(normalize._PHONE_PUNCTUATION)
    assert normalize._phone_fast(digits, False, region) == normalize.phone(raw, region)


# --------------------------------------------------------------------------- phone validity (#9)


def test_a_number_read_in_a_region_must_be_valid_there():
    """A French national number read in US is refused, naming the region and what to give."""
    with pytest.raises(ValidationError) as info:
        normalize.phone("06 10 82 64 17", "US")
    error = info.value
    assert error.field == "phone"
    assert error.problem == (
        "0***********17 is not a valid US number (read in US, since it has no +country code)"
    )
    assert error.remedy == Remedy(
        argument="region",
        flag="--region",
        example="FR",
        what="the country of numbers written without +code",
    )
    assert str(error).endswith("; give region='FR' (the country of numbers written without +code)")
    assert error.explain("cli").endswith(
        "; pass --region FR (the country of numbers written without +code)"
    )
    assert normalize.phone("06 10 82 64 17", "FR") == "33610826417"


@pytest.mark.parametrize(
    ("written", "assumed", "region"),
    [("+1 555 123 4567", "(555) 123-4567", "US"), ("+44 447 234 2344", "447 234 2344", "GB")],
)
def test_a_written_country_code_needs_only_a_possible_number(written, assumed, region):
    """With its own +code a number is taken as written; read in a region it must be valid."""
    assert normalize.phone(written) == written.translate(normalize._PHONE_PUNCTUATION)[1:]
    with pytest.raises(ValidationError, match=f"is not a valid {region} number"):
        normalize.phone(assumed, region)


def test_the_regions_international_prefix_writes_the_code():
    """'011 44 ...' dialled from the US names its country code, as '+44' does."""
    assert normalize.phone("011 44 20 7946 0958", "US") == "442079460958"
    assert normalize.phone("011 44 447 234 2344", "US") == "444472342344"


def test_digits_with_their_code_must_be_valid_with_it():
    """The fallback reading of bare digits as carrying their code is an assumption too."""
    assert normalize.phone("448444124653", "US") == "448444124653"
    assert normalize.phone("+" + normalize.phone("448444124653", "US")) == "448444124653"
    # +44 447 234 2344 is possible but not valid: read from bare digits, it is refused.
    with pytest.raises(ValidationError, match="wrong number of digits for US numbers"):
        normalize.phone("444472342344", "US")


def test_a_number_without_area_code_says_so_and_names_the_region():
    """A local-only number is refused with the region it was read in and the likely cause."""
    with pytest.raises(ValidationError) as info:
        normalize.phone("555 0132", "US")
    assert info.value.problem == (
        "5*****32 has the wrong number of digits for US numbers (read in US, since it has no "
        "+country code; an area code missing?)"
    )


def test_no_country_code_and_no_region_advises_the_region():
    """Without code or region the error says to write the code or give the region."""
    with pytest.raises(ValidationError) as info:
        normalize.phone("(415) 555-0132")
    assert info.value.problem.endswith(
        "has no country code (write it as +<country code> <number>, or say which country it "
        "belongs to)"
    )
    assert info.value.explain("cli").endswith(
        "pass --region US (the country of numbers written without +code)"
    )


def test_a_region_without_phone_numbers_is_named():
    """Antarctica is a country but has no numbering plan: the error says so."""
    with pytest.raises(ValidationError, match="AQ has no phone numbers"):
        normalize.phone("(415) 555-0132", "AQ")


@pytest.mark.parametrize(
    ("raw", "region"), [("06 10 82 64 17", "US"), ("555 0132", "US"), ("(415) 555-0132", None)]
)
def test_region_errors_never_carry_the_raw_number(raw, region):
    """The region-read errors show the number masked, in every interface's wording."""
    with pytest.raises(ValidationError) as info:
        normalize.phone(raw, region)
    digits = raw.translate(normalize._PHONE_PUNCTUATION)
    for text in (str(info.value), info.value.explain("cli")):
        assert raw not in text
        assert digits[1:-2] not in text


# --------------------------------------------------------------------------- review regressions


@pytest.mark.parametrize(("raw", "region"), [("555 0132", "US"), ("+49 12", None), ("(0)9", "DE")])
def test_numbers_without_area_code_are_not_phones(raw, region):
    """Local-only numbers (no area code) can never match, so they are refused."""
    with pytest.raises(ValidationError, match="phone"):
        normalize.phone(raw, region)


@pytest.mark.parametrize("raw", ["94107-1234", "94107 1234", "941071234", " 94107 "])
def test_us_zip_forms_keep_five_digits(raw):
    """ZIP+4 in any spelling keeps the first five digits."""
    assert normalize.zip_code(raw) == "94107"


def test_ipv4_mapped_addresses_become_ipv4():
    """Dual-stack servers report IPv4 clients as ::ffff:a.b.c.d; Snap gets the IPv4 address."""
    assert normalize.ip_address("::ffff:203.0.113.7") == "203.0.113.7"


def test_date_of_birth_allows_a_time_but_not_garbage():
    """A timestamp is cut to its date; trailing junk is refused."""
    assert normalize.date_of_birth("1997-12-26 10:30:00") == "19971226"
    with pytest.raises(ValidationError):
        normalize.date_of_birth("1997-12-26 garbage")


def test_country_names_with_an_article_and_clean_hints():
    """'The Netherlands' maps; suggestions are listed once each."""
    assert normalize.country("The Netherlands") == "nl"
    with pytest.raises(ValidationError) as info:
        normalize.country("Netherland")
    assert str(info.value).count("'Netherlands'") == 1
    assert str(info.value).endswith("?")


@pytest.mark.parametrize("field", sorted(NORMALIZERS))
def test_lone_surrogates_are_refused(field):
    """Text broken by a bad decoder (lone surrogates) raises ValidationError, not UnicodeError."""
    with pytest.raises(ValidationError):
        NORMALIZERS[field]("ab\ud800cd@example.com")


@pytest.mark.parametrize("value", [5, b"abc", None, "a\ud800"])
def test_hash_value_refuses_non_text(value):
    """hash_value takes text only."""
    with pytest.raises(ValidationError):
        normalize.hash_value(value)

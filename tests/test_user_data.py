"""UserData: normalization on the way in, hashing on the way out, masking everywhere else."""

from __future__ import annotations

import hashlib
import string

import phonenumbers
import pytest
from conftest import assert_never_quoted, hostile_values, make_event
from hypothesis import given, settings
from hypothesis import strategies as st

from snapcapi import Event, EventStatus, UserData, ValidationError, normalize

EMAIL_HASH = "542d240129883c019e106e3b1b2d3f3cb3537c43c425364de8e951d5a3083345"
PHONE_HASH = "dc008fda46e2e64002cf2f82a4906236282d431c4f75e5b60bfe79fc48546383"


def test_payload_hashes_identifiers_and_keeps_raw_ones():
    """Hashed fields become lists of SHA-256 digests; raw fields are sent as strings."""
    user = UserData(
        email=" Person@Example.com ",
        phone="+44 844 412 4653",
        first_name="Raphaël",
        last_name="O'Neil",
        gender="Female",
        date_of_birth="1990-05-17",
        city="San Francisco",
        state="California",
        zip_code="94107-1234",
        country="United States",
        external_id="User-42",
        client_ip_address="203.0.113.7",
        client_user_agent="Mozilla/5.0",
        sc_click_id="AbC-123",
        sc_cookie1="d3f4-Cookie",
        madid="6D92078A-8246-4BA4-AE5B-76104861E7DC",
        idfv="IDFV-1",
        subscription_id="sub-1",
        lead_id=42,
    )
    payload = user.to_payload()
    sha = normalize.hash_value
    assert payload == {
        "em": [EMAIL_HASH],
        "ph": [PHONE_HASH],
        "fn": [sha("raphaël")],
        "ln": [sha("oneil")],
        "ge": [sha("f")],
        "db": [sha("19900517")],
        "ct": [sha("sanfrancisco")],
        "st": [sha("ca")],
        "zp": [sha("94107")],
        "country": [sha("us")],
        "external_id": [sha("user-42")],
        "client_ip_address": "203.0.113.7",
        "client_user_agent": "Mozilla/5.0",
        "sc_click_id": "AbC-123",
        "sc_cookie1": "d3f4-Cookie",
        "madid": "6d92078a-8246-4ba4-ae5b-76104861e7dc",
        "idfv": "IDFV-1",
        "subscription_id": "sub-1",
        "lead_id": "42",
    }


def test_lists_are_normalized_and_deduplicated_in_order():
    """A list of values keeps input order and drops values that normalize to the same thing."""
    user = UserData(email=["B@x.com", " a@x.com", "b@X.COM ", "", None])
    assert user.email == ("b@x.com", "a@x.com")
    assert user.to_payload()["em"] == [
        normalize.hash_value("b@x.com"),
        normalize.hash_value("a@x.com"),
    ]


def test_prehashed_values_pass_through():
    """A value that already is a SHA-256 digest is sent as given (lowercased), not hashed again."""
    user = UserData(email=EMAIL_HASH.upper(), phone=PHONE_HASH)
    assert user.to_payload() == {"em": [EMAIL_HASH], "ph": [PHONE_HASH]}


def test_blank_values_are_left_out():
    """None and blank strings mean 'no value': no key at all, never the hash of ''."""
    user = UserData(email="  ", phone=None, first_name="", client_ip_address=None)
    assert user.to_payload() == {}
    assert user.email is None


def test_phone_region_from_country_or_argument():
    """A national phone number is read in the user's country, else in region=."""
    assert UserData(phone="(415) 555-0132", region="US").phone == ("14155550132",)
    assert UserData(phone="020 7946 0958", country="GB").phone == ("442079460958",)
    assert UserData(phone="020 7946 0958", country="gbr", region="United Kingdom").phone == (
        "442079460958",
    )


FRENCH_MOBILE = "06 10 82 64 17"  # the number of issue 9, national French form
FRENCH_DIGITS = "33610826417"


def test_the_users_country_beats_the_region():
    """Issue 9: region='US' no longer reads a French user's national number as American."""
    user = UserData(region="US", country="FR", phone=FRENCH_MOBILE)
    assert user.phone == (FRENCH_DIGITS,)
    assert user.to_payload()["ph"] == [normalize.hash_value(FRENCH_DIGITS)]
    # The first plain country counts; a hashed one cannot be read, so the region applies.
    assert UserData(region="FR", country=[normalize.hash_value("us"), "fr", "us"],
                    phone=FRENCH_MOBILE).phone == (FRENCH_DIGITS,)  # fmt: skip
    assert UserData(region="FR", country=normalize.hash_value("us"), phone=FRENCH_MOBILE).phone == (
        FRENCH_DIGITS,
    )


def _is_country(code):
    try:
        return normalize.country(code) == code.lower()
    except ValidationError:
        return False  # phonenumbers' regions include a few that are no ISO country (AC, XK)


COUNTRIES = sorted(filter(_is_country, phonenumbers.SUPPORTED_REGIONS))


def _national_examples():
    """Every country's example mobile number, written nationally, with its country."""
    found = []
    for region in COUNTRIES:
        number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        if number is not None:
            national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
            digits = f"{number.country_code}{phonenumbers.national_significant_number(number)}"
            found.append((national, region, digits))
    return found


@given(
    example=st.sampled_from(_national_examples()),
    region=st.sampled_from(COUNTRIES),
)
@settings(max_examples=300)
def test_country_beats_any_region_for_any_countrys_numbers(example, region):
    """Whatever region= says, a national number is read in the user's own country."""
    national, country, digits = example
    assert UserData(country=country, region=region, phone=national).phone == (digits,)
    assert UserData(country=country, phone=national).with_default_region(region).phone == (digits,)


def test_a_written_country_code_beats_country_and_region():
    """A number with its own +code or 00 is read as written, whatever the user's country."""
    for written in ("+44 844 412 4653", "0044 844 412 4653"):
        assert UserData(region="US", country="FR", phone=written).phone == ("448444124653",)


def test_the_default_region_comes_last():
    """The client's default region reads only numbers of users with no country and no region."""
    user = UserData(country="FR", phone=FRENCH_MOBILE, email="a@x.com")
    assert user.unresolved_phones is None
    assert user.with_default_region("US") is user
    assert user.with_default_region("US").phone == (FRENCH_DIGITS,)
    assert UserData(region="FR", phone=FRENCH_MOBILE).with_default_region("US").phone == (
        FRENCH_DIGITS,
    )
    waiting = UserData(phone=FRENCH_MOBILE, email="a@x.com")
    assert waiting.with_default_region("FR").phone == (FRENCH_DIGITS,)


def test_event_from_dict_reads_the_rows_country_before_its_region():
    """A row's own country column beats Event.from_dict's region= (the CLI's --region)."""
    record = {
        "event_name": "PURCHASE",
        "event_time": 1_700_000_000,
        "action_source": "OFFLINE",
        "country": "FR",
        "phone": FRENCH_MOBILE,
        "value": "12.50",
        "currency": "EUR",
    }
    event = Event.from_dict(record, region="US")
    assert event.user_data.phone == (FRENCH_DIGITS,)
    assert event.to_payload()["user_data"]["ph"] == [normalize.hash_value(FRENCH_DIGITS)]
    without_country = {k: v for k, v in record.items() if k != "country"}
    with pytest.raises(ValidationError, match="not a valid US number"):
        Event.from_dict(without_country, region="US")


def test_client_default_region_does_not_override_the_users_country(snap_server, make_client):
    """Client(default_region='US') sends a French user's number as French, and refuses a
    French number of a user without country, naming the region it was read in."""
    french_user = make_event(0, user_data=UserData(country="FR", phone=FRENCH_MOBILE))
    american = make_event(1, user_data=UserData(phone="(415) 555-0132"))
    unknown = make_event(2, user_data=UserData(phone=FRENCH_MOBILE))
    result = make_client(default_region="US").send([french_user, american, unknown])
    assert [r.status for r in result.events] == [
        EventStatus.ACCEPTED,
        EventStatus.ACCEPTED,
        EventStatus.INVALID,
    ]
    assert "is not a valid US number (read in US" in (result.events[2].reason or "")
    sent = {e["event_id"]: e["user_data"]["ph"] for e in snap_server.events}
    assert sent == {
        "e0": [normalize.hash_value(FRENCH_DIGITS)],
        "e1": [normalize.hash_value("14155550132")],
    }


def test_a_number_invalid_in_the_region_names_it_and_the_remedy():
    """Read in region=, an invalid number raises naming the region, with the setting to give."""
    with pytest.raises(ValidationError) as info:
        UserData(region="US", phone=FRENCH_MOBILE)
    assert info.value.field == "phone"
    assert str(info.value) == (
        "phone: 0***********17 is not a valid US number (read in US, since it has no +country "
        "code); give region='FR' (the country of numbers written without +code)"
    )
    assert info.value.explain("cli").endswith("; pass --region FR (the country of numbers "
                                              "written without +code)")  # fmt: skip


def test_a_number_invalid_in_the_users_country_advises_the_country_code():
    """Read in the user's country, region= cannot help: the advice is to write the +code."""
    with pytest.raises(ValidationError) as info:
        UserData(country="US", region="FR", phone=FRENCH_MOBILE)
    assert info.value.remedy is None
    assert info.value.reason == (
        "0***********17 is not a valid US number (read in US, the user's country, since it has "
        "no +country code); write it as +<country code> <number> if it belongs to another "
        "country"
    )


def test_drop_warnings_carry_the_problem_without_python_advice():
    """A dropped phone's warning says what is wrong, masked, in no interface's words."""
    user = UserData(region="US", phone=FRENCH_MOBILE, email="a@x.com", on_invalid="drop")
    assert user.phone is None
    assert user.warnings == (
        "phone dropped: 0***********17 is not a valid US number (read in US, since it has no "
        "+country code)",
    )
    later = UserData(phone=FRENCH_MOBILE, email="a@x.com", on_invalid="drop")
    assert later.with_default_region("US").warnings == user.warnings
    for text in (*user.warnings, *later.with_default_region("US").warnings):
        assert "region=" not in text
        assert "0610826417" not in text
        assert FRENCH_MOBILE not in text


def test_phone_without_region_waits_for_the_clients_default():
    """Without any region, a national number is kept aside until a default region arrives."""
    user = UserData(phone="(415) 555-0132", email="a@x.com")
    assert user.phone is None
    assert user.unresolved_phones == ("(415) 555-0132",)
    resolved = user.with_default_region("US")
    assert resolved.phone == ("14155550132",)
    assert resolved.unresolved_phones is None
    assert resolved.email == ("a@x.com",)
    assert user.with_default_region(None) is user


def test_invalid_identifier_raises_by_default_naming_the_field():
    """on_invalid='raise' (the default) raises for an identifier that cannot be normalized."""
    with pytest.raises(ValidationError) as info:
        UserData(email="person@example")
    assert info.value.field == "email"
    with pytest.raises(ValidationError) as info:
        UserData(last_name="1234")
    assert info.value.field == "last_name"


def test_drop_mode_keeps_the_rest_and_records_a_masked_warning():
    """on_invalid='drop' leaves out just the bad identifier and says so, without raw PII."""
    user = UserData(
        email=["jane.doe@nowhere", "ok@example.com"],
        phone="+1 415 555 01",
        first_name="Jane",
        on_invalid="drop",
    )
    assert user.email == ("ok@example.com",)
    assert user.phone is None
    assert user.first_name == ("jane",)
    assert user.warnings is not None
    assert len(user.warnings) == 2
    assert user.warnings[0].startswith("email dropped:")
    assert user.warnings[1].startswith("phone dropped:")
    joined = " ".join(user.warnings)
    assert "jane.doe" not in joined
    assert "415 555 01" not in joined


def test_zero_madid_is_dropped_with_a_warning_even_in_raise_mode():
    """The all-zero ad id means tracking is limited: it is left out, and the event says so."""
    user = UserData(madid="00000000-0000-0000-0000-000000000000", email="a@x.com")
    assert user.madid is None
    assert user.warnings == ("madid dropped: is the all-zero id a device reports when ad "
                             "tracking is limited; omit it",)  # fmt: skip


def test_wrong_types_raise_even_in_drop_mode():
    """A wrong type is a programming mistake, not bad data: it always raises."""
    with pytest.raises(ValidationError, match="client_ip_address"):
        UserData(client_ip_address=123, on_invalid="drop")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="email"):
        UserData(email=42)  # type: ignore[arg-type]


def test_unknown_field_suggests_the_right_name():
    """A misspelt keyword names the closest UserData field."""
    with pytest.raises(ValidationError, match="did you mean 'email'"):
        UserData(emial="a@x.com")  # type: ignore[call-arg]


def test_bad_on_invalid_value():
    """on_invalid accepts only 'raise' and 'drop'."""
    with pytest.raises(ValidationError, match="on_invalid"):
        UserData(email="a@x.com", on_invalid="ignore")  # type: ignore[typeddict-item]


def test_match_keys():
    """Matching keys are email, phone, IP with user agent together, and madid."""
    assert UserData(email="a@x.com").match_keys == ("em",)
    assert UserData(client_ip_address="203.0.113.7").match_keys == ()
    assert UserData(client_ip_address="203.0.113.7", client_user_agent="UA").match_keys == (
        "client_ip_address+client_user_agent",
    )
    assert UserData(
        madid="6d92078a-8246-4ba4-ae5b-76104861e7dc", phone="+14155550132"
    ).match_keys == (
        "ph",
        "madid",
    )


def test_repr_is_short_and_masks_every_identifier():
    """The repr shows which fields are set, with identifiers masked and hashes abbreviated."""
    user = UserData(
        email="Person@Example.com",
        phone="+44 844 412 4653",
        first_name="Raphaël",
        external_id=EMAIL_HASH,
        client_ip_address="203.0.113.7",
        client_user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36",
    )
    assert repr(user) == (
        "UserData(email=['p*****@e******.com'], phone=['4*********53'], first_name=['r****ël'], "
        "external_id=['sha256:542d2401…'], client_ip_address='2********.7', "
        "client_user_agent='Mozilla/5.0 (Windows NT…')"
    )
    for secret in ("person", "844412", "raphaël", "203.0.113"):
        assert secret not in repr(user).lower()


def test_equality_and_hash():
    """Equal inputs give equal, hashable user data, whatever their raw spelling."""
    a = UserData(email=" A@X.com", phone="+1 415 555 0132")
    b = UserData(email="a@x.com", phone="+14155550132")
    assert a == b
    assert hash(a) == hash(b)
    assert a != UserData(email="a@x.com")


fields = st.sampled_from(sorted(UserData._FIELDS - {"on_invalid"}))
values = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(exclude_categories=())),
    st.text(alphabet=string.printable),
    st.lists(st.text(max_size=20), max_size=3),
    st.integers(),
    st.floats(),
    hostile_values,  # issue 11: huge ints, NaN, sNaN, Fractions, surrogates, deep and cyclic
    st.lists(hostile_values, max_size=3),
)


@given(data=st.dictionaries(fields, values, max_size=6), mode=st.sampled_from(["raise", "drop"]))
@settings(max_examples=500)
def test_any_input_gives_user_data_or_validation_error(data, mode):
    """Whatever the values, construction gives UserData or ValidationError, nothing else."""
    try:
        user = UserData(**data, on_invalid=mode)
    except ValidationError as error:
        for value in data.values():
            assert_never_quoted(error, value)
        return
    payload = user.to_payload()
    for key in ("em", "ph", "fn", "ln", "ge", "db", "ct", "st", "zp", "country", "external_id"):
        for digest in payload.get(key, []):
            assert len(digest) == 64
            assert digest != hashlib.sha256(b"").hexdigest()
    repr(user)


# --------------------------------------------------------------------------- review regressions


def test_drop_mode_covers_raw_identifiers():
    """A bad IP or ad id is dropped with a warning in drop mode, and raises by default."""
    user = UserData(
        email="a@x.com", client_ip_address="unknown", madid="not-an-id", on_invalid="drop"
    )
    assert user.client_ip_address is None
    assert user.madid is None
    assert user.warnings is not None
    assert [w.split(":")[0] for w in user.warnings] == [
        "client_ip_address dropped",
        "madid dropped",
    ]
    with pytest.raises(ValidationError, match="client_ip_address"):
        UserData(client_ip_address="unknown")


def test_prehashed_country_is_not_used_as_phone_region():
    """A hashed country cannot be a region: the phone is read on its own terms."""
    country = normalize.hash_value("us")
    assert UserData(phone="+1 415 555 0132", country=country).phone == ("14155550132",)
    assert UserData(phone="(415) 555-0132", country=country).unresolved_phones == (
        "(415) 555-0132",
    )


def test_garbage_phone_is_invalid_not_waiting_for_a_region():
    """'n/a' is not a national number waiting for a region: it is simply invalid."""
    with pytest.raises(ValidationError, match="phone"):
        UserData(phone="n/a", email="a@x.com")
    user = UserData(phone="n/a", email="a@x.com", on_invalid="drop")
    assert user.unresolved_phones is None
    assert user.warnings is not None
    assert user.warnings[0].startswith("phone dropped")


def test_bad_region_is_reported_as_region():
    """A region that is no country is the region's fault, not the country field's."""
    with pytest.raises(ValidationError) as info:
        UserData(phone="(415) 555-0132", region="Atlantis")
    assert info.value.field == "region"
    with pytest.raises(ValidationError) as info:
        UserData(phone="(415) 555-0132").with_default_region("Atlantis")
    assert info.value.field == "region"


@pytest.mark.parametrize("value", [[["x"]], [b"x"], [42], [{"a": 1}]])
def test_list_items_must_be_text(value):
    """List items of the wrong type raise, in drop mode too: that is a bug, not bad data."""
    with pytest.raises(ValidationError, match="expected strings"):
        UserData(first_name=value, on_invalid="drop")


def test_surrogates_are_refused():
    """Lone surrogates raise ValidationError rather than a UnicodeEncodeError."""
    with pytest.raises(ValidationError, match="Unicode"):
        UserData(external_id="a\ud800")
    with pytest.raises(ValidationError, match="Unicode"):
        UserData(client_user_agent="Mozilla\ud800")


# --------------------------------------------------------------------------- drops as values


def test_each_kind_of_drop_has_its_code_and_the_warning_as_its_message():
    """Drops are Problem values: code and field to count by, the warning string as message."""
    user = UserData(
        email=["jane.doe@nowhere", "ok@example.com"],
        phone="12",
        client_ip_address="unknown",
        madid="00000000-0000-0000-0000-000000000000",
        on_invalid="drop",
    )
    assert user.drops is not None
    assert [(d.code, d.field) for d in user.drops] == [
        ("invalid_value", "email"),
        ("invalid_value", "client_ip_address"),
        ("madid_zero", "madid"),
        ("phone_no_country_code", "phone"),
    ]
    assert user.warnings == tuple(d.message for d in user.drops)
    assert [d.label for d in user.drops] == [
        "is not a valid email address",
        "is not an IPv4 or IPv6 address",
        "is the all-zero id a device reports when ad tracking is limited",
        "has no country code",
    ]
    assert "jane.doe" not in repr(user.drops)


def test_a_phone_with_a_country_code_or_a_region_is_invalid_not_missing_its_code():
    """Only a number read without any country code is dropped for want of one."""
    written = UserData(phone="+1 415 555 01", email="a@x.com", on_invalid="drop")
    assert [(d.code, d.field) for d in written.drops or ()] == [("invalid_value", "phone")]
    national = UserData(phone=FRENCH_MOBILE, region="US", email="a@x.com", on_invalid="drop")
    assert [d.code for d in national.drops or ()] == ["invalid_value"]
    assert (national.drops or ())[0].label == "is not a valid US number"


def test_drops_follow_the_user_data_through_default_regions_and_unresolved_phones():
    """with_default_region and without_unresolved keep drops and warnings in step."""
    later = UserData(phone=FRENCH_MOBILE, email="a@x.com", on_invalid="drop")
    assert later.drops is None
    resolved = later.with_default_region("US")
    assert [d.code for d in resolved.drops or ()] == ["invalid_value"]
    assert resolved.warnings == tuple(d.message for d in resolved.drops or ())

    waiting = UserData(phone="(415) 555-0132", email="a@x.com")
    worded = waiting.without_unresolved("phone dropped: (***********32 has no region to read it")
    assert [(d.code, d.field) for d in worded.drops or ()] == [("phone_no_country_code", "phone")]
    assert worded.warnings == ("phone dropped: (***********32 has no region to read it",)
    assert worded.unresolved_phones is None


def test_drops_do_not_change_equality_or_hash():
    """Two user data with the same warnings are equal and hash alike, drops or not."""
    a = UserData(email=["bad@", "a@x.com"], on_invalid="drop")
    b = UserData(email=["bad@", "a@x.com"], on_invalid="drop")
    assert a == b
    assert hash(a) == hash(b)
    assert a.drops == b.drops


def test_identifier_rows_show_hashes_and_masks_never_the_value():
    """identifier_rows (notebook tables) lives with UserData: digest starts, masked forms."""
    from snapcapi.user_data import identifier_rows

    user = UserData(email="Person@Example.com", external_id=EMAIL_HASH, client_ip_address="1.2.3.4")
    rows = dict(identifier_rows(user))
    assert rows["user_data.email (em)"] == f"sha256:{EMAIL_HASH[:8]}… (p*****@e******.com)"
    assert rows["user_data.external_id (external_id)"] == f"sha256:{EMAIL_HASH[:8]}…"
    assert rows["user_data.client_ip_address"] == "1****.4"
    assert "person" not in str(rows).lower()

"""UserData: normalization on the way in, hashing on the way out, masking everywhere else."""

from __future__ import annotations

import hashlib
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snapcapi import UserData, ValidationError, normalize

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


def test_phone_region_from_argument_or_country():
    """A national phone number is read in region=, else in the user's country."""
    assert UserData(phone="(415) 555-0132", region="US").phone == ("14155550132",)
    assert UserData(phone="020 7946 0958", country="GB").phone == ("442079460958",)
    assert UserData(phone="020 7946 0958", country="gbr", region="United Kingdom").phone == (
        "442079460958",
    )


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


fields = st.sampled_from(
    ["email", "phone", "first_name", "last_name", "gender", "date_of_birth", "city", "state",
     "zip_code", "country", "external_id", "client_ip_address", "client_user_agent", "madid",
     "sc_click_id", "region"]
)  # fmt: skip
values = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(exclude_categories=())),
    st.text(alphabet=string.printable),
    st.lists(st.text(max_size=20), max_size=3),
    st.integers(),
    st.floats(),
)


@given(data=st.dictionaries(fields, values, max_size=6), mode=st.sampled_from(["raise", "drop"]))
@settings(max_examples=500)
def test_any_input_gives_user_data_or_validation_error(data, mode):
    """Whatever the values, construction gives UserData or ValidationError, nothing else."""
    try:
        user = UserData(**data, on_invalid=mode)
    except ValidationError:
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

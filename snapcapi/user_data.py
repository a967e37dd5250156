"""``UserData``: who converted, normalized and ready to hash."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypedDict

import attrs

from snapcapi import normalize
from snapcapi._convert import init_fields, is_blank, none_defaults, one_of, text, text_list
from snapcapi._masking import mask, mask_email
from snapcapi.errors import ValidationError

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["OnInvalid", "UserData"]

OnInvalid = Literal["raise", "drop"]

Identifier = str | Iterable[str]


class UserDataFields(TypedDict, total=False):
    """The keyword arguments of :class:`UserData` (see its docstring)."""

    email: Identifier | None
    phone: Identifier | None
    first_name: Identifier | None
    last_name: Identifier | None
    gender: Identifier | None
    date_of_birth: str | _dt.date | Iterable[str | _dt.date] | None
    city: Identifier | None
    state: Identifier | None
    zip_code: Identifier | None
    country: Identifier | None
    external_id: Identifier | None
    client_ip_address: str | None
    client_user_agent: str | None
    sc_click_id: str | None
    sc_cookie1: str | None
    madid: str | None
    idfv: str | None
    subscription_id: str | None
    lead_id: str | int | None
    anon_id: Identifier | None
    download_id: str | None
    partner_id: str | None
    region: str | None
    on_invalid: OnInvalid


# Hashed identifiers: Python name -> (wire key, normalizer). Phone is handled on its own because
# its region comes from another field.
_HASHED: dict[str, tuple[str, Callable[[Any], str]]] = {
    "email": ("em", normalize.email),
    "phone": ("ph", normalize.phone),
    "first_name": ("fn", normalize.name),
    "last_name": ("ln", normalize.name),
    "gender": ("ge", normalize.gender),
    "date_of_birth": ("db", normalize.date_of_birth),
    "city": ("ct", normalize.city),
    "state": ("st", normalize.state),
    "zip_code": ("zp", normalize.zip_code),
    "country": ("country", normalize.country),
    "external_id": ("external_id", normalize.external_id),
}


def _single(normalizer: Callable[[str], str]) -> Callable[[Any, str], str]:
    def convert(value: Any, field: str) -> str:
        return normalizer(text(value, field))

    return convert


# Identifiers sent as they are (after light normalization), never hashed.
_RAW: dict[str, Callable[[Any, str], Any]] = {
    "client_ip_address": _single(normalize.ip_address),
    "client_user_agent": text,
    "sc_click_id": text,
    "sc_cookie1": text,
    "madid": _single(normalize.madid),
    "idfv": text,
    "subscription_id": text,
    "lead_id": text,
    "anon_id": text_list,
    "download_id": text,
    "partner_id": text,
}

_MASKERS: dict[str, Callable[[str], str]] = {"email": mask_email}


@none_defaults
@attrs.frozen(init=False, slots=False, repr=False)
class UserData:
    """The identifiers Snap matches to a Snapchatter, normalized as Snap specifies.

    Pass raw values as your app holds them; each is normalized on the way in (see
    :mod:`snapcapi.normalize`) and the personal ones are SHA-256 hashed in :meth:`to_payload`.
    Every hashed identifier takes one string or a list of strings; values that already are
    SHA-256 hex digests pass through. Blank values (None, "") are left out.

    Args:
        email: Email address(es) → ``em``.
        phone: Phone number(s) → ``ph``. Numbers without a country code are read in ``region``,
            else in the first ``country``, else in the client's ``default_region`` at send time.
        first_name: → ``fn``. last_name: → ``ln``. gender: ``m``/``f``/male/female → ``ge``.
        date_of_birth: A ``date`` or ``YYYY-MM-DD`` → ``db``. city: → ``ct``. state: → ``st``.
        zip_code: → ``zp``. country: Alpha-2/alpha-3 code or English name → ``country``.
        external_id: Your own user id(s), hashed → ``external_id``.
        client_ip_address: Sent unhashed; with ``client_user_agent`` it forms a matching key.
        client_user_agent: The browser's User-Agent header, sent unhashed.
        sc_click_id: The ``ScCid`` landing-page parameter (click id).
        sc_cookie1: The ``_scid`` first-party cookie set by the Snap Pixel.
        madid: Mobile advertising id (IDFA/AAID); the all-zero id is dropped with a warning.
        idfv, subscription_id, lead_id, anon_id, download_id, partner_id: Sent as given.
        region: Default region for phone numbers written without a country code.
        on_invalid: ``"raise"`` (default) raises :class:`~snapcapi.ValidationError` for an
            identifier that cannot be normalized; ``"drop"`` leaves it out and records a warning
            in :attr:`warnings`.

    Raises:
        ValidationError: A value has the wrong type, or (with ``on_invalid="raise"``) cannot be
            normalized.

    """

    email: tuple[str, ...] | None
    phone: tuple[str, ...] | None
    first_name: tuple[str, ...] | None
    last_name: tuple[str, ...] | None
    gender: tuple[str, ...] | None
    date_of_birth: tuple[str, ...] | None
    city: tuple[str, ...] | None
    state: tuple[str, ...] | None
    zip_code: tuple[str, ...] | None
    country: tuple[str, ...] | None
    external_id: tuple[str, ...] | None
    client_ip_address: str | None
    client_user_agent: str | None
    sc_click_id: str | None
    sc_cookie1: str | None
    madid: str | None
    idfv: str | None
    subscription_id: str | None
    lead_id: str | None
    anon_id: tuple[str, ...] | None
    download_id: str | None
    partner_id: str | None
    region: str | None
    on_invalid: OnInvalid | None
    #: Phone numbers that had no country code and no region yet; see :meth:`with_default_region`.
    unresolved_phones: tuple[str, ...] | None
    #: What was dropped or adjusted on the way in (with ``on_invalid="drop"``), masked.
    warnings: tuple[str, ...] | None

    _FIELDS: ClassVar[frozenset[str]] = frozenset([*_HASHED, *_RAW, "region", "on_invalid"])

    def __init__(self, **fields: Unpack[UserDataFields]) -> None:
        on_invalid = fields.pop("on_invalid", "raise")
        if on_invalid not in ("raise", "drop"):
            raise ValidationError("on_invalid", "must be 'raise' or 'drop'")
        region = fields.pop("region", None)
        raw: dict[str, Any] = {}
        hashed: dict[str, Any] = {}
        for key, value in fields.items():
            if key not in _HASHED and key not in _RAW:
                raise one_of(sorted(self._FIELDS), "user_data", key, "a UserData field")
            if key in _HASHED:
                hashed[key] = value
            else:
                raw[key] = value
        warnings: list[str] = []
        madid = raw.get("madid")
        if isinstance(madid, str) and madid.strip() == normalize.ZERO_MADID:
            # Not a mistake but a device with limited ad tracking: leave it out, say so.
            del raw["madid"]
            warnings.append(
                "madid dropped: is the all-zero id a device reports when ad tracking is limited; "
                "omit it"
            )
        init_fields(self, "user_data", raw, _RAW)
        values: dict[str, Any] = {}
        if on_invalid == "drop":
            values["on_invalid"] = on_invalid
        if not is_blank(region):
            values["region"] = normalize.country(text(region, "region"))
        phones = hashed.pop("phone", None)
        for key, value in hashed.items():
            if not is_blank(value):
                normalized = _normalize_all(key, value, _HASHED[key][1], on_invalid, warnings)
                if normalized:
                    values[key] = normalized
        if not is_blank(phones):
            phone_region = values.get("region") or (values.get("country") or (None,))[0]
            resolved, unresolved = _normalize_phones(phones, phone_region, on_invalid, warnings)
            if resolved:
                values["phone"] = resolved
            if unresolved:
                values["unresolved_phones"] = unresolved
        if warnings:
            values["warnings"] = tuple(warnings)
        self.__dict__.update(values)

    def with_default_region(self, region: str | None) -> UserData:
        """Return this user data with its unresolved phone numbers read in ``region``.

        The client calls this with its ``default_region`` before sending. With no region (or
        none left unresolved) it returns ``self``.
        """
        if not self.unresolved_phones or region is None:
            return self
        warnings = list(self.warnings or ())
        resolved, unresolved = _normalize_phones(
            self.unresolved_phones, normalize.country(region), self.on_invalid or "raise", warnings
        )
        copy = object.__new__(UserData)
        copy.__dict__.update(self.__dict__)
        copy.__dict__.update(
            phone=_dedupe((*(self.phone or ()), *resolved)) or None,
            unresolved_phones=unresolved or None,
            warnings=tuple(warnings) or None,
        )
        return copy

    @property
    def match_keys(self) -> tuple[str, ...]:
        """The matching keys present, among ``em``, ``ph``, ``madid`` and the IP + user agent pair.

        The pair is named ``client_ip_address+client_user_agent``.
        """
        keys = []
        if self.email:
            keys.append("em")
        if self.phone:
            keys.append("ph")
        if self.client_ip_address and self.client_user_agent:
            keys.append("client_ip_address+client_user_agent")
        if self.madid:
            keys.append("madid")
        return tuple(keys)

    def to_payload(self) -> dict[str, Any]:
        """Return the ``user_data`` object as Snap expects it, identifiers hashed."""
        payload: dict[str, Any] = {}
        hash_value = normalize.hash_value
        values = self.__dict__
        for key, (wire, _) in _HASHED.items():
            normalized = values.get(key)
            if normalized:
                payload[wire] = [hash_value(v) for v in normalized]
        for key in _RAW:
            value = values.get(key)
            if value is not None:
                payload[key] = list(value) if key == "anon_id" else value
        return payload

    def __repr__(self) -> str:
        parts = []
        for key in (*_HASHED, *_RAW, "region", "unresolved_phones", "on_invalid"):
            value = self.__dict__.get(key)
            if value is None:
                continue
            if key in ("region", "on_invalid"):
                parts.append(f"{key}={value!r}")
            elif key == "client_user_agent":
                parts.append(f"{key}={_shorten(value)!r}")
            elif isinstance(value, tuple):
                masker = _MASKERS.get(key, mask)
                shown = [_hash_label(v) if normalize.is_hashed(v) else masker(v) for v in value]
                parts.append(f"{key}={shown!r}")
            else:
                parts.append(f"{key}={mask(value)!r}")
        return f"UserData({', '.join(parts)})"


def _shorten(value: str, width: int = 24) -> str:
    return value if len(value) <= width else value[: width - 1] + "…"


def _hash_label(value: str) -> str:
    return f"sha256:{value[:8]}…"


def _dedupe(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _items(key: str, value: Any) -> Iterable[Any]:
    if isinstance(value, (str, _dt.date)):
        return (value,)
    if isinstance(value, Iterable) and not isinstance(value, (bytes, Mapping)):
        return value
    raise ValidationError(
        key, f"expected a string or a list of strings, got {type(value).__name__}"
    )


def _normalize_all(
    key: str,
    value: Any,
    normalizer: Callable[[Any], str],
    on_invalid: OnInvalid,
    warnings: list[str],
) -> tuple[str, ...]:
    result: list[str] = []
    for item in _items(key, value):
        if is_blank(item):
            continue
        if isinstance(item, str):
            stripped = item.strip()
            if normalize.is_hashed(stripped):
                result.append(stripped.lower())
                continue
        try:
            result.append(normalizer(item))
        except ValidationError as exc:
            error = ValidationError(key, exc.reason)
            if on_invalid == "raise":
                raise error from None
            warnings.append(f"{key} dropped: {exc.reason}")
    return _dedupe(result) if len(result) > 1 else tuple(result)


def _normalize_phones(
    value: Any, region: str | None, on_invalid: OnInvalid, warnings: list[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    resolved: list[str] = []
    unresolved: list[str] = []
    for item in _items("phone", value):
        if is_blank(item):
            continue
        if not isinstance(item, str):
            raise ValidationError("phone", f"expected a string, got {type(item).__name__}")
        stripped = item.strip()
        if normalize.is_hashed(stripped):
            resolved.append(stripped.lower())
            continue
        try:
            resolved.append(normalize.phone(stripped, region))
        except ValidationError as exc:
            if region is None and _lacks_country_code(stripped):
                unresolved.append(stripped)
            elif on_invalid == "raise":
                raise
            else:
                warnings.append(f"phone dropped: {exc.reason}")
    return _dedupe(resolved), tuple(unresolved)


def _lacks_country_code(number: str) -> bool:
    return not number.startswith(("+", "00"))

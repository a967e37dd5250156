"""``UserData``: who converted, normalized and ready to hash."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypedDict

import attrs

from snapcapi import normalize
from snapcapi._convert import is_blank, none_defaults, one_of, text, text_list
from snapcapi._masking import mask, mask_email
from snapcapi.errors import ValidationError
from snapcapi.normalize import ZERO_MADID, ZERO_MADID_REASON, sha256_hex
from snapcapi.problems import MADID_ZERO, PHONE_NO_COUNTRY_CODE, Problem

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["OnInvalid", "UserData", "identifier_rows"]

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


Prepared = tuple[tuple[str], tuple[str]]
"""One hashed identifier as stored: ``((normalized,), (digest,))``, ready to keep as is."""


def _preparer(normalizer: Callable[[Any], str], *, cached: bool) -> Callable[[Any], Prepared]:
    """Return a function from one stripped raw value to (normalized, digest).

    Values already hashed pass through. For fields with few distinct values (names, cities,
    states, countries, genders, birth dates) the result is memoized: in real exports the same
    few thousand values repeat across millions of rows, so most of them skip both the
    normalizer and the hash.
    """

    def prepare(value: Any) -> Prepared:
        if isinstance(value, str) and len(value) == 64 and normalize.is_hashed(value):
            digest = (value.lower(),)
            return digest, digest
        normalized = normalizer(value)
        return (normalized,), (sha256_hex(normalized),)

    return lru_cache(maxsize=16384)(prepare) if cached else prepare


# Hashed identifiers: Python name -> (wire key, preparer). Phone is handled on its own because
# its region comes from other fields.
_NAME = _preparer(normalize.name, cached=True)
_HASHED: dict[str, tuple[str, Callable[[Any], Prepared]]] = {
    "email": ("em", _preparer(normalize.email, cached=False)),
    "phone": ("ph", _preparer(normalize.phone, cached=False)),
    "first_name": ("fn", _NAME),
    "last_name": ("ln", _NAME),
    "gender": ("ge", _preparer(normalize.gender, cached=True)),
    "date_of_birth": ("db", _preparer(normalize.date_of_birth, cached=True)),
    "city": ("ct", _preparer(normalize.city, cached=True)),
    "state": ("st", _preparer(normalize.state, cached=True)),
    "zip_code": ("zp", _preparer(normalize.zip_code, cached=True)),
    "country": ("country", _preparer(normalize.country, cached=True)),
    "external_id": ("external_id", _preparer(normalize.external_id, cached=False)),
}
_country_code = lru_cache(maxsize=1024)(normalize.country)


def _region(value: Any) -> str:
    """Normalize a phone region, reporting problems against ``region``."""
    if not isinstance(value, str):
        raise ValidationError(
            "region", f"expected a country code such as 'US' or 'GB', got {type(value).__name__}"
        )
    try:
        return _country_code(text(value, "region"))
    except ValidationError as exc:
        raise ValidationError("region", exc.problem, remedy=exc.remedy) from None


def _plain_country(countries: tuple[str, ...] | None) -> str | None:
    """Return the user's first country as a region, unless it was given already hashed."""
    for country in countries or ():
        if not normalize.is_hashed(country):
            return country
    return None


def _single(normalizer: Callable[[str], str]) -> Callable[[Any, str], str]:
    # The normalizer checks the type and names the field itself.
    def convert(value: Any, field: str) -> str:
        return normalizer(value)

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
        phone: Phone number(s) → ``ph``. A number written with its country code (``+33 ...``,
            ``0033 ...``) is read as written. One without is read in the user's own
            ``country`` (the first one not given hashed), else in ``region``, else in the
            client's ``default_region`` at send time; read so, it must be a valid number of
            that country (see ``docs/normalization.md``, "Which country a phone number is
            read in").
        first_name: → ``fn``. last_name: → ``ln``. gender: ``m``/``f``/male/female → ``ge``.
        date_of_birth: A ``date`` or ``YYYY-MM-DD`` → ``db``. city: → ``ct``. state: → ``st``.
        zip_code: → ``zp``. country: Alpha-2/alpha-3 code or English name → ``country``.
        external_id: Your own user id(s), hashed → ``external_id``.
        client_ip_address: Sent unhashed; with ``client_user_agent`` it forms a matching key.
        client_user_agent: The browser's User-Agent header, sent unhashed.
        sc_click_id: The ``ScCid`` landing-page parameter (click id).
        sc_cookie1: The ``_scid`` first-party cookie set by the Snap Pixel.
        madid: Mobile advertising id (IDFA/AAID); the all-zero id is dropped with a warning.
        idfv, subscription_id, lead_id, download_id, partner_id: Sent as given (trimmed).
        anon_id: One id, a comma-separated string or a list; sent as a list.
        region: The country of phone numbers written without a country code, for users
            whose own ``country`` is not given (the bulk paths fill it from ``region=`` or
            ``--region``). It never overrides the user's ``country``.
        on_invalid: ``"raise"`` (default) raises :class:`~snapcapi.ValidationError` for an
            identifier that cannot be normalized; ``"drop"`` leaves it out and records a warning
            in :attr:`warnings`. A value of the wrong type (a number for an email) always raises.

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
    #: Phone numbers without country code, for a user with no country and no region (yet);
    #: see :meth:`with_default_region`.
    unresolved_phones: tuple[str, ...] | None
    #: What was dropped or adjusted on the way in (with ``on_invalid="drop"``), masked: the
    #: messages of :attr:`drops`.
    warnings: tuple[str, ...] | None
    #: The same, as :class:`~snapcapi.problems.Problem` values (code, field, message), for
    #: code that counts or groups them. Derived with :attr:`warnings`, so not compared.
    drops: tuple[Problem, ...] | None = attrs.field(eq=False, hash=False)
    # The wire form (hashed identifiers, raw ones), derived from the fields above.
    _wire: dict[str, Any] = attrs.field(eq=False, hash=False)

    _FIELDS: ClassVar[frozenset[str]] = frozenset([*_HASHED, *_RAW, "region", "on_invalid"])

    def __init__(self, /, **fields: Unpack[UserDataFields]) -> None:
        on_invalid = fields.pop("on_invalid", "raise")
        if on_invalid not in ("raise", "drop"):
            raise ValidationError("on_invalid", "must be 'raise' or 'drop'")
        region = fields.pop("region", None)
        # Straight into the instance dict: this is the hot path of every pipeline.
        values: dict[str, Any] = self.__dict__
        wire: dict[str, Any] = {}
        values["_wire"] = wire
        drops: list[Problem] = []
        phones: Any = None
        for key, value in fields.items():
            spec = _HASHED.get(key)
            if spec is None:
                convert = _RAW.get(key)
                if convert is None:
                    raise one_of(sorted(self._FIELDS), "user_data", key, "a UserData field")
                if value is None or (value.__class__ is str and not value.strip()):
                    continue
                if key == "madid" and isinstance(value, str) and value.strip() == ZERO_MADID:
                    # Not a mistake but a device with limited ad tracking: leave it out, say so.
                    drops.append(Problem.dropped(MADID_ZERO, "madid", ZERO_MADID_REASON))
                    continue
                try:
                    values[key] = wire[key] = convert(value, key)
                except ValidationError as exc:
                    if not isinstance(value, str):
                        raise  # a wrong type is a programming mistake, not bad data
                    _reject(key, exc, on_invalid, drops)
            elif key == "phone":
                phones = value
            elif value.__class__ is str:
                # The common case, one plain string, without the list machinery.
                stripped = value.strip()
                if stripped:
                    try:
                        values[key], wire[spec[0]] = spec[1](stripped)
                    except ValidationError as exc:
                        _reject(key, exc, on_invalid, drops)
            elif value is not None:
                _store(values, wire, key, _prepare_all(key, value, spec[1], on_invalid, drops))
        if on_invalid == "drop":
            values["on_invalid"] = on_invalid
        if not is_blank(region):
            values["region"] = _region(region)
        if phones is not None:
            # The user's own country beats a region given for a whole file (issue 9): the
            # region is a guess about many users, the country a fact about this one.
            country = _plain_country(values.get("country"))
            phone_region = country or values.get("region")
            from_country = country is not None
            number = _plain_phone(phones, phone_region, from_country)
            if number is not None:
                # The common case: one number that normalizes on the fast path.
                values["phone"], wire["ph"] = (number,), (sha256_hex(number),)
            else:
                resolved, unresolved = _prepare_phones(
                    phones, phone_region, from_country, on_invalid, drops
                )
                _store(values, wire, "phone", resolved)
                if unresolved:
                    values["unresolved_phones"] = unresolved
        if drops:
            values["drops"] = tuple(drops)
            values["warnings"] = tuple(drop.message for drop in drops)

    def with_default_region(self, region: str | None) -> UserData:
        """Return this user data with its unresolved phone numbers read in ``region``.

        The client calls this with its ``default_region`` before sending. Only numbers of a
        user with neither ``country`` nor ``region`` are unresolved, so the default never
        overrides either. With no region (or none left unresolved) it returns ``self``.
        """
        if not self.unresolved_phones or region is None:
            return self
        drops = list(self.drops or ())
        resolved, unresolved = _prepare_phones(
            self.unresolved_phones, _region(region), False, self.on_invalid or "raise", drops
        )
        known = [
            ((number,), (digest,))
            for number, digest in zip(self.phone or (), self._wire.get("ph", ()), strict=True)
        ]
        values: dict[str, Any] = {
            "phone": None,
            "unresolved_phones": unresolved or None,
            "drops": tuple(drops) or None,
            "warnings": tuple(drop.message for drop in drops) or None,
            "_wire": dict(self._wire),
        }
        _store(values, values["_wire"], "phone", _dedupe_prepared([*known, *resolved]))
        copy = object.__new__(UserData)
        copy.__dict__.update(self.__dict__)
        copy.__dict__.update(values)
        return copy

    def without_unresolved(self, warning: str | Problem) -> UserData:
        """Return this user data without the phones waiting for a region, noting ``warning``.

        For pipelines where no region will come (the command line, whose ``--region`` was
        applied already): the numbers are dropped like any identifier that cannot be used.
        ``warning`` is the drop as a :class:`~snapcapi.problems.Problem`, or its message
        (then counted as a phone without country code).
        """
        if not self.unresolved_phones:
            return self
        if isinstance(warning, str):
            warning = Problem(PHONE_NO_COUNTRY_CODE, "phone", warning)
        copy = object.__new__(UserData)
        copy.__dict__.update(self.__dict__)
        copy.__dict__["unresolved_phones"] = None
        copy.__dict__["drops"] = (*(self.drops or ()), warning)
        copy.__dict__["warnings"] = (*(self.warnings or ()), warning.message)
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
        return {
            key: list(value) if value.__class__ is tuple else value
            for key, value in self._wire.items()
        }

    def _json(self, quote: Callable[[str], str], value: Callable[[Any], str]) -> str:
        """Return :meth:`to_payload` as JSON text, without building the dict.

        The wire form is stored ready to encode (digests in tuples, which encode as the
        payload's lists), so ``value``, the encoder in use, writes it in one call (see
        :func:`snapcapi._transport._wire.encode_event`).
        """
        return value(self._wire)

    def _shown(self) -> list[tuple[str, Any]]:
        """List the fields set as ``(name, value)`` safe to display: identifiers masked."""
        parts: list[tuple[str, Any]] = []
        for key in (*_HASHED, *_RAW, "region", "unresolved_phones", "on_invalid"):
            value = self.__dict__.get(key)
            if value is None:
                continue
            if key in ("region", "on_invalid"):
                parts.append((key, value))
            elif key == "client_user_agent":
                parts.append((key, _shorten(value)))
            elif isinstance(value, tuple):
                masker = _MASKERS.get(key, mask)
                shown = [_hash_label(v) if normalize.is_hashed(v) else masker(v) for v in value]
                parts.append((key, shown))
            else:
                parts.append((key, mask(value)))
        return parts

    def __repr__(self) -> str:
        return f"UserData({', '.join(f'{key}={value!r}' for key, value in self._shown())})"


def identifier_rows(user: UserData, prefix: str = "user_data.") -> list[tuple[str, str]]:
    """Return ``(field, shown)`` rows for user data, safe to display (notebook tables).

    A hashed identifier shows the start of the SHA-256 digest that is sent, with its masked
    normalized form to recognise it (``sha256:8f1c2d3e… (j***@e******.com)``); the others are
    masked as in ``repr``.
    """
    wire = user.to_payload()
    rows: list[tuple[str, str]] = []
    for field, shown in user._shown():
        masked = [str(v) for v in shown] if isinstance(shown, list) else [str(shown)]
        spec = _HASHED.get(field)
        digests = wire.get(spec[0]) if spec is not None else None
        if spec is None or not digests:
            rows.append((prefix + field, ", ".join(masked)))
            continue
        digests = digests if isinstance(digests, list) else [digests]
        masked += [""] * (len(digests) - len(masked))  # they pair up; never lose a digest
        cells = [_hash_cell(digest, label) for digest, label in zip(digests, masked, strict=False)]
        rows.append((f"{prefix}{field} ({spec[0]})", ", ".join(cells)))
    return rows


def _hash_cell(digest: str, masked: str) -> str:
    short = _hash_label(digest)
    return short if not masked or masked.startswith("sha256:") else f"{short} ({masked})"


def _shorten(value: str, width: int = 24) -> str:
    return value if len(value) <= width else value[: width - 1] + "…"


def _hash_label(value: str) -> str:
    return f"sha256:{value[:8]}…"


def _items(key: str, value: Any) -> Iterable[Any]:
    if isinstance(value, (str, _dt.date)):
        return (value,)
    if isinstance(value, Iterable) and not isinstance(value, (bytes, Mapping)):
        return value
    raise ValidationError(
        key, f"expected a string or a list of strings, got {type(value).__name__}"
    )


def _reject(
    key: str,
    exc: ValidationError,
    on_invalid: OnInvalid,
    drops: list[Problem],
) -> None:
    """Raise the error under the field's own name, or record it as dropped in drop mode.

    The drop keeps the error's remedy as a value, not as advice in its message: warnings
    surface in command line reports too, where ``give region='FR'`` would be the wrong words.
    """
    if on_invalid == "raise":
        raise ValidationError(key, exc.problem, remedy=exc.remedy, code=exc.code) from None
    drops.append(Problem.dropped(exc.code, key, exc.problem, exc.remedy))


def _store(
    values: dict[str, Any], wire: dict[str, Any], key: str, prepared: list[Prepared]
) -> None:
    """Store prepared values: normalized forms under the field, digests under the wire key."""
    if len(prepared) == 1:
        values[key], wire[_HASHED[key][0]] = prepared[0]
    elif prepared:
        values[key] = tuple(normalized for (normalized,), _ in prepared)
        wire[_HASHED[key][0]] = tuple(digest for _, (digest,) in prepared)


def _dedupe_prepared(prepared: list[Prepared]) -> list[Prepared]:
    """Keep the first of values that normalize alike, in input order."""
    if len(prepared) < 2:
        return prepared
    seen: dict[str, Prepared] = {}
    for item in prepared:
        seen.setdefault(item[1][0], item)
    return list(seen.values())


def _prepare_all(
    key: str,
    value: Any,
    prepare: Callable[[Any], Prepared],
    on_invalid: OnInvalid,
    drops: list[Problem],
) -> list[Prepared]:
    result: list[Prepared] = []
    for item in _items(key, value):
        if is_blank(item):
            continue
        if isinstance(item, str):
            item = item.strip()
        elif not (key == "date_of_birth" and isinstance(item, _dt.date)):
            raise ValidationError(key, f"expected strings, got {type(item).__name__}")
        try:
            result.append(prepare(item))
        except ValidationError as exc:
            _reject(key, exc, on_invalid, drops)
    return _dedupe_prepared(result)


def _prepare_phones(
    value: Any,
    region: str | None,
    from_country: bool,
    on_invalid: OnInvalid,
    drops: list[Problem],
) -> tuple[list[Prepared], tuple[str, ...]]:
    resolved: list[Prepared] = []
    unresolved: list[str] = []
    for item in (value,) if value.__class__ is str else _items("phone", value):
        if is_blank(item):
            continue
        if not isinstance(item, str):
            raise ValidationError("phone", f"expected a string, got {type(item).__name__}")
        stripped = item.strip()
        if normalize.is_hashed(stripped):
            digest = (stripped.lower(),)
            resolved.append((digest, digest))
            continue
        try:
            number = normalize.read_phone(stripped, region, region_is_country=from_country)
        except ValidationError as exc:
            if region is None and _national_number(stripped):
                unresolved.append(stripped)
            else:
                _reject("phone", exc, on_invalid, drops)
        else:
            resolved.append(((number,), (sha256_hex(number),)))
    return _dedupe_prepared(resolved), tuple(unresolved)


def _plain_phone(value: Any, region: str | None, from_country: bool) -> str | None:
    """Normalize one plain phone string when nothing unusual happens, else return None."""
    if value.__class__ is not str or len(value) >= 64:
        return None
    try:
        return normalize.read_phone(value, region, region_is_country=from_country)
    except ValidationError:
        return None  # the general path reports it, drops it or keeps it for a default region


def _national_number(text: str) -> bool:
    """Tell whether text looks like a phone number written without its country code.

    Such a number waits for a region; anything else ("n/a", "-") is simply not a phone number.
    """
    if text.startswith(("+", "00")):
        return False
    digits = sum(ch.isdigit() for ch in text)
    return digits >= 6 and digits * 2 >= len(text.replace(" ", ""))

"""``AppData``: the device and app details that app events must carry."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

import attrs

from snapcapi._convert import (
    Converter,
    fields_repr,
    flag,
    init_fields,
    none_defaults,
    prefixed,
    text,
    text_list,
)
from snapcapi.errors import ValidationError

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["AppData"]

_PLATFORMS = {"android": "a2", "a2": "a2", "ios": "i2", "i2": "i2", "ipados": "i2"}

# The 16 positions of ``extinfo``, in order, after the version in position 0.
EXTINFO_FIELDS = (
    "package_name",
    "short_version",
    "long_version",
    "os_version",
    "device_model",
    "locale",
    "timezone_abbreviation",
    "carrier",
    "screen_width",
    "screen_height",
    "screen_density",
    "cpu_cores",
    "storage_size_gb",
    "free_storage_gb",
    "device_timezone",
)


def _platform(value: Any, field: str) -> str:
    key = text(value, field).lower()
    try:
        return _PLATFORMS[key]
    except KeyError:
        raise ValidationError(field, "must be 'android' or 'ios'") from None


def _extinfo_text(value: Any, field: str) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(field, "must be a finite number")
        return f"{value:.2f}" if field.endswith("screen_density") else repr(value)
    return text(value, field)


_CONVERTERS: dict[str, Converter] = {
    "app_id": prefixed(text, "app_data"),
    "platform": prefixed(_platform, "app_data"),
    "advertiser_tracking_enabled": prefixed(flag, "app_data"),
    "application_tracking_enabled": prefixed(flag, "app_data"),
    **{name: prefixed(_extinfo_text, "app_data") for name in EXTINFO_FIELDS},
    "campaign_ids": prefixed(text, "app_data"),
    "install_referrer": prefixed(text, "app_data"),
    "installer_package": prefixed(text, "app_data"),
    "url_schemes": prefixed(text_list, "app_data"),
    "windows_attribution_id": prefixed(text, "app_data"),
}


class AppDataFields(TypedDict, total=False):
    """The keyword arguments of :class:`AppData` (see its docstring)."""

    app_id: str | None
    platform: str | None
    advertiser_tracking_enabled: bool | int | str | None
    application_tracking_enabled: bool | int | str | None
    package_name: str | None
    short_version: str | None
    long_version: str | None
    os_version: str | None
    device_model: str | None
    locale: str | None
    timezone_abbreviation: str | None
    carrier: str | None
    screen_width: str | int | None
    screen_height: str | int | None
    screen_density: str | float | None
    cpu_cores: str | int | None
    storage_size_gb: str | int | float | None
    free_storage_gb: str | int | float | None
    device_timezone: str | None
    campaign_ids: str | None
    install_referrer: str | None
    installer_package: str | None
    url_schemes: str | Sequence[str] | None
    windows_attribution_id: str | None


@none_defaults
@attrs.frozen(init=False, slots=False, repr=False)
class AppData:
    """App event details: the store app id, tracking consent and the ``extinfo`` device array.

    ``extinfo`` is built from named fields so nobody has to remember its 16 positions; use
    :meth:`from_extinfo` when you already hold the array. All arguments are keyword-only.

    Args:
        app_id: The store app id (iOS numeric App Store id or Android package name); this is
            not the Snap App ID the client sends app events to.
        platform: ``"android"`` or ``"ios"`` (extinfo version ``a2``/``i2``); needed for app events.
        advertiser_tracking_enabled: iOS ATT status, sent as 1 or 0.
        application_tracking_enabled: App-level tracking opt-in, sent as 1 or 0.
        package_name ... device_timezone: The extinfo positions 1-15 (package name, short and
            long version, OS version, device model, locale, timezone abbreviation, carrier,
            screen width/height/density, CPU cores, storage size and free storage in GB, device
            timezone); missing ones are sent as empty strings.
        campaign_ids, install_referrer, installer_package, url_schemes, windows_attribution_id:
            As in Snap's v3 model.

    Raises:
        ValidationError: An unknown field or a bad value.

    """

    app_id: str | None
    platform: str | None
    advertiser_tracking_enabled: bool | None
    application_tracking_enabled: bool | None
    package_name: str | None
    short_version: str | None
    long_version: str | None
    os_version: str | None
    device_model: str | None
    locale: str | None
    timezone_abbreviation: str | None
    carrier: str | None
    screen_width: str | None
    screen_height: str | None
    screen_density: str | None
    cpu_cores: str | None
    storage_size_gb: str | None
    free_storage_gb: str | None
    device_timezone: str | None
    campaign_ids: str | None
    install_referrer: str | None
    installer_package: str | None
    url_schemes: tuple[str, ...] | None
    windows_attribution_id: str | None

    def __init__(self, /, **fields: Unpack[AppDataFields]) -> None:
        init_fields(self, "app_data", fields, _CONVERTERS)

    __repr__ = fields_repr

    @classmethod
    def from_extinfo(cls, extinfo: Sequence[Any], **fields: Unpack[AppDataFields]) -> AppData:
        """Build app data from an existing ``extinfo`` array (version first, up to 16 values).

        Raises:
            ValidationError: The array is longer than 16 or its version is not ``a2``/``i2``.

        """
        if (
            not isinstance(extinfo, Sequence)
            or isinstance(extinfo, (str, bytes))
            or not 1 <= len(extinfo) <= 16
        ):
            raise ValidationError("app_data.extinfo", "must be a list of 1 to 16 values")
        named = dict(zip(("platform", *EXTINFO_FIELDS), extinfo, strict=False))
        clashes = sorted(set(named) & set(fields))
        if clashes:
            raise ValidationError(
                "app_data.extinfo", f"also given as {', '.join(clashes)}; give each value once"
            )
        return cls(**named, **fields)

    @property
    def extinfo(self) -> list[str] | None:
        """The 16-value ``extinfo`` array, or None when no platform is set."""
        if self.platform is None:
            return None
        return [self.platform, *(getattr(self, name) or "" for name in EXTINFO_FIELDS)]

    def to_payload(self) -> dict[str, Any]:
        """Return the ``app_data`` object as Snap expects it."""
        payload: dict[str, Any] = {}
        if self.app_id is not None:
            payload["app_id"] = self.app_id
        for name in ("advertiser_tracking_enabled", "application_tracking_enabled"):
            value = getattr(self, name)
            if value is not None:
                payload[name] = int(value)
        extinfo = self.extinfo
        if extinfo is not None:
            payload["extinfo"] = extinfo
        for name in (
            "campaign_ids",
            "install_referrer",
            "installer_package",
            "windows_attribution_id",
        ):
            value = getattr(self, name)
            if value is not None:
                payload[name] = value
        if self.url_schemes is not None:
            payload["url_schemes"] = list(self.url_schemes)
        return payload

    def _json(self, quote: Callable[[str], str], value: Callable[[Any], str]) -> str:
        """Return :meth:`to_payload` as JSON text (``quote`` and ``value`` as the encoder's)."""
        values = self.__dict__
        out = ""
        if "app_id" in values:
            out += f',"app_id":{quote(values["app_id"])}'
        for name in ("advertiser_tracking_enabled", "application_tracking_enabled"):
            item = values.get(name)
            if item is not None:
                out += f',"{name}":{int.__repr__(int(item))}'
        platform = values.get("platform")
        if platform is not None:
            extinfo = [quote(platform), *(quote(values.get(name) or "") for name in EXTINFO_FIELDS)]
            out += f',"extinfo":[{",".join(extinfo)}]'
        for name in _TEXT_TAIL:
            item = values.get(name)
            if item is not None:
                out += f',"{name}":{quote(item)}'
        schemes = values.get("url_schemes")
        if schemes is not None:
            out += f',"url_schemes":[{",".join([quote(item) for item in schemes])}]'
        return f"{{{out[1:]}}}"


_TEXT_TAIL = ("campaign_ids", "install_referrer", "installer_package", "windows_attribution_id")

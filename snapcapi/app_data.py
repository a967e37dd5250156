"""``AppData``: the device and app details that app events must carry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from snapcapi._convert import flag, is_blank, text, text_list
from snapcapi.errors import ValidationError

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


def _optional(convert: Any) -> Any:
    def wrapper(value: Any) -> Any:
        return None if is_blank(value) else convert(value)

    return wrapper


def _platform(value: Any) -> str:
    key = text(value, "app_data.platform").lower()
    try:
        return _PLATFORMS[key]
    except KeyError:
        raise ValidationError("app_data.platform", "must be 'android' or 'ios'") from None


def _extinfo_text(field: str) -> Any:
    def convert(value: Any) -> str:
        if isinstance(value, float) and not isinstance(value, bool):
            return f"{value:.2f}" if field == "screen_density" else repr(value)
        return text(value, f"app_data.{field}")

    return _optional(convert)


def _text_field(field: str) -> Any:
    return _optional(lambda value: text(value, f"app_data.{field}"))


@attrs.frozen(kw_only=True)
class AppData:
    """App event details: the store app id, tracking consent and the ``extinfo`` device array.

    ``extinfo`` is built from named fields so nobody has to remember its 16 positions; use
    :meth:`from_extinfo` when you already hold the array.

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
    """

    app_id: str | None = attrs.field(default=None, converter=_text_field("app_id"))
    platform: str | None = attrs.field(default=None, converter=_optional(_platform))
    advertiser_tracking_enabled: bool | None = attrs.field(
        default=None, converter=_optional(lambda v: flag(v, "app_data.advertiser_tracking_enabled"))
    )
    application_tracking_enabled: bool | None = attrs.field(
        default=None, converter=_optional(lambda v: flag(v, "app_data.application_tracking_enabled"))
    )
    package_name: str | None = attrs.field(default=None, converter=_extinfo_text("package_name"))
    short_version: str | None = attrs.field(default=None, converter=_extinfo_text("short_version"))
    long_version: str | None = attrs.field(default=None, converter=_extinfo_text("long_version"))
    os_version: str | None = attrs.field(default=None, converter=_extinfo_text("os_version"))
    device_model: str | None = attrs.field(default=None, converter=_extinfo_text("device_model"))
    locale: str | None = attrs.field(default=None, converter=_extinfo_text("locale"))
    timezone_abbreviation: str | None = attrs.field(
        default=None, converter=_extinfo_text("timezone_abbreviation")
    )
    carrier: str | None = attrs.field(default=None, converter=_extinfo_text("carrier"))
    screen_width: str | None = attrs.field(default=None, converter=_extinfo_text("screen_width"))
    screen_height: str | None = attrs.field(default=None, converter=_extinfo_text("screen_height"))
    screen_density: str | None = attrs.field(default=None, converter=_extinfo_text("screen_density"))
    cpu_cores: str | None = attrs.field(default=None, converter=_extinfo_text("cpu_cores"))
    storage_size_gb: str | None = attrs.field(default=None, converter=_extinfo_text("storage_size_gb"))
    free_storage_gb: str | None = attrs.field(default=None, converter=_extinfo_text("free_storage_gb"))
    device_timezone: str | None = attrs.field(default=None, converter=_extinfo_text("device_timezone"))
    campaign_ids: str | None = attrs.field(default=None, converter=_text_field("campaign_ids"))
    install_referrer: str | None = attrs.field(default=None, converter=_text_field("install_referrer"))
    installer_package: str | None = attrs.field(
        default=None, converter=_text_field("installer_package")
    )
    url_schemes: tuple[str, ...] | None = attrs.field(
        default=None, converter=_optional(lambda v: text_list(v, "app_data.url_schemes"))
    )
    windows_attribution_id: str | None = attrs.field(
        default=None, converter=_text_field("windows_attribution_id")
    )

    @classmethod
    def from_extinfo(cls, extinfo: Sequence[Any], **fields: Any) -> AppData:
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
        named = dict(zip(("platform", *EXTINFO_FIELDS), extinfo))
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
        for name in ("campaign_ids", "install_referrer", "installer_package", "windows_attribution_id"):
            value = getattr(self, name)
            if value is not None:
                payload[name] = value
        if self.url_schemes is not None:
            payload["url_schemes"] = list(self.url_schemes)
        return payload


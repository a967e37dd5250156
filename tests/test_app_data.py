"""AppData: the extinfo array built from named fields."""

from __future__ import annotations

import pytest

from snapcapi import AppData, ValidationError


def test_extinfo_from_named_fields():
    """Named device fields land in their extinfo positions; missing ones are empty strings."""
    app = AppData(
        app_id="123456789",
        platform="iOS",
        advertiser_tracking_enabled=True,
        package_name="com.shop.app",
        short_version="771",
        os_version="17.1",
        device_model="iPhone15,2",
        locale="en_US",
        screen_density=2.0,
        device_timezone="America/New_York",
    )
    assert app.to_payload() == {
        "app_id": "123456789",
        "advertiser_tracking_enabled": 1,
        "extinfo": ["i2", "com.shop.app", "771", "", "17.1", "iPhone15,2", "en_US", "", "", "",
                    "", "2.00", "", "", "", "America/New_York"],
    }  # fmt: skip


def test_from_extinfo_round_trips():
    """An existing extinfo array builds the same AppData."""
    extinfo = ["a2", "com.some.app", "771", "Version 7.7.1", "10.1.1", "OnePlus6", "en_US"]
    extinfo += ["GMT-1", "TMobile", "1920", "1080", "2.00", "2", "128", "8", "USA/New York"]
    app = AppData.from_extinfo(extinfo, app_id="com.some.app")
    assert app.extinfo == extinfo
    assert app.platform == "a2"


def test_bad_platform_and_extinfo():
    """Only android/ios platforms, and at most 16 extinfo values."""
    with pytest.raises(ValidationError, match="android' or 'ios"):
        AppData(platform="windows")
    with pytest.raises(ValidationError, match="1 to 16"):
        AppData.from_extinfo(["a2"] * 17)
    with pytest.raises(ValidationError, match="advertiser_tracking_enabled"):
        AppData(advertiser_tracking_enabled="sometimes")


def test_no_platform_no_extinfo():
    """Without a platform there is no extinfo array to send."""
    assert AppData(app_id="x").to_payload() == {"app_id": "x"}

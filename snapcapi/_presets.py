"""Platform presets: a mapping, filters and defaults for one platform's export, as a TOML file.

A preset is a readable file in ``snapcapi/presets/`` (``shopify.toml``, ``ga4.toml``, ...),
listed by ``snapcapi presets`` and printed by ``snapcapi presets NAME`` so a user can copy and
edit it; ``--preset PATH`` takes an edited copy. The command line's flags win over it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import attrs

from snapcapi.errors import ValidationError

if sys.version_info >= (3, 11):  # pragma: no cover - the version decides
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Preset", "load_preset", "preset_names"]

_SCALARS = {
    "description": str,
    "format": str,
    "encoding": str,
    "group_by": str,
    "timezone": str,
    "time_format": str,
    "decimal_comma": bool,
    "synonyms": bool,
    "consent_column": str,
}
_LISTS = ("key", "ignore")
_TABLES = ("map", "set", "where", "exclude", "aliases")


@attrs.frozen
class Preset:
    """One platform's settings, as its TOML file gives them.

    Attributes:
        name: The preset's name (``shopify``) or the path it was read from.
        text: The file as written (what ``snapcapi presets NAME`` prints).
        settings: The parsed settings, checked: scalars (``timezone``, ``group_by``, ...),
            lists (``key``, ``ignore``) and tables (``map``, ``set``, ``where``, ``exclude``,
            ``aliases``).
    """

    name: str
    text: str
    settings: Mapping[str, Any]

    @property
    def description(self) -> str:
        """The preset's one-line description."""
        return str(self.settings.get("description", ""))

    def table(self, name: str) -> dict[str, Any]:
        """Return one of the preset's tables (empty when it has none)."""
        return dict(self.settings.get(name) or {})

    def get(self, name: str, default: Any = None) -> Any:
        """Return a scalar or list setting."""
        return self.settings.get(name, default)


def _directory() -> Any:
    return resources.files("snapcapi") / "presets"


def preset_names() -> list[str]:
    """Return the names of the presets that ship with snapcapi, sorted."""
    return sorted(
        entry.name[: -len(".toml")]
        for entry in _directory().iterdir()
        if entry.name.endswith(".toml")
    )


def load_preset(name: str) -> Preset:
    """Load a shipped preset by name, or an edited copy by its path (``my_shop.toml``).

    Raises:
        ValidationError: (field ``preset``) No such preset, or the file is not a valid preset.
    """
    if name.endswith(".toml") or "/" in name or "\\" in name:
        path = Path(name)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValidationError("preset", f"cannot read {name}: {exc.strerror or exc}") from exc
    else:
        entry = _directory() / f"{name.strip().lower()}.toml"
        if not entry.is_file():
            names = ", ".join(preset_names())
            raise ValidationError(
                "preset", f"{name!r} is not a preset snapcapi knows; the presets are: {names}"
            )
        text = entry.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError("preset", f"{name} is not valid TOML: {exc}") from exc
    return Preset(name, text, _checked(name, data))


def _checked(name: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Refuse unknown settings and values of the wrong kind, naming the setting."""
    settings: dict[str, Any] = {}
    for key, value in data.items():
        where = f"{name}: {key}"
        if key in _SCALARS:
            if not isinstance(value, _SCALARS[key]):
                kind = _SCALARS[key].__name__
                raise ValidationError("preset", f"{where} must be a {kind}")
            settings[key] = value
        elif key in _LISTS:
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ValidationError("preset", f"{where} must be a list of column names")
            settings[key] = list(values)
        elif key in _TABLES:
            if not isinstance(value, Mapping):
                raise ValidationError("preset", f"{where} must be a table ([{key}])")
            settings[key] = _table(where, key, value)
        else:
            known = ", ".join([*_SCALARS, *_LISTS, *_TABLES])
            raise ValidationError("preset", f"{where} is not a preset setting (known: {known})")
    return settings


def _table(where: str, key: str, value: Mapping[str, Any]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for name, item in value.items():
        if key in ("where", "exclude"):
            items = [item] if isinstance(item, str) else item
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise ValidationError("preset", f"{where}.{name} must be a list of values")
            table[name] = list(items)
        elif key == "map":
            ok = isinstance(item, str) or (
                isinstance(item, list) and all(isinstance(i, str) for i in item)
            )
            if not ok:
                raise ValidationError("preset", f"{where}.{name} must be a column or a list")
            table[name] = item
        elif key == "aliases":
            if not isinstance(item, (str, int)) or isinstance(item, bool):
                raise ValidationError("preset", f"{where}.{name} must be an event name or 1-5")
            table[name] = item
        else:
            if not isinstance(item, (str, int, float)) or isinstance(item, bool):
                raise ValidationError("preset", f"{where}.{name} must be a value")
            table[name] = item
    return table

"""Values as exports write them, made into values the models read.

Spreadsheets and platform exports add marks the models should never see: a ``'`` before a
zip so Excel keeps its leading zero, thousands separators (``1,200.00``), decimal commas
(``49,00``), one ``full_name`` where Snap wants first and last name, guests' placeholder ids
(``0``). Each cleaner here is a pure function of a cell; :func:`clean_record` applies them to
one mapped record, and the sanity check of a synonym-matched column uses the same table, so
the two can never disagree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from snapcapi._convert import is_blank
from snapcapi._mapping import ITEM_FIELDS

__all__ = [
    "PLACEHOLDER_IDS",
    "blank",
    "clean_record",
    "clean_value",
    "contents",
    "id_text",
    "joined",
    "quantity",
]

#: External ids that mean "no id" (guest checkouts): dropped and counted, never hashed into
#: one id shared by everyone who has it.
PLACEHOLDER_IDS: frozenset[str] = frozenset(
    {"0", "-1", "null", "none", "nil", "nan", "n/a", "na", "guest", "undefined", "unknown", "-"}
)
_TRUE = frozenset({"true", "yes", "1", "y"})


def blank(value: Any) -> bool:
    """Tell whether a cell (or every value of a list cell) is blank."""
    if isinstance(value, list):
        return all(blank(v) for v in value)
    return is_blank(value)


def id_text(value: Any) -> str:
    """Return the text of an id cell: ``12345.0`` (a spreadsheet's number) is ``12345``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def unquoted(value: Any) -> Any:
    """Drop the ``'`` a spreadsheet puts before a value to keep it as text (``'02134``)."""
    if isinstance(value, list):
        return [unquoted(v) for v in value]
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("'") and len(text) > 1:
            return text[1:].strip()
    return value


_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_COMMA_DECIMAL = re.compile(r"[+-]?\d{1,3}(?:[. ]\d{3})+(?:,\d+)?|[+-]?\d+(?:,\d+)?")


def amount(value: Any, decimal_comma: bool) -> Any:
    """Read ``1,200.00`` (and, with ``decimal_comma``, ``1.200,00`` or ``49,00``) as a number."""
    if not isinstance(value, str):
        return value
    text = unquoted(value.strip())
    if decimal_comma:
        if _COMMA_DECIMAL.fullmatch(text):
            return text.replace(".", "").replace(" ", "").replace(",", ".")
        return text
    if _THOUSANDS.fullmatch(text):
        return text.replace(",", "")
    return text


def consent(value: Any) -> bool | None:
    """Read a consent cell: true/yes/1/y (any case, ``1.0`` too) is consent; blank is unknown."""
    if blank(value):
        return None
    if isinstance(value, bool):
        return value
    return id_text(value).lower() in _TRUE


Cleaner = Callable[[Any, bool], Any]
#: How each field's cells are cleaned (the flag is ``decimal_comma``).
CLEANERS: Mapping[str, Cleaner] = {
    "phone": lambda value, _: unquoted(value),
    "zip_code": lambda value, _: unquoted(value),
    "value": amount,
    "predicted_ltv": amount,
    "contents.item_price": amount,
}


def clean_value(field: str, value: Any, decimal_comma: bool) -> Any:
    """Clean one cell for ``field``."""
    cleaner = CLEANERS.get(field)
    return value if cleaner is None else cleaner(value, decimal_comma)


def clean_record(record: dict[str, Any], decimal_comma: bool) -> int:
    """Clean a mapped record in place; return how many placeholder external ids it dropped."""
    for field, cleaner in CLEANERS.items():
        if field in record:
            record[field] = cleaner(record[field], decimal_comma)
    full = record.pop("full_name", None)
    if isinstance(full, str) and not blank(full):
        first, _, last = full.strip().partition(" ")
        if blank(record.get("first_name")) and first:
            record["first_name"] = first
        if blank(record.get("last_name")) and last.strip():
            record["last_name"] = last.strip()
    if "consent" in record:
        record["consent"] = consent(record["consent"])
    dropped = 0
    if "external_id" in record:
        record["external_id"], dropped = _real_ids(record["external_id"])
    return dropped


def _real_ids(value: Any) -> tuple[Any, int]:
    values = value if isinstance(value, list) else [value]
    kept = [v for v in values if not blank(v) and id_text(v).lower() not in PLACEHOLDER_IDS]
    dropped = sum(1 for v in values if not blank(v)) - len(kept)
    if isinstance(value, list):
        return kept or None, dropped
    return (kept[0] if kept else None), dropped


def joined(first: Any, second: Any) -> list[Any]:
    """Join two id cells (a list, a comma-separated text or one value), keeping order."""
    items: list[Any] = []
    for value in (first, second):
        if isinstance(value, list):
            items.extend(value)
        elif isinstance(value, str):
            items.extend(value.split(","))
        elif value is not None:
            items.append(value)
    return list(dict.fromkeys(i.strip() if isinstance(i, str) else i for i in items if i != ""))


def contents(records: Sequence[Mapping[str, Any]], decimal_comma: bool) -> list[dict[str, Any]]:
    """Return one content per row of a group, or per element where item fields are lists."""
    items: list[dict[str, Any]] = []
    for record in records:
        values = {attr: record.get(field) for field, attr in ITEM_FIELDS.items()}
        width = max((len(v) for v in values.values() if isinstance(v, list)), default=0)
        rows = (
            [{a: (v[i] if isinstance(v, list) and i < len(v) else None) for a, v in values.items()}
             for i in range(width)]
            if width
            else [values]
        )  # fmt: skip
        for item in rows:
            kept = {a: v for a, v in item.items() if not blank(v)}
            if "item_price" in kept:
                kept["item_price"] = amount(kept["item_price"], decimal_comma)
            if kept:
                items.append(kept)
    return items


def quantity(items: Sequence[Mapping[str, Any]]) -> int | None:
    """Return the units of a group's items, or None when none says (or one is unreadable)."""
    total = 0
    found = False
    for item in items:
        units = item.get("quantity")
        if units is None:
            continue
        try:
            total += int(float(str(units).strip()))
        except ValueError:
            return None  # Content reports the bad quantity itself
        found = True
    return total if found else None

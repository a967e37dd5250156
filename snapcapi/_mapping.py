"""Which column feeds which field: explicit choices, exact names, conservative synonyms.

A source (a CSV header, the keys of JSON objects) is matched to the fields of
:meth:`snapcapi.Event.from_dict` once, in this order:

1. an explicit choice (``--map FIELD=COLUMN``, ``mapping=``, a preset's ``[map]``); a
   column may be a dotted path into nested JSON, and ``FIELD=`` (empty) leaves a field
   unmapped;
2. a column named exactly like a field (``email``, ``value``, ``em``), compared without
   case, spaces or dashes;
3. a common synonym (``zip`` → ``zip_code``, ``ip`` → ``client_ip_address``), unless
   synonyms are switched off.

Generic names (``source``, ``platform``, ``items``, ``status``, ``type``, ...) are never
matched automatically, by name or synonym: what they mean depends on the platform, so only an
explicit choice maps them. A synonym-matched column whose first values do not fit its field
is left unmapped and reported, rather than turning every row INVALID. Every decision is kept
with its reason (:class:`Match`), so the command line can print the table it used.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from snapcapi.errors import Remedy, ValidationError
from snapcapi.events import _ALL_KEYS, _NESTED

__all__ = [
    "GENERIC_NAMES",
    "ITEM_FIELDS",
    "LIST_FIELDS",
    "MAX_DEPTH",
    "SYNONYMS",
    "VIRTUAL_FIELDS",
    "ColumnMap",
    "Match",
    "TooDeep",
    "canonical",
    "extract",
    "is_field",
]

#: Column names (lowercase, ``_`` for spaces and dashes) read as a field when no column has
#: the field's own name. Only names whose meaning does not depend on the platform are here.
SYNONYMS: Mapping[str, str] = {
    # event
    "event": "event_name",
    "event_type": "event_name",
    "conversion_type": "event_name",
    "timestamp": "event_time",
    "event_timestamp": "event_time",
    "conversion_time": "event_time",
    "sold_at": "event_time",
    "purchased_at": "event_time",
    "purchase_time": "event_time",
    "purchase_date": "event_time",
    "order_time": "event_time",
    "order_date": "event_time",
    "transaction_time": "event_time",
    "transaction_date": "event_time",
    "occurred_at": "event_time",
    "created_at": "event_time",
    "dedup_id": "event_id",
    "client_dedup_id": "event_id",
    "page_url": "event_source_url",
    # user
    "email_address": "email",
    "e_mail": "email",
    "mail": "email",
    "hashed_email": "email",
    "customer_email": "email",
    "phone_number": "phone",
    "mobile": "phone",
    "mobile_number": "phone",
    "telephone": "phone",
    "tel": "phone",
    "hashed_phone": "phone",
    "firstname": "first_name",
    "given_name": "first_name",
    "fname": "first_name",
    "lastname": "last_name",
    "surname": "last_name",
    "family_name": "last_name",
    "lname": "last_name",
    "sex": "gender",
    "dob": "date_of_birth",
    "birthday": "date_of_birth",
    "birth_date": "date_of_birth",
    "birthdate": "date_of_birth",
    "town": "city",
    "province": "state",
    "state_code": "state",
    "zip": "zip_code",
    "zipcode": "zip_code",
    "postal_code": "zip_code",
    "postcode": "zip_code",
    "country_code": "country",
    "user_id": "external_id",
    "customer_id": "external_id",
    "ip": "client_ip_address",
    "ip_address": "client_ip_address",
    "user_agent": "client_user_agent",
    "click_id": "sc_click_id",
    "sccid": "sc_click_id",
    "scclid": "sc_click_id",
    "_scid": "sc_cookie1",
    "idfa": "madid",
    "gaid": "madid",
    "aaid": "madid",
    "advertising_id": "madid",
    "mobile_ad_id": "madid",
    # custom
    "price": "value",
    "amount": "value",
    "revenue": "value",
    "order_total": "value",
    "total": "value",
    "currency_code": "currency",
    "transaction_id": "order_id",
    "order_number": "order_id",
    "quantity": "num_items",
    "qty": "num_items",
    "product_ids": "content_ids",
    "sku": "content_ids",
    "skus": "content_ids",
    "product_name": "content_name",
    "search_term": "search_string",
}

#: Names whose meaning depends on the platform (Shopify's ``Source`` is ``web``/``pos``, GA4's
#: ``platform`` is ``WEB``, ``items`` is a list of products): never matched automatically,
#: even where a field has that name. Map them explicitly.
GENERIC_NAMES: frozenset[str] = frozenset(
    {
        "source",
        "platform",
        "items",
        "item",
        "status",
        "type",
        "channel",
        "category",
        "region",
        "name",
        "id",
        "time",
        "date",
        "url",
        "page",
        "query",
        "cookie",
        "ua",
        "scid",
        "extra",
        "brand",
        "brands",
        "integration",
        "version",
    }
)

#: Fields that take every value a list of columns (or a list path) gives; others take the first.
LIST_FIELDS: frozenset[str] = frozenset(
    {
        "email",
        "phone",
        "first_name",
        "last_name",
        "gender",
        "date_of_birth",
        "city",
        "state",
        "zip_code",
        "country",
        "external_id",
        "anon_id",
        "content_ids",
        "content_category",
        "brands",
    }
)

#: Item-level fields: one content per row of a group, or per element of a list path.
ITEM_FIELDS: Mapping[str, str] = {
    "contents.id": "id",
    "contents.quantity": "quantity",
    "contents.item_price": "item_price",
    "contents.brand": "brand",
    "contents.delivery_category": "delivery_category",
}

#: Fields the bulk path understands beyond ``Event.from_dict``'s own.
VIRTUAL_FIELDS: frozenset[str] = frozenset({"full_name", *ITEM_FIELDS})


_FIELDS = frozenset(_ALL_KEYS)


def is_field(name: str) -> bool:
    """Tell whether ``name`` is a field the bulk path knows (``Event.from_dict``'s or virtual)."""
    prefix, dot, rest = name.partition(".")
    return (
        name in _FIELDS
        or name in VIRTUAL_FIELDS
        or (bool(dot) and prefix in _NESTED and bool(rest))
    )


_known_field = is_field  # for ColumnMap.resolve, whose is_field argument hides the name


def canonical(column: str) -> str:
    """Compare column names without case, surrounding spaces, inner spaces or dashes."""
    return column.strip().lower().replace(" ", "_").replace("-", "_")


# --------------------------------------------------------------------------- paths

#: Levels of nesting a JSON lines record's value may have to be read (``{"a": [{"b": ...}]}``
#: has 3); a deeper one is kept as a :class:`TooDeep`, a problem only for the rows that read it.
MAX_DEPTH = 100


@attrs.frozen
class TooDeep:
    """A JSON value nested deeper than :data:`MAX_DEPTH`, kept in its record in its place.

    Nothing reads it recursively. A row whose mapping, filters, key or grouping reads it is
    INVALID (:meth:`error`); a column no field reads costs its row nothing.
    """

    def error(self, name: str) -> ValidationError:
        """Return the error of reading it as ``name`` (a field, a column or a path)."""
        return ValidationError(
            name,
            f"is nested more than {MAX_DEPTH} levels deep (JSON values inside JSON values), "
            "deeper than any field of an event; flatten it, or leave it unmapped",
        )

    def __str__(self) -> str:
        return f"(nested more than {MAX_DEPTH} levels deep: not read)"


def _kv_value(value: Any) -> Any:
    """Read a BigQuery key/value cell: ``{"string_value": ..., "int_value": ...}``."""
    if isinstance(value, Mapping):
        for name in ("string_value", "int_value", "double_value", "float_value", "value"):
            found = value.get(name)
            if found is not None:
                return found
        return None
    return value


def _parsed(value: Any, column: str = "") -> Any:
    """Read JSON kept as text in a cell (a warehouse's ``products`` column).

    Raises:
        ValidationError: The cell is text a path goes into, and not JSON (cut short, or a
            Python repr with single quotes): its items would otherwise vanish without a word.
    """
    if not isinstance(value, str) or not value.strip():
        return value
    try:
        return json.loads(value)
    except ValueError:
        where = f"column {column!r}" if column else "a cell"
        raise ValidationError(
            column or "record",
            f"{where} holds text that is not JSON (cut short, or single-quoted), so the path "
            "into it cannot be read; fix the export",
        ) from None


def extract(record: Mapping[str, Any], column: str) -> Any:
    """Return ``column``'s value in ``record``; a dotted name is a path into nested JSON.

    A column named exactly (dots and all) wins. Along a path, a list of ``{"key", "value"}``
    objects (BigQuery's ``event_params``) is entered by key, and any other list of objects
    collects the rest of the path from each element (``items.item_id`` → every item's id).

    Raises:
        ValidationError: The value (or one the path goes through) is a :class:`TooDeep`.
    """
    if column in record:
        found = record[column]
        if found.__class__ is TooDeep:
            raise found.error(column)
        return found
    if "." not in column:
        return None
    return _walk(record, column.split("."), column)


def _walk(value: Any, parts: Sequence[str], path: str) -> Any:
    for position, part in enumerate(parts):
        if value.__class__ is TooDeep:
            raise value.error(path)
        if isinstance(value, str):
            value = _parsed(value, path.split(".")[position - 1] if position else path)
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list):
            if value and all(isinstance(item, Mapping) and "key" in item for item in value):
                value = next(
                    (_kv_value(item.get("value")) for item in value if item.get("key") == part),
                    None,
                )
            else:
                rest = parts[position:]
                # A path goes on only into objects (and lists of them), never into the
                # scalars of a list such as ["vip", "x"].
                found = [
                    _walk(item, rest, path) for item in value if isinstance(item, (Mapping, list))
                ]
                return [item for item in found if item is not None]
        else:
            return None
        if value is None:
            return None
    return _kv_value(value)


# --------------------------------------------------------------------------- the map


@attrs.frozen
class Match:
    """How one field is read.

    Attributes:
        field: The field (``email``, ``contents.id``, ``full_name``).
        columns: The column(s) or path(s) feeding it.
        how: ``"--map"`` (an explicit choice, also from a preset), ``"name"`` or ``"synonym"``.
    """

    field: str
    columns: tuple[str, ...]
    how: str


@attrs.frozen
class ColumnMap:
    """Which column feeds which field, worked out once from the columns a source has.

    Attributes:
        fields: Column → the field it feeds, for single-column matches, in column order
            (kept for callers of the earlier API).
        ignored: Columns that feed no field.
        matches: Every field read, in column order, with how it was matched.
        notes: Column → why it was not used (a generic name, values that do not fit).
        identity: Field → columns of every match as resolved, before any was left out for
            its values, sorted by field: what a row's content-derived id is made of.
    """

    fields: Mapping[str, str]
    ignored: tuple[str, ...] = ()
    matches: tuple[Match, ...] = ()
    notes: Mapping[str, str] = attrs.field(factory=dict)
    identity: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def resolve(
        cls,
        columns: Iterable[str],
        mapping: Mapping[str, str | Sequence[str]] | None = None,
        *,
        complete: bool = True,
        synonyms: bool = True,
        ignore: Iterable[str] = (),
        is_field: Callable[[str], bool] | None = None,
        optional: Iterable[str] = (),
    ) -> ColumnMap:
        """Work out the map for these columns.

        Args:
            columns: The source's column names (a CSV header, JSON objects' keys).
            mapping: Explicit ``field -> column`` (or list of columns) choices; they win over
                names and synonyms. An empty column leaves the field unmapped.
            complete: ``columns`` are all the source has (a header), so a mapped column that
                is missing is an error; false for JSON records, whose keys vary.
            synonyms: Match common synonyms (``zip``, ``ip``); off, only exact names match.
            ignore: Columns never read.
            is_field: Tells a known field name (``Event.from_dict``'s and the virtual ones).
            optional: Fields whose mapped columns may be missing (a preset's: an export may
                leave an optional column out); a missing one is noted, not an error.

        Raises:
            ValidationError: ``mapping`` names an unknown field or (with ``complete``) a
                column the source lacks, or two columns would feed one field.
        """
        resolver = _Resolver(
            [str(c) for c in columns], complete, synonyms, set(ignore),
            is_field or _known_field, set(optional),
        )  # fmt: skip
        resolver.take_explicit(mapping or {})
        resolver.match_names()
        return resolver.result()

    def without(self, columns: Mapping[str, str]) -> ColumnMap:
        """Return the map with these automatically matched columns unmapped, for the reasons."""
        kept = tuple(m for m in self.matches if not (m.how != "--map" and m.columns[0] in columns))
        notes = {**self.notes, **columns}
        ignored = tuple(dict.fromkeys([*self.ignored, *columns]))
        single = {m.columns[0]: m.field for m in kept if len(m.columns) == 1}
        return ColumnMap(single, ignored, kept, notes, self.identity)

    @property
    def mapped_fields(self) -> frozenset[str]:
        """The fields some column feeds."""
        return frozenset(m.field for m in self.matches)

    def column_of(self, field: str) -> str | None:
        """Return the (first) column feeding ``field``, or None."""
        for match in self.matches:
            if match.field == field:
                return match.columns[0]
        return None

    def record(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Return the field → value record for one row (lists for multi-column fields).

        Raises:
            ValidationError: A column read is nested too deeply to read (a :class:`TooDeep`).
        """
        record: dict[str, Any] = {}
        get = row.get
        for match in self.matches:
            columns = match.columns
            if len(columns) == 1:
                value = get(columns[0])  # a plain column, the common case
                if value is None and "." in columns[0]:
                    value = extract(row, columns[0])
                elif value.__class__ is TooDeep:
                    raise value.error(match.field)
                record[match.field] = value
                continue
            values: list[Any] = []
            for column in match.columns:
                value = extract(row, column)
                if isinstance(value, list):
                    values.extend(value)
                elif value is not None:
                    values.append(value)
            values = [v for v in values if not (isinstance(v, str) and not v.strip())]
            if match.field in LIST_FIELDS:
                record[match.field] = values or None
            else:
                record[match.field] = values[0] if values else None
        return record


class _Resolver:
    """The work of :meth:`ColumnMap.resolve`, one step a method."""

    def __init__(
        self,
        columns: list[str],
        complete: bool,
        synonyms: bool,
        ignore: set[str],
        known: Callable[[str], bool],
        optional: set[str],
    ) -> None:
        self.columns = columns
        self.column_set = set(columns)
        self.complete = complete
        self.synonyms = synonyms
        self.ignore = ignore
        self.known = known
        self.optional = optional
        self.explicit: dict[str, tuple[str, ...]] = {}
        self.unmapped: set[str] = set()
        self.by_field: dict[str, Match] = {}
        self.notes: dict[str, str] = {}

    def _present(self, source: str) -> bool:
        return source in self.column_set or source.split(".", 1)[0] in self.column_set

    def take_explicit(self, mapping: Mapping[str, str | Sequence[str]]) -> None:
        """Take the explicit choices, checking their fields and columns."""
        for field, given in mapping.items():
            if not self.known(field):
                raise unknown_field(field)
            sources = (given,) if isinstance(given, str) else tuple(given)
            sources = tuple(s.strip() for s in sources if s and s.strip())
            present = []
            for source in sources:
                soft = field in self.optional
                if source in self.ignore or source.split(".", 1)[0] in self.ignore:
                    if not soft:
                        raise ValidationError(
                            "ignore",
                            f"column {source!r} is both mapped to {field} and ignored; choose one",
                        )
                    self.notes[source] = f"mapped to {field}, but ignored"
                elif not self.complete or self._present(source):
                    present.append(source)
                elif soft:
                    self.notes[source] = f"mapped to {field}, but not in this file"
                else:
                    raise ValidationError(
                        "mapping",
                        f"maps {field} to column {source!r}, which the source lacks "
                        f"(its columns: {_listed(self.columns)})",
                    )
            if present:
                self.explicit[field] = tuple(present)
                self.by_field[field] = Match(field, tuple(present), "--map")
            else:
                self.unmapped.add(field)  # FIELD= , or a preset's column this file lacks

    def match_names(self) -> None:
        """Match the other columns by exact field name, then by synonym."""
        used = {
            s if s in self.column_set else s.split(".", 1)[0]
            for sources in self.explicit.values()
            for s in sources
        }
        free = [c for c in self.columns if c not in used and c not in self.ignore]
        exact: dict[str, str] = {}  # field -> column matched by its exact name
        for column in free:
            name = canonical(column)
            if name in GENERIC_NAMES:
                self.notes[column] = "a generic name: map it explicitly if you want it"
            # A name that is also a synonym reads as the synonym: a file's postal_code is the
            # user's (custom_data.postal_code is a hotel's).
            elif self.known(name) and "." not in name and not (self.synonyms and name in SYNONYMS):
                exact.setdefault(name, column)
        for column in free:
            if column in self.notes:
                continue
            name = canonical(column)
            if exact.get(name) == column:
                self._add(name, column, "name")
            elif self.synonyms and name in SYNONYMS:
                field = SYNONYMS[name]
                if field in exact:
                    self.notes[column] = f"a synonym of {field}, but column {exact[field]!r} is"
                else:
                    self._add(field, column, "synonym")

    def _add(self, field: str, column: str, how: str) -> None:
        if field in self.unmapped or field in self.explicit:
            self.notes[column] = f"{field} is mapped explicitly"
            return
        if field in self.by_field:
            raise ValidationError(
                field,
                f"columns {self.by_field[field].columns[0]!r} and {column!r} both read as "
                f"{field}; choose one",
                remedy=Remedy(
                    "mapping", "--map", f"{field}=COLUMN", "the column to read it from",
                    python_example=f"{{{field!r}: 'COLUMN'}}",
                ),
            )  # fmt: skip
        self.by_field[field] = Match(field, (column,), how)

    def result(self) -> ColumnMap:
        """Return the map, its matches in column order."""
        if self.complete:  # a header: an ignored name that is no column is likely a typo
            for column in sorted(self.ignore - self.column_set):
                self.notes.setdefault(column, "ignored, but no column has this name")
        position = {column: i for i, column in enumerate(self.columns)}

        def order(match: Match) -> int:
            first = match.columns[0]
            return position.get(first, position.get(first.split(".", 1)[0], len(self.columns)))

        matches = tuple(sorted(self.by_field.values(), key=order))
        feeding = {s for m in matches for s in m.columns}
        heads = {s.split(".", 1)[0] for s in feeding}
        ignored = tuple(c for c in self.columns if c not in feeding and c not in heads)
        single = {m.columns[0]: m.field for m in matches if len(m.columns) == 1}
        identity = tuple(sorted((m.field, m.columns) for m in matches))
        return ColumnMap(single, ignored, matches, self.notes, identity)


def _listed(columns: Sequence[str], limit: int = 30) -> str:
    shown = ", ".join(columns[:limit])
    return shown + (f", ... ({len(columns)} in all)" if len(columns) > limit else "")


def unknown_field(field: str) -> ValidationError:
    """Build the error for a mapping that names a field snapcapi does not know."""
    import difflib

    names = sorted({*_ALL_KEYS, *VIRTUAL_FIELDS})
    key = canonical(field)
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.6)
    if not close:
        close = [name for name in names if key and len(key) > 2 and key in name][:5]
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return ValidationError("mapping", f"{field!r} is not a field snapcapi knows{hint}")

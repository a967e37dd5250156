"""Flat records to events: column mapping, defaults and per-row problems.

The bulk paths (the ``snapcapi send`` CLI, DataFrames, :func:`snapcapi.diagnose`) all start
from flat records, one per CSV row, JSONL line or DataFrame row. This module turns them into
:class:`~snapcapi.Event` objects through :meth:`Event.from_dict`, the single place that knows
how a record becomes an event; it only decides which column feeds which field:

1. a column named in ``mapping`` (``{"email": "contact_email"}``: field → column);
2. a column named like a field ``Event.from_dict`` knows (``email``, ``value``, ``em``, ...),
   compared without case, spaces or dashes;
3. a common synonym (``zip`` and ``postal_code`` → ``zip_code``, ``ip`` →
   ``client_ip_address``, ``price`` → ``value``, ... see :data:`SYNONYMS`).

Other columns are ignored and listed in :attr:`ColumnMap.ignored`, so nothing is dropped
without a word. A row that cannot become an event is a :class:`RowProblem` naming the row,
the field and the reason; it never stops the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import Any

import attrs

from snapcapi.enums import EventName
from snapcapi.errors import ValidationError
from snapcapi.events import _ALL_KEYS, _NESTED, Event
from snapcapi.user_data import OnInvalid

__all__ = [
    "SYNONYMS",
    "ColumnMap",
    "Conversion",
    "RowProblem",
    "events_from_dataframe",
    "events_from_records",
    "iter_events",
]

#: Column names (lowercase, ``_`` for spaces and dashes) read as a field when no column has
#: the field's own name.
SYNONYMS: Mapping[str, str] = {
    # event
    "event": "event_name",
    "event_type": "event_name",
    "conversion_type": "event_name",
    "timestamp": "event_time",
    "time": "event_time",
    "event_timestamp": "event_time",
    "event_date": "event_time",
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
    "source": "action_source",
    "channel": "action_source",
    "dedup_id": "event_id",
    "client_dedup_id": "event_id",
    "page": "event_source_url",
    "page_url": "event_source_url",
    "url": "event_source_url",
    # user
    "email_address": "email",
    "e_mail": "email",
    "mail": "email",
    "hashed_email": "email",
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
    "ua": "client_user_agent",
    "click_id": "sc_click_id",
    "sccid": "sc_click_id",
    "scclid": "sc_click_id",
    "scid": "sc_cookie1",
    "_scid": "sc_cookie1",
    "cookie": "sc_cookie1",
    "idfa": "madid",
    "gaid": "madid",
    "aaid": "madid",
    "advertising_id": "madid",
    "mobile_ad_id": "madid",
    # custom
    "price": "value",
    "amount": "value",
    "revenue": "value",
    "total": "value",
    "order_total": "value",
    "currency_code": "currency",
    "transaction_id": "order_id",
    "order_number": "order_id",
    "quantity": "num_items",
    "qty": "num_items",
    "items": "num_items",
    "product_ids": "content_ids",
    "sku": "content_ids",
    "skus": "content_ids",
    "category": "content_category",
    "product_name": "content_name",
    "search_term": "search_string",
    "query": "search_string",
}

_FIELDS = frozenset(_ALL_KEYS)


def _canonical(column: str) -> str:
    """Compare column names without case, surrounding spaces, inner spaces or dashes."""
    return column.strip().lower().replace(" ", "_").replace("-", "_")


def _is_field(name: str) -> bool:
    prefix, dot, rest = name.partition(".")
    return name in _FIELDS or (bool(dot) and prefix in _NESTED and bool(rest))


@attrs.frozen
class RowProblem:
    """A row that could not become an event.

    Attributes:
        row: The row: its 1-based number in a file or an iterable, its index label in a
            DataFrame.
        field: The field at fault, when one is (``"email"``, ``"event_time"``).
        reason: What is wrong and what to do (identifiers masked).
    """

    row: Hashable
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"row {self.row}: {where}{self.reason}"


@attrs.frozen
class ColumnMap:
    """Which column feeds which field, worked out once from the columns a source has.

    Attributes:
        fields: Column → the ``Event.from_dict`` field it feeds, in column order.
        ignored: Columns that feed no field.
    """

    fields: Mapping[str, str]
    ignored: tuple[str, ...] = ()

    @classmethod
    def resolve(
        cls,
        columns: Iterable[str],
        mapping: Mapping[str, str] | None = None,
        *,
        complete: bool = True,
    ) -> ColumnMap:
        """Work out the map for these columns.

        Args:
            columns: The source's column names (a CSV header, a record's keys).
            mapping: Explicit ``field -> column`` choices; they win over names and synonyms.
            complete: ``columns`` are all the source has (a header), so a mapped column that
                is missing is an error; false for one sparse record's keys.

        Raises:
            ValidationError: ``mapping`` names an unknown field or (with ``complete``) a
                column the source lacks, or two columns would feed one field.
        """
        columns = [str(c) for c in columns]
        chosen: dict[str, str] = {}  # column -> field
        by_field: dict[str, str] = {}  # field -> column
        for field, column in (mapping or {}).items():
            if not _is_field(field):
                raise _unknown_field(field)
            by_field[field] = column
            if column in columns:
                chosen[column] = field
            elif complete:
                raise ValidationError(
                    "mapping",
                    f"maps {field} to column {column!r}, which the source lacks "
                    f"(its columns: {', '.join(columns)})",
                )
        ignored: list[str] = []
        for column in columns:
            if column in chosen:
                continue
            name = _canonical(column)
            # A synonym wins over a bare travel field of the same name: a file's postal_code
            # is the user's (custom_data.postal_code is the hotel's).
            found = SYNONYMS.get(name) or (name if _is_field(name) else None)
            if found is None or (mapping is not None and found in mapping):
                ignored.append(column)  # unknown, or its field is mapped to another column
                continue
            field = found
            if field in by_field:
                raise ValidationError(
                    field,
                    f"columns {by_field[field]!r} and {column!r} both read as {field}; "
                    f"choose one with a mapping ({field}=COLUMN)",
                )
            chosen[column], by_field[field] = field, column
        ordered = {column: chosen[column] for column in columns if column in chosen}
        return cls(ordered, tuple(ignored))

    def record(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Return the ``Event.from_dict`` record for one row of the source."""
        return {field: row.get(column) for column, field in self.fields.items()}


def _unknown_field(field: str) -> ValidationError:
    close = [name for name in sorted(_FIELDS) if _canonical(field) in name][:5]
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return ValidationError("mapping", f"{field!r} is not a field snapcapi knows{hint}")


def _stable_event_id(row: Hashable, record: Mapping[str, Any]) -> str:
    """Derive an ``event_id`` from the row's number and content: the same on every re-run."""
    text = "\x1f".join([str(row), *(f"{k}\x1e{v}" for k, v in record.items())])
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16)
    return "row-" + digest.hexdigest()


def iter_events(
    rows: Iterable[tuple[Hashable, Any]],
    *,
    mapping: Mapping[str, str] | None = None,
    aliases: Mapping[str, str | int | EventName] | None = None,
    region: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    on_invalid: OnInvalid = "raise",
    stable_ids: bool = False,
    columns: Iterable[str] | None = None,
    ignored: set[str] | None = None,
) -> Iterator[tuple[Hashable, Event | RowProblem]]:
    """Turn numbered rows into events, lazily: the engine of every bulk path.

    Args:
        rows: ``(row, record)`` pairs, records being dicts; a :class:`RowProblem` in place of a
            record (a line a file reader could not parse) or an :class:`Event` built already
            is passed through.
        mapping: Explicit ``field -> column`` choices.
        aliases: Business event names mapped to standard names or custom event numbers.
        region: Default region for phone numbers without a country code.
        on_invalid: ``"raise"`` or ``"drop"`` for identifiers that cannot be normalized.
        defaults: Values for fields a row lacks or leaves blank (``{"action_source": "OFFLINE"}``).
        stable_ids: Give rows without an ``event_id`` one derived from the row number and
            content (instead of a random one), so re-running the same file deduplicates at Snap.
        columns: The source's columns when known up front (a CSV header); otherwise the map is
            worked out from each record's keys.
        ignored: A set that receives the columns that feed no field.

    Yields:
        ``(row, event)`` or ``(row, problem)``, in row order.

    Raises:
        ValidationError: ``mapping`` or ``defaults`` is unusable for these columns (raised by
            this call, before any row is read).
    """
    for field in (*(mapping or {}), *(defaults or {})):
        if not _is_field(field):
            raise _unknown_field(field)
    fixed = ColumnMap.resolve(columns, mapping) if columns is not None else None
    if fixed is not None:
        _check_required(fixed, defaults or {})
        if ignored is not None:
            ignored.update(fixed.ignored)
    filled = {k: v for k, v in (defaults or {}).items() if v is not None}
    return _converted(
        rows, fixed, mapping, filled, aliases, region, on_invalid, stable_ids, ignored
    )


def _converted(
    rows: Iterable[tuple[Hashable, Any]],
    fixed: ColumnMap | None,
    mapping: Mapping[str, str] | None,
    filled: Mapping[str, Any],
    aliases: Mapping[str, str | int | EventName] | None,
    region: str | None,
    on_invalid: OnInvalid,
    stable_ids: bool,
    ignored: set[str] | None,
) -> Iterator[tuple[Hashable, Event | RowProblem]]:
    maps: dict[tuple[str, ...], ColumnMap] = {}
    for row, source in rows:
        if isinstance(source, (RowProblem, Event)):
            yield row, source  # a problem found earlier, or an event built already
            continue
        if not isinstance(source, Mapping):
            kind = type(source).__name__
            yield row, RowProblem(row, None, f"expected a record (a dict), got {kind}")
            continue
        columns_map = fixed
        if columns_map is None:
            keys = tuple(str(k) for k in source)
            columns_map = maps.get(keys)
            if columns_map is None:
                try:
                    columns_map = ColumnMap.resolve(keys, mapping, complete=False)
                except ValidationError as exc:
                    yield row, RowProblem(row, exc.field, exc.reason)
                    continue
                if len(maps) < 1000:  # sources whose keys vary without end are not cached
                    maps[keys] = columns_map
                if ignored is not None:
                    ignored.update(columns_map.ignored)
        record = columns_map.record(source)
        for field, value in filled.items():
            if _blank(record.get(field)):
                record[field] = value
        if stable_ids and _blank(record.get("event_id")):
            record["event_id"] = _stable_event_id(row, record)
        try:
            event = Event.from_dict(record, aliases=aliases, region=region, on_invalid=on_invalid)
        except ValidationError as exc:
            yield row, RowProblem(row, exc.field, exc.reason)
        else:
            yield row, event


_REQUIRED = {
    "event_name": "--event-name / defaults",
    "event_time": "no default: every row needs its own time",
    "action_source": "--action-source / defaults",
}


def _check_required(found: ColumnMap, defaults: Mapping[str, Any]) -> None:
    """Refuse a source where no column and no default gives a required field."""
    given = set(found.fields.values()) | {k for k, v in defaults.items() if v is not None}
    for field, hint in _REQUIRED.items():
        if field not in given:
            columns = ", ".join(list(found.fields) + list(found.ignored))
            raise ValidationError(
                field,
                f"no column gives it ({hint}); name a column with a mapping "
                f"({field}=COLUMN). The columns are: {columns}",
            )


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, float) and value != value


@attrs.frozen
class Conversion:
    """Events made from records, with the rows that could not be used.

    Unpacks as ``events, problems = snapcapi.events_from_records(rows)``.

    Attributes:
        events: The events, in row order.
        rows: The row of each event (``rows[i]`` is where ``events[i]`` came from).
        problems: One :class:`RowProblem` per row that did not become an event.
        ignored_columns: Columns that fed no field.
    """

    events: tuple[Event, ...]
    rows: tuple[Hashable, ...]
    problems: tuple[RowProblem, ...]
    ignored_columns: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[Any]:
        return iter((self.events, self.problems))

    def __repr__(self) -> str:
        return (
            f"Conversion({len(self.events)} events, {len(self.problems)} problems"
            + (f", ignored columns {list(self.ignored_columns)}" if self.ignored_columns else "")
            + ")"
        )


def _collect(pairs: Iterator[tuple[Hashable, Event | RowProblem]], ignored: set[str]) -> Conversion:
    events: list[Event] = []
    rows: list[Hashable] = []
    problems: list[RowProblem] = []
    for row, item in pairs:
        if isinstance(item, RowProblem):
            problems.append(item)
        else:
            events.append(item)
            rows.append(row)
    return Conversion(tuple(events), tuple(rows), tuple(problems), tuple(sorted(ignored)))


def events_from_records(
    records: Iterable[Mapping[str, Any]],
    mapping: Mapping[str, str] | None = None,
    *,
    aliases: Mapping[str, str | int | EventName] | None = None,
    region: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    on_invalid: OnInvalid = "raise",
) -> Conversion:
    """Build events from flat records (dicts), keeping every row that fails as a problem.

    Columns are matched to fields by name, by common synonym (``zip``, ``ip``, ``price``, ...)
    or by ``mapping``; see :mod:`snapcapi.records`.

    Args:
        records: Dicts, one per row (rows are numbered from 1).
        mapping: Explicit ``field -> column`` choices (``{"email": "contact_email"}``).
        aliases: Business event names mapped to standard names or custom event numbers.
        region: Default region for phone numbers without a country code.
        defaults: Values for fields a row lacks, such as ``{"action_source": "OFFLINE"}``.
        on_invalid: ``"raise"`` makes a row with an identifier that cannot be normalized a
            problem; ``"drop"`` drops just that identifier and keeps the event (with a warning).

    Returns:
        A :class:`Conversion`: ``events, problems = events_from_records(...)``.

    Raises:
        ValidationError: ``mapping`` or ``defaults`` names a field snapcapi does not know.
    """
    ignored: set[str] = set()
    pairs = iter_events(
        enumerate(records, start=1),
        mapping=mapping,
        aliases=aliases,
        region=region,
        defaults=defaults,
        on_invalid=on_invalid,
        ignored=ignored,
    )
    return _collect(pairs, ignored)


def events_from_dataframe(
    frame: Any,
    mapping: Mapping[str, str] | None = None,
    *,
    aliases: Mapping[str, str | int | EventName] | None = None,
    region: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    on_invalid: OnInvalid = "raise",
) -> Conversion:
    """Build events from a pandas DataFrame, one per row; problems name the index label.

    Columns are matched as in :func:`events_from_records`. Missing cells (``NaN``, ``None``,
    ``NaT``) count as blank; numpy numbers and pandas timestamps (timezone-aware) are read as
    their Python equivalents.

    Returns:
        A :class:`Conversion`; ``conversion.rows`` holds the index label of each event.

    Raises:
        ValidationError: ``mapping`` or ``defaults`` is unusable for the frame's columns.
    """
    columns = [str(c) for c in frame.columns]
    ignored: set[str] = set()

    def rows() -> Iterator[tuple[Hashable, Mapping[str, Any]]]:
        cells = frame.itertuples(index=False, name=None)
        for label, values in zip(frame.index, cells, strict=True):
            yield label, {c: _cell(v) for c, v in zip(columns, values, strict=True)}

    pairs = iter_events(
        rows(),
        mapping=mapping,
        aliases=aliases,
        region=region,
        defaults=defaults,
        on_invalid=on_invalid,
        columns=columns,
        ignored=ignored,
    )
    return _collect(pairs, ignored)


def _cell(value: Any) -> Any:
    """Read a DataFrame cell as from_dict expects: missing values blank, timestamps datetimes."""
    if value is None or value.__class__ in (str, int, float, bool):
        return value
    name = type(value).__name__
    if name in ("NaTType", "NAType"):
        return None
    if name == "Timestamp":
        return value.to_pydatetime()
    return value

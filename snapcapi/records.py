"""Flat records to events: column mapping, row shaping, identity and per-row problems.

The bulk paths (the ``snapcapi send`` CLI, DataFrames, :func:`snapcapi.diagnose`) all start
from flat records, one per CSV row, JSONL line or DataFrame row. This module turns them into
:class:`~snapcapi.Event` objects through :meth:`Event.from_dict`, the single place that knows
how a record becomes an event. On the way, in this order:

1. **Line items** (``group_by=``): consecutive rows with the same value in that column are one
   event; later rows add their items to its ``contents`` (Shopify writes one row per item).
2. **Filters** (``where=``, ``exclude=``): rows whose column values are (not) among the given
   ones are skipped, and reported as such, never silently.
3. **Mapping**: which column feeds which field (see :mod:`snapcapi._mapping`): an explicit
   ``mapping``, a column named like a field, or a common synonym. Generic names (``source``,
   ``status``, ``platform``) are never guessed.
4. **Cleaning** that exports need: a leading ``'`` on zips and phones, thousands separators
   (``1,200.00``) or decimal commas (``49,00``), a ``full_name`` split into first and last
   name, placeholder external ids (``0``, ``guest``) dropped and counted.
5. **Identity**: a row's ``event_id`` is its own ``event_id`` column, else derived from the
   ``key`` columns plus the event name, else from the row's mapped content; never from its
   position, so re-runs, resumes and re-exports deduplicate. Rows that repeat an id already
   seen are skipped as duplicates.

A row that cannot become an event is a :class:`RowProblem` naming the row, the field and the
reason; a row left out on purpose is a :class:`RowSkip`. Neither stops the others.
"""

from __future__ import annotations

import collections
import datetime as _dt
import hashlib
import itertools
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from snapcapi._convert import is_blank
from snapcapi._digests import DigestSet, digest64
from snapcapi._mapping import (
    ITEM_FIELDS,
    SYNONYMS,
    ColumnMap,
    Match,
    canonical,
    extract,
    is_field,
    unknown_field,
)
from snapcapi._masking import mask
from snapcapi.enums import ActionSource, EventName
from snapcapi.errors import Remedy, ValidationError
from snapcapi.events import Event
from snapcapi.user_data import OnInvalid, UserData

__all__ = [
    "PLACEHOLDER_IDS",
    "SYNONYMS",
    "ColumnMap",
    "Conversion",
    "Filter",
    "Match",
    "Recipe",
    "RecordStats",
    "RowProblem",
    "RowSkip",
    "events_from_dataframe",
    "events_from_records",
    "iter_events",
    "iter_recipe",
]

#: External ids that mean "no id" (guest checkouts): dropped and counted, never hashed into
#: one id shared by everyone who has it.
PLACEHOLDER_IDS: frozenset[str] = frozenset(
    {"0", "-1", "null", "none", "nil", "nan", "n/a", "na", "guest", "undefined", "unknown", "-"}
)

#: How many first rows are looked at to judge whether synonym-matched columns fit.
SAMPLE_ROWS = 20


_is_field = is_field


@attrs.frozen
class RowProblem:
    """A row that could not become an event.

    Attributes:
        row: The row: its 1-based number in a file or an iterable, its index label in a
            DataFrame.
        field: The field at fault, when one is (``"email"``, ``"event_time"``).
        reason: What is wrong and what to do (identifiers masked).
        remedy: The setting that fixes it, when one does.
        event_id: The row's event id, when it got that far.
    """

    row: Hashable
    field: str | None
    reason: str
    remedy: Remedy | None = attrs.field(default=None, eq=False, repr=False)
    event_id: str | None = attrs.field(default=None, eq=False, repr=False)

    @classmethod
    def from_error(
        cls, row: Hashable, exc: ValidationError, event_id: str | None = None
    ) -> RowProblem:
        """Make the problem of a row from the error that stopped it."""
        return cls(row, exc.field, exc.problem, exc.remedy, event_id)

    def explain(self, interface: str = "python") -> str:
        """Return the reason with its advice in the words of ``"python"`` or ``"cli"``."""
        if self.remedy is None:
            return self.reason
        return f"{self.reason}; {self.remedy.advice('cli' if interface == 'cli' else 'python')}"

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"row {self.row}: {where}{self.explain()}"


@attrs.frozen
class RowSkip:
    """A row left out on purpose: filtered, or a duplicate of an earlier row.

    Attributes:
        row: The row's number (or index label).
        reason: Why (``"filtered by --where Financial Status=paid"``).
        event_id: The row's event id, for duplicates.
    """

    row: Hashable
    reason: str
    event_id: str | None = None

    def __str__(self) -> str:
        return f"row {self.row}: skipped, {self.reason}"


@attrs.frozen
class Filter:
    """Keep (``where``) or drop (``exclude``) rows by a column's value.

    Values compare without case or surrounding spaces; ``""`` matches a blank cell and, for
    ``exclude``, ``"*"`` matches any non-blank one.

    Attributes:
        column: The column (or dotted path).
        values: The values.
        keep: True for ``where`` (keep only matching rows), False for ``exclude``.
    """

    column: str
    values: tuple[str, ...]
    keep: bool = True

    @classmethod
    def parse(cls, text: str, *, keep: bool) -> Filter:
        """Read ``COLUMN=VALUE[,VALUE...]`` as the command line writes it."""
        column, eq, values = text.partition("=")
        if not eq or not column.strip():
            option = "--where" if keep else "--exclude"
            raise ValidationError(option, f"takes COLUMN=VALUE[,VALUE...], got {text!r}")
        return cls(column.strip(), tuple(v.strip() for v in values.split(",")), keep)

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Tell whether the record's value is one of the filter's values."""
        value = extract(record, self.column)
        text = "" if is_blank(value) else str(value).strip().lower()
        for wanted in self.values:
            want = wanted.strip().lower()
            if want == text or (want == "*" and text):
                return True
        return False

    def passes(self, record: Mapping[str, Any]) -> bool:
        """Tell whether the filter lets the record through."""
        return self.matches(record) == self.keep

    def __str__(self) -> str:
        return f"--{'where' if self.keep else 'exclude'} {self.column}={','.join(self.values)}"


@attrs.define
class RecordStats:
    """What happened to rows on the way to events, for the summary.

    Attributes:
        filtered: Rows skipped, by the filter that skipped them.
        folded: Line-item rows folded into the event of an earlier row.
        duplicates: Rows whose event id an earlier row had already (one event).
        placeholder_ids: External ids dropped as placeholders (``0``, ``guest``, ...).
    """

    filtered: collections.Counter[str] = attrs.field(factory=collections.Counter)
    folded: int = 0
    duplicates: int = 0
    placeholder_ids: int = 0

    @property
    def skipped(self) -> int:
        """Rows left out on purpose (filtered or duplicate)."""
        return sum(self.filtered.values()) + self.duplicates


@attrs.frozen
class Recipe:
    """Everything that decides how rows become events (and so their ids).

    The record functions and the command line build one; :meth:`identity` lists the settings
    that change event ids, which a report records so that a resume with other settings is
    refused.
    """

    mapping: Mapping[str, str | Sequence[str]] = attrs.field(factory=dict)
    aliases: Mapping[str, str | int | EventName] | None = None
    region: str | None = None
    defaults: Mapping[str, Any] = attrs.field(factory=dict)
    on_invalid: OnInvalid = "raise"
    key: tuple[str, ...] = ()
    group_by: str | None = None
    timezone: str | None = None
    time_format: str | None = None
    where: tuple[Filter, ...] = ()
    exclude: tuple[Filter, ...] = ()
    ignore: tuple[str, ...] = ()
    synonyms: bool = True
    decimal_comma: bool = False
    consent_column: str | None = None
    derive_ids: bool = True
    #: ``region`` is the last word on phone regions (the command line: no client default
    #: comes later), so phones still without one are dropped (or a problem) here.
    final_region: bool = False
    #: Fields mapped by a preset: their columns may be missing from a file (noted, not an error).
    optional: frozenset[str] = frozenset()

    def check(self) -> None:
        """Refuse unknown fields in the mapping or the defaults, before any row is read."""
        for field in (*self.mapping, *self.defaults):
            if not _is_field(field):
                raise unknown_field(field, _is_field)

    def identity(self) -> dict[str, str]:
        """Return the settings that decide event ids, as strings."""
        mapping = ",".join(
            f"{field}={value if isinstance(value, str) else '|'.join(value)}"
            for field, value in sorted(self.mapping.items())
        )
        aliases = ",".join(f"{k}={v}" for k, v in sorted((self.aliases or {}).items()))
        return {
            "key": ",".join(self.key),
            "group_by": self.group_by or "",
            "mapping": mapping,
            "aliases": aliases,
            "event_name": str(self.defaults.get("event_name") or ""),
            "timezone": self.timezone or "",
            "time_format": self.time_format or "",
            "synonyms": "on" if self.synonyms else "off",
            "ignore": ",".join(sorted(self.ignore)),
        }


def iter_events(
    rows: Iterable[tuple[Hashable, Any]],
    *,
    mapping: Mapping[str, str | Sequence[str]] | None = None,
    aliases: Mapping[str, str | int | EventName] | None = None,
    region: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    on_invalid: OnInvalid = "raise",
    stable_ids: bool = True,
    columns: Iterable[str] | None = None,
    ignored: set[str] | None = None,
    key: str | Sequence[str] | None = None,
    group_by: str | None = None,
    timezone: str | None = None,
    time_format: str | None = None,
    where: Iterable[Filter] = (),
    exclude: Iterable[Filter] = (),
    ignore: Iterable[str] = (),
    synonyms: bool = True,
    decimal_comma: bool = False,
    consent_column: str | None = None,
    stats: RecordStats | None = None,
    on_map: Callable[[ColumnMap], None] | None = None,
    final_region: bool = False,
    optional: Iterable[str] = (),
) -> Iterator[tuple[Hashable, Event | RowProblem | RowSkip]]:
    """Turn numbered rows into events, lazily: the engine of every bulk path.

    Args:
        rows: ``(row, record)`` pairs, records being dicts; a :class:`RowProblem` in place of a
            record (a line a file reader could not parse) or an :class:`Event` built already
            is passed through.
        mapping: Explicit ``field -> column`` choices (a list of columns: every non-blank
            value for identifiers, the first for other fields; ``""`` leaves a field unmapped).
        aliases: Business event names mapped to standard names or custom event numbers.
        region: Region for phone numbers without a country code when the row has no country.
        defaults: Values for fields a row lacks or leaves blank (``{"action_source": "OFFLINE"}``).
        on_invalid: ``"raise"`` or ``"drop"`` for identifiers that cannot be normalized.
        stable_ids: Give rows without an ``event_id`` one derived from the ``key`` (or their
            content) instead of a random one, so re-running the same rows deduplicates.
        columns: The source's columns when known up front (a CSV header); otherwise the map is
            worked out from the first records' keys.
        ignored: A set that receives the columns that feed no field.
        key: Column(s) whose values identify one event; the id is derived from them and the
            event name.
        group_by: Consecutive rows with the same value in this column are one event.
        timezone: IANA zone of times written without an offset.
        time_format: strptime format of the time column.
        where: :class:`Filter` s a row must pass (keep rows whose value is listed).
        exclude: :class:`Filter` s that skip a row (drop rows whose value is listed).
        ignore: Columns never read.
        synonyms: Match common column synonyms (``zip``, ``ip``).
        decimal_comma: Amounts are written ``49,00``.
        consent_column: Column whose true/yes/1/y values mean the user consented.
        stats: A :class:`RecordStats` that receives counts of filtered, folded and duplicate
            rows and placeholder ids.
        on_map: Called once with the :class:`ColumnMap` used, before the first event.
        final_region: No region comes later (no ``Client(default_region=...)``): phones still
            without one are dropped with a warning (``on_invalid="drop"``) or make the row a
            problem, here rather than at send time.
        optional: Fields whose mapped columns a file may lack (a preset's): noted, not an
            error.

    Yields:
        ``(row, event)``, ``(row, problem)`` or ``(row, skip)``, in row order.

    Raises:
        ValidationError: ``mapping`` or ``defaults`` is unusable for these columns (raised by
            this call, before any row is read).
    """
    keys = (key,) if isinstance(key, str) else tuple(key or ())
    recipe = Recipe(
        mapping=dict(mapping or {}),
        aliases=aliases,
        region=region,
        defaults={k: v for k, v in (defaults or {}).items() if v is not None},
        on_invalid=on_invalid,
        key=tuple(k.strip() for k in keys if k.strip()),
        group_by=group_by,
        timezone=timezone,
        time_format=time_format,
        where=tuple(where),
        exclude=tuple(exclude),
        ignore=tuple(ignore),
        synonyms=synonyms,
        decimal_comma=decimal_comma,
        consent_column=consent_column,
        derive_ids=stable_ids,
        final_region=final_region,
        optional=frozenset(optional),
    )
    return iter_recipe(recipe, rows, columns=columns, stats=stats, ignored=ignored, on_map=on_map)


def iter_recipe(
    recipe: Recipe,
    rows: Iterable[tuple[Hashable, Any]],
    *,
    columns: Iterable[str] | None = None,
    stats: RecordStats | None = None,
    ignored: set[str] | None = None,
    on_map: Callable[[ColumnMap], None] | None = None,
    on_group: Callable[[Hashable, Sequence[Mapping[str, Any]]], None] | None = None,
) -> Iterator[tuple[Hashable, Event | RowProblem | RowSkip]]:
    """Run :func:`iter_events` with a :class:`Recipe` (the command line's way in).

    ``on_group`` is called with each row's source record(s) (a group of line-item rows for
    ``group_by``) just before the row's outcome is yielded.
    """
    pipeline = _Pipeline(recipe, stats or RecordStats(), ignored, on_map, on_group)
    return pipeline.run(rows, columns)


def resolve_map(
    recipe: Recipe,
    columns: Sequence[str],
    sample: Sequence[Mapping[str, Any]],
    complete: bool,
    misfits: Mapping[str, str] | None = None,
) -> ColumnMap:
    """Work out the column map for a source, judging synonym matches on its first rows.

    Args:
        recipe: The settings.
        columns: The source's columns (or one record's keys).
        sample: The first records, on which synonym-matched columns are judged.
        complete: ``columns`` are all the source has (a header).
        misfits: Columns already judged not to fit (column → why), instead of ``sample``.

    Raises:
        ValidationError: The mapping is unusable, or a required field has no column and no
            default.
    """
    found = _raw_map(recipe, columns, complete)
    if misfits is None:
        misfits = _misfits(found, sample, recipe)
    unfit = {column: why for column, why in misfits.items() if column in found.fields}
    if unfit:
        found = found.without(unfit)
    _check_required(found, recipe)
    return found


def _raw_map(recipe: Recipe, columns: Sequence[str], complete: bool) -> ColumnMap:
    recipe.check()
    mapping = dict(recipe.mapping)
    if recipe.consent_column:
        mapping.setdefault("consent", recipe.consent_column)
    return ColumnMap.resolve(
        columns,
        mapping,
        complete=complete,
        synonyms=recipe.synonyms,
        ignore=recipe.ignore,
        is_field=_is_field,
        optional=recipe.optional,
    )


def _misfits(
    found: ColumnMap, sample: Sequence[Mapping[str, Any]], recipe: Recipe
) -> dict[str, str]:
    """Judge synonym-matched columns on the first rows: column → why it does not fit."""
    misfits: dict[str, str] = {}
    for match in found.matches:
        if match.how != "synonym":
            continue
        values = [extract(r, match.columns[0]) for r in sample]
        values = [v for v in values if not is_blank(v) and not isinstance(v, (dict, list))]
        bad = sum(not _fits(match.field, v, recipe) for v in values)
        if values and bad * 2 > len(values):
            misfits[match.columns[0]] = (
                f"read as {match.field} by its name, but {bad} of the first {len(values)} "
                f"values do not fit; map it explicitly (--map {match.field}=COLUMN) if it is"
            )
    return misfits


def _fits(field: str, value: Any, recipe: Recipe) -> bool:
    """Tell whether one value could feed ``field`` (a synonym-matched column's sanity check)."""
    from snapcapi.events import to_epoch_seconds

    record = _cleaned_value(field, value, recipe)
    try:
        if field == "event_name":
            EventName.resolve(record, recipe.aliases)
        elif field == "action_source":
            ActionSource.resolve(record)
        elif field == "event_time":
            _epoch(record, recipe.timezone or "UTC", recipe.time_format, to_epoch_seconds)
        else:
            Event.from_dict(
                {field: record, "event_name": "PAGE_VIEW", "event_time": 1.7e9,
                 "action_source": "OFFLINE"},
                on_invalid="raise",
            )  # fmt: skip
    except (ValidationError, TypeError):
        return False
    return True


def _epoch(value: Any, timezone: str | None, time_format: str | None, convert: Any) -> int:
    options: dict[str, Any] = {}
    if timezone:
        options["timezone"] = timezone
    if time_format:
        options["time_format"] = time_format
    return int(convert(value, "event_time", **options))


_REGION_REMEDY = Remedy(
    "region", "--region", "US", "the country of numbers written without +code",
)  # fmt: skip

_REQUIRED = {
    "event_name": Remedy(
        "defaults", "--event-name", "PURCHASE", "the event name of rows without one",
        python_example="{'event_name': 'PURCHASE'}",
    ),
    "event_time": Remedy(
        "mapping", "--map", "event_time=COLUMN", "the column holding each row's time",
        python_example="{'event_time': 'COLUMN'}",
    ),
    "action_source": Remedy(
        "defaults", "--action-source", "OFFLINE", "where the conversions happened",
        python_example="{'action_source': 'OFFLINE'}",
    ),
}  # fmt: skip


def _check_required(found: ColumnMap, recipe: Recipe) -> None:
    """Refuse a source where no column and no default gives a required field."""
    given = found.mapped_fields | set(recipe.defaults)
    for field, remedy in _REQUIRED.items():
        if field not in given:
            columns = [c for m in found.matches for c in m.columns] + list(found.ignored)
            shown = ", ".join(columns[:30]) + (" ..." if len(columns) > 30 else "")
            raise ValidationError(
                field, f"no column gives it (the columns are: {shown})", remedy=remedy
            )


class _Pipeline:
    """One pass over the rows of one source (holds the map, the stats and the ids seen)."""

    def __init__(
        self,
        recipe: Recipe,
        stats: RecordStats,
        ignored: set[str] | None,
        on_map: Callable[[ColumnMap], None] | None,
        on_group: Callable[[Hashable, Sequence[Mapping[str, Any]]], None] | None = None,
    ) -> None:
        self.on_group = on_group
        self.recipe = recipe
        self.stats = stats
        self.ignored = ignored
        self.on_map = on_map
        self.seen = DigestSet()
        self.map: ColumnMap | None = None
        self.maps: dict[tuple[str, ...], ColumnMap | ValidationError] = {}
        self.misfits: dict[str, str] | None = None

    def run(
        self, rows: Iterable[tuple[Hashable, Any]], columns: Iterable[str] | None
    ) -> Iterator[tuple[Hashable, Event | RowProblem | RowSkip]]:
        self.recipe.check()
        iterator = iter(rows)
        header = [str(c) for c in columns] if columns is not None else None
        if header is not None:
            # Mapping errors (an unknown column, a required field missing) surface at the call.
            sample = list(itertools.islice(iterator, SAMPLE_ROWS))
            self._set_map(resolve_map(self.recipe, header, _records(sample), True))
            self.maps[()] = self.map  # type: ignore[assignment]
            iterator = itertools.chain(sample, iterator)
        return self._events(iterator)

    def _set_map(self, found: ColumnMap) -> None:
        """Take the map of a source with a header (or of the first record's keys)."""
        self.map = found
        if self.ignored is not None:
            self.ignored.update(found.ignored)
        if self.on_map is not None:
            self.on_map(found)

    def _map_for(self, record: Mapping[str, Any]) -> ColumnMap:
        """Return the map for a record of a source without a header: one per set of keys.

        Raises:
            ValidationError: This set of keys gives no usable map (for the first record:
                a configuration error, raised from the run).
        """
        if self.map is not None and self.maps.get(()) is self.map:
            return self.map  # a header: one map for every row
        keys = tuple(str(k) for k in record)
        found = self.maps.get(keys)
        if found is None:
            try:
                found = resolve_map(self.recipe, keys, (), False, self.misfits or {})
            except ValidationError as exc:
                found = exc
            if len(self.maps) < 1000:  # sources whose keys vary without end are not cached
                self.maps[keys] = found
            if isinstance(found, ColumnMap):
                if self.map is None:
                    self._set_map(found)
                elif self.ignored is not None:
                    self.ignored.update(found.ignored)
        if isinstance(found, ValidationError):
            raise found
        return found

    def _events(
        self, iterator: Iterator[tuple[Hashable, Any]]
    ) -> Iterator[tuple[Hashable, Event | RowProblem | RowSkip]]:
        if self.map is None:
            # No header: judge synonym matches on the first records, then map each set of
            # keys as it comes; the first record's map is the one shown, and its errors are
            # the run's (a file whose rows have no time column at all).
            sample = list(itertools.islice(iterator, SAMPLE_ROWS))
            records = _records(sample)
            keys: dict[str, None] = {}
            for record in records:
                keys.update(dict.fromkeys(str(k) for k in record))
            self.misfits = _misfits(_raw_map(self.recipe, list(keys), False), records, self.recipe)
            if records:
                self._map_for(records[0])
            iterator = itertools.chain(sample, iterator)
        for row, group in self._groups(iterator):
            outcome = self._one(row, group)
            if self.on_group is not None:
                self.on_group(row, group if isinstance(group, list) else [group])
            yield row, outcome

    def _groups(self, iterator: Iterator[tuple[Hashable, Any]]) -> Iterator[tuple[Hashable, Any]]:
        """Yield ``(row, item)`` with line-item rows folded into a list after their first."""
        column = self.recipe.group_by
        if column is None:
            yield from iterator
            return
        head: tuple[Hashable, list[Mapping[str, Any]]] | None = None
        head_value: str | None = None
        for row, item in iterator:
            if not isinstance(item, Mapping):
                if head is not None:
                    yield head
                    head = None
                yield row, item
                continue
            value = extract(item, column)
            text = None if is_blank(value) else str(value).strip()
            if head is not None and text is not None and text == head_value:
                head[1].append(item)
                self.stats.folded += 1
                continue
            if head is not None:
                yield head
            head, head_value = (row, [item]), text
        if head is not None:
            yield head

    def _one(self, row: Hashable, item: Any) -> Event | RowProblem | RowSkip:
        if isinstance(item, (RowProblem, RowSkip, Event)):
            return item
        group: list[Mapping[str, Any]]
        if isinstance(item, list):
            group = item
        elif isinstance(item, Mapping):
            group = [item]
        else:
            return RowProblem(row, None, f"expected a record (a dict), got {type(item).__name__}")
        merged = _merged(group)
        for rule in (*self.recipe.where, *self.recipe.exclude):
            if not rule.passes(merged):
                self.stats.filtered[str(rule)] += 1
                return RowSkip(row, f"filtered by {rule}")
        try:
            found = self._map_for(group[0])
        except ValidationError as exc:
            return RowProblem.from_error(row, exc)
        try:
            record = self._record(found, group)
            event_id = self._event_id(record, merged)
        except ValidationError as exc:
            return RowProblem.from_error(row, exc)
        if event_id is not None:
            record["event_id"] = event_id
        own_id = record.get("event_id")
        if (
            (self.recipe.derive_ids or self.recipe.key)
            and not _blank_value(own_id)
            and not self.seen.add(digest64(_id_text(own_id)))
        ):
            self.stats.duplicates += 1
            return RowSkip(row, "same event_id as an earlier row (one event)", str(own_id))
        eid = record.get("event_id")
        try:
            event = Event.from_dict(record, **self._from_dict_options(found))
        except ValidationError as exc:
            return RowProblem.from_error(row, exc, eid if isinstance(eid, str) else None)
        if self.recipe.final_region and event.user_data.unresolved_phones:
            return self._unresolved(row, event)
        return event

    def _unresolved(self, row: Hashable, event: Event) -> Event | RowProblem:
        """Drop (or refuse) phones that have no country code, no row country and no region."""
        phones = ", ".join(mask(p) for p in event.user_data.unresolved_phones or ())
        problem = f"{phones} has no country code, and the row has no country"
        if self.recipe.on_invalid == "raise":
            return RowProblem(row, "phone", problem, _REGION_REMEDY, event.event_id)
        user = object.__new__(UserData)
        user.__dict__.update(event.user_data.__dict__)
        user.__dict__["unresolved_phones"] = None
        user.__dict__["warnings"] = (
            *(event.user_data.warnings or ()),
            f"phone dropped: {problem} (--region)",
        )
        return event._replace(user_data=user)

    def _from_dict_options(self, found: ColumnMap) -> dict[str, Any]:
        options: dict[str, Any] = {
            "aliases": self.recipe.aliases,
            "region": self.recipe.region,
            "on_invalid": self.recipe.on_invalid,
        }
        column = found.column_of("event_time")
        zone = "UTC" if column is not None and _says_utc(column) else self.recipe.timezone
        if zone:
            options["timezone"] = zone
        if self.recipe.time_format:
            options["time_format"] = self.recipe.time_format
        return options

    def _record(self, found: ColumnMap, group: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Map a row (or a group of line-item rows) to one ``from_dict`` record, cleaned."""
        records = [found.record(row) for row in group]
        record = records[0]
        for later in records[1:]:
            for field, value in later.items():
                if field in ITEM_FIELDS:
                    continue
                if field == "content_ids" and not is_blank(value):
                    record[field] = _joined(record.get(field), value)
                elif _blank_value(record.get(field)) and not _blank_value(value):
                    record[field] = value
        items = _contents(records) if any(f in record for f in ITEM_FIELDS) else []
        for field in ITEM_FIELDS:
            record.pop(field, None)
        if items:
            record["contents"] = items
            if _blank_value(record.get("content_ids")):
                record["content_ids"] = [item["id"] for item in items if "id" in item] or None
            if _blank_value(record.get("num_items")):
                record["num_items"] = _quantity(items)
        for field, value in self.recipe.defaults.items():
            if _blank_value(record.get(field)):
                record[field] = value
        return self._clean(record)

    def _clean(self, record: dict[str, Any]) -> dict[str, Any]:
        recipe = self.recipe
        for field in ("phone", "zip_code"):
            if field in record:
                record[field] = _unquoted(record[field])
        for field in ("value", "predicted_ltv"):
            if field in record:
                record[field] = _amount(record[field], recipe.decimal_comma)
        full = record.pop("full_name", None)
        if not _blank_value(full) and isinstance(full, str):
            first, _, last = full.strip().partition(" ")
            if _blank_value(record.get("first_name")) and first:
                record["first_name"] = first
            if _blank_value(record.get("last_name")) and last.strip():
                record["last_name"] = last.strip()
        if "external_id" in record:
            record["external_id"] = self._real_ids(record["external_id"])
        if recipe.consent_column and "consent" in record:
            consent = record["consent"]
            record["consent"] = (
                None
                if _blank_value(consent)
                else str(consent).strip().lower() in ("true", "yes", "1", "y")
            )
        return record

    def _real_ids(self, value: Any) -> Any:
        """Drop placeholder external ids (guests' ``0``), counting them."""
        values = value if isinstance(value, list) else [value]
        kept = []
        for item in values:
            if _blank_value(item):
                continue
            text = _id_text(item)
            if text.lower() in PLACEHOLDER_IDS:
                self.stats.placeholder_ids += 1
                continue
            kept.append(item)
        if isinstance(value, list):
            return kept or None
        return kept[0] if kept else None

    def _event_id(self, record: Mapping[str, Any], merged: Mapping[str, Any]) -> str | None:
        """Return the row's derived event id, or None when it has its own (or none is derived)."""
        own = record.get("event_id")
        if not _blank_value(own):
            return None
        recipe = self.recipe
        if recipe.key:
            values = []
            for column in recipe.key:
                value = extract(merged, column)
                if _blank_value(value):
                    raise ValidationError(
                        "event_id",
                        f"the key column {column!r} is blank, so the row has no identity",
                        remedy=Remedy(
                            "key", "--key", "COLUMN[,COLUMN]", "columns every row fills",
                            python_example="['COLUMN']",
                        ),
                    )  # fmt: skip
                values.append(_id_text(value))
            name = _event_name_of(record, recipe)
            return "k-" + _digest("\x1f".join([name, *values]), 16).hex()
        if not recipe.derive_ids:
            return None
        content = "\x1f".join(
            f"{field}\x1e{_content_text(value)}"
            for field, value in record.items()
            if field != "event_id" and not _blank_value(value)
        )
        return "c-" + _digest(content, 16).hex()


def _event_name_of(record: Mapping[str, Any], recipe: Recipe) -> str:
    """Return a record's standard event name, for its id (the raw text when unknown)."""
    name = record.get("event_name")
    if not isinstance(name, (str, EventName)):
        return str(name)
    try:
        return EventName.resolve(name, recipe.aliases).value
    except (ValidationError, TypeError):
        return str(name)


def _digest(text: str, size: int) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=size).digest()


def _content_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _id_text(value: Any) -> str:
    """Text of an id cell: ``12345.0`` (a spreadsheet's number) is ``12345``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _records(sample: Iterable[tuple[Hashable, Any]]) -> list[Mapping[str, Any]]:
    return [item for _, item in sample if isinstance(item, Mapping)]


def _merged(group: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """Return the first row of a group with its blank cells filled from the later rows."""
    if len(group) == 1:
        return group[0]
    merged = dict(group[0])
    for later in group[1:]:
        for column, value in later.items():
            if _blank_value(merged.get(column)) and not _blank_value(value):
                merged[column] = value
    return merged


_UTC = re.compile(r"(?:^|[^a-z])(?:utc|gmt)(?:[^a-z]|$)")


def _says_utc(column: str) -> bool:
    """Tell whether a column's name says its times are UTC (``Created (UTC)``, ``..._utc``)."""
    return _UTC.search(canonical(column).replace("_", " ")) is not None


def _blank_value(value: Any) -> bool:
    if isinstance(value, list):
        return all(_blank_value(v) for v in value)
    return is_blank(value)


def _joined(first: Any, second: Any) -> list[Any]:
    items: list[Any] = []
    for value in (first, second):
        if isinstance(value, list):
            items.extend(value)
        elif isinstance(value, str):
            items.extend(part for part in value.split(","))
        elif value is not None:
            items.append(value)
    return list(dict.fromkeys(i.strip() if isinstance(i, str) else i for i in items if i != ""))


def _contents(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One content per row of a group, or per element where item fields are lists."""
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
            kept = {a: v for a, v in item.items() if not _blank_value(v)}
            if "item_price" in kept and isinstance(kept["item_price"], str):
                kept["item_price"] = _amount(kept["item_price"], False)
            if kept:
                items.append(kept)
    return items


def _quantity(items: Sequence[Mapping[str, Any]]) -> int | None:
    total = 0
    found = False
    for item in items:
        quantity = item.get("quantity")
        if quantity is None:
            continue
        try:
            total += int(float(str(quantity).strip()))
            found = True
        except ValueError:
            return None  # Content reports the bad quantity itself
    return total if found else None


def _unquoted(value: Any) -> Any:
    """Drop the ``'`` a spreadsheet puts before digits to keep their leading zeros."""
    if isinstance(value, list):
        return [_unquoted(v) for v in value]
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("'") and len(text) > 1:
            return text[1:].strip()
    return value


_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_COMMA_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:[. ]\d{3})+(?:,\d+)?|[+-]?\d+(?:,\d+)?")


def _amount(value: Any, decimal_comma: bool) -> Any:
    """Read ``1,200.00`` (and, with ``decimal_comma``, ``1.200,00`` or ``49,00``) as a number."""
    if not isinstance(value, str):
        return value
    text = _unquoted(value.strip())
    if decimal_comma:
        if _COMMA_THOUSANDS.fullmatch(text):
            return text.replace(".", "").replace(" ", "").replace(",", ".")
        return text
    if _THOUSANDS.fullmatch(text):
        return text.replace(",", "")
    return text


def _cleaned_value(field: str, value: Any, recipe: Recipe) -> Any:
    if field in ("phone", "zip_code"):
        return _unquoted(value)
    if field in ("value", "predicted_ltv"):
        return _amount(value, recipe.decimal_comma)
    return value


@attrs.frozen
class Conversion:
    """Events made from records, with the rows that could not be used or were left out.

    Unpacks as ``events, problems = snapcapi.events_from_records(rows)``.

    Attributes:
        events: The events, in row order.
        rows: The row of each event (``rows[i]`` is where ``events[i]`` came from).
        problems: One :class:`RowProblem` per row that did not become an event.
        ignored_columns: Columns that fed no field.
        skipped: One :class:`RowSkip` per row left out on purpose (filtered, duplicate).
        stats: Counts of filtered, folded and duplicate rows and placeholder ids.
    """

    events: tuple[Event, ...]
    rows: tuple[Hashable, ...]
    problems: tuple[RowProblem, ...]
    ignored_columns: tuple[str, ...] = ()
    skipped: tuple[RowSkip, ...] = ()
    stats: RecordStats = attrs.field(factory=RecordStats, eq=False)

    def __iter__(self) -> Iterator[Any]:
        return iter((self.events, self.problems))

    def __repr__(self) -> str:
        return (
            f"Conversion({len(self.events)} events, {len(self.problems)} problems"
            + (f", {len(self.skipped)} skipped" if self.skipped else "")
            + (f", ignored columns {list(self.ignored_columns)}" if self.ignored_columns else "")
            + ")"
        )


def _collect(
    pairs: Iterator[tuple[Hashable, Event | RowProblem | RowSkip]],
    ignored: set[str],
    stats: RecordStats,
) -> Conversion:
    events: list[Event] = []
    rows: list[Hashable] = []
    problems: list[RowProblem] = []
    skipped: list[RowSkip] = []
    for row, item in pairs:
        if isinstance(item, RowProblem):
            problems.append(item)
        elif isinstance(item, RowSkip):
            skipped.append(item)
        else:
            events.append(item)
            rows.append(row)
    return Conversion(
        tuple(events), tuple(rows), tuple(problems), tuple(sorted(ignored)), tuple(skipped), stats
    )


def events_from_records(
    records: Iterable[Mapping[str, Any]],
    mapping: Mapping[str, str | Sequence[str]] | None = None,
    *,
    aliases: Mapping[str, str | int | EventName] | None = None,
    region: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    on_invalid: OnInvalid = "raise",
    key: str | Sequence[str] | None = None,
    timezone: str | None = None,
    time_format: str | None = None,
    **options: Any,
) -> Conversion:
    """Build events from flat records (dicts), keeping every row that fails as a problem.

    Columns are matched to fields by name, by common synonym (``zip``, ``ip``, ``price``, ...)
    or by ``mapping``; see :mod:`snapcapi.records`. Rows without an ``event_id`` get one
    derived from ``key`` (and the event name) or, without a key, from their content, so the
    same rows give the same ids on every run.

    Args:
        records: Dicts, one per row (rows are numbered from 1).
        mapping: Explicit ``field -> column`` choices (``{"email": "contact_email"}``).
        aliases: Business event names mapped to standard names or custom event numbers.
        region: Region for phone numbers without a country code, when the row has no country.
        defaults: Values for fields a row lacks, such as ``{"action_source": "OFFLINE"}``.
        on_invalid: ``"raise"`` makes a row with an identifier that cannot be normalized a
            problem; ``"drop"`` drops just that identifier and keeps the event (with a warning).
        key: Column(s) identifying one event (``"order_id"``).
        timezone: IANA zone of times written without an offset (``"Europe/Paris"``).
        time_format: strptime format for times written ambiguously (``"%d/%m/%Y %H:%M"``).
        options: More of :func:`iter_events`' options (``group_by``, ``where``, ``exclude``,
            ``ignore``, ``synonyms``, ``decimal_comma``, ``consent_column``, ``stable_ids``).

    Returns:
        A :class:`Conversion`: ``events, problems = events_from_records(...)``.

    Raises:
        ValidationError: ``mapping`` or ``defaults`` names a field snapcapi does not know.
    """
    ignored: set[str] = set()
    stats = options.pop("stats", None) or RecordStats()
    pairs = iter_events(
        enumerate(records, start=1),
        mapping=mapping,
        aliases=aliases,
        region=region,
        defaults=defaults,
        on_invalid=on_invalid,
        ignored=ignored,
        key=key,
        timezone=timezone,
        time_format=time_format,
        stats=stats,
        **options,
    )
    return _collect(pairs, ignored, stats)


def events_from_dataframe(
    frame: Any,
    mapping: Mapping[str, str | Sequence[str]] | None = None,
    *,
    aliases: Mapping[str, str | int | EventName] | None = None,
    region: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    on_invalid: OnInvalid = "raise",
    key: str | Sequence[str] | None = None,
    timezone: str | None = None,
    time_format: str | None = None,
    **options: Any,
) -> Conversion:
    """Build events from a pandas DataFrame, one per row; problems name the index label.

    Columns are matched as in :func:`events_from_records`, which documents the arguments.
    Missing cells (``NaN``, ``None``, ``NaT``) count as blank; numpy numbers and pandas
    timestamps are read as their Python equivalents (naive timestamps in ``timezone``).

    Returns:
        A :class:`Conversion`; ``conversion.rows`` holds the index label of each event.

    Raises:
        ValidationError: ``mapping`` or ``defaults`` is unusable for the frame's columns.
    """
    columns = [str(c) for c in frame.columns]
    ignored: set[str] = set()
    stats = options.pop("stats", None) or RecordStats()

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
        key=key,
        timezone=timezone,
        time_format=time_format,
        stats=stats,
        **options,
    )
    return _collect(pairs, ignored, stats)


def _cell(value: Any) -> Any:
    """Read a DataFrame cell as from_dict expects: missing values blank, timestamps datetimes."""
    if value is None or value.__class__ in (str, int, float, bool):
        return value
    name = type(value).__name__
    if name in ("NaTType", "NAType"):
        return None
    if name == "Timestamp":
        stamp: _dt.datetime = value.to_pydatetime()
        return stamp
    return value

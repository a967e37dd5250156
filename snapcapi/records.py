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
import json
import re
import uuid
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from snapcapi._cleaning import (
    PLACEHOLDER_IDS,
    blank,
    clean_record,
    clean_value,
    contents,
    id_text,
    joined,
    quantity,
)
from snapcapi._convert import is_blank
from snapcapi._digests import DigestSet, run_key
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
from snapcapi._masking import echo, mask, plural
from snapcapi.enums import ActionSource, EventName
from snapcapi.errors import Remedy, ValidationError
from snapcapi.events import Event
from snapcapi.problems import (
    GROUP_SPLIT,
    INVALID_VALUE,
    NOT_A_RECORD,
    PHONE_NO_COUNTRY_CODE,
    UNREADABLE_CSV,
    Problem,
)
from snapcapi.user_data import OnInvalid

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
    "scattered_groups",
]

#: How many first rows are looked at to judge whether synonym-matched columns fit.
SAMPLE_ROWS = 20


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
        code: What is wrong, as a short stable identifier (see :mod:`snapcapi.problems`):
            ``"invalid_value"`` for a value an error refused, ``"not_a_record"``, ...
        lines: The first and last physical line of a file row that could not be read as a
            row (an unbalanced quote, a wrong number of values, a line that is not JSON).
        text: That row's text as the file has it, for ``--invalid-out``. Never shown by
            ``repr`` or ``str``: it may hold personal data.
        values: The values read from :attr:`text` alone, as far as they go (a CSV row), for
            ``--invalid-out`` and to tell which line-item group the row began. Never shown.
    """

    row: Hashable
    field: str | None
    reason: str
    remedy: Remedy | None = attrs.field(default=None, eq=False, repr=False)
    event_id: str | None = attrs.field(default=None, eq=False, repr=False)
    code: str = attrs.field(default=INVALID_VALUE, eq=False, repr=False, kw_only=True)
    lines: tuple[int, int] | None = attrs.field(default=None, eq=False, repr=False, kw_only=True)
    text: str | None = attrs.field(default=None, eq=False, repr=False, kw_only=True)
    values: tuple[str, ...] | None = attrs.field(default=None, eq=False, repr=False, kw_only=True)

    @property
    def where(self) -> str | None:
        """Name the physical line(s) of the row (``"line 401"``, ``"lines 7-12"``), if known."""
        if self.lines is None:
            return None
        first, last = self.lines
        return f"line {first:,}" if first == last else f"lines {first:,}-{last:,}"

    @classmethod
    def from_error(
        cls, row: Hashable, exc: ValidationError, event_id: str | None = None
    ) -> RowProblem:
        """Make the problem of a row from the error that stopped it."""
        return cls(row, exc.field, exc.problem, exc.remedy, event_id, code=exc.code)

    def explain(self, interface: str = "python") -> str:
        """Return the reason with its advice in the words of ``"python"`` or ``"cli"``."""
        if self.remedy is None:
            return self.reason
        return f"{self.reason}; {self.remedy.advice('cli' if interface == 'cli' else 'python')}"

    def to_problem(self) -> Problem:
        """Return what is wrong as a :class:`~snapcapi.problems.Problem` (code, field, reason)."""
        return Problem(self.code, self.field, self.reason)

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"row {self.row}: {where}{self.explain()}"


@attrs.frozen
class RowSkip:
    """A row left out on purpose: filtered, or a duplicate of an earlier row.

    Attributes:
        row: The row's number (or index label).
        reason: Why (``"filtered by where Financial Status=paid"``).
        event_id: The row's event id, for duplicates.
        rule: The :class:`Filter` that skipped it, if one did.
    """

    row: Hashable
    reason: str
    event_id: str | None = None
    rule: Filter | None = attrs.field(default=None, eq=False, repr=False)

    def explain(self, interface: str = "python") -> str:
        """Return why, naming a filter as ``"python"`` (``where=``) or ``"cli"`` writes it."""
        if self.rule is not None:
            return f"filtered by {self.rule.describe(interface)}"
        return self.reason

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
    _wanted: frozenset[str] = attrs.field(init=False, eq=False, repr=False)
    _any: bool = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        wanted = frozenset(v.strip().lower() for v in self.values)
        object.__setattr__(self, "_wanted", wanted)
        object.__setattr__(self, "_any", "*" in wanted)

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
        text = "" if is_blank(value) else id_text(value).lower()
        return text in self._wanted or (self._any and bool(text))

    def passes(self, record: Mapping[str, Any]) -> bool:
        """Tell whether the filter lets the record through."""
        return self.matches(record) == self.keep

    def describe(self, interface: str = "python") -> str:
        """Name the filter as ``"python"`` (``where Status=paid``) or ``"cli"`` writes it.

        Values that might be personal data (an email to exclude) are masked.
        """
        name = "where" if self.keep else "exclude"
        values = ",".join(_filter_value(v) for v in self.values)
        return f"{'--' if interface == 'cli' else ''}{name} {self.column}={values}"

    def __str__(self) -> str:
        return self.describe()


def _filter_value(value: str) -> str:
    shown = echo(value)
    return value if shown == repr(value.strip()) else shown[1:-1]


@attrs.define
class RecordStats:
    """What happened to rows on the way to events, for the summary.

    Attributes:
        filtered: Rows skipped, by the filter that skipped them.
        folded: Line-item rows folded into the event of an earlier row.
        duplicates: Rows whose event id an earlier row had already (one event).
        placeholder_ids: External ids dropped as placeholders (``0``, ``guest``, ...).
        split_groups: ``group_by`` values that came again after other rows (their rows are
            problems: the file needs sorting).
    """

    filtered: collections.Counter[Filter] = attrs.field(factory=collections.Counter)
    folded: int = 0
    duplicates: int = 0
    placeholder_ids: int = 0
    split_groups: int = 0


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
            if not is_field(field):
                raise unknown_field(field)

    def identity(self) -> dict[str, str]:
        """Return the settings that decide event ids, as strings.

        With a key, an id is the key's cells and the event name: only what decides those
        counts. Without one, it is the row's own cells for every field the map reads, so the
        mapping counts too. Time zones and formats never do (ids use the cells as written).
        """
        event_name = self.mapping.get("event_name", "")
        name_column = event_name if isinstance(event_name, str) else "|".join(event_name)
        settings = {
            "key": ",".join(self.key),
            "aliases": ",".join(f"{k}={v}" for k, v in sorted((self.aliases or {}).items())),
            "event_name": str(self.defaults.get("event_name") or ""),
            "event_name_column": name_column,
        }
        if not self.key:
            settings["mapping"] = ",".join(
                f"{field}={value if isinstance(value, str) else '|'.join(value)}"
                for field, value in sorted(self.mapping.items())
            )
            settings["synonyms"] = "on" if self.synonyms else "off"
            settings["ignore"] = ",".join(sorted(self.ignore))
        return settings


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
    on_group: Callable[[Hashable, Sequence[Any]], None] | None = None,
) -> Iterator[tuple[Hashable, Event | RowProblem | RowSkip]]:
    """Run :func:`iter_events` with a :class:`Recipe` (the command line's way in).

    ``on_group`` is called with each row's source record(s) (a group of line-item rows for
    ``group_by``; for a row a file reader could not read, its :class:`RowProblem`) just
    before the row's outcome is yielded.
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
        is_field=is_field,
        optional=recipe.optional,
    )


#: Fields whose column is never left out for its values: their rows fail one by one, with
#: advice that names the setting (--aliases, --time-format), instead of taking a default.
_NEVER_MISFIT = frozenset({"event_name", "event_time", "event_id"})


def _misfits(
    found: ColumnMap, sample: Sequence[Mapping[str, Any]], recipe: Recipe
) -> dict[str, str]:
    """Judge synonym-matched columns on the first rows: column → why it does not fit."""
    misfits: dict[str, str] = {}
    for match in found.matches:
        if match.how != "synonym" or match.field in _NEVER_MISFIT:
            continue
        values = [_sampled(r, match.columns[0]) for r in sample]
        values = [v for v in values if not is_blank(v) and not isinstance(v, (dict, list))]
        bad = sum(not _fits(match.field, v, recipe) for v in values)
        if values and bad * 2 > len(values):
            comma = match.field in ("value", "predicted_ltv") and not recipe.decimal_comma
            hint = (
                " (amounts written 49,00 need decimal_comma, --decimal-comma)"
                if comma and any("," in str(v) for v in values)
                else ""
            )
            misfits[match.columns[0]] = (
                f"read as {match.field} by its name, but {bad} of the first {len(values)} "
                f"values do not fit{hint}; map it explicitly if it is"
            )
    return misfits


def _sampled(record: Mapping[str, Any], column: str) -> Any:
    """Return a sample row's value, None for one that cannot be read (its row fails later)."""
    try:
        return extract(record, column)
    except ValidationError:
        return None


def _fits(field: str, value: Any, recipe: Recipe) -> bool:
    """Tell whether one value could feed ``field`` (a synonym-matched column's sanity check)."""
    cleaned = clean_value(field, value, recipe.decimal_comma)
    try:
        if field == "action_source":
            ActionSource.resolve(cleaned)
        else:
            Event.from_dict(
                {field: cleaned, "event_name": "PAGE_VIEW", "event_time": 1.7e9,
                 "action_source": "OFFLINE"},
                on_invalid="raise",
            )  # fmt: skip
    except (ValidationError, *_DATA_ERRORS):  # a value that breaks a model fits nothing
        return False
    return True


_REGION_REMEDY = Remedy(
    "region", "--region", "US", "the country of numbers written without +code",
)  # fmt: skip
_KEY_REMEDY = Remedy(
    "key", "--key", "COLUMN[,COLUMN]", "columns every row fills", python_example="['COLUMN']"
)

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
    missing = [field for field in _REQUIRED if field not in given]
    if not missing:
        return
    columns = [c for m in found.matches for c in m.columns] + list(found.ignored)
    shown = ", ".join(echo_column(c) for c in columns[:30]) + (" ..." if len(columns) > 30 else "")
    also = f" (nor {', '.join(missing[1:])})" if len(missing) > 1 else ""
    values = sum(echo_column(c) != c for c in columns)
    header = (
        "; its first line looks like data, not names: does the file have a header row?"
        if values >= 2
        else ""
    )
    raise ValidationError(
        missing[0],
        f"no column gives it{also}; the columns are: {shown}{header}",
        remedy=_REQUIRED[missing[0]],
    )


def echo_column(column: str) -> str:
    """Show a column name in a message, masked when it looks like a value (no header row)."""
    shown = echo(column)
    return shown[1:-1] if shown == repr(column) else shown


def _check_columns(recipe: Recipe, columns: Iterable[str]) -> None:
    """Refuse filters, keys and groupings on columns the source does not have."""
    present = set(columns)

    def check(column: str, setting: str) -> None:
        if column not in present and column.split(".", 1)[0] not in present:
            raise ValidationError(
                setting,
                f"column {echo_column(column)!r} is not in the file (its columns: "
                f"{', '.join(echo_column(c) for c in list(present)[:30])})",
            )

    for rule in recipe.where:
        check(rule.column, "where")
    for rule in recipe.exclude:
        check(rule.column, "exclude")
    for column in recipe.key:
        check(column, "key")
    if recipe.group_by:
        check(recipe.group_by, "group_by")
    if recipe.consent_column:
        check(recipe.consent_column, "consent_column")


@attrs.frozen
class _Plan:
    """What one column map decides for every row read with it, worked out once."""

    found: ColumnMap
    options: Mapping[str, Any]  # Event.from_dict's keyword arguments
    items: bool  # some item-level field (contents.*) is mapped
    identity: tuple[tuple[str, tuple[str, ...]], ...]  # content ids: field → columns, sorted
    # Content ids read from plain columns, one a field: ("field\x1e", column) pairs, or None.
    flat: tuple[tuple[str, str], ...] | None


def _plan(found: ColumnMap, recipe: Recipe) -> _Plan:
    options: dict[str, Any] = {
        "aliases": recipe.aliases,
        "region": recipe.region,
        "on_invalid": recipe.on_invalid,
    }
    column = found.column_of("event_time")
    zone = "UTC" if column is not None and says_utc(column) else recipe.timezone
    if zone:
        options["timezone"] = zone
    if recipe.time_format:
        options["time_format"] = recipe.time_format
    items = any(m.field in ITEM_FIELDS for m in found.matches)
    plain = all(len(cs) == 1 and "." not in cs[0] for _, cs in found.identity)
    flat = tuple((f"{field}\x1e", columns[0]) for field, columns in found.identity)
    return _Plan(found, options, items, found.identity, flat if plain else None)


class _Headless(list):  # type: ignore[type-arg]
    """The rows of a line-item group that follows a row the file reader could not read.

    Attributes:
        after: The unreadable row's problem.
        certain: That row's own first line gives this group's value: it was the group's first
            row (the one that holds an order's fields), so the rows here cannot be an event.
    """

    def __init__(self, rows: list[Mapping[str, Any]], after: RowProblem, certain: bool) -> None:
        super().__init__(rows)
        self.after = after
        self.certain = certain

    def problem(self, row: Hashable, column: str) -> RowProblem:
        """Return the group's problem: its first row is (or may be) the unreadable one."""
        where = self.after.where or f"row {self.after.row}"
        if self.certain:
            why = (
                f"the first row of this group ({where}) could not be read, so its line-item "
                "rows lack the fields that row holds"
            )
        else:
            why = (
                f"this group comes right after a row that could not be read ({where}), which "
                "may be its first row (the one its filters and fields are read from)"
            )
        reason = f"{why}; fix {where} and send the file again (--resume skips what was accepted)"
        return RowProblem(row, column, reason, code=UNREADABLE_CSV)


#: The group value of an unreadable row whose own first line does not reach the column.
_UNKNOWN = object()


class _Groups:
    """Line items: consecutive rows with the same ``group_by`` value are one event.

    A value that comes back after other rows (a sorted-away or shuffled file) would split its
    order in two, one of them with some items missing: that row becomes a problem. A group
    that starts right after a row the reader could not read is :class:`_Headless`: that row
    may have been the group's first, which holds the order's fields.
    """

    def __init__(
        self, column: str | None, stats: RecordStats, header: Sequence[str] | None = None
    ) -> None:
        self.column = column
        self.stats = stats
        self.seen = DigestSet()
        self.place = header.index(column) if header and column in header else None
        self.width = len(header) if header else 0
        self.unread: tuple[RowProblem, object] | None = None  # the last unreadable row, value

    def __call__(self, rows: Iterator[tuple[Hashable, Any]]) -> Iterator[tuple[Hashable, Any]]:
        """Yield ``(row, item)``, the item being a list of records for a group."""
        if self.column is None:
            yield from rows
            return
        head: tuple[Hashable, list[Mapping[str, Any]]] | None = None
        head_value: str | None = None
        for row, item in rows:
            if not isinstance(item, Mapping):
                if isinstance(item, RowProblem) and item.lines is not None:
                    self.unread = (item, self._value_of(item))
                yield row, item  # an unreadable line does not end the group around it
                continue
            try:
                value = extract(item, self.column)
            except ValidationError as exc:
                yield row, RowProblem.from_error(row, exc)
                continue
            text = None if is_blank(value) else str(value).strip()
            if head is not None and text is not None and text == head_value:
                head[1].append(item)
                self.stats.folded += 1
                self.unread = None  # the unreadable row was one of this group's items
                continue
            if head is not None:
                yield head
            head, head_value = (row, self._started(item, text)), text
            if text is not None and not self.seen.add(run_key(text)):
                self.stats.split_groups += 1
                head = None
                yield (
                    row,
                    RowProblem(
                        row,
                        None,
                        f"its {self.column} comes again after other rows, so its line items are "
                        f"not together; sort the file by {self.column} and send it again",
                        code=GROUP_SPLIT,
                    ),
                )
        if head is not None:
            yield head

    def _value_of(self, problem: RowProblem) -> object:
        """Return the group value an unreadable row's own first line gives, if it reaches it.

        A quote left open swallows the rest of its line into one last value: only the values
        before that one are the row's own (all of them when the line has the header's width).
        """
        values, place = problem.values, self.place
        if place is None or values is None or place >= len(values):
            return _UNKNOWN
        if place == len(values) - 1 and len(values) != self.width:
            return _UNKNOWN
        return values[place].strip() or None

    def _started(self, item: Mapping[str, Any], text: str | None) -> list[Mapping[str, Any]]:
        """Begin a group at ``item``: headless when an unreadable row came just before it."""
        unread, self.unread = self.unread, None
        if unread is None:
            return [item]
        problem, value = unread
        if value is _UNKNOWN:
            return _Headless([item], problem, certain=False)
        if value is not None and value == text:
            return _Headless([item], problem, certain=True)
        return [item]


def scattered_groups(
    rows: Iterable[tuple[Hashable, Any]], column: str, examples: int = 3
) -> tuple[int, list[tuple[str, Hashable, Hashable]]]:
    """Find ``group_by`` values whose rows are not together, before anything is sent.

    Returns:
        How many values come back after other rows, and a few of them as
        ``(value, first row, row it comes back at)``.
    """
    first: dict[str, Hashable] = {}
    seen = DigestSet()
    previous: str | None = None
    count = 0
    found: list[tuple[str, Hashable, Hashable]] = []
    for row, item in rows:
        if not isinstance(item, Mapping):
            continue  # an unreadable line does not end the group around it
        try:
            value = extract(item, column)
        except ValidationError:
            continue  # the row is a problem of its own when it is read for real
        text = None if is_blank(value) else str(value).strip()
        if text is None or text == previous:
            continue
        previous = text
        if not seen.add(run_key(text)):
            count += 1
            if len(found) < examples:
                found.append((text, first.get(text, "?"), row))
        elif len(first) < 10_000:
            first[text] = row
    return count, found


class _Pipeline:
    """One pass over the rows of one source: maps, groups, filters, ids, events."""

    def __init__(
        self,
        recipe: Recipe,
        stats: RecordStats,
        ignored: set[str] | None,
        on_map: Callable[[ColumnMap], None] | None,
        on_group: Callable[[Hashable, Sequence[Any]], None] | None = None,
    ) -> None:
        self.recipe = recipe
        self.stats = stats
        self.ignored = ignored
        self.on_map = on_map
        self.on_group = on_group
        self.seen = DigestSet()
        self.first: _Plan | None = None
        self.header = False
        self.columns: list[str] | None = None  # the header, when the source has one
        self.plans: dict[tuple[str, ...], _Plan | ValidationError] = {}
        self.misfits: dict[str, str] = {}
        self.names: dict[str, str] = {}  # event names as written → Snap's, for ids
        self.rules = (*recipe.where, *recipe.exclude)
        self.dedupe = recipe.derive_ids or bool(recipe.key)

    def run(
        self, rows: Iterable[tuple[Hashable, Any]], columns: Iterable[str] | None
    ) -> Iterator[tuple[Hashable, Event | RowProblem | RowSkip]]:
        self.recipe.check()
        iterator = iter(rows)
        if columns is not None:
            # Mapping errors (an unknown column, a required field missing) surface at the call.
            header = [str(c) for c in columns]
            self.columns = header
            _check_columns(self.recipe, header)
            sample = list(itertools.islice(iterator, SAMPLE_ROWS))
            self.header = True
            self._take(_plan(resolve_map(self.recipe, header, _records(sample), True), self.recipe))
            iterator = itertools.chain(sample, iterator)
        return self._events(iterator)

    def _take(self, plan: _Plan) -> None:
        """Take the first map: the one shown, and for a header the one every row uses."""
        self.first = plan
        if self.ignored is not None:
            self.ignored.update(plan.found.ignored)
        if self.on_map is not None:
            self.on_map(plan.found)

    def _plan_for(self, record: Mapping[str, Any]) -> _Plan:
        """Return the plan for a record: a header's, or one per set of keys without one.

        Raises:
            ValidationError: This set of keys gives no usable map.
        """
        if self.header and self.first is not None:
            return self.first
        keys = tuple(str(k) for k in record)
        plan = self.plans.get(keys)
        if plan is None:
            try:
                plan = _plan(resolve_map(self.recipe, keys, (), False, self.misfits), self.recipe)
            except ValidationError as exc:
                plan = exc
            if len(self.plans) < 1000:  # sources whose keys vary without end are not cached
                self.plans[keys] = plan
            if isinstance(plan, _Plan):
                if self.first is None:
                    self._take(plan)
                elif self.ignored is not None:
                    self.ignored.update(plan.found.ignored)
        if isinstance(plan, ValidationError):
            raise plan
        return plan

    def _events(
        self, iterator: Iterator[tuple[Hashable, Any]]
    ) -> Iterator[tuple[Hashable, Event | RowProblem | RowSkip]]:
        if not self.header:
            # No header: judge synonym matches on the first records, then map each set of
            # keys as it comes; the first record's map is the one shown, and its errors are
            # the run's (a file whose rows have no time column at all).
            sample = list(itertools.islice(iterator, SAMPLE_ROWS))
            records = _records(sample)
            keys: dict[str, None] = {}
            for record in records:
                keys.update(dict.fromkeys(str(k) for k in record))
            if records:
                _check_columns(self.recipe, keys)
                self.misfits = _misfits(_raw_map(self.recipe, list(keys), False), records,
                                        self.recipe)  # fmt: skip
                self._plan_for(records[0])
            iterator = itertools.chain(sample, iterator)
        grouped = iterator
        if self.recipe.group_by is not None:
            groups = _Groups(self.recipe.group_by, self.stats, self.columns)
            grouped = groups(iterator)
        for row, item in grouped:
            outcome = self._one(row, item)
            if self.on_group is not None:
                self.on_group(row, item if isinstance(item, list) else [item])
            yield row, outcome

    def _one(self, row: Hashable, item: Any) -> Event | RowProblem | RowSkip:
        """Return what a row becomes; a value no model could read fails that row alone."""
        try:
            return self._outcome(row, item)
        except ValidationError as exc:
            return RowProblem.from_error(row, exc)
        except _DATA_ERRORS as exc:  # the models' errors are ValidationError; this is a net
            return _unreadable_value(row, exc)

    def _outcome(self, row: Hashable, item: Any) -> Event | RowProblem | RowSkip:
        group: list[Mapping[str, Any]]
        if item.__class__ is dict:  # a file's row, the common case (no ABC check needed)
            group = [item]
        elif isinstance(item, (RowProblem, RowSkip, Event)):
            return item
        elif isinstance(item, list):
            group = item
        elif isinstance(item, Mapping):
            group = [item]
        else:
            what = f"expected a record (a dict), got {type(item).__name__}"
            return RowProblem(row, None, what, code=NOT_A_RECORD)
        headless = item if isinstance(item, _Headless) else None
        if headless is not None and headless.certain:
            return headless.problem(row, str(self.recipe.group_by))
        merged = group[0] if len(group) == 1 else _merged(group)
        try:
            for rule in self.rules:
                if not rule.passes(merged):
                    if headless is not None:  # judged on rows that may lack the first one
                        return headless.problem(row, str(self.recipe.group_by))
                    self.stats.filtered[rule] += 1
                    return RowSkip(row, f"filtered by {rule}", rule=rule)
        except ValidationError as exc:  # a filter's path into a cell that is not JSON
            return RowProblem.from_error(row, exc)
        try:
            plan = self._plan_for(group[0])
            record = self._record(plan, group)
            event_id = self._event_id(plan, record, merged)
        except ValidationError as exc:
            return RowProblem.from_error(row, exc)
        record["event_id"] = event_id
        try:
            event = Event.from_dict(record, **plan.options)
        except ValidationError as exc:
            return RowProblem.from_error(row, exc, event_id)
        if self.recipe.final_region and event.user_data.unresolved_phones:
            if self.recipe.on_invalid == "raise":
                return _unresolved_problem(row, event)
            event = _without_unresolved(event)
        # Only a row that became an event claims its id: a bad row does not hide a good one.
        # An id is one event per event name (a file may give an order's PURCHASE and its
        # SIGN_UP one event_id; Snap tells them apart by name too).
        if self.dedupe and not self.seen.add(run_key(f"{event.event_name._value_}\x1f{event_id}")):
            self.stats.duplicates += 1
            return RowSkip(row, "same event_id as an earlier row (one event)", event_id)
        return event

    def _record(self, plan: _Plan, group: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Map a row (or a group of line-item rows) to one ``from_dict`` record, cleaned."""
        records = [plan.found.record(row) for row in group]
        record = records[0]
        for later in records[1:] if len(records) > 1 else ():
            for field, value in later.items():
                if field in ITEM_FIELDS:
                    continue
                if field == "content_ids" and not blank(value):
                    record[field] = joined(record.get(field), value)
                elif blank(record.get(field)) and not blank(value):
                    record[field] = value
        if plan.items:
            items = contents(records, self.recipe.decimal_comma)
            for field in ITEM_FIELDS:
                record.pop(field, None)
            if items:
                record["contents"] = items
                if blank(record.get("content_ids")):
                    record["content_ids"] = [i["id"] for i in items if "id" in i] or None
                if blank(record.get("num_items")):
                    record["num_items"] = quantity(items)
        for field, value in self.recipe.defaults.items():
            if blank(record.get(field)):
                record[field] = value
        self.stats.placeholder_ids += clean_record(record, self.recipe.decimal_comma)
        return record

    def _event_id(self, plan: _Plan, record: Mapping[str, Any], merged: Mapping[str, Any]) -> str:
        """Return the row's event id: its own, else from the key, else from its content.

        Raises:
            ValidationError: A key column is blank (the row has no identity).
        """
        own = record.get("event_id")
        if not blank(own):
            return id_text(own)
        recipe = self.recipe
        name = self._event_name(record.get("event_name"))
        if recipe.key:
            values = []
            for column in recipe.key:
                value = extract(merged, column)
                if blank(value):
                    raise ValidationError(
                        "event_id",
                        f"the key column {column!r} is blank, so the row has no identity",
                        remedy=_KEY_REMEDY,
                    )
                values.append(id_text(value))
            return "k-" + _digest("\x1f".join([name, *values]))
        if not recipe.derive_ids:
            return str(uuid.uuid4())
        # The row's own cells for every field its map reads, by field name: the same row gives
        # the same id whatever the column order, key order or cleaning rules.
        parts = [name]
        if plan.flat is not None:  # the common case: plain columns, mostly text cells
            get = merged.get
            for prefix, column in plan.flat:
                cell = get(column)
                if cell.__class__ is str:
                    cell = cell.strip()
                    if cell:
                        parts.append(prefix + cell)
                elif not blank(cell):
                    parts.append(prefix + _cell_text(cell))
            return "c-" + _digest("\x1f".join(parts))
        for field, columns in plan.identity:
            cells = [extract(merged, column) for column in columns]
            text = "\x1d".join("" if blank(c) else _cell_text(c) for c in cells)
            if text.strip("\x1d"):
                parts.append(field + "\x1e" + text)
        return "c-" + _digest("\x1f".join(parts))

    def _event_name(self, name: Any) -> str:
        """Return Snap's name for an event name as written (the text itself when unknown)."""
        if not isinstance(name, (str, EventName)):
            return str(name)
        key = str(name)
        found = self.names.get(key)
        if found is None:
            try:
                found = EventName.resolve(name, self.recipe.aliases).value
            except (ValidationError, TypeError):
                found = key.strip()
            if len(self.names) < 10_000:
                self.names[key] = found
        return found


#: What a hostile value may raise in Python itself rather than in snapcapi's checks: a number
#: past the int-string limit or too large for a float, nesting past the recursion limit.
_DATA_ERRORS = (ValueError, TypeError, ArithmeticError, RecursionError)


def _unreadable_value(row: Hashable, exc: BaseException) -> RowProblem:
    """Make the problem of a row one of whose values Python itself could not handle.

    The exception's own text is not quoted: it may hold the value.
    """
    if isinstance(exc, RecursionError):
        why = "a value is nested too deeply to read"
    elif isinstance(exc, ArithmeticError):
        why = "a number is too large (or not a number) to read"
    elif isinstance(exc, TypeError):
        why = "a value is of a type no field takes"
    else:
        why = "a value is too long or malformed to read"
    reason = f"{why} ({type(exc).__name__}); check this row's values"
    return RowProblem(row, None, reason, code=INVALID_VALUE)


def _unresolved_problem(row: Hashable, event: Event) -> RowProblem:
    phones = ", ".join(mask(p) for p in event.user_data.unresolved_phones or ())
    problem = f"{phones} has no country code, and the row has no country"
    return RowProblem(
        row, "phone", problem, _REGION_REMEDY, event.event_id, code=PHONE_NO_COUNTRY_CODE
    )


def _without_unresolved(event: Event) -> Event:
    """Drop the phones that no region will ever resolve, with a warning."""
    phones = ", ".join(mask(p) for p in event.user_data.unresolved_phones or ())
    reason = f"{phones} has no country code, and the row has no country"
    drop = Problem.dropped(PHONE_NO_COUNTRY_CODE, "phone", reason)
    return event._replace(user_data=event.user_data.without_unresolved(drop))


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _cell_text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return id_text(value)


def _records(sample: Iterable[tuple[Hashable, Any]]) -> list[Mapping[str, Any]]:
    return [item for _, item in sample if isinstance(item, Mapping)]


def _merged(group: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """Return the first row of a group with its blank cells filled from the later rows."""
    if len(group) == 1:
        return group[0]
    merged = dict(group[0])
    for later in group[1:]:
        for column, value in later.items():
            if blank(merged.get(column)) and not blank(value):
                merged[column] = value
    return merged


# UTC or GMT as a word, not followed by an offset (``GMT+02:00`` is not UTC).
_UTC = re.compile(r"(?:^|[^a-z])(?:utc|gmt)(?![a-z])(?!\s*[+-]\s*\d)")


def says_utc(column: str) -> bool:
    """Tell whether a column's name says its times are UTC (``Created (UTC)``, ``..._utc``)."""
    return _UTC.search(canonical(column).replace("_", " ")) is not None


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
            f"Conversion({plural(len(self.events), 'event')}, "
            f"{plural(len(self.problems), 'problem')}"
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

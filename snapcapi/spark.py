"""Send a Spark DataFrame's rows to Snap from the executors: tables that never leave the cluster.

:func:`send` runs :func:`send_batches` on every partition through ``DataFrame.mapInArrow`` (so
it works where RDD APIs do not, as on Spark Connect) and returns a DataFrame of one status row
per input row: ``key, event_id, status, reason, http_status``. :func:`send_batches` is the
engine-neutral part: it takes Arrow record batches and :class:`SparkSettings` (picklable) and
yields record batches of status rows, so it runs and is tested without Spark.

Each partition builds one :class:`~snapcapi.Client`; the token is read on the executor (an
environment variable, or a picklable callable), never from a column. A key is required: ids
come from it, so a task Spark retries sends the same event ids and Snap deduplicates them.
No exception escapes a task: every row ends as a status row (a client that cannot be built,
or a send that breaks, gives FAILED rows, safe to send again).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import requests

from snapcapi._cleaning import id_text
from snapcapi._convert import is_blank
from snapcapi._mapping import extract
from snapcapi._presets import load_preset
from snapcapi.client import Client
from snapcapi.errors import AuthenticationError, SnapCapiError, ValidationError
from snapcapi.events import Event
from snapcapi.records import Filter, Recipe, RowProblem, RowSkip, iter_recipe, resolve_map
from snapcapi.results import EventResult, EventStatus

if TYPE_CHECKING:  # pragma: no cover - the sync module is imported only when a spec is given
    from snapcapi._sync import SyncSpec

_FAILED = EventStatus.FAILED

__all__ = ["STATUS_COLUMNS", "SparkSettings", "send", "send_batches"]

logger = logging.getLogger("snapcapi")

#: The columns of the status rows, in order.
STATUS_COLUMNS = ("key", "event_id", "status", "reason", "http_status")
_SPARK_SCHEMA = "key string, event_id string, status string, reason string, http_status int"
_INSTALL = "pip install 'snapcapi[spark]'"


@attrs.frozen
class SparkSettings:
    """Everything a partition needs to send its rows: picklable, and never the token itself.

    Attributes:
        recipe: How rows become events (mapping, key, defaults, time zone, region, filters).
        pixel_id: The Pixel ID (WEB and OFFLINE events).
        snap_app_id: The Snap App ID (MOBILE_APP events).
        token_env: The environment variable holding the token on the executors.
        token: A picklable callable returning the token, read on the executor (wins over
            ``token_env``).
        base_url: Snap's host (the fake server's URL in tests).
        batch_size: Events per request (at most 2000); also the rows per status batch.
        max_requests_per_second: This partition's share of the request budget, or None.
        max_retries: Retries of a failed request.
        timeout: Seconds per request.
        test_event_code: Send as test events (Snap's test tool shows them, records none).
        require_consent: Send only events whose consent is true; the others are SKIPPED.
    """

    recipe: Recipe
    pixel_id: str | None = None
    snap_app_id: str | None = None
    token_env: str = "SNAP_ACCESS_TOKEN"
    token: Callable[[], str] | None = attrs.field(default=None, repr=False)
    base_url: str | None = None
    batch_size: int = 2000
    max_requests_per_second: float | None = None
    max_retries: int = 5
    timeout: float = 10.0
    test_event_code: str | None = None
    require_consent: bool = False

    def client(self, session: requests.Session | None) -> Client:
        """Build this partition's client, reading the token here (on the executor).

        Raises:
            ValidationError: The token's variable is unset, or a setting is unusable.
        """
        token: str | Callable[[], str]
        if self.token is not None:
            token = self.token
        else:
            value = os.environ.get(self.token_env, "").strip()
            if not value:
                raise ValidationError(
                    "token_env",
                    f"the environment variable {self.token_env} is not set on the executors; "
                    "set it in the cluster's environment (a secret), or pass token=<callable>",
                )
            token = value
        return Client(
            self.pixel_id,
            token,
            snap_app_id=self.snap_app_id,
            base_url=self.base_url,
            batch_size=self.batch_size,
            max_retries=self.max_retries,
            timeout=self.timeout,
            default_region=self.recipe.region,
            require_consent=self.require_consent,
            session=session,
        )


class _PacedSession(requests.Session):
    """A session that starts at most ``rate`` requests per second (retries included)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._interval = 1.0 / rate
        self._clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        """Wait for this request's slot, then make it."""
        with self._lock:
            now = self._clock()
            wait = self._next - now
            self._next = max(now, self._next) + self._interval
        if wait > 0:
            time.sleep(wait)
        return super().request(*args, **kwargs)


def _key_text(record: Mapping[str, Any], key: Sequence[str]) -> str | None:
    """Return a row's key as text: the value of one column, a JSON list of several."""
    values = []
    for column in key:
        try:
            value = extract(record, column)
        except ValidationError:
            value = None
        values.append(None if is_blank(value) else id_text(value))
    if len(values) == 1:
        return values[0]
    return json.dumps(values, ensure_ascii=False)


def _failure(exc: BaseException) -> str:
    """Word why a partition could not send, never quoting a value or the token."""
    if isinstance(exc, SnapCapiError):
        return f"not sent: {exc}"
    return f"not sent: unexpected {type(exc).__name__} on the executor; safe to send again"


class _Partition:
    """One partition's run: rows in, status rows out, in row order."""

    def __init__(self, settings: SparkSettings, batches: Iterable[Any]) -> None:
        self.settings = settings
        self.batches = iter(batches)
        self.keys: dict[Hashable, str | None] = {}  # rows read and not yet settled
        self.stopped: str | None = None  # why nothing more is sent (a broken client, a 401)
        self.client: Client | None = None
        self.session: requests.Session | None = None
        self.number = 0  # the last row read

    def rows(self) -> Iterator[tuple[Hashable, Mapping[str, Any]]]:
        """Yield the rows numbered from 1, each batch's keys noted before its first row.

        Noting a whole batch first means a pipeline that breaks mid-batch still leaves every
        row of it to be reported FAILED; numbering on ``self`` lets a second pass go on.
        """
        key = self.settings.recipe.key
        for batch in self.batches:
            records = batch.to_pylist()
            first = self.number + 1
            for offset, record in enumerate(records):
                self.keys[first + offset] = _key_text(record, key)
            self.number += len(records)
            for offset, record in enumerate(records):
                yield first + offset, record

    def run(self) -> Iterator[dict[str, list[Any]]]:
        try:
            rate = self.settings.max_requests_per_second
            self.session = _PacedSession(rate) if rate else None
            self.client = self.settings.client(self.session)
        except Exception as exc:  # a broken client: every row FAILED, nothing escapes
            self.stopped = _failure(exc)
        try:
            try:
                yield from self._send()
            except Exception as exc:  # the rows could not be read as events at all
                self.stopped = self.stopped or _failure(exc)
            for _ in self.rows():  # what the pipeline did not get to
                pass
            if self.keys:
                yield self._unsent(list(self.keys))
        finally:  # also when Spark stops reading early (a limit, a cancelled task)
            self._close()

    def _close(self) -> None:
        for thing in (self.client, self.session):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # closing must not lose the rows' statuses
                    logger.debug("snapcapi.spark: closing %s failed", type(thing).__name__)

    def _send(self) -> Iterator[dict[str, list[Any]]]:
        chunk: list[tuple[Hashable, Event | RowProblem | RowSkip]] = []
        for pair in iter_recipe(self.settings.recipe, self.rows()):
            chunk.append(pair)
            if len(chunk) >= self.settings.batch_size:
                yield self._settle(chunk)
                chunk = []
        if chunk:
            yield self._settle(chunk)

    def _unsent(self, rows: Sequence[Hashable]) -> dict[str, list[Any]]:
        reason = self.stopped or "not sent: the partition stopped early; safe to send again"
        out = _columns()
        for row in rows:
            _add(out, self.keys.pop(row, None), None, "FAILED", reason, None)
        return out

    def _settle(self, chunk: Sequence[tuple[Hashable, Any]]) -> dict[str, list[Any]]:
        events = [item for _, item in chunk if isinstance(item, Event)]
        results = self._results(events)
        out = _columns()
        sent = 0
        for row, item in chunk:
            key = self.keys.pop(row, None)
            if isinstance(item, RowProblem):
                _add(out, key, item.event_id, "INVALID", item.explain(), None)
            elif isinstance(item, RowSkip):
                _add(out, key, item.event_id, "SKIPPED", item.explain(), None)
            else:
                result = results.get(sent)
                sent += 1
                if result is None:
                    reason = self.stopped or "not sent; safe to send again"
                    _add(out, key, item.event_id, "FAILED", reason, None)
                else:
                    status = result.status.value
                    _add(out, key, item.event_id, status, result.reason, result.http_status)
        return out

    def _results(self, events: list[Event]) -> dict[int, EventResult]:
        results: dict[int, EventResult] = {}
        if not events or self.client is None or self.stopped:
            return results
        try:
            self.client.send(
                events,
                test_event_code=self.settings.test_event_code,
                on_result=lambda r: results.__setitem__(r.index, r),
                keep_results=False,
            )
        except AuthenticationError as exc:  # every later request would be refused too
            self.stopped = _failure(exc)
        except Exception as exc:  # this chunk's unsettled events end FAILED
            logger.warning("snapcapi.spark: a send failed (%s)", type(exc).__name__)
            for index in range(len(events)):
                if index not in results:
                    event_id = events[index].event_id
                    results[index] = EventResult(index, event_id, _FAILED, _failure(exc))
        return results


def _columns() -> dict[str, list[Any]]:
    return {name: [] for name in STATUS_COLUMNS}


def _add(out: dict[str, list[Any]], *values: Any) -> None:
    for name, value in zip(STATUS_COLUMNS, values, strict=True):
        out[name].append(value)


def _arrow() -> Any:
    try:
        return importlib.import_module("pyarrow")
    except ImportError:
        raise ImportError(f"snapcapi.spark needs pyarrow: {_INSTALL}") from None


def send_batches(batches: Iterable[Any], settings: SparkSettings) -> Iterator[Any]:
    """Send one partition's rows and yield their statuses: the engine-neutral part of :func:`send`.

    Args:
        batches: ``pyarrow.RecordBatch`` es of the rows (any columns the recipe maps).
        settings: What to send and where; the token is read here.

    Yields:
        ``pyarrow.RecordBatch`` es of :data:`STATUS_COLUMNS`, one row per input row, in input
        order (at most ``settings.batch_size`` rows each). Nothing is raised: a row that could
        not be sent is FAILED with the reason.
    """
    pa = _arrow()
    schema = pa.schema(
        [("key", pa.string()), ("event_id", pa.string()), ("status", pa.string()),
         ("reason", pa.string()), ("http_status", pa.int32())]
    )  # fmt: skip
    for columns in _Partition(settings, batches).run():
        if columns["status"]:
            yield pa.RecordBatch.from_pydict(columns, schema=schema)


def _preset_recipe(preset: str | None) -> Recipe:
    """Return the recipe a preset gives (an empty one without), before the arguments."""
    settings: Mapping[str, Any] = load_preset(preset).settings if preset else {}
    preset_map = dict(settings.get("map", {}))
    return Recipe(
        mapping=preset_map,
        aliases=dict(settings.get("aliases", {})) or None,
        defaults=dict(settings.get("set", {})),
        on_invalid="drop",
        timezone=settings.get("timezone"),
        time_format=settings.get("time_format"),
        where=tuple(Filter(c, tuple(v), True) for c, v in settings.get("where", {}).items()),
        exclude=tuple(Filter(c, tuple(v), False) for c, v in settings.get("exclude", {}).items()),
        ignore=tuple(settings.get("ignore", [])),
        synonyms=bool(settings.get("synonyms", True)),
        decimal_comma=bool(settings.get("decimal_comma", False)),
        consent_column=settings.get("consent_column"),
        final_region=True,
        optional=frozenset(preset_map),
    )


def _filters(
    base: Sequence[Filter], given: Mapping[str, Sequence[str]] | None, *, keep: bool
) -> tuple[Filter, ...]:
    """Return the base's filters with the given ones over them, column by column."""
    merged = {f.column: tuple(f.values) for f in base}
    merged.update({c: tuple(v) for c, v in (given or {}).items()})
    return tuple(Filter(c, v, keep) for c, v in merged.items())


def _recipe(
    *,
    base: Recipe,
    key: str | Sequence[str] | None,
    mapping: Mapping[str, str | Sequence[str]] | None,
    defaults: Mapping[str, Any] | None,
    timezone: str | None,
    region: str | None,
    consent_column: str | None,
    on_invalid: str | None,
    where: Mapping[str, Sequence[str]] | None,
    exclude: Mapping[str, Sequence[str]] | None,
) -> Recipe:
    """Lay the arguments over a base recipe (a preset's, or a sync spec's), as the CLI does."""
    given = list(base.key) if key is None else [key] if isinstance(key, str) else list(key)
    keys = [k.strip() for k in given if isinstance(k, str) and k.strip()]
    if not keys:
        raise ValidationError(
            "key",
            "is required: give the column(s) identifying each row (key='order_id'), or a "
            "spec= that names them, so a retried task sends the same event ids",
        )
    if on_invalid not in (None, "raise", "drop"):
        raise ValidationError("on_invalid", f"must be 'raise' or 'drop', got {on_invalid!r}")
    recipe = attrs.evolve(
        base,
        mapping={**base.mapping, **(mapping or {})},
        defaults={**base.defaults, **(defaults or {})},
        on_invalid=on_invalid or base.on_invalid,  # type: ignore[arg-type]
        key=tuple(keys),
        group_by=None,  # rows of one order may sit in different partitions: one row, one event
        region=region or base.region,
        timezone=timezone or base.timezone,
        where=_filters(base.where, where, keep=True),
        exclude=_filters(base.exclude, exclude, keep=False),
        consent_column=consent_column or base.consent_column,
        final_region=True,
        optional=base.optional - set(mapping or {}),
    )
    recipe.check()
    return recipe


def _load(spec: str | os.PathLike[str] | SyncSpec) -> SyncSpec:
    """Return the sync spec ``spec=`` names (a path is read and checked here, on the driver)."""
    from snapcapi._sync import SyncSpec, load_spec

    if isinstance(spec, SyncSpec):
        return spec
    if isinstance(spec, (str, os.PathLike)):
        return load_spec(os.fspath(spec))
    raise ValidationError(
        "spec", f"must be a sync spec's path or a SyncSpec, got {type(spec).__name__}"
    )


def send(
    df: Any,
    *,
    spec: str | os.PathLike[str] | SyncSpec | None = None,
    pixel_id: str | None = None,
    key: str | Sequence[str] | None = None,
    preset: str | None = None,
    mapping: Mapping[str, str | Sequence[str]] | None = None,
    defaults: Mapping[str, Any] | None = None,
    timezone: str | None = None,
    region: str | None = None,
    consent_column: str | None = None,
    require_consent: bool | None = None,
    on_invalid: str | None = None,
    where: Mapping[str, Sequence[str]] | None = None,
    exclude: Mapping[str, Sequence[str]] | None = None,
    snap_app_id: str | None = None,
    token_env: str | None = None,
    token: Callable[[], str] | None = None,
    base_url: str | None = None,
    max_requests_per_second: float | None = None,
    partitions: int | None = None,
    batch_size: int | None = None,
    max_retries: int | None = None,
    timeout: float = 10.0,
    test_event_code: str | None = None,
) -> Any:
    """Send a DataFrame's rows to Snap from the executors; return a DataFrame of their statuses.

    The result is lazy, like any DataFrame: the rows are sent when an action runs it, and
    again by every further action. Write it once (``result.write.saveAsTable(...)``) or
    ``cache()`` it before looking at it twice; event ids come from ``key``, so a repeat is
    deduplicated by Snap but still costs requests.

    With ``spec=``, a ``snapcapi sync`` spec gives the options: its recipe (mapping, key,
    defaults, time zone, region, filters, consent column, with its preset folded in) and its
    ``[snap]`` settings (pixel_id, snap_app_id, token_env, base_url, batch_size,
    max_retries), and ``require_consent``. The arguments given alongside win over the spec's
    (``mapping``, ``defaults``, ``where`` and ``exclude`` field by field or column by column).
    The spec's ``[source]``, ``cursor`` and ``since`` are not used: ``df`` is the source, and
    no sync state is read or written. A spec's ``token_file`` is refused (the executors would
    need that file): name a variable with ``token_env`` or give ``token=``.

    Args:
        df: A ``pyspark.sql.DataFrame`` (classic or Spark Connect).
        spec: A sync spec's TOML path, or a :class:`~snapcapi._sync.SyncSpec` already loaded.
        pixel_id: The Pixel ID (WEB and OFFLINE events).
        key: Column(s) identifying each row: event ids derive from them (required, unless the
            spec names them).
        preset: A preset's name or TOML path (``"shopify"``); the arguments win over it. Not
            with ``spec=`` (a spec names its own preset). A preset's ``group_by`` is not
            applied: on Spark each row is one event.
        mapping: ``field -> column`` choices, as :func:`snapcapi.events_from_records` takes.
        defaults: Values for fields a row lacks (``{"action_source": "OFFLINE"}``).
        timezone: IANA zone of naive times.
        region: Region of phone numbers without a country code.
        consent_column: Column whose true/yes/1 values mean the user consented.
        require_consent: Send only rows whose consent column says yes (others SKIPPED).
        on_invalid: ``"drop"`` (the default: an identifier that cannot be normalized is
            dropped) or ``"raise"`` (the row is INVALID).
        where: Keep only rows whose column holds one of the values (``{"status": ["paid"]}``).
        exclude: Drop rows whose column holds one of the values.
        snap_app_id: The Snap App ID (MOBILE_APP events).
        token_env: The environment variable holding the token on the executors (default
            ``SNAP_ACCESS_TOKEN``).
        token: A picklable callable returning the token on the executor (a secret store's).
        base_url: Snap's host (the fake server's URL in tests).
        max_requests_per_second: The whole job's request budget, split evenly across the
            partitions.
        partitions: How many partitions ``df`` has, to split the budget; without it, asked of
            Spark once on the driver (which Spark Connect cannot tell: give it there).
        batch_size: Events per request (at most 2000, the default).
        max_retries: Retries of a failed request (default 5).
        timeout: Seconds per request.
        test_event_code: Send as test events.

    Returns:
        A DataFrame of ``key, event_id, status, reason, http_status``, one row per input row.

    Raises:
        ValidationError: A setting or the spec is unusable, ``key`` is missing or names no
            column, or the mapping does not fit the DataFrame's columns (raised here, before
            any task runs).
        ImportError: pyarrow is missing.
    """
    _arrow()
    loaded = _load(spec) if spec is not None else None
    if loaded is not None:
        if preset is not None:
            raise ValidationError(
                "preset",
                "goes in the spec with spec= (its preset is already folded in); drop preset=",
            )
        if loaded.token_file and token is None and token_env is None:
            raise ValidationError(
                "spec",
                f"{loaded.path} reads the token from snap.token_file, which the executors "
                "cannot be relied on to have; on Spark give token_env= (a variable set on "
                "the executors) or token=<callable>",
            )
        pixel_id = pixel_id or loaded.pixel_id
        snap_app_id = snap_app_id or loaded.snap_app_id
        token_env = token_env if token_env is not None else loaded.token_env
        base_url = base_url or loaded.base_url
        batch_size = batch_size if batch_size is not None else loaded.batch_size
        max_retries = max_retries if max_retries is not None else loaded.max_retries
        if require_consent is None:
            require_consent = loaded.require_consent
    token_env = "SNAP_ACCESS_TOKEN" if token_env is None else token_env
    if token is None and not token_env.strip():
        raise ValidationError("token_env", "is blank; name the variable holding the token")
    if not (pixel_id or snap_app_id):
        raise ValidationError("pixel_id", "is missing: give pixel_id= (or snap_app_id=)")
    recipe = _recipe(
        base=loaded.recipe if loaded is not None else _preset_recipe(preset), key=key,
        mapping=mapping, defaults=defaults, timezone=timezone, region=region,
        consent_column=consent_column, on_invalid=on_invalid, where=where, exclude=exclude,
    )  # fmt: skip
    columns = [str(c) for c in df.columns]
    missing = [k for k in recipe.key if k.split(".")[0] not in columns]
    if missing:
        raise ValidationError("key", f"names no column of the DataFrame: {', '.join(missing)}")
    found = resolve_map(recipe, columns, [], True)  # a mapping that cannot fit fails here, once
    if require_consent and "consent" not in found.mapped_fields | set(recipe.defaults):
        raise ValidationError(
            "require_consent",
            "no column says whether each user consented, so every row would be skipped; "
            "give consent_column=",
        )
    rate = _share(df, max_requests_per_second, partitions)
    settings = SparkSettings(
        recipe=recipe, pixel_id=pixel_id, snap_app_id=snap_app_id, token_env=token_env,
        token=token, base_url=base_url, batch_size=2000 if batch_size is None else batch_size,
        max_requests_per_second=rate, max_retries=5 if max_retries is None else max_retries,
        timeout=timeout, test_event_code=test_event_code, require_consent=bool(require_consent),
    )  # fmt: skip

    def partition(batches: Iterator[Any]) -> Iterator[Any]:
        return send_batches(batches, settings)

    return df.mapInArrow(partition, _SPARK_SCHEMA)


def _share(df: Any, total: float | None, partitions: int | None) -> float | None:
    """Return one partition's share of the request budget."""
    if total is None:
        return None
    if isinstance(total, bool) or not isinstance(total, (int, float)) or not total > 0:
        raise ValidationError("max_requests_per_second", f"must be a number above 0, got {total!r}")
    if partitions is None:
        try:
            partitions = int(df.rdd.getNumPartitions())  # once, on the driver
        except Exception:
            raise ValidationError(
                "partitions",
                "is needed to split max_requests_per_second (this Spark cannot count the "
                "partitions); pass partitions=N, e.g. after df.repartition(N)",
            ) from None
    if isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1:
        raise ValidationError("partitions", f"must be a whole number >= 1, got {partitions!r}")
    return float(total) / partitions

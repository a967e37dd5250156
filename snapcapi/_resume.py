"""Resuming ``snapcapi send`` by event id: what an earlier report accepted, and how it was made.

``--resume`` must skip exactly the rows an earlier run got accepted. Row numbers cannot say
which those are (another file, or the same export with new orders on top, numbers its rows
differently); event ids can, provided the run derives them the same way. So:

* :class:`AcceptedIds` reads an earlier report and keeps the event id of every line marked
  ``ACCEPTED``, as a sorted array of 64-bit digests: 8 bytes per id, however long the ids, and
  no Python object per row while it is built (a 1,000,000-line report costs about 8 MB).
* :class:`ReportMeta` is the sidecar ``<report>.meta.json`` a run writes beside its report:
  the snapcapi version, the input file and the settings that decide event ids, so a resume
  made with other settings (another ``--timezone``, ``--map``, ...) is refused in one line
  instead of resending or skipping the wrong rows.

A digest is the first 8 bytes of BLAKE2b of the UTF-8 event id. Two different ids share one
with a probability of about 2**-64 per pair: resuming 1,000,000 rows against 1,000,000
accepted ids mistakes one row for accepted with a probability of about 5 in 10**8.
"""

from __future__ import annotations

import array
import contextlib
import hashlib
import json
import os
import shlex
import shutil
import sys
from bisect import bisect_left as _bisect_left
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from importlib import metadata
from types import MappingProxyType
from typing import Any, Final

import attrs

from snapcapi._digests import DigestSet, run_key
from snapcapi._files import DamagedFile, ReportWriter, RowSource, file_format
from snapcapi.errors import ValidationError
from snapcapi.records import RowProblem

__all__ = ["SETTING_FLAGS", "AcceptedIds", "ReportMeta", "merge_report", "meta_path"]

_BUCKETS: Final = 256  # by the digest's first byte: ids spread evenly, each bucket sorted
_EMPTY: Final = array.array("Q")  # shared by every empty bucket (never mutated)
_ACCEPTED: Final = "ACCEPTED"
_AGAIN: Final = "pass the report an earlier run wrote with --report, or start without --resume"


# BLAKE2b with an 8-byte digest, never updated itself: a copy of it is a third cheaper than
# hashlib.blake2b(data, digest_size=8), and hashing is most of a lookup's time.
_BLAKE2B_8: Final = hashlib.blake2b(digest_size=8)


def _key(event_id: str, event_name: str) -> str:
    """Return what a report line's digest is of: event name and id (one id, two names)."""
    return f"{event_name}\x1f{event_id}" if event_name else event_id


def _digest(event_id: str) -> int:
    """Return the 64-bit digest of an event id (lone surrogates are hashed, not refused)."""
    hasher = _BLAKE2B_8.copy()
    hasher.update(event_id.encode("utf-8", "surrogatepass"))
    return int.from_bytes(hasher.digest(), "big")


class _Builder:
    """Collects digests into 256 growing arrays: 8 bytes per id, no object kept per id."""

    def __init__(self) -> None:
        self.buckets = [array.array("Q") for _ in range(_BUCKETS)]
        self.unidentified = 0
        self.unreadable = 0
        self.truncated = False
        self.named = False

    def add(self, event_id: str, event_name: str = "") -> None:
        if not event_id:
            self.unidentified += 1
            return
        if event_name:
            self.named = True
        value = _digest(_key(event_id, event_name))
        self.buckets[value >> 56].append(value)

    def build(self) -> AcceptedIds:
        # Each bucket is sorted on its own (a transient list of ~n/256 ints) and replaced by an
        # exactly sized array, then let go: the peak stays near the 8 bytes per id collected.
        buckets = self.buckets
        self.buckets = []
        for index, bucket in enumerate(buckets):
            buckets[index] = array.array("Q", sorted(set(bucket))) if bucket else _EMPTY
            del bucket
        accepted = AcceptedIds._create(
            tuple(buckets), self.unidentified, self.unreadable, self.truncated
        )
        object.__setattr__(accepted, "named", self.named)
        return accepted


class AcceptedIds:
    """The event ids an earlier run got accepted: a compact, immutable set of their digests.

    ``event_id in accepted`` tells whether a row was accepted before; ``len(accepted)`` counts
    distinct ids. Build one with :meth:`from_report` (or :meth:`from_ids`); ``AcceptedIds()``
    is the empty set.

    Attributes:
        unidentified: Lines marked ``ACCEPTED`` without an event id: they cannot be matched,
            so their rows (if any are in this run's file) are sent again.
        unreadable: Lines of the report that could not be read (a broken CSV line, a JSONL
            line that is not a JSON object, as a run cut short may leave last): their rows are
            sent again.
        truncated: The report is a ``.gz`` that ends early (the run writing it was killed) or
            is corrupt from some point: the lines before are kept, the rows of the lines after
            are sent again.
    """

    __slots__ = ("_buckets", "_count", "named", "truncated", "unidentified", "unreadable")

    _buckets: tuple[array.array[int], ...]
    _count: int
    unidentified: int
    unreadable: int
    truncated: bool
    named: bool  # the report names each line's event (reports of snapcapi 0.1 and later)

    def __init__(self) -> None:
        """Make the empty set (a run without ``--resume``)."""
        self._fill((_EMPTY,) * _BUCKETS)
        object.__setattr__(self, "named", False)

    def _fill(
        self,
        buckets: tuple[array.array[int], ...],
        unidentified: int = 0,
        unreadable: int = 0,
        truncated: bool = False,
    ) -> None:
        for name, value in (
            ("_buckets", buckets),
            ("_count", sum(len(bucket) for bucket in buckets)),
            ("unidentified", unidentified),
            ("unreadable", unreadable),
            ("truncated", truncated),
        ):
            object.__setattr__(self, name, value)

    @classmethod
    def _create(
        cls,
        buckets: tuple[array.array[int], ...],
        unidentified: int = 0,
        unreadable: int = 0,
        truncated: bool = False,
    ) -> AcceptedIds:
        self = object.__new__(cls)
        self._fill(buckets, unidentified, unreadable, truncated)
        return self

    @classmethod
    def from_ids(cls, event_ids: Iterable[str]) -> AcceptedIds:
        """Build the set from event ids (an empty id is counted in :attr:`unidentified`)."""
        builder = _Builder()
        for event_id in event_ids:
            if not isinstance(event_id, str):
                raise TypeError(f"event ids are strings, not {type(event_id).__name__}")
            builder.add(event_id)
        return builder.build()

    @classmethod
    def from_report(cls, path: str) -> AcceptedIds:
        """Read a snapcapi report (CSV, TSV or JSONL, ``.gz`` too); keep its accepted ids.

        The lines whose ``status`` is ``ACCEPTED`` count, wherever they are in the file and
        whatever their row number; every other status (and every other column) is ignored.

        Raises:
            ValidationError: (field ``resume``) The file cannot be read, or is not a snapcapi
                report (it has no ``event_id`` and ``status`` columns).
        """
        builder = _Builder()
        try:
            fmt = file_format(path) if path != "-" else "csv"
        except ValidationError:
            raise ValidationError(
                "resume",
                f"cannot tell the format of {path} from its name (.csv, .tsv or .jsonl, "
                f"optionally .gz, as --report names it); {_AGAIN}",
            ) from None
        try:
            with RowSource(path, fmt, recover=False) as source:
                if source.columns is not None:
                    _check_columns(path, source.columns)
                    _read_csv(source, builder)
                else:
                    _read_jsonl(path, source, builder)
                builder.truncated = source.truncated
        except DamagedFile:
            builder.truncated = True  # nothing before the damage: every row is sent again
        except ValidationError as exc:
            if exc.field == "resume":
                raise
            raise ValidationError(
                "resume", f"{exc.reason}, so it is not a snapcapi report; {_AGAIN}"
            ) from None
        except OSError as exc:
            detail = exc.strerror or str(exc)
            raise ValidationError("resume", f"cannot read {path}: {detail}; {_AGAIN}") from exc
        return builder.build()

    def __contains__(self, event_id: object) -> bool:
        if not isinstance(event_id, str) or not event_id:
            return False
        hasher = _BLAKE2B_8.copy()  # _digest inlined: a lookup per row of the run
        hasher.update(event_id.encode("utf-8", "surrogatepass"))
        value = int.from_bytes(hasher.digest(), "big")
        bucket = self._buckets[value >> 56]
        index = _bisect_left(bucket, value)
        return index < len(bucket) and bucket[index] == value

    def accepted(self, event_id: str, event_name: str) -> bool:
        """Tell whether the report marks this event ACCEPTED.

        By name and id when the report names events; by id alone in an older report.
        """
        if not self._count:
            return False  # no --resume: nothing to look up
        return _key(event_id, event_name if self.named else "") in self

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        """Bytes this set holds: its arrays and their headers (8 per id plus about 20 KB)."""
        shared = sys.getsizeof(_EMPTY)
        size = sys.getsizeof(self._buckets)
        for bucket in self._buckets:
            size += sys.getsizeof(bucket) if bucket is not _EMPTY else 0
        return size + shared

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __repr__(self) -> str:
        extra = f", {self.unidentified:,} without an id" if self.unidentified else ""
        return f"<AcceptedIds: {self._count:,} ids, {self.nbytes / 1e6:.1f} MB{extra}>"


def _check_columns(path: str, columns: list[str]) -> None:
    missing = [name for name in ("event_id", "status") if name not in columns]
    if missing:
        what = " and ".join(missing)
        plural = "columns" if len(missing) > 1 else "column"
        raise ValidationError(
            "resume", f"{path} is not a snapcapi report (no {what} {plural}); {_AGAIN}"
        )


def _read_csv(source: RowSource, builder: _Builder) -> None:
    # The loop of a million lines: _Builder.add and _digest inlined, names bound locally.
    buckets = builder.buckets
    copy = _BLAKE2B_8.copy
    from_bytes = int.from_bytes
    accepted = _ACCEPTED
    for _, line in source:
        if isinstance(line, RowProblem):
            builder.unreadable += 1
        elif line["status"] == accepted:
            event_id = line["event_id"]
            if event_id:
                name = line.get("event_name")
                if name:
                    builder.named = True
                    event_id = f"{name}\x1f{event_id}"
                hasher = copy()
                hasher.update(event_id.encode("utf-8", "surrogatepass"))
                value = from_bytes(hasher.digest(), "big")
                buckets[value >> 56].append(value)
            else:
                builder.unidentified += 1


def _read_jsonl(path: str, source: RowSource, builder: _Builder) -> None:
    checked = False
    for _, line in source:
        if isinstance(line, RowProblem):
            builder.unreadable += 1
            continue
        if not checked:  # JSONL has no header: the first line must look like a report's
            _check_columns(path, list(line))
            checked = True
        if line.get("status") != _ACCEPTED:
            continue
        event_id = line.get("event_id")
        name = line.get("event_name")
        builder.add(
            event_id if isinstance(event_id, str) else "", name if isinstance(name, str) else ""
        )


# --- reports written aside -------------------------------------------------------------------


def merge_report(partial: str, earlier: str, target: str) -> None:
    """Make one report of a run's report written aside and the report that run resumed.

    ``target`` becomes ``partial``'s lines, then the ``ACCEPTED`` lines of ``earlier`` whose
    event the partial does not mark accepted (the rows the interrupted run did not reach),
    so that resuming with ``target`` skips every event either report got accepted. Written to
    a temporary file and put in place in one rename: an interruption leaves both files as
    they were. ``partial`` and its sidecar are then put in place of ``target``'s.

    Raises:
        OSError: A file cannot be read or written (nothing was changed).
        ValidationError: ``partial`` or ``earlier`` is not a report (nothing was changed).
    """
    base, gz = (target[:-3], ".gz") if target.lower().endswith(".gz") else (target, "")
    root, ext = os.path.splitext(base)
    temporary = f"{root}.{os.getpid()}.merging{ext}{gz}"
    try:
        shutil.copyfile(partial, temporary)
        seen = DigestSet()
        with RowSource(partial, file_format(partial), recover=False) as lines:
            for _, line in lines:
                if isinstance(line, dict) and line.get("status") == _ACCEPTED:
                    seen.add(run_key(_line_key(line)))
        with (
            ReportWriter(temporary, append=True) as writer,
            RowSource(earlier, file_format(earlier), recover=False) as old,
        ):
            for _, line in old:
                if not isinstance(line, dict) or line.get("status") != _ACCEPTED:
                    continue
                if line.get("event_id") and seen.add(run_key(_line_key(line))):
                    writer.copy(line)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    os.unlink(partial)
    sidecar = meta_path(partial)
    if sidecar is not None and os.path.exists(sidecar):
        os.replace(sidecar, f"{target}{_META_SUFFIX}")


def _line_key(line: Mapping[str, Any]) -> str:
    event_id, name = line.get("event_id"), line.get("event_name")
    return _key(str(event_id or ""), name if isinstance(name, str) else "")


# --- report metadata -------------------------------------------------------------------------

SETTING_FLAGS: Final[Mapping[str, str]] = {
    "key": "--key",
    "mapping": "--map",
    "aliases": "--aliases",
    "event_name": "--event-name",
    "event_name_column": "--map event_name",
    "timezone": "--timezone",
    "time_format": "--time-format",
    "group_by": "--group-by",
    "preset": "--preset",
    "synonyms": "--no-synonyms",
    "ignore": "--ignore",
}
"""The command line's flag for each setting that decides event ids (others: ``--name``)."""

# Settings a flag switches, with the value that flag gives: shown as the flag, or "no --flag".
_SWITCHES: Final[Mapping[str, str]] = {"synonyms": "off"}
# What a setting absent from a sidecar (written before it existed) stands for; others: "".
_ABSENT: Final[Mapping[str, str]] = {"synonyms": "on"}

_META_SUFFIX: Final = ".meta.json"
_META_KIND: Final = "snapcapi report metadata"
_SHOWN: Final = 60  # characters of a setting's value shown in a message


def meta_path(report_path: str) -> str | None:
    """Return the sidecar of a report: ``<report_path>.meta.json`` (None for ``-``, stdout)."""
    return None if report_path == "-" else report_path + _META_SUFFIX


def _settings(value: Mapping[str, object]) -> Mapping[str, str]:
    return MappingProxyType({str(k): "" if v is None else str(v) for k, v in value.items()})


def _version() -> str:
    try:
        return metadata.version("snapcapi")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree not installed
        return "0.0.0"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@attrs.frozen(kw_only=True)
class ReportMeta:
    """What produced a report: written beside it, checked by ``--resume``.

    Attributes:
        version: The snapcapi version that wrote the report.
        source: The input file, as given on the command line.
        created: When the run started, ISO 8601 in UTC (``2025-03-01T09:30:00+00:00``).
        settings: The settings that decide event ids (``{"timezone": "Europe/Paris", ...}``),
            as strings; an empty string is a setting not given.
    """

    source: str
    settings: Mapping[str, str] = attrs.field(factory=dict, converter=_settings)
    version: str = attrs.field(factory=_version)
    created: str = attrs.field(factory=_now)

    def to_dict(self) -> dict[str, Any]:
        """Return the sidecar's JSON object."""
        return {
            "kind": _META_KIND,
            "version": self.version,
            "source": self.source,
            "created": self.created,
            "settings": dict(self.settings),
        }

    def write(self, report_path: str) -> str | None:
        """Write ``<report_path>.meta.json`` (atomically); return its path (None for ``-``)."""
        target = meta_path(report_path)
        if target is None:
            return None
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"
        temporary = f"{target}.{os.getpid()}.tmp"  # then renamed: never half written
        try:
            # A lone surrogate (a file name's byte that is not UTF-8) is written as its JSON
            # escape, \udce9, which reads back as the same string.
            with open(
                temporary, "w", encoding="utf-8", errors="backslashreplace", newline="\n"
            ) as stream:
                stream.write(text)
            os.replace(temporary, target)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
        return target

    @classmethod
    def read(cls, report_path: str) -> ReportMeta | None:
        """Read a report's sidecar; None when it has none (a report of an older snapcapi).

        Raises:
            ValidationError: (field ``resume``) The sidecar exists but cannot be read.
        """
        target = meta_path(report_path)
        if target is None:
            return None
        try:
            with open(target, encoding="utf-8") as stream:
                data = json.load(stream)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise _bad_meta(target, detail) from exc
        if not isinstance(data, dict) or data.get("kind") != _META_KIND:
            raise _bad_meta(target, "not snapcapi report metadata")
        settings = data.get("settings", {})
        fields = [data.get(name, "") for name in ("version", "source", "created")]
        if (
            not isinstance(settings, dict)
            or not all(isinstance(v, str) for v in settings.values())
            or not all(isinstance(v, str) for v in fields)
        ):
            raise _bad_meta(target, "its fields are not strings")
        version, source, created = fields
        return cls(source=source, settings=settings, version=version, created=created)

    def differs(
        self,
        other: ReportMeta,
        *,
        report: str = "the report",
        flags: Mapping[str, str] = SETTING_FLAGS,
    ) -> str | None:
        """Compare this report's settings with this run's (``other``).

        A setting absent from one side (a report made before the setting existed) equals its
        value when not given: empty, or ``on`` for ``synonyms``. The version, source and time
        may differ: they do not change event ids.

        Args:
            other: The metadata of the run about to resume.
            report: The report's path, as ``--resume`` was given it.
            flags: The command line's flag for each setting (others are ``--setting-name``).

        Returns:
            None when every setting is equal; otherwise one line naming the first that
            differs (in this report's order, then the other's), with both values.
        """
        names = list(self.settings)
        names += [name for name in other.settings if name not in self.settings]
        for name in names:
            old = self.settings.get(name, _ABSENT.get(name, ""))
            new = other.settings.get(name, _ABSENT.get(name, ""))
            if old == new:
                continue
            flag = flags.get(name) or "--" + name.replace("_", "-")
            switch = _SWITCHES.get(name) if flag == SETTING_FLAGS.get(name) else None
            return (
                f"--resume {report} was made with {_shown(flag, old, switch)}, this run has "
                f"{_shown(flag, new, switch)}; event ids would differ, so resuming would resend "
                "or skip the wrong rows. Rerun with the same settings, or start without --resume."
            )
        return None


def _shown(flag: str, value: str, switch: str | None = None) -> str:
    if switch is not None:
        return flag if value == switch else f"no {flag}"
    if not value:
        return f"no {flag}"
    shown = value if len(value) <= _SHOWN else value[: _SHOWN - 1] + "…"
    if shlex.quote(value) != value:  # quoted as a shell needs it (a cut value is no worse)
        shown = shlex.quote(shown)
    return f"{flag}={shown}"


def _bad_meta(target: str, detail: str) -> ValidationError:
    return ValidationError(
        "resume",
        f"cannot read {target} ({detail}); restore it from the run that wrote the report, or "
        "start without --resume",
    )

"""Match-quality diagnostics: how well will these events match Snapchatters, and what to fix.

:func:`diagnose` reads events (or flat records, as a file or a DataFrame holds them) without
sending anything and returns a :class:`MatchReport`: the share of events carrying each
identifier, events with no matching key at all, events the client would refuse for another
reason, identifiers that could not be normalized and rows that could not become events (by
field and a short reason, never the value), events older than 7 days, duplicate ``event_id``
values, the events per event name with their share having a matching key, a single
match-quality :attr:`~MatchReport.score` (0 to 100), and recommendations ordered by impact.

It streams: whatever the number of events, it holds counters and an 8-byte digest per
``event_id`` (for duplicates), never the events.
"""

from __future__ import annotations

import collections
import hashlib
import html
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from snapcapi import problems as _problems
from snapcapi._html import table
from snapcapi._masking import plural
from snapcapi.enums import ActionSource, EventName
from snapcapi.errors import ValidationError
from snapcapi.events import MAX_AGE, Event
from snapcapi.problems import Problem
from snapcapi.records import RowProblem, RowSkip, iter_events
from snapcapi.user_data import OnInvalid

__all__ = ["COVERAGE", "PARTIAL_KEY_WEIGHT", "MatchReport", "Recommendation", "diagnose"]

#: The identifiers counted, in report order, with their labels.
COVERAGE: Mapping[str, str] = {
    "email": "email (em)",
    "phone": "phone (ph)",
    "ip_and_user_agent": "IP + user agent",
    "ip_without_user_agent": "IP without user agent",
    "user_agent_without_ip": "user agent without IP",
    "click_id": "click id (sc_click_id)",
    "cookie": "_scid cookie (sc_cookie1)",
    "madid": "mobile ad id (madid)",
    "external_id": "external id",
    "full_name": "first + last name",
    "zip_code": "zip code",
    "city": "city",
    "state": "state",
    "country": "country",
}
#: The weight in :attr:`MatchReport.score` of a usable event whose only matching key is the
#: IP address + user agent pair (one with email, phone or, in an app event, a mobile ad id
#: weighs 1).
PARTIAL_KEY_WEIGHT = 0.5
_WEEK = 7 * 86400
_REASONS_KEPT = 50
_IP_AND_AGENT = "client_ip_address+client_user_agent"  # as UserData.match_keys names it

# Problems are counted by what they are, never by their wording: by code, field and label
# (a code's label is fixed; an error without a code of its own brings the label of its
# reason, made where the problem was made). Past _REASONS_KEPT kinds, the rest count as one.
_Kind = tuple[str, str | None, str]
_OTHER: _Kind = ("other", None, "other reasons")


def _kind(problem: Problem) -> _Kind:
    return (problem.code, problem.field, problem.label)


def _title(kind: _Kind) -> str:
    """Return the line a kind of problem is counted under (``"phone: has no country code"``)."""
    return _problems.title(*kind)


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "0.0%"


@attrs.frozen
class Recommendation:
    """One piece of advice: what to do, and how many events it concerns.

    Attributes:
        impact: Its weight in the ordering: events that would be lost (no matching key, rows
            that cannot become events) score 1 + their share and come first; the others score
            their share times how much the issue costs matching.
        share: The share of events concerned (0 to 1).
        text: What is wrong and what to do.
    """

    impact: float
    share: float
    text: str


@attrs.frozen
class MatchReport:
    """What :func:`diagnose` found. ``print(report)`` shows it; ``to_dict()`` for JSON.

    Attributes:
        events: Events read (rows that became events, and events given as such).
        problem_rows: Rows that could not become events.
        coverage: Events carrying each identifier of :data:`COVERAGE`.
        no_match_key: Events with none of email, phone, IP + user agent, mobile ad id (the
            last in app events only): the client marks them ``INVALID`` and never sends them.
        unsendable_events: Events the client would mark ``INVALID`` for another reason (too
            old, a ``PURCHASE`` without value, a phone without country code...).
        unsendable: Those events by reason (an event may count under several).
        web_events: Events whose action source is WEB.
        web_without_click_data: WEB events with neither click id nor ``_scid`` cookie.
        invalid_identifiers: Identifiers dropped because they could not be normalized, by
            ``"field: reason"`` (a short category, never the value).
        row_problems: Rows that could not become events, by ``"field: reason"`` (likewise).
        older_than_7_days: Events whose time is more than 7 days before ``now``.
        duplicate_event_ids: Events whose ``event_id`` an earlier event had, and rows the
            reader skipped because their ``event_id`` (given or derived) repeats an earlier
            row's.
        event_names: Events per event name, most frequent first.
        recommendations: What to improve, most impact first.
        skipped_rows: Rows the reader left out on purpose (filtered out by ``where=`` or
            ``exclude=``, or duplicates of an earlier row); they count in no share and not in
            :attr:`score`.
        by_event_name: Per event name (most frequent first): ``(events, events with a
            matching key)``.
        usable_events: Events that would be sent: they have a matching key and none of the
            problems that make the client mark an event ``INVALID``.
        partial_key_events: Of those, the ones whose only matching key is the IP address + user
            agent pair (no email, no phone and, in an app event, no mobile ad id).
        score: Match quality from 0 to 100: of the events and the rows that could not become
            events (rows skipped on purpose aside), the share that are usable events, each
            weighted by the strength of its keys (1 with email, phone or, in an app event, a
            mobile ad id; :data:`PARTIAL_KEY_WEIGHT` with only IP address + user agent; events
            that would not be sent and rows that could not become events weigh 0), times 100,
            rounded down to one decimal. 0 when there is nothing to diagnose.
    """

    events: int
    problem_rows: int
    coverage: Mapping[str, int]
    no_match_key: int
    unsendable_events: int
    unsendable: Mapping[str, int]
    web_events: int
    web_without_click_data: int
    invalid_identifiers: Mapping[str, int]
    row_problems: Mapping[str, int]
    older_than_7_days: int
    duplicate_event_ids: int
    event_names: Mapping[str, int]
    recommendations: tuple[Recommendation, ...]
    by_event_name: Mapping[str, tuple[int, int]] = attrs.field(factory=dict)
    skipped_rows: int = 0
    usable_events: int = 0
    partial_key_events: int = 0
    score: float = 0.0

    def share(self, identifier: str) -> float:
        """Return the share of events (0 to 1) carrying ``identifier`` (a COVERAGE key)."""
        return self.coverage[identifier] / self.events if self.events else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data (shares as fractions)."""
        return {
            "events": self.events,
            "problem_rows": self.problem_rows,
            "skipped_rows": self.skipped_rows,
            "coverage": {
                key: {"events": n, "share": round(self.share(key), 4)}
                for key, n in self.coverage.items()
            },
            "no_match_key": self.no_match_key,
            "unsendable_events": self.unsendable_events,
            "unsendable": dict(self.unsendable),
            "web_events": self.web_events,
            "web_without_click_data": self.web_without_click_data,
            "invalid_identifiers": dict(self.invalid_identifiers),
            "row_problems": dict(self.row_problems),
            "older_than_7_days": self.older_than_7_days,
            "duplicate_event_ids": self.duplicate_event_ids,
            "event_names": dict(self.event_names),
            "by_event_name": {
                name: {
                    "events": count,
                    "with_matching_key": keyed,
                    "share": round(keyed / count, 4) if count else 0.0,
                }
                for name, (count, keyed) in self.by_event_name.items()
            },
            "usable_events": self.usable_events,
            "partial_key_events": self.partial_key_events,
            "score": self.score,
            "recommendations": [
                {"impact": round(r.impact, 4), "share": round(r.share, 4), "text": r.text}
                for r in self.recommendations
            ],
        }

    def __repr__(self) -> str:
        return (
            f"MatchReport({self.events} events, {self.problem_rows} problem rows, "
            f"score {self.score:.1f}, no matching key {_percent(self.no_match_key, self.events)}, "
            f"{len(self.recommendations)} recommendations)"
        )

    def _counts(self) -> list[tuple[str, Mapping[str, int]]]:
        """Return the non-empty counts by reason, with their titles."""
        found = [
            ("events that cannot be sent as they are", self.unsendable),
            ("identifiers dropped (could not be normalized)", self.invalid_identifiers),
            ("rows that could not become events", self.row_problems),
        ]
        return [(title, counts) for title, counts in found if counts]

    def __str__(self) -> str:
        n = self.events
        if not n and not self.problem_rows:
            return f"No events to diagnose{_rows_note(0, self.skipped_rows)}."
        note = _rows_note(self.problem_rows, self.skipped_rows)
        lines = [f"Match quality of {n:,} events{note}", ""]
        lines.append(self._score_line())
        lines.append("")
        width = max(len(label) for label in COVERAGE.values())
        lines.append(f"{'identifier'.ljust(width)}  {'events':>9}  {'share':>6}")
        for label, count in self._table():
            lines.append(f"{label.ljust(width)}  {count:>9,}  {_percent(count, n):>6}")
        lines.append("")
        lines.append(
            f"older than 7 days: {self.older_than_7_days:,} "
            f"({_percent(self.older_than_7_days, n)}); "
            f"duplicate event_ids: {self.duplicate_event_ids:,}"
        )
        if self.by_event_name:
            lines.append("")
            rows = self._names_table()
            name_width = max(len("event name"), *(len(row[0]) for row in rows))
            lines.append(
                f"{'event name'.ljust(name_width)}  {'events':>9}  "
                f"{'with a matching key':>19}  {'share':>6}"
            )
            lines.extend(
                f"{name.ljust(name_width)}  {count:>9}  {keyed:>19}  {share:>6}"
                for name, count, keyed, share in rows
            )
        for number, (title, counts) in enumerate(self._counts()):
            if not number:
                lines.append("")
            lines.append(f"{title}:")
            lines.extend(f"  {count:>9,}  {reason}" for reason, count in counts.items())
        if self.recommendations:
            lines.append("")
            lines.append("recommendations:")
            lines.extend(
                f"  {number}. {r.text}" for number, r in enumerate(self.recommendations, 1)
            )
        return "\n".join(lines)

    def _score_line(self) -> str:
        rows = self.events + self.problem_rows
        strong = self.usable_events - self.partial_key_events
        return (
            f"match score: {self.score:.1f} / 100 (of {plural(rows, 'row')}, "
            f"{plural(strong, 'usable event')} with email, phone or mobile ad id, weight 1; "
            f"{self.partial_key_events:,} with IP + user agent only, weight "
            f"{PARTIAL_KEY_WEIGHT:g})"
        )

    def _names_table(self) -> list[tuple[str, str, str, str]]:
        return [
            (name, f"{count:,}", f"{keyed:,}", _percent(keyed, count))
            for name, (count, keyed) in self.by_event_name.items()
        ]

    def _table(self) -> list[tuple[str, int]]:
        rows = [(label, self.coverage[key]) for key, label in COVERAGE.items()]
        rows.append(("no matching key", self.no_match_key))
        return rows

    def _repr_html_(self) -> str:
        n = self.events
        if not n and not self.problem_rows:
            return f"<p>No events to diagnose{html.escape(_rows_note(0, self.skipped_rows))}.</p>"
        title = (
            f"Match quality of {n:,} events{_rows_note(self.problem_rows, self.skipped_rows)}; "
            "older than 7 days: "
            f"{self.older_than_7_days:,} ({_percent(self.older_than_7_days, n)}); duplicate "
            f"event_ids: {self.duplicate_event_ids:,}"
        )
        rows = self.events + self.problem_rows
        parts = [
            table(
                ("match score", "rows", "usable events", "with IP + user agent only"),
                [
                    (
                        f"{self.score:.1f} / 100",
                        f"{rows:,}",
                        f"{self.usable_events:,}",
                        f"{self.partial_key_events:,}",
                    )
                ],
                caption=title,
            ),
            table(
                ("identifier", "events", "share"),
                [(label, f"{count:,}", _percent(count, n)) for label, count in self._table()],
                caption="events carrying each identifier",
            ),
        ]
        if self.by_event_name:
            parts.append(
                table(
                    ("event name", "events", "with a matching key", "share"),
                    self._names_table(),
                    caption="events per event name",
                )
            )
        parts.extend(
            table(("events", "reason"), [(f"{c:,}", reason) for reason, c in counts.items()], title)
            for title, counts in self._counts()
        )
        if self.recommendations:
            parts.append(
                table(
                    ("share", "recommendation"),
                    [(_percent_of(r.share), r.text) for r in self.recommendations],
                    caption="recommendations, most impact first",
                )
            )
        return "<div>" + "".join(parts) + "</div>"


def _percent_of(share: float) -> str:
    return f"{100 * share:.1f}%"


def _rows_note(problem_rows: int, skipped_rows: int = 0) -> str:
    notes = []
    if problem_rows:
        notes.append(f"{plural(problem_rows, 'row')} could not be used")
    if skipped_rows:
        notes.append(f"{plural(skipped_rows, 'row')} skipped as filtered out or duplicates")
    return f" ({', '.join(notes)})" if notes else ""


@attrs.define
class _Tally:
    """The running counts while events stream by."""

    now: float
    region: str | None = None
    events: int = 0
    problem_rows: int = 0
    skipped_rows: int = 0
    skipped_duplicates: int = 0
    coverage: collections.Counter[str] = attrs.field(factory=collections.Counter)
    no_match_key: int = 0
    web_events: int = 0
    web_without_click_data: int = 0
    invalid: collections.Counter[_Kind] = attrs.field(factory=collections.Counter)
    invalid_values: collections.Counter[str] = attrs.field(factory=collections.Counter)
    invalid_events: collections.Counter[str] = attrs.field(factory=collections.Counter)
    problems: collections.Counter[_Kind] = attrs.field(factory=collections.Counter)
    unsendable: collections.Counter[_Kind] = attrs.field(factory=collections.Counter)
    unsendable_events: int = 0
    old: int = 0
    too_old: int = 0
    duplicates: int = 0
    seen_ids: set[bytes] = attrs.field(factory=set)
    names: collections.Counter[str] = attrs.field(factory=collections.Counter)
    names_keyed: collections.Counter[str] = attrs.field(factory=collections.Counter)
    usable: int = 0
    partial: int = 0
    unnamed_without_email_or_phone: int = 0

    def add_problem(self, problem: RowProblem) -> None:
        self.problem_rows += 1
        _count_capped(self.problems, _kind(problem.to_problem()))

    def add_skip(self, skip: RowSkip) -> None:
        self.skipped_rows += 1
        if skip.event_id is not None:  # a duplicate of an earlier row: one event at Snap
            self.duplicates += 1
            self.skipped_duplicates += 1

    def add(self, event: Event) -> None:
        self.events += 1
        region_failed = None
        if event.user_data.unresolved_phones and self.region is not None:
            # As the client does with its default_region before sending.
            try:
                user = event.user_data.with_default_region(self.region)
            except ValidationError as exc:
                region_failed = Problem.from_error(exc, field="phone")
            else:
                event = event._replace(user_data=user)
        user = event.user_data
        has: Callable[[str], bool] = lambda name: bool(getattr(user, name))  # noqa: E731
        ip, agent = has("client_ip_address"), has("client_user_agent")
        found = {
            "email": has("email"),
            "phone": has("phone"),
            "ip_and_user_agent": ip and agent,
            "ip_without_user_agent": ip and not agent,
            "user_agent_without_ip": agent and not ip,
            "click_id": has("sc_click_id"),
            "cookie": has("sc_cookie1"),
            "madid": has("madid"),
            "external_id": has("external_id"),
            "full_name": has("first_name") and has("last_name"),
            "zip_code": has("zip_code"),
            "city": has("city"),
            "state": has("state"),
            "country": has("country"),
        }
        self.coverage.update(key for key, present in found.items() if present)
        keys = event.match_keys  # the event's: a mobile ad id counts only in app events
        if not keys:
            self.no_match_key += 1
        if not (found["email"] or found["phone"] or found["full_name"]):
            self.unnamed_without_email_or_phone += 1
        if event.action_source is ActionSource.WEB:
            self.web_events += 1
            if not (found["click_id"] or found["cookie"]):
                self.web_without_click_data += 1
        dropped: set[str] = set()
        for drop in event.drops:
            field = drop.field or "user_data"
            dropped.add(field)
            self.invalid_values[field] += 1
            _count_capped(self.invalid, _kind(drop))
        self.invalid_events.update(dropped)
        age = self.now - event.event_time
        if age > _WEEK:
            self.old += 1
            if age > MAX_AGE.total_seconds():
                self.too_old += 1
        # Why the client would mark it INVALID, but for a missing key (counted on its own).
        unfit = list(event.problem_values(now=self.now))
        if region_failed is not None:  # instead of "no country code": the region did not help
            unfit = [p for p in unfit if p.code != _problems.PHONE_NO_COUNTRY_CODE]
            unfit.append(region_failed)
        reasons = {_kind(p) for p in unfit if p.code != _problems.NO_MATCH_KEY}
        if reasons:
            self.unsendable_events += 1
            for why in reasons:
                _count_capped(self.unsendable, why)
        elif keys:
            self.usable += 1
            if keys == (_IP_AND_AGENT,):
                self.partial += 1
        digest = hashlib.blake2b(event.event_id.encode("utf-8", "surrogatepass"), digest_size=8)
        seen = digest.digest()
        if seen in self.seen_ids:
            self.duplicates += 1
        else:
            self.seen_ids.add(seen)
        name = event.event_name.value
        self.names[name] += 1
        if keys:
            self.names_keyed[name] += 1

    def report(self) -> MatchReport:
        return MatchReport(
            events=self.events,
            problem_rows=self.problem_rows,
            coverage={key: self.coverage[key] for key in COVERAGE},
            no_match_key=self.no_match_key,
            unsendable_events=self.unsendable_events,
            unsendable=_titled(self.unsendable),
            web_events=self.web_events,
            web_without_click_data=self.web_without_click_data,
            invalid_identifiers=_titled(self.invalid),
            row_problems=_titled(self.problems),
            older_than_7_days=self.old,
            duplicate_event_ids=self.duplicates,
            event_names=dict(self.names.most_common()),
            recommendations=_recommend(self),
            by_event_name={
                name: (count, self.names_keyed[name]) for name, count in self.names.most_common()
            },
            skipped_rows=self.skipped_rows,
            usable_events=self.usable,
            partial_key_events=self.partial,
            score=self.score(),
        )

    def score(self) -> float:
        """Return the match score: see :attr:`MatchReport.score`."""
        rows = self.events + self.problem_rows
        if not rows:
            return 0.0
        weighted = (self.usable - self.partial) + PARTIAL_KEY_WEIGHT * self.partial
        # Rounded down to one decimal, so that the score shown never passes a gate it fails;
        # the epsilon keeps a binary rounding error just below an exact tenth from costing it.
        return math.floor(1000 * weighted / rows + 1e-9) / 10


def _count_capped(counter: collections.Counter[_Kind], kind: _Kind) -> None:
    """Count ``kind``, or "other reasons" once ``counter`` holds enough distinct kinds."""
    if kind not in counter and len(counter) >= _REASONS_KEPT:
        kind = _OTHER
    counter[kind] += 1


def _titled(counter: collections.Counter[_Kind]) -> dict[str, int]:
    """Return the counts by title, most frequent first (kinds that share a title add up)."""
    titled: collections.Counter[str] = collections.Counter()
    for kind, count in counter.most_common():
        titled[_title(kind)] += count
    return dict(titled.most_common())


def _recommend(t: _Tally) -> tuple[Recommendation, ...]:
    """Turn the counts into advice, weighted by how much each issue costs matching."""
    n = t.events
    found: list[Recommendation] = []

    def lost(count: int, whole: int, text: str) -> None:
        # Events that will not be sent at all: impact 1 + share, ahead of everything else.
        if count and whole:
            found.append(Recommendation(1 + count / whole, count / whole, text))

    def advise(count: int, weight: float, text: str, whole: int | None = None) -> None:
        # Weighted by what the issue costs matching: a dropped identifier or half an IP pair
        # wastes data you have; the rest adds signal. Shares of a subset (WEB events) count
        # in proportion to the subset.
        base = n if whole is None else whole
        if count and base and n:
            share = count / base
            found.append(Recommendation(share * weight * base / n, share, text))

    lost(
        t.no_match_key,
        n,
        f"{_percent(t.no_match_key, n)} of events have no matching key (no email, phone, "
        "IP + user agent or, in app events, mobile ad id): Snap cannot match them and "
        "snapcapi will not send them; add at least one.",
    )
    for kind, count in t.unsendable.items():
        lost(count, n, f"{_percent(count, n)} of events cannot be sent: {_advice(kind)}.")
    if t.problem_rows:
        top = next((k for k, _ in t.problems.most_common() if k != _OTHER), _OTHER)
        lost(
            t.problem_rows,
            n + t.problem_rows,
            f"{plural(t.problem_rows, 'row')} could not become events (most often: "
            f"{_title(top)}); fix them, or run `snapcapi send --dry-run --report` to list them.",
        )
    kinds = t.invalid.most_common()
    for field, count in t.invalid_values.most_common():
        code, label = next(((k[0], k[2]) for k, _ in kinds if k[1] == field), ("", ""))
        values = f"{plural(count, f'{field} value')} {'was' if count == 1 else 'were'}"
        if code == _problems.PHONE_NO_COUNTRY_CODE:
            text = (
                f"{values} dropped for want of a country code; write numbers as "
                "+<country code> <number>, or give their region (region=, or --region on the "
                "command line) "
                "when they belong to one country."
            )
        else:
            text = f"{values} dropped as invalid ({label or 'invalid'}); fix the source data."
        advise(t.invalid_events[field], 1.0, text)
    ip_only = t.coverage["ip_without_user_agent"]
    advise(
        ip_only,
        0.8,
        f"{_percent(ip_only, n)} of events have an IP but no user agent; add "
        "client_user_agent to make IP matching usable.",
    )
    agent_only = t.coverage["user_agent_without_ip"]
    advise(
        agent_only,
        0.5,
        f"{_percent(agent_only, n)} of events have a user agent but no IP; add "
        "client_ip_address to make the pair usable for matching.",
    )
    missing_email = n - t.coverage["email"]
    advise(
        missing_email,
        0.4,
        f"{_percent(missing_email, n)} of events have no email; hashed emails are among the "
        "strongest matching keys, so add email where you have it.",
    )
    missing_phone = n - t.coverage["phone"]
    advise(
        missing_phone,
        0.3,
        f"{_percent(missing_phone, n)} of events have no phone number; add phone numbers "
        "with their country code (or their region: region=, --region) where you have them.",
    )
    advise(
        t.web_without_click_data,
        0.3,
        f"{_percent(t.web_without_click_data, t.web_events)} of WEB events carry neither the "
        "click id (ScCid URL parameter, sc_click_id) nor the _scid cookie (sc_cookie1); pass "
        "them from the landing page.",
        whole=t.web_events,
    )
    stale = t.old - t.too_old  # those older than 37 days are advised on as lost
    advise(
        stale,
        0.5,
        f"{_percent(stale, n)} of events are 7 to 37 days old; send conversions as soon as "
        "they happen (Snap refuses events older than 37 days).",
    )
    advise(
        t.duplicates,
        0.3,
        f"{plural(t.duplicates, 'event')} share an event_id with an earlier one; Snap counts "
        "them once. If they are different conversions, give each its own event_id.",
        whole=n + t.skipped_duplicates,  # the rows skipped as duplicates are not events
    )
    advise(
        t.unnamed_without_email_or_phone,
        0.1,
        f"{_percent(t.unnamed_without_email_or_phone, n)} of events have neither email nor "
        "phone nor a first and last name; names with zip code and country help match them.",
    )
    return tuple(sorted(found, key=lambda r: r.impact, reverse=True))


def _advice(kind: _Kind) -> str:
    """Say what to do about a kind of problem that keeps events from being sent."""
    if kind[0] == _problems.PHONE_NO_COUNTRY_CODE:
        return (
            "a phone number has no country code; write it as +<country code> <number>, or "
            "give their region (region=, --region) when the numbers belong to one country"
        )
    return _title(kind)


def diagnose(
    events_or_records: Iterable[Event | Mapping[str, Any] | RowProblem | RowSkip],
    *,
    mapping: Mapping[str, str | Sequence[str]] | None = None,
    aliases: Mapping[str, str | int | EventName] | None = None,
    region: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    on_invalid: OnInvalid = "drop",
    now: float | None = None,
    **options: Any,
) -> MatchReport:
    """Report how well events will match, without sending them.

    Args:
        events_or_records: Events, flat records (dicts, as :func:`events_from_records` reads
            them), or a mix; a :class:`~snapcapi.records.RowProblem` (a row a file reader could
            not parse) counts as a row that could not become an event, a
            :class:`~snapcapi.records.RowSkip` as a row skipped on purpose.
        mapping: For records: explicit ``field -> column`` choices (or ``field -> [columns]``,
            as :func:`~snapcapi.records.iter_events` takes them).
        aliases: For records: business event names mapped to Snap's.
        region: Default region for phone numbers without a country code, for records and
            (as ``Client(default_region=...)`` would apply it) for events.
        defaults: For records: values for fields a row lacks (``{"action_source": "WEB"}``).
        on_invalid: For records: ``"drop"`` (default) drops an identifier that cannot be
            normalized and counts it by reason; ``"raise"`` counts its row as a problem.
        now: The time events are judged against (default: now).
        **options: Any other option of :func:`snapcapi.records.iter_events`, passed on
            unchanged, so records are read here exactly as ``snapcapi send`` reads them
            (``columns=``, ``ignored=``...).

    Returns:
        A :class:`MatchReport`.

    Raises:
        ValidationError: ``mapping`` or ``defaults`` names a field snapcapi does not know, or
            another option is unusable (raised before any row is read).
        TypeError: An option :func:`~snapcapi.records.iter_events` does not take.
    """
    tally = _Tally(now=time.time() if now is None else now, region=region)
    pairs = iter_events(
        enumerate(events_or_records, start=1),
        mapping=mapping,
        aliases=aliases,
        region=region,
        defaults=defaults,
        on_invalid=on_invalid,
        **options,
    )
    for _, item in pairs:
        if isinstance(item, RowProblem):
            tally.add_problem(item)
        elif isinstance(item, RowSkip):
            tally.add_skip(item)
        else:
            tally.add(item)
    return tally.report()

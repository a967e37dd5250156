"""Match-quality diagnostics: how well will these events match Snapchatters, and what to fix.

:func:`diagnose` reads events (or flat records, as a file or a DataFrame holds them) without
sending anything and returns a :class:`MatchReport`: the share of events carrying each
identifier, events with no matching key at all, identifiers that could not be normalized (by
reason, masked), rows that could not become events, events older than 7 days, duplicate
``event_id`` values, and recommendations ordered by impact.

It streams: whatever the number of events, it holds counters and an 8-byte digest per
``event_id`` (for duplicates), never the events.
"""

from __future__ import annotations

import collections
import hashlib
import html
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from snapcapi.enums import ActionSource, EventName
from snapcapi.events import Event
from snapcapi.records import RowProblem, iter_events
from snapcapi.user_data import OnInvalid

__all__ = ["COVERAGE", "MatchReport", "Recommendation", "diagnose"]

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
_WEEK = 7 * 86400
_MASKED = re.compile(r"\S*\*\S*\s?")
_REASONS_KEPT = 50


def _reason_key(text: str) -> str:
    """Group reasons that differ only in masked values (``j***@``) under one key."""
    return _MASKED.sub("", text).strip() or text


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
        no_match_key: Events with none of email, phone, IP + user agent, mobile ad id.
        web_events: Events whose action source is WEB.
        web_without_click_data: WEB events with neither click id nor ``_scid`` cookie.
        invalid_identifiers: Identifiers dropped because they could not be normalized, by
            ``"field: reason"`` (masked).
        row_problems: Rows that could not become events, by ``"field: reason"`` (masked).
        older_than_7_days: Events whose time is more than 7 days before ``now``.
        duplicate_event_ids: Events whose ``event_id`` an earlier event had.
        event_names: Events per event name.
        recommendations: What to improve, most impact first.
    """

    events: int
    problem_rows: int
    coverage: Mapping[str, int]
    no_match_key: int
    web_events: int
    web_without_click_data: int
    invalid_identifiers: Mapping[str, int]
    row_problems: Mapping[str, int]
    older_than_7_days: int
    duplicate_event_ids: int
    event_names: Mapping[str, int]
    recommendations: tuple[Recommendation, ...]

    def share(self, identifier: str) -> float:
        """Return the share of events (0 to 1) carrying ``identifier`` (a COVERAGE key)."""
        return self.coverage[identifier] / self.events if self.events else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data (shares as fractions)."""
        return {
            "events": self.events,
            "problem_rows": self.problem_rows,
            "coverage": {
                key: {"events": n, "share": round(self.share(key), 4)}
                for key, n in self.coverage.items()
            },
            "no_match_key": self.no_match_key,
            "web_events": self.web_events,
            "web_without_click_data": self.web_without_click_data,
            "invalid_identifiers": dict(self.invalid_identifiers),
            "row_problems": dict(self.row_problems),
            "older_than_7_days": self.older_than_7_days,
            "duplicate_event_ids": self.duplicate_event_ids,
            "event_names": dict(self.event_names),
            "recommendations": [
                {"impact": round(r.impact, 4), "share": round(r.share, 4), "text": r.text}
                for r in self.recommendations
            ],
        }

    def __repr__(self) -> str:
        return (
            f"MatchReport({self.events} events, {self.problem_rows} problem rows, "
            f"no matching key {_percent(self.no_match_key, self.events)}, "
            f"{len(self.recommendations)} recommendations)"
        )

    def __str__(self) -> str:
        n = self.events
        lines = [f"Match quality of {n:,} events" + _rows_note(self.problem_rows), ""]
        if not n and not self.problem_rows:
            return "No events to diagnose."
        width = max(len(label) for label in COVERAGE.values())
        lines.append(f"{'identifier'.ljust(width)}  {'events':>9}  {'share':>6}")
        for key, label in COVERAGE.items():
            count = self.coverage[key]
            lines.append(f"{label.ljust(width)}  {count:>9,}  {_percent(count, n):>6}")
        label = "no matching key"
        lines.append(
            f"{label.ljust(width)}  {self.no_match_key:>9,}  {_percent(self.no_match_key, n):>6}"
        )
        lines.append("")
        lines.append(
            f"older than 7 days: {self.older_than_7_days:,} "
            f"({_percent(self.older_than_7_days, n)}); "
            f"duplicate event_ids: {self.duplicate_event_ids:,}"
        )
        if self.event_names:
            names = ", ".join(f"{name} {count:,}" for name, count in self.event_names.items())
            lines.append(f"event names: {names}")
        for title, found in (
            ("identifiers dropped (could not be normalized)", self.invalid_identifiers),
            ("rows that could not become events", self.row_problems),
        ):
            if found:
                lines.append(f"{title}:")
                lines.extend(f"  {count:>9,}  {reason}" for reason, count in found.items())
        if self.recommendations:
            lines.append("")
            lines.append("recommendations:")
            lines.extend(
                f"  {number}. {r.text}" for number, r in enumerate(self.recommendations, 1)
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        n = self.events
        rows = "".join(
            f"<tr><td>{html.escape(label)}</td><td>{self.coverage[key]:,}</td>"
            f"<td>{_percent(self.coverage[key], n)}</td></tr>"
            for key, label in COVERAGE.items()
        )
        rows += (
            f"<tr><td><b>no matching key</b></td><td>{self.no_match_key:,}</td>"
            f"<td>{_percent(self.no_match_key, n)}</td></tr>"
        )
        advice = "".join(f"<li>{html.escape(r.text)}</li>" for r in self.recommendations)
        problems = "".join(
            f"<li>{count:,} × {html.escape(reason)}</li>"
            for reason, count in {**self.invalid_identifiers, **self.row_problems}.items()
        )
        note = html.escape(_rows_note(self.problem_rows))
        return (
            f"<div><p><b>Match quality of {n:,} events</b>{note}"
            f"; older than 7 days: {self.older_than_7_days:,}; duplicate event_ids: "
            f"{self.duplicate_event_ids:,}</p>"
            "<table><thead><tr><th>identifier</th><th>events</th><th>share</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
            + (f"<p>Problems:</p><ul>{problems}</ul>" if problems else "")
            + (f"<p>Recommendations:</p><ol>{advice}</ol>" if advice else "")
            + "</div>"
        )


def _rows_note(problem_rows: int) -> str:
    return f" ({problem_rows:,} rows could not be used)" if problem_rows else ""


@attrs.define
class _Tally:
    """The running counts while events stream by."""

    now: float
    events: int = 0
    problem_rows: int = 0
    coverage: collections.Counter[str] = attrs.field(factory=collections.Counter)
    no_match_key: int = 0
    web_events: int = 0
    web_without_click_data: int = 0
    invalid: collections.Counter[str] = attrs.field(factory=collections.Counter)
    invalid_fields: collections.Counter[str] = attrs.field(factory=collections.Counter)
    problems: collections.Counter[str] = attrs.field(factory=collections.Counter)
    old: int = 0
    duplicates: int = 0
    seen_ids: set[bytes] = attrs.field(factory=set)
    names: collections.Counter[str] = attrs.field(factory=collections.Counter)
    unnamed_without_email_or_phone: int = 0

    def add_problem(self, problem: RowProblem) -> None:
        self.problem_rows += 1
        where = f"{problem.field}: " if problem.field else ""
        _count_capped(self.problems, where + _reason_key(problem.reason))

    def add(self, event: Event) -> None:
        self.events += 1
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
        if not user.match_keys:
            self.no_match_key += 1
        if not (found["email"] or found["phone"] or found["full_name"]):
            self.unnamed_without_email_or_phone += 1
        if event.action_source is ActionSource.WEB:
            self.web_events += 1
            if not (found["click_id"] or found["cookie"]):
                self.web_without_click_data += 1
        for warning in event.warnings:
            field, _, reason = warning.partition(" dropped: ")
            if reason:
                self.invalid_fields[field] += 1
                _count_capped(self.invalid, f"{field}: {_reason_key(reason)}")
        if self.now - event.event_time > _WEEK:
            self.old += 1
        digest = hashlib.blake2b(event.event_id.encode("utf-8", "surrogatepass"), digest_size=8)
        key = digest.digest()
        if key in self.seen_ids:
            self.duplicates += 1
        else:
            self.seen_ids.add(key)
        self.names[event.event_name.value] += 1

    def report(self) -> MatchReport:
        return MatchReport(
            events=self.events,
            problem_rows=self.problem_rows,
            coverage={key: self.coverage[key] for key in COVERAGE},
            no_match_key=self.no_match_key,
            web_events=self.web_events,
            web_without_click_data=self.web_without_click_data,
            invalid_identifiers=dict(self.invalid.most_common()),
            row_problems=dict(self.problems.most_common()),
            older_than_7_days=self.old,
            duplicate_event_ids=self.duplicates,
            event_names=dict(self.names.most_common()),
            recommendations=_recommend(self),
        )


def _count_capped(counter: collections.Counter[str], key: str) -> None:
    if key not in counter and len(counter) >= _REASONS_KEPT:
        key = "other reasons"
    counter[key] += 1


def _recommend(t: _Tally) -> tuple[Recommendation, ...]:
    """Turn the counts into advice, weighted by how much each issue costs matching."""
    n = t.events
    found: list[Recommendation] = []

    def advise(count: int, weight: float, text: str, whole: int | None = None) -> None:
        base = whole if whole is not None else n
        if count and base:
            share = count / base
            found.append(Recommendation(share * weight * (base / n if n else 1), share, text))

    # An event with no key, or a row that never became an event, is lost entirely: those
    # come first (impact 1 + share). Then, weighted: a dropped identifier or a half IP pair
    # wastes data you have; the rest adds signal.
    if t.no_match_key:
        share = t.no_match_key / n
        found.append(
            Recommendation(
                1 + share,
                share,
                f"{_percent(t.no_match_key, n)} of events have no matching key (no email, "
                "phone, IP + user agent or mobile ad id): Snap cannot match them and snapcapi "
                "will not send them; add at least one identifier.",
            )
        )
    for field, count in t.invalid_fields.most_common():
        top = next((k for k in t.invalid if k.startswith(f"{field}: ")), f"{field}: invalid")
        advise(
            count,
            1.0,
            f"{count:,} {field} values could not be normalized and were dropped "
            f"({top.partition(': ')[2]}); fix them at the source.",
        )
    if t.problem_rows:
        top_problem = next(iter(t.problems.most_common(1)))[0]
        whole = n + t.problem_rows
        found.append(
            Recommendation(
                1 + t.problem_rows / whole,
                t.problem_rows / whole,
                f"{t.problem_rows:,} rows could not become events (most often: {top_problem}); "
                "fix them, or run `snapcapi send --dry-run --report` to list them.",
            )
        )
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
    for key, name, weight in (("email", "email", 0.4), ("phone", "phone number", 0.3)):
        missing = n - t.coverage[key]
        advise(
            missing,
            weight,
            f"{_percent(missing, n)} of events have no {name}; hashed {name}s are among the "
            f"strongest matching keys, so add {key} where you have it.",
        )
    advise(
        t.web_without_click_data,
        0.3,
        f"{_percent(t.web_without_click_data, t.web_events)} of WEB events carry neither the "
        "click id (ScCid URL parameter, sc_click_id) nor the _scid cookie (sc_cookie1); pass "
        "them from the landing page.",
        whole=t.web_events,
    )
    advise(
        t.old,
        0.5,
        f"{_percent(t.old, n)} of events are older than 7 days; send conversions as soon as "
        "they happen (Snap refuses events older than 37 days).",
    )
    advise(
        t.duplicates,
        0.3,
        f"{t.duplicates:,} events share an event_id with an earlier one; Snap counts them once. "
        "If they are different conversions, give each its own event_id.",
    )
    advise(
        t.unnamed_without_email_or_phone,
        0.1,
        f"{_percent(t.unnamed_without_email_or_phone, n)} of events have neither email nor "
        "phone nor a first and last name; names with zip code and country help match them.",
    )
    return tuple(sorted(found, key=lambda r: r.impact, reverse=True))


def diagnose(
    events_or_records: Iterable[Event | Mapping[str, Any]],
    *,
    mapping: Mapping[str, str] | None = None,
    aliases: Mapping[str, str | int | EventName] | None = None,
    region: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    on_invalid: OnInvalid = "drop",
    now: float | None = None,
) -> MatchReport:
    """Report how well events will match, without sending them.

    Args:
        events_or_records: Events, flat records (dicts, as :func:`events_from_records` reads
            them), or a mix.
        mapping: For records: explicit ``field -> column`` choices.
        aliases: For records: business event names mapped to Snap's.
        region: For records: default region for phone numbers without a country code.
        defaults: For records: values for fields a row lacks (``{"action_source": "WEB"}``).
        on_invalid: For records: ``"drop"`` (default) drops an identifier that cannot be
            normalized and counts it by reason; ``"raise"`` counts its row as a problem.
        now: The time events are judged against (default: now).

    Returns:
        A :class:`MatchReport`.

    Raises:
        ValidationError: ``mapping`` or ``defaults`` names a field snapcapi does not know.
    """
    tally = _Tally(now=time.time() if now is None else now)
    pairs = iter_events(
        enumerate(events_or_records, start=1),
        mapping=mapping,
        aliases=aliases,
        region=region,
        defaults=defaults,
        on_invalid=on_invalid,
    )
    for _, item in pairs:
        if isinstance(item, RowProblem):
            tally.add_problem(item)
        else:
            tally.add(item)
    return tally.report()

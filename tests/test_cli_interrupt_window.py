"""An interrupt that comes while the command line has a row in hand waits for the row.

The signal handlers of ``snapcapi send`` call :meth:`Interrupts.arrive`; here the progress
display calls it as a row is read, the instant a SIGTERM once slipped through: the row was
counted as read but got no line in the report.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from snapcapi._bulk import BulkOptions, interrupts, run_bulk
from snapcapi._progress import Progress
from snapcapi.cli import Terminated
from snapcapi.client import Client
from snapcapi.records import Recipe
from snapcapi.testing import FakeSnapServer

COLUMNS = ["event_id", "Email", "Total", "Currency", "Created at"]


class InterruptedAt(Progress):
    """A progress display that is interrupted as row ``at`` is read (inside the row window)."""

    def __init__(self, at: int, interrupt: KeyboardInterrupt) -> None:
        super().__init__(io.StringIO(), enabled=False)
        self.at = at
        self.interrupt = interrupt

    def row(self) -> None:
        super().row()
        if self.read == self.at:
            interrupts.arrive(self.interrupt)


def orders(tmp_path, count):
    path = tmp_path / "orders.csv"
    when = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).isoformat()
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(COLUMNS)
        for i in range(1, count + 1):
            writer.writerow([f"A{i}", f"buyer{i}@example.com", f"{i}.50", "USD", when])
    return str(path)


def options(tmp_path, count, **more):
    recipe = Recipe(defaults={"event_name": "PURCHASE", "action_source": "OFFLINE"})
    report = str(tmp_path / "report.csv")
    return BulkOptions(path=orders(tmp_path, count), recipe=recipe, report=report, **more)


def report_lines(path):
    with open(path, newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


@pytest.mark.parametrize("at", [1, 7, 30])
@pytest.mark.parametrize("interrupt", [Terminated(), KeyboardInterrupt()], ids=["term", "int"])
def test_a_send_interrupted_with_a_row_in_hand_reports_every_row_read(tmp_path, at, interrupt):
    """Every row read has a line: the one in hand FAILED as not sent, safe to resend."""
    chosen = options(tmp_path, 40)
    with FakeSnapServer() as server:

        def client() -> Client:
            return Client(server.pixel_id, server.token, base_url=server.url, batch_size=5)

        with pytest.raises(type(interrupt)) as caught:
            run_bulk(chosen, client, InterruptedAt(at, interrupt))
        received = server.event_ids()
    summary = caught.value.snapcapi_summary  # type: ignore[attr-defined]
    lines = report_lines(chosen.report)
    assert len(lines) == summary.rows
    assert sum(summary.counts.values()) == summary.rows
    by_id = {line["event_id"]: line for line in lines}
    assert {line["status"] for line in lines} <= {"ACCEPTED", "FAILED"}
    assert {i for i, line in by_id.items() if line["status"] == "ACCEPTED"} <= received
    for line in lines:
        if line["status"] == "FAILED":
            assert "safe to resend" in line["reason"]
    assert interrupts.pending is None
    assert not interrupts.holding


@pytest.mark.parametrize("at", [1, 12])
def test_a_dry_run_interrupted_with_a_row_in_hand_reports_every_row_read(tmp_path, at):
    chosen = options(tmp_path, 20, dry_run=True)
    with pytest.raises(Terminated) as caught:
        run_bulk(chosen, None, InterruptedAt(at, Terminated()))
    summary = caught.value.snapcapi_summary  # type: ignore[attr-defined]
    lines = report_lines(chosen.report)
    assert len(lines) == summary.rows >= at
    assert {line["status"] for line in lines} == {"VALID"}


def test_an_interrupt_outside_a_row_is_raised_at_once():
    """Outside the row window (the client sending, standard input read) nothing waits."""
    with pytest.raises(Terminated):
        interrupts.arrive(Terminated())
    with interrupts.hold(), interrupts.let_through(), pytest.raises(KeyboardInterrupt):
        interrupts.arrive(KeyboardInterrupt())
    assert interrupts.pending is None


def test_a_second_interrupt_while_one_waits_is_raised_at_once():
    with interrupts.hold():
        interrupts.arrive(Terminated())  # held: it waits for the hold to end
        with pytest.raises(KeyboardInterrupt):
            interrupts.arrive(KeyboardInterrupt())  # the second is raised at once
        interrupts.pending = None

"""examples/match_quality.ipynb runs top to bottom (its code cells, in one namespace)."""

from __future__ import annotations

import json
import pathlib

NOTEBOOK = pathlib.Path(__file__).resolve().parent.parent / "examples" / "match_quality.ipynb"


def test_match_quality_notebook_runs():
    """Every code cell runs; the report and the results are what the text says."""
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert notebook["nbformat"] == 4
    namespace: dict[str, object] = {"__name__": "__main__"}
    cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert len(cells) >= 5
    for number, cell in enumerate(cells):
        source = "".join(cell["source"])
        exec(compile(source, f"{NOTEBOOK.name}[{number}]", "exec"), namespace)
    report = namespace["report"]
    # Re-exported rows that repeat an event_id are one event: skipped, and counted as duplicates.
    assert report.events + report.skipped_rows == 200
    assert report.invalid_identifiers  # the typos were counted
    assert report.duplicate_event_ids >= 1
    assert "<table>" in report._repr_html_()
    frame = namespace["frame"]
    assert len(frame) == len(namespace["events"])
    counts = frame["status"].value_counts().to_dict()
    assert counts["ACCEPTED"] > 100
    assert set(counts) <= {"ACCEPTED", "INVALID"}
    # What diagnose said would not be sent is what the client did not send.
    assert counts.get("INVALID", 0) == report.no_match_key + report.unsendable_events

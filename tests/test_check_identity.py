"""benchmarks/check_identity.py: equal outputs pass, a changed output is found and shown."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "benchmarks" / "check_identity.py"
RECORDS = "2000"

# Appended to a copy of the package: events whose id ends in 7 get a lowercase event name in
# to_payload(), an output change of the kind a fast path could make on a share of inputs.
PLANTED = """

def _plant() -> None:
    from snapcapi.events import Event

    original = Event.to_payload

    def to_payload(self):
        payload = original(self)
        if self.event_id.endswith("7"):
            payload["event_name"] = payload["event_name"].lower()
        return payload

    Event.to_payload = to_payload


_plant()
"""


def _tool(cwd: Path, pythonpath: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run(
        [sys.executable, str(TOOL), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A reference of 2,000 records in chunks of 500, written by this tree."""
    directory = tmp_path_factory.mktemp("identity")
    path = directory / "reference.txt"
    done = _tool(directory, ROOT, "--records", RECORDS, "--chunk-size", "500", "--write", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    return path


def test_reference_holds_both_passes_of_every_chunk(reference: Path) -> None:
    """The file has one line per chunk with three digests, and totals with both outcomes."""
    text = reference.read_text(encoding="utf-8")
    chunks = re.findall(r"^chunk (\d+) corpus=\w{64} orjson=\w{64} json=\w{64}$", text, re.M)
    assert chunks == ["0", "1", "2", "3"]
    totals = dict(re.findall(r"(\w+)=(\d+)", re.search(r"^totals .*$", text, re.M)[0]))
    assert totals["records"] == RECORDS
    assert int(totals["valid"]) > 1000
    assert int(totals["invalid"]) > 100
    assert f"tree {ROOT}" in text


def test_equal_outputs_pass(reference: Path, tmp_path: Path) -> None:
    """The tree that wrote the reference compares identical and exits 0."""
    done = _tool(tmp_path, ROOT, "--compare", str(reference))
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(
        r"^identical: 2,000 records \([\d,]+ valid, [\d,]+ invalid\)", done.stdout, re.M
    )


def test_planted_difference_is_found(reference: Path, tmp_path: Path) -> None:
    """A copy of snapcapi that changes some payloads fails, naming the first such record."""
    shutil.copytree(ROOT / "snapcapi", tmp_path / "snapcapi")
    with (tmp_path / "snapcapi" / "__init__.py").open("a", encoding="utf-8") as package:
        package.write(PLANTED)
    done = _tool(tmp_path, tmp_path, "--compare", str(reference))
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"from {tmp_path}/snapcapi" in done.stdout
    found = re.search(r"^first differing record: (\d+) \(chunk (\d)", done.stdout, re.M)
    assert found is not None, done.stdout
    shown = re.search(r"^  input: (.*)$", done.stdout, re.M)
    assert shown is not None
    assert re.search(r"'event_id': '[^']*7'", shown[1])
    before = re.search(r'^    reference: .*?"event_name": "([A-Z0-9_]+)"', done.stdout, re.M)
    assert before is not None, done.stdout
    assert f'"event_name": "{before[1].lower()}"' in done.stdout

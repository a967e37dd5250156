"""The code in the docs, the docstrings and the examples runs and says what it claims."""

from __future__ import annotations

import doctest
import json
import pathlib
import subprocess
import sys

import pytest

import snapcapi.normalize

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_docs_examples_run(path):
    """Every interactive example in docs/ produces the output the page shows."""
    result = doctest.testfile(str(path), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_readme_example_runs():
    """The README's Python example runs and builds an event fit to send."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    code = code.split("\nwith Client(", 1)[0]  # the rest needs real credentials
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    event = namespace["event"]
    assert event.problems() == ()
    assert event.to_payload()["custom_data"] == {
        "value": 142.52,
        "currency": "USD",
        "order_id": "order-1234",
    }


def test_docstring_examples_run():
    """The examples in snapcapi.normalize's docstrings hold."""
    assert doctest.testmod(snapcapi.normalize).failed == 0


def test_build_events_example():
    """examples/build_events.py runs, drops the bad email with a warning and prints the body."""
    completed = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "build_events.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    out = completed.stdout
    assert "order 1: PURCHASE (em, ph, client_ip_address+client_user_agent)" in out
    assert "warning: email dropped" in out
    assert "not sendable: user_data has no matching key" in out
    assert "jane.doe" not in out.lower()
    body = json.loads(out[out.index("{") :])
    assert [event["event_id"] for event in body["data"]] == ["order-1001", "cart-77"]


def test_docs_site_builds_without_warnings(tmp_path):
    """The Sphinx site (tutorial, how-tos, API reference from docstrings) builds with -W."""
    completed = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         str(ROOT / "docs"), str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    api = (tmp_path / "api.html").read_text(encoding="utf-8")
    assert "BackgroundSender" in api
    assert "from_wsgi" in api
    assert (tmp_path / "tutorial.html").exists()

"""The code in the docs, the docstrings and the examples runs and says what it claims."""

from __future__ import annotations

import ast
import doctest
import importlib.metadata
import json
import pathlib
import re
import shlex
import shutil
import subprocess
import sys

import pytest

import snapcapi.normalize

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))

# A fenced block: its info string (the language) and its text.
FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
# A Python block that is a file to save, not lines to run: its first line names it.
FILE_NAME = re.compile(r"# (?P<name>[\w.-]+\.py)\b")


def blocks(path: pathlib.Path) -> list[tuple[str, str, str]]:
    """The page's fenced blocks as (language, text, what precedes the block since the last)."""
    text = path.read_text(encoding="utf-8")
    found, end = [], 0
    for match in FENCE.finditer(text):
        found.append((match["info"].strip(), match["body"], text[end : match.start()]))
        end = match.end()
    return found


def file_blocks(path: pathlib.Path) -> dict[str, str]:
    """The page's Python blocks that are files (``# conftest.py`` first), by file name."""
    files = {}
    for language, body, _before in blocks(path):
        named = FILE_NAME.match(body)
        if language == "python" and named:
            files[named["name"]] = body
    return files


def script_and_output(path: pathlib.Path) -> tuple[str, str]:
    """The page's Python to paste into a script, in order, and what the page says it prints.

    Interactive (``>>>``) blocks are doctests and file blocks are files: neither is part of
    the script. A ``text`` block right after a script block is that block's output.
    """
    script, output, last_was_script = [], [], False
    for language, body, before in blocks(path):
        if language == "text" and last_was_script and not before.strip():
            output.append(body)
        is_script = (
            language == "python"
            and not body.lstrip().startswith(">>>")
            and not FILE_NAME.match(body)
        )
        if is_script:
            script.append(body)
        last_was_script = is_script
    return "\n\n".join(script), "".join(output)


def run_script(code: str, directory: pathlib.Path) -> subprocess.CompletedProcess[str]:
    """Run code as a user would: saved to a file, ``python file.py``, in a fresh directory."""
    script = directory / "pasted.py"
    script.write_text(code, encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=directory, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def run_pytest(directory: pathlib.Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m pytest`` on a directory of test files, as their owner would."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"],
        cwd=directory, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


# The pages written to be pasted into a script or a notebook (the others are doctests).
SCRIPT_PAGES = [ROOT / "docs" / name for name in ("tutorial.md", "testing.md", "sources.md")]


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_docs_examples_run(path):
    """Every interactive example in docs/ produces the output the page shows."""
    result = doctest.testfile(str(path), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


@pytest.mark.parametrize("path", SCRIPT_PAGES, ids=lambda p: p.name)
def test_page_runs_as_a_pasted_script(path, tmp_path):
    """The page's Python blocks, pasted in order into one script, run and print what it shows."""
    code, expected = script_and_output(path)
    assert code
    assert expected
    completed = run_script(code, tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == expected


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_no_example_relies_on_the_repl_underscore(path):
    """No example reads ``_``, the last REPL value: pasted into a script it is a NameError."""
    for example in doctest.DocTestParser().get_examples(path.read_text(encoding="utf-8")):
        tree = ast.parse(example.source)
        reads = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Name) and node.id == "_" and isinstance(node.ctx, ast.Load)
        ]
        assert not reads, f"{path.name}, line {example.lineno + 1}: {example.source}"


def test_tutorial_installs_from_the_checkout():
    """The tutorial installs from a checkout (not on PyPI yet) and names only real extras."""
    text = (ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")
    install = text.split("## 1. Install", 1)[1].split("\n## ", 1)[0]
    commands = [
        shlex.split(line, comments=True)
        for language, body, _before in blocks(ROOT / "docs" / "tutorial.md")
        if language == "sh" and body in install
        for line in body.splitlines()
        if line.strip()
    ]
    assert ["python", "-m", "pip", "install", "-e", "."] in commands
    assert not [command for command in commands if "snapcapi" in command]  # not from PyPI
    assert "not on PyPI yet" in install
    assert "pip install path/to/snapcapi" in install
    assert "`pip install snapcapi`" in install  # kept, as the future way
    extras = set(importlib.metadata.metadata("snapcapi").get_all("Provides-Extra") or ())
    for named in re.findall(r"\.\[([\w,]+)\]", install):
        assert set(named.split(",")) <= extras


def test_testing_page_pytest_example_passes_as_pasted(tmp_path):
    """docs/testing.md's conftest.py and test file, saved as shown, pass under pytest."""
    files = file_blocks(ROOT / "docs" / "testing.md")
    assert set(files) == {"conftest.py", "test_checkout.py"}
    for name, body in files.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    completed = run_pytest(tmp_path)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    tests = files["test_checkout.py"].count("\ndef test_")
    assert f"{tests} passed" in completed.stdout
    assert "client_factory" not in (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")


def test_web_page_flask_test_passes_as_pasted(tmp_path):
    """docs/web.md's Flask test, saved next to the example's app.py, passes under pytest."""
    files = file_blocks(ROOT / "docs" / "web.md")
    assert set(files) == {"test_app.py"}
    (tmp_path / "test_app.py").write_text(files["test_app.py"], encoding="utf-8")
    shutil.copy(ROOT / "examples" / "flask_shop" / "app.py", tmp_path / "app.py")
    completed = run_pytest(tmp_path)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    tests = files["test_app.py"].count("\ndef test_")
    assert tests > 0
    assert f"{tests} passed" in completed.stdout
    assert "sender.flush(" in files["test_app.py"]


def test_web_page_flask_test_is_the_example_file():
    """The Flask test on docs/web.md is examples/flask_shop/test_app.py, word for word."""
    shipped = (ROOT / "examples" / "flask_shop" / "test_app.py").read_text(encoding="utf-8")
    assert file_blocks(ROOT / "docs" / "web.md")["test_app.py"] == shipped


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

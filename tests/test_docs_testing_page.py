"""docs/testing.md's per-shape snap_server fixture: where it goes, and that it works there."""

from __future__ import annotations

from test_docs import ROOT, blocks, file_blocks, run_pytest

PAGE = ROOT / "docs" / "testing.md"


def per_shape_fixture() -> tuple[str, str]:
    """The page's per-shape ``snap_server`` block, and the text that introduces it."""
    [(body, before)] = [
        (body, before)
        for language, body, before in blocks(PAGE)
        if language == "python" and 'params=["documented", "live"]' in body
    ]
    return body, before


def test_the_page_says_to_add_the_fixture_to_the_same_conftest():
    """The page says where the fixture goes: the conftest.py that holds snap_client."""
    body, before = per_shape_fixture()
    text = " ".join(before.split())
    assert "Add it to the same `conftest.py` as `snap_client`" in text
    assert "fixture 'snap_client' not found" in text  # what happens otherwise
    assert body.startswith("# add to the conftest.py above")


def test_added_to_that_conftest_every_test_runs_once_per_shape(tmp_path):
    """conftest.py plus the fixture, as the page says: each test passes in both shapes."""
    files = file_blocks(PAGE)
    body, _before = per_shape_fixture()
    (tmp_path / "conftest.py").write_text(files["conftest.py"] + "\n\n" + body, encoding="utf-8")
    (tmp_path / "test_checkout.py").write_text(files["test_checkout.py"], encoding="utf-8")
    completed = run_pytest(tmp_path)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    tests = files["test_checkout.py"].count("\ndef test_")
    assert f"{2 * tests} passed" in completed.stdout


def test_saved_as_a_conftest_of_its_own_snap_client_is_lost(tmp_path):
    """In place of the earlier conftest.py, the tests fail as the page warns they would."""
    files = file_blocks(PAGE)
    body, _before = per_shape_fixture()
    (tmp_path / "conftest.py").write_text(body, encoding="utf-8")
    (tmp_path / "test_checkout.py").write_text(files["test_checkout.py"], encoding="utf-8")
    completed = run_pytest(tmp_path)
    assert completed.returncode != 0
    assert "fixture 'snap_client' not found" in completed.stdout

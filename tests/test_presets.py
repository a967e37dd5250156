"""Platform presets end to end: each export, laid out as its platform writes it, through the CLI.

``examples/data/make_exports.py`` writes a small export per platform (Shopify, WooCommerce,
Stripe, GA4, HubSpot, Segment, RudderStack) for today, with the messiness real exports have,
and ``expected.json`` saying which events must reach Snap and which must not. Each test runs
``snapcapi send FILE --preset NAME`` in a subprocess against a fake Snap server and compares
what the server received with that list: the set of event ids, each event's facts, phones
hashed in their row's country; then a resume sends nothing twice.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import pathlib
import re
import shlex
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from snapcapi.testing import FakeSnapServer

ROOT = pathlib.Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "examples" / "data" / "make_exports.py"
PRESETS = ["shopify", "woocommerce", "stripe", "ga4", "hubspot", "segment", "rudderstack"]


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """Today's exports and their expected outcomes, made by the shipped generator."""
    out = tmp_path_factory.mktemp("exports")
    today = datetime.now(timezone.utc).date().isoformat()
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(out), "--today", today],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    expected = json.loads((out / "expected.json").read_text(encoding="utf-8"))["files"]
    return out, expected


def derived_id(event_name: str, key: str) -> str:
    """The event id snapcapi derives from a key's values and the event name."""
    text = "\x1f".join([event_name, *key.split("|")])
    return "k-" + hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def run(server, *argv):
    env = {**os.environ, "SNAP_ACCESS_TOKEN": server.token}
    return subprocess.run(
        [sys.executable, "-m", "snapcapi", *map(str, argv), "--pixel-id", server.pixel_id,
         "--base-url", server.url, "--max-retries", "0"],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip


def file_for(expected, preset):
    return next(name for name, info in expected.items() if info["preset"] == preset)


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_sends_exactly_the_events_the_export_holds(exports, preset, tmp_path):
    """Every event to send arrives once, under its keyed id, with its facts; none other does."""
    folder, expected = exports
    name = file_for(expected, preset)
    info = expected[name]
    with FakeSnapServer() as server:
        first = run(server, "send", folder / name, "--preset", preset, "--report",
                    tmp_path / "report.csv")  # fmt: skip
        assert first.returncode in (0, 1), first.stdout + first.stderr
        received = {event["event_id"]: event for event in server.events}
        want = {derived_id(info["events"][key]["event_name"], key): key for key in info["send"]}
        assert set(received) == set(want), first.stdout
        assert len(server.events) == len(want)  # none sent twice
        for event_id, key in want.items():
            facts, event = info["events"][key], received[event_id]
            custom = event.get("custom_data", {})
            assert event["event_name"] == facts["event_name"], key
            assert event["event_time"] == facts["event_time"], key
            if "value" in facts:
                assert custom["value"] == pytest.approx(facts["value"]), key
                assert custom["currency"] == facts["currency"], key
            if facts.get("order_id"):
                assert custom["order_id"] == facts["order_id"], key
            assert len(custom.get("contents", [])) == facts["line_items"], key
        for phone in info["phones"]:
            if phone["id"] in info["send"]:
                event = received[derived_id(info["events"][phone["id"]]["event_name"],
                                            phone["id"])]  # fmt: skip
                digest = hashlib.sha256(phone["digits"].encode()).hexdigest()
                assert digest in event["user_data"].get("ph", []), phone
        for email in info["emails"]:
            if email["id"] in info["send"]:
                event = received[derived_id(info["events"][email["id"]]["event_name"],
                                            email["id"])]  # fmt: skip
                digest = hashlib.sha256(email["normalized"].encode()).hexdigest()
                assert digest in event["user_data"]["em"], email
        # Filtered rows are SKIPPED with the filter that skipped them; none is lost silently.
        with open(tmp_path / "report.csv", newline="", encoding="utf-8") as stream:
            report = list(csv.DictReader(stream))
        filtered = sum(1 for why in info["must_not_send"].values() if why["why"] == "filtered")
        skipped = [r for r in report if r["status"] == "SKIPPED"]
        assert len(skipped) >= filtered
        assert all(r["reason"].startswith(("filtered by --", "same event_id")) for r in skipped)
        assert f"{info['rows']:,} rows processed" in first.stdout
        # Tomorrow's run with today's report: nothing new, nothing sent again.
        again = run(server, "send", folder / name, "--preset", preset, "--resume",
                    tmp_path / "report.csv")  # fmt: skip
        assert again.returncode in (0, 1), again.stdout + again.stderr
        assert len(server.events) == len(want)
        assert f"{len(want):,} rows were accepted in an earlier run" in again.stdout
        assert "every row was skipped" not in again.stdout


def test_presets_are_listed_and_printable(tmp_path):
    """`snapcapi presets` lists every preset; `snapcapi presets NAME` prints a usable copy."""
    listed = subprocess.run([sys.executable, "-m", "snapcapi", "presets"], capture_output=True,
                            text=True, check=True)  # fmt: skip
    for name in PRESETS:
        assert f"\n  {name} " in listed.stdout
    printed = subprocess.run([sys.executable, "-m", "snapcapi", "presets", "shopify"],
                             capture_output=True, text=True, check=True)  # fmt: skip
    copy = tmp_path / "my_shop.toml"
    copy.write_text(printed.stdout.replace('"PURCHASE"', '"SIGN_UP"', 1), encoding="utf-8")
    from snapcapi._presets import load_preset

    assert load_preset(str(copy)).table("set")["event_name"] == "SIGN_UP"


def test_flags_win_over_a_preset(exports, tmp_path):
    """--event-name replaces the preset's; a --where adds to its filters (both must pass)."""
    folder, expected = exports
    name = file_for(expected, "shopify")
    completed = subprocess.run(
        [sys.executable, "-m", "snapcapi", "send", str(folder / name), "--preset", "shopify",
         "--dry-run", "--event-name", "SIGN_UP", "--where", "Source=pos",
         "--payload-out", str(tmp_path / "p.jsonl")],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    payloads = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert payloads, completed.stdout
    assert {p["event_name"] for p in payloads} == {"SIGN_UP"}
    events = expected[name]["events"]
    pos = {key for key in expected[name]["send"] if events[key]["source"] == "pos"}
    assert {p["custom_data"]["order_id"] for p in payloads} == pos


def test_a_bad_preset_file_is_a_clear_error(tmp_path):
    """An edited preset with an unknown setting names it and exits 2."""
    bad = tmp_path / "bad.toml"
    bad.write_text('description = "x"\ncolour = "red"\n', encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "snapcapi", "send", str(bad), "--preset", str(bad), "--dry-run"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert completed.returncode == 2
    assert "colour is not a preset setting" in completed.stderr
    assert "Traceback" not in completed.stderr


def _bulk_page() -> str:
    return (ROOT / "docs" / "bulk.md").read_text(encoding="utf-8")


def test_the_bulk_pages_recipes_run_as_written(exports):
    """Every `snapcapi send examples/data/...` recipe in docs/bulk.md runs on today's export."""
    folder, _ = exports
    section = _bulk_page().split("### Recipes, one per platform", 1)[1].split("```text", 1)[0]
    recipes = re.findall(r"^snapcapi send examples/data/(\S+) (.*)$", section, re.M)
    assert len(recipes) == len(PRESETS)
    for name, flags in recipes:
        completed = subprocess.run(
            [sys.executable, "-m", "snapcapi", "send", str(folder / name), *shlex.split(flags)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert completed.returncode in (0, 1), completed.stderr
        assert "rows checked" in completed.stdout
        assert "Traceback" not in completed.stderr


def test_the_bulk_pages_shown_run_is_what_the_command_prints(exports):
    """The output shown on the page is the real output (timings aside)."""
    folder, _ = exports
    page = _bulk_page()
    shown = page.split("The first one, as it ran", 1)[1].split("```text\n", 1)[1].split("```")[0]
    completed = subprocess.run(
        [sys.executable, "-m", "snapcapi", "send", str(folder / "shopify_orders.csv"),
         "--preset", "shopify", "--dry-run"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    timing = re.compile(r"in [\d.]+s \([\d,]+ rows/s\)")
    assert timing.sub("", completed.stdout) == timing.sub("", shown)

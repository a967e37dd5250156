"""benchmarks/prove_phone.py: the phone fast path agrees with phonenumbers; a wrong one fails."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from snapcapi import normalize

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "benchmarks" / "prove_phone.py"


@pytest.fixture
def prove() -> ModuleType:
    spec = importlib.util.spec_from_file_location("prove_phone", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_generator_is_seeded_and_mixes_every_form(prove: ModuleType) -> None:
    first = list(prove.generate(7, 3000))
    assert first == list(prove.generate(7, 3000))
    texts = [text for text, _ in first]
    assert any(text.startswith("+") for text in texts)
    assert any(text.startswith("00") for text in texts)
    assert any("(0)" in text for text in texts)
    assert any(region is None for _, region in first)
    assert len(set(texts)) > 2500  # distinct numbers, not a few repeated


def test_the_fast_path_agrees_with_phonenumbers_on_a_chunk(
    prove: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(normalize, "_phone_fast", normalize._phone_fast)  # check() replaces it
    count, answered, diffs = prove.check(11, 3000)
    assert diffs == []
    assert count == 3000
    assert answered > 1000  # the fast path really answered: what it answered is what is proven


def test_a_fast_path_that_drops_a_digit_is_caught(
    prove: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = normalize._phone_fast

    def wrong(digits: str, international: bool, region: str | None) -> str | None:
        found = real(digits, international, region)
        return found[:-1] if found is not None and found.endswith("7") else found

    monkeypatch.setattr(prove, "_FAST", wrong)
    monkeypatch.setattr(normalize, "_phone_fast", normalize._phone_fast)
    _, _, diffs = prove.check(11, 3000)
    assert diffs
    assert "fast" in diffs[0]
    assert "full" in diffs[0]


def test_the_command_reports_its_count_and_no_disagreement() -> None:
    run = subprocess.run(
        [sys.executable, str(TOOL), "--examples", "2000", "--chunk", "1000"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "2,000 examples" in run.stdout
    assert "0 disagreements" in run.stdout

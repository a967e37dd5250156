"""Prove the phone fast path equal to phonenumbers on millions of generated numbers.

``snapcapi.normalize.read_phone`` answers plain digit strings (with ``+``, ``00``, spaces,
dots, dashes and parentheses) from cached numbering plans (``_phone_fast``) and asks
``phonenumbers`` itself for everything else. This tool generates numbers the way exports
hold them and compares, for each one, ``read_phone`` as shipped with ``read_phone`` with the
fast path switched off (``_PHONE_FAST_PATH = False``): the same digits, or the same error
(field, message, code). A disagreement prints the input and exits 1.

The generator mixes, per example, a region of every kind (the busy ones, every supported
region, regions that share a calling code such as ``CA``/``US`` or ``GB``/``GG``, countries
without a numbering plan) or none, and a number of every kind:

* each region's example numbers of every type, written E.164, ``00``-prefixed, national with
  their trunk prefix, with ``(0)``, with the country code but no ``+``, with the region's own
  IDD prefix, in the punctuation exports use (spaces, dots, dashes, parentheses);
* those numbers with their last digits replaced (distinct numbers, mostly valid), or with
  digits added or removed (lengths around each plan's limits);
* random digit strings of 1 to 18 digits, with and without ``+``;
* a few inputs that leave the fast path (letters, extensions, ``*``), so both sides run the
  full path there.

It reports how many examples the fast path answered (those are the ones proven).

Usage: ``python benchmarks/prove_phone.py --examples 2000000 [--seed S] [--jobs N]``
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor

import phonenumbers

from snapcapi import normalize
from snapcapi.errors import ValidationError

_BUSY = ("US", "GB", "FR", "DE", "ES", "IT", "BR", "MX", "IN", "AU", "CA", "NL", "BE")
_BUSY += ("CH", "SE", "PL", "PT", "IE", "JP", "KR", "CN", "SA", "AE", "ZA", "NG", "AR")
# Regions that share a calling code with another.
_SHARED = ("CA", "US", "PR", "JM", "GB", "GG", "JE", "IM", "RU", "KZ", "IT", "VA", "FI", "AX")
_NO_PLAN = ("AQ", "BV", "HM")
_TYPES = (
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
    phonenumbers.PhoneNumberType.VOIP,
    phonenumbers.PhoneNumberType.PREMIUM_RATE,
    phonenumbers.PhoneNumberType.UAN,
)
_SEPARATORS = ("", " ", "-", ".", " - ")


def _examples() -> list[tuple[str, int, str]]:
    """Every region's example numbers as (region, country code, national significant number)."""
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in _TYPES:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                nsn = phonenumbers.national_significant_number(number)
                found.append((region, number.country_code, nsn))
    return found


_EXAMPLES = _examples()
_REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)


def _punctuate(rng: random.Random, digits: str) -> str:
    """Break digits into groups the way people and exports write them."""
    if len(digits) < 4 or rng.random() < 0.3:
        return digits
    sep = rng.choice(_SEPARATORS)
    cut = sorted(rng.sample(range(1, len(digits)), min(len(digits) - 1, rng.randint(1, 3))))
    parts = [digits[i:j] for i, j in zip([0, *cut], [*cut, len(digits)], strict=True)]
    if rng.random() < 0.2:
        parts[0] = f"({parts[0]})"
        return parts[0] + " " + sep.join(parts[1:])
    return sep.join(parts)


def _mutate(rng: random.Random, nsn: str) -> str:
    roll = rng.random()
    if roll < 0.55:  # distinct numbers of the same shape: replace the last digits
        keep = max(1, len(nsn) - rng.randint(2, 6))
        return nsn[:keep] + "".join(rng.choice("0123456789") for _ in nsn[keep:])
    if roll < 0.7:
        return nsn + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 3)))
    if roll < 0.85 and len(nsn) > 3:
        return nsn[: -rng.randint(1, 3)]
    return nsn


def _region_for(rng: random.Random, region: str) -> str | None:
    roll = rng.random()
    if roll < 0.6:
        return region
    if roll < 0.75:
        return rng.choice(_BUSY)
    if roll < 0.85:
        return rng.choice(_SHARED)
    if roll < 0.9:
        return rng.choice(_REGIONS)
    if roll < 0.93:
        return rng.choice(_NO_PLAN)
    return None


def _written(rng: random.Random, region: str, code: int, nsn: str) -> str:
    """One way of writing the number +code nsn."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region, None)
    trunk = (metadata.national_prefix or "") if metadata is not None else ""
    idd = (metadata.preferred_international_prefix or "") if metadata is not None else ""
    roll = rng.random()
    if roll < 0.25:
        return "+" + str(code) + " " * rng.randint(0, 1) + _punctuate(rng, nsn)
    if roll < 0.35:
        return "00" + str(code) + " " * rng.randint(0, 1) + _punctuate(rng, nsn)
    if roll < 0.65:
        return _punctuate(rng, trunk + nsn if rng.random() < 0.8 else nsn)
    if roll < 0.72:
        return f"+{code} (0){_punctuate(rng, nsn)}"
    if roll < 0.82:
        return str(code) + _punctuate(rng, nsn)  # E.164 without '+', as warehouses hold it
    if roll < 0.86 and idd.isdigit():
        return idd + " " + str(code) + " " + _punctuate(rng, nsn)
    return _punctuate(rng, nsn)


def generate(seed: int, count: int) -> Iterator[tuple[str, str | None]]:
    """Yield ``count`` (phone text, region) pairs, the same ones for the same seed."""
    rng = random.Random(seed)
    for _ in range(count):
        roll = rng.random()
        if roll < 0.85:
            region, code, nsn = rng.choice(_EXAMPLES)
            text = _written(rng, region, code, _mutate(rng, nsn))
            yield text, _region_for(rng, region)
        elif roll < 0.97:
            digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 18)))
            text = ("+" if rng.random() < 0.5 else "") + _punctuate(rng, digits)
            yield text, rng.choice((None, *_BUSY, *_SHARED))
        else:
            region, code, nsn = rng.choice(_EXAMPLES)
            odd = rng.choice(("ext. 12", "x9", "*", "a", "#1", "  ", "\u00a0"))
            yield f"+{code} {nsn} {odd}", rng.choice((None, region))


def _outcome(text: str, region: str | None) -> str:
    try:
        return normalize.read_phone(text, region)
    except ValidationError as exc:
        return f"ValidationError({exc.field!r}, {str(exc)!r}, {exc.code!r})"


_FAST = normalize._phone_fast


def check(seed: int, count: int) -> tuple[int, int, list[str]]:
    """Compare both paths on one seeded chunk: (examples, answered by the fast path, diffs)."""
    answered = 0

    def counting(digits: str, international: bool, region: str | None) -> str | None:
        nonlocal answered
        found = _FAST(digits, international, region)
        answered += found is not None
        return found

    normalize._phone_fast = counting  # read_phone looks it up at each call
    diffs: list[str] = []
    for text, region in generate(seed, count):
        normalize._PHONE_FAST_PATH = True
        fast = _outcome(text, region)
        normalize._PHONE_FAST_PATH = False
        full = _outcome(text, region)
        normalize._PHONE_FAST_PATH = True
        if fast != full:
            diffs.append(f"{text!r} in {region}: fast {fast} | full {full}")
    return count, answered, diffs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--chunk", type=int, default=50_000)
    args = parser.parse_args(argv)
    if not normalize._PHONE_FAST_PATH:
        sys.exit("the phone fast path is off in this phonenumbers release: nothing to prove")
    chunks = [
        (args.seed * 1_000_003 + i, min(args.chunk, args.examples - start))
        for i, start in enumerate(range(0, args.examples, args.chunk))
    ]
    start = time.perf_counter()
    total = answered = 0
    diffs: list[str] = []
    with ProcessPoolExecutor(args.jobs) as pool:
        for count, fast, found in pool.map(check, *zip(*chunks, strict=True)):
            total += count
            answered += fast
            diffs += found
    took = time.perf_counter() - start
    print(
        f"phonenumbers {phonenumbers.__version__}: {total:,} examples in {took:.0f} s; "
        f"{answered:,} ({answered / max(total, 1):.1%}) answered by the fast path, the rest by "
        f"phonenumbers on both sides; {len(diffs)} disagreements"
    )
    for line in diffs[:20]:
        print("  " + line)
    return 1 if diffs else 0


if __name__ == "__main__":
    raise SystemExit(main())

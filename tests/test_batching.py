"""Batching: never over the limits, nothing lost, order kept per asset."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from snapcapi._transport._batching import Batcher, Item, body_size, join_body


@given(
    sizes=st.lists(st.tuples(st.sampled_from(["pixel", "app"]), st.integers(1, 300)), max_size=200),
    max_events=st.integers(1, 20),
    max_bytes=st.integers(400, 3000),
    root=st.integers(0, 40),
)
@settings(max_examples=300)
def test_batches_stay_within_limits_and_lose_nothing(sizes, max_events, max_bytes, root):
    """Every item lands in exactly one batch, in order per asset, within both limits."""
    batcher = Batcher(max_events, max_bytes, root)
    batches = []
    expected: dict[str, list[int]] = {"pixel": [], "app": []}
    for index, (asset, size) in enumerate(sizes):
        item = Item(index, f"e{index}", b'"' + b"x" * size + b'"')
        if not batcher.fits_alone(item):
            continue
        expected[asset].append(index)
        batches.extend(batcher.add(asset, item))
    batches.extend(batcher.flush())
    got: dict[str, list[int]] = {"pixel": [], "app": []}
    for batch in batches:
        assert 1 <= len(batch.items) <= max_events
        assert body_size(batch.items, root) <= max_bytes
        assert len(join_body(batch.items, b"x" * root)) == body_size(batch.items, root)
        got[batch.asset_id].extend(item.index for item in batch.items)
    assert got == expected

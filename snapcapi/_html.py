"""Small HTML tables for notebooks (``_repr_html_``); every cell is escaped."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snapcapi.user_data import UserData

__all__ = ["identifier_rows", "table"]


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], caption: str = "") -> str:
    """Return a compact HTML table; cells are shown with ``str`` and escaped."""
    head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f"<td style='text-align:left'>{html.escape(str(cell))}</td>" for cell in row)
        + "</tr>"
        for row in rows
    )
    title = f"<caption style='text-align:left'>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{title}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def identifier_rows(user: UserData, prefix: str = "user_data.") -> list[tuple[str, str]]:
    """Return ``(field, shown)`` rows for user data, safe to display.

    A hashed identifier shows the start of the SHA-256 digest that is sent, with its masked
    normalized form to recognise it (``sha256:8f1c2d3e… (j***@e******.com)``); the others are
    masked as in ``repr``.
    """
    from snapcapi.user_data import _HASHED

    wire = user.to_payload()
    rows: list[tuple[str, str]] = []
    for field, shown in user._shown():
        masked = [str(v) for v in shown] if isinstance(shown, list) else [str(shown)]
        spec = _HASHED.get(field)
        digests = wire.get(spec[0]) if spec is not None else None
        if spec is None or not digests:
            rows.append((prefix + field, ", ".join(masked)))
            continue
        digests = digests if isinstance(digests, list) else [digests]
        masked += [""] * (len(digests) - len(masked))  # they pair up; never lose a digest
        cells = [_hash_cell(digest, label) for digest, label in zip(digests, masked, strict=False)]
        rows.append((f"{prefix}{field} ({spec[0]})", ", ".join(cells)))
    return rows


def _hash_cell(digest: str, masked: str) -> str:
    short = f"sha256:{digest[:8]}…"
    return short if not masked or masked.startswith("sha256:") else f"{short} ({masked})"

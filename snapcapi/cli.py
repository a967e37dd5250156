"""The ``snapcapi`` command line: a thin layer over :class:`snapcapi.Client`.

``snapcapi demo`` starts the embedded fake Snap server, sends a handful of realistic events
through the real client and prints what became of each one. ``snapcapi send FILE`` uploads a
CSV or JSONL file (``validate`` and ``diagnose`` are shorthands); see ``snapcapi --help``.

Exit codes: 0 every row accepted (in a dry run: valid), 1 some not, 2 a usage or configuration
error (nothing sent, or the token refused) or a ``.gz`` cut short (the rows before the cut
sent and reported) or damaged (nothing sent), 130 Ctrl-C and 143 SIGTERM (the summary
printed, every row read in the report).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, NoReturn, TextIO, cast

from snapcapi._bulk import (
    BulkOptions,
    BulkSummary,
    ErrorRateExceeded,
    describe_map,
    explain,
    interrupts,
    run_bulk,
)
from snapcapi._files import EscapingText
from snapcapi._masking import plural
from snapcapi._presets import load_preset, preset_names
from snapcapi._progress import Progress
from snapcapi._version import __version__
from snapcapi.client import Client
from snapcapi.custom_data import CustomData
from snapcapi.enums import EventName
from snapcapi.errors import (
    AuthenticationError,
    SnapCapiError,
    UnknownAssetError,
    ValidationError,
)
from snapcapi.events import Event, resolve_timezone
from snapcapi.records import ColumnMap, Filter, Recipe
from snapcapi.results import SendResult
from snapcapi.sources import RecordSource
from snapcapi.testing import FakeSnapServer
from snapcapi.user_data import UserData

__all__ = ["main"]

_UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 Version/17.1 Safari"


def demo_events(now: datetime) -> list[Event]:
    """Build the demo's events: four good ones, one unfit to send, one Snap will reject."""
    shop = "https://shop.example.com"
    return [
        Event(
            event_name="Purchase",
            event_time=now - timedelta(minutes=2),
            action_source="website",
            event_source_url=f"{shop}/checkout/thanks",
            event_id="order-1001",
            user_data=UserData(
                email=" Jane.Doe@Example.com ",
                phone="(415) 555-0132",
                region="US",
                client_ip_address="203.0.113.7",
                client_user_agent=_UA,
            ),
            custom_data=CustomData(value=Decimal("142.52"), currency="usd", order_id="order-1001"),
        ),
        Event(
            event_name="Add to Cart",
            event_time=now - timedelta(minutes=9),
            action_source="WEB",
            event_source_url=f"{shop}/products/boots",
            event_id="cart-2002",
            user_data=UserData(client_ip_address="198.51.100.23", client_user_agent=_UA),
            custom_data=CustomData(content_ids=["boots-42"], value="89.00", currency="USD"),
        ),
        Event(
            event_name="Complete Registration",
            event_time=now - timedelta(hours=1),
            action_source="WEB",
            event_source_url=f"{shop}/signup",
            event_id="signup-3003",
            user_data=UserData(email="raphael@example.fr", first_name="Raphaël", country="FR"),
            custom_data=CustomData(sign_up_method="email"),
        ),
        Event(
            event_name="PURCHASE",
            event_time=now - timedelta(days=2),
            action_source="physical_store",
            event_id="store-4004",
            user_data=UserData(phone="+44 20 7946 0958", last_name="O'Neil"),
            custom_data=CustomData(value=25, currency="GBP", order_id="store-4004"),
        ),
        Event(  # no matching key: reported INVALID, never sent
            event_name="SEARCH",
            event_time=now,
            action_source="WEB",
            event_source_url=f"{shop}/search?q=boots",
            event_id="search-5005",
            user_data=UserData(client_ip_address="192.0.2.10"),
            custom_data=CustomData(search_string="boots"),
        ),
        Event(  # the fake server is told to reject this one, as Snap would a bad event
            event_name="PURCHASE",
            event_time=now - timedelta(minutes=30),
            action_source="WEB",
            event_source_url=f"{shop}/checkout/thanks",
            event_id="order-6006",
            user_data=UserData(email="buyer@example.com"),
            custom_data=CustomData(value="10.00", currency="EUR", order_id="order-6006"),
        ),
    ]


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def print_table(events: Sequence[Event], result: SendResult, out: TextIO) -> None:
    """Print one line per event: index, id, name, status, attempts and reason."""
    rows = [("#", "event_id", "event_name", "status", "http", "tries", "reason")]
    for event, outcome in zip(events, result.events, strict=True):
        rows.append(
            (
                str(outcome.index),
                outcome.event_id or "",
                event.event_name.value,
                outcome.status.value,
                str(outcome.http_status or ""),
                str(outcome.attempts),
                _shorten(outcome.reason or "", 100),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        out.write(line.rstrip() + "\n")
    counts = ", ".join(f"{name.lower()} {n}" for name, n in result.counts.items() if n)
    out.write(f"\n{len(result)} events: {counts}\n")


def run_demo(out: TextIO) -> int:
    """Send the demo events to a fake Snap server and print the per-event results."""
    now = datetime.now(timezone.utc)
    events = demo_events(now)
    with (
        FakeSnapServer() as server,
        Client(server.pixel_id, server.token, base_url=server.url) as client,
    ):
        server.reject("order-6006", code="INVALID_CURRENCY", message="Currency not enabled")
        server.script(503, headers={"Retry-After": "0"})  # one outage, retried transparently
        out.write(f"Fake Snap server at {server.url}; sending {len(events)} events...\n\n")
        result = client.send(events)
        print_table(events, result, out)
        out.write(f"The server recorded {len(server.unique_events())} events.\n")
    out.write(
        "\nNext, a file: run `snapcapi fake-server` in one terminal and, with the variables it "
        "prints,\n`snapcapi send examples/data/shopify_orders.csv --preset shopify` in another "
        "(`snapcapi presets` lists the platforms).\n"
    )
    return 0


_EPILOG = """\
examples:
  snapcapi demo
  snapcapi fake-server                       # in one terminal: a fake Snap on 127.0.0.1
  snapcapi send orders.csv --preset shopify --dry-run
  snapcapi send orders.csv --pixel-id $PIXEL --action-source OFFLINE --event-name PURCHASE \\
      --key order_id --timezone Europe/Paris --report report.csv
  snapcapi send orders.csv --explain          # the mapping and the first rows, then exit
  snapcapi send orders.jsonl.gz --map email=contact_email --aliases "Sale=PURCHASE,Lead=SIGN_UP"
  snapcapi send orders.csv --key order_id --report report2.csv --resume report.csv
  snapcapi validate orders.csv --pixel-id $PIXEL
  snapcapi diagnose orders.csv --fail-under 80
  snapcapi presets shopify > my_shop.toml     # a preset to copy and edit (--preset my_shop.toml)

credentials: the access token comes from SNAP_ACCESS_TOKEN or --token-file (never from the
command line, where it would be visible to other users); ids from --pixel-id / --snap-app-id
or SNAP_PIXEL_ID / SNAP_APP_ID; SNAP_CAPI_BASE_URL (or --base-url) points at another host,
such as `snapcapi fake-server`.

exit codes: 0 every row accepted (dry run: valid; rows skipped on purpose count as fine),
1 some rows not (or diagnose below --fail-under), 2 usage or configuration error (or a .gz
cut short: the rows before the cut are sent and reported; or damaged: nothing is sent),
130 Ctrl-C, 143 SIGTERM (both: the summary printed, every row read in the report).
"""

_FILE_HELP = """\
columns: every run prints the column -> field table it used (--quiet hides it, --explain shows
the first rows' normalized values too). Columns are matched explicitly (--map FIELD=COLUMN,
--mapping-file, --preset), by a field's own name (email, phone, first_name, zip_code, value,
currency, order_id, event_time, ...) or by an unambiguous synonym (zip, postal_code, ip,
user_agent, price, quantity, ...), compared without case; --no-synonyms turns synonyms off,
--ignore COLUMN skips a column, --map FIELD= leaves a field unmapped. Generic names (source,
platform, items, status, type) are never matched on their own: map them if you want them.

identity: a row's event_id is its own event_id column, else derived from --key COLUMN[,...]
and the event name, else from the row's mapped content (never its position), so a re-run, a
--resume and a re-export deduplicate. Rows repeating an earlier row's event_id are one event.
"""

#: The flag that sets each library argument named in an error.
_FLAGS = {
    "mapping": "--map",
    "db": "--db",
    "query": "--query",
    "resume": "--resume",
    "preset": "--preset",
    "encoding": "--encoding",
    "timezone": "--timezone",
    "time_format": "--time-format",
    "region": "--region",
    "aliases": "--aliases",
    "format": "--format",
    "base_url": "--base-url",
    "batch_size": "--batch-size",
    "max_workers": "--workers",
    "max_retries": "--max-retries",
    "timeout": "--timeout",
    "test_event_code": "--test-event-code",
    "pixel_id": "--pixel-id",
    "snap_app_id": "--snap-app-id",
    "access_token": "SNAP_ACCESS_TOKEN",
    "defaults": "--set",
    "key": "--key",
    "where": "--where",
    "exclude": "--exclude",
    "group_by": "--group-by",
    "consent_column": "--consent-column",
    "ignore": "--ignore",
    "invalid_out": "--invalid-out",
    "report": "--report",
    "payload_out": "--payload-out",
    "require_consent": "--require-consent",
}


class _Usage(Exception):
    """A usage or configuration problem: exit 2 with the message."""


class _Parser(argparse.ArgumentParser):
    """The argument parser, whose errors are one line naming the flag, then where help is."""

    def error(self, message: str) -> NoReturn:
        """Print ``snapcapi: error: MESSAGE`` and a line pointing at ``--help``; exit 2."""
        self.exit(2, f"snapcapi: error: {message}\nsee {self.prog} --help\n")


def _whole(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """Return an argparse type for a whole number from ``minimum`` (to ``maximum``)."""
    wanted = (
        f"a whole number from {minimum} to {maximum}"
        if maximum is not None
        else f"a whole number, {minimum} or more"
    )

    def whole(text: str) -> int:
        stripped = text.strip()
        digits = stripped.removeprefix("-").removeprefix("+")
        if not digits.isdigit() or len(digits) > 18:  # also 1e400, nan, 3.5, a word
            raise argparse.ArgumentTypeError(f"takes {wanted}, not {_printable(text)!r}")
        number = int(stripped)
        if number < minimum or (maximum is not None and number > maximum):
            raise argparse.ArgumentTypeError(f"takes {wanted}, not {number}")
        return number

    whole.__name__ = "whole number"
    return whole


class Terminated(KeyboardInterrupt):
    """The process was sent SIGTERM: the command line stops as on Ctrl-C (exit 143).

    A ``KeyboardInterrupt``, so the send stops as on Ctrl-C: every row read gets its line in
    the report (an event on the wire "may have reached Snap; safe to resend") and the summary
    is printed.
    """


@contextlib.contextmanager
def _interrupts() -> Iterator[None]:
    """Make SIGTERM raise :class:`Terminated` and Ctrl-C ``KeyboardInterrupt`` while it runs.

    Both wait while a row is in hand (:class:`snapcapi._bulk.Interrupts`), so every row read
    has its line in the report. Outside the main thread (an embedding program's worker),
    nothing is installed. A second SIGTERM while the first is being handled is ignored: the
    report is being written.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised = False

    def on_sigterm(signum: int, frame: Any) -> None:
        nonlocal raised
        if not raised:
            raised = True
            interrupts.arrive(Terminated())

    def on_sigint(signum: int, frame: Any) -> None:
        interrupts.arrive(KeyboardInterrupt())

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    previous_int = None
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        previous_int = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        if previous_int is not None:
            signal.signal(signal.SIGINT, previous_int)


def _pairs(values: Sequence[str], option: str, *, empty: bool = False) -> dict[str, str]:
    found: dict[str, str] = {}
    for value in values:
        for part in value.split(","):
            if not part.strip():
                continue
            key, eq, target = part.partition("=")
            if not eq or not key.strip() or (not target.strip() and not empty):
                raise _Usage(f"{option} takes NAME=VALUE pairs, got {part!r}")
            found[key.strip()] = target.strip()
    return found


#: Bytes of a --mapping-file read at most: FIELD=COLUMN lines for a few dozen fields.
_MAPPING_FILE_LIMIT = 1_000_000
#: Characters of the first line of a --token-file read at most (Snap's tokens are ~1 KB).
_TOKEN_FILE_LIMIT = 65_536


def _read_text_file(path: str, flag: str, limit: int, *, first_line: bool = False) -> str:
    """Read a small UTF-8 file a flag names (its first line only, with ``first_line``).

    Raises:
        _Usage: It cannot be read, is not UTF-8 text or is larger than ``limit``. The message
            never quotes the file's content (a token file's is a secret).
    """
    try:
        with open(path, encoding="utf-8-sig") as stream:
            text = stream.readline(limit + 1) if first_line else stream.read(limit + 1)
    except OSError as exc:
        raise _Usage(f"cannot read {flag} {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise _Usage(f"{flag} {path} is not a UTF-8 text file (is it the right file?)") from None
    if len(text) > limit:
        what = "its first line is" if first_line else "it is"
        raise _Usage(
            f"{flag} {path}: {what} longer than {limit:,} characters; is it the right file?"
        )
    return text


def _read_mapping_file(path: str) -> dict[str, str]:
    """Read FIELD=COLUMN lines, or a JSON object of field: column."""
    text = _read_text_file(path, "--mapping-file", _MAPPING_FILE_LIMIT)
    if text.lstrip().startswith("{"):
        try:
            loaded = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise _Usage(f"the mapping file {path} is not valid JSON: {exc}") from None
        if not isinstance(loaded, Mapping) or not all(isinstance(v, str) for v in loaded.values()):
            raise _Usage(f'the mapping file {path} must be a JSON object {{"field": "column"}}')
        return {str(k): v for k, v in loaded.items()}
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return _pairs(lines, f"the mapping file {path}", empty=True)


def _aliases(pairs: Mapping[str, Any]) -> dict[str, str | int | EventName]:
    found: dict[str, str | int | EventName] = {}
    for name, target in pairs.items():
        text = str(target).strip()
        found[name] = int(text) if text.isdigit() else text
    return found


def _token(args: argparse.Namespace) -> str:
    if args.token_file:
        path = args.token_file
        token = _read_text_file(path, "--token-file", _TOKEN_FILE_LIMIT, first_line=True).strip()
        if not token:
            raise _Usage(f"--token-file {path} is empty")
        if not token.isprintable() or not token.isascii() or " " in token:
            raise _Usage(
                f"--token-file {path} does not hold a token on its first line (it has "
                "characters no token has); put the token alone on the first line"
            )
        return token
    token = os.environ.get("SNAP_ACCESS_TOKEN", "").strip()
    if not token:
        raise _Usage(
            f"no access token: {_unset('SNAP_ACCESS_TOKEN')}; set it or pass --token-file PATH"
        )
    return token


def _unset(name: str) -> str:
    """Say that an environment variable is unset, or set but blank (a common slip)."""
    return f"{name} is set but blank" if name in os.environ else f"{name} is not set"


def _add_file_options(command: argparse.ArgumentParser, *, sending: bool) -> None:
    command.add_argument(
        "file",
        metavar="FILE",
        nargs="?",
        help="a .csv, .tsv or .jsonl file (.gz too), or a .parquet file; - reads standard input "
        "(CSV unless --format)",
    )
    rows = command.add_argument_group("reading a query instead of a file")
    rows.add_argument(
        "--query",
        metavar="SQL",
        help="read the rows of this SQL query instead of FILE: in DuckDB over files "
        "(SELECT ... FROM 'orders/*.parquet'), or in the database --db names",
    )
    rows.add_argument(
        "--db",
        metavar="URL",
        help="the database --query runs in, as a SQLAlchemy URL (postgresql+psycopg://user@"
        "host/db, sqlite:///shop.db; default: the SNAPCAPI_DB_URL environment variable); "
        "put the password in the environment variable, not on the command line",
    )
    _add_mapping_options(command.add_argument_group("reading the file"))
    _add_row_options(command.add_argument_group("rows and values"))
    if sending:
        _add_snap_options(command.add_argument_group("Snap"))
        _add_output_options(command.add_argument_group("output"))


def _add_mapping_options(group: Any) -> None:
    group.add_argument("--preset", help="a platform's mapping and filters (see snapcapi presets)")
    group.add_argument("--format", choices=("csv", "tsv", "jsonl"), help="override the name")
    group.add_argument("--encoding", help="the file's text encoding (default utf-8; cp1252)")
    group.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="read FIELD from COLUMN (repeat or comma-separate; A|B for several columns, a.b "
        "for nested JSON; FIELD= leaves it unmapped)",
    )
    group.add_argument("--mapping-file", metavar="PATH", help="FIELD=COLUMN lines or a JSON object")
    group.add_argument(
        "--ignore", action="append", default=[], metavar="COLUMN", help="never read COLUMN"
    )
    group.add_argument(
        "--no-synonyms", action="store_true", help="match columns by field names only"
    )
    group.add_argument(
        "--explain", action="store_true", help="print the mapping and the first 3 rows, then exit"
    )
    group.add_argument("--quiet", action="store_true", help="no mapping table, no progress")


def _add_row_options(group: Any) -> None:
    group.add_argument(
        "--key", metavar="COLUMN[,COLUMN]", help="columns identifying one event (its event_id)"
    )
    group.add_argument(
        "--group-by", metavar="COLUMN", help="consecutive rows with the same value are one event"
    )
    group.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="COLUMN=VALUE[,VALUE]",
        help="keep only rows whose COLUMN is one of the values (case-insensitive)",
    )
    group.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="COLUMN=VALUE[,VALUE]",
        help="skip rows whose COLUMN is one of the values (* for any non-blank)",
    )
    group.add_argument("--timezone", metavar="ZONE", help="IANA zone of times without an offset")
    group.add_argument("--time-format", metavar="FORMAT", help="strptime format of the times")
    group.add_argument(
        "--decimal-comma", action="store_true", help="amounts are written 49,00 or 1.200,00"
    )
    group.add_argument(
        "--aliases",
        action="append",
        default=[],
        metavar="NAME=EVENT",
        help="business event names to Snap's (Sale=PURCHASE) or custom events (Donate=1)",
    )
    group.add_argument(
        "--region", help="phone region for numbers without +code when the row has no country"
    )
    group.add_argument("--event-name", help="event name for rows without one (PURCHASE)")
    group.add_argument("--action-source", help="action source for rows without one (OFFLINE)")
    group.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="a value for rows that lack FIELD (currency=USD)",
    )
    group.add_argument(
        "--on-invalid",
        choices=("drop", "raise"),
        default="drop",
        help="a bad identifier is dropped and counted (drop, default: the event stays if a "
        "matching key remains) or makes its row INVALID (raise)",
    )
    group.add_argument("--consent-column", metavar="COLUMN", help="true/yes/1/y means consent")
    group.add_argument("--require-consent", action="store_true", help="skip rows without consent")


def _add_snap_options(creds: Any) -> None:
    creds.add_argument("--pixel-id", help="Pixel ID for WEB and OFFLINE events")
    creds.add_argument("--snap-app-id", help="Snap App ID for MOBILE_APP events")
    creds.add_argument("--token-file", metavar="PATH", help="file holding the access token")
    creds.add_argument("--base-url", help="Snap's host (default https://tr.snapchat.com)")
    creds.add_argument(
        "--batch-size", type=_whole(1, 2000), default=2000, help="events per request"
    )
    creds.add_argument("--workers", type=_whole(1), default=1, help="requests in flight at once")
    creds.add_argument(
        "--max-retries", type=_whole(0), default=5, help="retries of a request after an outage"
    )
    creds.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    creds.add_argument("--test-event-code", help="send as test events under this code")


def _add_output_options(output: Any) -> None:
    output.add_argument("--report", metavar="PATH", help="one line per event (.csv or .jsonl)")
    output.add_argument(
        "--resume", metavar="PATH", help="skip the rows (by event_id) a report marks ACCEPTED"
    )
    output.add_argument(
        "--invalid-out", metavar="PATH", help="the INVALID and REJECTED rows, with status, reason"
    )
    output.add_argument(
        "--max-error-rate",
        type=float,
        metavar="R",
        help="stop (exit 1) when more than this share of rows is invalid or rejected (0.05)",
    )
    output.add_argument(
        "--min-rows",
        type=_whole(0),
        default=100,
        metavar="N",
        help="rows before --max-error-rate counts",
    )


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="snapcapi",
        description="Send conversions to Snap's Conversions API v3.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )

    parser.add_argument("--version", action="version", version=f"snapcapi {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "demo",
        help="send example events to an embedded fake Snap server and print the results",
        description=(
            "Start a fake Snap server on 127.0.0.1, send six realistic events through the real "
            "client (one unfit to send, one the server rejects, one outage retried) and print "
            "what became of each event. Needs no network and no credentials."
        ),
    )

    def file_command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=summary,
            description=f"{description}\n\n{_FILE_HELP}",
            epilog=_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    send = file_command(
        "send",
        "upload a CSV or JSONL file of events",
        "Normalize, hash and send every row of FILE; report on every row.",
    )
    _add_file_options(send, sending=True)
    mode = send.add_argument_group("mode")
    mode.add_argument(
        "--dry-run", action="store_true", help="check every row, send nothing (no token needed)"
    )
    mode.add_argument(
        "--payload-out", metavar="PATH", help="with --dry-run: write each event's JSON payload"
    )
    mode.add_argument(
        "--validate", action="store_true", help="use Snap's validate endpoint (nothing recorded)"
    )
    validate = file_command(
        "validate",
        "send a file to Snap's validate endpoint (same as send --validate)",
        "Send every row of FILE to /events/validate: Snap judges each event and records nothing.",
    )
    _add_file_options(validate, sending=True)
    diagnose = file_command(
        "diagnose",
        "report how well a file's events will match, with recommendations",
        "Read FILE without sending and print its match quality: which identifiers events "
        "carry, invalid ones, old events, duplicates, per event name, and what to improve. "
        "Exits 1 when no row is usable or the score is below --fail-under.",
    )
    _add_file_options(diagnose, sending=False)
    diagnose.add_argument("--json", action="store_true", help="print the report as JSON")
    diagnose.add_argument(
        "--fail-under", type=float, metavar="SCORE", help="exit 1 when the score (0-100) is lower"
    )
    presets = commands.add_parser(
        "presets",
        help="list the platform presets, or print one to copy and edit",
        description="Without NAME, list the presets; with NAME, print its TOML file.",
    )
    presets.add_argument("name", nargs="?", metavar="NAME", help="a preset to print")
    fake = commands.add_parser(
        "fake-server",
        help="run the embedded fake Snap server in the foreground (Ctrl-C stops it)",
        description=(
            "Serve the fake Snap server on 127.0.0.1 and print its base URL, Pixel ID and "
            "token; point snapcapi send at it with --base-url (or SNAP_CAPI_BASE_URL). It "
            "answers in Snap's documented shape or, with --answers live, as a live Snap does; "
            "--show prints what arrives, one line per accepted event."
        ),
    )
    fake.add_argument(
        "--port", type=_whole(0, 65535), default=0, help="port to listen on (default: any)"
    )
    fake.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    fake.add_argument(
        "--fail-rate", type=float, default=0.0, help="share of requests failed at random"
    )
    fake.add_argument("--pixel-id", help="the Pixel ID it accepts (default: a new one)")
    fake.add_argument(
        "--answers",
        choices=("documented", "live"),
        default="documented",
        help=(
            "the shape of its error bodies: documented (Snap's schema: reason, event index, "
            "errors; the default) or live (what a live Snap 400 sends: only error_msgs)"
        ),
    )
    fake.add_argument(
        "--show",
        action="store_true",
        help=(
            "print one line per accepted event: its name, event_id, action_source and the "
            "user_data keys that came (hashed values shortened; never a raw value or the token)"
        ),
    )
    from snapcapi._sync_cli import add_sync_parser  # sync's flags live with sync

    add_sync_parser(commands)
    return parser


def _filters(values: Sequence[str], *, keep: bool) -> list[Filter]:
    return [Filter.parse(value, keep=keep) for value in values]


def _preset_filters(table: Mapping[str, Any], *, keep: bool) -> list[Filter]:
    return [Filter(column, tuple(values), keep) for column, values in table.items()]


def _mapping_value(column: str) -> str | list[str]:
    parts = [part.strip() for part in column.split("|")]
    return parts if len(parts) > 1 else column.strip()


def _options(args: argparse.Namespace) -> BulkOptions:
    """Turn the flags (over a preset's settings) into what the bulk run needs."""
    preset = load_preset(args.preset) if args.preset else None
    settings: Mapping[str, Any] = preset.settings if preset is not None else {}

    def setting(flag: Any, name: str, default: Any = None) -> Any:
        return flag if flag not in (None, "", False) else settings.get(name, default)

    mapping: dict[str, Any] = dict(settings.get("map", {}))
    given = _read_mapping_file(args.mapping_file) if args.mapping_file else {}
    given.update(_pairs(args.map, "--map", empty=True))
    mapping.update((k, _mapping_value(v)) for k, v in given.items())
    optional = frozenset(settings.get("map", {})) - set(given)
    defaults: dict[str, Any] = dict(settings.get("set", {}))
    defaults.update(_pairs(args.set, "--set"))
    if args.event_name:
        defaults["event_name"] = args.event_name
    if args.action_source:
        defaults["action_source"] = args.action_source
    aliases = _aliases({**settings.get("aliases", {}), **_pairs(args.aliases, "--aliases")})
    # A flag's filter adds to the preset's: a row must pass them all (replacing the preset's
    # "paid orders only" with "not partially paid" would let refunds through).
    where = [*_preset_filters(settings.get("where", {}), keep=True),
             *_filters(args.where, keep=True)]  # fmt: skip
    exclude = [*_preset_filters(settings.get("exclude", {}), keep=False),
               *_filters(args.exclude, keep=False)]  # fmt: skip
    key = args.key.split(",") if args.key else list(settings.get("key", []))
    recipe = Recipe(
        mapping=mapping,
        aliases=aliases or None,
        region=args.region,
        defaults=defaults,
        on_invalid=args.on_invalid,
        key=tuple(k.strip() for k in key if k.strip()),
        group_by=setting(args.group_by, "group_by"),
        timezone=setting(args.timezone, "timezone"),
        time_format=setting(args.time_format, "time_format"),
        where=tuple(where),
        exclude=tuple(exclude),
        ignore=(*settings.get("ignore", []), *args.ignore),
        synonyms=False if args.no_synonyms else bool(settings.get("synonyms", True)),
        decimal_comma=bool(args.decimal_comma or settings.get("decimal_comma", False)),
        consent_column=setting(args.consent_column, "consent_column"),
        final_region=True,
        optional=optional,
    )
    recipe.check()
    if recipe.timezone:
        _check_timezone(recipe.timezone)  # a misspelt zone is refused before any row
    max_error_rate = getattr(args, "max_error_rate", None)
    if max_error_rate is not None and not 0 <= max_error_rate <= 1:
        raise _Usage("--max-error-rate is a share between 0 and 1, such as 0.05")
    dry_run = args.command == "send" and args.dry_run
    validate = args.command == "validate" or (args.command == "send" and args.validate)
    return BulkOptions(
        path=args.file,
        recipe=recipe,
        format=setting(args.format, "format"),
        encoding=setting(args.encoding, "encoding"),
        preset=args.preset,
        dry_run=dry_run,
        validate=validate,
        payload_out=getattr(args, "payload_out", None),
        report=getattr(args, "report", None),
        resume=getattr(args, "resume", None),
        invalid_out=getattr(args, "invalid_out", None),
        test_event_code=getattr(args, "test_event_code", None),
        require_consent=args.require_consent,
        max_error_rate=max_error_rate,
        min_rows=getattr(args, "min_rows", 100),
    )


def _check_timezone(zone: str) -> None:
    """Refuse a time zone Python does not know, quoting it (a zone's name is not personal).

    Raises:
        _Usage: Naming --timezone (or the preset's ``timezone``) and the zone as given.
    """
    try:
        resolve_timezone(zone)
    except ValidationError:
        raise _Usage(
            f"--timezone {_printable(zone)!r} is not a time zone Python knows; give an IANA "
            "name such as Europe/Paris, America/New_York or UTC"
        ) from None


def _source(args: argparse.Namespace) -> Callable[[], RecordSource] | None:
    """Work out where the rows come from: a file, a Parquet file or a query.

    ``args.file`` becomes the name the summary and the report give the source (a query on a
    database is named by its URL without the password). Return None for a CSV, TSV or JSONL
    file (run_bulk reads it), else what opens the source.

    Raises:
        _Usage: FILE and --query together, neither, --db without --query, or no such file.
    """
    from snapcapi import sources

    query = (args.query or "").strip()
    if args.db is not None and not args.db.strip():
        raise _Usage("--db is empty; give a database URL, or leave --db out")
    if query:
        if args.file is not None:
            raise _Usage("give FILE or --query, not both")
        url = (args.db or os.environ.get("SNAPCAPI_DB_URL", "")).strip()
        if url:
            args.file = f"query on {sources.safe_url(url)}"
            return lambda: sources.from_sql(url, query)
        args.file = "query in DuckDB"
        return lambda: sources.from_duckdb(query)
    if args.query is not None:
        raise _Usage("--query is empty; give the SQL to read rows from")
    if args.db is not None:
        raise _Usage("--db goes with --query: give the SQL to run in that database")
    if args.file is None:
        raise _Usage("give a FILE to read, or --query SQL")
    _check_input(args.file)
    path = args.file
    if path.lower().endswith(".parquet") and args.format is None:
        return lambda: sources.from_parquet(path)
    return None


def _check_input(path: str) -> None:
    if path == "-":
        return
    if not os.path.exists(path):
        raise _Usage(f"no such file: {path}")
    if os.path.isdir(path):
        raise _Usage(f"{path} is a directory; give a .csv, .tsv or .jsonl file")


def _client(args: argparse.Namespace, options: BulkOptions) -> Client:
    token = _token(args)
    pixel = args.pixel_id or os.environ.get("SNAP_PIXEL_ID", "").strip()
    app = args.snap_app_id or os.environ.get("SNAP_APP_ID", "").strip()
    source = str(options.recipe.defaults.get("action_source") or "")
    app_only = source.strip().upper().replace("-", "_") in ("MOBILE_APP", "APP")
    if not pixel and not (app and app_only):
        raise _Usage(
            "no Pixel ID: WEB and OFFLINE events go to --pixel-id ID (or SNAP_PIXEL_ID; "
            f"{_unset('SNAP_PIXEL_ID')}); --snap-app-id ID takes MOBILE_APP events (with "
            "--action-source MOBILE_APP)"
        )
    return Client(
        args.pixel_id,
        token,
        snap_app_id=args.snap_app_id,
        base_url=args.base_url,
        batch_size=args.batch_size,
        max_workers=args.workers,
        max_retries=args.max_retries,
        timeout=args.timeout,
        default_region=args.region,
        require_consent=options.require_consent,
    )


def _check_number(
    value: float | None, flag: str, fits: Callable[[float], bool], wanted: str
) -> None:
    """Refuse a number flag that is not finite (``nan``, ``inf``) or does not fit.

    Raises:
        _Usage: Naming the flag and the numbers it takes.
    """
    if value is not None and not (math.isfinite(value) and fits(value)):
        raise _Usage(f"{flag} takes {wanted}, not {value!r}")


def _run_file(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    dry_run = args.command == "send" and args.dry_run
    validate = args.command == "validate" or (args.command == "send" and args.validate)
    if dry_run and validate:
        raise _Usage("--dry-run and --validate exclude each other")
    if getattr(args, "payload_out", None) and not dry_run:
        raise _Usage("--payload-out goes with --dry-run")
    source = _source(args)
    options = _options(args)
    if args.explain:
        explain(options, out, source=source)
        return 0
    factory = None
    if not dry_run:
        client = _client(args, options)

        def factory() -> Client:
            return client

    def show_map(table: str) -> None:
        if not args.quiet:
            progress.pause()
            out.write(table)
            out.flush()

    progress = Progress(err, enabled=not args.quiet and err.isatty())
    try:
        summary = run_bulk(options, factory, progress, on_map=show_map, source=source)
    except ErrorRateExceeded as exc:
        progress.close()
        (exc.summary or BulkSummary()).write(out)
        return 1
    except (KeyboardInterrupt, AuthenticationError, UnknownAssetError) as exc:
        progress.close()  # the summary counts every row read, then main says what stopped
        interrupted: BulkSummary | None = getattr(exc, "snapcapi_summary", None)
        if interrupted is not None:
            interrupted.write(out)
        raise
    finally:
        progress.close()  # before any message, so a bar does not swallow it
    summary.write(out)
    if summary.truncated_after is not None:
        cut = _cut_short(
            args.file, summary.truncated_after, sent=not dry_run, reason=summary.cut_reason
        )
        err.write(f"snapcapi: error: {cut}\n")
        return 2
    return 0 if summary.ok else 1


def _cut_short(path: str, row: int, *, sent: bool = False, reason: str | None = None) -> str:
    """Say that a file could be read only up to ``row`` (a ``.gz`` cut short, a query failed)."""
    done, again = (
        (" and sent", " with --resume REPORT to skip the rows accepted") if sent else ("", "")
    )
    if reason is not None:  # a query (or a Parquet file) failed part way
        flag, what = ("--query", "the query") if path.startswith("query ") else ("FILE", "it")
        return (
            f"{flag}: {path}: {reason}; the rows up to there were read{done}, the rest were "
            f"not; fix {what} or the data and run again{again}"
        )
    last = f"after row {row:,}" if row else "before its first row"
    return (
        f"{path} is cut short {last} (a .gz not copied or downloaded whole): the rows up to "
        f"the cut were read{done}, the rest of the file is missing; get the whole file and run "
        f"again{again}"
    )


def _run_diagnose(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from snapcapi._files import RowSource, check_gzip
    from snapcapi.diagnostics import diagnose

    _check_number(args.fail_under, "--fail-under", lambda v: 0 <= v <= 100, "a score from 0 to 100")
    opener = _source(args)
    options = _options(args)
    recipe = options.recipe
    if args.explain:
        explain(options, out, source=opener)
        return 0
    if opener is None:
        check_gzip(args.file)  # a corrupt .gz may decompress to garbage: it is not judged
    source = opener() if opener else RowSource(args.file, options.format, options.encoding)
    with contextlib.closing(source):

        def show_map(found: ColumnMap) -> None:
            if not args.quiet and not args.json:
                out.write(describe_map(found, recipe))

        # Unreadable rows go in as problems: they count against the score, as in a send.
        report = diagnose(
            (record for _, record in source),
            mapping=recipe.mapping,
            aliases=recipe.aliases,
            region=recipe.region,
            defaults=recipe.defaults,
            on_invalid=recipe.on_invalid,
            key=recipe.key,
            group_by=recipe.group_by,
            timezone=recipe.timezone,
            time_format=recipe.time_format,
            where=recipe.where,
            exclude=recipe.exclude,
            ignore=recipe.ignore,
            synonyms=recipe.synonyms,
            decimal_comma=recipe.decimal_comma,
            consent_column=recipe.consent_column,
            final_region=True,
            optional=recipe.optional,
            columns=source.columns,
            on_map=show_map,
        )
        cut_after = source.last_row if source.truncated else None
    if args.json:
        out.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        out.write(str(report) + "\n")
    if cut_after is not None:
        reason = getattr(source, "failure", None)
        err.write(f"snapcapi: error: {_cut_short(args.file, cut_after, reason=reason)}\n")
        return 2
    if report.usable_events == 0:
        if not args.json:
            out.write("no row of the file can be sent as it is\n")
        return 1
    if args.fail_under is not None and report.score < args.fail_under:
        if not args.json:
            out.write(f"score {report.score:.1f} is below --fail-under {args.fail_under:g}\n")
        return 1
    return 0


def _run_presets(args: argparse.Namespace, out: TextIO) -> int:
    if args.name:
        try:
            out.write(load_preset(args.name).text)
        except ValidationError as exc:
            raise _Usage(exc.reason) from None
        return 0
    out.write("presets (snapcapi presets NAME prints one; --preset NAME uses it):\n")
    for name in preset_names():
        out.write(f"  {name:<12} {load_preset(name).description}\n")
    return 0


def _run_fake_server(args: argparse.Namespace, out: TextIO) -> int:
    _check_number(args.latency, "--latency", lambda v: v >= 0, "a number of seconds, 0 or more")
    _check_number(args.fail_rate, "--fail-rate", lambda v: 0 <= v <= 1, "a share between 0 and 1")
    server = FakeSnapServer(
        pixel_id=args.pixel_id, latency=args.latency, port=args.port, answers=args.answers
    )
    if args.fail_rate:
        server.faults(args.fail_rate, seed=int(time.time()))
    try:
        server.start()
    except OSError as exc:
        raise _Usage(
            f"--port {args.port}: cannot listen on 127.0.0.1:{args.port} "
            f"({exc.strerror or exc}); another program may use it: pick another port, or "
            "leave --port out for any free one"
        ) from None
    with server:
        out.write(
            f"fake Snap server at {server.url} ({args.answers} answers; Ctrl-C stops it)\n"
            f"  export SNAP_CAPI_BASE_URL={server.url}\n"
            f"  export SNAP_PIXEL_ID={server.pixel_id}\n"
            f"  export SNAP_ACCESS_TOKEN={server.token}\n"
        )
        out.flush()
        seen = shown = 0
        try:
            while True:
                time.sleep(0.5)
                if args.show:
                    shown = _show_arrivals(server, shown, out)
                count = server.accepted_count
                if count != seen:
                    out.write(f"{_events(count)} accepted so far\n")
                    out.flush()
                    seen = count
        except KeyboardInterrupt:
            if args.show:  # what arrived since the last look
                _show_arrivals(server, shown, out)
            out.write(f"stopped; {_events(server.accepted_count)} accepted\n")
    return 0


def _show_arrivals(server: FakeSnapServer, shown: int, out: TextIO) -> int:
    """Print a line for each event accepted after the first ``shown``; return how many now."""
    events = server.events
    for event in events[shown:]:
        out.write(_arrival_line(event) + "\n")
    out.flush()
    return len(events)


def _arrival_line(event: Mapping[str, Any]) -> str:
    """Describe an accepted event without a raw value: hashes shortened, other values left out.

    ``PURCHASE  event_id=order-1  WEB  user_data: em=sha256:836f82db…, sc_cookie1``
    """
    from snapcapi.normalize import is_hashed

    user = event.get("user_data")
    keys: list[str] = []
    for key, value in user.items() if isinstance(user, Mapping) else ():
        values = value if isinstance(value, list) else [value]
        hashes = [v for v in values if isinstance(v, str) and is_hashed(v)]
        if hashes and len(hashes) == len(values):
            more = f" (+{len(hashes) - 1})" if len(hashes) > 1 else ""
            keys.append(f"{_printable(key)}=sha256:{hashes[0][:8]}…{more}")
        else:
            keys.append(_printable(key))  # an IP, a user agent, a cookie: named, never shown
    return (
        f"+ {_printable(event.get('event_name'))}  event_id={_printable(event.get('event_id'))}"
        f"  {_printable(event.get('action_source'))}  user_data: {', '.join(keys) or '(none)'}"
    )


def _printable(value: object) -> str:
    """Return a short one-line form of a wire value (a client could send anything)."""
    if value is None:
        return "-"
    text = "".join(c if c.isprintable() else "?" for c in str(value))
    return text if len(text) <= 64 else text[:63] + "…"


def _events(count: int) -> str:
    return plural(count, "event")


class _QuietPipe:
    """Standard output that goes quiet when its reader has gone (``snapcapi ... | head``)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.closed_pipe = False

    def write(self, text: str) -> int:
        if self.closed_pipe:
            return len(text)
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self.closed_pipe = True
            return len(text)

    def flush(self) -> None:
        if not self.closed_pipe:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self.closed_pipe = True

    def isatty(self) -> bool:
        return self._stream.isatty()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _flag_of(field: str) -> str:
    return _FLAGS.get(field, field)


def main(
    argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run the ``snapcapi`` command line; return the exit code."""
    real_stdout = out is None
    # Any string is printed: what the terminal's encoding cannot hold (a byte of a file read
    # in the wrong encoding, kept as a lone surrogate) is escaped, never an exception.
    pipe = _QuietPipe(cast(TextIO, EscapingText(out if out is not None else sys.stdout)))
    stdout: TextIO = pipe  # type: ignore[assignment]
    err = cast(TextIO, EscapingText(err if err is not None else sys.stderr))
    # The command line reports in its own words (the summary, the report); the library's log
    # lines speak Python and would only repeat it. A handler the user configured still works.
    library_log = logging.getLogger("snapcapi")
    if not library_log.handlers and not logging.getLogger().handlers:
        library_log.addHandler(logging.NullHandler())
    parser = _parser()
    args = parser.parse_args(argv)
    with _interrupts():
        return _run_command(parser, args, stdout, err, pipe, real_stdout=real_stdout)


def _run_command(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    stdout: TextIO,
    err: TextIO,
    pipe: _QuietPipe,
    *,
    real_stdout: bool,
) -> int:
    """Run the command ``args`` names; say what stopped it, if anything; return the exit code."""
    try:
        if args.command == "demo":
            return run_demo(stdout)
        if args.command in ("send", "validate"):
            return _run_file(args, stdout, err)
        if args.command == "diagnose":
            return _run_diagnose(args, stdout, err)
        if args.command == "presets":
            return _run_presets(args, stdout)
        if args.command == "fake-server":
            return _run_fake_server(args, stdout)
        if args.command == "sync":
            from snapcapi._sync_cli import run_sync_command

            return run_sync_command(args, stdout, err)
    except _Usage as exc:
        err.write(f"snapcapi: error: {exc}\n")
        return 2
    except ValidationError as exc:
        err.write(f"snapcapi: error: {_flag_of(exc.field)}: {exc.explain('cli')}\n")
        return 2
    except AuthenticationError as exc:  # the report covers every row read, as FAILED
        err.write(f"snapcapi: {exc}\n")
        return 2
    except UnknownAssetError as exc:  # as a refused token: the report covers every row read
        err.write(f"snapcapi: error: {exc.explain('cli')}\n")
        return 2
    except SnapCapiError as exc:
        err.write(f"snapcapi: error: {exc}\n")
        return 2
    except Terminated:
        err.write("snapcapi: terminated (SIGTERM); the report covers every row read so far\n")
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        err.write("snapcapi: interrupted; the report covers every row read so far\n")
        return 130
    except OSError as exc:  # a file that cannot be opened, read or written
        where = f": {exc.filename}" if exc.filename else ""
        err.write(f"snapcapi: error: {exc.strerror or exc}{where}\n")
        return 2
    finally:
        if real_stdout and pipe.closed_pipe:
            # The reader has gone: point stdout at nothing, so exiting does not complain.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
    parser.print_help(stdout)
    return 2

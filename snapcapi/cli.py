"""The ``snapcapi`` command line: a thin layer over :class:`snapcapi.Client`.

``snapcapi demo`` starts the embedded fake Snap server, sends a handful of realistic events
through the real client and prints what became of each one. ``snapcapi send FILE`` uploads a
CSV or JSONL file (``validate`` and ``diagnose`` are shorthands); see ``snapcapi --help``.

Exit codes: 0 every row accepted (in a dry run: valid), 1 some not, 2 a usage or configuration
error (nothing sent, or the token refused).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TextIO

from snapcapi._bulk import BulkOptions, run_bulk
from snapcapi._progress import Progress
from snapcapi.client import Client
from snapcapi.custom_data import CustomData
from snapcapi.enums import EventName
from snapcapi.errors import AuthenticationError, SnapCapiError, ValidationError
from snapcapi.events import Event
from snapcapi.results import SendResult
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
    return 0


_EPILOG = """\
examples:
  snapcapi demo
  snapcapi send orders.csv --pixel-id $PIXEL --action-source OFFLINE --event-name PURCHASE \\
      --region US --report report.csv
  snapcapi send orders.csv --dry-run --payload-out payloads.jsonl
  snapcapi send orders.jsonl.gz --map email=contact_email --aliases "Sale=PURCHASE,Lead=SIGN_UP"
  snapcapi send orders.csv --report report2.csv --resume report.csv   # after an outage
  snapcapi validate orders.csv --pixel-id $PIXEL
  snapcapi diagnose orders.csv --region US

credentials: the access token comes from SNAP_ACCESS_TOKEN or --token-file (never from the
command line, where it would be visible to other users); ids from --pixel-id / --snap-app-id
or SNAP_PIXEL_ID / SNAP_APP_ID.

exit codes: 0 every row accepted (dry run: valid), 1 some rows not, 2 usage or configuration
error.
"""

_FILE_HELP = """\
columns: named like the fields of Event, UserData and CustomData (event_name, event_time,
action_source, event_id, email, phone, first_name, zip_code, client_ip_address, value,
currency, order_id, ...) or a common synonym (zip, postal_code, ip, user_agent, click_id,
price, quantity, ...), compared without case; other columns are ignored and listed in the
summary. --map FIELD=COLUMN chooses explicitly. Rows without an event_id get one derived
from the row's number and content, the same on every re-run, so a resent row deduplicates.
"""


class _Usage(Exception):
    """A usage or configuration problem: exit 2 with the message."""


def _pairs(values: Sequence[str], option: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for value in values:
        for part in value.split(","):
            if not part.strip():
                continue
            key, eq, target = part.partition("=")
            if not eq or not key.strip() or not target.strip():
                raise _Usage(f"{option} takes NAME=VALUE pairs, got {part!r}")
            found[key.strip()] = target.strip()
    return found


def _read_mapping_file(path: str) -> dict[str, str]:
    """Read FIELD=COLUMN lines, or a JSON object of field: column."""
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except OSError as exc:
        raise _Usage(f"cannot read the mapping file {path}: {exc.strerror or exc}") from exc
    if text.lstrip().startswith("{"):
        try:
            loaded = json.loads(text)
        except ValueError as exc:
            raise _Usage(f"the mapping file {path} is not valid JSON: {exc}") from exc
        if not isinstance(loaded, Mapping) or not all(isinstance(v, str) for v in loaded.values()):
            raise _Usage(f'the mapping file {path} must be a JSON object {{"field": "column"}}')
        return {str(k): v for k, v in loaded.items()}
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return _pairs(lines, f"the mapping file {path}")


def _aliases(values: Sequence[str]) -> dict[str, str | int | EventName]:
    found: dict[str, str | int | EventName] = {}
    for name, target in _pairs(values, "--aliases").items():
        found[name] = int(target) if target.isdigit() else target
    return found


def _token(args: argparse.Namespace) -> str:
    if args.token_file:
        try:
            with open(args.token_file, encoding="utf-8") as stream:
                token = stream.readline().strip()
        except OSError as exc:
            raise _Usage(f"cannot read --token-file: {exc.strerror or exc}") from exc
        if not token:
            raise _Usage(f"--token-file {args.token_file} is empty")
        return token
    token = os.environ.get("SNAP_ACCESS_TOKEN", "").strip()
    if not token:
        raise _Usage("no access token: set SNAP_ACCESS_TOKEN or pass --token-file PATH")
    return token


def _add_file_options(command: argparse.ArgumentParser, *, sending: bool) -> None:
    command.add_argument(
        "file",
        metavar="FILE",
        help="a .csv, .tsv or .jsonl file (.gz too); - reads standard input (CSV unless --format)",
    )
    group = command.add_argument_group("reading the file")
    group.add_argument("--format", choices=("csv", "tsv", "jsonl"), help="override the name")
    group.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="read FIELD from COLUMN (repeat, or comma-separate)",
    )
    group.add_argument("--mapping-file", metavar="PATH", help="FIELD=COLUMN lines or a JSON object")
    group.add_argument(
        "--aliases",
        action="append",
        default=[],
        metavar="NAME=EVENT",
        help="business event names to Snap's (Sale=PURCHASE) or custom events (Donate=1)",
    )
    group.add_argument("--region", help="default phone region for numbers without +code (US)")
    group.add_argument("--event-name", help="event name for rows without one (PURCHASE)")
    group.add_argument("--action-source", help="action source for rows without one (OFFLINE)")
    group.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="a value for rows that lack FIELD (currency=USD)",
    )
    if sending:
        on_invalid_help = "a bad identifier makes its row INVALID (raise, default) or is dropped"
    else:
        on_invalid_help = "a bad identifier is dropped and counted (drop, default) or (raise) "
        on_invalid_help += "makes its row a problem"
    group.add_argument(
        "--on-invalid",
        choices=("raise", "drop"),
        default="raise" if sending else "drop",
        help=on_invalid_help,
    )
    if not sending:
        return
    creds = command.add_argument_group("Snap")
    creds.add_argument("--pixel-id", help="Pixel ID for WEB and OFFLINE events")
    creds.add_argument("--snap-app-id", help="Snap App ID for MOBILE_APP events")
    creds.add_argument("--token-file", metavar="PATH", help="file holding the access token")
    creds.add_argument("--base-url", help="Snap's host (default https://tr.snapchat.com)")
    creds.add_argument("--batch-size", type=int, default=2000, help="events per request")
    creds.add_argument("--workers", type=int, default=1, help="requests in flight at once")
    creds.add_argument(
        "--max-retries", type=int, default=5, help="retries of a request after an outage"
    )
    creds.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    creds.add_argument("--test-event-code", help="send as test events under this code")
    output = command.add_argument_group("output")
    output.add_argument("--report", metavar="PATH", help="one line per row (.csv or .jsonl)")
    output.add_argument(
        "--resume", metavar="PATH", help="skip rows an earlier report marks ACCEPTED"
    )
    output.add_argument("--quiet", action="store_true", help="no progress display")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="snapcapi",
        description="Send conversions to Snap's Conversions API v3.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from snapcapi import __version__

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
        "carry, invalid ones, old events, duplicates, and what to improve.",
    )
    _add_file_options(diagnose, sending=False)
    diagnose.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def _read_options(args: argparse.Namespace) -> dict[str, Any]:
    mapping = _read_mapping_file(args.mapping_file) if args.mapping_file else {}
    mapping.update(_pairs(args.map, "--map"))
    defaults: dict[str, Any] = dict(_pairs(args.set, "--set"))
    if args.event_name:
        defaults["event_name"] = args.event_name
    if args.action_source:
        defaults["action_source"] = args.action_source
    return {
        "mapping": mapping,
        "aliases": _aliases(args.aliases),
        "region": args.region,
        "defaults": defaults,
        "on_invalid": args.on_invalid,
    }


def _check_input(path: str) -> None:
    if path == "-":
        return
    if not os.path.exists(path):
        raise _Usage(f"no such file: {path}")
    if os.path.isdir(path):
        raise _Usage(f"{path} is a directory; give a .csv, .tsv or .jsonl file")


def _run_file(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    dry_run = args.command == "send" and args.dry_run
    validate = args.command == "validate" or (args.command == "send" and args.validate)
    if dry_run and validate:
        raise _Usage("--dry-run and --validate exclude each other")
    if getattr(args, "payload_out", None) and not dry_run:
        raise _Usage("--payload-out goes with --dry-run")
    _check_input(args.file)
    options = BulkOptions(
        path=args.file,
        format=args.format,
        dry_run=dry_run,
        validate=validate,
        payload_out=getattr(args, "payload_out", None),
        report=args.report,
        resume=args.resume,
        test_event_code=args.test_event_code,
        **_read_options(args),
    )
    factory = None
    if not dry_run:
        token = _token(args)
        client = Client(
            args.pixel_id,
            token,
            snap_app_id=args.snap_app_id,
            base_url=args.base_url,
            batch_size=args.batch_size,
            max_workers=args.workers,
            max_retries=args.max_retries,
            timeout=args.timeout,
            default_region=args.region,
        )

        def factory() -> Client:
            return client

    progress = Progress(err, enabled=not args.quiet and err.isatty())
    try:
        summary = run_bulk(options, factory, progress)
    finally:
        progress.close()  # before any message, so a bar does not swallow it
    summary.write(out)
    return 0 if summary.ok else 1


def _run_diagnose(args: argparse.Namespace, out: TextIO) -> int:
    from snapcapi._files import RowSource
    from snapcapi.diagnostics import diagnose

    options = _read_options(args)
    _check_input(args.file)
    with RowSource(args.file, args.format) as source:
        unreadable = 0

        def records() -> Any:
            nonlocal unreadable
            for _, record in source:
                if isinstance(record, dict):
                    yield record
                else:
                    unreadable += 1

        report = diagnose(records(), **options)
    if args.json:
        data = report.to_dict()
        data["unreadable_rows"] = unreadable
        out.write(json.dumps(data, indent=2) + "\n")
    else:
        out.write(str(report) + "\n")
        if unreadable:
            out.write(
                f"{unreadable:,} rows could not be read at all (see snapcapi send --dry-run)\n"
            )
    return 0


def main(
    argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run the ``snapcapi`` command line; return the exit code."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            return run_demo(out)
        if args.command in ("send", "validate"):
            return _run_file(args, out, err)
        if args.command == "diagnose":
            return _run_diagnose(args, out)
    except (_Usage, ValidationError) as exc:
        err.write(f"snapcapi: error: {exc}\n")
        return 2
    except AuthenticationError as exc:  # the report covers every row read, as FAILED
        err.write(f"snapcapi: {exc}\n")
        return 2
    except SnapCapiError as exc:
        err.write(f"snapcapi: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        err.write("snapcapi: interrupted; the report covers every row read so far\n")
        return 130
    except OSError as exc:  # a file that cannot be opened, read or written
        where = f": {exc.filename}" if exc.filename else ""
        err.write(f"snapcapi: error: {exc.strerror or exc}{where}\n")
        return 2
    parser.print_help(out)
    return 2

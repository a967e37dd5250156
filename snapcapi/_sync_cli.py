"""The ``snapcapi sync SPEC.toml`` command: its flags and what it prints."""

from __future__ import annotations

import argparse
import os
from typing import Any, TextIO

from snapcapi._masking import plural
from snapcapi._sync import SyncLocked, SyncState, load_spec, run_sync
from snapcapi.errors import ValidationError

__all__ = ["EXIT_LOCKED", "add_sync_parser", "run_sync_command"]

#: The exit code when another run of the spec holds the lock (EX_TEMPFAIL: try later).
EXIT_LOCKED = 75


def add_sync_parser(commands: Any) -> argparse.ArgumentParser:
    """Register ``sync`` on the command line's subcommands; return its parser."""
    sync: argparse.ArgumentParser = commands.add_parser(
        "sync",
        help="send what is new since the last run, as a TOML spec describes, with state",
        description=(
            "Read the source a sync spec names, send the events Snap has not accepted yet and "
            "record each one's status in a SQLite state file beside the spec "
            "(SPEC.state.sqlite). FAILED events are sent again next run, ACCEPTED ones never."
        ),
    )
    sync.add_argument("spec", metavar="SPEC", help="the sync spec (a .toml file)")
    sync.add_argument("--state", metavar="PATH", help="the state file (default: SPEC.state.sqlite)")
    sync.add_argument(
        "--dry-run", action="store_true", help="check every row, send and record nothing"
    )
    sync.add_argument("--status", action="store_true", help="show the last runs and counts")
    sync.add_argument(
        "--full", action="store_true", help="ignore the cursor (still deduplicated by state)"
    )
    sync.add_argument("-q", "--quiet", action="store_true", help="print only the summary")
    return sync


def run_sync_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run ``snapcapi sync``; return the exit code.

    Returns:
        0 when every row read ended well (or there was nothing new), 1 when some did not
        (rejected, invalid, failed: see ``--status``), 2 when the spec or its source is
        unusable, 75 when another run of the spec holds its lock.
    """
    state_path = args.state or f"{args.spec}.state.sqlite"
    try:
        if args.status:
            if not os.path.exists(state_path):
                out.write(f"no state yet at {state_path}: the spec has not run\n")
                return 0
            state = SyncState(state_path)
            try:
                state.status(out)
            finally:
                state.close()
            return 0
        spec = load_spec(args.spec)
        outcome = run_sync(spec, state_path, dry_run=args.dry_run, full=args.full)
    except SyncLocked as exc:
        err.write(f"snapcapi: error: {exc}\n")
        return EXIT_LOCKED
    except ValidationError as exc:
        err.write(f"snapcapi: error: {args.spec}: {exc.field}: {exc.explain('cli')}\n")
        return 2
    summary = outcome.summary
    if summary.rows == summary.resumed and summary.truncated_after is None and not args.full:
        # A nightly run that finds nothing new has done its job (a one-off send would not);
        # the rows at the cursor's mark are read again each run and were accepted before.
        again = f" ({plural(summary.rows, 'row')} at the mark, accepted before)" * bool(
            summary.rows
        )
        out.write(f"nothing new since the last run{again}\n")
        return 0
    summary.write(out)
    if summary.truncated_after is not None:
        why = summary.cut_reason or f"the source is cut short after row {summary.truncated_after:,}"
        err.write(
            f"snapcapi: error: {args.spec}: source: {why}; the rows before were settled and "
            "recorded, the cursor did not advance: fix it and run again (nothing accepted is "
            "sent twice)\n"
        )
        return 2
    if not args.quiet and not args.dry_run:
        mark = "" if outcome.high is None else f"; the next run reads after {outcome.high}"
        out.write(f"state: {state_path}{mark}\n")
    return 0 if summary.ok else 1

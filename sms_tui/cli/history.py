"""`sms-tui history`: list, show, search, refresh, export and delete recorded messages."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
import sys
import tempfile
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sms_tui.errors import InvalidInput, SmsTuiError

DESCRIPTION = """\
Without an action, lists recorded messages, newest first (a table sized to the terminal, or
every field with --json / --csv). The actions:

  show ID            everything recorded about one message
  refresh            ask 8x8 for the delivery status of messages still under way
  export             write the (filtered) history as CSV or JSON Lines
  delete ID...       delete messages from this computer (--remote: also their data at 8x8)
  cancel ID...       cancel scheduled messages that have not gone out yet

Filters (for the list, delete and export): --search, --state, --since, --until, --profile.
DATE is YYYY-MM-DD, YYYY-MM-DDTHH:MM, today, yesterday, or an age such as 12h, 7d, 4w.
"""

EPILOG = """\
examples:
  sms-tui history --search invoice --since 7d
  sms-tui history --state undelivered --state rejected --json
  sms-tui history show 42
  sms-tui history delete --state failed --until 2024-01-01 --yes
  sms-tui history export --format csv --output sent.csv
"""

TABLE_LIMIT = 50
_STATE_HELP = (
    "only messages in this state (repeat or comma-separate for several): pending, queued, "
    "rejected, failed, unknown, sent, delivered, undelivered, expired, cancelled"
)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "history",
        help="list, search, refresh, export or delete the messages sent",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_filters(parser)
    _add_limit(parser, f"how many to list (default: {TABLE_LIMIT} in the table, all with --json "
                       "or --csv)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="one JSON object per message, with every field")
    output.add_argument("--csv", action="store_true", default=argparse.SUPPRESS,
                        help="CSV with a header row and every field")

    actions = parser.add_subparsers(dest="history_action", metavar="[ACTION]")

    show = actions.add_parser("show", help="everything recorded about one message",
                              description="Shows everything recorded about one message.")
    show.add_argument("id", metavar="ID", help="the message's number, as the list shows it")
    show.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                      help="as one JSON object")

    refresh = actions.add_parser(
        "refresh",
        help="ask 8x8 for the status of messages still under way",
        description=(
            "Asks 8x8 for the delivery status of the profile's messages that are still under "
            "way (one lookup per second, 8x8's limit). Interrupt it at any time: what was "
            "learned is kept, and the next refresh goes on from there."
        ),
    )
    _add_limit(refresh, "look up at most N messages (default 100)")

    export = actions.add_parser(
        "export",
        help="write the history as CSV or JSON Lines",
        description="Writes the messages the filters select, newest first, with every field.",
    )
    export.add_argument("--format", choices=("csv", "jsonl"), default=None,
                        help="default: from the --output file's extension, else jsonl")
    export.add_argument("--output", "-o", metavar="FILE",
                        help="write to FILE (created readable by you only) instead of stdout")
    _add_filters(export)
    _add_limit(export, "export at most N messages (the newest)")

    delete = actions.add_parser(
        "delete",
        help="delete messages from this computer (--remote: also at 8x8)",
        description=(
            "Deletes messages from the local history: the ones named by ID, or every one the "
            "filters select (after a confirmation), or --all. With --remote, 8x8 is first "
            "asked to remove each message's personal data (number and text); a message whose "
            "remote removal fails is kept here so that you can try again."
        ),
    )
    delete.add_argument("ids", metavar="ID", nargs="*", help="messages to delete")
    delete.add_argument("--all", action="store_true", help="delete the whole history")
    delete.add_argument("--remote", action="store_true",
                        help="also ask 8x8 to remove the messages' personal data")
    delete.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    _add_filters(delete)

    cancel = actions.add_parser(
        "cancel",
        help="cancel scheduled messages that have not gone out",
        description="Asks 8x8 to cancel scheduled messages that have not been sent yet.",
    )
    cancel.add_argument("ids", metavar="ID", nargs="+", help="messages to cancel")
    return parser


def _add_filters(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS everywhere: a sub-action's defaults would otherwise overwrite filters given
    # before it, and the global --profile given before `history`.
    group = parser.add_argument_group("filters")
    group.add_argument("--search", "-s", metavar="TEXT", default=argparse.SUPPRESS,
                       help="words in the text, number, sender, umid or clientMessageId")
    group.add_argument("--state", action="append", metavar="STATE", default=argparse.SUPPRESS,
                       help=_STATE_HELP)
    group.add_argument("--since", metavar="DATE", default=argparse.SUPPRESS,
                       help="sent at or after DATE")
    group.add_argument("--until", metavar="DATE", default=argparse.SUPPRESS,
                       help="sent before DATE (a date alone includes that whole day)")
    group.add_argument("--profile", metavar="NAME", default=argparse.SUPPRESS,
                       help="only messages sent with this profile")


def _add_limit(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--limit", "-n", metavar="N", default=argparse.SUPPRESS, help=help_text)


def run(args: argparse.Namespace) -> int:
    from sms_tui.history import History

    action = getattr(args, "history_action", None) or "list"
    if getattr(args, "sandbox", False) and (
        action in ("refresh", "cancel") or getattr(args, "remote", False)
    ):
        raise InvalidInput(
            "--sandbox starts a new, empty sandbox for one command, which knows none of the "
            "messages recorded. Run `sms-tui sandbox` and use a profile that points at it."
        )
    try:
        with History() as history:
            # Any message a crashed sms-tui left `pending` is shown as what it is: `unknown`.
            history.recover_pending()
            return _ACTIONS[action](args, history)
    except BrokenPipeError:
        # The reader went away (`sms-tui history --json | head`): not an error. Later writes
        # to stdout (at exit) go nowhere instead of failing again.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return _ok()


# --------------------------------------------------------------------------------------------
# Listing


def _list(args: argparse.Namespace, history) -> int:
    flt = _filter(args)
    limit = _limit(args)
    if getattr(args, "json", False) or getattr(args, "csv", False):
        fmt = "jsonl" if getattr(args, "json", False) else "csv"
        history.export(flt, fmt, sys.stdout, limit=limit)
        return _ok()
    limit = TABLE_LIMIT if limit is None else limit
    records = list(itertools.islice(history.iter_records(flt, chunk=min(limit, 1_000)), limit))
    if not records:
        print("No messages match." if _has_filter(args) else "No messages in the history yet.")
        return _ok()
    width = shutil.get_terminal_size((100, 24)).columns
    for line in _table(records, width):
        print(line)
    total = history.count(flt)
    if total > len(records):
        print(f"\nThe newest {len(records):,} of {total:,}; use --limit to see more, or "
              "--json / --csv for every field.")
    return _ok()


def _table(records: list, width: int) -> list[str]:
    """The list as lines of at most `width` cells: the text takes what the other columns leave,
    and on a narrow terminal the date gets shorter and the segment count goes first."""
    for date_format, with_segments in (
        ("%Y-%m-%d %H:%M", True), ("%m-%d %H:%M", True), ("%m-%d %H:%M", False)
    ):
        headers = ["ID", "Sent", "To", "State"] + (["Seg"] if with_segments else []) + ["Text"]
        rows = [
            [str(r.id), r.created_at.astimezone().strftime(date_format), r.destination, r.state]
            + ([str(r.segment_count)] if with_segments else [])
            + [" ".join(r.text.split())]
            for r in records
        ]
        widths = [max(_width(h), *(_width(row[i]) for row in rows))
                  for i, h in enumerate(headers)]
        room = width - sum(widths[:-1]) - 2 * (len(headers) - 1)
        if room >= 20:
            break
    widths[-1] = max(room, 8)
    right = {0, 4} if with_segments else {0}
    lines = []
    for row in (headers, *rows):
        cells = []
        for i, cell in enumerate(row):
            text = _fit(cell, widths[i])
            pad = " " * (widths[i] - _width(text))
            cells.append(pad + text if i in right else text + pad)
        lines.append("  ".join(cells).rstrip())
    return lines


def _width(text: str) -> int:
    return sum(_char_width(ch) for ch in text)


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _fit(text: str, width: int) -> str:
    """Cuts text to `width` terminal cells, ending with … when something was cut."""
    if _width(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = _char_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


# --------------------------------------------------------------------------------------------
# One message


_LABELS = (
    ("id", "Message"), ("state", "State"), ("state_detail", "Detail"),
    ("created_at", "Recorded"), ("updated_at", "Updated"), ("status_at", "Status time"),
    ("checked_at", "Last checked"), ("profile", "Profile"), ("subaccount_id", "Subaccount"),
    ("region", "Region"), ("sender", "Sender"), ("destination", "To"),
    ("requested_encoding", "Encoding asked"), ("encoding", "Encoding used"),
    ("units", "Units"), ("segment_count", "Segments"), ("client_message_id", "clientMessageId"),
    ("umid", "umid"), ("batch_id", "Batch"), ("scheduled_at", "Scheduled"),
    ("expiry_at", "Expires"), ("http_status", "HTTP status"), ("error_code", "8x8 error code"),
    ("error_message", "8x8 message"), ("error_id", "errorId"), ("price", "Price"),
    ("resent_from", "Resent from"),
)


def _show(args: argparse.Namespace, history) -> int:
    record = history.get(_parse_id(args.id))
    if getattr(args, "json", False):
        print(json.dumps(record.as_dict(), ensure_ascii=False, indent=2))
        return _ok()
    data = record.as_dict()
    width = max(len(label) for _, label in _LABELS)
    for name, label in _LABELS:
        value = getattr(record, name)
        if value is None:
            continue
        if isinstance(value, datetime):
            shown = value.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
        elif name == "price":
            shown = f"{value:g} {record.currency or ''}".rstrip()
        elif name in ("id", "resent_from"):
            shown = f"#{value}"
        else:
            shown = str(value)
        print(f"{label + ':':<{width + 1}} {shown}")
    print(f"{'Text:':<{width + 1}} " + record.text.replace("\n", "\n" + " " * (width + 2)))
    for name, label in (("request_json", "Request"), ("response_json", "Response")):
        if data[name] is not None:
            print(f"\n{label}:")
            print(json.dumps(data[name], ensure_ascii=False, indent=2))
    return _ok()


# --------------------------------------------------------------------------------------------
# Refresh and cancel (these talk to 8x8)


def _refresh(args: argparse.Namespace, history) -> int:
    from sms_tui import config, outbox

    profile = config.resolve_profile(getattr(args, "profile", None))
    if not history.refreshable(1, subaccount_id=profile.subaccount_id):
        print(f"No message of profile {profile.name!r} is waiting for a status from 8x8.")
        return _ok()
    limit = _limit(args)

    def changed(record_id: int, state: str) -> None:
        print(f"#{record_id}: {state}", flush=True)

    async def refresh() -> int:
        async with outbox.client_for(profile) as client:
            return await outbox.refresh_statuses(
                client=client, history=history, profile=profile, limit=limit, on_update=changed
            )

    count = asyncio.run(refresh())
    print(f"{count} message{'s' if count != 1 else ''} changed state.")
    return _ok()


def _cancel(args: argparse.Namespace, history) -> int:
    from sms_tui.history import FINAL_STATES

    records = [history.get(record_id) for record_id in _parse_ids(args.ids)]
    failures = 0
    for record in records:
        if record.umid is None or record.state in FINAL_STATES:
            print(f"sms-tui: message #{record.id} is {record.state} and cannot be cancelled.",
                  file=sys.stderr)
            failures += 1
    if failures:
        return _error_code()

    async def cancel_all() -> int:
        failed = 0
        for profile, group in _by_profile(records):
            async with _client(profile) as client:
                for record in group:
                    try:
                        cancelled = await client.cancel(record.umid)
                    except SmsTuiError as error:
                        print(f"sms-tui: #{record.id}: {error}", file=sys.stderr)
                        failed += 1
                        continue
                    if not cancelled:
                        print(f"sms-tui: #{record.id} was not cancelled: it has already gone "
                              "out (`sms-tui history refresh` shows where it is).",
                              file=sys.stderr)
                        failed += 1
                        continue
                    history.record_status(record.id, state="cancelled",
                                          detail="cancelled at your request")
                    print(f"#{record.id}: cancelled.")
        return failed

    return _error_code() if asyncio.run(cancel_all()) else _ok()


def _by_profile(records: Iterable) -> list[tuple[Any, list]]:
    """Records grouped by the profile that can reach them at 8x8, each with its own subaccount."""
    from sms_tui import config

    groups: dict[tuple[str, str], list] = {}
    for record in records:
        groups.setdefault((record.profile, record.subaccount_id), []).append(record)
    result = []
    for (name, subaccount), group in groups.items():
        profile = config.resolve_profile(name)
        if profile.subaccount_id != subaccount:
            # A umid belongs to the subaccount the message went through, even if the profile
            # has been pointed at another one since.
            profile = profile.model_copy(update={"subaccount_id": subaccount})
        result.append((profile, group))
    return result


@contextlib.asynccontextmanager
async def _client(profile):
    from sms_tui import outbox

    async with outbox.client_for(profile) as client:
        yield client


# --------------------------------------------------------------------------------------------
# Export


def _export(args: argparse.Namespace, history) -> int:
    output = args.output
    fmt = args.format
    if fmt is None:
        fmt = "csv" if output and output.lower().endswith(".csv") else "jsonl"
    flt = _filter(args)
    limit = _limit(args)
    if not output or output == "-":
        history.export(flt, fmt, sys.stdout, limit=limit)
        return _ok()
    path = Path(output).expanduser()
    count = _export_to_file(history, flt, fmt, path, limit)
    print(f"Exported {count:,} message{'s' if count != 1 else ''} to {path}.", file=sys.stderr)
    return _ok()


def _export_to_file(history, flt, fmt: str, path: Path, limit: int | None) -> int:
    # Written beside the target and renamed into place: an interrupted export never leaves a
    # truncated file under the name asked for. Owner-only: it holds numbers and texts.
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    except OSError as error:
        raise InvalidInput(f"Cannot write to {directory}: {error.strerror}.") from error
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            count = history.export(flt, fmt, stream, limit=limit)
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise
    return count


# --------------------------------------------------------------------------------------------
# Delete


def _delete(args: argparse.Namespace, history) -> int:
    from sms_tui.history import HistoryFilter, RecordNotFound

    ids = _parse_ids(args.ids)
    filtered = _has_filter(args)
    if ids and (filtered or args.all):
        raise InvalidInput("Name messages by ID or select them with filters or --all, not both.")
    if not ids and not filtered and not args.all:
        raise InvalidInput(
            "Say which messages to delete: their IDs, filters such as --state failed, or --all."
        )
    missing = 0
    if ids:
        records = []
        for record_id in ids:
            try:
                records.append(history.get(record_id))
            except RecordNotFound as error:
                print(f"sms-tui: {error}", file=sys.stderr)
                missing += 1
        if not records:
            return _error_code()
    else:
        flt = _filter(args) if filtered else HistoryFilter()
        total = history.count(flt)
        if total == 0:
            print("No messages match; nothing was deleted.")
            return _ok()
        where = " at 8x8 and" if args.remote else ""
        question = (
            f"Delete {total:,} message{'s' if total != 1 else ''}{where} from this computer?"
        )
        if not args.yes and not _confirm(question):
            print("Nothing was deleted.")
            return _ok()
        if not args.remote:
            count = history.delete_matching(flt)
            print(f"Deleted {count:,} message{'s' if count != 1 else ''}.")
            return _ok()
        records = list(history.iter_records(flt))

    failed = 0
    if args.remote:
        remote = [r for r in records if r.umid]
        kept = {r.id for r in remote}
        if remote:
            removed, failed = asyncio.run(_delete_remote(remote))
            kept -= removed
            if removed:
                print(f"8x8 will remove the personal data of {len(removed):,} "
                      f"message{'s' if len(removed) != 1 else ''}.")
        records = [r for r in records if r.id not in kept]
    count = history.delete([r.id for r in records])
    print(f"Deleted {count:,} message{'s' if count != 1 else ''} from this computer.")
    return _error_code() if failed or missing else _ok()


async def _delete_remote(records: list) -> tuple[set[int], int]:
    from sms_tui import errors

    not_found = getattr(errors, "NotFound", None)
    removed: set[int] = set()
    failed = 0
    for profile, group in _by_profile(records):
        async with _client(profile) as client:
            for record in group:
                try:
                    await client.delete_pii(record.umid)
                except SmsTuiError as error:
                    if not_found is not None and isinstance(error, not_found):
                        removed.add(record.id)  # 8x8 no longer holds it: nothing left there
                        continue
                    print(f"sms-tui: #{record.id} was kept here: {error}", file=sys.stderr)
                    failed += 1
                    continue
                removed.add(record.id)
    return removed, failed


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        raise InvalidInput(f"{question} Add --yes to confirm when not at a terminal.")
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


# --------------------------------------------------------------------------------------------
# Arguments


def _filter(args: argparse.Namespace):
    from sms_tui.history import HistoryFilter

    states: list[str] = []
    for value in getattr(args, "state", None) or []:
        states += [part.strip().lower() for part in value.split(",") if part.strip()]
    since = getattr(args, "since", None)
    until = getattr(args, "until", None)
    flt = HistoryFilter(
        search=getattr(args, "search", None) or None,
        states=tuple(states),
        since=parse_when(since, "--since") if since else None,
        until=parse_when(until, "--until", end_of_day=True) if until else None,
        profile=getattr(args, "profile", None),
    )
    if flt.since and flt.until and flt.since >= flt.until:
        raise InvalidInput("--since must be before --until.")
    return flt


def _has_filter(args: argparse.Namespace) -> bool:
    return any(
        getattr(args, name, None) for name in ("search", "state", "since", "until", "profile")
    )


_AGE = re.compile(r"(\d+)\s*([hdw])\Z", re.IGNORECASE)
_AGE_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str, option: str, *, end_of_day: bool = False) -> datetime:
    """A DATE option as an aware datetime in local time.

    ``end_of_day`` makes a date alone mean the end of that day (so `--until 2024-05-01`
    includes May 1st).
    """
    value = text.strip().lower()
    now = datetime.now().astimezone()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    day = timedelta(days=1)
    if value in ("today", "yesterday"):
        start = midnight if value == "today" else midnight - day
        return start + day if end_of_day else start
    if value == "now":
        return now
    if match := _AGE.match(value):
        amount, unit = int(match.group(1)), _AGE_UNITS[match.group(2).lower()]
        return now - timedelta(**{unit: amount})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"{option}: {text!r} is not a date. Use YYYY-MM-DD, YYYY-MM-DDTHH:MM, today, "
            "yesterday, or an age such as 12h, 7d or 4w."
        ) from None
    date_only = len(text.strip()) == 10
    if moment.tzinfo is None:
        moment = moment.astimezone()  # a time without a zone is local time
    if date_only and end_of_day:
        moment += day
    return moment


def _limit(args: argparse.Namespace) -> int | None:
    value = getattr(args, "limit", None)
    if value is None:
        return None
    try:
        limit = int(value)
    except ValueError:
        raise InvalidInput(f"--limit: {value!r} is not a number.") from None
    if limit < 1:
        raise InvalidInput("--limit must be at least 1.")
    return limit


def _parse_id(text: str) -> int:
    value = text.strip().lstrip("#")
    if not value.isdigit():
        raise InvalidInput(f"{text!r} is not a message ID; IDs are the numbers the list shows.")
    return int(value)


def _parse_ids(values: list[str]) -> list[int]:
    return list(dict.fromkeys(_parse_id(value) for value in values))


def _ok() -> int:
    from sms_tui.cli import EXIT_OK

    return EXIT_OK


def _error_code() -> int:
    from sms_tui.cli import EXIT_ERROR

    return EXIT_ERROR


_ACTIONS = {
    "list": _list,
    "show": _show,
    "refresh": _refresh,
    "export": _export,
    "delete": _delete,
    "cancel": _cancel,
}

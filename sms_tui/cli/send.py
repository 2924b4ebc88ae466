"""`sms-tui send`: send one SMS, or the same SMS to many numbers, from a script or a shell."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime

from sms_tui import cli
from sms_tui.cli.text_input import read_message_text


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "send",
        help="send an SMS to one or many numbers",
        description=(
            "Send an SMS through 8x8. Several recipients go out in one batch request. Every "
            "message is recorded in the local history before it leaves."
        ),
        epilog=(
            "Exit status: 0 when 8x8 accepted every message; 2 invalid input (nothing sent); "
            "3 8x8 rejected a message; 4 a message was not sent (network); 5 the outcome of a "
            "message is unknown (it may have reached 8x8: check `sms-tui history` before "
            "resending)."
        ),
    )
    parser.add_argument(
        "--to",
        action="append",
        required=True,
        metavar="NUMBER[,NUMBER...]",
        help="recipient(s), in international form (+6512345678) or national with the profile's "
        "country; repeat the option or separate with commas",
    )
    parser.add_argument(
        "--text", required=True, metavar="TEXT", help="the message, or - to read it from stdin"
    )
    parser.add_argument("--from", dest="sender", metavar="SENDER", help="sender id")
    parser.add_argument(
        "--encoding",
        default="AUTO",
        type=str.upper,
        choices=("AUTO", "GSM7", "UCS2"),
        help="message encoding (default: AUTO, which picks GSM7 when the text allows it)",
    )
    parser.add_argument(
        "--client-message-id", metavar="ID", help="your own id for the message (at most 350 chars)"
    )
    parser.add_argument(
        "--schedule",
        metavar="ISO8601",
        type=_timestamp,
        help="send later, e.g. 2026-12-01T09:00+08:00",
    )
    parser.add_argument(
        "--expiry", metavar="ISO8601", type=_timestamp, help="give up delivering after this time"
    )
    parser.add_argument(
        "--profile", metavar="NAME", default=argparse.SUPPRESS, help="profile to use"
    )
    parser.add_argument("--json", action="store_true", help="print 8x8's answers as JSON")


def _timestamp(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO 8601 time such as 2026-12-01T09:00+08:00"
        ) from None
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{value!r} has no time zone: add one, such as +08:00 or Z"
        )
    return parsed


def run(args: argparse.Namespace) -> int:
    from sms_tui import outbox
    from sms_tui.cli.context import open_profile

    draft = outbox.Draft(
        to=",".join(args.to),
        text=read_message_text(args.text),
        sender=args.sender,
        encoding=args.encoding,
        client_message_id=args.client_message_id,
        scheduled=args.schedule,
        expiry=args.expiry,
    )
    with open_profile(args) as profile:
        prepared = outbox.prepare(draft, profile)
        for warning in prepared.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        report = asyncio.run(_send(prepared, profile))
    _print_report(report, as_json=args.json)
    return exit_code(report)


async def _send(prepared, profile):
    from sms_tui import outbox
    from sms_tui.history import History

    with History() as history:
        outbox.recover(history)
        async with outbox.client_for(profile) as client:
            return await outbox.send(prepared, client=client, history=history, profile=profile)


def exit_code(report) -> int:
    """The most serious outcome decides: unknown, then not sent, then rejected."""
    if report.all_accepted:
        return cli.EXIT_OK
    if report.count("unknown"):
        return cli.EXIT_UNKNOWN
    if report.count("failed"):
        return cli.EXIT_NOT_SENT
    return cli.EXIT_REJECTED


def _print_report(report, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
        return
    for result in report.results:
        if result.state == "queued":
            print(f"accepted  {result.destination}  umid {result.umid}  ({result.encoding})")
        else:
            line = f"{result.state:<9} {result.destination}  {result.error or ''}"
            print(line.rstrip(), file=sys.stderr)
    total = len(report.results)
    summary = f"{report.accepted} of {total} accepted by 8x8"
    if report.count("unknown"):
        summary += (
            f"; {report.count('unknown')} with an unknown outcome: they may have been sent. "
            "Check `sms-tui history refresh` before sending again"
        )
    print(summary + ".", file=sys.stderr if not report.all_accepted else sys.stdout)

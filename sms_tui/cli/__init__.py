"""The command line: the app by default, and the scriptable commands beside it.

Each command lives in a module of this package exposing ``add_parser(subparsers)`` and
``run(args) -> int``; this module only parses arguments, dispatches, and turns errors into
messages and exit codes (a person never sees a traceback).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from sms_tui import __version__
from sms_tui.errors import InvalidInput, SmsTuiError

# Exit codes a script can branch on. 0 means 8x8 accepted every message (or the command did
# what it was asked); the others say why not.
EXIT_OK = 0
EXIT_ERROR = 1  # configuration, keyring, history or another local problem
EXIT_INVALID = 2  # invalid input or usage: nothing was sent
EXIT_REJECTED = 3  # 8x8 refused at least one message
EXIT_NOT_SENT = 4  # at least one message provably never reached 8x8
EXIT_UNKNOWN = 5  # at least one message may or may not have reached 8x8
EXIT_INTERRUPTED = 130

# Command modules, imported only when their command runs so that start-up stays fast.
COMMANDS: tuple[str, ...] = ("send", "analyze", "history", "setup", "sandbox")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sms-tui",
        description=(
            "Compose and send SMS through the 8x8 SMS API. With no command, opens the "
            "terminal app."
        ),
        epilog="Run 'sms-tui COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"sms-tui {__version__}")
    parser.add_argument(
        "--profile",
        metavar="NAME",
        help="profile to use (default: $SMS_TUI_PROFILE, else the active one)",
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="start the built-in sandbox (a local stand-in for 8x8) and use it: no account needed",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"sms_tui.cli.{name}").add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            return _run_app(args)
        module = importlib.import_module(f"sms_tui.cli.{args.command}")
        return module.run(args)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except InvalidInput as error:
        print(f"sms-tui: {error}", file=sys.stderr)
        return EXIT_INVALID
    except SmsTuiError as error:
        print(f"sms-tui: {error}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as error:  # noqa: BLE001 - the last line of defence before a traceback
        if os.environ.get("SMS_TUI_DEBUG"):
            raise
        print(
            f"sms-tui: unexpected internal error ({type(error).__name__}). "
            "Nothing further was done. Set SMS_TUI_DEBUG=1 to see the details.",
            file=sys.stderr,
        )
        return EXIT_ERROR


def _run_app(args: argparse.Namespace) -> int:
    from sms_tui.tui.app import run_app

    return run_app(profile=args.profile, sandbox=args.sandbox)

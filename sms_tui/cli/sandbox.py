"""`sms-tui sandbox`: run the local stand-in for the 8x8 SMS API in the foreground."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

DEFAULT_PORT = 8808


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help="run the local 8x8 sandbox (no account needed, no SMS ever sent)",
        description=(
            "Serve a local stand-in for the 8x8 SMS API on this machine until Ctrl-C: same "
            "paths, validation, error codes and delivery states as 8x8, but no SMS ever "
            "leaves. Point a profile at the base URL it prints."
        ),
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, metavar="N",
        help=f"port to listen on (default: {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--host", default="127.0.0.1",
        help="loopback address to listen on (default: 127.0.0.1; also ::1 or localhost)",
    )
    parser.add_argument(
        "--delivery-delay", type=float, default=2.0, metavar="SECONDS",
        help="seconds from acceptance to delivered (default: 2)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not print each request")


def run(args: argparse.Namespace) -> int:
    from sms_tui.sandbox import TEST_NUMBER_REJECTED, TEST_NUMBER_UNDELIVERED, Sandbox

    def log(line: str) -> None:
        print(f"  {line}", flush=True)

    stop = threading.Event()
    # `kill` (SIGTERM) stops it as cleanly as Ctrl-C does; set before the banner says it runs.
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        sandbox = Sandbox(
            host=args.host,
            port=args.port,
            delivery_delay=max(0.0, args.delivery_delay),
            log=None if args.quiet else log,
        ).start()
    except BaseException:
        signal.signal(signal.SIGTERM, previous)
        raise
    url = sandbox.base_url
    try:
        print(
            "sms-tui sandbox: a local stand-in for the 8x8 SMS API. No SMS is ever sent.\n"
            f"  Base URL     {url}\n"
            f"  Subaccount   {sandbox.subaccount_id}   (account {sandbox.account_id}, prepaid)\n"
            f"  API key      {sandbox.api_key}   (the sandbox's own, public key)\n"
            "\n"
            "Point a profile at it:\n"
            f"  printf %s {sandbox.api_key} | sms-tui setup --name sandbox "
            f"--subaccount {sandbox.subaccount_id} --account-id {sandbox.account_id} "
            f"--base-url {url}\n"
            "or, for one command:\n"
            f"  SMS_TUI_BASE_URL={url} SMS_TUI_SUBACCOUNT={sandbox.subaccount_id} "
            f"SMS_TUI_API_KEY={sandbox.api_key} sms-tui send --to +6591234567 --text Hello\n"
            "\n"
            f"Test numbers: {TEST_NUMBER_UNDELIVERED} ends undelivered, {TEST_NUMBER_REJECTED} is "
            "rejected (code 1002); any other valid number is delivered "
            f"{args.delivery_delay:g} s after it is accepted.\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        # A timed wait, so that Ctrl-C is noticed promptly on every platform.
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        sandbox.stop()
    print("Sandbox stopped.", file=sys.stderr, flush=True)
    return 0

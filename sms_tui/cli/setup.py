"""`sms-tui setup`: configure a profile without the app, for servers and scripts."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from sms_tui import cli
from sms_tui.errors import InvalidInput, KeyringUnavailable

# The region names of config.REGIONS, spelled out so that building the parser imports nothing.
REGION_NAMES = ("apac", "eu", "id", "us")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "setup",
        help="configure a profile (API key, subaccount, region, sender)",
        description=(
            "Create or update a profile. The API key is read from standard input when it is "
            "not a terminal, otherwise from a hidden prompt; it is never taken as an argument, "
            "because arguments are visible to every user of the machine. It goes to the OS "
            "keyring; the rest goes to the profile file."
        ),
    )
    parser.add_argument("--name", default="default", help="profile name (default: default)")
    parser.add_argument("--subaccount", required=True, metavar="ID", help="8x8 subaccount id")
    parser.add_argument(
        "--account-id",
        metavar="ID",
        help="account id for the balance (default: the subaccount id without _hq)",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--region",
        choices=REGION_NAMES,
        default="apac",
        help="the region the account was provisioned in (default: apac)",
    )
    where.add_argument("--base-url", metavar="URL", help="a custom API base URL (https)")
    parser.add_argument("--from", dest="sender", metavar="SENDER", help="default sender id")
    parser.add_argument(
        "--country", metavar="CC", help="default country for national numbers (e.g. SG)"
    )
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="save without checking the key and subaccount with 8x8",
    )


def run(args: argparse.Namespace) -> int:
    from sms_tui import config, credentials, phone

    subaccount = phone.check_subaccount_id(args.subaccount)
    profile = config.Profile(
        name=args.name,
        subaccount_id=subaccount,
        account_id=args.account_id or config.default_account_id(subaccount),
        region="custom" if args.base_url else args.region,
        base_url=config.check_base_url(args.base_url) if args.base_url else None,
        sender=phone.check_sender(args.sender).value or None,
        country=phone.check_country(args.country),
    )
    key = credentials.ApiKey(_read_key())

    if not args.no_verify:
        print(f"Checking the key and subaccount with {profile.effective_base_url()} ...")
        asyncio.run(_verify(profile, key))
        print("The key and subaccount work.")

    settings = config.load_settings()
    config.upsert_profile(settings, profile, make_active=True)
    path = config.save_settings(settings)
    print(f"Profile {profile.name!r} saved in {path} (no key in it).")
    try:
        where = credentials.store_api_key(profile.name, key)
    except KeyringUnavailable as error:
        print(f"sms-tui: {error}", file=sys.stderr)
        return cli.EXIT_ERROR
    print(f"API key (…{key.last4}) saved in {where}.")
    return cli.EXIT_OK


def _read_key() -> str:
    if sys.stdin is None:
        raise InvalidInput("No API key: pipe it on standard input or run setup in a terminal.")
    if sys.stdin.isatty():
        value = getpass.getpass("8x8 API key (hidden): ")
    else:
        value = sys.stdin.readline()
    if not value.strip():
        raise InvalidInput("No API key was given: paste the key from the 8x8 Connect portal.")
    return value.strip()


async def _verify(profile, key) -> None:
    from sms_tui.client import SmsClient

    async with SmsClient(
        api_key=key,
        subaccount_id=profile.subaccount_id,
        base_url=profile.effective_base_url(),
        account_id=profile.effective_account_id(),
    ) as client:
        await client.verify()

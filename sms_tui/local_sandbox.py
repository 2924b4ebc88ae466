"""Starting the built-in sandbox inside this process, and the profile that points at it."""

from __future__ import annotations

from sms_tui import config, credentials
from sms_tui.sandbox import Sandbox

PROFILE_NAME = "sandbox"


def start(*, save: bool = False) -> tuple[Sandbox, config.Profile]:
    """Start a sandbox on a free loopback port and return it with a profile that uses it.

    Its key is kept in this process's memory only: it is the sandbox's, not a secret, but it
    still goes where every key goes, through `credentials`. With `save`, the profile is written
    to the profile file (and made active) so the person finds it again next time; its base URL
    is refreshed at every start because the port changes.
    """
    sandbox = Sandbox().start()
    profile = config.Profile(
        name=PROFILE_NAME,
        subaccount_id=sandbox.subaccount_id,
        account_id=sandbox.account_id,
        region="custom",
        base_url=sandbox.base_url,
        sender="Sandbox",
        sandbox=True,
    )
    credentials.remember_for_session(PROFILE_NAME, credentials.ApiKey(sandbox.api_key))
    if save:
        settings = config.load_settings()
        config.upsert_profile(settings, profile, make_active=True)
        config.save_settings(settings)
    return sandbox, profile

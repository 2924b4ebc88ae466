"""Starting the built-in sandbox inside this process, and the profile that points at it."""

from __future__ import annotations

from sms_tui import config, credentials
from sms_tui.sandbox import Sandbox

PROFILE_NAME = "sandbox"
SENDER = "SMSTUI"  # plain letters: no network-compatibility warning while trying things out


def profile_for(server: Sandbox) -> config.Profile:
    """The profile that uses a running sandbox; its key is kept in this process's memory only.

    The sandbox key is not a secret, but it still goes where every key goes: `credentials`.
    """
    credentials.remember_for_session(PROFILE_NAME, credentials.ApiKey(server.api_key))
    return config.Profile(
        name=PROFILE_NAME,
        subaccount_id=server.subaccount_id,
        account_id=server.account_id,
        region="custom",
        base_url=server.base_url,
        sender=SENDER,
        sandbox=True,
    )


def start(*, save: bool = False) -> tuple[Sandbox, config.Profile]:
    """Start a sandbox on a free loopback port and return it with a profile that uses it.

    With `save`, the profile is written to the profile file (and made active) so the person
    finds it again next time; its base URL is refreshed at every start because the port changes.
    """
    sandbox = Sandbox().start()
    profile = profile_for(sandbox)
    if save:
        settings = config.load_settings()
        config.upsert_profile(settings, profile, make_active=True)
        config.save_settings(settings)
    return sandbox, profile

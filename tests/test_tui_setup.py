"""The setup wizard driven with the pilot: validation, test connection, save, keyring, sandbox."""

from __future__ import annotations

import keyring
import keyring.backends.fail
from textual.widgets import Select

from sms_tui import config, credentials
from sms_tui.tui.app import SmsTuiApp
from sms_tui.tui.screens.compose import ComposeScreen
from sms_tui.tui.screens.keyring_unavailable import KeyringUnavailableScreen
from sms_tui.tui.screens.setup import SetupScreen
from tests.conftest import SANDBOX_TEST_KEY
from tests.tui_fixtures import enter_text, settle, type_text, wait_for_screen


def text_of(widget) -> str:
    return str(widget.render()).replace("\u00a0", " ")


def first_run_app() -> SmsTuiApp:
    return SmsTuiApp(background_refresh=False)


async def fill_wizard(pilot, sandbox, *, key: str = SANDBOX_TEST_KEY, subaccount: str = "") -> None:
    screen = pilot.app.screen
    assert isinstance(screen, SetupScreen)
    await enter_text(pilot, "#api-key", key)
    await enter_text(pilot, "#subaccount", subaccount or sandbox.subaccount_id)
    screen.query_one("#region", Select).value = "custom"
    await pilot.pause()
    await enter_text(pilot, "#base-url", sandbox.base_url)
    await type_text(pilot, "#country", "SG")


async def test_first_run_opens_the_wizard():
    app = first_run_app()
    async with app.run_test() as pilot:
        await settle(pilot)
        assert isinstance(app.screen, SetupScreen)
        assert app.profile is None


async def test_subaccount_is_checked_as_you_type_and_account_id_follows():
    app = first_run_app()
    async with app.run_test() as pilot:
        await settle(pilot)
        screen = app.screen
        await type_text(pilot, "#subaccount", "ab")
        status = screen.query_one("#subaccount-status")
        assert "too short" in text_of(status)
        assert screen.query_one("#subaccount").has_class("-bad")
        await type_text(pilot, "#subaccount", "c_hq")
        assert "valid" in text_of(status)
        assert "abc" in screen.query_one("#account").placeholder


async def test_the_api_key_field_is_masked():
    app = first_run_app()
    async with app.run_test() as pilot:
        await settle(pilot)
        await enter_text(pilot, "#api-key", "secret-key-value-1234")
        field = app.screen.query_one("#api-key")
        assert field.password
        assert "secret" not in str(field.render_line(0).text)


async def test_connection_test_succeeds_against_the_sandbox(sandbox):
    app = first_run_app()
    accepted_before = len(sandbox.ledger)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await fill_wizard(pilot, sandbox)
        await pilot.press("ctrl+t")
        await settle(pilot)
        result = text_of(app.screen.query_one("#setup-result"))
        assert "Connected" in result
        assert "No SMS was sent" in result
        assert len(sandbox.ledger) == accepted_before  # and truly none was


async def test_connection_test_says_the_key_is_wrong(sandbox):
    app = first_run_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await fill_wizard(pilot, sandbox, key="not-the-right-key-000")
        await pilot.press("ctrl+t")
        await settle(pilot)
        result = text_of(app.screen.query_one("#setup-result"))
        assert "did not accept the API key" in result
        assert "1200" in result
        assert "field 1" in result


async def test_connection_test_says_the_subaccount_is_unknown(sandbox):
    app = first_run_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await fill_wizard(pilot, sandbox, subaccount="someone_else")
        await pilot.press("ctrl+t")
        await settle(pilot)
        result = text_of(app.screen.query_one("#setup-result"))
        assert "someone_else" in result
        assert "subaccount" in result


async def test_save_puts_the_key_in_the_keyring_and_the_rest_in_the_profile(
    sandbox, memory_keyring
):
    app = first_run_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await fill_wizard(pilot, sandbox)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)
        assert app.profile is not None and app.profile.name == "default"
        assert app.profile.country == "SG"
    assert memory_keyring.entries[(credentials.SERVICE, "default")] == SANDBOX_TEST_KEY
    saved = config.config_path().read_text(encoding="utf-8")
    assert sandbox.subaccount_id in saved
    assert SANDBOX_TEST_KEY not in saved
    assert config.load_settings().active_profile == "default"


async def test_no_keyring_offers_to_keep_the_key_for_the_session(sandbox):
    keyring.set_keyring(keyring.backends.fail.Keyring())
    app = first_run_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await fill_wizard(pilot, sandbox)
        await pilot.press("ctrl+s")
        await wait_for_screen(pilot, KeyringUnavailableScreen)
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)
        assert credentials.key_source("default") == "session"
    assert SANDBOX_TEST_KEY not in config.config_path().read_text(encoding="utf-8")


async def test_going_back_from_the_keyring_screen_saves_nothing(sandbox):
    keyring.set_keyring(keyring.backends.fail.Keyring())
    app = first_run_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await fill_wizard(pilot, sandbox)
        await pilot.press("ctrl+s")
        await wait_for_screen(pilot, KeyringUnavailableScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, SetupScreen)
        assert "nothing was written" in text_of(app.screen.query_one("#setup-result"))
        # What was typed is still there.
        assert app.screen.query_one("#subaccount").value == sandbox.subaccount_id
    assert not config.config_path().exists()


async def test_try_the_sandbox_is_one_key():
    app = first_run_app()
    try:
        async with app.run_test() as pilot:
            await settle(pilot)
            await pilot.press("ctrl+b")
            await settle(pilot)
            assert isinstance(app.screen, ComposeScreen)
            assert app.profile is not None and app.profile.sandbox
            assert app.sandbox_server is not None
            header = text_of(app.screen.query_one("StatusHeader"))
            assert "SANDBOX" in header
            assert "EUR" in header  # the sandbox account is prepaid: its balance shows
    finally:
        app.shutdown()


async def test_sandbox_flag_starts_straight_on_compose():
    app = SmsTuiApp(sandbox=True, background_refresh=False)
    try:
        async with app.run_test() as pilot:
            await settle(pilot)
            assert isinstance(app.screen, ComposeScreen)
            assert "SANDBOX" in text_of(app.screen.query_one("StatusHeader"))
    finally:
        app.shutdown()
    assert app.sandbox_server is None  # stopped with the app


async def test_editing_a_profile_keeps_the_saved_key(sandbox, memory_keyring):
    from tests.tui_fixtures import save_profile_for

    save_profile_for(sandbox)
    app = SmsTuiApp(background_refresh=False)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        app.action_setup(edit=True)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SetupScreen)
        assert "leave empty to keep it" in text_of(screen.query_one("#api-key-status"))
        await type_text(pilot, "#default-sender", "ACME")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.profile.sender == "ACME"
    assert memory_keyring.entries[(credentials.SERVICE, "work")] == SANDBOX_TEST_KEY

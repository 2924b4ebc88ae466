"""The app as a whole: help, command palette, profiles, header, history, theme, bad config."""

from __future__ import annotations

from sms_tui import config
from sms_tui.tui.app import SmsTuiApp
from sms_tui.tui.screens.compose import ComposeScreen
from sms_tui.tui.screens.help import HelpScreen
from sms_tui.tui.screens.setup import SetupScreen
from sms_tui.tui.widgets.status_header import StatusHeader
from tests.tui_fixtures import enter_text, sandbox_app, save_profile_for, settle, wait_for_screen


def text_of(widget) -> str:
    return str(widget.render()).replace("\u00a0", " ")


def command_titles(app: SmsTuiApp) -> list[str]:
    return [command.title for command in app.get_system_commands(app.screen)]


async def test_help_opens_with_f1_and_closes_with_escape(sandbox):
    app = sandbox_app(sandbox)
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert "ctrl+s" in text_of(app.screen.query_one("#help-keys"))
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen)


async def test_question_mark_types_into_the_message_instead_of_opening_help(sandbox):
    app = sandbox_app(sandbox)
    async with app.run_test() as pilot:
        await settle(pilot)
        app.screen.query_one("#message").focus()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen)
        assert app.screen.query_one("#message").text == "?"


async def test_every_action_is_in_the_command_palette(sandbox):
    save_profile_for(sandbox, name="other")
    app = sandbox_app(sandbox)
    async with app.run_test() as pilot:
        await settle(pilot)
        titles = command_titles(app)
        for title in (
            "Send message",
            "New message",
            "Smart replacement",
            "Advanced options",
            "History",
            "Refresh statuses",
            "Setup: new profile",
            "Try the sandbox",
            "Switch profile: other",
            "Help",
            "Theme",
        ):
            assert title in titles, title


async def test_switching_profile_updates_the_header(sandbox):
    save_profile_for(sandbox, name="other", sender="OTHER")
    app = sandbox_app(sandbox)
    async with app.run_test() as pilot:
        await settle(pilot)
        header = app.screen.query_one(StatusHeader)
        assert header.sandbox
        [switch] = [
            command
            for command in app.get_system_commands(app.screen)
            if command.title == "Switch profile: other"
        ]
        switch.callback()
        await settle(pilot)
        assert app.profile.name == "other"
        assert header.profile == "other"
        assert not header.sandbox
        assert "SANDBOX" not in text_of(header)
        # The sender follows the profile's default.
        assert app.screen.query_one("#sender").value == "OTHER"
    assert config.load_settings().active_profile == "other"


async def test_the_header_shows_the_prepaid_balance(sandbox):
    app = sandbox_app(sandbox)
    async with app.run_test() as pilot:
        await settle(pilot)
        header = app.screen.query_one(StatusHeader)
        assert header.balance.endswith("EUR")
        assert "Local sandbox" in text_of(header)


async def test_a_sent_message_shows_up_in_history(sandbox):
    from sms_tui.tui.screens.history import HistoryScreen

    app = sandbox_app(sandbox)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await enter_text(pilot, "#to", "+6591234567")
        await enter_text(pilot, "#message", "To the history")
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        await pilot.press("enter")  # close the result
        await pilot.pause()
        await pilot.press("ctrl+o")
        await wait_for_screen(pilot, HistoryScreen)
        assert app.history.count() == 1


async def test_an_unknown_profile_name_is_said_and_the_wizard_opens():
    app = SmsTuiApp(profile_name="nope", background_refresh=False)
    async with app.run_test() as pilot:
        await settle(pilot)
        assert isinstance(app.screen, SetupScreen)


async def test_a_broken_profile_file_is_reported_and_never_overwritten(sandbox):
    path = config.config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("this is [not toml", encoding="utf-8")
    app = sandbox_app(sandbox)
    async with app.run_test() as pilot:
        await settle(pilot)
        # The sandbox still works for this session…
        assert app.profile is not None and app.profile.sandbox
        assert app.config_error is not None
    # …and the file the person may want to repair is untouched.
    assert path.read_text(encoding="utf-8") == "this is [not toml"


async def test_the_theme_is_remembered(sandbox):
    app = sandbox_app(sandbox)
    async with app.run_test() as pilot:
        await settle(pilot)
        app.theme = "nord"
        await pilot.pause()
        app._save_theme()
    assert config.load_settings().theme == "nord"
    again = sandbox_app(sandbox)
    async with again.run_test() as pilot:
        await settle(pilot)
        assert again.theme == "nord"


async def test_resend_from_history_fills_compose_and_links_the_record(sandbox):
    app = sandbox_app(sandbox)
    async with app.run_test() as pilot:
        await settle(pilot)
        app.open_in_compose(to="+6591234567", text="Again", resent_from=7)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ComposeScreen)
        assert screen.query_one("#message").text == "Again"
        assert screen.current_draft().resent_from == 7


async def test_garbage_collection_is_paused_only_until_the_first_frame(sandbox):
    import gc

    assert gc.isenabled()
    app = sandbox_app(sandbox)
    seen_during_start: list[bool] = []
    app.call_after_refresh = _spy(app.call_after_refresh, lambda: seen_during_start.append(
        gc.isenabled()))
    async with app.run_test() as pilot:
        await settle(pilot)
        assert seen_during_start and seen_during_start[0] is False
        assert gc.isenabled()
        assert app.focused is app.screen.query_one("#message")
    assert gc.isenabled()


def _spy(method, before):
    def wrapped(*args, **kwargs):
        before()
        return method(*args, **kwargs)

    return wrapped

"""Snapshots of every screen and state that matters, grouped by feature.

Each class brings the app into a state with a `run_before` pilot function, then compares the
screen with the SVG under tests/__snapshots__/. Profiles and sandboxes are fresh per test, and
`settle` waits for workers and drops toasts, so nothing random (ports, umids) reaches a picture.
"""

from __future__ import annotations

import pytest
from textual.widgets import Select

from sms_tui.sandbox import Sandbox
from sms_tui.tui.app import SmsTuiApp
from tests.tui_fixtures import enter_text, settle, steady, wait_for_screen

NARROW = (80, 24)
WIDE = (120, 36)
SG = "+65 9123 4567"
GSM_TEXT = "Your table for 4 is ready at 19:30. Reply STOP to cancel {ref: A-17} - see you soon!"
UCS2_TEXT = "It’s confirmed: “Dinner at 8” – bring José’s cake and don’t be late…"
EMOJI_TEXT = "Happy birthday José! 🎂🎉 See you at 8 – don’t be late"


@pytest.fixture
def fresh_sandbox():
    """A sandbox of its own: the balance in the header starts at the same figure every time."""
    with Sandbox(delivery_delay=60.0) as server:
        yield server


def app_on(sandbox: Sandbox) -> SmsTuiApp:
    return SmsTuiApp(sandbox=True, background_refresh=False, sandbox_server=sandbox)


def first_run() -> SmsTuiApp:
    return SmsTuiApp(background_refresh=False)


async def compose_state(pilot, *, to: str = "", text: str = "", encoding: str | None = None,
                        advanced: bool = False) -> None:
    await settle(pilot)
    screen = pilot.app.screen
    if to:
        await enter_text(pilot, "#to", to)
    if encoding is not None:
        screen.set_advanced({"encoding": encoding}, show=True)
    if advanced:
        screen.action_toggle_advanced()
    if text:
        await enter_text(pilot, "#message", text)
    await settle(pilot)


class TestSetupSnapshots:
    def test_first_run_wizard(self, snap_compare):
        async def run_before(pilot):
            await settle(pilot)

        assert snap_compare(first_run(), terminal_size=NARROW, run_before=steady(run_before))

    def test_wizard_validation_errors(self, snap_compare):
        async def run_before(pilot):
            await settle(pilot)
            await enter_text(pilot, "#api-key", "0123456789abcdef0123")
            await enter_text(pilot, "#subaccount", "acme hq!")
            await enter_text(pilot, "#default-sender", "ACME-Alerts-Team")
            await enter_text(pilot, "#country", "XX")
            await pilot.press("ctrl+s")
            await settle(pilot)

        assert snap_compare(first_run(), terminal_size=WIDE, run_before=steady(run_before))

    def test_wizard_custom_region_and_bad_key(self, snap_compare, sandbox):
        async def run_before(pilot):
            await settle(pilot)
            await enter_text(pilot, "#api-key", "wrong-key-0000000000")
            await enter_text(pilot, "#subaccount", "sandbox_hq")
            pilot.app.screen.query_one("#region", Select).value = "custom"
            await pilot.pause()
            # A fixed port, so the picture does not change: nothing listens there.
            await enter_text(pilot, "#base-url", "http://127.0.0.1:9")
            await pilot.press("ctrl+t")
            await settle(pilot)

        assert snap_compare(first_run(), terminal_size=WIDE, run_before=steady(run_before))

    def test_keyring_unavailable(self, snap_compare, fresh_sandbox):
        import keyring
        import keyring.backends.fail

        keyring.set_keyring(keyring.backends.fail.Keyring())

        async def run_before(pilot):
            await settle(pilot)
            await enter_text(pilot, "#api-key", "0123456789abcdef0123")
            await enter_text(pilot, "#subaccount", "acme_hq")
            await pilot.press("ctrl+s")
            from sms_tui.tui.screens.keyring_unavailable import KeyringUnavailableScreen

            await wait_for_screen(pilot, KeyringUnavailableScreen)
            await pilot.pause()

        assert snap_compare(first_run(), terminal_size=WIDE, run_before=steady(run_before))


class TestComposeSnapshots:
    def test_empty_compose_narrow(self, snap_compare, fresh_sandbox):
        async def run_before(pilot):
            await compose_state(pilot)

        assert snap_compare(
            app_on(fresh_sandbox), terminal_size=NARROW, run_before=steady(run_before)
        )

    def test_empty_compose_wide(self, snap_compare, fresh_sandbox):
        async def run_before(pilot):
            await compose_state(pilot)

        assert snap_compare(
            app_on(fresh_sandbox), terminal_size=WIDE, run_before=steady(run_before)
        )

    def test_gsm7_text(self, snap_compare, fresh_sandbox):
        async def run_before(pilot):
            await compose_state(pilot, to=SG, text=GSM_TEXT)

        assert snap_compare(
            app_on(fresh_sandbox), terminal_size=WIDE, run_before=steady(run_before)
        )

    def test_ucs2_highlights_and_smart_replace_offer(self, snap_compare, fresh_sandbox):
        async def run_before(pilot):
            await compose_state(pilot, to=SG, text=UCS2_TEXT * 2)

        assert snap_compare(
            app_on(fresh_sandbox), terminal_size=WIDE, run_before=steady(run_before)
        )

    def test_ucs2_narrow(self, snap_compare, fresh_sandbox):
        async def run_before(pilot):
            await compose_state(pilot, to=SG, text=EMOJI_TEXT)

        assert snap_compare(
            app_on(fresh_sandbox), terminal_size=NARROW, run_before=steady(run_before)
        )

    def test_several_recipients_with_an_invalid_one(self, snap_compare, fresh_sandbox):
        async def run_before(pilot):
            await compose_state(
                pilot,
                to="+65 9123 4567, +1 202 555 0147, +44 20 7946 0958, 12345",
                text="a" * 170,
            )

        assert snap_compare(
            app_on(fresh_sandbox), terminal_size=WIDE, run_before=steady(run_before)
        )

    def test_forced_gsm7_shows_what_is_lost(self, snap_compare, fresh_sandbox):
        async def run_before(pilot):
            await compose_state(
                pilot, to=SG, text="Grüße aus Köln 😀 — 5€", encoding="GSM7", advanced=True
            )

        assert snap_compare(
            app_on(fresh_sandbox), terminal_size=WIDE, run_before=steady(run_before)
        )


class TestSendSnapshots:
    def test_confirmation(self, snap_compare, fresh_sandbox):
        async def run_before(pilot):
            await compose_state(pilot, to="+65 9123 4567, +65 9123 4568", text=GSM_TEXT * 2)
            await pilot.press("ctrl+s")
            await pilot.pause()

        assert snap_compare(
            app_on(fresh_sandbox), terminal_size=WIDE, run_before=steady(run_before)
        )

    def test_validation_error(self, snap_compare, fresh_sandbox):
        async def run_before(pilot):
            await compose_state(pilot, to="+65 9123", text="Hello")
            await pilot.press("ctrl+s")
            await pilot.pause()
            pilot.app.clear_notifications()
            await pilot.pause()

        assert snap_compare(
            app_on(fresh_sandbox), terminal_size=NARROW, run_before=steady(run_before)
        )

    def test_success(self, snap_compare, fresh_sandbox):
        # The real send is covered by test_tui_compose; the picture needs a fixed umid.
        from sms_tui.outbox import SendReport, SendResult
        from sms_tui.tui.screens.send_result import SendResultScreen

        report = SendReport(
            [
                SendResult(1, "+6591234567", "queued", "3f2a9c1e-0b7d-4c55-9a1e-5d0c2b7e8f41",
                           "GSM7"),
                SendResult(2, "+6591234568", "queued", "8b1d4e2f-6a3c-4f9e-b2d7-1c5e9a0f3d62",
                           "GSM7"),
            ]
        )

        async def run_before(pilot):
            await compose_state(pilot)
            pilot.app.push_screen(SendResultScreen(report))
            await pilot.pause()

        assert snap_compare(
            app_on(fresh_sandbox), terminal_size=WIDE, run_before=steady(run_before)
        )

    def test_each_error_class(self, snap_compare, fresh_sandbox):
        from sms_tui import errors
        from sms_tui.outbox import SendReport, SendResult
        from sms_tui.tui.screens.send_result import SendResultScreen

        rejected = errors.RequestRejected(
            status=400, code=1002, api_message="Invalid MSISDN format",
            error_id="5b8f0a3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
        )
        unauthorised = errors.AuthenticationError(
            status=401, code=1200, api_message="Unauthorized",
            error_id="0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f5a",
        )
        unknown = errors.OutcomeUnknown("the connection closed before 8x8 answered",
                                        operation="send", host="sms.8x8.com")
        not_sent = errors.NotSent("the connection was refused", operation="send",
                                  host="sms.8x8.com")
        report = SendReport(
            [
                SendResult(1, "+6590000400", "rejected", None, None, rejected),
                SendResult(2, "+6591234567", "rejected", None, None, unauthorised),
                SendResult(3, "+6591234568", "unknown", None, None, unknown),
                SendResult(4, "+6591234569", "failed", None, None, not_sent),
                SendResult(5, "+6591234570", "queued", "3f2a9c1e-0b7d-4c55-9a1e-5d0c2b7e8f41",
                           "UCS2"),
            ]
        )

        async def run_before(pilot):
            await compose_state(pilot)
            pilot.app.push_screen(SendResultScreen(report))
            await pilot.pause()

        assert snap_compare(
            app_on(fresh_sandbox), terminal_size=(120, 48), run_before=steady(run_before)
        )

    def test_sending_progress(self, snap_compare, fresh_sandbox):
        async def run_before(pilot):
            numbers = ", ".join(f"+65 9123 {4500 + n}" for n in range(12))
            await compose_state(pilot, to=numbers, text=GSM_TEXT)
            fresh_sandbox.inject("latency", seconds=30.0, endpoint="batch")
            await pilot.press("ctrl+s")
            await pilot.pause()
            await pilot.press("y")
            for _ in range(100):
                if pilot.app.screen.query("#send-progress"):
                    break
                await pilot.pause(0.02)
            # Focus comes back from the confirmation at its own pace, and a focused field has a
            # blinking cursor: no focus makes the picture the same every time.
            pilot.app.screen.set_focus(None)
            await pilot.pause()
            await pilot.pause()

        app = app_on(fresh_sandbox)
        assert snap_compare(app, terminal_size=WIDE, run_before=steady(run_before))


class TestEverywhereSnapshots:
    def test_help(self, snap_compare, fresh_sandbox):
        async def run_before(pilot):
            await compose_state(pilot)
            await pilot.press("f1")
            await pilot.pause()

        assert snap_compare(
            app_on(fresh_sandbox), terminal_size=WIDE, run_before=steady(run_before)
        )

    def test_command_palette(self, snap_compare, fresh_sandbox):
        from sms_tui import config

        work = config.make_profile(name="work", subaccount_id="acme_hq", region="eu")
        config.save_settings(config.upsert_profile(config.load_settings(), work))

        async def run_before(pilot):
            await compose_state(pilot)
            await pilot.press("ctrl+p")
            await pilot.pause()
            await pilot.press(*"profile")
            # The palette searches in the background: wait until its list stops changing.
            from textual.command import CommandList

            last = -1
            for _ in range(100):
                await pilot.pause(0.05)
                found = pilot.app.screen.query(CommandList)
                count = found.first().option_count if found else 0
                if count and count == last:
                    break
                last = count
            await pilot.pause()

        assert snap_compare(
            app_on(fresh_sandbox), terminal_size=WIDE, run_before=steady(run_before)
        )

    def test_light_theme(self, snap_compare, fresh_sandbox):
        async def run_before(pilot):
            pilot.app.theme = "textual-light"
            await compose_state(pilot, to=SG, text=UCS2_TEXT)

        assert snap_compare(
            app_on(fresh_sandbox), terminal_size=WIDE, run_before=steady(run_before)
        )


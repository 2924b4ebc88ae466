"""The compose screen driven with the pilot against the sandbox: meter, preview, send, draft."""

from __future__ import annotations

from sms_tui.history import History, HistoryFilter
from sms_tui.sandbox import TEST_NUMBER_REJECTED
from sms_tui.tui.screens.compose import ComposeScreen
from sms_tui.tui.screens.confirm_send import ConfirmSendScreen
from sms_tui.tui.screens.send_result import SendResultScreen
from sms_tui.tui.widgets.meter import MessageMeter
from sms_tui.tui.widgets.recipients import RecipientsStatus
from sms_tui.tui.widgets.segment_preview import SegmentPreview
from tests.tui_fixtures import enter_text, sandbox_app, save_profile_for, settle, type_text

SINGAPORE = "+6591234567"
SINGAPORE_2 = "+6591234568"


def text_of(widget) -> str:
    return str(widget.render()).replace("\u00a0", " ")


def result_text(result: SendResultScreen) -> str:
    return " ".join(text_of(widget) for widget in result.query("#result-list Static"))


def records() -> list:
    with History() as history:
        return history.page(HistoryFilter(), limit=100)


async def fill(pilot, *, to: str = "", text: str = "") -> ComposeScreen:
    screen = pilot.app.screen
    assert isinstance(screen, ComposeScreen)
    if to:
        await enter_text(pilot, "#to", to)
    if text:
        screen.query_one("#message").insert(text)
    await pilot.pause()
    return screen


async def send_and_confirm(pilot) -> SendResultScreen:
    await pilot.press("ctrl+s")
    await pilot.pause()
    assert isinstance(pilot.app.screen, ConfirmSendScreen)
    await pilot.press("y")
    await settle(pilot)
    assert isinstance(pilot.app.screen, SendResultScreen)
    return pilot.app.screen


async def test_meter_is_exact_after_every_keystroke(sandbox):
    app = sandbox_app(sandbox)
    async with app.run_test() as pilot:
        await settle(pilot)
        screen = app.screen
        meter = screen.query_one(MessageMeter)
        await type_text(pilot, "#message", "Hi {you}")
        # { and } are GSM-7 extension characters: 2 septets each.
        assert screen.analysis.units == 10
        assert "10/160 units" in text_of(meter)
        assert "1 segment" in text_of(meter)
        assert "150 left" in text_of(meter)
        await pilot.press("backspace")
        assert "8/160 units" in text_of(meter)


async def test_ucs2_characters_are_named_and_smart_replace_is_one_undo(sandbox):
    app = sandbox_app(sandbox)
    async with app.run_test() as pilot:
        await settle(pilot)
        original = "It’s “fine” – really"
        screen = await fill(pilot, text=original)
        meter = text_of(screen.query_one(MessageMeter))
        assert "UCS-2" in meter
        assert "force UCS-2" in meter
        assert "ctrl+r" in meter
        screen.render_now()
        await pilot.pause()
        assert "It’s" in text_of(screen.query_one(SegmentPreview))

        message = screen.query_one("#message")
        message.focus()
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert message.text == "It's \"fine\" - really"
        assert screen.analysis.encoding == "GSM7"
        assert "GSM-7" in text_of(screen.query_one(MessageMeter))

        await pilot.press("ctrl+z")
        await pilot.pause()
        assert message.text == original
        assert screen.analysis.encoding == "UCS2"


async def test_forcing_gsm7_says_which_characters_will_be_lost(sandbox):
    app = sandbox_app(sandbox)
    async with app.run_test() as pilot:
        await settle(pilot)
        screen = await fill(pilot, text="Price: 5€ 😀")
        screen.set_advanced({"encoding": "GSM7"})
        await pilot.pause()
        meter = text_of(screen.query_one(MessageMeter))
        assert "GSM-7 cannot carry" in meter
        assert "😀" in meter
        assert "€" not in meter.split("cannot carry", 1)[1]


async def test_long_message_splits_into_segments_and_counts_all_recipients(sandbox):
    app = sandbox_app(sandbox)
    async with app.run_test() as pilot:
        await settle(pilot)
        screen = await fill(pilot, to=f"{SINGAPORE}, {SINGAPORE_2}", text="a" * 200)
        meter = text_of(screen.query_one(MessageMeter))
        assert "2 segments" in meter
        assert "200/306 units" in meter
        assert "2 recipients = 4 segments" in meter
        screen.render_now()
        await pilot.pause()
        preview = text_of(screen.query_one(SegmentPreview))
        assert "1/2" in preview and "2/2" in preview


async def test_each_number_is_shown_formatted_and_problems_have_a_reason(sandbox):
    app = sandbox_app(sandbox)
    async with app.run_test() as pilot:
        await settle(pilot)
        screen = await fill(pilot, to="+65 9123 4567, 12")
        status = text_of(screen.query_one(RecipientsStatus))
        assert "+65 9123 4567" in status
        assert "Singapore" in status
        assert "✗ 12" in status
        assert screen.query_one("#to").has_class("-bad")


async def test_pasting_a_column_of_numbers_keeps_every_line(sandbox):
    from textual import events

    app = sandbox_app(sandbox)
    async with app.run_test() as pilot:
        await settle(pilot)
        to = app.screen.query_one("#to")
        to.focus()
        to.post_message(events.Paste(f"{SINGAPORE}\n{SINGAPORE_2}\n"))
        await settle(pilot)
        assert SINGAPORE in to.value and SINGAPORE_2 in to.value
        assert app.screen.recipient_count == 2


async def test_send_one_message_records_it_and_shows_the_umid(sandbox):
    app = sandbox_app(sandbox)
    async with app.run_test() as pilot:
        await settle(pilot)
        await fill(pilot, to=SINGAPORE, text="Hello from the test")
        result = await send_and_confirm(pilot)
        assert "accepted" in str(result.query_one("#result-title").render())
        [record] = records()
        assert record.state == "queued"
        assert record.umid and record.umid in result_text(result)
        assert sandbox.accepted(record.client_message_id) == 1
        await pilot.press("enter")
        await pilot.pause()
        # Accepted: the text is cleared for the next message (ctrl+z brings it back).
        assert app.screen.query_one("#message").text == ""


async def test_invalid_form_is_refused_and_nothing_is_recorded(sandbox):
    app = sandbox_app(sandbox)
    async with app.run_test() as pilot:
        await settle(pilot)
        screen = await fill(pilot, to="12", text="Keep me")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen
        assert "invalid" in text_of(screen.query_one("#send-status"))
        assert screen.query_one("#message").text == "Keep me"
        assert records() == []


async def test_cancelling_the_confirmation_sends_nothing(sandbox):
    app = sandbox_app(sandbox)
    before = len(sandbox.ledger)
    async with app.run_test() as pilot:
        await settle(pilot)
        screen = await fill(pilot, to=SINGAPORE, text="Not yet")
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        assert records() == []
        assert len(sandbox.ledger) == before


async def test_batch_with_a_rejected_number_reports_each_message(sandbox):
    app = sandbox_app(sandbox)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await fill(pilot, to=f"{SINGAPORE}, {TEST_NUMBER_REJECTED}", text="Batch")
        result = await send_and_confirm(pilot)
        title = str(result.query_one("#result-title").render())
        assert "1 of 2 accepted" in title
        assert "1 rejected" in title
        states = sorted(record.state for record in records())
        assert states == ["queued", "rejected"]


async def test_unknown_outcome_never_claims_success(sandbox):
    sandbox.inject("drop_after_accept", endpoint="send")
    app = sandbox_app(sandbox)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        screen = await fill(pilot, to=SINGAPORE, text="Did it go?")
        result = await send_and_confirm(pilot)
        title = str(result.query_one("#result-title").render())
        assert "outcome unknown" in title
        assert "accepted the" not in title
        body = result_text(result)
        assert "may or may not have reached 8x8" in body
        [record] = records()
        assert record.state == "unknown"
        await pilot.press("enter")
        await pilot.pause()
        assert screen.query_one("#message").text == "Did it go?"  # nothing typed is lost


async def test_no_connection_says_nothing_was_sent(sandbox):
    save_profile_for(sandbox, name="offline")
    from sms_tui import config

    settings = config.load_settings()
    offline = settings.profiles["offline"].model_copy(update={"base_url": "http://127.0.0.1:9"})
    config.save_settings(config.upsert_profile(settings, offline))
    from sms_tui.tui.app import SmsTuiApp

    app = SmsTuiApp(profile_name="offline", background_refresh=False)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await fill(pilot, to=SINGAPORE, text="Offline")
        result = await send_and_confirm(pilot)
        assert "not sent" in str(result.query_one("#result-title").render())
        [record] = records()
        assert record.state == "failed"


async def test_the_draft_survives_a_restart(sandbox):
    app = sandbox_app(sandbox)
    async with app.run_test() as pilot:
        await settle(pilot)
        screen = await fill(pilot, to=SINGAPORE, text="Unfinished\nthought")
        screen.save_draft()
    again = sandbox_app(sandbox)
    async with again.run_test() as pilot:
        await settle(pilot)
        screen = again.screen
        assert screen.query_one("#message").text == "Unfinished\nthought"
        assert screen.query_one("#to").value == SINGAPORE
        assert screen.recipient_count == 1
        # Typing goes on where the draft ends.
        screen.query_one("#message").focus()
        await pilot.press("space", *"again")
        assert screen.query_one("#message").text == "Unfinished\nthought again"


async def test_the_draft_is_saved_as_it_is_typed(sandbox):
    from sms_tui.tui import drafts

    app = sandbox_app(sandbox)
    async with app.run_test() as pilot:
        await settle(pilot)
        await type_text(pilot, "#message", "typed")
        # The save is debounced: wait for it rather than for a fixed time.
        for _ in range(100):
            if drafts.load_draft().text == "typed":
                break
            await pilot.pause(0.05)
        assert drafts.load_draft().text == "typed"


async def test_the_send_button_works_with_the_mouse_and_the_keyboard(sandbox):
    app = sandbox_app(sandbox)
    async with app.run_test() as pilot:
        await settle(pilot)
        screen = await fill(pilot, to=SINGAPORE, text="By button")
        await pilot.click("#send")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmSendScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        screen.query_one("#send").focus()
        for key in ("enter", "space"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, ConfirmSendScreen), key
            await pilot.press("escape")
            await settle(pilot)
        # While a send is in flight the button is disabled and a press does nothing.
        screen.sending = True
        await pilot.pause()
        await pilot.click("#send")
        await pilot.pause()
        assert app.screen is screen
        assert records() == []


async def test_the_advanced_section_opens_and_closes_and_keeps_its_values(sandbox):
    app = sandbox_app(sandbox)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert not screen.query("#advanced-fields")  # mounted on first open only
        await pilot.click("#advanced")
        await pilot.pause()
        fields = screen.query_one("#advanced-fields")
        assert fields.display
        screen.query_one("#client-message-id").value = "order-17"
        screen.query_one("#advanced").focus()
        await pilot.press("enter")
        await pilot.pause()
        assert not fields.display
        await pilot.press("f4")
        await settle(pilot)
        assert fields.display
        assert app.focused is screen.query_one("#encoding")
        assert screen.advanced_values()["client_message_id"] == "order-17"

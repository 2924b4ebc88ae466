"""The compose screen: sender, recipients, message, live meter, segment preview, send."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import (
    Footer,
    Input,
    Select,
    Static,
    TextArea,
)

from sms_tui.errors import InvalidInput, SmsTuiError
from sms_tui.tui import drafts
from sms_tui.tui.widgets.meter import MessageMeter, Offer
from sms_tui.tui.widgets.recipients import RecipientsInput, RecipientsStatus
from sms_tui.tui.widgets.section_toggle import SectionToggle
from sms_tui.tui.widgets.segment_preview import SegmentPreview
from sms_tui.tui.widgets.send_button import SendButton
from sms_tui.tui.widgets.status_header import StatusHeader

if TYPE_CHECKING:
    from sms_tui.config import Profile
    from sms_tui.encoding import Analysis
    from sms_tui.outbox import PreparedSend, SendReport
    from sms_tui.tui.app import SmsTuiApp
    from sms_tui.tui.widgets.advanced import AdvancedFields

PREVIEW_DELAY = 0.12  # the meter is exact on every key; the preview waits for a pause in typing
DRAFT_DELAY = 0.4
RECIPIENTS_DELAY = 0.15  # only for long lists, where parsing costs more than a keystroke


class Debounce:
    """Runs `callback` once typing pauses for `delay` seconds.

    One paused interval timer that each keystroke resets, rather than a new timer (and a new
    asyncio task) per keystroke: typing stays as cheap as in a bare text area.
    """

    def __init__(self, owner: Screen, delay: float, callback) -> None:
        self.callback = callback
        self.pending = False
        self.timer = owner.set_interval(delay, self._fire, pause=True)

    def poke(self) -> None:
        self.pending = True
        self.timer.reset()

    def _fire(self) -> None:
        self.timer.pause()
        if self.pending:
            self.pending = False
            self.callback()

    def flush(self) -> None:
        """Run now if something is waiting."""
        self.timer.pause()
        if self.pending:
            self.pending = False
            self.callback()

    def cancel(self) -> None:
        self.timer.pause()
        self.pending = False


class MessageArea(TextArea):
    """The message box. Each edit goes straight to the compose screen: a Changed message
    bubbling up through every container on each keystroke costs more than the meter does."""

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        screen = self.screen
        if isinstance(screen, ComposeScreen):
            screen.message_edited()


def _breakpoint_class(breakpoints: list[tuple[int, str]], width: int | None) -> str:
    """The class Textual's breakpoints give a screen `width` cells wide ("" if unknown)."""
    if width is None:
        return ""
    return max((b for b in breakpoints if width >= b[0]), default=(0, ""))[1]


class ComposeScreen(Screen[None]):
    """Write a message and send it; the meter and preview follow every keystroke."""

    app: SmsTuiApp
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    AUTO_FOCUS = "#message"  # Textual's default, the first field, would move focus twice
    BINDINGS = [
        Binding("ctrl+s", "send", "Send", tooltip="Check, confirm and send the message"),
        Binding("ctrl+r", "smart_replace", "Smart replace", tooltip="Typographic to GSM-7"),
        Binding("f4", "toggle_advanced", "Advanced"),
        Binding("ctrl+n", "new_message", "New", tooltip="Clear the form"),
    ]

    sending: reactive[bool] = reactive(False)

    def __init__(self, width: int | None = None) -> None:
        """`width`: the terminal's, when known. The breakpoint class Textual would add on the
        first resize is then set before any child exists: added later, it restyles every
        widget of the screen once more."""
        super().__init__(
            id="compose", classes=_breakpoint_class(self.HORIZONTAL_BREAKPOINTS, width)
        )
        self._styled_fresh = True
        self.analysis: Analysis | None = None  # None until the first edit: see MessageMeter
        self.recipient_count = 0
        self._offer: Offer | None = None
        self._preview: Debounce | None = None
        self._draft: Debounce | None = None
        self._recipients: Debounce | None = None
        self._draft_error_shown = False
        self._restoring = False
        self.resent_from: int | None = None
        self._advanced_fields: AdvancedFields | None = None
        # The advanced fields' values while the section has never been opened.
        self._advanced: dict[str, str] = {"encoding": "AUTO", "client_message_id": "",
                                          "schedule": "", "expiry": ""}
        self.last_report: SendReport | None = None

    # ---- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield StatusHeader()
        with Container(id="compose-body"):
            with Vertical(id="compose-form"):
                with Horizontal(classes="field-row"):
                    yield Static("From", classes="field-label")
                    yield Input(
                        id="sender", placeholder="sender id (empty: 8x8's default)", compact=True
                    )
                yield Static("", id="sender-status", classes="field-status")
                with Horizontal(classes="field-row"):
                    yield Static("To", classes="field-label")
                    yield RecipientsInput(
                        id="to", placeholder="+65 9123 4567, +1 202 555 0101, …", compact=True
                    )
                yield RecipientsStatus(id="recipients")
                message = MessageArea(id="message", soft_wrap=True, tab_behavior="focus")
                message.border_title = "Message"
                yield message
                yield MessageMeter(id="meter")
                yield SectionToggle(
                    "Advanced: encoding, client message id, schedule, expiry (F4)", id="advanced"
                )
                with Horizontal(id="send-row"):
                    yield SendButton("Send ^s", id="send")
                    yield Static("", id="send-status")
            with Vertical(id="preview-pane"):
                yield Static("Segments as phones receive them", id="preview-title")
                yield SegmentPreview(id="preview")
        yield Footer()

    def on_mount(self) -> None:
        # Looked up once: the meter runs on every keystroke.
        self._message = self.query_one("#message", TextArea)
        self._meter = self.query_one(MessageMeter)
        self._preview = Debounce(self, PREVIEW_DELAY, self._render_preview)
        self._draft = Debounce(self, DRAFT_DELAY, self.save_draft)
        self._recipients = Debounce(self, RECIPIENTS_DELAY, self._parse_recipients)
        self.app.sync_headers()
        # The draft is restored by the app once the profile is known (after the first frame).

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # Textual restyles a resumed screen in case the theme changed while it was covered.
        # The first time, every widget was styled a moment ago as it was mounted: restyling
        # them all again would only slow down the first frame.
        if self._styled_fresh:
            self._styled_fresh = False
            event.refresh_styles = False

    # ---- profile --------------------------------------------------------------------------
    def profile_changed(self, old: Profile | None, new: Profile | None) -> None:
        """Called by the app: keep the sender default in step, re-read national numbers."""
        sender = self.query_one("#sender", Input)
        old_default = (old.sender or "") if old else ""
        if not sender.value or sender.value == old_default:
            sender.value = (new.sender or "") if new else ""
        self._parse_recipients()

    # ---- live analysis --------------------------------------------------------------------
    # ---- advanced fields (mounted on first open) ------------------------------------------
    @property
    def advanced_fields(self) -> AdvancedFields | None:
        return self._advanced_fields

    def advanced_values(self) -> dict[str, str]:
        fields = self.advanced_fields
        return fields.read() if fields is not None else dict(self._advanced)

    def set_advanced(self, values: dict[str, str], *, show: bool = False) -> None:
        self._advanced = {**self._advanced, **values}
        fields = self.advanced_fields
        if fields is not None:
            fields.write(self._advanced)  # the fields' own Changed events recount
            return
        if show:
            self.query_one("#advanced", SectionToggle).expanded = True
        if "encoding" in values and not self._restoring:
            self._update_meter()
            self._schedule_preview()

    @on(SectionToggle.Toggled, "#advanced")
    async def _advanced_toggled(self, event: SectionToggle.Toggled) -> None:
        fields = self.advanced_fields
        if fields is not None:
            fields.display = event.expanded
        elif event.expanded:
            from sms_tui.tui.widgets.advanced import AdvancedFields

            fields = AdvancedFields(dict(self._advanced))
            self._advanced_fields = fields
            await self.query_one("#compose-form").mount(fields, after="#advanced")

    @property
    def requested_encoding(self) -> str:
        fields = self.advanced_fields
        if fields is None:
            return self._advanced.get("encoding") or "AUTO"
        value = fields.query_one("#encoding", Select).value
        return value if isinstance(value, str) else "AUTO"

    def message_edited(self) -> None:
        """Called by the message box after every edit."""
        self._update_meter()
        self._schedule_preview()
        self._schedule_draft_save()

    @on(Select.Changed, "#encoding")
    def _encoding_changed(self) -> None:
        if self.analysis is None and self.requested_encoding == "AUTO":
            return  # the Select announcing its initial value: nothing to recount
        self._update_meter()
        self._schedule_preview(0)
        self._schedule_draft_save()

    def _update_meter(self) -> None:
        from sms_tui.encoding import analyze

        text = self._message.text
        requested = self.requested_encoding
        self.analysis = analysis = analyze(text, requested)
        self._offer = self._smart_offer(text, analysis, requested)
        self._meter.show(
            analysis,
            recipients=self.recipient_count,
            requested=requested,
            offer=self._offer,
        )

    @staticmethod
    def _smart_offer(text: str, analysis: Analysis, requested: str) -> Offer | None:
        # Only worth computing when something forces UCS-2 or cannot be carried.
        if not analysis.non_gsm:
            return None
        from sms_tui.encoding import replacement_saving

        saving = replacement_saving(text, requested, before=analysis)
        if not saving.worthwhile:
            return None
        return Offer(
            characters=saving.count, saves=saving.segments_saved, summary=saving.summary
        )

    def _schedule_preview(self, delay: float = PREVIEW_DELAY) -> None:
        if self._preview is None:
            return
        if delay <= 0:
            self._preview.cancel()
            self.call_later(self._render_preview)
        else:
            self._preview.poke()

    def _render_preview(self) -> None:
        if self.analysis is None:
            self._update_meter()
        assert self.analysis is not None
        self.query_one(SegmentPreview).show(self.analysis, self.requested_encoding)

    def render_now(self) -> None:
        """Bring the preview up to date at once (tests, screenshots, benchmarks)."""
        if self._preview is not None:
            self._preview.cancel()
        self._render_preview()

    # ---- recipients and fields ------------------------------------------------------------
    @on(Input.Changed, "#to")
    def _to_changed(self, event: Input.Changed) -> None:
        self._schedule_draft_save()
        if self._recipients is not None and len(event.value) > 400:
            self._recipients.poke()
        else:
            if self._recipients is not None:
                self._recipients.cancel()
            self._parse_recipients()

    def _parse_recipients(self) -> None:
        from sms_tui import phone  # phonenumbers loads on the first number, not at start-up

        profile = self.app.profile
        country = profile.country if profile else None
        text = self.query_one("#to", RecipientsInput).value
        recipients, problems = phone.parse_recipients(text, country)
        hint = (
            f"National numbers are read as {country}; international ones start with +."
            if country
            else "Numbers in international format: +65 9123 4567, +1 202 555 0101, …"
        )
        self.query_one(RecipientsStatus).show(recipients, problems, empty_hint=hint)
        self.query_one("#to").set_class(bool(problems), "-bad")
        self.recipient_count = len(recipients)
        self._update_meter()

    @on(Input.Changed, "#sender")
    def _sender_changed(self, event: Input.Changed) -> None:
        from sms_tui import phone

        self._schedule_draft_save()
        status = self.query_one("#sender-status", Static)
        try:
            check = phone.check_sender(event.value)
        except InvalidInput as error:
            status.update(f"✗ {error}")
            status.set_classes("field-status -error")
            event.input.add_class("-bad")
            return
        event.input.remove_class("-bad")
        if check.warnings:
            status.update("⚠ " + " ".join(check.warnings))
            status.set_classes("field-status -warning")
        else:
            status.update("")
            status.set_classes("field-status")

    @on(Input.Changed, "#client-message-id, #schedule, #expiry")
    def _advanced_changed(self) -> None:
        self._schedule_draft_save()
        self._check_advanced()

    def _check_advanced(self) -> bool:
        from sms_tui.tui.timeparse import parse_when

        status = self.query_one("#advanced-status", Static)
        problems = []
        for field_id, what in (("#schedule", "schedule"), ("#expiry", "expiry")):
            field = self.query_one(field_id, Input)
            try:
                parse_when(field.value, what=what)
            except InvalidInput as error:
                problems.append(str(error))
                field.add_class("-bad")
            else:
                field.remove_class("-bad")
        if len(self.query_one("#client-message-id", Input).value) > 350:  # mounted: it changed
            problems.append("The client message id is longer than 350 characters.")
        status.update("\n".join(f"✗ {problem}" for problem in problems))
        status.set_class(bool(problems), "-error")
        return not problems

    # ---- draft ----------------------------------------------------------------------------
    def current_draft(self) -> drafts.ComposeDraft:
        advanced = self.advanced_values()
        return drafts.ComposeDraft(
            to=self.query_one("#to", Input).value,
            text=self.query_one("#message", TextArea).text,
            sender=self.query_one("#sender", Input).value,
            encoding=advanced["encoding"],
            client_message_id=advanced["client_message_id"],
            schedule=advanced["schedule"],
            expiry=advanced["expiry"],
            resent_from=self.resent_from,
        )

    def _schedule_draft_save(self) -> None:
        if self._restoring or self._draft is None:
            return
        self._draft.poke()

    def save_draft(self) -> None:
        """Write what is typed now; a failure is said once and never loses the text on screen."""
        if self._draft is not None:
            self._draft.cancel()
        try:
            drafts.save_draft(self.current_draft())
        except (OSError, SmsTuiError) as error:
            if not self._draft_error_shown:
                self._draft_error_shown = True
                self.notify(
                    f"The draft cannot be saved ({error}). What you type stays on screen.",
                    title="Draft not saved",
                    severity="warning",
                )

    def restore_draft(self) -> None:
        """Bring back what was being typed before a crash or quit (never over new typing)."""
        if self.query_one("#message", TextArea).text or self.query_one("#to", Input).value:
            return
        draft = drafts.load_draft()
        profile = self.app.profile
        if not draft.sender and profile and profile.sender:
            draft.sender = profile.sender
        self.fill(draft)

    def fill(self, draft: drafts.ComposeDraft) -> None:
        """Put a draft into the form (restore, resend, copy from history)."""
        self._restoring = True
        try:
            self.query_one("#sender", Input).value = draft.sender
            self.query_one("#to", Input).value = draft.to
            message = self.query_one("#message", TextArea)
            if message.text != draft.text:
                message.load_text(draft.text)
                # At the end, where one goes on writing (load_text leaves it at the start).
                message.move_cursor(message.document.end)
            encoding = draft.encoding if draft.encoding in ("AUTO", "GSM7", "UCS2") else "AUTO"
            show = bool(
                encoding != "AUTO" or draft.client_message_id or draft.schedule or draft.expiry
            )
            self.set_advanced(
                {
                    "encoding": encoding,
                    "client_message_id": draft.client_message_id,
                    "schedule": draft.schedule,
                    "expiry": draft.expiry,
                },
                show=show,
            )
            self.resent_from = draft.resent_from
        finally:
            self._restoring = False
        self._parse_recipients()
        self._update_meter()
        self._schedule_preview(0)

    # ---- actions --------------------------------------------------------------------------
    def action_toggle_advanced(self) -> None:
        advanced = self.query_one("#advanced", SectionToggle)
        advanced.expanded = not advanced.expanded
        if advanced.expanded:
            self.call_after_refresh(self._focus_encoding)

    def _focus_encoding(self) -> None:
        found = self.query("#encoding")
        if found:
            found.first().focus()

    def action_smart_replace(self) -> None:
        from sms_tui.encoding import smart_replace

        message = self.query_one("#message", TextArea)
        replaced, replacements = smart_replace(message.text)
        if not replacements:
            self.notify("Nothing to replace: every character already has its GSM-7 form.")
            return
        before = self.analysis.segment_count if self.analysis else 0
        # One edit over the whole text, so a single ctrl+z brings the original back.
        message.replace(replaced, (0, 0), message.document.end)
        message.focus()  # so that ctrl+z, the undo, is one key away
        after = self.analysis.segment_count if self.analysis else 0
        saved = f", {before - after} segment(s) saved" if before > after else ""
        self.notify(
            f"Replaced {len(replacements)} character(s){saved}. ctrl+z in the message undoes it.",
            title="Smart replacement",
        )

    def action_new_message(self) -> None:
        """Clear the form; the message text stays in the undo history of the text area."""
        self.fill(drafts.ComposeDraft(sender=(self.app.profile.sender or "")
                                      if self.app.profile else ""))
        self.last_report = None
        self._set_status("")
        self.save_draft()
        self.query_one("#to", Input).focus()

    @on(SendButton.Pressed)
    def _send_pressed(self) -> None:
        self.action_send()

    def action_send(self) -> None:
        if self.sending:
            self.notify("A send is already in progress.", severity="warning")
            return
        profile = self.app.profile
        if profile is None:
            self.notify(
                "No profile yet: open Setup from the command palette (ctrl+p), or try the sandbox.",
                title="Nothing sent",
                severity="error",
            )
            return
        try:
            prepared = self.prepare_send(profile)
        except InvalidInput as error:
            self._set_status(f"✗ {error}", "-error")
            self.notify(str(error), title="Nothing sent", severity="error")
            return
        self._set_status("")
        from sms_tui.tui.screens.confirm_send import ConfirmSendScreen

        def confirmed(answer: bool | None) -> None:
            if answer:
                self.send_prepared(prepared, profile)
            else:
                self._set_status("Not sent: cancelled at the confirmation.")

        self.app.push_screen(ConfirmSendScreen(prepared, profile), confirmed)

    def prepare_send(self, profile: Profile) -> PreparedSend:
        """Validate the form through the shared workflow (raises InvalidInput; nothing recorded)."""
        from sms_tui import outbox
        from sms_tui.tui.timeparse import parse_when

        draft = self.current_draft()
        scheduled = parse_when(draft.schedule, what="schedule")
        expiry = parse_when(draft.expiry, what="expiry")
        return outbox.prepare(
            outbox.Draft(
                to=draft.to,
                text=draft.text,
                sender=draft.sender,
                encoding=draft.encoding,
                client_message_id=draft.client_message_id or None,
                scheduled=scheduled,
                expiry=expiry,
                resent_from=draft.resent_from,
            ),
            profile,
        )

    @work(exclusive=True, group="send", exit_on_error=False)
    async def send_prepared(self, prepared: PreparedSend, profile: Profile) -> None:
        """Send in a worker: the screen stays usable, the progress bar follows a batch."""
        from sms_tui import outbox
        from sms_tui.tui.screens.send_result import SendResultScreen

        self.sending = True
        total = len(prepared.recipients)
        from textual.widgets import ProgressBar  # imported and mounted for the send only

        progress = ProgressBar(id="send-progress", show_eta=False, total=total)
        progress.display = total > 1
        await self.query_one("#send-row").mount(progress, before="#send-status")
        self._set_status(f"Sending {total} message{'s' if total > 1 else ''}…", "-busy")

        def on_progress(done: int, of: int) -> None:
            progress.update(total=of, progress=done)

        try:
            # In a thread: the keyring may block on D-Bus, and httpx loads on first use.
            client = await asyncio.to_thread(outbox.client_for, profile)
        except SmsTuiError as error:
            self.sending = False
            await progress.remove()
            self._set_status(f"✗ Nothing sent: {error}", "-error")
            self.app.push_screen(SendResultScreen.for_error(error, sent=False))
            return
        try:
            async with client:
                report = await outbox.send(
                    prepared,
                    client=client,
                    history=self.app.history,
                    profile=profile,
                    on_progress=on_progress,
                )
        except SmsTuiError as error:
            # The workflow records every outcome itself; reaching here means a local failure
            # (history, keyring) before or after the request: say so and keep the form.
            self._set_status(f"✗ {error}", "-error")
            self.app.push_screen(SendResultScreen.for_error(error, sent=None))
            return
        except Exception as error:  # noqa: BLE001 - a person must never see a traceback
            self._set_status("✗ Unexpected internal error: check History.", "-error")
            self.app.push_screen(SendResultScreen.for_unexpected(error))
            return
        finally:
            self.sending = False
            await progress.remove()
        self.last_report = report
        self._report_done(report)
        if report.accepted:
            self.app.load_balance()  # a prepaid balance just went down
        self.app.push_screen(SendResultScreen(report))

    def _report_done(self, report: SendReport) -> None:
        total = len(report.results)
        if report.all_accepted:
            self._set_status(f"✓ 8x8 accepted {total} of {total}. Result in History.", "-ok")
            # The text went out: start the next message clean (ctrl+z in the text brings it back).
            message = self.query_one("#message", TextArea)
            message.replace("", (0, 0), message.document.end)
            self.set_advanced({"client_message_id": ""})
            self.resent_from = None
            self.save_draft()
            return
        unknown = report.count("unknown")
        parts = [f"{report.accepted} of {total} accepted"]
        for state in ("rejected", "failed"):
            if report.count(state):
                parts.append(f"{report.count(state)} {state}")
        if unknown:
            parts.append(f"{unknown} outcome unknown")
        self._set_status("⚠ " + ", ".join(parts) + ". The form is kept.", "-error")

    def watch_sending(self, sending: bool) -> None:
        self.query_one("#send", SendButton).disabled = sending

    def _set_status(self, text: str, variant: str = "") -> None:
        status = self.query_one("#send-status", Static)
        status.update(text)
        status.set_classes(variant)
        if text:
            self.call_after_refresh(status.scroll_visible, animate=False)

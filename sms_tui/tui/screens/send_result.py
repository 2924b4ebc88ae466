"""What became of a send: each message's umid, state and encoding, or the error and what to do."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from sms_tui.errors import SmsTuiError
from sms_tui.tui import styles
from sms_tui.tui.widgets.meter import ENCODING_LABELS

if TYPE_CHECKING:
    from sms_tui.outbox import SendReport, SendResult

RESULTS_SHOWN = 50  # a batch of thousands is summarised; History has every record
UNKNOWN_ADVICE = (
    "8x8 may or may not have received it: the connection failed after the request left. It is "
    "recorded as 'unknown'. Do not resend blindly (8x8 has no duplicate protection): check "
    "History or 8x8's logs for its clientMessageId first, then resend from History if needed."
)
FAILED_ADVICE = "It provably never reached 8x8, so nothing was sent; resending is safe."

Part = str | tuple[str, str]


def _error_lines(error: SmsTuiError | None) -> list[Part]:
    if error is None:
        return []
    text = str(error)
    parts: list[Part] = [(text, "$error")]
    code = getattr(error, "code", None)
    error_id = getattr(error, "error_id", None)
    status = getattr(error, "status", None)
    # The domain's sentence usually names these already; add only what it left out.
    details = []
    if status and f"HTTP {status}" not in text:
        details.append(f"HTTP {status}")
    if code is not None and str(code) not in text:
        details.append(f"8x8 code {code}")
    if error_id and error_id not in text:
        details.append(f"errorId {error_id} (8x8 support asks for it)")
    if details:
        parts += ["\n", (" · ".join(details), "dim")]
    return parts


def render_result(result: SendResult) -> tuple[Content, Content | None]:
    """The headline for one message, and what to say under it (None when all went well)."""
    state = result.state
    destination = result.destination
    if state == "queued":
        encoding = ENCODING_LABELS.get(result.encoding or "", result.encoding or "?")
        return Content.assemble(
            ("✓ ", "$success bold"), (destination, "bold"), "  accepted (queued)  ",
            ("umid ", "dim"), (result.umid or "?", "bold"), ("  encoding ", "dim"), encoding,
        ), None
    if state == "unknown":
        return Content.assemble(
            ("? ", "$warning bold"), (destination, "bold"), "  ",
            ("outcome unknown", "$warning bold"),
        ), (
            # The domain's sentence already says what is unknown and what to do.
            Content.assemble(*_error_lines(result.error))
            if result.error is not None
            else Content.assemble((UNKNOWN_ADVICE, "$warning"))
        )
    if state == "failed":
        return Content.assemble(
            ("✗ ", "$error bold"), (destination, "bold"), "  ", ("not sent", "$error bold"),
        ), (
            Content.assemble(*_error_lines(result.error))
            if result.error is not None
            else Content.assemble((FAILED_ADVICE, "dim"))
        )
    label = "rejected by 8x8" if state == "rejected" else state
    parts: list[Part] = []
    if result.error is None and result.response:
        description = (result.response.get("status") or {}).get("description")
        if description:
            parts += [(str(description), "$error")]
    parts += _error_lines(result.error)
    return Content.assemble(
        ("✗ ", "$error bold"), (destination, "bold"), "  ", (label, "$error bold"),
    ), (Content.assemble(*parts) if parts else None)


class SendResultScreen(ModalScreen[None]):
    """A modal over the compose screen; Enter or Escape closes it, the form is as it was."""

    CSS_PATH = styles.DIALOGS

    BINDINGS = [
        Binding("escape,enter", "close", "Close"),
        Binding("ctrl+o", "open_history", "History"),
    ]

    def __init__(self, report: SendReport | None, *, title: str = "", body: Content | None = None):
        super().__init__(classes="modal")
        self.report = report
        self._title = title
        self._body = body

    @classmethod
    def for_error(cls, error: SmsTuiError, *, sent: bool | None) -> SendResultScreen:
        """A failure before a report exists: sent=False means provably nothing went out."""
        if sent is False:
            title = "Nothing was sent"
            tail = "Your message is still in the form."
        else:
            title = "The send did not complete"
            tail = (
                "Some messages may have gone out: check History before sending again. "
                "Your message is still in the form."
            )
        body = Content.assemble(*_error_lines(error), "\n\n", tail)
        return cls(None, title=title, body=body)

    @classmethod
    def for_unexpected(cls, error: Exception) -> SendResultScreen:
        body = Content.assemble(
            ("An unexpected internal error stopped the send ", "$error"),
            (f"({type(error).__name__}).", "$error"),
            "\n\nMessages that were recorded before it are in History with their state; "
            "check there before sending again. Your message is still in the form.",
        )
        return cls(None, title="The send did not complete", body=body)

    def compose(self) -> ComposeResult:
        with Vertical(id="result-dialog", classes="dialog"):
            yield Label(self._title or self._headline(), classes="dialog-title", id="result-title")
            with VerticalScroll(id="result-list"):
                if self._body is not None:
                    yield Static(self._body, classes="result-detail")
                else:
                    yield from self._details()
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close (enter)", id="close", variant="primary")
                yield Button("History (^o)", id="history")

    def _headline(self) -> str:
        report = self.report
        assert report is not None
        total = len(report.results)
        if report.all_accepted:
            noun = "message" if total == 1 else "messages"
            return f"✓ 8x8 accepted {'the' if total == 1 else f'all {total}'} {noun}"
        counts = [f"{report.accepted} of {total} accepted"]
        for state, label in (("rejected", "rejected"), ("failed", "not sent"),
                             ("unknown", "outcome unknown")):
            if report.count(state):
                counts.append(f"{report.count(state)} {label}")
        return "⚠ " + ", ".join(counts)

    def _details(self) -> ComposeResult:
        report = self.report
        assert report is not None
        # Problems first: with a batch, they are what the person has to act on.
        ordered = sorted(report.results, key=lambda r: r.state == "queued")
        for result in ordered[:RESULTS_SHOWN]:
            headline, detail = render_result(result)
            yield Static(headline, classes="result-headline")
            if detail is not None:
                yield Static(detail, classes="result-detail")
        hidden = len(ordered) - RESULTS_SHOWN
        if hidden > 0:
            yield Static(f"… and {hidden} more: every one is in History.", markup=False)

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "history":
            self.action_open_history()
        else:
            self.dismiss()

    def action_open_history(self) -> None:
        self.dismiss()
        self.app.call_later(self.app.action_history)

    def action_close(self) -> None:
        self.dismiss()

"""The confirmation before anything is sent: how many recipients, how many segments in total."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from sms_tui.tui import styles
from sms_tui.tui.timeparse import describe
from sms_tui.tui.widgets.meter import ENCODING_LABELS

if TYPE_CHECKING:
    from sms_tui.config import Profile
    from sms_tui.outbox import PreparedSend

RECIPIENTS_SHOWN = 4


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


class ConfirmSendScreen(ModalScreen[bool]):
    """Answers True to send, False to go back to the form (which keeps everything)."""

    CSS_PATH = styles.DIALOGS

    BINDINGS = [
        Binding("escape,n", "cancel", "Back to the form"),
        Binding("y", "confirm", "Send"),
    ]

    def __init__(self, prepared: PreparedSend, profile: Profile) -> None:
        super().__init__(classes="modal")
        self.prepared = prepared
        self.profile = profile

    def compose(self) -> ComposeResult:
        prepared = self.prepared
        count = len(prepared.recipients)
        with Vertical(id="confirm-dialog", classes="dialog"):
            title = f"Send {_plural(count, 'message')}?"
            if self.profile.sandbox:
                title += "  (sandbox: nothing reaches a phone)"
            yield Label(title, classes="dialog-title")
            yield Static(self._summary(), id="confirm-summary")
            if prepared.warnings:
                yield Static(
                    Content.assemble(
                        *[(f"⚠ {warning}\n", "$warning") for warning in prepared.warnings]
                    ),
                    id="confirm-warnings",
                )
            with Horizontal(classes="dialog-buttons"):
                yield Button(
                    f"Send {_plural(prepared.total_segments, 'segment')} (y)",
                    id="confirm",
                    variant="primary",
                )
                yield Button("Back (esc)", id="cancel")

    def _summary(self) -> Content:
        prepared = self.prepared
        analysis = prepared.analysis
        shown = ", ".join(r.formatted for r in prepared.recipients[:RECIPIENTS_SHOWN])
        more = len(prepared.recipients) - RECIPIENTS_SHOWN
        if more > 0:
            shown += f" and {more} more"
        sender = prepared.sender.value or "8x8's default sender"
        encoding = ENCODING_LABELS.get(analysis.encoding, analysis.encoding)
        rows: list[str | tuple[str, str]] = [
            ("To       ", "dim"), (f"{_plural(len(prepared.recipients), 'recipient')}: ", "bold"),
            shown, "\n",
            ("From     ", "dim"), sender, "\n",
            ("Account  ", "dim"),
            f"{self.profile.name} ({self.profile.subaccount_id}, {self.profile.region_label()})\n",
            ("Message  ", "dim"),
            f"{encoding}, {analysis.units} units, "
            f"{_plural(analysis.segment_count, 'segment')} each\n",
            ("Total    ", "dim"),
            (f"{_plural(prepared.total_segments, 'segment')}", "bold $accent"), "\n",
            ("When     ", "dim"), describe(prepared.draft.scheduled),
        ]
        if prepared.draft.expiry is not None:
            rows += [("  expires ", "dim"), describe(prepared.draft.expiry)]
        return Content.assemble(*rows)

    def on_mount(self) -> None:
        self.query_one("#confirm", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

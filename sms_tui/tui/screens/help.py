"""The help screen: every key, what each screen is for, and where things are kept."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from sms_tui.tui import styles

SECTIONS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "Everywhere",
        (
            ("ctrl+p", "command palette: every action, profile switching, themes"),
            ("F1 / ?", "this help (? when the cursor is not in a text field)"),
            ("ctrl+o", "history of sent messages"),
            ("ctrl+q", "quit (the draft is kept)"),
            ("tab / shift+tab", "next / previous field"),
        ),
    ),
    (
        "Compose",
        (
            ("ctrl+s", "check, confirm and send (also the Send button)"),
            ("ctrl+r", "smart replacement: curly quotes, dashes… to GSM-7 (ctrl+z undoes)"),
            ("F4", "advanced: encoding, clientMessageId, schedule, expiry"),
            ("ctrl+n", "new message (clears the form)"),
            ("ctrl+z / ctrl+y", "undo / redo in the message"),
        ),
    ),
    (
        "Setup",
        (
            ("ctrl+t", "test the connection (no SMS is sent)"),
            ("ctrl+s", "save the profile (key to the keyring)"),
            ("ctrl+b", "try the built-in sandbox: no account needed"),
            ("escape", "back without saving"),
        ),
    ),
)

NOTES = (
    "The meter counts units exactly as 8x8 bills them: GSM-7 septets (^ { } [ ] ~ | € \\ count "
    "2) or UCS-2 code units (an emoji counts 2). One segment holds 160/70; longer messages "
    "153/67 per segment. Highlighted characters in the preview force UCS-2.\n\n"
    "Schedule and expiry take a local time (2026-12-01 09:00), an ISO time with a zone, or "
    "+30m / +2h / +1d from now.\n\n"
    "The API key lives in the OS keyring (or $SMS_TUI_API_KEY); it is never written to a file. "
    "The draft, profiles and history stay on this machine."
)


class HelpScreen(ModalScreen[None]):
    """Keys by screen and a few facts worth knowing; any of escape, F1, ? or q closes it."""

    CSS_PATH = styles.DIALOGS

    BINDINGS = [Binding("escape,f1,question_mark,q", "close", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog", classes="dialog"):
            yield Label("sms-tui help", classes="dialog-title")
            with VerticalScroll(id="help-body"):
                yield Static(self._keys(), id="help-keys")
                yield Static(NOTES, id="help-notes")

    @staticmethod
    def _keys() -> Content:
        parts: list[str | tuple[str, str]] = []
        for title, rows in SECTIONS:
            parts += [(title, "bold $accent underline"), "\n"]
            for key, what in rows:
                parts += [(f"  {key:<17}", "bold"), what, "\n"]
            parts.append("\n")
        return Content.assemble(*parts)

    def action_close(self) -> None:
        self.dismiss()

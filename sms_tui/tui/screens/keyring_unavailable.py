"""What to do when this machine has no OS keyring to keep the API key in."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from sms_tui.tui import styles

ENV_HINT = (
    "To use the key from the environment instead, start sms-tui with it set, for instance:\n"
    "  read -rs SMS_TUI_API_KEY && export SMS_TUI_API_KEY && sms-tui\n"
    "(read -s keeps the key out of your shell history.)"
)


class KeyringUnavailableScreen(ModalScreen[str]):
    """Answers "session" (keep the key in memory until the app quits), "env" or "back"."""

    CSS_PATH = styles.DIALOGS

    BINDINGS = [
        Binding("escape", "choose('back')", "Back"),
        Binding("s", "choose('session')", "Session only"),
        Binding("e", "choose('env')", "Environment"),
    ]

    def __init__(self, reason: str) -> None:
        super().__init__(classes="modal")
        self.reason = reason

    def compose(self) -> ComposeResult:
        with Vertical(id="keyring-dialog", classes="dialog"):
            yield Label("No keyring to keep the API key in", classes="dialog-title")
            yield Static(
                Content.assemble(
                    (self.reason, "$warning"),
                    "\n\nsms-tui never writes the key to a file. You can:\n",
                    ("  s ", "bold"), "keep it for this session only: it is forgotten when the "
                    "app quits, and the profile is saved without it;\n",
                    ("  e ", "bold"), "give it through the environment variable SMS_TUI_API_KEY "
                    "each time you start sms-tui.\n\n",
                    (ENV_HINT, "dim"),
                ),
                id="keyring-explanation",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Keep for this session (s)", id="session", variant="primary")
                yield Button("Use SMS_TUI_API_KEY (e)", id="env")
                yield Button("Back (esc)", id="back")

    def on_mount(self) -> None:
        self.query_one("#session", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "back")

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)

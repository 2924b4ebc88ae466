"""The question asked before deleting a message: locally only, or its personal data at 8x8 too."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Label, Static

from sms_tui.tui import styles


@dataclass(frozen=True)
class DeleteChoice:
    """What the person agreed to delete."""

    remote: bool  # also ask 8x8 to remove the message's personal data


class ConfirmDelete(ModalScreen[DeleteChoice | None]):
    """Asks before deleting; answers a DeleteChoice, or None when the person backs out."""

    CSS_PATH = [styles.DIALOGS, styles.HISTORY]

    BINDINGS = [
        Binding("escape", "cancel", "Keep it"),
        Binding("y", "confirm", "Delete", show=False),
    ]

    def __init__(self, what: str, *, can_remote: bool, remote_reason: str = "") -> None:
        super().__init__()
        self.what = what
        self.can_remote = can_remote
        self.remote_reason = remote_reason

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-delete-dialog", classes="history-dialog"):
            yield Label("Delete this message?", classes="dialog-title")
            yield Static(self.what, id="confirm-delete-what", markup=False)
            yield Static(
                "It is removed from the local history; this cannot be undone.",
                classes="dialog-hint",
            )
            yield Checkbox(
                "Also remove its personal data at 8x8",
                id="confirm-delete-remote",
                disabled=not self.can_remote,
            )
            if not self.can_remote and self.remote_reason:
                yield Static(self.remote_reason, classes="dialog-hint", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Delete", id="confirm-delete-yes", variant="error")
                yield Button("Keep it", id="confirm-delete-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-delete-no", Button).focus()

    @on(Button.Pressed, "#confirm-delete-yes")
    def action_confirm(self) -> None:
        remote = self.query_one("#confirm-delete-remote", Checkbox).value and self.can_remote
        self.dismiss(DeleteChoice(remote=remote))

    @on(Button.Pressed, "#confirm-delete-no")
    def action_cancel(self) -> None:
        self.dismiss(None)

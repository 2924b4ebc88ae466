"""The compose screen's advanced fields: encoding, clientMessageId, schedule and expiry."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Select, Static

ENCODING_CHOICES = [
    ("AUTO: GSM-7 when possible", "AUTO"),
    ("GSM7: force GSM-7", "GSM7"),
    ("UCS2: force UCS-2", "UCS2"),
]
FIELDS = ("encoding", "client_message_id", "schedule", "expiry")


class AdvancedFields(Vertical):
    """Mounted the first time the section opens: most messages never need it, and fewer
    widgets make the first frame sooner. Until then the screen keeps the values itself."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(id="advanced-fields")
        self.values = values

    def compose(self) -> ComposeResult:
        values = self.values
        with Horizontal(classes="field-row"):
            yield Label("Encoding", classes="field-label")
            yield Select(
                ENCODING_CHOICES,
                value=values.get("encoding") or "AUTO",
                allow_blank=False,
                id="encoding",
                compact=True,
            )
        with Horizontal(classes="field-row"):
            yield Label("Client id", classes="field-label")
            yield Input(
                values.get("client_message_id", ""),
                id="client-message-id",
                placeholder="clientMessageId (generated when empty)",
                compact=True,
            )
        with Horizontal(classes="field-row"):
            yield Label("Schedule", classes="field-label")
            yield Input(
                values.get("schedule", ""),
                id="schedule",
                placeholder="empty: now; 2026-12-01 09:00 (local) or +2h",
                compact=True,
            )
        with Horizontal(classes="field-row"):
            yield Label("Expiry", classes="field-label")
            yield Input(
                values.get("expiry", ""),
                id="expiry",
                placeholder="empty: 8x8's default; or +1d",
                compact=True,
            )
        yield Static("", id="advanced-status", classes="field-status")

    def read(self) -> dict[str, str]:
        encoding = self.query_one("#encoding", Select).value
        return {
            "encoding": encoding if isinstance(encoding, str) else "AUTO",
            "client_message_id": self.query_one("#client-message-id", Input).value,
            "schedule": self.query_one("#schedule", Input).value,
            "expiry": self.query_one("#expiry", Input).value,
        }

    def write(self, values: dict[str, str]) -> None:
        self.query_one("#encoding", Select).value = values.get("encoding") or "AUTO"
        self.query_one("#client-message-id", Input).value = values.get("client_message_id", "")
        self.query_one("#schedule", Input).value = values.get("schedule", "")
        self.query_one("#expiry", Input).value = values.get("expiry", "")

"""The compose screen's Send button."""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Static


class SendButton(Static, can_focus=True):
    """A one-line button that asks to send: click it, or focus it and press Enter or space.

    It looks like Textual's compact primary Button, but carries one look only: Button's
    styles for every variant and state (some sixty rules) cost about a twentieth of the
    app's start-up to parse and match, for the one button on the first screen.
    """

    DEFAULT_CSS = """
    SendButton {
        width: auto;
        min-width: 10;
        height: 1;
        line-pad: 1;
        text-align: center;
        pointer: pointer;
        text-style: bold;
        color: $button-color-foreground;
        background: $primary;
        &:hover {
            background: $primary-darken-2;
        }
        &:focus {
            text-style: $button-focus-text-style;
            background-tint: $foreground 5%;
        }
        &:disabled {
            text-opacity: 0.6;
            pointer: not-allowed;
        }
    }
    """

    BINDINGS = [Binding("enter,space", "press", "Send", show=False)]

    class Pressed(Message):
        """The person pressed the button."""

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.action_press()

    def action_press(self) -> None:
        if not self.disabled:
            self.post_message(self.Pressed())

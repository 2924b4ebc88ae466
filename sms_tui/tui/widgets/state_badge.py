"""How a message state looks: its colour in the history table and the badge in the detail view."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.color import Color
from textual.widgets import Static

# Each state maps to a meaning rather than a colour, so every Textual theme colours it its own way.
STATE_TONES: dict[str, str] = {
    "pending": "warning",
    "unknown": "warning",
    "queued": "primary",
    "sent": "primary",
    "delivered": "success",
    "rejected": "error",
    "failed": "error",
    "undelivered": "error",
    "expired": "muted",
    "cancelled": "muted",
}

# Theme variables holding a foreground colour that reads well on the theme's background.
_TONE_VARIABLES: dict[str, tuple[str, ...]] = {
    "success": ("text-success", "success"),
    "warning": ("text-warning", "warning"),
    "error": ("text-error", "error"),
    "primary": ("text-primary", "primary"),
    "muted": ("foreground-muted", "foreground"),
}


def state_tone(state: str) -> str:
    """The meaning of a state's colour: success, warning, error, primary or muted."""
    return STATE_TONES.get(state, "warning")


def tone_colour(tone: str, variables: Mapping[str, str]) -> str:
    """A Rich colour for a tone, taken from the theme's CSS variables (alpha blended away)."""
    background = Color.parse(variables.get("background", "#000000"))
    for name in _TONE_VARIABLES.get(tone, ("foreground",)):
        value = variables.get(name)
        if not value:
            continue
        try:
            colour = Color.parse(value)
        except Exception:  # noqa: BLE001 - a theme value we cannot parse falls back to the next
            continue
        return (background + colour).hex if colour.a < 1 else colour.hex
    return "default"


def state_text(state: str, variables: Mapping[str, str]) -> Text:
    """The state as coloured text, for a table cell."""
    return Text(state, style=tone_colour(state_tone(state), variables), no_wrap=True, end="")


class StateBadge(Static):
    """A message state shown as a coloured badge; the colour follows the theme via CSS classes."""

    DEFAULT_CSS = """
    StateBadge {
        width: auto;
        padding: 0 1;
        text-style: bold;
    }
    """

    def __init__(self, state: str, *, id: str | None = None) -> None:
        super().__init__(state, id=id, markup=False)
        self.state = state
        self.add_class(f"tone-{state_tone(state)}")

    def set_state(self, state: str) -> None:
        """Show another state."""
        self.remove_class(f"tone-{state_tone(self.state)}")
        self.state = state
        self.add_class(f"tone-{state_tone(state)}")
        self.update(state)

"""A one-line header that opens and closes a section of a form."""

from __future__ import annotations

from textual import events
from textual.app import RenderResult
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static


class SectionToggle(Static, can_focus=True):
    """"▶ title" while closed, "▼ title" while open; a click, Enter or space toggles it, and
    each change posts `Toggled`. The section's content is the owner's to mount and show.

    It looks like the title of Textual's Collapsible, which costs three widgets and its own
    styles on the first frame for content that most messages never open.
    """

    DEFAULT_CSS = """
    SectionToggle {
        width: auto;
        height: 1;
        padding: 0 1;
        text-style: $block-cursor-blurred-text-style;
        color: $block-cursor-blurred-foreground;
        &:hover {
            background: $block-hover-background;
            color: $foreground;
        }
        &:focus {
            text-style: $block-cursor-text-style;
            background: $block-cursor-background;
            color: $block-cursor-foreground;
        }
    }
    """

    BINDINGS = [Binding("enter,space", "toggle", "Open or close", show=False)]

    expanded: reactive[bool] = reactive(False, init=False)

    class Toggled(Message):
        """The section was opened (`expanded`) or closed."""

        def __init__(self, toggle: SectionToggle, expanded: bool) -> None:
            super().__init__()
            self.toggle = toggle
            self.expanded = expanded

        @property
        def control(self) -> SectionToggle:
            return self.toggle

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.title = title

    def render(self) -> RenderResult:
        return f"{'▼' if self.expanded else '▶'} {self.title}"

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.action_toggle()

    def action_toggle(self) -> None:
        self.expanded = not self.expanded

    def watch_expanded(self, expanded: bool) -> None:
        self.post_message(self.Toggled(self, expanded))

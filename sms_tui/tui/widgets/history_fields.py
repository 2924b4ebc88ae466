"""A message's recorded fields as "label  value" lines, long values wrapped under their value."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from textual.app import RenderResult
from textual.content import Content
from textual.geometry import Size
from textual.widget import Widget

LABEL_WIDTH = 16
GAP = 2


class HistoryFields(Widget):
    """Label/value pairs in two columns; a value too long for its column wraps beneath itself.

    Drawn as plain lines rather than a table or a grid of widgets: the detail view opens at
    once however many fields a record has.
    """

    DEFAULT_CSS = """
    HistoryFields {
        height: auto;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.fields: tuple[tuple[str, str], ...] = ()

    def show(self, fields: Sequence[tuple[str, str]]) -> None:
        """Show these (label, value) pairs, in order."""
        self.fields = tuple(fields)
        self.refresh(layout=True)

    def lines(self, width: int) -> list[Content]:
        """The lines the fields take at `width` cells."""
        value_width = max(10, width - LABEL_WIDTH - GAP)
        indent = " " * (LABEL_WIDTH + GAP)
        lines: list[Content] = []
        for label, value in self.fields:
            pieces: list[str] = []
            for paragraph in (value or "").splitlines() or [""]:
                pieces += textwrap.wrap(
                    paragraph, value_width, break_long_words=True, break_on_hyphens=False
                ) or [""]
            head = label[:LABEL_WIDTH].ljust(LABEL_WIDTH + GAP)
            lines.append(Content.assemble((head, "bold"), pieces[0]))
            lines.extend(Content(indent + piece) for piece in pieces[1:])
        return lines

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.lines(width))

    def render(self) -> RenderResult:
        return Content("\n").join(self.lines(self.size.width or 80))

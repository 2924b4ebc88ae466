"""The segment preview: the message split exactly as phones will receive it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content
from textual.widgets import Static

if TYPE_CHECKING:
    from sms_tui.encoding import Analysis

EMPTY = Content.assemble(("Type a message to see how it will be split.", "dim"))

MAX_SEGMENTS_SHOWN = 12  # a longer message is summarised; the meter still counts every segment


class SegmentPreview(Static):
    """Each segment's text under a numbered rule, characters that force UCS-2 highlighted.

    In forced GSM-7, the characters GSM-7 cannot carry are highlighted as errors instead.
    """

    DEFAULT_CLASSES = "segment-preview"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(EMPTY, id=id)

    def show(self, analysis: Analysis, requested: str = "AUTO") -> None:
        self.update(self.render_segments(analysis, requested))

    @staticmethod
    def render_segments(analysis: Analysis, requested: str = "AUTO") -> Content:
        segments = tuple(analysis.segments)
        if not segments:
            return EMPTY
        if requested == "GSM7" and analysis.unencodable:
            style = "$error bold reverse"  # these will be lost, not just cost more
        else:
            style = "$warning bold reverse"
        positions = analysis.non_gsm_positions if analysis.non_gsm else ()
        pieces: list[Content] = []
        total = len(segments)
        offset = 0
        cursor = 0  # index into positions: both run in text order
        for number, segment in enumerate(segments[:MAX_SEGMENTS_SHOWN], start=1):
            units = analysis.segment_units[number - 1]
            title = Content.assemble(
                (f" {number}/{total} ", "bold reverse $accent"),
                (f" {units}/{analysis.per_segment} units, {len(segment)} characters", "dim"),
                "\n",
            )
            body = Content(segment)
            end = offset + len(segment)
            while cursor < len(positions) and positions[cursor][0] < end:
                index, cluster = positions[cursor]
                start = index - offset
                body = body.stylize(style, start, start + len(cluster))
                cursor += 1
            offset = end
            pieces.append(title + body + Content("\n\n" if number < total else ""))
        if total > MAX_SEGMENTS_SHOWN:
            pieces.append(
                Content.assemble(
                    (f"… and {total - MAX_SEGMENTS_SHOWN} more segments", "dim italic")
                )
            )
        return Content("").join(pieces)

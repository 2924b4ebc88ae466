"""The history table: a row per recorded message, appended a page at a time as you scroll."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from rich.cells import cell_len, set_cell_size
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from sms_tui.tui.widgets.state_badge import state_tone, tone_colour

PREVIEW_CHARS = 200  # a row keeps this much of the text: the table never shows more
NEAR_END_ROWS = 40  # ask for the next page when the cursor or the view gets this close to the end


def local_time(value: object) -> datetime | None:
    """A record's timestamp (datetime, ISO text or epoch seconds) in the local time zone."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float):
        moment = datetime.fromtimestamp(value, UTC)
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # the store writes UTC
    return moment.astimezone()


def format_time(value: object, *, long: bool = True) -> str:
    """A timestamp for people: "2026-05-14 09:30" (long) or "05-14 09:30" (short)."""
    moment = local_time(value)
    if moment is None:
        return str(value or "")
    return moment.strftime("%Y-%m-%d %H:%M" if long else "%m-%d %H:%M")


def preview(text: str | None) -> str:
    """The text on one line, cut to what a row can show."""
    return " ".join((text or "")[: PREVIEW_CHARS * 2].split())[:PREVIEW_CHARS]


def fit(text: str, width: int) -> str:
    """`text` in exactly `width` cells: padded, or cut with an ellipsis (wide characters: 2)."""
    if width <= 0:
        return ""
    length = cell_len(text)
    if length <= width:
        return text + " " * (width - length)
    return set_cell_size(text, width - 1) + "…"


class Cell:
    """One table cell: a line of text cut to its column, with one blank column on its right.

    Much cheaper than a Rich Text for the table to measure and draw (it renders one segment),
    which keeps appending pages and scrolling smooth; and never read as markup, so a message
    containing "[b]" shows as typed.
    """

    __slots__ = ("style", "text")

    def __init__(self, text: str, style: Style | None = None) -> None:
        self.text = text
        self.style = style

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Segment(fit(self.text, options.max_width - 1) + " ", self.style)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        # Every column has a set width, so the table never needs the real one.
        return Measurement(1, 1)

    def __str__(self) -> str:
        return self.text


class TimeCell(Cell):
    """A time that shows its year when the column is wide enough for it."""

    __slots__ = ("short",)

    def __init__(self, value: object) -> None:
        super().__init__(format_time(value, long=True))
        self.short = format_time(value, long=False)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        text = self.text if options.max_width > len(self.text) else self.short
        yield Segment(fit(text, options.max_width - 1) + " ")


@dataclass(frozen=True)
class ColumnSpec:
    key: str
    label: str
    narrow: int  # width (with its one-column gutter) below WIDE_AT columns
    wide: int


WIDE_AT = 120
COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("time", "Time", 12, 17),
    ColumnSpec("to", "To", 14, 17),
    ColumnSpec("from", "From", 10, 17),
    ColumnSpec("text", "Message", 0, 0),  # takes what is left
    ColumnSpec("encoding", "Enc", 5, 5),
    ColumnSpec("segments", "Seg", 4, 4),
    ColumnSpec("state", "State", 12, 12),
)
MIN_TEXT_WIDTH = 12


def column_widths(total: int) -> dict[str, int]:
    """Every column's width for a table `total` cells wide; the message text takes the rest."""
    wide = total >= WIDE_AT
    widths = {spec.key: (spec.wide if wide else spec.narrow) for spec in COLUMNS}
    fixed = sum(widths.values())
    widths["text"] = max(MIN_TEXT_WIDTH, total - fixed)
    return widths


class HistoryTable(DataTable):
    """Recorded messages, newest first; knows which record each row shows.

    Rows are keyed by record id. The table never asks the store for anything: it posts
    `NearEnd` when the person gets close to the last loaded row and the screen appends the
    next page.
    """

    BINDINGS = [
        # Rows, not columns: every column fits, so Home and End go to the first and last row.
        Binding("home", "scroll_top", "First", show=False),
        Binding("end", "scroll_bottom", "Last loaded", show=False),
    ]

    class NearEnd(Message):
        """The cursor or the view is close to the last loaded row."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            id=id,
            cursor_type="row",
            zebra_stripes=True,
            cell_padding=0,
            show_row_labels=False,
        )
        self.records: dict[int, object] = {}
        self._widths: dict[str, int] = {}

    def on_mount(self) -> None:
        widths = column_widths(self._available_width())
        for spec in COLUMNS:
            self.add_column(Text(spec.label), key=spec.key, width=widths[spec.key])
        self._widths = widths
        self.watch(self, "scroll_y", self._check_near_end, init=False)
        self.app.theme_changed_signal.subscribe(self, self._recolour)

    def _available_width(self) -> int:
        width = self.scrollable_content_region.width or self.size.width
        return width or 80

    def on_resize(self, event: events.Resize) -> None:
        widths = column_widths(self._available_width())
        if widths == self._widths or not self.columns:
            return
        self._widths = widths
        for key, width in widths.items():
            column = self.columns.get(key)  # type: ignore[call-overload]
            if column is not None:
                column.width = width
                column.auto_width = False
        # DataTable recomputes its virtual size on idle; new widths need the same pass.
        self._clear_caches()
        self._require_update_dimensions = True
        self.refresh()

    # Rows

    def row_cells(self, record) -> list[Cell]:
        segments = record.segment_count
        return [
            TimeCell(record.created_at),
            Cell(record.destination or ""),
            Cell(record.sender or ""),
            Cell(preview(record.text)),
            Cell(record.encoding or record.requested_encoding or ""),
            Cell("" if segments is None else str(segments)),
            self.state_cell(record.state),
        ]

    def state_cell(self, state: str) -> Cell:
        colour = tone_colour(state_tone(state), self.app.theme_variables)
        return Cell(state, Style(color=colour))

    def append_records(self, records: Iterable) -> int:
        """Add records below the loaded ones (already-loaded ids are skipped); returns how many."""
        added = 0
        for record in records:
            if record.id in self.records:
                continue
            self.records[record.id] = record
            self.add_row(*self.row_cells(record), key=str(record.id))
            added += 1
        return added

    def update_record(self, record) -> None:
        """Show a record's new state (and anything else that changed) if its row is loaded."""
        if record.id not in self.records:
            return
        self.records[record.id] = record
        for spec, cell in zip(COLUMNS, self.row_cells(record), strict=True):
            self.update_cell(str(record.id), spec.key, cell)

    def remove_record(self, record_id: int) -> None:
        """Drop a record's row if it is loaded."""
        self.records.pop(record_id, None)
        with contextlib.suppress(RowDoesNotExist):
            self.remove_row(str(record_id))

    def reset(self) -> None:
        """Forget every row (the filter changed)."""
        self.records.clear()
        self.clear()

    @property
    def current_record(self):
        """The record under the cursor, or None when the table is empty."""
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 - a cursor past the rows just means "none"
            return None
        return self.records.get(int(key)) if key is not None else None

    # Paging and colours

    @property
    def near_end(self) -> bool:
        """Whether the cursor or the bottom of the view is close to the last loaded row."""
        if not self.row_count:
            return False
        last_visible = self.scroll_y + self.size.height
        return max(self.cursor_row, last_visible) >= self.row_count - NEAR_END_ROWS

    def watch_cursor_coordinate(self, old, new) -> None:  # type: ignore[override]
        super().watch_cursor_coordinate(old, new)
        # DataTable re-assigns the cursor on every added row; only a real move counts.
        if old != new and self.near_end:
            self.post_message(self.NearEnd())

    def _check_near_end(self, _scroll_y: float) -> None:
        if self.near_end:
            self.post_message(self.NearEnd())

    def _recolour(self, _theme) -> None:
        for record_id, record in self.records.items():
            self.update_cell(str(record_id), "state", self.state_cell(record.state))

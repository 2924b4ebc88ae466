"""The history browser: every recorded message, newest first, paged from the store as you scroll."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Select, Static

from sms_tui.errors import SmsTuiError
from sms_tui.history import FINAL_STATES, STATES, HistoryFilter
from sms_tui.tui import styles
from sms_tui.tui.screens.confirm_delete import ConfirmDelete
from sms_tui.tui.screens.history_export import run_export
from sms_tui.tui.screens.message_detail import (
    DetailResult,
    MessageDetailScreen,
    describe_error,
    refresh_one,
    send_workflow,
)
from sms_tui.tui.widgets.history_commands import PaletteCommand, ScreenActions
from sms_tui.tui.widgets.history_table import HistoryTable, format_time
from sms_tui.tui.widgets.status_header import StatusHeader

if TYPE_CHECKING:
    from sms_tui.config import Profile
    from sms_tui.history import History, MessageRecord

PAGE_SIZE = 200  # records fetched per query: a few screens' worth, cheap at any history size
SEARCH_DEBOUNCE = 0.3  # seconds of quiet typing before the search runs
STATUS_INTERVAL = 15.0  # seconds between background status rounds
STATUS_BATCH = 20  # lookups per round: at 8x8's 1 lookup/s a round takes at most this many seconds


class HistoryScreen(Screen):
    """Browse, search and filter the history; Enter opens a message.

    Nothing here waits on the database or the network on the UI thread: pages and counts are
    read in workers (the store is safe to use from threads). Every `status_interval` seconds a
    short worker looks up the non-final messages in view (then the longest unchecked ones)
    through the shared send workflow, paced at 8x8's one lookup per second.
    """

    CSS_PATH = styles.HISTORY

    AUTO_FOCUS = "#history-table"
    COMMANDS = {ScreenActions}
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("slash", "focus_search", "Search"),
        Binding("f", "focus_filter", "State"),
        Binding("r", "refresh", "Refresh"),
        Binding("e", "export", "Export"),
        Binding("delete", "delete", "Delete", show=False),
    ]

    def __init__(
        self,
        history: History,
        profile: Profile | None = None,
        *,
        status_interval: float = STATUS_INTERVAL,
        name: str | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes="history-screen")
        self.history = history
        self._profile = profile
        self.status_interval = status_interval
        self.filter = HistoryFilter()
        self.total: int | None = None
        self._generation = 0  # bumped whenever the filter changes; late pages of old ones drop
        self._oldest_id: int | None = None
        self._exhausted = False
        self._loading = False
        self._search_timer: Timer | None = None
        self._status_running = False
        self._status_problem: str | None = None

    # Layout

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        with Horizontal(id="history-bar"):
            yield Input(
                placeholder="Search text, number, sender, umid…",
                id="history-search",
                compact=True,
            )
            yield Select(
                [(state.capitalize(), state) for state in STATES],
                prompt="All states",
                id="history-state",
                compact=True,
            )
        yield HistoryTable(id="history-table")
        yield Static("", id="history-empty", markup=False)
        yield Static("", id="history-summary", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        sync_headers = getattr(self.app, "sync_headers", None)
        if sync_headers is not None:
            sync_headers()  # the app fills in profile, region and balance
        self.query_one("#history-empty").display = False
        self.query_one(HistoryTable).focus()
        self.reload()
        # Rounds of lookups, each one a short worker: nothing runs between them.
        self.set_interval(self.status_interval, self._start_status_round)
        self._start_status_round()

    @property
    def profile(self) -> Profile | None:
        """The profile statuses are looked up with: the app's active one when the app has one."""
        return getattr(self.app, "profile", self._profile)

    @property
    def table(self) -> HistoryTable:
        return self.query_one(HistoryTable)

    # Loading

    def reload(self) -> None:
        """Start again from the newest record with the current filter."""
        self._generation += 1
        self._oldest_id = None
        self._exhausted = False
        self._loading = False
        self.total = None
        self.table.reset()
        self._summary()
        self._load_page()
        self._count()

    def _load_more(self) -> None:
        if not self._loading and not self._exhausted:
            self._load_page()

    @work(group="history-page", exclusive=True)
    async def _load_page(self) -> None:
        generation = self._generation
        self._loading = True
        try:
            records = await asyncio.to_thread(
                self.history.page, self.filter, before=self._oldest_id, limit=PAGE_SIZE
            )
        except SmsTuiError as error:
            if generation == self._generation:
                self._loading = False
                self._exhausted = True  # retried by the next reload, not in a loop
                self.notify(str(error), title="History", severity="error")
                self._summary()
            return
        if generation != self._generation:
            return
        self._loading = False
        self._exhausted = len(records) < PAGE_SIZE
        if records:
            self._oldest_id = records[-1].id
        self.table.append_records(records)
        self._show_empty()
        self._summary()

    @work(group="history-count", exclusive=True)
    async def _count(self) -> None:
        generation = self._generation
        try:
            total = await asyncio.to_thread(self.history.count, self.filter)
        except SmsTuiError as error:
            self.notify(str(error), title="History", severity="error")
            return
        if generation == self._generation:
            self.total = total
            self._summary()

    def _show_empty(self) -> None:
        empty = self.query_one("#history-empty", Static)
        nothing = self.table.row_count == 0 and self._exhausted
        if nothing:
            if self._is_filtered():
                empty.update("No message matches this search and filter.")
            else:
                empty.update(
                    "No messages yet.\nEvery message you send is recorded here, with what "
                    "became of it."
                )
        empty.display = nothing
        self.table.display = not nothing

    def _is_filtered(self) -> bool:
        return bool(self.filter.search or self.filter.states)

    def _summary(self) -> None:
        parts: list[str] = []
        if self.total is None:
            parts.append("Counting…")
        else:
            noun = "message" if self.total == 1 else "messages"
            verb = " match" if self._is_filtered() else ""
            parts.append(f"{self.total:,} {noun}{verb}")
        if self._loading:
            parts.append("loading…")
        if self._status_problem:
            parts.append(self._status_problem)
        self.query_one("#history-summary", Static).update(" · ".join(parts))

    @on(HistoryTable.NearEnd)
    def _near_end(self) -> None:
        # Several NearEnd can queue up while a page is appended; the first one that still
        # holds once it is handled loads the next page.
        if self.table.near_end:
            self._load_more()

    def on_screen_resume(self) -> None:
        # Coming back (from compose, or a detail view): show what was sent meanwhile.
        if self.table.row_count or self._exhausted:  # not while the first page is loading
            self._check_newer()

    @work(group="history-newer", exclusive=True)
    async def _check_newer(self) -> None:
        try:
            newest = await asyncio.to_thread(self.history.page, self.filter, limit=1)
        except SmsTuiError:
            return  # the next reload says what is wrong
        loaded = max(self.table.records, default=None)
        if newest and (loaded is None or newest[0].id > loaded):
            self.reload()

    # Search and filter

    @on(Input.Changed, "#history-search")
    def _search_typed(self) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(SEARCH_DEBOUNCE, self._apply_filter)

    @on(Input.Submitted, "#history-search")
    def _search_submitted(self) -> None:
        self._apply_filter()
        self.table.focus()

    @on(Select.Changed, "#history-state")
    def _state_chosen(self) -> None:
        self._apply_filter()

    def _apply_filter(self) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
            self._search_timer = None
        search = self.query_one("#history-search", Input).value.strip() or None
        state = self.query_one("#history-state", Select).value
        states = () if state == Select.NULL else (str(state),)
        new = dataclasses.replace(self.filter, search=search, states=states)
        if new != self.filter:
            self.filter = new
            self.reload()

    # Opening a message

    @on(DataTable.RowSelected, "#history-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        record = self.table.records.get(int(event.row_key.value))
        if record is not None:
            self.open_detail(record)

    def open_detail(self, record: MessageRecord) -> None:
        self.app.push_screen(
            MessageDetailScreen(self.history, record, self.profile, flt=self.filter),
            callback=self._detail_closed,
        )

    def _detail_closed(self, result: DetailResult | None) -> None:
        if result is None:
            return
        if result.deleted:
            self._forget(result.record_id)
        elif result.record is not None:
            self.table.update_record(result.record)

    def _forget(self, record_id: int) -> None:
        self.table.remove_record(record_id)
        if self.total:
            self.total -= 1
        self._summary()
        self._show_empty()

    # Actions

    def action_focus_search(self) -> None:
        self.query_one("#history-search", Input).focus()

    def action_focus_filter(self) -> None:
        self.query_one("#history-state", Select).focus()

    def action_back(self) -> None:
        """Escape: from the search box or the filter back to the list; from the list, back to
        the screen underneath (compose), when there is one."""
        if self.focused is not None and self.focused is not self.table:
            if self.table.display:
                self.table.focus()
            else:
                self.set_focus(None)
        elif len(self.app.screen_stack) > 1 and self.app.screen is self:
            self.app.pop_screen()

    def palette_commands(self) -> list[PaletteCommand]:
        commands: list[PaletteCommand] = [
            ("History: search", "Full text: message, number, sender, umid (/)",
             self.action_focus_search),
            ("History: filter by state", "Show one state only (f)", self.action_focus_filter),
            ("History: refresh", "Read the list again and look statuses up now (r)",
             self.action_refresh),
            ("History: export", "Save the listed messages as CSV or JSON Lines (e)",
             self.action_export),
        ]
        record = self.table.current_record
        if record is not None:
            commands += [
                ("History: open message", f"Details of the message to {record.destination} "
                 "(enter)", lambda: self.open_detail(record)),
                ("History: delete message", f"Delete the message to {record.destination} "
                 "(delete)", self.action_delete),
            ]
        return commands

    def action_refresh(self) -> None:
        """Read the store again and look up statuses now."""
        self.reload()
        self._start_status_round()

    def action_export(self) -> None:
        self._export()

    @work(group="history-export", exclusive=True)
    async def _export(self) -> None:
        await run_export(self, self.history, self.filter)

    def action_delete(self) -> None:
        record = self.table.current_record
        if record is not None:
            self._delete(record)

    @work(group="history-delete", exclusive=True)
    async def _delete(self, record: MessageRecord) -> None:
        choice = await self.app.push_screen_wait(
            ConfirmDelete(
                f"To {record.destination}, {format_time(record.created_at)}: "
                f"{(record.text or '')[:80]}",
                can_remote=False,
                remote_reason="Open the message (Enter) to also remove it at 8x8.",
            )
        )
        if choice is None:
            return
        try:
            await asyncio.to_thread(self.history.delete, [record.id])
        except SmsTuiError as error:
            self.notify(str(error), title="Not deleted", severity="error")
            return
        self._forget(record.id)
        self.notify(f"Deleted the message to {record.destination}.")

    # Statuses in the background

    def _start_status_round(self) -> None:
        """Start a round of lookups unless one is running (a timer calls this every while)."""
        profile = self.profile
        if profile is not None and not self._status_running:  # no profile: nothing to ask with
            self._status_running = True
            self._status_worker(profile)

    @work(group="history-status", exclusive=True)
    async def _status_worker(self, profile: Profile) -> None:
        try:
            await self._status_round(profile)
        finally:
            self._status_running = False

    async def _status_round(self, profile: Profile) -> None:
        """Look up, one per second, the non-final messages in view, then the longest unchecked."""
        try:
            candidates = self._visible_refreshable(profile)
            if len(candidates) < STATUS_BATCH:
                more = await asyncio.to_thread(
                    self.history.refreshable, STATUS_BATCH, subaccount_id=profile.subaccount_id
                )
                seen = {record.id for record in candidates}
                candidates += [record for record in more if record.id not in seen]
            if not candidates:
                return
            async with send_workflow().client_for(profile) as client:
                for record in candidates[:STATUS_BATCH]:
                    fresh = await refresh_one(client, self.history, record)
                    self.table.update_record(fresh)
        except Exception as error:  # a loop that runs all session must outlive any failure
            self._status_failed(error)
        else:
            if self._status_problem:
                self._status_problem = None
                self._summary()

    def _visible_refreshable(self, profile: Profile) -> list[MessageRecord]:
        table = self.table
        first = max(0, int(table.scroll_y) - 1)
        rows = table.ordered_rows[first : first + table.size.height + 1]
        records = [table.records.get(int(row.key.value)) for row in rows]
        waiting = [
            record
            for record in records
            if record is not None
            and record.umid
            and record.state not in FINAL_STATES
            and record.subaccount_id == profile.subaccount_id
        ]
        # Never-checked first, then the longest unchecked, as the store orders them.
        return sorted(waiting, key=lambda r: (r.checked_at is not None, r.checked_at or 0, r.id))

    def _status_failed(self, error: Exception) -> None:
        problem = "statuses not refreshed"
        if self._status_problem != problem:
            # Said once per outage, not every round.
            self.notify(describe_error(error), title="Status refresh", severity="warning")
        self._status_problem = problem
        self._summary()


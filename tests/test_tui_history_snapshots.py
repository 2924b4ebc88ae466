"""Pictures of the history browser, the message detail view and their dialogs.

Every record has a fixed time and times are shown in UTC, so the pictures never change by
themselves. Regenerate with `pytest tests/test_tui_history_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select
from tui_fixtures import steady
from tui_history_fixtures import (
    HistoryHost,
    detail_record,
    fill,
    settled,
    showcase_records,
    utc_zone,
    wait_until,
)

from sms_tui.history import History
from sms_tui.tui.screens.confirm_delete import ConfirmDelete
from sms_tui.tui.screens.history_export import ExportDialog
from sms_tui.tui.screens.message_detail import MessageDetailScreen


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    with utc_zone():
        yield


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    with History(tmp_path / "history.sqlite3") as store:
        yield store


async def open_first(pilot: Pilot) -> None:
    await settled(pilot)
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, MessageDetailScreen),
                     what="the detail view")
    await pilot.pause()


class TestHistoryList:
    def test_history_with_records(self, snap_compare, history):
        history.import_records(showcase_records())
        assert snap_compare(HistoryHost(history), run_before=steady(settled))

    def test_history_wide(self, snap_compare, history):
        history.import_records(showcase_records())
        assert snap_compare(HistoryHost(history), terminal_size=(140, 24),
                            run_before=steady(settled))

    def test_search_results(self, snap_compare, history):
        fill(history, 40)
        history.import_records(showcase_records())

        async def run_before(pilot: Pilot) -> None:
            screen = await settled(pilot)
            await pilot.press("slash", *"code", "enter")
            await wait_until(pilot, lambda: screen.filter.search == "code"
                             and screen.total is not None and not screen._loading,
                             what="the search")
            await pilot.pause()

        assert snap_compare(HistoryHost(history), run_before=steady(run_before))

    def test_state_filter(self, snap_compare, history):
        history.import_records(showcase_records())

        async def run_before(pilot: Pilot) -> None:
            screen = await settled(pilot)
            screen.query_one("#history-state", Select).value = "delivered"
            await wait_until(pilot, lambda: screen.total == 2 and not screen._loading,
                             what="the filter")
            await pilot.pause()

        assert snap_compare(HistoryHost(history), run_before=steady(run_before))

    def test_empty_history(self, snap_compare, history):
        assert snap_compare(HistoryHost(history), run_before=steady(settled))

    def test_no_match(self, snap_compare, history):
        history.import_records(showcase_records())

        async def run_before(pilot: Pilot) -> None:
            screen = await settled(pilot)
            await pilot.press("slash", *"zqx", "enter")
            await wait_until(pilot, lambda: screen.total == 0 and screen._exhausted,
                             what="the empty result")
            await pilot.pause()

        assert snap_compare(HistoryHost(history), run_before=steady(run_before))


class TestMessageDetail:
    def test_delivered_message(self, snap_compare, history):
        history.import_records([detail_record("delivered")])
        assert snap_compare(HistoryHost(history), run_before=steady(open_first))

    def test_rejected_message_with_the_error_explained(self, snap_compare, history):
        history.import_records([detail_record("rejected")])
        assert snap_compare(HistoryHost(history), run_before=steady(open_first))

    def test_everything_recorded_on_a_tall_terminal(self, snap_compare, history):
        history.import_records([detail_record("delivered")])
        assert snap_compare(HistoryHost(history), terminal_size=(100, 60),
                            run_before=steady(open_first))


class TestDialogs:
    def test_confirm_delete(self, snap_compare, history):
        history.import_records([detail_record("delivered")])

        async def run_before(pilot: Pilot) -> None:
            await open_first(pilot)
            await pilot.press("d")
            await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDelete),
                             what="the question")
            await pilot.pause()

        assert snap_compare(HistoryHost(history), run_before=steady(run_before))

    def test_export(self, snap_compare, history):
        history.import_records(showcase_records())

        async def run_before(pilot: Pilot) -> None:
            await settled(pilot)
            await pilot.press("e")
            await wait_until(pilot, lambda: isinstance(pilot.app.screen, ExportDialog),
                             what="the export dialog")
            # The suggested name carries today's date; a fixed one keeps the picture stable.
            field = pilot.app.screen.query_one("#export-path", Input)
            field.value = "/home/person/sms-history-20260514-093000.csv"
            field.cursor_position = len(field.value)
            await pilot.pause()

        assert snap_compare(HistoryHost(history), run_before=steady(run_before))

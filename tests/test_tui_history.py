"""The history browser and the message detail view, driven with the pilot.

Records go through the real History store on disk; status lookups, cancel and remote delete go
to the sandbox over loopback HTTP.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import SANDBOX_TEST_KEY
from rich.cells import cell_len
from rich.console import Console
from textual.widgets import Checkbox, Input, Select, Static
from tui_history_fixtures import (
    HistoryHost,
    fill,
    history_screen,
    record,
    settled,
    showcase_records,
    utc_zone,
    wait_until,
)

from sms_tui import outbox
from sms_tui.config import Profile
from sms_tui.credentials import ApiKey, remember_for_session
from sms_tui.errors import explain
from sms_tui.history import History, RecordNotFound
from sms_tui.sandbox import TEST_NUMBER_UNDELIVERED
from sms_tui.tui.screens.confirm_delete import ConfirmDelete
from sms_tui.tui.screens.history import PAGE_SIZE, HistoryScreen
from sms_tui.tui.screens.history_export import ExportDialog
from sms_tui.tui.screens.message_detail import (
    CopyToCompose,
    MessageDetailScreen,
    ResendRequested,
    mask_secrets,
    pretty_json,
)
from sms_tui.tui.widgets.history_fields import HistoryFields
from sms_tui.tui.widgets.history_table import column_widths, fit
from sms_tui.tui.widgets.state_badge import StateBadge

SIZE = (80, 24)


def table_ids(screen) -> list[int]:
    return [int(row.key.value) for row in screen.table.ordered_rows]


def notifications(app) -> list[str]:
    return [notification.message for notification in app._notifications]


def detail_text(app) -> str:
    """Everything the detail screen shows, as plain text."""
    console = Console(width=200, record=True, file=io.StringIO())
    for widget in app.screen.query(Static):
        console.print(widget.content)
    for fields in app.screen.query(HistoryFields):
        console.print(*fields.lines(200), sep="\n")
    return console.export_text()


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    with History(tmp_path / "history.sqlite3") as store:
        yield store


@pytest.fixture
def utc() -> Iterator[None]:
    with utc_zone():
        yield


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The person's home directory (where exports go by default), inside the test's tmp."""
    folder = tmp_path / "person"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    return folder


@pytest.fixture
def profile(sandbox) -> Profile:
    """A profile pointing at the sandbox, its key kept for the session like the app does."""
    remember_for_session("history-test", ApiKey(SANDBOX_TEST_KEY))
    return Profile(
        name="history-test",
        subaccount_id=sandbox.subaccount_id,
        account_id=sandbox.account_id,
        region="custom",
        base_url=sandbox.base_url,
        sandbox=True,
    )


async def send(history: History, profile: Profile, to: str,
               text: str = "Hello from history tests", **draft_options) -> int:
    """Send through the real workflow (sandbox) and return the record id."""
    prepared = outbox.prepare(outbox.Draft(to=to, text=text, **draft_options), profile)
    async with outbox.client_for(profile) as client:
        report = await outbox.send(prepared, client=client, history=history, profile=profile)
    return report.results[0].record_id


# ---- the list -------------------------------------------------------------------------------


class TestPaging:
    async def test_pages_load_as_you_scroll_never_all_at_once(self, history):
        fill(history, 5_000)
        newest_thousand = [r.id for r in history.page(limit=1_000)]
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            screen = await settled(pilot)
            assert screen.total == 5_000
            assert screen.table.row_count == PAGE_SIZE  # one page, not the whole history
            assert table_ids(screen) == newest_thousand[:PAGE_SIZE]  # newest first

            # Paging down through the rows brings the next page before the end is reached.
            while screen.table.row_count == PAGE_SIZE:
                assert screen.table.cursor_row < PAGE_SIZE - 1 or screen._loading, (
                    "no page before the last row")
                await pilot.press("pagedown")
                await wait_until(pilot, lambda: not screen._loading, what="the page")
            assert screen.table.row_count == 2 * PAGE_SIZE

            # End jumps to the last loaded row; each time, the next page arrives.
            while screen.table.row_count < 1_000:
                loaded = screen.table.row_count
                await pilot.press("end")
                await wait_until(pilot, lambda loaded=loaded: screen.table.row_count > loaded,
                                 what="another page")
            # Page after page, in order: nothing twice, nothing skipped at the seams.
            assert table_ids(screen) == newest_thousand
            assert not screen._exhausted

    async def test_the_last_page_ends_the_list(self, history):
        fill(history, 450)
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            screen = await settled(pilot)
            while not screen._exhausted:
                loaded = screen.table.row_count
                await pilot.press("end")
                await wait_until(pilot, lambda loaded=loaded: screen.table.row_count > loaded,
                                 what="another page")
            await pilot.press("end")
            await pilot.pause()
            ids = table_ids(screen)
            assert len(ids) == len(set(ids)) == 450
            assert ids == sorted(ids, reverse=True)

    async def test_scrolling_the_view_with_the_mouse_loads_more(self, history):
        fill(history, 600)
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            screen = await settled(pilot)
            assert screen.table.row_count == PAGE_SIZE
            screen.table.scroll_end(animate=False)
            await wait_until(pilot, lambda: screen.table.row_count > PAGE_SIZE,
                             what="a page after scrolling")

    async def test_home_goes_back_to_the_newest(self, history):
        fill(history, 300)
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            screen = await settled(pilot)
            await pilot.press("end")
            await pilot.press("home")
            assert screen.table.cursor_row == 0


class TestSearchAndFilter:
    async def test_search_by_text_on_enter(self, history):
        history.import_records(showcase_records())
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            screen = await settled(pilot)
            await pilot.press("slash")
            assert isinstance(app.focused, Input)
            await pilot.press(*"parcel", "enter")
            await wait_until(pilot, lambda: screen.total == 1, what="the search count")
            [record_] = screen.table.records.values()
            assert "parcel" in record_.text
            assert screen.table.has_focus  # Enter goes back to the results
            summary = str(screen.query_one("#history-summary", Static).render())
            assert "1 message match" in summary

    async def test_search_runs_by_itself_once_typing_pauses(self, history):
        history.import_records(showcase_records())
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            screen = await settled(pilot)
            await pilot.press("slash", *"+65 8123")
            await wait_until(pilot, lambda: screen.filter.search == "+65 8123",
                             what="the debounced search")
            await wait_until(pilot, lambda: screen.total == 1, what="the search count")
            [record_] = screen.table.records.values()
            assert record_.destination == "+6581234567"

    async def test_state_filter_with_the_keyboard(self, history):
        history.import_records(showcase_records())
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            screen = await settled(pilot)
            await pilot.press("f")
            assert isinstance(app.focused, Select)
            await pilot.press("enter")  # open the list: All states, pending, queued, rejected...
            await pilot.press("down", "down", "down", "enter")
            await wait_until(pilot, lambda: screen.filter.states == ("rejected",),
                             what="the state filter")
            await wait_until(pilot, lambda: screen.total == 1, what="the filtered count")
            assert [r.state for r in screen.table.records.values()] == ["rejected"]

    async def test_search_and_filter_combine(self, history):
        fill(history, 50)
        history.import_records([record(100, text="special offer", state="queued"),
                                record(101, text="special offer", state="delivered")])
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            screen = await settled(pilot)
            screen.query_one("#history-state", Select).value = "queued"
            await pilot.press("slash", *"special", "enter")
            await wait_until(pilot, lambda: screen.total == 1 and screen.table.row_count == 1,
                             what="search and filter")
            assert [r.state for r in screen.table.records.values()] == ["queued"]

    async def test_no_match_says_so(self, history):
        fill(history, 5)
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            screen = await settled(pilot)
            await pilot.press("slash", *"zqx", "enter")
            await wait_until(pilot, lambda: screen.total == 0 and screen._exhausted,
                             what="an empty result")
            empty = screen.query_one("#history-empty", Static)
            assert empty.display and not screen.table.display
            assert "No message matches" in str(empty.render())

    async def test_search_syntax_is_never_an_error(self, history):
        fill(history, 5)
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            screen = await settled(pilot)
            await pilot.press("slash", *'"(OR*', "enter")
            await wait_until(pilot, lambda: screen.total is not None and not screen._loading,
                             what="the search")
            assert not [n for n in app._notifications if n.severity == "error"]


class TestCells:
    def test_wide_characters_are_cut_by_their_width(self):
        assert fit("会议改到下午", 7) == "会议改…"
        assert cell_len(fit("会议改到下午", 7)) == 7
        assert fit("short", 8) == "short   "
        assert fit("anything", 0) == ""

    def test_the_message_column_takes_what_is_left(self):
        narrow, wide = column_widths(79), column_widths(140)
        assert sum(narrow.values()) == 79 and narrow["text"] >= 12
        assert sum(wide.values()) == 140 and wide["time"] == 17
        assert column_widths(40)["text"] == 12  # never squeezed away


class TestThemes:
    async def test_state_colours_follow_the_theme(self, history):
        history.import_records([record(0, state="delivered")])
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            screen = await settled(pilot)
            [record_id] = screen.table.records

            def colour():
                return screen.table.get_cell(str(record_id), "state").style.color

            before = colour()
            app.theme = "gruvbox"
            await pilot.pause()
            assert colour() != before


class TestEmpty:
    async def test_an_empty_history_explains_itself(self, history):
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            screen = await settled(pilot)
            assert screen.total == 0
            empty = screen.query_one("#history-empty", Static)
            assert empty.display
            assert "No messages yet" in str(empty.render())


class TestDatabaseErrors:
    async def test_an_unreadable_history_is_a_notification_not_a_crash(self, tmp_path):
        path = tmp_path / "history.sqlite3"
        with History(path) as store:
            fill(store, 3)
            # Another program breaks the file under the running app.
            with sqlite3.connect(path) as other:
                other.execute("DROP TABLE messages_fts")
                other.execute("DROP TABLE messages")
            app = HistoryHost(store)
            async with app.run_test(size=SIZE) as pilot:
                await wait_until(
                    pilot, lambda: any(n.severity == "error" for n in app._notifications),
                    what="an error notification")
                messages = notifications(app)
                assert any(str(path) in message for message in messages), messages
                assert isinstance(app.screen, HistoryScreen)  # still running, no traceback


# ---- the detail view ------------------------------------------------------------------------


async def open_detail(pilot, index: int = 0) -> MessageDetailScreen:
    screen = await settled(pilot)
    for _ in range(index):
        await pilot.press("down")
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, MessageDetailScreen),
                     what="the detail view")
    await pilot.pause()
    assert screen is not pilot.app.screen
    return pilot.app.screen


class TestDetail:
    async def test_enter_opens_every_field_and_the_exchange(self, history, utc):
        history.import_records([record(7, request_json={"destination": "+6591000007",
                                                         "text": "Your code"},
                                       response_json={"umid": "abc-123"})])
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            detail = await open_detail(pilot)
            text = detail_text(app)
            for expected in ("+6591000007", "ACME", "acme_hq", "Asia-Pacific", "sms-tui-00000007",
                             "0f3b2c1e-0007-4a5b-9c8d-7e6f5a4b3c2d", "2026-05-14 09:37:00",
                             '"umid": "abc-123"', '"destination": "+6591000007"'):
                assert expected in text, expected
            assert detail.query_one(StateBadge).state == "delivered"

    async def test_a_rejected_message_shows_8x8s_explanation(self, history):
        history.import_records([r for r in showcase_records() if r["state"] == "rejected"])
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            await open_detail(pilot)
            text = detail_text(app)
            explanation, advice = explain(1002, 400)
            assert "8x8 error 1002: Invalid destination" in text
            assert explanation in text and advice in text
            assert "5c2f4ad1-1f0e-4c4b-8f3e-2a6d9b1c7e10" in text

    async def test_escape_goes_back_to_the_same_row(self, history):
        fill(history, 30)
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            await open_detail(pilot, index=4)
            await pilot.press("escape")
            screen = history_screen(app)
            assert screen.table.cursor_row == 4

    async def test_resend_and_copy_ask_the_app_for_compose(self, history):
        history.import_records([record(3, requested_encoding="UCS2")])
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            await open_detail(pilot)
            [stored] = history.page()
            await pilot.press("s")
            await pilot.press("c")
            await pilot.pause()
            resend, copy = app.posted
            assert isinstance(resend, ResendRequested) and isinstance(copy, CopyToCompose)
            draft = resend.draft()
            assert (draft.to, draft.text, draft.sender, draft.encoding, draft.resent_from) == (
                stored.destination, stored.text, "ACME", "UCS2", stored.id)
            assert copy.draft().resent_from is None

    async def test_copy_umid(self, history):
        fill(history, 1)
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            await open_detail(pilot)
            await pilot.click("#detail-copy")
            assert app.clipboard == "0f3b2c1e-0000-4a5b-9c8d-7e6f5a4b3c2d"

    async def test_actions_that_need_8x8_explain_why_they_cannot_run(self, history):
        history.import_records([record(1, umid=None, state="failed")])
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            await open_detail(pilot)
            await pilot.press("r", "x", "u")
            await pilot.pause()
            messages = " ".join(notifications(app))
            assert "no umid" in messages
            assert "Only a scheduled message can be cancelled" in messages

    def test_the_key_is_never_shown(self):
        shown = pretty_json(json.dumps({
            "headers": {"Authorization": "Bearer s3cret-key"},
            "apiKey": "s3cret-key",
            "note": "Bearer s3cret-key",
            "text": "hello",
        }))
        assert "s3cret" not in shown and "hello" in shown
        assert mask_secrets({"token": ""}) == {"token": ""}


class TestDelete:
    async def test_delete_from_the_detail_view(self, history):
        fill(history, 3)
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            detail = await open_detail(pilot)
            doomed = detail.record.id
            await pilot.press("d")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDelete),
                             what="the question")
            # Without a profile only the local copy can go; the dialog says why.
            assert app.screen.query_one(Checkbox).disabled
            await pilot.click("#confirm-delete-yes")
            await wait_until(pilot, lambda: not isinstance(app.screen, (ConfirmDelete,
                                                                        MessageDetailScreen)),
                             what="the list again")
            screen = history_screen(app)
            assert doomed not in screen.table.records
            assert screen.total == 2
            with pytest.raises(RecordNotFound):
                history.get(doomed)
            assert any("Deleted" in m for m in notifications(app))

    async def test_backing_out_keeps_the_message(self, history):
        fill(history, 2)
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            detail = await open_detail(pilot)
            await pilot.press("d")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDelete),
                             what="the question")
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen is detail, what="the detail view")
            assert history.get(detail.record.id)

    async def test_delete_key_in_the_list(self, history):
        fill(history, 3)
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            screen = await settled(pilot)
            doomed = screen.table.current_record.id
            await pilot.press("delete")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDelete),
                             what="the question")
            await pilot.press("y")
            await wait_until(pilot, lambda: doomed not in screen.table.records,
                             what="the row to go")
            assert history.count() == 2


class TestExport:
    async def test_export_the_filtered_set_to_csv_in_the_home_folder(self, history, home):
        history.import_records(showcase_records())
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            screen = await settled(pilot)
            screen.query_one("#history-state", Select).value = "delivered"
            await wait_until(pilot, lambda: screen.total == 2, what="the filter")
            await pilot.press("e")
            await wait_until(pilot, lambda: isinstance(app.screen, ExportDialog),
                             what="the export dialog")
            suggested = Path(app.screen.query_one("#export-path", Input).value)
            assert suggested.parent == home and suggested.suffix == ".csv"
            await pilot.press("enter")
            await wait_until(pilot, suggested.exists, what="the export file")
            await wait_until(pilot, lambda: any(str(suggested) in m for m in notifications(app)),
                             what="where it went")
            with suggested.open(newline="", encoding="utf-8") as stream:
                rows = list(csv.DictReader(stream))
            assert [row["state"] for row in rows] == ["delivered", "delivered"]
            assert suggested.stat().st_mode & 0o077 == 0  # phone numbers: owner only

    async def test_export_jsonl_to_a_chosen_file(self, history, home, tmp_path):
        fill(history, 12)
        target = tmp_path / "out" / "messages.jsonl"
        target.parent.mkdir()
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            await settled(pilot)
            await pilot.press("e")
            await wait_until(pilot, lambda: isinstance(app.screen, ExportDialog),
                             what="the export dialog")
            await pilot.click("#export-jsonl")
            field = app.screen.query_one("#export-path", Input)
            assert field.value.endswith(".jsonl")  # the suffix follows the format
            field.value = str(target)
            await pilot.click("#export-go")
            await wait_until(pilot, target.exists, what="the export file")
            lines = target.read_text(encoding="utf-8").splitlines()
            assert len(lines) == 12
            assert json.loads(lines[0])["destination"] == "+6591000011"

    async def test_a_missing_folder_is_said_and_the_dialog_stays(self, history, home):
        fill(history, 2)
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            await settled(pilot)
            await pilot.press("e")
            await wait_until(pilot, lambda: isinstance(app.screen, ExportDialog),
                             what="the export dialog")
            app.screen.query_one("#export-path", Input).value = str(home / "nope" / "x.csv")
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, ExportDialog)
            problem = str(app.screen.query_one("#export-problem", Static).render())
            assert "does not exist" in problem

    async def test_an_existing_file_is_replaced_only_when_asked_twice(self, history, home):
        fill(history, 2)
        existing = home / "keep.csv"
        existing.write_text("precious")
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            await settled(pilot)
            await pilot.press("e")
            await wait_until(pilot, lambda: isinstance(app.screen, ExportDialog),
                             what="the export dialog")
            app.screen.query_one("#export-path", Input).value = str(existing)
            await pilot.press("enter")
            await pilot.pause()
            assert existing.read_text() == "precious"
            assert "already exists" in str(app.screen.query_one("#export-problem").render())
            await pilot.press("enter")
            await wait_until(pilot, lambda: existing.read_text() != "precious",
                             what="the replaced file")

    async def test_nothing_to_export_is_said(self, history, home):
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            await settled(pilot)
            await pilot.press("e")
            await wait_until(pilot, lambda: bool(notifications(app)), what="a notification")
            assert "nothing to export" in notifications(app)[0]
            assert not list(home.iterdir())


# ---- against the sandbox --------------------------------------------------------------------


class TestStatusRefresh:
    async def test_statuses_refresh_in_the_background(self, sandbox, profile, history):
        delivered = await send(history, profile, "+6581234567")
        undelivered = await send(history, profile, TEST_NUMBER_UNDELIVERED)
        sandbox.advance(60)  # both have reached their final state at "8x8"
        app = HistoryHost(history, profile, status_interval=0.2)
        async with app.run_test(size=SIZE) as pilot:
            screen = await settled(pilot)
            await wait_until(
                pilot,
                lambda: screen.table.records[delivered].state == "delivered"
                and screen.table.records[undelivered].state == "undelivered",
                what="both statuses",
            )
        assert history.get(delivered).state == "delivered"
        assert history.get(undelivered).checked_at is not None

    async def test_refresh_status_from_the_detail_view(self, sandbox, profile, history):
        record_id = await send(history, profile, "+6581234567")
        app = HistoryHost(history, profile, status_interval=3600)
        async with app.run_test(size=SIZE) as pilot:
            await settled(pilot)
            sandbox.advance(60)
            detail = await open_detail(pilot)
            await pilot.press("r")
            await wait_until(pilot, lambda: detail.record.state == "delivered",
                             what="the refreshed state")
            assert detail.query_one(StateBadge).state == "delivered"
            assert history.get(record_id).state == "delivered"
            await pilot.press("escape")
            screen = history_screen(app)
            assert screen.table.records[record_id].state == "delivered"

    async def test_a_bad_key_is_explained(self, sandbox, profile, history):
        await send(history, profile, "+6581234567")
        remember_for_session(profile.name, ApiKey("not-the-key"))
        app = HistoryHost(history, profile, status_interval=3600)
        async with app.run_test(size=SIZE) as pilot:
            await open_detail(pilot)
            await pilot.press("r")
            await wait_until(
                pilot, lambda: any("not refreshed" in (n.title or "") for n in app._notifications),
                what="the failure")
            [failure] = [n for n in app._notifications if "not refreshed" in (n.title or "")]
            assert "key" in failure.message.lower()
            assert failure.severity == "error"

    async def test_network_trouble_is_said_once_in_the_list(self, sandbox, profile, history):
        await send(history, profile, "+6581234567")
        sandbox.inject("html_502", probability=1.0, endpoint="status")
        app = HistoryHost(history, profile, status_interval=0.2)
        async with app.run_test(size=SIZE) as pilot:
            screen = await settled(pilot)
            await wait_until(pilot, lambda: screen._status_problem is not None,
                             what="the failed refresh")
            summary = str(screen.query_one("#history-summary", Static).render())
            assert "statuses not refreshed" in summary
            warnings = [n for n in app._notifications if n.title == "Status refresh"]
            assert len(warnings) == 1


class TestAtEightByEight:
    async def test_cancel_a_scheduled_message(self, sandbox, profile, history):
        later = datetime.now(UTC) + timedelta(hours=2)
        record_id = await send(history, profile, "+6581234567", scheduled=later)
        app = HistoryHost(history, profile, status_interval=3600)
        async with app.run_test(size=SIZE) as pilot:
            detail = await open_detail(pilot)
            assert not detail.query_one("#detail-cancel").disabled
            await pilot.press("x")
            await wait_until(pilot, lambda: detail.record.state == "cancelled",
                             what="the cancellation")
        assert history.get(record_id).state == "cancelled"

    async def test_delete_here_and_at_8x8(self, sandbox, profile, history):
        record_id = await send(history, profile, "+6581234567")
        umid = history.get(record_id).umid
        app = HistoryHost(history, profile, status_interval=3600)
        async with app.run_test(size=SIZE) as pilot:
            await open_detail(pilot)
            await pilot.press("d")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDelete),
                             what="the question")
            await pilot.click("#confirm-delete-remote")
            assert app.screen.query_one(Checkbox).value
            await pilot.click("#confirm-delete-yes")
            await wait_until(pilot, lambda: history.count() == 0, what="the local delete")
        paths = [request.path for request in sandbox.received]
        assert any(path.endswith(f"/messages/{umid}/pii") for path in paths), paths

    async def test_a_failed_remote_delete_keeps_the_local_record(self, sandbox, profile, history):
        record_id = await send(history, profile, "+6581234567")
        sandbox.inject("server_error", probability=1.0, endpoint="pii")
        app = HistoryHost(history, profile, status_interval=3600)
        async with app.run_test(size=SIZE) as pilot:
            await open_detail(pilot)
            await pilot.press("d")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDelete),
                             what="the question")
            await pilot.click("#confirm-delete-remote")
            await pilot.click("#confirm-delete-yes")
            await wait_until(
                pilot, lambda: any(n.title == "Not deleted" for n in app._notifications),
                what="the failure")
            assert isinstance(app.screen, MessageDetailScreen)
        assert history.get(record_id)


class TestInTheApp:
    async def test_ctrl_o_opens_history_and_resend_fills_compose(self, sandbox, history):
        from sms_tui.tui.app import SmsTuiApp

        app = SmsTuiApp(sandbox=True, sandbox_server=sandbox, background_refresh=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            sent = await send(app.history, app.profile, "+6581234567", text="Round trip")
            await pilot.press("ctrl+o")
            screen = await settled(pilot)
            assert sent in screen.table.records
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, MessageDetailScreen),
                             what="the detail view")
            await pilot.press("s")
            compose = app.compose_screen
            await wait_until(pilot, lambda: app.screen is compose, what="compose")
            assert compose.query_one("#message").text == "Round trip"
            assert compose.resent_from == sent

    async def test_escape_goes_back_to_compose(self, sandbox):
        from sms_tui.tui.app import SmsTuiApp
        from sms_tui.tui.screens.compose import ComposeScreen

        app = SmsTuiApp(sandbox=True, sandbox_server=sandbox, background_refresh=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await send(app.history, app.profile, "+6581234567")
            await pilot.press("ctrl+o")
            await settled(pilot)
            await pilot.press("slash")
            await pilot.press("escape")  # from the search box back to the list
            assert isinstance(app.screen, HistoryScreen) and app.screen.table.has_focus
            await pilot.press("escape")  # from the list back to compose
            await wait_until(pilot, lambda: isinstance(app.screen, ComposeScreen),
                             what="compose")


class TestPalette:
    async def test_the_palette_offers_the_history_actions(self, history, home):
        fill(history, 3)
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            await settled(pilot)
            await pilot.press("ctrl+p")
            await pilot.press(*"export")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, ExportDialog),
                             what="the export dialog")

    async def test_the_palette_offers_the_message_actions(self, history):
        fill(history, 1)
        app = HistoryHost(history)
        async with app.run_test(size=SIZE) as pilot:
            detail = await open_detail(pilot)
            names = [name for name, _help, _run in detail.palette_commands()]
            assert {"Message: resend", "Message: delete", "Message: copy umid"} <= set(names)
            await pilot.press("ctrl+p")
            await pilot.press(*"resend")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await wait_until(pilot, lambda: bool(app.posted), what="the resend request")
            assert isinstance(app.posted[0], ResendRequested)

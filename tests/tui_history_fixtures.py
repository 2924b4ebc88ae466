"""For the history-browser tests: a host app, records with fixed times, helpers to wait."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from textual.app import App
from textual.pilot import Pilot

from sms_tui.history import History
from sms_tui.tui.screens.history import HistoryScreen
from sms_tui.tui.screens.message_detail import CopyToCompose, ResendRequested
from sms_tui.tui.widgets.status_header import StatusHeader

TUI = Path(__file__).resolve().parent.parent / "sms_tui" / "tui"
BASE_TIME = datetime(2026, 5, 14, 9, 30, tzinfo=UTC)


class HistoryHost(App):
    """The smallest app that shows the history browser, styled like sms-tui.

    It keeps what the history screens post for the app to handle, so tests can check them.
    """

    CSS_PATH = [str(TUI / name) for name in ("app.tcss", "history.tcss") if (TUI / name).exists()]

    def __init__(self, history: History, profile=None, **screen_options: Any) -> None:
        super().__init__()
        self.history = history
        self.profile = profile
        self.screen_options = screen_options
        self.posted: list[Any] = []

    def on_mount(self) -> None:
        self.push_screen(HistoryScreen(self.history, self.profile, **self.screen_options))

    def sync_headers(self) -> None:
        """What SmsTuiApp does for the header, for a fixed example profile."""
        titles = {"HistoryScreen": "History", "MessageDetailScreen": "Message"}
        for screen in self.screen_stack:
            for header in screen.query(StatusHeader):
                header.screen_title = titles.get(type(screen).__name__, "")
                header.profile = "work"
                header.region_name = "Asia-Pacific"

    def on_resend_requested(self, message: ResendRequested) -> None:
        self.posted.append(message)

    def on_copy_to_compose(self, message: CopyToCompose) -> None:
        self.posted.append(message)


def record(index: int = 0, **fields: Any) -> dict[str, Any]:
    """A record as History.import_records takes it, created `index` minutes after BASE_TIME."""
    created = BASE_TIME + timedelta(minutes=index)
    data: dict[str, Any] = {
        "profile": "work",
        "subaccount_id": "acme_hq",
        "region": "Asia-Pacific",
        "sender": "ACME",
        "destination": f"+6591{index:06d}",
        "text": f"Your code is {100000 + index}. It expires in 10 minutes.",
        "requested_encoding": "AUTO",
        "encoding": "GSM7",
        "units": 45,
        "segment_count": 1,
        "client_message_id": f"sms-tui-{index:08d}",
        "umid": f"0f3b2c1e-{index:04d}-4a5b-9c8d-7e6f5a4b3c2d",
        "state": "delivered",
        "created_at": created,
        "updated_at": created,
    }
    data.update(fields)
    return data


def fill(history: History, count: int, **fields: Any) -> None:
    """`count` delivered records, one a minute, the newest last."""
    history.import_records(record(index, **fields) for index in range(count))


def showcase_records() -> list[dict[str, Any]]:
    """A history with one message in each state worth showing, oldest first."""
    return [
        record(0, destination="+6581234567", text="Team lunch moved to 1pm, see you there!",
               state="delivered", price=0.05, currency="EUR"),
        record(1, destination="+447700900123", sender="MyBrand",
               text="Your parcel is on its way and arrives tomorrow between 9 and 12.",
               state="undelivered", error_code=20, state_detail="undelivered_to_recipient",
               error_message="Absent subscriber"),
        record(2, destination="+6590000400", text="Reminder: dentist appointment at 3pm.",
               state="rejected", umid=None, http_status=400, error_code=1002,
               error_message="Invalid destination",
               error_id="5c2f4ad1-1f0e-4c4b-8f3e-2a6d9b1c7e10"),
        record(3, destination="+14155550123", text="Server maintenance tonight 22:00-23:00 UTC.",
               state="queued"),
        record(4, destination="+6598765432", encoding="UCS2", units=12, segment_count=1,
               text="Встреча перенесена на 15:00, до встречи!", state="sent"),
        record(5, destination="+6587654321", umid=None, state="failed",
               text="Weekly report is ready.",
               state_detail="The connection to 8x8 failed before the request was sent."),
        record(6, destination="+6591112222", umid=None, state="unknown",
               text="Flash sale starts now: 20% off everything until midnight.",
               state_detail="8x8 did not answer in time; the message may have been sent."),
        record(7, destination="+6593334444", state="cancelled",
               scheduled_at=BASE_TIME + timedelta(days=1), text="Happy birthday!"),
        record(8, destination="+6595556666", state="expired",
               text="Your one-time password is 481516."),
        record(9, destination="+6597778888", text="Meeting notes are in the shared folder.",
               state="delivered", segment_count=2, units=170),
    ]


def detail_record(state: str) -> dict[str, Any]:
    """A delivered or a rejected message with everything recorded, for the detail view."""
    request = {
        "destination": "+6581234567",
        "text": "Your code is 481516. It expires in 10 minutes.",
        "source": "ACME",
        "encoding": "AUTO",
        "clientMessageId": "sms-tui-00000042",
    }
    if state == "rejected":
        return record(
            42, destination="+6581234567", text=request["text"], state="rejected", umid=None,
            http_status=400, error_code=1002, error_message="Invalid destination",
            error_id="5c2f4ad1-1f0e-4c4b-8f3e-2a6d9b1c7e10",
            state_detail="8x8 refused the destination.", request_json=request,
            response_json={"code": 1002, "message": "Invalid destination",
                           "errorId": "5c2f4ad1-1f0e-4c4b-8f3e-2a6d9b1c7e10",
                           "timestamp": "2026-05-14T10:12:00.00Z"},
        )
    return record(
        42, destination="+6581234567", text=request["text"], state="delivered",
        umid="0f3b2c1e-0042-4a5b-9c8d-7e6f5a4b3c2d", http_status=200,
        state_detail="delivered_to_recipient", price=0.05, currency="EUR",
        status_at=BASE_TIME + timedelta(minutes=42, seconds=4),
        checked_at=BASE_TIME + timedelta(minutes=43),
        request_json=request,
        response_json={"umid": "0f3b2c1e-0042-4a5b-9c8d-7e6f5a4b3c2d",
                       "clientMessageId": "sms-tui-00000042", "destination": "+6581234567",
                       "encoding": "GSM7", "status": {"code": "QUEUED",
                                                      "description": "SMS is accepted and queued"}},
    )


@contextlib.contextmanager
def utc_zone() -> Iterator[None]:
    """Times show in UTC, so pictures and assertions do not depend on the machine's zone."""
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = previous
        time.tzset()


async def wait_until(pilot: Pilot, condition: Callable[[], bool], *, seconds: float = 30.0,
                     what: str = "the condition") -> None:
    """Let the app run until `condition` holds; fails (not flaky-passes) after `seconds`.

    The bound is generous: it only exists so that a broken test ends instead of hanging.
    """
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


def history_screen(app: App) -> HistoryScreen:
    screen = app.screen
    assert isinstance(screen, HistoryScreen), f"expected the history screen, got {screen!r}"
    return screen


async def settled(pilot: Pilot) -> HistoryScreen:
    """Wait until the history screen has its first page and its count."""
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen),
                     what="the history screen")
    screen = history_screen(pilot.app)
    await wait_until(
        pilot,
        lambda: screen.total is not None and not screen._loading
        and (screen.table.row_count > 0 or screen._exhausted),
        what="the first page",
    )
    await pilot.pause()
    return screen

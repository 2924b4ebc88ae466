"""Regenerate screenshots/*.svg: each main screen, from the states the snapshot tests use.

Run from the repository root: python screenshots/generate.py
It works in a throwaway home (its own config, data and keyring-free sandbox profile), so it
never reads or changes your profiles, history or draft, and no key is involved.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
_HOME = Path(tempfile.mkdtemp(prefix="sms-tui-screenshots-"))
for _name in ("CONFIG", "DATA", "CACHE", "STATE"):
    os.environ[f"XDG_{_name}_HOME"] = str(_HOME / _name.lower())
for _variable in [name for name in os.environ if name.startswith("SMS_TUI_")]:
    del os.environ[_variable]
sys.path.insert(0, str(ROOT))

from textual.pilot import Pilot  # noqa: E402

from sms_tui.sandbox import TEST_NUMBER_REJECTED, Sandbox  # noqa: E402
from sms_tui.tui.app import SmsTuiApp  # noqa: E402
from tests.test_tui_snapshots import (  # noqa: E402
    GSM_TEXT,
    NARROW,
    UCS2_TEXT,
    WIDE,
    app_on,
    compose_state,
    first_run,
)
from tests.tui_fixtures import settle, wait_for_screen  # noqa: E402

State = Callable[[Pilot], Awaitable[None]]


async def setup_state(pilot: Pilot) -> None:
    await settle(pilot)


async def compose_ucs2(pilot: Pilot) -> None:
    await compose_state(pilot, to="+65 9123 4567, +1 202 555 0147", text=UCS2_TEXT * 2)


async def compose_narrow(pilot: Pilot) -> None:
    await compose_state(pilot, to="+65 9123 4567", text=GSM_TEXT)


async def confirm(pilot: Pilot) -> None:
    await compose_state(pilot, to="+65 9123 4567, +65 9123 4568", text=GSM_TEXT * 2)
    await pilot.press("ctrl+s")
    await pilot.pause()


async def _send(pilot: Pilot, to: str, text: str) -> None:
    from sms_tui.tui.screens.send_result import SendResultScreen

    await compose_state(pilot, to=to, text=text)
    await pilot.press("ctrl+s")
    await pilot.pause()
    await pilot.press("y")
    await wait_for_screen(pilot, SendResultScreen)
    await settle(pilot)


async def result(pilot: Pilot) -> None:
    await _send(pilot, f"+65 9123 4567, {TEST_NUMBER_REJECTED}", GSM_TEXT)


async def history(pilot: Pilot) -> None:
    from sms_tui.tui.screens.history import HistoryScreen

    for to, text in (
        ("+65 9123 4567", GSM_TEXT),
        (f"+65 9123 4568, {TEST_NUMBER_REJECTED}", UCS2_TEXT),
        ("+1 202 555 0147", "See you at 8!"),
    ):
        await _send(pilot, to, text)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("ctrl+n")  # a new message: the form keeps the numbers otherwise
        await pilot.pause()
    await pilot.press("ctrl+o")
    await wait_for_screen(pilot, HistoryScreen)
    await pilot.pause(0.5)
    await settle(pilot)


async def help_screen(pilot: Pilot) -> None:
    await compose_state(pilot)
    await pilot.press("f1")
    await pilot.pause()


# name, terminal size, whether the app runs on a sandbox, and the state to bring it into.
SCREENS: list[tuple[str, tuple[int, int], bool, State]] = [
    ("setup", WIDE, False, setup_state),
    ("compose", WIDE, True, compose_ucs2),
    ("compose-80x24", NARROW, True, compose_narrow),
    ("confirm", WIDE, True, confirm),
    ("result", WIDE, True, result),
    ("history", WIDE, True, history),
    ("help", WIDE, True, help_screen),
]


async def capture(name: str, size: tuple[int, int], on_sandbox: bool, state: State) -> Path:
    sandbox = Sandbox(delivery_delay=60.0).start() if on_sandbox else None
    try:
        app: SmsTuiApp = app_on(sandbox) if sandbox is not None else first_run()
        async with app.run_test(size=size) as pilot:
            await state(pilot)
            svg = app.export_screenshot(title="sms-tui")
        path = HERE / f"{name}.svg"
        path.write_text(svg, encoding="utf-8")
        return path
    finally:
        if sandbox is not None:
            sandbox.stop()


async def main() -> None:
    from sms_tui.tui import drafts

    for name, size, on_sandbox, state in SCREENS:
        drafts.save_draft(drafts.ComposeDraft())  # every screen starts from an empty form
        path = await capture(name, size, on_sandbox, state)
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    asyncio.run(main())

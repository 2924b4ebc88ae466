"""Helpers for the app's tests: apps on the sandbox, a saved profile, and waiting for quiet."""

from __future__ import annotations

from textual.pilot import Pilot

from sms_tui import config, credentials
from sms_tui.sandbox import Sandbox
from sms_tui.tui.app import SmsTuiApp

PROFILE = "work"


def save_profile_for(sandbox: Sandbox, name: str = PROFILE, **fields) -> config.Profile:
    """A real profile (not a sandbox one) pointing at the sandbox, its key in the keyring."""
    profile = config.make_profile(
        name=name,
        subaccount_id=sandbox.subaccount_id,
        region="custom",
        base_url=sandbox.base_url,
        **fields,
    )
    settings = config.upsert_profile(config.load_settings(), profile, make_active=True)
    config.save_settings(settings)
    credentials.store_api_key(name, credentials.ApiKey(sandbox.api_key))
    return profile


def sandbox_app(sandbox: Sandbox) -> SmsTuiApp:
    """The app as `sms-tui --sandbox` starts it, on the test's sandbox."""
    return SmsTuiApp(sandbox=True, background_refresh=False, sandbox_server=sandbox)


async def settle(pilot: Pilot) -> None:
    """Wait until workers are done and the screen is drawn; drop toasts (they carry ports)."""
    app = pilot.app
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    compose = getattr(app, "compose_screen", None)
    if compose is not None and compose.is_mounted:
        compose.render_now()
    app.clear_notifications()
    await pilot.pause()


async def type_text(pilot: Pilot, selector: str, text: str) -> None:
    """Focus a field and type into it as a person would (one key per character)."""
    widget = pilot.app.screen.query_one(selector)
    widget.focus()
    await pilot.pause()
    await pilot.press(*text)


async def enter_text(pilot: Pilot, selector: str, text: str) -> None:
    """Put text at the cursor of a field in one edit, as a paste does (the pilot's key presses
    cost ~60 ms each, too slow for long values); the field reacts exactly as to typing."""
    widget = pilot.app.screen.query_one(selector)
    widget.focus()
    if hasattr(widget, "insert_text_at_cursor"):
        widget.insert_text_at_cursor(text)
    else:
        widget.insert(text)
    await pilot.pause()


async def wait_for_screen(pilot: Pilot, screen_type: type, tries: int = 200) -> None:
    """Pause until `screen_type` is on top (a worker waiting on that screen never completes)."""
    for _ in range(tries):
        if isinstance(pilot.app.screen, screen_type):
            return
        await pilot.pause(0.02)
    raise AssertionError(f"{screen_type.__name__} never showed; on top: {pilot.app.screen!r}")


def steady(run_before):
    """Run `run_before`, then stop cursors blinking: a picture must never catch one mid-blink."""

    async def wrapped(pilot) -> None:
        await run_before(pilot)
        for screen in pilot.app.screen_stack:
            for field in screen.query("Input, TextArea"):
                field.cursor_blink = False
                # A TextArea caches its lines under a key that does not tell "blinking, in
                # the hidden phase" from "not blinking": a line drawn while the cursor blinked
                # off would be reused without it. On a busy machine the blink timer does fire
                # before this point, so the cache is dropped and the lines drawn afresh.
                field.notify_style_update()
                field.refresh()
        await pilot.pause()

    return wrapped

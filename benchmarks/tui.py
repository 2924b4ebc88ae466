"""The app's speed against a bare Textual app with one TextArea, measured side by side.

1. Start-up: from launching the process to the first frame of the compose screen, headless,
   against the same for a bare app whose only widget is a TextArea. Each run is a fresh
   interpreter (imports included: that is what a person waits for), runs alternate, medians.
2. Typing: 200 key presses into a 1,500-character message, sent to the app as a terminal
   sends them (one key event each), until the meter shows the final count, against the bare
   app until its TextArea holds the final text. The bare TextArea gets the same size as the
   compose screen's message area: soft-wrapping a long line costs more in a narrower box, and
   that cost is the TextArea's, not the meter's.

Goals (issue 5): start-up at most 1.3x the bare app; typing at most 1.25x.
Each figure is the best of several runs, alternating app and baseline: other processes share
the machine (CI runs suites in parallel), and the best run is the one they disturbed least.
Run: python benchmarks/tui.py
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STARTUP_RUNS = 11
TYPING_RUNS = 7
BASE_TEXT_LENGTH = 1_500
TYPED = 200

# A child process that prints "ready" once the first frame of its main screen is drawn.
_CHILD = r"""
import sys
which = sys.argv[1]
if which == "bare":
    from textual.app import App
    from textual.widgets import TextArea

    class Bare(App):
        def compose(self):
            yield TextArea("")

        def on_mount(self):
            self.call_after_refresh(self.ready)

        def ready(self):
            print("ready", flush=True)
            self.exit()

    Bare().run(headless=True, size=(100, 30))
else:
    from sms_tui.tui.app import SmsTuiApp
    from sms_tui.tui.screens.compose import ComposeScreen

    class Timed(SmsTuiApp):
        def _after_first_frame(self):
            if isinstance(self.screen, ComposeScreen):
                print("ready", flush=True)
            self.exit()

    Timed(background_refresh=False).run(headless=True, size=(100, 30))
"""


def _home() -> dict[str, str]:
    """An isolated home with one saved profile, as a person who ran setup once has."""
    home = Path(tempfile.mkdtemp(prefix="sms-tui-bench-"))
    env = {**os.environ, "XDG_CONFIG_HOME": str(home / "config"),
           "XDG_DATA_HOME": str(home / "data"), "PYTHONPATH": str(ROOT)}
    env.pop("SMS_TUI_PROFILE", None)
    code = (
        "from sms_tui import config\n"
        "p = config.make_profile(name='bench', subaccount_id='bench_hq', region='apac')\n"
        "config.save_settings(config.upsert_profile(config.load_settings(), p))\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    return env


def _start_once(which: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, which],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    elapsed = time.perf_counter() - started
    child.wait(timeout=30)
    if line.strip() != "ready":
        raise RuntimeError(f"the {which} app did not reach its first frame")
    return elapsed


def _compile_bytecode() -> None:
    """Write the package's bytecode, as `pip install` does: otherwise a checkout run with
    PYTHONDONTWRITEBYTECODE (as CI machines often are) recompiles sms_tui on every start,
    while Textual's own bytecode came with its install."""
    import compileall

    compileall.compile_dir(ROOT / "sms_tui", quiet=1)


def measure_startup() -> tuple[float, float]:
    env = _home()
    _compile_bytecode()
    _start_once("bare", env)  # warm the file cache and the bytecode of both
    _start_once("app", env)
    bare, app = [], []
    for _ in range(STARTUP_RUNS):
        bare.append(_start_once("bare", env))
        app.append(_start_once("app", env))
    return min(bare), min(app)


async def _type_into(app, done, *, focus: str) -> float:
    """Send the key events, then wait (without sleeping) until `done()` is true."""
    from textual import events

    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        # Start-up's background work (balance, history, warm-up) is over before typing starts.
        await app.workers.wait_for_complete()
        app.screen.query_one(focus).focus()
        await pilot.pause()
        driver = app._driver
        started = time.perf_counter()
        for index in range(TYPED):
            char = "abcdefghij"[index % 10]
            event = events.Key(char, char)
            event.set_sender(app)
            driver.send_message(event)
        while not done():
            await asyncio.sleep(0)
        elapsed = time.perf_counter() - started
        await pilot.pause()
    return elapsed


MESSAGE_SIZE: list[tuple[int, int]] = []  # the compose screen's message area, measured


def _bare_typing() -> float:
    from textual.app import App
    from textual.widgets import TextArea

    width, height = MESSAGE_SIZE[0] if MESSAGE_SIZE else (120, 36)

    class Bare(App):
        def compose(self):
            area = TextArea("x" * BASE_TEXT_LENGTH, id="message")
            area.styles.width = width
            area.styles.height = height
            yield area

    app = Bare()

    def done() -> bool:
        return len(app.screen.query_one(TextArea).text) == BASE_TEXT_LENGTH + TYPED

    return asyncio.run(_type_into(app, done, focus="#message"))


def _app_typing(env: dict[str, str]) -> float:
    from sms_tui.tui import drafts
    from sms_tui.tui.app import SmsTuiApp
    from sms_tui.tui.widgets.meter import MessageMeter

    os.environ.update({k: env[k] for k in ("XDG_CONFIG_HOME", "XDG_DATA_HOME")})
    drafts.save_draft(drafts.ComposeDraft(to="+65 9123 4567", text="x" * BASE_TEXT_LENGTH))
    app = SmsTuiApp(background_refresh=False)
    final = f"{BASE_TEXT_LENGTH + TYPED}/"

    def done() -> bool:
        # What the person sees: the meter's text carries the final count.
        meter = app.screen.query_one(MessageMeter)
        if not MESSAGE_SIZE:
            MESSAGE_SIZE.append(tuple(app.screen.query_one("#message").outer_size))
        return final in str(meter.render())

    elapsed = asyncio.run(_type_into(app, done, focus="#message"))
    return elapsed


def measure_typing() -> tuple[float, float]:
    env = _home()
    _app_typing(env)
    _bare_typing()
    bare, app = [], []
    for _ in range(TYPING_RUNS):
        bare.append(_bare_typing())
        app.append(_app_typing(env))
    return min(bare), min(app)


def run() -> list[dict]:
    """One row per figure: name, value, unit, goal, baseline, ratio (lower is better)."""
    bare_start, app_start = measure_startup()
    bare_typing, app_typing = measure_typing()
    return [
        {
            "name": "tui start-up to first compose frame",
            "value": round(app_start * 1000, 1),
            "unit": "ms",
            "goal": "<= 1.3x bare Textual app with one TextArea",
            "baseline": round(bare_start * 1000, 1),
            "ratio": round(app_start / bare_start, 2),
        },
        {
            "name": f"tui typing {TYPED} keys into {BASE_TEXT_LENGTH} chars, meter final",
            "value": round(app_typing * 1000, 1),
            "unit": "ms",
            "goal": "<= 1.25x bare Textual app with one TextArea",
            "baseline": round(bare_typing * 1000, 1),
            "ratio": round(app_typing / bare_typing, 2),
        },
    ]


def main() -> None:
    rows = run()
    print(f"{'figure':<62} {'value':>9} {'bare':>9} {'ratio':>6}  goal")
    for row in rows:
        print(
            f"{row['name']:<62} {row['value']:>7}{row['unit']} {row['baseline']:>7}{row['unit']}"
            f" {row['ratio']:>5}x  {row['goal']}"
        )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()

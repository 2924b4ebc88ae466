"""Stress: two sending processes and the app's background refresher write one history at once.

Two real processes send 5,000 messages each through the send workflow (100 batches of 50,
so 5,100 write transactions each) while this process runs the refresher the app runs
(outbox.refresh_statuses, in a worker thread, on the app's shared History) until it has moved
at least 5,000 records on, and reads pages as the history screen does. Every record must be
there, nothing may fail with "database is locked", and the file must stay intact.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from sms_tui import outbox
from sms_tui.client import SmsClient
from sms_tui.credentials import ApiKey
from sms_tui.history import History, HistoryFilter
from sms_tui.sandbox import Sandbox

KEY = "concurrency-stress-key-77e0b2"
ROOT = Path(__file__).resolve().parents[1]
SENDER = Path(__file__).resolve().parent / "stress_helpers" / "batch_sender.py"
WRITERS = ("alpha", "bravo")
BATCHES = 100
SIZE = 50
PER_WRITER = BATCHES * SIZE  # 5,000
REFRESHER_GOAL = 5_000


@pytest.mark.slow
def test_two_senders_and_the_refresher_write_at_once_without_loss_or_lock_errors(
    isolated_home,
):
    with Sandbox(api_key=KEY, delivery_delay=0.0, lookup_interval=0.0) as sandbox:
        env = {
            **os.environ,
            "SMS_TUI_BASE_URL": sandbox.base_url,
            "SMS_TUI_SUBACCOUNT": sandbox.subaccount_id,
            "SMS_TUI_API_KEY": KEY,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        db = isolated_home / "data" / "sms-tui" / "history.sqlite3"
        # The app's store: one History shared by the UI thread and its workers.
        with History(db) as history:
            senders = [
                subprocess.Popen(
                    [sys.executable, str(SENDER), name, str(BATCHES), str(SIZE)],
                    cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    text=True,
                )
                for name in WRITERS
            ]
            senders_done = threading.Event()
            refreshed = Counter()
            errors: list[BaseException] = []

            def refresher() -> None:
                async def loop() -> None:
                    async with SmsClient(
                        api_key=ApiKey(KEY),
                        subaccount_id=sandbox.subaccount_id,
                        base_url=sandbox.base_url,
                    ) as client:
                        while True:
                            changed = await outbox.refresh_statuses(
                                client=client, history=history, limit=100, pace=0.0,
                                on_update=lambda _id, state: refreshed.update([state]),
                            )
                            if senders_done.is_set() and (
                                refreshed.total() >= REFRESHER_GOAL or not changed
                            ):
                                return
                            if not changed:
                                await asyncio.sleep(0.02)

                try:
                    asyncio.run(loop())
                except BaseException as error:  # noqa: BLE001 - reported by the test below
                    errors.append(error)

            worker = threading.Thread(target=refresher, name="refresher")
            worker.start()
            pages = 0
            overlapped = 0
            # Meanwhile the history screen reads: newest page, a search, the counts.
            while any(p.poll() is None for p in senders):
                history.page(limit=100)
                history.count(HistoryFilter(states=("queued",)))
                history.page(HistoryFilter(search="bravo"), limit=50)
                pages += 1
                if refreshed.total():
                    overlapped += 1
                time.sleep(0.05)
            outputs = [p.communicate(timeout=600) for p in senders]
            senders_done.set()
            worker.join(600)
            assert not worker.is_alive()

            for process, (stdout, stderr) in zip(senders, outputs, strict=True):
                assert process.returncode == 0, stdout + stderr
                assert f"DONE {PER_WRITER}" in stdout
                assert "locked" not in (stdout + stderr).lower()
            assert errors == [], errors
            assert refreshed["delivered"] >= REFRESHER_GOAL, refreshed
            # The refresher really wrote while the senders were writing.
            assert overlapped > 0 and pages > 0

            records = list(history.iter_records())
            assert len(records) == len(WRITERS) * PER_WRITER
            for name in WRITERS:
                expected = {f"{name}-{b}-{n}" for b in range(BATCHES) for n in range(1, SIZE + 1)}
                got = {r.client_message_id for r in records if r.profile == "env"
                       and r.client_message_id.startswith(f"{name}-")}
                assert got == expected, f"{name}: {len(expected - got)} records missing"
            states = Counter(r.state for r in records)
            assert set(states) <= {"queued", "delivered"}, states
            assert all(r.umid for r in records)
            assert len({r.umid for r in records}) == len(records)
            assert history.recover_pending() == 0
        print(f"refreshed: {dict(refreshed)}; reads: {pages}; final states: {dict(states)}")

    conn = sqlite3.connect(db)  # an independent witness: History has no integrity check
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()

"""Stress: a real process sending in a loop is killed with SIGKILL at random points, 20 times.

After each kill the history must open, be intact, hold a record for every message that may have
reached 8x8 (the write-ahead rule), hold nothing that was never started, keep every outcome
already recorded, and turn what was in flight into `unknown` (never `failed` or `queued`).
"""

from __future__ import annotations

import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sms_tui.history import RECOVERED_DETAIL, History
from sms_tui.sandbox import Sandbox

KEY = "crash-stress-key-3a9c44d1"
KILLS = 20
ROOT = Path(__file__).resolve().parents[1]
SENDER = Path(__file__).resolve().parent / "stress_helpers" / "crash_sender.py"
READY_TIMEOUT = 60.0


@pytest.fixture
def crash_sandbox():
    with Sandbox(api_key=KEY, delivery_delay=0.5) as server:
        yield server


def _reader(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def _integrity(path: Path) -> str:
    # History has no integrity-check method (yet); a plain read-only question to SQLite is the
    # independent witness here, asked before sms-tui itself opens the file again.
    conn = sqlite3.connect(path, timeout=30)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def _cmids(body) -> list[str]:
    if not isinstance(body, dict):
        return []
    if "messages" in body:
        return [m.get("clientMessageId") for m in body["messages"] if isinstance(m, dict)]
    return [body.get("clientMessageId")] if body.get("clientMessageId") else []


@pytest.mark.slow
def test_sigkill_at_random_points_never_loses_or_corrupts_a_record(crash_sandbox, isolated_home):
    sandbox = crash_sandbox
    rng = random.Random(8128)
    env = {
        **os.environ,
        "SMS_TUI_BASE_URL": sandbox.base_url,
        "SMS_TUI_SUBACCOUNT": sandbox.subaccount_id,
        "SMS_TUI_API_KEY": KEY,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
    }
    db = isolated_home / "data" / "sms-tui" / "history.sqlite3"
    totals = {"records": 0, "recovered": 0, "in_flight_kills": 0, "startup_kills": 0}

    for run in range(KILLS):
        sandbox.reset()  # clears `received`, so it holds what this run's process sent
        # Half the requests are answered late, so that many kills land while one is in flight.
        sandbox.inject("latency", probability=0.5, seconds=0.05)
        process = subprocess.Popen(
            [sys.executable, str(SENDER), str(run)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=_reader, args=(process.stdout, lines), daemon=True).start()
        output: list[str] = []
        if run % 5 == 4:
            # Some kills land during start-up: opening, migrating or recovering the history.
            time.sleep(rng.uniform(0.0, 0.6))
            totals["startup_kills"] += 1
        else:
            deadline = time.monotonic() + READY_TIMEOUT
            while True:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
                assert line is not None, f"the sender died: {process.stderr.read()}"
                output.append(line)
                if line == "READY":
                    break
            time.sleep(rng.uniform(0.05, 0.8))
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        stderr = process.stderr.read()
        while (line := lines.get(timeout=30)) is not None:
            output.append(line)
        assert process.returncode == -signal.SIGKILL, stderr
        assert "Traceback" not in stderr, stderr

        begun = {}
        done = {}
        for line in output:
            word, *rest = line.split()
            if word == "BEGIN":
                begun[rest[0]] = int(rest[1])
            elif word == "DONE":
                done[rest[0]] = rest[1:]

        if not db.exists():
            assert not begun, "a send began without a history file"
            continue
        assert _integrity(db) == "ok", f"run {run}: the database is damaged"

        with History(db) as history:
            prefix = f"crash-{run}-"
            records = [r for r in history.iter_records() if
                       (r.client_message_id or "").startswith(prefix)]
            by_cmid = {r.client_message_id: r for r in records}
            assert len(by_cmid) == len(records), "a clientMessageId was recorded twice"

            def ids_of(cmid: str, count: int) -> list[str]:
                return [cmid] if count == 1 else [f"{cmid}-{n}" for n in range(1, count + 1)]

            # Nothing recorded that was never started.
            started = {i for cmid, count in begun.items() for i in ids_of(cmid, count)}
            assert set(by_cmid) <= started, set(by_cmid) - started

            # Every finished send kept its outcome, exactly as the process was told it.
            for cmid, states in done.items():
                recorded = [by_cmid[i].state for i in ids_of(cmid, begun[cmid])]
                assert recorded == states, (cmid, recorded, states)

            # Everything that reached the sandbox has a record (the write-ahead rule).
            reached = {c for request in sandbox.received for c in _cmids(request.json)}
            reached |= {e.client_message_id for e in sandbox.ledger
                        if (e.client_message_id or "").startswith(prefix)}
            missing = {c for c in reached if c.startswith(prefix)} - set(by_cmid)
            assert not missing, f"run {run}: sent without a record: {sorted(missing)}"

            # Only the one send in flight may be left pending, and all of it or none of it: a
            # batch's outcomes are recorded in one transaction.
            unfinished = [cmid for cmid in begun if cmid not in done]
            assert len(unfinished) <= 1
            pending = [r for r in records if r.state == "pending"]
            if pending:
                totals["in_flight_kills"] += 1
                assert {r.client_message_id for r in pending} == set(
                    ids_of(unfinished[0], begun[unfinished[0]])
                )

            # The next start turns what was in flight into `unknown`, and only that.
            recovered = history.recover_pending()
            assert recovered == len(pending)
            totals["recovered"] += recovered
            for record in pending:
                after = history.get(record.id)
                assert after.state == "unknown"
                assert after.state_detail == RECOVERED_DETAIL
            assert history.count() >= len(records)

            # Nothing was accepted twice, and `queued` is only ever what 8x8 accepted.
            for record in records:
                assert sandbox.accepted(record.client_message_id) <= 1
                if record.state == "queued":
                    assert sandbox.accepted(record.client_message_id) == 1
            totals["records"] += len(records)

    assert _integrity(db) == "ok"
    with History(db) as history:
        assert history.recover_pending() == 0
        assert history.count() == totals["records"]
    print(f"crash totals: {totals}")
    # The kills must have exercised the interesting window at least once.
    assert totals["in_flight_kills"] > 0, totals

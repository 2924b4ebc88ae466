"""Measures the history store at scale: bulk insert, newest page, search, counts, memory.

    python -m benchmarks.history                # 1,000,000 records (a few minutes)
    python -m benchmarks.history --records 50000

Everything measured goes through the real ``sms_tui.history.History``. The baseline, run side
by side, is what a naive design costs: one transaction per insert, and the same questions asked
of a plain copy of the table with no index and no full-text index (LIKE scans, sorting by date).
The baseline uses sqlite3 directly because it is, by construction, not our store.
Query times are the median of several runs.
"""

from __future__ import annotations

import argparse
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sms_tui.history import History, HistoryFilter, NewMessage

RUNS = 7
CHUNK = 20_000
# Word chosen so that about one record in 3,000 contains it: "a few hundred" at 1M records.
RARE_WORDS = 3_000
STATE_WEIGHTS = {
    "delivered": 80,
    "undelivered": 5,
    "sent": 3,
    "queued": 3,
    "rejected": 3,
    "failed": 2,
    "unknown": 1,
    "expired": 2,
    "cancelled": 1,
}
_SENTENCE = (
    "your order is ready for pickup at the store thanks hello reminder appointment tomorrow "
    "code verification delivery today meeting confirmed please reply stop to opt out balance "
    "payment received invoice due account update new message from team see you soon"
)
COMMON = tuple(_SENTENCE.split())


def _records(count: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    states = list(STATE_WEIGHTS)
    weights = list(STATE_WEIGHTS.values())
    start = datetime(2024, 1, 1, tzinfo=UTC)
    step = timedelta(days=365) / max(count, 1)
    for n in range(count):
        state = rng.choices(states, weights)[0]
        created = (start + step * n).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        accepted = state not in ("rejected", "failed", "unknown")
        words = rng.sample(COMMON, 8)
        words.insert(rng.randrange(9), f"kiwi{rng.randrange(RARE_WORDS):04d}")
        yield {
            "created_at": created,
            "updated_at": created,
            "profile": "work" if n % 5 else "personal",
            "subaccount_id": "acme_hq",
            "region": "apac",
            "sender": "ACME",
            "destination": f"+65{rng.randrange(80000000, 99999999)}",
            "text": " ".join(words),
            "requested_encoding": "AUTO",
            "encoding": "GSM7",
            "units": 60,
            "segment_count": 1,
            "client_message_id": f"cm-{n}",
            "umid": str(uuid.UUID(int=rng.getrandbits(128), version=4)) if accepted else None,
            "http_status": 200 if accepted else (400 if state == "rejected" else None),
            "state": state,
            "price": 0.0123 if state == "delivered" else None,
            "currency": "SGD" if state == "delivered" else None,
        }


def _chunks(count: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for record in _records(count):
        chunk.append(record)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _median_ms(action: Callable[[], Any], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _row(name: str, value: float, unit: str, goal: str | None, baseline: float | None,
         higher_is_better: bool = False) -> dict[str, Any]:
    ratio = None
    if baseline and value:
        ratio = value / baseline if higher_is_better else baseline / value
    return {"name": name, "value": value, "unit": unit, "goal": goal, "baseline": baseline,
            "ratio": ratio}


def _naive_insert_rate(directory: Path, count: int = 300) -> float:
    """One committed transaction per record, as a store without a bulk path would do."""
    message = NewMessage(
        profile="work", subaccount_id="acme_hq", region="apac", sender="ACME",
        destination="+6591234567", text="your order is ready", requested_encoding="AUTO",
        encoding="GSM7", units=19, segment_count=1, client_message_id=None,
    )
    with History(directory / "naive.sqlite3") as history:
        started = time.perf_counter()
        for _ in range(count):
            history.add_pending([message])
        return count / (time.perf_counter() - started)


def _plain_copy(history_path: Path, directory: Path) -> sqlite3.Connection:
    """The same rows in a table with no index and no full-text index."""
    conn = sqlite3.connect(directory / "plain.sqlite3")
    conn.execute("ATTACH DATABASE ? AS h", (str(history_path),))
    conn.execute("CREATE TABLE plain AS SELECT * FROM h.messages")
    conn.commit()
    conn.execute("DETACH DATABASE h")
    return conn


def run(records: int = 1_000_000, runs: int = RUNS, log: Callable[[str], None] | None = None
        ) -> list[dict[str, Any]]:
    """Builds a history of ``records`` messages in a temporary directory and measures it."""
    say = log or (lambda _text: None)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="sms-tui-bench-") as tmp:
        directory = Path(tmp)
        path = directory / "history.sqlite3"
        history = History(path)
        try:
            say(f"inserting {records:,} records ...")
            elapsed = 0.0
            for chunk in _chunks(records):
                started = time.perf_counter()
                history.import_records(chunk, chunk_size=CHUNK)
                elapsed += time.perf_counter() - started
            rate = records / elapsed
            naive_rate = _naive_insert_rate(directory)
            rows.append(_row("bulk insert", rate, "records/s", ">= 50000", naive_rate, True))
            say(f"  {rate:,.0f} records/s (one transaction per record: {naive_rate:,.0f}/s)")

            rare = "kiwi0042"
            expected = history.count(HistoryFilter(search=rare))
            say(f"copying to a plain table for the baseline ... ({rare!r} in {expected} records)")
            plain = _plain_copy(path, directory)
            big_state = max(STATE_WEIGHTS, key=STATE_WEIGHTS.__getitem__)

            def plain_page() -> Any:
                return plain.execute(
                    "SELECT * FROM plain ORDER BY created_at DESC LIMIT 100"
                ).fetchall()

            def plain_search() -> Any:
                like = f"%{rare}%"
                return plain.execute(
                    "SELECT * FROM plain WHERE text LIKE ? OR destination LIKE ? OR sender LIKE ?"
                    " OR umid LIKE ? OR client_message_id LIKE ? ORDER BY created_at DESC"
                    " LIMIT 100", (like,) * 5,
                ).fetchall()

            def plain_count() -> Any:
                return plain.execute(
                    "SELECT count(*) FROM plain WHERE state = ?", (big_state,)
                ).fetchone()

            def plain_counts() -> Any:
                return plain.execute("SELECT state, count(*) FROM plain GROUP BY state").fetchall()

            def plain_rare_state() -> Any:
                return plain.execute(
                    "SELECT * FROM plain WHERE state = 'cancelled' ORDER BY created_at DESC"
                    " LIMIT 100"
                ).fetchall()

            deep_before = history.page(limit=1)[0].id - records // 2
            queries: list[tuple[str, Callable[[], Any], Callable[[], Any], str | None]] = [
                ("newest page of 100", lambda: history.page(limit=100), plain_page, "<= 20"),
                (
                    f"search matching {expected} records, first page",
                    lambda: history.page(HistoryFilter(search=rare), limit=100),
                    plain_search,
                    "<= 50",
                ),
                (
                    f"count by state ({big_state})",
                    lambda: history.count(HistoryFilter(states=(big_state,))),
                    plain_count,
                    "<= 100",
                ),
                ("counts of every state", history.counts_by_state, plain_counts, None),
                (
                    "page of 100 of a rare state",
                    lambda: history.page(HistoryFilter(states=("cancelled",)), limit=100),
                    plain_rare_state,
                    None,
                ),
                (
                    "page of 100 half-way down (keyset)",
                    lambda: history.page(before=deep_before, limit=100),
                    lambda: plain.execute(
                        "SELECT * FROM plain ORDER BY created_at DESC LIMIT 100 OFFSET ?",
                        (records // 2,),
                    ).fetchall(),
                    None,
                ),
            ]
            for name, ours, theirs, goal in queries:
                value = _median_ms(ours, runs)
                base = _median_ms(theirs, max(3, runs // 2))
                rows.append(_row(name, value, "ms", goal, base))
                say(f"  {name}: {value:.2f} ms (baseline {base:.1f} ms)")
            plain.close()
        finally:
            history.close()
        size = sum(p.stat().st_size for p in directory.glob("history.sqlite3*") if p.is_file())
        rows.append(_row("database size", size / 1e6, "MB", None, None))
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mb = peak_kb / 1024 if sys.platform != "darwin" else peak_kb / 1024 / 1024
    rows.append(_row("peak memory (max RSS)", peak_mb, "MB", None, None))
    return rows


def _format(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'measure':<44} {'value':>14} {'goal':>10} {'baseline':>14} {'ratio':>9}"]
    for row in rows:
        value = f"{row['value']:,.2f} {row['unit']}" if row["value"] < 1000 else (
            f"{row['value']:,.0f} {row['unit']}")
        unit_gap = "" if row["unit"] else ""
        baseline = "" if row["baseline"] is None else f"{row['baseline']:,.1f}"
        ratio = "" if row["ratio"] is None else f"{row['ratio']:,.1f}x"
        lines.append(
            f"{row['name']:<44} {value:>14}{unit_gap} {row['goal'] or '':>10} {baseline:>14} "
            f"{ratio:>9}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="default: 1,000,000")
    parser.add_argument(
        "--runs", type=int, default=RUNS, help=f"query repetitions (default {RUNS})"
    )
    args = parser.parse_args(argv)
    rows = run(args.records, args.runs, log=lambda text: print(text, file=sys.stderr, flush=True))
    print(_format(rows))
    print("ratio: how many times better than the baseline (higher is better)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

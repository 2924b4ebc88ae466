"""The local history: schema, write-ahead states, crash recovery, search, paging, export, safety.

Everything runs against real SQLite files on disk; the crash and concurrency tests use real
processes. sqlite3 is used directly here only to build files an older release or another
program would have left, and to look at what is on disk.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from sms_tui import history as history_module
from sms_tui.errors import HistoryError, InvalidInput
from sms_tui.history import (
    FINAL_STATES,
    MIGRATIONS,
    PAGE_SIZE,
    RECOVERED_DETAIL,
    SCHEMA_VERSION,
    STATES,
    History,
    HistoryFilter,
    MessageRecord,
    NewMessage,
    RecordNotFound,
)

REPO = Path(__file__).resolve().parent.parent
BASE = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def message(**overrides) -> NewMessage:
    fields = dict(
        profile="work",
        subaccount_id="acme_hq",
        region="Asia-Pacific",
        sender="ACME",
        destination="+6591234567",
        text="Your parcel is ready for pickup",
        requested_encoding="AUTO",
        encoding="GSM7",
        units=31,
        segment_count=1,
        client_message_id="cm-1",
    )
    fields.update(overrides)
    return NewMessage(**fields)


def imported(n: int, **overrides) -> dict:
    """A record as import_records takes it, created n minutes after BASE."""
    created = BASE + timedelta(minutes=n)
    fields = dict(
        created_at=created,
        profile="work",
        subaccount_id="acme_hq",
        region="Asia-Pacific",
        sender="ACME",
        destination=f"+659{n:07d}",
        text=f"message number {n}",
        requested_encoding="AUTO",
        encoding="GSM7",
        units=20,
        segment_count=1,
        client_message_id=f"cm-{n}",
        state="delivered",
    )
    fields.update(overrides)
    return fields


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store" / "history.sqlite3"


@pytest.fixture
def history(db: Path):
    with History(db) as store:
        yield store


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------------------
# The file


def test_a_new_history_is_owner_only_in_wal_mode_at_the_current_schema(db):
    with History(db) as store:
        store.add_pending([message()])
        assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
        for path in db.parent.glob("history.sqlite3*"):
            if path.is_file():
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert (db.parent / "history.sqlite3-wal").exists()
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE
    finally:
        conn.close()


def test_a_history_others_could_read_is_made_owner_only(db, isolated_home):
    db.parent.mkdir(mode=0o755)
    History(db).close()
    db.chmod(0o644)
    with History(db):
        assert stat.S_IMODE(db.stat().st_mode) == 0o600
    # A directory the caller named may be shared: only sms-tui's own data directory is changed.
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o755
    data = isolated_home / "data" / "sms-tui"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    with History() as store:
        store.path.chmod(0o640)
    with History():
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        assert stat.S_IMODE((data / "history.sqlite3").stat().st_mode) == 0o600


def test_the_default_file_is_in_the_data_directory(isolated_home):
    with History() as store:
        assert store.path == isolated_home / "data" / "sms-tui" / "history.sqlite3"
        assert store.path.exists()


def test_every_field_is_kept_and_times_are_utc(history):
    scheduled = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    [record_id] = history.add_pending(
        [message(scheduled_at=scheduled, expiry_at="2030-01-03T00:00:00+08:00", resent_from=7,
                 request_json={"destination": "+6591234567", "text": "Your parcel"})]
    )
    record = history.get(record_id)
    assert isinstance(record, MessageRecord)
    assert (record.profile, record.subaccount_id, record.region, record.sender) == (
        "work", "acme_hq", "Asia-Pacific", "ACME")
    assert (record.destination, record.units, record.segment_count) == ("+6591234567", 31, 1)
    assert (record.requested_encoding, record.encoding) == ("AUTO", "GSM7")
    assert record.state == "pending" and not record.is_final
    assert record.scheduled_at == scheduled
    assert record.expiry_at == datetime(2030, 1, 2, 16, 0, tzinfo=UTC)
    assert record.resent_from == 7
    assert record.created_at.tzinfo is not None
    assert abs(record.created_at - datetime.now(UTC)) < timedelta(minutes=5)
    assert json.loads(record.request_json) == {"destination": "+6591234567", "text": "Your parcel"}


def test_the_api_key_never_reaches_the_file(db):
    secret = "sk-live-THIS-MUST-NOT-BE-STORED-1234"
    with History(db) as store:
        [record_id] = store.add_pending([message(request_json={
            "destination": "+6591234567",
            "headers": {"Authorization": f"Bearer {secret}"},
            "Authorization": f"Bearer {secret}",
        })])
        store.record_outcome(record_id, state="queued", umid="u-1",
                             response_json={"umid": "u-1", "headers": {"x-api-key": secret}})
        assert secret not in json.dumps(store.get(record_id).as_dict())
        for path in db.parent.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path
    for path in db.parent.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


# ------------------------------------------------------------------------------------------
# Write-ahead states


def test_a_pending_record_is_on_disk_before_add_pending_returns(history, db):
    ids = history.add_pending([message(), message(destination="+6598765432")])
    assert ids == sorted(ids) and len(set(ids)) == 2
    # A separate connection (as another process would have) sees both, committed.
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT id, state, destination FROM messages ORDER BY id").fetchall()
    finally:
        conn.close()
    assert rows == [(ids[0], "pending", "+6591234567"), (ids[1], "pending", "+6598765432")]


def test_ids_follow_the_order_of_the_messages_even_after_deletes(history):
    first = history.add_pending([message(text=f"first {n}") for n in range(3)])
    history.delete(first[-1:])  # the highest id is never handed out again
    second = history.add_pending([message(text=f"second {n}") for n in range(5)])
    assert second == list(range(first[-1] + 1, first[-1] + 6))
    assert [history.get(i).text for i in second] == [f"second {n}" for n in range(5)]


def test_outcomes_are_recorded(history):
    queued, rejected, failed, unknown = history.add_pending([message() for _ in range(4)])
    history.record_outcome(queued, state="queued", umid="0b6b-umid", http_status=200,
                           encoding="UCS2", response_json='{"umid": "0b6b-umid"}')
    history.record_outcome(rejected, state="rejected", http_status=400, error_code=1002,
                           error_message="Invalid MSISDN", error_id="e-42")
    history.record_outcome(failed, state="failed", error_message="could not connect")
    history.record_outcome(unknown, state="unknown", state_detail="timed out after sending")
    q = history.get(queued)
    assert (q.state, q.umid, q.http_status, q.encoding) == ("queued", "0b6b-umid", 200, "UCS2")
    assert json.loads(q.response_json) == {"umid": "0b6b-umid"}
    assert q.updated_at >= q.created_at
    r = history.get(rejected)
    assert (r.state, r.error_code, r.error_message, r.error_id) == (
        "rejected", 1002, "Invalid MSISDN", "e-42")
    assert r.is_final
    assert history.get(failed).state == "failed"
    assert history.get(unknown).state_detail == "timed out after sending"


def test_bad_ids_and_states_are_refused(history):
    with pytest.raises(RecordNotFound, match="#999"):
        history.record_outcome(999, state="queued")
    with pytest.raises(RecordNotFound, match="#999"):
        history.get(999)
    [record_id] = history.add_pending([message()])
    with pytest.raises(ValueError, match="not a history state"):
        history.record_outcome(record_id, state="read")
    with pytest.raises(InvalidInput, match="not a message state"):
        HistoryFilter(states=("done",))


def test_status_lookups_move_a_message_on_and_refreshable_lists_what_can_change(history):
    a, b, c, d = history.add_pending([message(), message(), message(), message()])
    for record_id in (a, b, c):
        history.record_outcome(record_id, state="queued", umid=f"umid-{record_id}")
    history.record_outcome(d, state="unknown")  # no umid: 8x8 cannot be asked about it
    assert [r.id for r in history.refreshable()] == [a, b, c]

    history.record_status(a, state="sent", checked_at=BASE)
    history.record_status(b, state="delivered", detail="delivered_to_recipient", price=0.0123,
                          currency="EUR", status_at="2025-03-01T12:00:05.5Z")
    record = history.get(b)
    assert (record.state, record.state_detail, record.price, record.currency) == (
        "delivered", "delivered_to_recipient", 0.0123, "EUR")
    assert record.status_at == datetime(2025, 3, 1, 12, 0, 5, 500000, tzinfo=UTC)
    assert record.checked_at is not None and record.is_final
    # Never-checked first, then the longest unchecked; final states drop out.
    assert [r.id for r in history.refreshable()] == [c, a]
    assert [r.id for r in history.refreshable(limit=1)] == [c]
    assert history.refreshable(subaccount_id="someone_else") == []
    assert [r.id for r in history.refreshable(profile="work")] == [c, a]


def test_find_by_umid(history):
    [record_id] = history.add_pending([message()])
    history.record_outcome(record_id, state="queued", umid="dec02e44-c76f-4a0a-b69f-6ac2a4386eb9")
    assert history.find_by_umid("dec02e44-c76f-4a0a-b69f-6ac2a4386eb9").id == record_id
    assert history.find_by_umid("dec02e44-c76f") is None  # only the exact umid
    assert history.find_by_umid('"') is None


# ------------------------------------------------------------------------------------------
# Recovery after a crash


CRASHING_WRITER = textwrap.dedent(
    """
    import sys, time
    from sms_tui.history import History, NewMessage

    history = History(sys.argv[1])
    [record_id] = history.add_pending([NewMessage(
        profile="work", subaccount_id="acme_hq", region="Asia-Pacific", sender=None,
        destination="+6591234567", text="sent just before the crash", requested_encoding="AUTO",
        encoding="GSM7", units=26, segment_count=1, client_message_id="crash-1")])
    print(record_id, flush=True)
    time.sleep(600)  # "the request is in flight": killed here, before record_outcome
    """
)


def test_a_writer_killed_between_record_and_outcome_leaves_a_pending_record(db):
    History(db).close()
    child = subprocess.Popen(
        [sys.executable, "-c", CRASHING_WRITER, str(db)],
        stdout=subprocess.PIPE, text=True, cwd=REPO,
    )
    try:
        record_id = int(child.stdout.readline())
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    with History(db) as store:
        record = store.get(record_id)
        assert (record.state, record.text) == ("pending", "sent just before the crash")
        assert store.recover_pending() == 1
        record = store.get(record_id)
        assert record.state == "unknown"  # may have reached 8x8: never failed, never queued
        assert record.state_detail == RECOVERED_DETAIL
        assert store.recover_pending() == 0
    # The dead writer's lock file is cleaned up with its records.
    assert not any((db.parent / "history.sqlite3-owners").iterdir())


def test_recovery_leaves_the_sends_of_a_running_sms_tui_alone(db):
    with History(db) as sender, History(db) as other:
        [in_flight] = sender.add_pending([message()])
        assert other.recover_pending() == 0  # the sender is alive and will record the outcome
        assert sender.recover_pending() == 0  # nor is one's own send ever "recovered"
        assert other.get(in_flight).state == "pending"
        sender.record_outcome(in_flight, state="queued", umid="u-9")
        assert other.get(in_flight).state == "queued"
        [left] = sender.add_pending([message()])
    with History(db) as later:  # the sender closed without an outcome: now it is unknown
        assert later.recover_pending() == 1
        assert later.get(left).state == "unknown"


def test_a_late_answer_replaces_the_unknown_state(history):
    [record_id] = history.add_pending([message()])
    history.close()
    with History(history.path) as store:
        assert store.recover_pending() == 1
        store.record_outcome(record_id, state="queued", umid="late-umid")
        assert store.get(record_id).state == "queued"


# ------------------------------------------------------------------------------------------
# Full-text search


@pytest.fixture
def searchable(history):
    history.import_records([
        imported(1, text="Your café order is ready", destination="+6591234567",
                 umid="dec02e44-c76f-4a0a-b69f-6ac2a4386eb9"),
        imported(2, text="Meeting moved to 3pm", sender="HR-Team", client_message_id="inv-2024-17"),
        imported(3, text="Invoice 2024-17 is due", destination="+447700900123"),
        imported(4, text="Cafeteria closes early", profile="personal"),
    ])
    return history


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("cafe", [4, 1]),  # accents do not matter, and a word start matches a longer word
        ("CAFÉ ORDER", [1]),  # every word must occur
        ("ready", [1]),
        ("+65 9123", [1]),  # a number, as typed with spaces
        ("6591234567", [1]),
        ("+44 7700", [3]),
        ("hr-team", [2]),  # sender
        ("dec02e44-c76f", [1]),  # the start of a umid
        ("dec02e44-c76f-4a0a-b69f-6ac2a4386eb9", [1]),
        ("DEC02E44-C76F-4A", [1]),
        ("dec02e44c76f", [1]),  # as some tools print umids, without dashes
        ("dec02e44-c76f cafe", [1]),
        ("inv-2024-17", [2]),  # clientMessageId
        ("2024-17", [3, 2]),
        ("nothing-like-this", []),
    ],
)
def test_search(searchable, search, expected):
    found = [r.id for r in searchable.page(HistoryFilter(search=search))]
    assert found == expected
    assert searchable.count(HistoryFilter(search=search)) == len(expected)


@pytest.mark.parametrize("search", ['"', "AND", "OR NOT", "*", "(", "NEAR(a b)", "a:b", "^x", "'"])
def test_search_syntax_never_errors(searchable, search):
    searchable.page(HistoryFilter(search=search))
    searchable.count(HistoryFilter(search=search))


def test_a_search_of_only_punctuation_selects_everything(searchable):
    assert searchable.count(HistoryFilter(search=" + - ")) == 4


def test_the_search_index_follows_updates_and_deletes(history, db):
    [record_id] = history.add_pending([message()])
    assert history.count(HistoryFilter(search="f00dfeed")) == 0
    history.record_outcome(record_id, state="queued", umid="f00dfeed-0000")
    assert [r.id for r in history.page(HistoryFilter(search="f00dfeed"))] == [record_id]
    history.delete([record_id])
    assert history.count(HistoryFilter(search="f00dfeed")) == 0
    assert history.count(HistoryFilter(search="parcel")) == 0
    conn = sqlite3.connect(db)
    try:  # the index matches the table exactly
        conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')")
    finally:
        conn.close()


# ------------------------------------------------------------------------------------------
# Filters and paging


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """12,000 records: enough for every query shape (a date range wider than the probe too)."""
    path = tmp_path_factory.mktemp("big") / "history.sqlite3"
    states = [s for s in STATES if s != "pending"]
    rows = [
        imported(
            n,
            state=states[(n * 7) % len(states)] if n % 10 else "delivered",
            profile="personal" if n % 13 == 0 else "work",
            text=f"message number {n} " + ("urgent" if n % 97 == 0 else "routine"),
        )
        for n in range(12_000)
    ]
    with History(path) as store:
        assert store.import_records(rows, chunk_size=5_000) == len(rows)
    expected = {n + 1: row for n, row in enumerate(rows)}  # ids are assigned in order
    store = History(path)
    yield store, expected
    store.close()


def brute_force(expected: dict, flt: HistoryFilter) -> list[int]:
    ids = []
    for record_id, row in expected.items():
        if flt.states and row["state"] not in flt.states:
            continue
        if flt.since and row["created_at"] < flt.since:
            continue
        if flt.until and row["created_at"] >= flt.until:
            continue
        if flt.profile and row["profile"] != flt.profile:
            continue
        if flt.search and flt.search not in row["text"].split():
            continue
        ids.append(record_id)
    return sorted(ids, reverse=True)


FILTERS = [
    HistoryFilter(),
    HistoryFilter(states=("delivered",)),
    HistoryFilter(states=("cancelled", "rejected", "unknown")),
    HistoryFilter(since=BASE + timedelta(minutes=100), until=BASE + timedelta(minutes=400)),
    HistoryFilter(since=BASE + timedelta(minutes=1_000)),  # wider than the index probe
    HistoryFilter(until=BASE + timedelta(minutes=50)),
    HistoryFilter(profile="personal"),
    HistoryFilter(search="urgent"),
    HistoryFilter(search="urgent", states=("delivered",), profile="work"),
    HistoryFilter(states=("sent", "queued"), since=BASE + timedelta(minutes=5_000),
                  profile="work"),
]


@pytest.mark.parametrize("flt", FILTERS, ids=[str(i) for i in range(len(FILTERS))])
def test_pages_cover_every_match_once_newest_first(big, flt):
    store, expected = big
    want = brute_force(expected, flt)
    got, before = [], None
    while True:
        page = store.page(flt, before=before, limit=250)
        got += [r.id for r in page]
        if len(page) < 250:
            break
        before = page[-1].id
    assert got == want
    assert store.count(flt) == len(want)
    assert [r.id for r in store.iter_records(flt, chunk=1_000)] == want


@pytest.mark.parametrize(("in_range", "newer"), [(10, 10), (10, 1_000_000), (1_000_000, 10)])
def test_every_date_plan_gives_the_same_pages(big, monkeypatch, in_range, newer):
    # The thresholds only choose between plans; the answers must not depend on them.
    monkeypatch.setattr(history_module, "_DATE_INDEX_ROWS", in_range)
    monkeypatch.setattr(history_module, "_NEWER_ROWS", newer)
    store, expected = big
    for flt in [f for f in FILTERS if f.since or f.until]:
        want = brute_force(expected, flt)
        assert [r.id for r in store.iter_records(flt, chunk=700)] == want


def test_counts_by_state(big):
    store, expected = big
    by_state: dict[str, int] = {}
    for row in expected.values():
        by_state[row["state"]] = by_state.get(row["state"], 0) + 1
    assert store.counts_by_state() == by_state
    assert store.counts_by_state(HistoryFilter(states=("delivered", "sent"))) == {
        s: by_state[s] for s in ("delivered", "sent")}
    assert sum(store.counts_by_state(HistoryFilter(profile="personal")).values()) == len(
        brute_force(expected, HistoryFilter(profile="personal")))


def test_state_counts_follow_every_kind_of_change(history, db):
    ids = history.add_pending([message() for _ in range(6)])
    history.record_outcome(ids[0], state="queued", umid="a")
    history.record_outcome(ids[1], state="rejected", error_code=1002)
    history.record_status(ids[0], state="delivered")
    history.record_status(ids[0], state="delivered")  # the same state again: no change
    history.import_records([imported(n, state="failed") for n in range(4)])
    history.delete([ids[2], 424242])
    history.delete_matching(HistoryFilter(states=("failed",), search="number 1"))
    history.close()
    with History(db) as store:
        store.recover_pending()  # the three left pending become unknown
        conn = sqlite3.connect(db)
        try:
            truth = dict(conn.execute("SELECT state, count(*) FROM messages GROUP BY state"))
        finally:
            conn.close()
        assert truth == {"delivered": 1, "rejected": 1, "unknown": 3, "failed": 3}
        assert store.counts_by_state() == truth
        assert store.count() == 8
        assert store.count(HistoryFilter(states=("unknown", "failed"))) == 6
        assert store.count(HistoryFilter(states=("expired",))) == 0


def test_dates_are_local_times_when_naive(history):
    history.import_records([imported(0, created_at="2025-03-01T00:30:00+00:00")])
    local = datetime(2025, 3, 1, 0, 30, tzinfo=UTC).astimezone().replace(tzinfo=None)
    assert history.count(HistoryFilter(since=local)) == 1
    assert history.count(HistoryFilter(since=local + timedelta(seconds=1))) == 0
    day = local.date()
    assert history.count(HistoryFilter(since=day, until=day + timedelta(days=1))) == 1
    assert isinstance(day, date)


def test_page_limits(history):
    history.import_records([imported(n) for n in range(5)])
    assert history.page(limit=0) == []
    assert [r.id for r in history.page(limit=2)] == [5, 4]
    assert [r.id for r in history.page(before=4, limit=10)] == [3, 2, 1]
    assert history.page(before=1) == []


# ------------------------------------------------------------------------------------------
# Delete and export


def test_delete_by_id_and_by_filter(history):
    history.import_records(
        [imported(n, state="failed" if n % 2 else "delivered") for n in range(10)]
    )
    assert history.delete([1, 2, 999]) == 2
    assert history.count() == 8
    assert history.delete_matching(HistoryFilter(states=("failed",), search="number")) == 4
    assert {r.state for r in history.page()} == {"delivered"}
    assert history.delete_matching(HistoryFilter()) == 4
    assert history.count() == 0 and history.count(HistoryFilter(search="message")) == 0


def test_export_csv_and_jsonl_hold_every_field(history):
    history.import_records([imported(n, umid=f"u-{n}", price=0.05, currency="EUR",
                                     response_json={"umid": f"u-{n}"}) for n in range(3)])
    history.import_records([imported(9, state="failed", text='comma, "quote"\nnew line')])
    jsonl = io.StringIO()
    assert history.export(HistoryFilter(), "jsonl", jsonl) == 4
    lines = [json.loads(line) for line in jsonl.getvalue().splitlines()]
    assert [line["id"] for line in lines] == [4, 3, 2, 1]
    assert set(lines[0]) == {f.name for f in dataclasses.fields(MessageRecord)}
    assert lines[1]["response_json"] == {"umid": "u-2"} and lines[1]["price"] == 0.05
    assert lines[0]["text"] == 'comma, "quote"\nnew line'
    assert lines[0]["created_at"] == "2025-03-01T12:09:00.000000Z"

    out = io.StringIO()
    assert history.export(HistoryFilter(states=("delivered",)), "csv", out, limit=2) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [row["id"] for row in rows] == ["3", "2"]
    assert json.loads(rows[0]["response_json"]) == {"umid": "u-2"}
    assert rows[0]["sender"] == "ACME" and rows[0]["error_code"] == ""

    with pytest.raises(InvalidInput):
        history.export(HistoryFilter(), "xml", io.StringIO())


def test_an_export_imports_back(history, tmp_path):
    history.import_records([imported(n, umid=f"u-{n}") for n in range(20)])
    out = io.StringIO()
    history.export(None, "jsonl", out)
    with History(tmp_path / "copy.sqlite3") as copy:
        oldest_first = reversed(out.getvalue().splitlines())  # ids follow the order given
        assert copy.import_records(json.loads(line) for line in oldest_first) == 20
        assert [r.as_dict() for r in copy.page(limit=100)] == [
            r.as_dict() for r in history.page(limit=100)]


# ------------------------------------------------------------------------------------------
# Migrations and files sms-tui must not touch


V1_DDL = [  # exactly what schema version 1 created (sms-tui 0.1): never edit
    """CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL, profile TEXT NOT NULL, subaccount_id TEXT NOT NULL,
        region TEXT NOT NULL, sender TEXT, destination TEXT NOT NULL, text TEXT NOT NULL,
        requested_encoding TEXT NOT NULL, encoding TEXT, units INTEGER NOT NULL,
        segment_count INTEGER NOT NULL, client_message_id TEXT, umid TEXT, batch_id TEXT,
        http_status INTEGER, error_code INTEGER, error_message TEXT, error_id TEXT,
        state TEXT NOT NULL, state_detail TEXT, status_at TEXT, checked_at TEXT, price REAL,
        currency TEXT, scheduled_at TEXT, expiry_at TEXT, resent_from INTEGER, owner TEXT,
        request_json TEXT, response_json TEXT)""",
    "CREATE INDEX messages_state ON messages(state)",
    "CREATE INDEX messages_profile ON messages(profile)",
    "CREATE INDEX messages_created ON messages(created_at)",
    "CREATE INDEX messages_pending ON messages(owner) WHERE state = 'pending'",
    "CREATE INDEX messages_refresh ON messages(checked_at) "
    "WHERE umid IS NOT NULL AND state IN ('pending', 'queued', 'unknown', 'sent')",
    "PRAGMA user_version = 1",
]


def test_a_version_1_file_is_migrated_and_keeps_its_rows(db):
    db.parent.mkdir()
    conn = sqlite3.connect(db)
    for statement in V1_DDL:
        conn.execute(statement)
    conn.execute(
        "INSERT INTO messages (created_at, updated_at, profile, subaccount_id, region, "
        "destination, text, requested_encoding, units, segment_count, umid, state) VALUES "
        "('2024-01-02T03:04:05.000000Z', '2024-01-02T03:04:05.000000Z', 'old', 'old_hq', "
        "'Europe', '+447700900123', 'Written by version one', 'AUTO', 22, 1, 'old-umid', "
        "'delivered')"
    )
    conn.commit()
    conn.close()

    with History(db) as store:
        [record] = store.page()
        assert (record.id, record.text, record.state, record.profile) == (
            1, "Written by version one", "delivered", "old")
        assert record.created_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
        # What version 2 added works on the old rows too.
        assert [r.id for r in store.page(HistoryFilter(search="version one"))] == [1]
        assert store.find_by_umid("old-umid").id == 1
        assert store.counts_by_state() == {"delivered": 1}
        [new] = store.add_pending([message()])
        assert new == 2
        assert store.count(HistoryFilter(states=("pending", "delivered"))) == 2
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA page_size").fetchone()[0] == 4096  # an old file's, kept
    finally:
        conn.close()


@pytest.mark.parametrize("version", [5, 6])
def test_an_older_full_text_index_is_rebuilt_and_finds_its_rows(db, version):
    # Version 6 re-creates the full-text index with umids as one token (umid_key), version 7
    # without columns (detail=none): what an older release indexed must be found, updated and
    # deleted through the new one.
    db.parent.mkdir()
    conn = sqlite3.connect(db)
    for statements in MIGRATIONS[:version]:
        for statement in statements:
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version}")
    for n, umid in ((1, "dec02e44-c76f-4a0a-b69f-6ac2a4386eb9"), (2, None)):
        conn.execute(
            "INSERT INTO messages (created_at, updated_at, profile, subaccount_id, region, "
            "destination, text, requested_encoding, units, segment_count, umid, state) VALUES "
            "('2025-01-02T03:04:05.000000Z', '2025-01-02T03:04:05.000000Z', 'old', 'old_hq', "
            f"'Europe', '+44770090012{n}', 'Sent by an older version, number {n}', 'AUTO', 30, 1, "
            "?, 'queued')",
            (umid,),
        )
    conn.commit()
    conn.close()

    with History(db) as store:
        assert store.find_by_umid("dec02e44-c76f-4a0a-b69f-6ac2a4386eb9").id == 1
        assert [r.id for r in store.page(HistoryFilter(search="dec02e44-c76f"))] == [1]
        assert [r.id for r in store.page(HistoryFilter(search="older version"))] == [2, 1]
        store.record_outcome(2, state="queued", umid="0badc0de-0000-4000-8000-000000000002")
        assert [r.id for r in store.page(HistoryFilter(search="0badc0de-0000"))] == [2]
        store.delete([1])
        assert store.count(HistoryFilter(search="dec02e44")) == 0
    conn = sqlite3.connect(db)
    try:
        conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')")
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()


def test_a_file_from_a_newer_sms_tui_is_left_alone(db):
    History(db).close()
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    before = digest(db)
    with pytest.raises(HistoryError, match="newer sms-tui") as caught:
        History(db)
    assert str(db) in str(caught.value)
    assert digest(db) == before


def test_another_programs_database_is_left_alone(db):
    db.parent.mkdir()
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.commit()
    conn.close()
    before = digest(db)
    with pytest.raises(HistoryError, match="not an sms-tui history") as caught:
        History(db)
    assert str(db) in str(caught.value)
    assert digest(db) == before


def test_a_file_that_is_not_a_database_is_named_and_never_overwritten(db):
    db.parent.mkdir()
    db.write_bytes(b"these are my notes, not a database\n" * 200)
    before = digest(db)
    with pytest.raises(HistoryError) as caught:
        History(db)
    message_text = str(caught.value)
    assert str(db) in message_text and "unchanged" in message_text
    assert digest(db) == before
    assert not (db.parent / "history.sqlite3-wal").exists()


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_a_damaged_database_is_named_and_never_repaired(db, journal):
    with History(db) as store:
        store.import_records([imported(n, text="x" * 500) for n in range(400)])
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if journal == "delete":  # opening it would change its journal mode: checked first
        conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    data = bytearray(db.read_bytes())
    page_size = 4096
    for page in range(2, len(data) // page_size):  # keep the header page, ruin the rest
        data[page * page_size:(page + 1) * page_size] = b"\xa5" * page_size
    db.write_bytes(bytes(data))
    before = digest(db)
    with pytest.raises(HistoryError) as caught:
        store = History(db)
        try:
            store.page(limit=100)
            store.count(HistoryFilter(search="x"))
        finally:
            store.close()
    assert str(db) in str(caught.value)
    assert digest(db) == before


def test_a_directory_in_the_way_is_reported(db):
    db.mkdir(parents=True)
    with pytest.raises(HistoryError, match="directory") as caught:
        History(db)
    assert str(db) in str(caught.value)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root reads any file; needs an ordinary user")
def test_an_unreadable_file_is_named(db):
    History(db).close()
    db.chmod(0)
    try:
        with pytest.raises(HistoryError) as caught:
            History(db).page()
        assert str(db) in str(caught.value)
    finally:
        db.chmod(0o600)


# ------------------------------------------------------------------------------------------
# Concurrency


WRITER = textwrap.dedent(
    """
    import os, sys, time
    from sms_tui.history import History, NewMessage

    path, tag, rounds, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    while not os.path.exists(go):
        time.sleep(0.001)
    with History(path) as history:
        for n in range(rounds):
            ids = history.add_pending([NewMessage(
                profile=tag, subaccount_id="acme_hq", region="Asia-Pacific", sender=None,
                destination="+6591234567", text=f"{tag} {n} {k}", requested_encoding="AUTO",
                encoding="GSM7", units=10, segment_count=1, client_message_id=f"{tag}-{n}-{k}",
            ) for k in range(10)])
            for record_id in ids[:2]:
                history.record_outcome(record_id, state="queued", umid=f"{tag}-{record_id}")
            history.page(limit=20)
    print("done", flush=True)
    """
)


def test_processes_and_threads_writing_at_once_lose_nothing_and_never_see_locked(db, tmp_path):
    History(db).close()
    go = tmp_path / "go"
    rounds = 150  # 1,500 records per process, in 150 transactions, plus 300 updates
    children = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), f"proc{i}", str(rounds), str(go)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        )
        for i in range(2)
    ]
    errors: list[BaseException] = []
    with History(db) as shared:

        def thread_writer(tag: str) -> None:
            try:
                for n in range(100):
                    ids = shared.add_pending([message(text=f"{tag} {n} {k}", profile=tag)
                                              for k in range(10)])
                    shared.record_outcome(ids[0], state="rejected", error_code=1002)
                    shared.page(HistoryFilter(search=tag), limit=5)
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

        threads = [threading.Thread(target=thread_writer, args=(f"thread{i}",)) for i in range(2)]
        go.touch()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        outputs = [child.communicate(timeout=120) for child in children]
        assert not errors, errors
        for child, (out, err) in zip(children, outputs, strict=True):
            assert child.returncode == 0, err
            assert "locked" not in err and out.strip() == "done"
        counts = shared.counts_by_state()
        assert sum(counts.values()) == 2 * 1_500 + 2 * 1_000
        assert counts["queued"] == 2 * 2 * rounds and counts["rejected"] == 2 * 100
        for tag, expected in (("proc0", 1_500), ("proc1", 1_500), ("thread0", 1_000)):
            assert shared.count(HistoryFilter(profile=tag)) == expected
            assert shared.count(HistoryFilter(search=tag)) == expected
        ids = [r.id for r in shared.iter_records(chunk=1_000)]
        assert len(ids) == len(set(ids)) == 5_000


def test_several_processes_creating_the_history_at_once(db, tmp_path):
    go = tmp_path / "go"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), f"first{i}", "3", str(go)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        )
        for i in range(3)
    ]
    go.touch()
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0 and out.strip() == "done", err
    with History(db) as store:
        assert store.count() == 3 * 3 * 10


def test_a_writer_waits_out_a_lock_held_longer_than_the_busy_timeout(db, monkeypatch):
    monkeypatch.setattr(history_module, "BUSY_TIMEOUT_SECONDS", 0.01)
    store = History(db)
    blocker = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    released = threading.Timer(0.3, lambda: blocker.execute("COMMIT"))
    released.start()
    try:
        [record_id] = store.add_pending([message()])  # retried until the lock is released
        assert store.get(record_id).state == "pending"
    finally:
        released.join()
        blocker.close()
        store.close()


def test_a_lock_that_is_never_released_ends_in_a_sentence(db, monkeypatch):
    monkeypatch.setattr(history_module, "BUSY_TIMEOUT_SECONDS", 0.01)
    monkeypatch.setattr(history_module, "BUSY_DEADLINE_SECONDS", 0.2)
    store = History(db)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(HistoryError, match="busy") as caught:
            store.add_pending([message()])
        assert str(db) in str(caught.value)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        store.close()
    with History(db) as store:
        assert store.count() == 0  # nothing half-written


def test_a_closed_history_says_so(db):
    store = History(db)
    store.close()
    store.close()  # twice is harmless
    with pytest.raises(HistoryError, match="closed"):
        store.page()


def test_final_states_are_states():
    assert set(FINAL_STATES) < set(STATES)


def test_an_import_names_the_record_it_cannot_use(history):
    with pytest.raises(InvalidInput, match="Record 2 .* no 'destination'"):
        history.import_records([imported(1), {k: v for k, v in imported(2).items()
                                              if k != "destination"}])
    with pytest.raises(InvalidInput, match="Record 1 .*not usable"):
        history.import_records([imported(1, units="many")])
    with pytest.raises(InvalidInput, match="'read' is not a history state"):
        history.import_records([imported(1, state="read")])


def trigger_sql(db: Path) -> dict[str, str]:
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
    finally:
        conn.close()


def test_an_import_with_a_value_sqlite_cannot_store_names_the_record(history, db):
    # A JSON export edited by hand can hold a list where a number belongs: that is the
    # record's fault, never a damaged database, and nothing of its chunk is added. It is
    # found only as the rows are written, after a big chunk has set the triggers aside.
    before = trigger_sql(db)
    records = [imported(n) for n in range(1, 1001)]
    records[700]["price"] = [0.05]
    with pytest.raises(InvalidInput, match=r"Record 701 .*price is a list"):
        history.import_records(records, chunk_size=1000)
    assert history.count(HistoryFilter()) == 0
    assert trigger_sql(db) == before
    assert history.import_records(records[:700]) == 700  # the store is still fine


def test_a_bulk_import_is_searchable_counted_and_leaves_the_triggers_as_they_were(history, db):
    # Big chunks are written without the per-row triggers, which are put back in the same
    # transaction; small chunks go through the triggers. Both must give the same store.
    before = trigger_sql(db)
    states = ("delivered", "queued", "rejected")
    records = [
        imported(n, state=states[n % 3], umid=f"umid-{n:05d}", text=f"bulk text {n:05d}")
        for n in range(1, 1301)
    ]
    assert history.import_records(records, chunk_size=1000) == 1300  # one big chunk, one small
    assert trigger_sql(db) == before
    assert history.counts_by_state() == {"delivered": 433, "queued": 434, "rejected": 433}
    # A second big chunk adds to the counts the first one left.
    more = [imported(n, state=states[n % 2]) for n in range(1301, 1901)]
    assert history.import_records(more) == 600
    assert history.counts_by_state() == {"delivered": 733, "queued": 734, "rejected": 433}
    for n in (1, 999, 1000, 1001, 1300):  # either side of the chunk boundary
        [found] = history.page(HistoryFilter(search=f"{n:05d}"))
        assert (found.id, found.text, found.umid) == (n, f"bulk text {n:05d}", f"umid-{n:05d}")
    assert history.count(HistoryFilter(search="bulk text")) == 1300
    # The triggers still work for what comes next.
    [new] = history.add_pending([message(text="after the import")])
    assert [r.id for r in history.page(HistoryFilter(search="after the import"))] == [new]
    assert history.counts_by_state()["pending"] == 1
    conn = sqlite3.connect(db)
    try:
        conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')")
    finally:
        conn.close()

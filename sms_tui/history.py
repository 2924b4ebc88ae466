"""The local history of every message sent: the only module that touches SQLite.

One SQLite file (owner-only, WAL) holds one row per message. The send workflow writes a row in
state ``pending`` and commits it *before* the request leaves, then records the outcome; a row
still ``pending`` when its writer is gone (a crash) becomes ``unknown`` through
:meth:`History.recover_pending`, never silently ``failed`` or ``queued``.

Threading: a :class:`History` holds ONE connection opened with ``check_same_thread=False`` and
serialises every use of it with a re-entrant lock, so one instance can be shared by the UI thread
and Textual thread workers. Statements are short (keyset pages, indexed counts), so the lock is
held for milliseconds; :meth:`History.export`, the only long reader, opens a connection of its
own so that it never holds the lock. Other processes (a second terminal, a script) coordinate
through SQLite itself: every write is ``BEGIN IMMEDIATE`` with a busy timeout, and the rare
``SQLITE_BUSY`` the busy handler does not cover is retried with back-off, so a writer never
fails with "database is locked".
"""

from __future__ import annotations

import contextlib
import csv
import functools
import itertools
import json
import operator
import os
import re
import sqlite3
import stat
import threading
import time
import unicodedata
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any, TypeVar

from sms_tui.errors import HistoryError, InvalidInput

try:  # flock tells a live writer from a crashed one; Windows has no fcntl (see _OwnerLocks)
    import fcntl
except ImportError:  # pragma: no cover - exercised on Windows only
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "FINAL_STATES",
    "NON_FINAL_STATES",
    "SCHEMA_VERSION",
    "STATES",
    "History",
    "HistoryFilter",
    "MessageRecord",
    "NewMessage",
    "RecordNotFound",
    "default_path",
]

STATES = (
    "pending",
    "queued",
    "rejected",
    "failed",
    "unknown",
    "sent",
    "delivered",
    "undelivered",
    "expired",
    "cancelled",
)
FINAL_STATES = frozenset({"rejected", "failed", "delivered", "undelivered", "expired", "cancelled"})
NON_FINAL_STATES = tuple(state for state in STATES if state not in FINAL_STATES)

FILENAME = "history.sqlite3"
BUSY_TIMEOUT_SECONDS = 10.0
# How long a write keeps retrying SQLITE_BUSY before giving up with a sentence for the person.
BUSY_DEADLINE_SECONDS = 60.0
MAX_PAGE = 10_000
RECOVERED_DETAIL = (
    "sms-tui stopped before 8x8's answer was recorded; the message may have been sent"
)

T = TypeVar("T")


class RecordNotFound(HistoryError):
    """No message with the requested id is in the history."""


def default_path() -> Path:
    """``data_dir()/history.sqlite3`` in the platform's data directory (XDG respected)."""
    try:
        from sms_tui.config import data_dir
    except ImportError:  # config.py is optional at this layer; same rule as config.data_dir()
        import platformdirs

        return Path(platformdirs.user_data_dir("sms-tui")) / FILENAME
    return Path(data_dir()) / FILENAME


# --------------------------------------------------------------------------------------------
# Records


@dataclass
class NewMessage:
    """A message about to be sent: what the send workflow records before the request leaves."""

    profile: str
    subaccount_id: str
    region: str
    sender: str | None
    destination: str
    text: str
    requested_encoding: str
    encoding: str | None
    units: int
    segment_count: int
    client_message_id: str | None
    scheduled_at: datetime | str | None = None  # a str is ISO 8601
    expiry_at: datetime | str | None = None
    resent_from: int | None = None
    # The request body as sent to 8x8 (a dict or its JSON text). Never headers: see _clean_json.
    request_json: Mapping[str, Any] | str | None = None


@dataclass(frozen=True)
class MessageRecord:
    """One message as the history holds it. Times are timezone-aware UTC datetimes."""

    id: int
    created_at: datetime
    updated_at: datetime
    profile: str
    subaccount_id: str
    region: str
    sender: str | None
    destination: str
    text: str
    requested_encoding: str
    encoding: str | None
    units: int
    segment_count: int
    client_message_id: str | None
    umid: str | None
    batch_id: str | None
    http_status: int | None
    error_code: int | None
    error_message: str | None
    error_id: str | None
    state: str
    state_detail: str | None
    status_at: datetime | None  # when 8x8 observed the state (its timestamp)
    checked_at: datetime | None  # when sms-tui last looked the status up
    price: float | None
    currency: str | None
    scheduled_at: datetime | None
    expiry_at: datetime | None
    resent_from: int | None
    request_json: str | None
    response_json: str | None

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    def as_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready: times as ISO 8601 UTC, request/response as parsed JSON."""
        data = asdict(self)
        for name in _TIME_FIELDS:
            value = data[name]
            data[name] = _ts(value) if value is not None else None
        for name in ("request_json", "response_json"):
            if data[name] is not None:
                with contextlib.suppress(ValueError):  # else kept as the stored text
                    data[name] = json.loads(data[name])
        return data


_COLUMNS = tuple(f.name for f in fields(MessageRecord))
_TIME_FIELDS = ("created_at", "updated_at", "status_at", "checked_at", "scheduled_at", "expiry_at")
_TIME_INDEXES = tuple(_COLUMNS.index(name) for name in _TIME_FIELDS)
_SELECT = "SELECT " + ", ".join(_COLUMNS) + " FROM messages"
_INSERT_COLUMNS = _COLUMNS[1:] + ("owner",)
# Columns whose values SQLite stores the same whichever of int, float or bool equal values come
# as (numeric affinity), so a value shared by a whole batch may be bound once for all of them.
_NUMERIC_COLUMNS = frozenset(
    {"units", "segment_count", "http_status", "error_code", "price", "resent_from"}
)


def _record(row: Sequence[Any]) -> MessageRecord:
    values = list(row)
    for index in _TIME_INDEXES:
        if values[index] is not None:
            values[index] = datetime.fromisoformat(values[index])
    return MessageRecord(*values)


@dataclass(frozen=True)
class HistoryFilter:
    """Which records a page, count, delete or export covers. Empty: all of them.

    ``since`` is inclusive and ``until`` exclusive; naive datetimes and dates are local time.
    ``search`` is full-text: every word must occur (as a word start) in the text, destination,
    sender, umid or clientMessageId; a number matches from its start, e.g. ``+65 9123``.
    """

    search: str | None = None
    states: tuple[str, ...] = ()
    since: datetime | date | None = None
    until: datetime | date | None = None
    profile: str | None = None

    def __post_init__(self) -> None:
        states = (self.states,) if isinstance(self.states, str) else tuple(self.states)
        unknown = [state for state in states if state not in STATES]
        if unknown:
            raise InvalidInput(
                f"{unknown[0]!r} is not a message state; use one of: {', '.join(STATES)}."
            )
        object.__setattr__(self, "states", tuple(dict.fromkeys(states)))


# --------------------------------------------------------------------------------------------
# Schema: one entry per version, applied in order inside one transaction each. A released
# migration is never edited: a change is a new entry, so every older file can be brought forward.

_V1 = (
    """CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: a deleted id is never reused
        created_at TEXT NOT NULL,              -- UTC, fixed width: 2024-05-01T10:20:30.000000Z
        updated_at TEXT NOT NULL,
        profile TEXT NOT NULL,
        subaccount_id TEXT NOT NULL,
        region TEXT NOT NULL,
        sender TEXT,
        destination TEXT NOT NULL,
        text TEXT NOT NULL,
        requested_encoding TEXT NOT NULL,
        encoding TEXT,
        units INTEGER NOT NULL,
        segment_count INTEGER NOT NULL,
        client_message_id TEXT,
        umid TEXT,
        batch_id TEXT,
        http_status INTEGER,
        error_code INTEGER,
        error_message TEXT,
        error_id TEXT,
        state TEXT NOT NULL,
        state_detail TEXT,
        status_at TEXT,
        checked_at TEXT,
        price REAL,
        currency TEXT,
        scheduled_at TEXT,
        expiry_at TEXT,
        resent_from INTEGER,
        owner TEXT,                            -- the History instance that wrote a pending row
        request_json TEXT,
        response_json TEXT
    )""",
    # (state) is (state, id) in the b-tree: counts by state read the index alone, and a page of
    # one state walks it newest first without sorting. Same for (profile).
    "CREATE INDEX messages_state ON messages(state)",
    "CREATE INDEX messages_profile ON messages(profile)",
    "CREATE INDEX messages_created ON messages(created_at)",
    # Small partial indexes: only the few rows that still need attention are in them.
    "CREATE INDEX messages_pending ON messages(owner) WHERE state = 'pending'",
    "CREATE INDEX messages_refresh ON messages(checked_at) "
    "WHERE umid IS NOT NULL AND state IN ('pending', 'queued', 'unknown', 'sent')",
)

_FTS_COLUMNS_V2 = "text, destination, sender, umid, client_message_id"
_V2 = (
    # External content: the index stores no second copy of the texts; triggers keep it in step.
    f"""CREATE VIRTUAL TABLE messages_fts USING fts5(
        {_FTS_COLUMNS_V2}, content='messages', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2',
        columnsize=0  -- no per-row size table: results are ordered by id, never ranked
    )""",
    f"""CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts(rowid, {_FTS_COLUMNS_V2})
        VALUES (new.id, new.text, new.destination, new.sender, new.umid, new.client_message_id);
    END""",
    f"""CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, {_FTS_COLUMNS_V2})
        VALUES ('delete', old.id, old.text, old.destination, old.sender, old.umid,
                old.client_message_id);
    END""",
    # Only on the searchable columns: status updates must not rewrite the index.
    f"""CREATE TRIGGER messages_fts_update AFTER UPDATE OF {_FTS_COLUMNS_V2} ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, {_FTS_COLUMNS_V2})
        VALUES ('delete', old.id, old.text, old.destination, old.sender, old.umid,
                old.client_message_id);
        INSERT INTO messages_fts(rowid, {_FTS_COLUMNS_V2})
        VALUES (new.id, new.text, new.destination, new.sender, new.umid, new.client_message_id);
    END""",
    "INSERT INTO messages_fts(messages_fts, rank) VALUES ('automerge', 16)",
    # Rows written by a version-1 release become searchable.
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
)

_V3 = (
    # How many messages are in each state, kept by triggers: counting a state that holds most of
    # a million rows would otherwise read the whole of its index.
    "CREATE TABLE state_counts (state TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID",
    "INSERT INTO state_counts (state, n) SELECT state, count(*) FROM messages GROUP BY state",
    """CREATE TRIGGER state_counts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO state_counts (state, n) VALUES (new.state, 1)
        ON CONFLICT (state) DO UPDATE SET n = n + 1;
    END""",
    """CREATE TRIGGER state_counts_delete AFTER DELETE ON messages BEGIN
        UPDATE state_counts SET n = n - 1 WHERE state = old.state;
    END""",
    """CREATE TRIGGER state_counts_update AFTER UPDATE OF state ON messages
    WHEN old.state IS NOT new.state BEGIN
        UPDATE state_counts SET n = n - 1 WHERE state = old.state;
        INSERT INTO state_counts (state, n) VALUES (new.state, 1)
        ON CONFLICT (state) DO UPDATE SET n = n + 1;
    END""",
)

_V4 = (
    # The same index with its condition spelled with OR. SQLite evaluates a partial index's
    # condition for every row written, and there `state IN (...)` builds a throw-away lookup
    # table each time: about 10,000 CPU instructions per inserted row, a fifth of the insert.
    "DROP INDEX messages_refresh",
    "CREATE INDEX messages_refresh ON messages(checked_at) WHERE umid IS NOT NULL AND "
    "(state = 'pending' OR state = 'queued' OR state = 'unknown' OR state = 'sent')",
)

_V5 = (
    # FTS5 writes the terms it collects out as a new index segment whenever they pass
    # 'hashsize' bytes (1 MB by default), and merging small segments later is much of what a
    # bulk import costs. A bulk import fills the index once per chunk (see _insert_columns):
    # 16 MB holds the terms of a 20,000-record chunk, so the chunk becomes one segment. Only
    # a transaction that adds that much ever holds that much memory.
    f"INSERT INTO messages_fts(messages_fts, rank) VALUES ('hashsize', {16 * 1024 * 1024})",
)

# What the full-text index holds from version 6 on: the umid as umid_key, without its dashes.
_FTS_COLUMNS = "text, destination, sender, umid_key, client_message_id"
_NEW_FTS_VALUES = "new.text, new.destination, new.sender, new.umid_key, new.client_message_id"
_OLD_FTS_VALUES = "old.text, old.destination, old.sender, old.umid_key, old.client_message_id"
_V6 = (
    # A smaller full-text index, about a quarter less work for every message written:
    # - umid_key: a umid (a UUID) is one token without its dashes, where it was five,
    #   each of them seen nowhere else. _fts_query looks a dashed umid up the same way.
    # - detail=column: the index records which column a token is in, not where in it. A
    #   search is whole tokens and token starts (see _fts_query), never a phrase.
    "ALTER TABLE messages ADD COLUMN umid_key TEXT "
    "GENERATED ALWAYS AS (replace(umid, '-', '')) VIRTUAL",
    "DROP TRIGGER messages_fts_insert",
    "DROP TRIGGER messages_fts_delete",
    "DROP TRIGGER messages_fts_update",
    "DROP TABLE messages_fts",
    f"""CREATE VIRTUAL TABLE messages_fts USING fts5(
        {_FTS_COLUMNS}, content='messages', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2', detail=column,
        columnsize=0  -- no per-row size table: results are ordered by id, never ranked
    )""",
    f"""CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts(rowid, {_FTS_COLUMNS}) VALUES (new.id, {_NEW_FTS_VALUES});
    END""",
    f"""CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, {_FTS_COLUMNS})
        VALUES ('delete', old.id, {_OLD_FTS_VALUES});
    END""",
    # Only on the searchable columns: status updates must not rewrite the index.
    # umid_key changes with umid: the trigger names the stored column.
    """CREATE TRIGGER messages_fts_update
    AFTER UPDATE OF text, destination, sender, umid, client_message_id ON messages BEGIN"""
    f"""
        INSERT INTO messages_fts(messages_fts, rowid, {_FTS_COLUMNS})
        VALUES ('delete', old.id, {_OLD_FTS_VALUES});
        INSERT INTO messages_fts(rowid, {_FTS_COLUMNS}) VALUES (new.id, {_NEW_FTS_VALUES});
    END""",
    "INSERT INTO messages_fts(messages_fts, rank) VALUES ('automerge', 16)",
    f"INSERT INTO messages_fts(messages_fts, rank) VALUES ('hashsize', {16 * 1024 * 1024})",
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
)

_V7 = (
    # detail=none: the index records which messages hold a token, not in which column: a
    # fifth less work for the index with every message written. No search needs the column:
    # a term matches in any of them (_term_query), and find_by_umid checks the umid it found.
    # The triggers of version 6 fill the new table as they did the old one.
    "DROP TABLE messages_fts",
    f"""CREATE VIRTUAL TABLE messages_fts USING fts5(
        {_FTS_COLUMNS}, content='messages', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2', detail=none,
        columnsize=0  -- no per-row size table: results are ordered by id, never ranked
    )""",
    "INSERT INTO messages_fts(messages_fts, rank) VALUES ('automerge', 16)",
    f"INSERT INTO messages_fts(messages_fts, rank) VALUES ('hashsize', {16 * 1024 * 1024})",
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
)

# The page size of a new history file (see History._prepare).
PAGE_SIZE = 8192

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2, _V3, _V4, _V5, _V6, _V7)
SCHEMA_VERSION = len(MIGRATIONS)

_NON_FINAL_SQL = "(" + " OR ".join(f"state = '{state}'" for state in NON_FINAL_STATES) + ")"
# The refresh query must repeat the partial index's condition word for word to use it.
assert _V4[-1].endswith(f"WHERE umid IS NOT NULL AND {_NON_FINAL_SQL}")


# --------------------------------------------------------------------------------------------
# Helpers


def _now() -> str:
    return _ts(datetime.now(UTC))


def _ts(value: datetime | date) -> str:
    """UTC, fixed width, so that text order is time order."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)  # a date: local midnight
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_CANONICAL_TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\Z")


def _ts_or_none(value: datetime | date | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        if _CANONICAL_TS.match(value):
            return value
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as error:
            raise InvalidInput(f"{value!r} is not an ISO 8601 date and time.") from error
        return _ts(parsed)
    return _ts(value)


# Keys that would carry credentials. A request body never has them; if a caller ever passes a
# whole exchange, they are dropped here so that nothing secret reaches the file.
_SECRET_KEYS = frozenset({"headers", "authorization", "apikey", "api_key", "api-key", "x-api-key"})


def _scrub(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _scrub(v) for k, v in value.items() if str(k).lower() not in _SECRET_KEYS}
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    return value


def _clean_json(value: Mapping[str, Any] | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError("request_json/response_json must be JSON") from None
    return json.dumps(_scrub(value), ensure_ascii=False, separators=(",", ":"), default=str)


def _check_state(state: str) -> str:
    if state not in STATES:
        raise ValueError(f"{state!r} is not a history state (one of {', '.join(STATES)})")
    return state


_NUMBER_QUERY = re.compile(r"[\d\s+\-().]+\Z")
_PHONE_QUERY = re.compile(r"\s*(\+|\(|\d+\s)")  # "+65 ...", "(65) ...", "65 9123 ...": a number


def _fts_query(search: str | None) -> str | None:
    """Turns what a person typed into an FTS5 query that cannot be a syntax error.

    Every whitespace-separated term must match (see _term_query), so ``deliv`` finds
    "delivery" and ``dec02e44-c76f`` finds that umid. A query that could be a phone number
    (``+65 9123 4567``) also matches as one digit string, as numbers are stored.
    """
    if not search or not search.strip():
        return None
    search = unicodedata.normalize("NFC", search)
    words = " AND ".join(filter(None, map(_term_query, search.split())))
    if _NUMBER_QUERY.match(search) and sum(ch.isdigit() for ch in search) >= 3:
        number = '"' + "".join(ch for ch in search if ch.isdigit()) + '" *'
        if _PHONE_QUERY.match(search) or words in ("", number):
            # Only the number: short digit groups as words would each match thousands of
            # different numbers.
            return number
        return f"({number}) OR ({words})"
    return words or None


# A run of letters and digits: always exactly one token to the unicode61 tokenizer, so a
# query built of them never holds a phrase (which the index, detail=none, cannot answer).
_TOKEN = re.compile(r"[^\W_]+")


def _term_query(term: str) -> str | None:
    """One typed term: its tokens anywhere in the message, the last one possibly the start of a
    longer token. A term that could begin a umid (``dec02e44-c76f``) also matches as one token
    without its dashes, as umids are stored (umid_key)."""
    tokens = _TOKEN.findall(term)
    if not tokens:
        return None
    query = " AND ".join([f'"{token}"' for token in tokens[:-1]] + [f'"{tokens[-1]}" *'])
    key = term.replace("-", "")
    if "-" in term and len(key) >= 8 and _TOKEN.fullmatch(key):
        return f'(({query}) OR "{key}" *)'
    return f"({query})" if len(tokens) > 1 else query


def _is_busy(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    text = str(error).lower()
    return "locked" in text or "busy" in text


def _retry_busy(attempt: Callable[[], T]) -> T:
    """Runs ``attempt`` again (whole) while SQLite answers SQLITE_BUSY, up to a deadline.

    The busy timeout covers almost every wait; this loop covers the cases it does not (a lock
    held longer than the timeout, WAL recovery by another process, a journal-mode change).
    """
    deadline = time.monotonic() + BUSY_DEADLINE_SECONDS
    delay = 0.005
    while True:
        try:
            return attempt()
        except sqlite3.OperationalError as error:
            if not _is_busy(error) or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.25)


# --------------------------------------------------------------------------------------------
# Which History instance is alive


class _OwnerLocks:
    """Tells a pending row whose writer is still running from one left behind by a crash.

    Each History that writes pending rows holds an exclusive ``flock`` on its own file in
    ``<db>-owners/``. The kernel releases the lock when the process dies, however it dies, so a
    lock that can be taken means its writer is gone. Without fcntl (Windows) every other writer
    is presumed gone, which is the plain "pending at start-up becomes unknown" rule.
    """

    def __init__(self, db_path: Path) -> None:
        self.directory = db_path.with_name(db_path.name + "-owners")
        self.token: str | None = None
        self._handle: IO[bytes] | None = None

    def acquire(self) -> str:
        if self.token is not None:
            return self.token
        token = uuid.uuid4().hex
        if fcntl is not None:
            try:
                self.directory.mkdir(mode=0o700, exist_ok=True)
                fd = os.open(self.directory / token, os.O_CREAT | os.O_RDWR, 0o600)
                handle = os.fdopen(fd, "r+b")
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                raise HistoryError(
                    f"Cannot create the lock file in {self.directory}: {error.strerror}."
                ) from error
            self._handle = handle
        self.token = token
        return token

    def release(self) -> None:
        if self._handle is not None and self.token is not None:
            with contextlib.suppress(OSError):
                (self.directory / self.token).unlink()
            self._handle.close()  # closing drops the flock
        self._handle = None
        self.token = None

    def is_alive(self, token: str) -> bool:
        """True when the writer of ``token`` still runs (this instance counts as running)."""
        if token == self.token:
            return True
        if fcntl is None:
            return False
        try:
            with open(self.directory / token, "rb") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return True
                fcntl.flock(handle, fcntl.LOCK_UN)
        except FileNotFoundError:
            pass
        except OSError:
            return True  # cannot tell: leave its rows alone rather than misreport them
        return False

    def forget(self, token: str) -> None:
        with contextlib.suppress(OSError):
            (self.directory / token).unlink()

    def stale_files(self) -> list[str]:
        try:
            names = [p.name for p in self.directory.iterdir() if len(p.name) == 32]
        except OSError:
            return []
        return [name for name in names if not self.is_alive(name)]


# --------------------------------------------------------------------------------------------
# The store


class History:
    """The message history in one SQLite file. Safe to share between threads (see module doc)."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        # The data directory is sms-tui's own; a directory named by the caller may be shared.
        self._own_directory = path is None
        self._lock = threading.RLock()
        self._owners = _OwnerLocks(self.path)
        self._conn: sqlite3.Connection | None = None
        self._damaged = False  # once a read finds damage, nothing optional writes to the file
        self._conn = self._open()

    # -- opening ----------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        path = self.path
        try:
            if not path.parent.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(path.parent, 0o700)
            # Created empty with 0600 before SQLite sees it; SQLite gives the -wal and -shm files
            # the same mode as the database file.
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            os.close(fd)
        except FileExistsError:
            pass
        except OSError as error:
            raise HistoryError(
                f"Cannot create the history database {path}: {error.strerror}."
            ) from error
        if path.is_dir():
            raise HistoryError(f"The history database {path} is a directory, not a file.")
        self._make_private()
        conn = self._connect()
        try:
            _retry_busy(lambda: self._prepare(conn))
        except sqlite3.Error as error:
            conn.close()
            raise self._error(error) from error
        except BaseException:
            conn.close()
            raise
        return conn

    def _make_private(self) -> None:
        """Owner-only, also for a file restored with cp or a directory made by another tool:
        the history holds phone numbers and message texts."""
        targets = [(self.path.with_name(self.path.name + suffix), 0o600)
                   for suffix in ("", "-wal", "-shm")]
        if self._own_directory:
            targets.append((self.path.parent, 0o700))
        me = os.geteuid() if hasattr(os, "geteuid") else None  # None: no owners (Windows)
        for target, wanted in targets:
            with contextlib.suppress(OSError):  # absent, or not ours: nothing to tighten
                info = target.stat()
                if info.st_mode & 0o077 and me in (None, info.st_uid):
                    os.chmod(target, stat.S_IMODE(info.st_mode) & wanted)

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """Checks the file is ours and sound, then brings it to WAL and the current schema."""
        path = self.path
        # Read before anything writes: a file that is not ours or not a database is left
        # exactly as it was.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        objects = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise HistoryError(
                f"The history database {path} was written by a newer sms-tui (schema "
                f"version {version}; this one knows up to {SCHEMA_VERSION}). It was left "
                "unchanged: upgrade sms-tui to use it."
            )
        if version == 0 and objects:
            raise HistoryError(
                f"{path} is an SQLite database but not an sms-tui history; it was left "
                "unchanged. Move it aside so that sms-tui can create its history there."
            )
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if objects and (mode != "wal" or version < SCHEMA_VERSION):
            # About to change an existing file (its journal mode or its schema): first make
            # sure it is sound, so that a damaged file is reported, never written to.
            problems = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
            if problems != ["ok"]:
                raise self._damaged_error("; ".join(problems))
        if not objects:
            # A new file: pages of 8 KiB rather than 4. Half as many pages, and so half the
            # system calls, for what a write puts in the WAL and the checkpoint copies on to
            # the database: a bulk import runs about 8% faster. Only possible before the
            # first table (and before WAL mode); an older file keeps its pages as they are.
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        if mode != "wal":
            conn.execute("PRAGMA journal_mode = WAL").fetchone()
        if version < SCHEMA_VERSION:
            self._run_write(conn, self._migrate)

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_SECONDS,
                isolation_level=None,  # autocommit; transactions are explicit BEGIN IMMEDIATE
                check_same_thread=False,  # shared across threads under self._lock
            )
        except sqlite3.Error as error:
            raise self._error(error) from error
        try:
            # FULL: a committed pending row survives a power cut, not just a process crash;
            # the write-ahead record exists precisely for the worst case.
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA temp_store = MEMORY")
            conn.execute("PRAGMA cache_size = -16000")
        except sqlite3.Error as error:
            conn.close()
            raise self._error(error) from error
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        # Re-read inside the write transaction: another process may have migrated meanwhile.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for number in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[number - 1]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")

    def _error(self, error: sqlite3.Error) -> HistoryError:
        name = getattr(error, "sqlite_errorname", "") or ""
        text = str(error)
        if name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or isinstance(
            error, sqlite3.DatabaseError
        ) and not isinstance(error, sqlite3.OperationalError | sqlite3.IntegrityError):
            return self._damaged_error(text)
        if name.startswith("SQLITE_BUSY") or name.startswith("SQLITE_LOCKED"):
            return HistoryError(
                f"The history database {self.path} stayed busy for more than "
                f"{BUSY_DEADLINE_SECONDS:.0f} seconds: another program is holding it."
            )
        if name.startswith("SQLITE_READONLY"):
            return HistoryError(f"The history database {self.path} cannot be written ({text}).")
        return HistoryError(f"Cannot use the history database {self.path} ({text}).")

    def _damaged_error(self, detail: str) -> HistoryError:
        self._damaged = True
        return HistoryError(
            f"The history database {self.path} is damaged or is not a database ({detail}). "
            "sms-tui left it unchanged: move it aside to start a new history, or restore it "
            "from a backup."
        )

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise HistoryError(f"The history database {self.path} has been closed.")
        return self._conn

    @staticmethod
    def _run_write(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
        """Runs ``work`` in one BEGIN IMMEDIATE transaction, retrying it whole on SQLITE_BUSY.

        IMMEDIATE takes the write lock up front (waiting through the busy handler), so a
        transaction never fails half-way for a lock another writer holds.
        """

        def attempt() -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return result

        return _retry_busy(attempt)

    @staticmethod
    def _run_read(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
        """Runs ``work`` in one read transaction (a consistent snapshot), retrying on busy."""

        def attempt() -> T:
            conn.execute("BEGIN")
            try:
                return work(conn)
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

        return _retry_busy(attempt)

    def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            try:
                return self._run_write(self._connection, work)
            except sqlite3.Error as error:
                raise self._error(error) from error

    def _read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            try:
                return self._run_read(self._connection, work)
            except sqlite3.Error as error:
                raise self._error(error) from error

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                if not self._damaged:
                    with contextlib.suppress(sqlite3.Error):
                        # Fresh planner statistics, sampled so that closing stays quick.
                        conn.execute("PRAGMA analysis_limit = 1000")
                        conn.execute("PRAGMA optimize")
                conn.close()
            self._owners.release()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"History({str(self.path)!r})"

    # -- writing ----------------------------------------------------------------------------

    def add_pending(self, messages: Sequence[NewMessage]) -> list[int]:
        """Records messages as ``pending`` in one committed transaction; returns their ids.

        Call it before the request leaves: once it returns, the rows are on disk.
        """
        messages = list(messages)
        if not messages:
            return []
        with self._lock:
            owner = self._owners.acquire()
        now = _now()
        rows = [
            (
                now, now, m.profile, m.subaccount_id, m.region, m.sender or None, m.destination,
                m.text, m.requested_encoding, m.encoding, m.units, m.segment_count,
                m.client_message_id, None, None, None, None, None, None, "pending", None, None,
                None, None, None, _ts_or_none(m.scheduled_at), _ts_or_none(m.expiry_at),
                m.resent_from, _clean_json(m.request_json), None, owner,
            )
            for m in messages
        ]

        columns = list(zip(*rows, strict=True))
        return list(self._write(lambda conn: _insert_columns(conn, columns)))

    def import_records(
        self, records: Iterable[Mapping[str, Any]], *, chunk_size: int = 20_000
    ) -> int:
        """Bulk-adds records given as mappings of MessageRecord fields (e.g. a JSONL export).

        New ids are assigned in the order given (``id`` is ignored; ``resent_from`` is kept as
        given), so give them oldest first (an export is newest first). Each chunk is one
        transaction; a record imported as ``pending`` becomes ``unknown`` since nothing here is
        sending it. This is also the bulk path. Returns how many were added; a record lacking a
        required field raises InvalidInput naming it, after the chunks before its own are added.
        """
        records = iter(records)
        chunk_size = max(1, int(chunk_size))
        total = 0
        now = _now()
        while chunk := list(itertools.islice(records, chunk_size)):
            columns = _import_chunk(chunk, now, first_number=total + 1)
            try:
                added = self._write(lambda conn, columns=columns: _insert_imported(conn, columns))
            except _UnstorableValue as unstorable:
                # The reference conversion rejects such a value and names its record.
                _import_rows(chunk, now, first_number=total + 1)
                raise self._error(unstorable.error) from None
            total += len(added)
        return total

    def record_outcome(
        self,
        record_id: int,
        *,
        state: str,
        umid: str | None = None,
        batch_id: str | None = None,
        http_status: int | None = None,
        error_code: int | None = None,
        error_message: str | None = None,
        error_id: str | None = None,
        state_detail: str | None = None,
        encoding: str | None = None,
        response_json: Mapping[str, Any] | str | None = None,
    ) -> None:
        """Records what became of the send: ``queued``, ``rejected``, ``failed`` or ``unknown``.

        It overwrites ``unknown`` too: if another sms-tui presumed this send lost, the real
        answer arriving later wins.
        """
        self.record_outcomes(
            [
                (
                    record_id,
                    {
                        "state": state, "umid": umid, "batch_id": batch_id,
                        "http_status": http_status, "error_code": error_code,
                        "error_message": error_message, "error_id": error_id,
                        "state_detail": state_detail, "encoding": encoding,
                        "response_json": response_json,
                    },
                )
            ]
        )

    _OUTCOME_FIELDS = (
        "umid", "batch_id", "http_status", "error_code", "error_message", "error_id",
        "state_detail", "encoding", "response_json",
    )

    def record_outcomes(self, outcomes: Sequence[tuple[int, Mapping[str, Any]]]) -> None:
        """`record_outcome` for many records in one transaction (a batch's answers).

        Each item is (record id, fields of `record_outcome`); fields left out are None.
        """
        now = _now()
        rows = []
        for record_id, outcome in outcomes:
            unknown = set(outcome) - {"state", *self._OUTCOME_FIELDS}
            if unknown:
                raise TypeError(f"unknown outcome fields: {', '.join(sorted(unknown))}")
            _check_state(outcome["state"])
            get = outcome.get
            rows.append((
                now, outcome["state"], get("umid"), get("batch_id"), get("http_status"),
                get("error_code"), get("error_message"), get("error_id"), get("state_detail"),
                get("encoding"), _clean_json(get("response_json")), record_id,
            ))

        def work(conn: sqlite3.Connection) -> None:
            for values in rows:
                cursor = conn.execute(
                    "UPDATE messages SET updated_at = ?, state = ?, owner = NULL, "
                    "umid = coalesce(?, umid), batch_id = coalesce(?, batch_id), "
                    "http_status = ?, error_code = ?, error_message = ?, error_id = ?, "
                    "state_detail = ?, encoding = coalesce(?, encoding), "
                    "response_json = coalesce(?, response_json) WHERE id = ?",
                    values,
                )
                if cursor.rowcount == 0:
                    raise RecordNotFound(f"There is no message #{values[-1]} in the history.")

        self._write(work)

    def record_status(
        self,
        record_id: int,
        *,
        state: str,
        detail: str | None = None,
        price: float | None = None,
        currency: str | None = None,
        error_code: int | None = None,
        error_message: str | None = None,
        status_at: datetime | str | None = None,
        checked_at: datetime | str | None = None,
    ) -> None:
        """Records a status lookup: the new state, 8x8's time for it and when we asked."""
        _check_state(state)
        checked = _ts_or_none(checked_at) or _now()
        values = (
            _now(), state, detail, price, currency, error_code, error_message,
            _ts_or_none(status_at), checked, record_id,
        )

        def work(conn: sqlite3.Connection) -> None:
            cursor = conn.execute(
                "UPDATE messages SET updated_at = ?, state = ?, state_detail = ?, "
                "price = coalesce(?, price), currency = coalesce(?, currency), "
                "error_code = coalesce(?, error_code), error_message = coalesce(?, error_message), "
                "status_at = ?, checked_at = ?, owner = NULL WHERE id = ?",
                values,
            )
            if cursor.rowcount == 0:
                raise RecordNotFound(f"There is no message #{record_id} in the history.")

        self._write(work)

    def recover_pending(self) -> int:
        """Turns ``pending`` rows whose writer is gone (crashed) into ``unknown``.

        Rows another running sms-tui is still sending are left alone. Returns how many changed.
        """
        with self._lock:
            owners = self._read(
                lambda conn: [
                    row[0]
                    for row in conn.execute(
                        "SELECT DISTINCT owner FROM messages WHERE state = 'pending'"
                    )
                ]
            )
            gone = [owner for owner in owners if owner is None or not self._owners.is_alive(owner)]
            now = _now()

            def work(conn: sqlite3.Connection) -> int:
                changed = 0
                for owner in gone:
                    changed += conn.execute(
                        "UPDATE messages SET state = 'unknown', state_detail = ?, "
                        "updated_at = ?, owner = NULL WHERE state = 'pending' AND owner IS ?",
                        (RECOVERED_DETAIL, now, owner),
                    ).rowcount
                return changed

            changed = self._write(work) if gone else 0
            for owner in [*gone, *self._owners.stale_files()]:
                if owner is not None:
                    self._owners.forget(owner)
            return changed

    def delete(self, record_ids: Iterable[int]) -> int:
        """Deletes records by id (locally only); returns how many existed."""
        ids = [(int(record_id),) for record_id in record_ids]
        if not ids:
            return 0

        def work(conn: sqlite3.Connection) -> int:
            return conn.executemany("DELETE FROM messages WHERE id = ?", ids).rowcount

        return self._write(work)

    def delete_matching(self, flt: HistoryFilter) -> int:
        """Deletes every record the filter matches (all of them for an empty filter)."""
        where, params = _where(flt)

        def work(conn: sqlite3.Connection) -> int:
            match = _fts_query(flt.search)
            if match is None:
                sql = "DELETE FROM messages" + (f" WHERE {where}" if where else "")
                return conn.execute(sql, params).rowcount
            sql = (
                "DELETE FROM messages WHERE id IN (SELECT rowid FROM messages_fts "
                "WHERE messages_fts MATCH ?)" + (f" AND {where}" if where else "")
            )
            return conn.execute(sql, [match, *params]).rowcount

        return self._write(work)

    # -- reading ----------------------------------------------------------------------------

    def get(self, record_id: int) -> MessageRecord:
        rows = self._read(
            lambda conn: conn.execute(_SELECT + " WHERE id = ?", (record_id,)).fetchall()
        )
        if not rows:
            raise RecordNotFound(f"There is no message #{record_id} in the history.")
        return _record(rows[0])

    def page(
        self, flt: HistoryFilter | None = None, *, before: int | None = None, limit: int = 100
    ) -> list[MessageRecord]:
        """Up to ``limit`` records, newest first, with ids below ``before`` (keyset paging).

        The next page is ``page(flt, before=records[-1].id)``.
        """
        flt = flt or HistoryFilter()
        limit = max(0, min(int(limit), MAX_PAGE))
        if limit == 0:
            return []

        def work(conn: sqlite3.Connection) -> list[MessageRecord]:
            ids = _page_ids(conn, flt, before, limit)
            if not ids:
                return []
            marks = ", ".join("?" * len(ids))
            rows = conn.execute(_SELECT + f" WHERE id IN ({marks})", ids).fetchall()
            rows.sort(key=lambda row: row[0], reverse=True)
            return [_record(row) for row in rows]

        return self._read(work)

    def count(self, flt: HistoryFilter | None = None) -> int:
        flt = flt or HistoryFilter()
        match = _fts_query(flt.search)
        where, params = _where(flt, "m")

        only_states = not (flt.since or flt.until or flt.profile)

        def work(conn: sqlite3.Connection) -> int:
            if match is None and only_states:
                sql = "SELECT coalesce(sum(n), 0) FROM state_counts"
                if flt.states:
                    sql += f" WHERE state IN ({', '.join('?' * len(flt.states))})"
                return conn.execute(sql, flt.states).fetchone()[0]
            if match is None:
                sql = "SELECT count(*) FROM messages m" + (f" WHERE {where}" if where else "")
                return conn.execute(sql, params).fetchone()[0]
            if not where:
                return conn.execute(
                    "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?", (match,)
                ).fetchone()[0]
            return conn.execute(
                "SELECT count(*) FROM messages_fts f CROSS JOIN messages m ON m.id = f.rowid "
                f"WHERE messages_fts MATCH ? AND {where}",
                [match, *params],
            ).fetchone()[0]

        return self._read(work)

    def counts_by_state(self, flt: HistoryFilter | None = None) -> dict[str, int]:
        """How many records are in each state (states with none are left out)."""
        flt = flt or HistoryFilter()
        if flt.search or flt.since or flt.until or flt.profile or flt.states:
            return {
                state: n
                for state in (flt.states or STATES)
                if (n := self.count(HistoryFilter(
                    search=flt.search, states=(state,), since=flt.since, until=flt.until,
                    profile=flt.profile,
                )))
            }
        rows = self._read(
            lambda conn: conn.execute("SELECT state, n FROM state_counts WHERE n > 0").fetchall()
        )
        return {state: n for state, n in rows}

    def refreshable(
        self, limit: int = 100, *, subaccount_id: str | None = None, profile: str | None = None
    ) -> list[MessageRecord]:
        """Records whose status may still change and that 8x8 knows (have a umid).

        Never-checked first, then the longest unchecked, so a paced refresh that is interrupted
        resumes where it stopped. ``subaccount_id``/``profile`` restrict it to the records one
        client can look up.
        """
        extra, params = "", []
        if subaccount_id is not None:
            extra += " AND subaccount_id = ?"
            params.append(subaccount_id)
        if profile is not None:
            extra += " AND profile = ?"
            params.append(profile)
        sql = (
            "SELECT " + ", ".join(_COLUMNS) + " FROM messages INDEXED BY messages_refresh "
            f"WHERE umid IS NOT NULL AND {_NON_FINAL_SQL}{extra} "
            "ORDER BY checked_at, id LIMIT ?"
        )
        rows = self._read(lambda conn: conn.execute(sql, [*params, int(limit)]).fetchall())
        return [_record(row) for row in rows]

    def find_by_umid(self, umid: str) -> MessageRecord | None:
        """The newest record with this umid (8x8's message id), if any."""
        tokens = _TOKEN.findall(umid.replace("-", ""))
        if not tokens:
            return None
        # Through the full-text index (a b-tree index on umid would slow every insert down),
        # which holds the umid without its dashes (umid_key). It does not say in which column
        # a token is: the exact umid is checked after.
        match = " AND ".join(f'"{token}"' for token in tokens)
        cols = ", ".join(f"m.{c}" for c in _COLUMNS)
        rows = self._read(
            lambda conn: conn.execute(
                f"SELECT {cols} FROM messages_fts f CROSS JOIN messages m ON m.id = f.rowid "
                "WHERE messages_fts MATCH ? AND m.umid = ? ORDER BY f.rowid DESC LIMIT 1",
                (match, umid),
            ).fetchall()
        )
        return _record(rows[0]) if rows else None

    def export(
        self,
        flt: HistoryFilter | None,
        fmt: str,
        stream: IO[str],
        *,
        limit: int | None = None,
    ) -> int:
        """Writes the matching records, newest first, as ``csv`` or ``jsonl``; returns the count.

        Reads through a connection of its own in one snapshot, so a long export neither blocks
        other threads nor sees half of a concurrent change.
        """
        if fmt not in ("csv", "jsonl"):
            raise InvalidInput(f"{fmt!r} is not an export format; use csv or jsonl.")
        flt = flt or HistoryFilter()
        conn = self._connect()
        try:
            return self._run_read(
                conn, lambda c: _write_export(c, flt, fmt, stream, limit)
            )
        except sqlite3.Error as error:
            raise self._error(error) from error
        finally:
            conn.close()

    def iter_records(self, flt: HistoryFilter | None = None, *, chunk: int = 500
                     ) -> Iterator[MessageRecord]:
        """Every matching record, newest first, a page at a time (never all in memory)."""
        before = None
        while True:
            records = self.page(flt, before=before, limit=chunk)
            yield from records
            if len(records) < chunk:
                return
            before = records[-1].id


# --------------------------------------------------------------------------------------------
# Importing records: mappings of MessageRecord fields to columns as stored


def _import_row(record: Mapping[str, Any], now: str) -> tuple[Any, ...]:
    """One record to import as a row in _INSERT_COLUMNS order: the reference conversion."""
    get = record.get
    state = _imported_state(get("state"))
    created = _ts_or_none(get("created_at")) or now
    request, response = get("request_json"), get("response_json")
    row = (
        created, _ts_or_none(get("updated_at")) or created, record["profile"],
        record["subaccount_id"], get("region") or "", get("sender") or None,
        record["destination"], record["text"], get("requested_encoding") or "AUTO",
        get("encoding"), int(get("units") or 0), int(get("segment_count") or 0),
        get("client_message_id"), get("umid"), get("batch_id"), get("http_status"),
        get("error_code"), get("error_message"), get("error_id"), state,
        get("state_detail"), _ts_or_none(get("status_at")), _ts_or_none(get("checked_at")),
        get("price"), get("currency"), _ts_or_none(get("scheduled_at")),
        _ts_or_none(get("expiry_at")), get("resent_from"),
        None if request is None else _clean_json(request),
        None if response is None else _clean_json(response),
        None,
    )
    for name, value in zip(_INSERT_COLUMNS, row, strict=True):
        if not isinstance(value, _STORABLE_TYPES):
            raise TypeError(f"{name} is a {type(value).__name__}, not text or a number")
    return row


# What sqlite3 binds; anything else (a JSON list, say) makes the record unusable.
_STORABLE_TYPES = (str, int, float, bytes, type(None))


class _UnstorableValue(Exception):
    """sqlite3 refused to bind a value of an imported record (see _insert_imported)."""

    def __init__(self, error: sqlite3.ProgrammingError) -> None:
        super().__init__(str(error))
        self.error = error


def _insert_imported(conn: sqlite3.Connection, columns: Sequence[Sequence[Any]]) -> range:
    """_insert_columns for an import, whose values come from a file: one that is not text, a
    number or None (a JSON list, say) fails to bind. That is a fault of the record, not of the
    database, and this lets the caller say so; checking every value first would cost more than
    the rest of the import's Python work."""
    try:
        return _insert_columns(conn, columns)
    except sqlite3.ProgrammingError as error:
        raise _UnstorableValue(error) from None


def _imported_state(state: str | None) -> str:
    # Nothing here is sending an imported record, so it cannot be pending.
    state = _check_state(state or "unknown")
    return "unknown" if state == "pending" else state


def _import_chunk(
    records: list[Mapping[str, Any]], now: str, first_number: int
) -> list[Sequence[Any]]:
    """The columns to insert for ``records``; InvalidInput names the first record at fault."""
    try:
        return _import_columns(records, now)
    except Exception:  # anything unexpected: the reference conversion decides, and explains
        return _import_rows(records, now, first_number)


def _import_rows(
    records: list[Mapping[str, Any]], now: str, first_number: int
) -> list[Sequence[Any]]:
    """_import_row of each record, as columns; InvalidInput names the first record at fault."""
    rows = []
    for number, record in enumerate(records, start=first_number):
        try:
            rows.append(_import_row(record, now))
        except KeyError as error:
            raise InvalidInput(
                f"Record {number} to import has no {error.args[0]!r}; the import stopped there."
            ) from None
        except (TypeError, ValueError) as error:
            raise InvalidInput(
                f"Record {number} to import is not usable ({error}); the import stopped there."
            ) from None
    return list(zip(*rows, strict=True))


# The fields an import reads, in _INSERT_COLUMNS order (``owner`` is never imported).
_IMPORT_FIELDS = _INSERT_COLUMNS[:-1]
_REQUIRED_FIELDS = ("profile", "subaccount_id", "destination", "text")
_ABSENT_AS_NONE = {name: None for name in _IMPORT_FIELDS if name not in _REQUIRED_FIELDS}
_pick_import_fields = operator.itemgetter(*_IMPORT_FIELDS)
_IMPORTED_STATES = frozenset(STATES) - {"pending"}


def _import_columns(records: list[Mapping[str, Any]], now: str) -> list[Sequence[Any]]:
    """What _import_row gives for each record, built a column at a time.

    A column already in stored form (as an export writes it) then costs one check in C rather
    than a conversion per value in Python: this is most of an import's Python time. Any value
    it does not expect raises; the caller then falls back to _import_row.
    """
    column = _field_columns(records)
    for name in ("status_at", "checked_at", "scheduled_at", "expiry_at"):
        column[name] = _stored_times(column[name])
    created = column["created_at"] = _or_default(_stored_times(column["created_at"]), now)
    updated = _stored_times(column["updated_at"])
    if not all(updated):
        updated = [value or default for value, default in zip(updated, created, strict=True)]
    column["updated_at"] = updated
    column["region"] = _or_default(column["region"], "")
    column["sender"] = _or_default(column["sender"], None)
    column["requested_encoding"] = _or_default(column["requested_encoding"], "AUTO")
    for name in ("units", "segment_count"):
        if set(map(type, column[name])) != {int}:
            column[name] = [int(value or 0) for value in column[name]]
    if not _IMPORTED_STATES.issuperset(column["state"]):
        column["state"] = [_imported_state(value) for value in column["state"]]
    for name in ("request_json", "response_json"):
        values = column[name]
        if not _all_none(values):
            column[name] = [None if value is None else _clean_json(value) for value in values]
    return [column[name] for name in _IMPORT_FIELDS] + [(None,) * len(records)]


def _field_columns(records: list[Mapping[str, Any]]) -> dict[str, Sequence[Any]]:
    """Each import field's values, as record.get gives them; KeyError for a required one."""
    count = len(records)
    column: dict[str, Sequence[Any]] = dict.fromkeys(_ABSENT_AS_NONE, (None,) * count)
    first = records[0]
    try:
        # The usual case, records with the same keys (an export's): one pass in C per key,
        # and no tuple per record. Same number of keys, and each of the first record's keys
        # in every record: the same keys.
        if set(map(len, records)) != {len(first)}:
            raise KeyError
        for key in first:
            values = list(map(operator.itemgetter(key), records))
            if key in column or key in _REQUIRED_FIELDS:
                column[key] = values
    except KeyError:
        rows = [_pick_import_fields({**_ABSENT_AS_NONE, **record}) for record in records]
        column.update(zip(_IMPORT_FIELDS, zip(*rows, strict=True), strict=True))
    for name in _REQUIRED_FIELDS:
        if name not in column:
            raise KeyError(name)
    return column


# A timestamp in stored form: d is a decimal digit (as \d in _CANONICAL_TS), others as they are.
_STORED_TIME_SHAPE = "dddd-dd-ddTdd:dd:dd.ddddddZ"


def _stored_times(values: Sequence[Any]) -> Sequence[Any]:
    """_ts_or_none of each value; a column all None or all in stored form is returned as is."""
    if _all_none(values):
        return values
    with contextlib.suppress(TypeError):  # not all of them text
        if _all_in_stored_form(values):
            return values
    return [_ts_or_none(value) for value in values]


def _all_in_stored_form(values: Sequence[str]) -> bool:
    """Whether every value matches _CANONICAL_TS, checked a character position at a time:
    27 operations in C for a whole column instead of a regex match per value. Digits other
    than ASCII ones, which _CANONICAL_TS allows too, are left to it (False)."""
    width = len(_STORED_TIME_SHAPE)
    if set(map(len, values)) != {width}:
        return False
    joined = "".join(values)
    if not joined.isascii():
        return False
    data = joined.encode()
    count = len(values)
    for position, shape in enumerate(_STORED_TIME_SHAPE.encode()):
        characters = data[position::width]
        if not (characters.isdigit() if shape == ord("d") else characters.count(shape) == count):
            return False
    return True


def _all_none(values: Sequence[Any]) -> bool:
    return values[0] is None and values.count(None) == len(values)


def _or_default(values: Sequence[Any], default: Any) -> Sequence[Any]:
    """``value or default`` for each value."""
    return values if all(values) else [value or default for value in values]


# --------------------------------------------------------------------------------------------
# Writing rows


def _insert_columns(conn: sqlite3.Connection, columns: Sequence[Sequence[Any]]) -> range:
    """Inserts rows given column by column (_INSERT_COLUMNS order) in the caller's transaction.

    Ids are given explicitly, continuing after the largest id ever used, so the i-th row gets
    exactly the i-th id; holding the write lock, nobody can take one in between.
    """
    count = len(columns[0])
    # Binding a parameter costs Python about as much as SQLite's whole insert of it, and most
    # columns of a batch hold one value throughout (NULL error fields, the profile, the region):
    # those are bound once per statement and only the varying ones once per row.
    varying_names: list[str] = []
    varying: list[Sequence[Any]] = []
    shared_names: list[str] = []
    shared: list[Any] = []
    for name, values in zip(_INSERT_COLUMNS, columns, strict=True):
        first = values[0]
        # Comparing with the last value first settles most varying columns in one step.
        if (
            _shared_value(name, first)
            and values[-1] == first
            and values.count(first) == count
        ):
            shared_names.append(name)
            shared.append(first)
        else:
            varying_names.append(name)
            varying.append(values)
    (last,) = conn.execute(
        "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'messages'), 0), "
        "coalesce((SELECT max(id) FROM messages), 0))"
    ).fetchone()
    ids = range(last + 1, last + 1 + count)
    varying = [ids, *varying]
    # Many rows per statement, within SQLite's limit on parameters in one statement.
    limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) - len(shared)
    per_statement = max(1, limit // len(varying))
    triggers = _row_triggers(conn) if count >= _BULK_ROWS else {}
    if triggers:
        # In bulk, the full-text index is filled by one statement and the state counts by one
        # per state, instead of a trigger program run per row, 15% of an import's time. The
        # triggers are dropped and re-created inside the caller's transaction, so no other
        # connection ever sees the schema without them, and an error or a crash rolls the
        # drop back with the rows.
        for name in triggers:
            conn.execute(f"DROP TRIGGER {name}")
        per_statement = min(per_statement, _ROWS_PER_BULK_INSERT)
    else:
        # FTS5 writes out its pending index data at the start of every statement that fires
        # its trigger: one statement per row would make an index segment per row.
        per_statement = min(per_statement, _ROWS_PER_INSERT)
    for start in range(0, count, per_statement):
        rows = min(per_statement, count - start)
        conn.execute(
            _insert_sql(tuple(varying_names), tuple(shared_names), rows),
            _parameters(shared, varying, start, rows),
        )
    if triggers:
        conn.execute(_FILL_FTS, (ids[0], ids[-1]))
        # The rows' states are at hand: counting them here spares reading the rows back.
        conn.executemany(_ADD_TO_STATE_COUNT, Counter(columns[_STATE_COLUMN]).items())
        for sql in triggers.values():
            conn.execute(sql)
    return ids


def _parameters(
    shared: list[Any], columns: list[Sequence[Any]], start: int, rows: int
) -> list[Any]:
    """The shared values, then rows start... of ``columns`` one row after another."""
    width = len(columns)
    parameters = [*shared, *itertools.repeat(None, rows * width)]
    for offset, values in enumerate(columns, start=len(shared)):
        # One C-level copy per column, rather than a tuple per row.
        parameters[offset::width] = values[start:start + rows]
    return parameters


# From this many rows on, an insert does without the per-row triggers (see _insert_columns).
_BULK_ROWS = 500
# Rows per INSERT statement: with the triggers, as many as possible; without them, few enough
# that preparing the statement again after the schema change costs little.
_ROWS_PER_INSERT = 1000
_ROWS_PER_BULK_INSERT = 200
# What the row trigger messages_fts_insert does, for a range of new ids.
_FILL_FTS = (
    f"INSERT INTO messages_fts(rowid, {_FTS_COLUMNS}) "
    f"SELECT id, {_FTS_COLUMNS} FROM messages WHERE id BETWEEN ? AND ?"
)
# What the row trigger state_counts_insert does, for a state and how many new rows have it.
_ADD_TO_STATE_COUNT = (
    "INSERT INTO state_counts (state, n) VALUES (?, ?) "
    "ON CONFLICT (state) DO UPDATE SET n = n + excluded.n"
)
_STATE_COLUMN = _INSERT_COLUMNS.index("state")


def _row_triggers(conn: sqlite3.Connection) -> dict[str, str]:
    """The SQL of the INSERT triggers that _FILL_FTS and _ADD_TO_STATE_COUNT stand in for."""
    names = ("messages_fts_insert", "state_counts_insert")
    found = dict(conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN (?, ?)", names
    ).fetchall())
    return found if len(found) == len(names) else {}


@functools.lru_cache(maxsize=64)
def _insert_sql(varying: tuple[str, ...], shared: tuple[str, ...], rows: int) -> str:
    """INSERT of ``rows`` rows: the shared values' parameters first, then each row's in turn."""
    one_row = "(?" + ", ?" * len(varying) + ")"
    selected = [f"column{n}" for n in range(1, len(varying) + 2)] + ["?"] * len(shared)
    # The SELECT list comes first in the text, so its parameters are numbered first.
    return (
        f"INSERT INTO messages (id, {', '.join((*varying, *shared))}) "
        f"SELECT {', '.join(selected)} FROM (VALUES {', '.join([one_row] * rows)})"
    )


def _shared_value(column: str, value: Any) -> bool:
    """Whether ``value``, if every row has it, may be bound once (equal means stored alike)."""
    kind = type(value)
    # 1 == 1.0 == True, and "x" equals only str: only where affinity stores them alike.
    return value is None or kind is str or (
        kind in (int, float, bool) and column in _NUMERIC_COLUMNS
    )


def _where(flt: HistoryFilter, alias: str = "") -> tuple[str, list[Any]]:
    """The non-search conditions of a filter as SQL (joined with AND) and its parameters."""
    prefix = f"{alias}." if alias else ""
    clauses: list[str] = []
    params: list[Any] = []
    if flt.states:
        clauses.append(f"{prefix}state IN ({', '.join('?' * len(flt.states))})")
        params.extend(flt.states)
    if flt.since is not None:
        clauses.append(f"{prefix}created_at >= ?")
        params.append(_ts(flt.since))
    if flt.until is not None:
        clauses.append(f"{prefix}created_at < ?")
        params.append(_ts(flt.until))
    if flt.profile is not None:
        clauses.append(f"{prefix}profile = ?")
        params.append(flt.profile)
    return " AND ".join(clauses), params


# Below this many rows in a date range, reading them through the created_at index and sorting is
# cheapest; above it, walking ids newest first and skipping the rest is, unless that walk would
# first have to pass more than _NEWER_ROWS rows newer than the range.
_DATE_INDEX_ROWS = 5_000
_NEWER_ROWS = 20_000


def _page_ids(
    conn: sqlite3.Connection, flt: HistoryFilter, before: int | None, limit: int
) -> list[int]:
    """The ids of one page. Each shape of filter gets a plan that reads few rows beyond `limit`.

    Plans are named (INDEXED BY, CROSS JOIN) rather than left to the planner, whose choice
    would depend on whether statistics happen to exist in the file.
    """
    match = _fts_query(flt.search)
    keyset = "" if before is None else " AND id < ?"
    keyset_params = [] if before is None else [before]

    if match is not None:
        # Search: the FTS index drives, newest rowid first, so a page stops after `limit` hits.
        where, params = _where(flt, "m")
        sql = (
            "SELECT f.rowid FROM messages_fts f CROSS JOIN messages m ON m.id = f.rowid "
            "WHERE messages_fts MATCH ?"
            + ("" if before is None else " AND f.rowid < ?")
            + (f" AND {where}" if where else "")
            + " ORDER BY f.rowid DESC LIMIT ?"
        )
        return [r[0] for r in conn.execute(sql, [match, *keyset_params, *params, limit])]

    rest = HistoryFilter(since=flt.since, until=flt.until, profile=flt.profile)
    where, params = _where(rest)
    condition = (f" AND {where}" if where else "") + keyset
    if flt.states:
        # One walk of the (state, id) index per state, each already newest first; the merge
        # handles a few pages. `state IN (...)` would gather every row of them and sort.
        parts = [
            "SELECT id FROM (SELECT id FROM messages INDEXED BY messages_state "
            f"WHERE state = ?{condition} ORDER BY id DESC LIMIT ?)"
            for _ in flt.states
        ]
        sql = " UNION ALL ".join(parts) + " ORDER BY 1 DESC LIMIT ?"
        all_params: list[Any] = []
        for state in flt.states:
            all_params += [state, *params, *keyset_params, limit]
        return [r[0] for r in conn.execute(sql, [*all_params, limit])]

    if flt.since is not None or flt.until is not None:
        index = _date_plan(conn, flt, keyset, keyset_params)
    elif flt.profile is not None:
        index = " INDEXED BY messages_profile"  # (profile, id): newest first, as it stands
    else:
        index = ""  # the table itself, by id
    sql = f"SELECT id FROM messages{index} WHERE 1{condition} ORDER BY id DESC LIMIT ?"
    return [r[0] for r in conn.execute(sql, [*params, *keyset_params, limit])]


def _date_plan(
    conn: sqlite3.Connection, flt: HistoryFilter, keyset: str, keyset_params: list[Any]
) -> str:
    """Index choice for a date range, from two bounded counts over the created_at index."""
    dates, params = _where(HistoryFilter(since=flt.since, until=flt.until))
    in_range = conn.execute(
        "SELECT count(*) FROM (SELECT 1 FROM messages INDEXED BY messages_created "
        f"WHERE {dates}{keyset} LIMIT {_DATE_INDEX_ROWS})",
        [*params, *keyset_params],
    ).fetchone()[0]
    if in_range < _DATE_INDEX_ROWS:
        return " INDEXED BY messages_created"  # few rows: read them all and sort by id
    if flt.until is None:
        return " NOT INDEXED"  # the range reaches the newest messages: walk ids from the top
    newer = conn.execute(
        "SELECT count(*) FROM (SELECT 1 FROM messages INDEXED BY messages_created "
        f"WHERE created_at >= ?{keyset} LIMIT {_NEWER_ROWS})",
        [_ts(flt.until), *keyset_params],
    ).fetchone()[0]
    # Many newer rows to pass: scanning the range's index entries (small, no table reads) and
    # keeping the top `limit` ids costs less than reading every newer row of the table.
    return " NOT INDEXED" if newer < _NEWER_ROWS else " INDEXED BY messages_created"


def _write_export(
    conn: sqlite3.Connection, flt: HistoryFilter, fmt: str, stream: IO[str], limit: int | None
) -> int:
    match = _fts_query(flt.search)
    where, params = _where(flt, "m")
    cols = ", ".join(f"m.{c}" for c in _COLUMNS)
    if match is None:
        sql = f"SELECT {cols} FROM messages m" + (f" WHERE {where}" if where else "")
        sql_params: list[Any] = params
    else:
        sql = (
            f"SELECT {cols} FROM messages_fts f CROSS JOIN messages m ON m.id = f.rowid "
            "WHERE messages_fts MATCH ?" + (f" AND {where}" if where else "")
        )
        sql_params = [match, *params]
    sql += " ORDER BY m.id DESC"
    if limit is not None:
        sql += " LIMIT ?"
        sql_params = [*sql_params, int(limit)]
    # The retry on SQLITE_BUSY can only strike while the snapshot is being taken, that is,
    # before the first row is written: an export is never written twice.
    cursor = conn.execute(sql, sql_params)
    written = 0
    writer = None
    if fmt == "csv":
        writer = csv.writer(stream)
        writer.writerow(_COLUMNS)
    while rows := cursor.fetchmany(1000):
        for row in rows:
            record = _record(row)
            if writer is not None:
                data = record.as_dict()
                writer.writerow(
                    ["" if data[c] is None else _csv_value(getattr(record, c), data[c])
                     for c in _COLUMNS]
                )
            else:
                stream.write(json.dumps(record.as_dict(), ensure_ascii=False) + "\n")
            written += 1
    return written


def _csv_value(raw: Any, exported: Any) -> Any:
    # JSON columns stay JSON text in a CSV cell; everything else as in the JSON export.
    if isinstance(exported, dict | list):
        return raw
    return exported

"""A local stand-in for the 8x8 SMS API: a real HTTP/1.1 server on loopback, with fault injection.

It answers on the same paths as 8x8, checks requests by the rules of the OpenAPI document
(../shared/8x8/sms-api.openapi.json), answers errors with 8x8's envelope and codes, demands
the bearer key, limits status lookups to one per second per subaccount, and moves accepted
messages from queued to sent to delivered over `delivery_delay` seconds. No SMS ever leaves.

Credentials: key ``sandbox-key`` (SANDBOX_API_KEY; any other gets 401/1200), subaccount
``sandbox_hq`` (another one gets 400/1001), account ``sandbox`` (prepaid: its balance goes down
by 0.05 EUR per segment accepted).

Test numbers (any other valid number is delivered):

- ``+6590000404`` (TEST_NUMBER_UNDELIVERED): accepted, then ends ``undelivered``
  (detail ``undelivered_to_recipient``, errorCode 20, "Absent subscriber").
- ``+6590000400`` (TEST_NUMBER_REJECTED): refused at submission with code 1002 (HTTP 400 for a
  single send; status REJECTED for that message in a batch).

Fault injection (tests): ``inject(kind, times=1 | probability=p, endpoint=None, **params)``,
endpoint one of ENDPOINTS or None for any request. Kinds:

- ``latency`` (seconds=0.2): the request is processed, the answer comes `seconds` late.
- ``server_error`` (status=500, code=2000, accept=False): a 5xx envelope; with accept=True
  the message is accepted first (what makes a 5xx to a send ambiguous).
- ``rate_limit`` (retry_after=1, header=True): 429 "Quota exceeded. Please try again in N
  second(s)." with a Retry-After header (or without, header=False); nothing processed.
- ``drop_before_accept``: the request is read, then the connection closed; nothing processed.
- ``drop_after_accept``: the request is processed (messages accepted), then the connection
  closed without an answer.
- ``drop_mid_response``: processed, then half the answer is written and the connection closed.
- ``malformed_body``: processed, then a 200 whose JSON is cut short.
- ``invalid_schema``: processed, then a 200 whose JSON has the wrong types.
- ``html_502`` (accept=False): a proxy's HTML "502 Bad Gateway" page.

`ledger` lists every accepted message and `accepted(client_message_id)` counts them, so a test
can prove nothing was delivered twice; `received` (alias `requests`) keeps the last 200 requests
as they arrived, each with the number of the TCP connection that carried it. `advance(seconds)`
moves the delivery clock forward instead of waiting; `lookup_interval`, `delivery_delay` and
`prepaid` may be changed on a running sandbox, and `reset()` restores them, clears faults,
the rate-limit state and `received` (messages, ledger and balance stay).

Choices where 8x8's documents are silent: a subaccount not of this key's account is 400/1001
("Provided subAccountId doesn't belongs to your account", the documents' own example); an
account other than ours asking for the balance is 403/1201; a text over 1,600 characters is
1004; a cancelled scheduled message reports the state ``cancelled``; a message rejected inside
a batch can be looked up and reports ``failed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import hmac
import ipaddress
import json
import math
import random
import re
import threading
import time
import urllib.parse
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sms_tui.errors import SandboxError

__all__ = [
    "ENDPOINTS",
    "FAULTS",
    "SANDBOX_API_KEY",
    "TEST_NUMBER_REJECTED",
    "TEST_NUMBER_UNDELIVERED",
    "Fault",
    "LedgerEntry",
    "ReceivedRequest",
    "Sandbox",
]

SANDBOX_API_KEY = "sandbox-key"
TEST_NUMBER_UNDELIVERED = "+6590000404"
TEST_NUMBER_REJECTED = "+6590000400"

FAULTS = (
    "latency",
    "server_error",
    "rate_limit",
    "drop_before_accept",
    "drop_after_accept",
    "drop_mid_response",
    "malformed_body",
    "invalid_schema",
    "html_502",
)
ENDPOINTS = ("send", "batch", "status", "cancel", "cancel_batch", "pii", "balance")

BATCH_LIMIT = 10_000
MAX_TEXT_LENGTH = 1_600  # the sandbox's ceiling for a text; 8x8 documents none
KEEPALIVE_IDLE = 75.0  # longer than httpx's 5 s, so the client always closes an idle connection
MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024

_DESTINATION = re.compile(r"^\+?[1-9][0-9]{6,14}$")
_SUBACCOUNT = re.compile(r"^[A-Za-z0-9\-._&]{3,50}$")
_ROUTES = (
    ("POST", re.compile(r"^/api/v1/subaccounts/([^/]+)/messages$"), "send"),
    ("POST", re.compile(r"^/api/v1/subaccounts/([^/]+)/messages/batch$"), "batch"),
    ("DELETE", re.compile(r"^/api/v1/subaccounts/([^/]+)/messages/batch/([^/]+)$"), "cancel_batch"),
    ("GET", re.compile(r"^/api/v1/subaccounts/([^/]+)/messages/([^/]+)$"), "status"),
    ("DELETE", re.compile(r"^/api/v1/subaccounts/([^/]+)/messages/([^/]+)$"), "cancel"),
    ("DELETE", re.compile(r"^/api/v1/subaccounts/([^/]+)/messages/([^/]+)/pii$"), "pii"),
    ("GET", re.compile(r"^/api/v1/accounts/([^/]+)/balance$"), "balance"),
)
_QUEUED = {"code": "QUEUED", "description": "SMS is accepted and queued for processing"}
_STRING_FIELDS = (
    "destination", "text", "source", "encoding", "clientMessageId", "country", "scheduled",
    "expiry", "dlrCallbackUrl", "clientIp", "track",
)
_REASONS = {
    200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 411: "Length Required",
    413: "Payload Too Large", 429: "Too Many Requests", 431: "Request Header Fields Too Large",
    500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Gateway Timeout",
}
_HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)

# GSM 03.38: the basic set, and the extension set whose characters take two units.
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")


# ------------------------------------------------------------------------------ records


@dataclass(frozen=True)
class ReceivedRequest:
    """A request as the sandbox received it (for tests that check what went over the wire)."""

    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    json: Any
    endpoint: str | None
    connection: int  # which TCP connection carried it (1, 2, ...): shows connection reuse


@dataclass(frozen=True)
class LedgerEntry:
    """A message the sandbox accepted, that is, one that 8x8 would deliver."""

    umid: str
    client_message_id: str | None
    destination: str
    text: str
    source: str | None
    encoding: str
    sms_count: int
    batch_id: str | None
    client_batch_id: str | None
    accepted_at: datetime


@dataclass
class Fault:
    """An injected fault; `hits` counts the requests it has hit so far."""

    kind: str
    times: int | None
    probability: float | None
    endpoint: str | None
    params: dict[str, Any]
    after: int = 0  # matching requests to let through before the first hit
    hits: int = 0
    passed: int = 0

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times


@dataclass
class _Message:
    umid: str
    destination: str  # E.164 with "+"
    text: str
    source: str | None
    encoding: str
    sms_count: int
    price_per_sms: Decimal
    client_message_id: str | None
    client_batch_id: str | None
    batch_id: str | None
    created_at: datetime
    start: float  # monotonic time its delivery starts (acceptance, or the scheduled time)
    scheduled: bool
    fate: str  # "delivered", "undelivered" or "failed" (rejected in a batch)
    fate_detail: str | None = None
    cancelled: bool = False
    pii_removed: bool = False


@dataclass
class _Reply:
    status: int
    payload: Any = None
    body: bytes | None = None
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if self.body is not None:
            return self.body
        if self.payload is None:
            return b""
        return json.dumps(self.payload, ensure_ascii=False, separators=(",", ":")).encode()


class _ApiFailure(Exception):
    """Raised inside a handler to answer with 8x8's error envelope."""

    def __init__(self, status: int, code: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


# ------------------------------------------------------------------------------ helpers


def _timestamp(moment: datetime) -> str:
    """8x8's style: 2020-06-17T04:17:21.06Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 10_000:02d}Z"


def _envelope(code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "errorId": str(uuid.uuid4()),
        "timestamp": _timestamp(datetime.now(UTC)),
    }


def _parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _mask_msisdn(e164: str) -> str:
    return e164[:-4] + "xxxx" if len(e164) > 6 else "xxxx"


def _simple_analysis(text: str, requested: str) -> tuple[str, int]:
    """GSM-7 or UCS-2, and the segment count, for when sms_tui.encoding is not available."""
    gsm = all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in text)
    encoding = requested if requested in ("GSM7", "UCS2") else ("GSM7" if gsm else "UCS2")
    if encoding == "GSM7":
        units = sum(2 if ch in _GSM_EXTENDED else 1 for ch in text)
        return encoding, 1 if units <= 160 else math.ceil(units / 153)
    units = len(text.encode("utf-16-le")) // 2
    return encoding, 1 if units <= 70 else math.ceil(units / 67)


def _country_of(e164: str) -> str | None:
    try:
        import phonenumbers

        return phonenumbers.region_code_for_number(phonenumbers.parse(e164)) or None
    except Exception:  # noqa: BLE001 - a country is a nicety in a status answer
        return None


# ------------------------------------------------------------------------------ the sandbox


class Sandbox:
    """The 8x8 SMS API on loopback, served from its own event loop in a background thread."""

    def __init__(
        self,
        *,
        api_key: str = SANDBOX_API_KEY,
        subaccount_id: str = "sandbox_hq",
        account_id: str = "sandbox",
        host: str = "127.0.0.1",
        port: int = 0,
        delivery_delay: float = 2.0,
        lookup_interval: float = 1.0,
        prepaid: bool = True,
        balance: float = 1000.0,
        price_per_segment: float = 0.05,
        currency: str = "EUR",
        log: Callable[[str], None] | None = None,
    ) -> None:
        if not _is_loopback(host):
            raise SandboxError(
                f"The sandbox only listens on loopback addresses (127.0.0.1, ::1, localhost), "
                f"not {host}."
            )
        self.api_key = api_key
        self.subaccount_id = subaccount_id
        self.account_id = account_id
        self.host = host
        self.port = port
        self.delivery_delay = delivery_delay
        """Seconds from acceptance to the final state (sent at half of it)."""
        self.lookup_interval = lookup_interval
        """Status lookups allowed once per this many seconds per subaccount (8x8: 1)."""
        self.prepaid = prepaid
        self.currency = currency
        self.log = log
        self._settings = (delivery_delay, lookup_interval, prepaid)
        self._price = Decimal(str(price_per_segment))
        self._balance = Decimal(str(balance))
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._random = random.Random()
        self._messages: dict[str, _Message] = {}
        self._batches: dict[str, list[str]] = {}
        self._ledger: list[LedgerEntry] = []
        self._accepted: Counter[str] = Counter()
        self._received: deque[ReceivedRequest] = deque(maxlen=200)
        self._next_lookup: dict[str, float] = {}
        self._analysis_cache: dict[tuple[str, str], tuple[str, int]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._start_error: BaseException | None = None
        self._connections = 0
        self._offset = 0.0  # advance() moves the sandbox's delivery clock forward

    def __repr__(self) -> str:
        state = "running" if self._thread else "stopped"
        return f"Sandbox({self.base_url!r}, subaccount_id={self.subaccount_id!r}, {state})"

    # ---------------------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> Sandbox:
        """Start serving (returns once the port is bound). Raises SandboxError."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        self._start_error = None
        thread = threading.Thread(
            target=self._run, args=(ready,), name="sms-tui-sandbox", daemon=True
        )
        thread.start()
        ready.wait(30)
        if self._start_error is not None:
            thread.join(5)
            error = self._start_error
            raise SandboxError(
                f"The sandbox cannot listen on {self.host} port {self.port}: "
                f"{getattr(error, 'strerror', None) or error}. Choose another port."
            ) from error
        self._thread = thread
        return self

    def stop(self) -> None:
        """Stop serving and close every connection."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(
                    self._serve_connection, self.host, self.port, backlog=1024,
                    limit=MAX_HEADER_BYTES,
                )
            )
        except OSError as error:
            self._start_error = error
            loop.close()
            ready.set()
            return
        self.port = self._server.sockets[0].getsockname()[1]
        ready.set()
        try:
            loop.run_forever()
        finally:
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(self._server.wait_closed())
            loop.close()
            asyncio.set_event_loop(None)

    # ---------------------------------------------------------------------------- for tests

    def inject(
        self,
        fault: str,
        *,
        times: int | None = None,
        probability: float | None = None,
        endpoint: str | None = None,
        after: int = 0,
        **params: Any,
    ) -> Fault:
        """Make the next matching request(s) fail in the way `fault` names (see the module).

        `times` (default 1) bounds how many requests it hits; with `probability` alone it
        hits each matching request with that probability until reset(). `endpoint` limits it
        to one of ENDPOINTS; `after` lets that many matching requests through first (to hit
        the second request of a split batch, say). Thread-safe.
        """
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; choose one of {', '.join(FAULTS)}")
        if endpoint is not None and endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; choose one of {ENDPOINTS}")
        if probability is not None and not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        if times is None and probability is None:
            times = 1
        entry = Fault(fault, times, probability, endpoint, dict(params), after=after)
        with self._lock:
            self._faults.append(entry)
        return entry

    def reset(self) -> None:
        """Clear faults, the rate-limit state and the received requests, and restore the
        settings given at construction. Messages, the ledger and the balance stay."""
        with self._lock:
            self._faults.clear()
            self._next_lookup.clear()
            self._received.clear()
            self.delivery_delay, self.lookup_interval, self.prepaid = self._settings

    def advance(self, seconds: float) -> None:
        """Move the sandbox's delivery clock forward: messages progress as if `seconds` had
        passed (and scheduled ones come due). Lets tests see each state without waiting."""
        with self._lock:
            self._offset += max(0.0, seconds)

    def _now(self) -> float:
        return time.monotonic() + self._offset

    def accepted(self, client_message_id: str) -> int:
        """How many times a message with this clientMessageId was accepted (would be sent)."""
        with self._lock:
            return self._accepted[client_message_id]

    @property
    def ledger(self) -> list[LedgerEntry]:
        """Every accepted message, oldest first."""
        with self._lock:
            return list(self._ledger)

    @property
    def received(self) -> list[ReceivedRequest]:
        """The last 200 requests as they arrived, oldest first."""
        with self._lock:
            return list(self._received)

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Same as `received`."""
        return self.received

    @property
    def balance(self) -> float:
        with self._lock:
            return float(self._balance)

    # ---------------------------------------------------------------------------- HTTP

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._writers.add(writer)
        with self._lock:
            self._connections += 1
            connection = self._connections
        try:
            first = await asyncio.wait_for(reader.read(1), KEEPALIVE_IDLE)
            if first == b"\x16":
                # A TLS handshake (https:// to this plain-http server): close at once so that
                # the client fails fast instead of waiting for a ServerHello.
                self._log("TLS", "handshake", "refused: the sandbox speaks plain http")
                writer.transport.abort()
                return
            if not first:
                return
            while await self._serve_one(reader, writer, connection, first):
                first = b""
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            # stop(): end quietly (Python 3.11's stream callback chokes on a cancelled task).
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve_one(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        connection: int,
        prefix: bytes = b"",
    ) -> bool:
        """Serve one request; False when the connection is to be closed."""
        try:
            head = prefix + await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"),
                                                   KEEPALIVE_IDLE)
        except (TimeoutError, asyncio.IncompleteReadError):
            return False
        except asyncio.LimitOverrunError:
            await self._write(writer, _Reply(431, _envelope(1000, "Headers too large")), False)
            return False
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            await self._write(writer, _Reply(400, _envelope(1000, "Malformed request")), False)
            return False
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        if headers.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self._read_chunked(reader)
        else:
            try:
                length = int(headers.get("content-length", "0") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY_BYTES:
                await self._write(writer, _Reply(413, _envelope(1000, "Bad Content-Length")),
                                  False)
                return False
            body = await reader.readexactly(length) if length else b""

        path = urllib.parse.urlsplit(target).path
        endpoint, params = self._route(method, path)
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        with self._lock:
            self._received.append(
                ReceivedRequest(method, path, headers, body, parsed, endpoint, connection)
            )
            fault = self._take_fault(endpoint)
        kind = fault.kind if fault else None
        params_of_fault = fault.params if fault else {}

        if kind == "drop_before_accept":
            self._log(method, path, "connection dropped before accepting (fault)")
            writer.transport.abort()
            return False
        if kind == "rate_limit":
            wait = params_of_fault.get("retry_after", 1)
            reply = _Reply(
                429, _envelope(429, f"Quota exceeded. Please try again in {wait:g} second(s).")
            )
            if params_of_fault.get("header", True):
                reply.headers["Retry-After"] = f"{wait:g}"
        elif kind in ("server_error", "html_502") and not params_of_fault.get("accept"):
            reply = self._fault_reply(kind, params_of_fault)
        else:
            reply = self._dispatch(method, path, endpoint, params, headers, body)
            if kind in ("server_error", "html_502"):
                reply = self._fault_reply(kind, params_of_fault)
            elif kind == "drop_after_accept":
                self._log(method, path, f"{reply.status}, then connection dropped (fault)")
                writer.transport.abort()
                return False
            elif kind == "malformed_body":
                reply = _Reply(200, body=reply.encoded()[: max(1, len(reply.encoded()) // 2)])
            elif kind == "invalid_schema":
                reply = _Reply(200, {"umid": 12345, "batchId": 1, "status": "QUEUED",
                                     "acceptedCount": "many", "balance": "lots"})
            elif kind == "latency":
                await asyncio.sleep(float(params_of_fault.get("seconds", 0.2)))
        self._log(method, path, str(reply.status) + (f" ({kind} fault)" if kind else ""))
        if kind == "drop_mid_response":
            data = self._serialise(reply, keep_alive)
            writer.write(data[: len(data) // 2])
            await writer.drain()
            writer.transport.abort()
            return False
        await self._write(writer, reply, keep_alive)
        return keep_alive

    async def _read_chunked(self, reader: asyncio.StreamReader) -> bytes:
        chunks = []
        total = 0
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # the end of the (empty) trailer
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise ConnectionError("body too large")
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)

    def _serialise(self, reply: _Reply, keep_alive: bool) -> bytes:
        body = reply.encoded()
        lines = [
            f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Unknown')}",
            f"Date: {email.utils.formatdate(usegmt=True)}",
            "Server: sms-tui-sandbox",
            f"Content-Length: {len(body)}",
            f"Connection: {'keep-alive' if keep_alive else 'close'}",
        ]
        if body:
            lines.append(f"Content-Type: {reply.content_type}")
        lines.extend(f"{name}: {value}" for name, value in reply.headers.items())
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    async def _write(self, writer: asyncio.StreamWriter, reply: _Reply, keep_alive: bool) -> None:
        writer.write(self._serialise(reply, keep_alive))
        await writer.drain()

    def _log(self, method: str, path: str, outcome: str) -> None:
        if self.log is not None:
            # Method, path and status only: never a header (the key) or a body (numbers).
            self.log(f"{method} {path} -> {outcome}")

    def _take_fault(self, endpoint: str | None) -> Fault | None:
        """The first live fault for this request, counted as hit (call with the lock held)."""
        for fault in self._faults:
            if fault.exhausted or (fault.endpoint and fault.endpoint != endpoint):
                continue
            if fault.passed < fault.after:
                fault.passed += 1
                continue
            if fault.probability is not None and self._random.random() >= fault.probability:
                continue
            fault.hits += 1
            return fault
        return None

    @staticmethod
    def _fault_reply(kind: str, params: dict[str, Any]) -> _Reply:
        if kind == "html_502":
            return _Reply(502, body=_HTML_502, content_type="text/html")
        status = int(params.get("status", 500))
        code = int(params.get("code", 2000))
        return _Reply(status, _envelope(code, params.get("message", "Internal server error")))

    # ---------------------------------------------------------------------------- the API

    @staticmethod
    def _route(method: str, path: str) -> tuple[str | None, tuple[str, ...]]:
        allowed = False
        for route_method, pattern, name in _ROUTES:
            match = pattern.match(path)
            if match:
                if route_method == method:
                    return name, tuple(urllib.parse.unquote(g) for g in match.groups())
                allowed = True
        return ("method_not_allowed" if allowed else None), ()

    def _dispatch(
        self,
        method: str,
        path: str,
        endpoint: str | None,
        params: tuple[str, ...],
        headers: dict[str, str],
        body: bytes,
    ) -> _Reply:
        try:
            self._authenticate(headers)
            if endpoint is None:
                raise _ApiFailure(404, 2001, f"No such endpoint: {method} {path}")
            if endpoint == "method_not_allowed":
                raise _ApiFailure(405, 2001, f"Method {method} is not allowed on {path}")
            if endpoint == "balance":
                return self._balance_reply(params[0])
            self._check_subaccount(params[0])
            handler = getattr(self, f"_handle_{endpoint}")
            return handler(params, body)
        except _ApiFailure as failure:
            return _Reply(
                failure.status, _envelope(failure.code, failure.message), headers=failure.headers
            )

    def _authenticate(self, headers: dict[str, str]) -> None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        expected = self.api_key.encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(),
                                                                 expected):
            raise _ApiFailure(401, 1200, "Request was not authenticated properly")

    def _check_subaccount(self, subaccount: str) -> None:
        if not _SUBACCOUNT.match(subaccount):
            raise _ApiFailure(400, 1001, "Illegal SubAccountId")
        if subaccount != self.subaccount_id:
            raise _ApiFailure(400, 1001, "Provided subAccountId doesn't belongs to your account")

    @staticmethod
    def _json_object(body: bytes) -> dict[str, Any]:
        try:
            data = json.loads(body)
        except ValueError:
            raise _ApiFailure(400, 1000, "Invalid parameter: the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise _ApiFailure(400, 1000, "Invalid parameter: the body must be a JSON object")
        return data

    # -- sending

    def _handle_send(self, params: tuple[str, ...], body: bytes) -> _Reply:
        data = self._json_object(body)
        now = self._now()
        with self._lock:
            problem, message = self._validate(data, now)
            if problem is not None:
                raise _ApiFailure(400, *problem)
            self._accept(message)
        return _Reply(200, self._submission(message))

    def _handle_batch(self, params: tuple[str, ...], body: bytes) -> _Reply:
        data = self._json_object(body)
        client_batch_id = data.get("clientBatchId")
        if client_batch_id is not None:
            if not isinstance(client_batch_id, str):
                raise _ApiFailure(400, 1000, "Invalid parameter: clientBatchId")
            if len(client_batch_id) > 20:
                raise _ApiFailure(
                    400, 1000, "Invalid parameter: clientBatchId is longer than 20 characters"
                )
        template = data.get("template") or {}
        if not isinstance(template, dict):
            raise _ApiFailure(400, 1007, "Invalid SMS Template")
        template = {k: v for k, v in template.items() if v is not None}
        if data.get("messages"):
            entries = data["messages"]
            kind = "messages"
        elif data.get("destinations"):
            entries = data["destinations"]
            kind = "destinations"
        else:
            raise _ApiFailure(400, 1000, "Invalid parameter: messages or destinations required")
        if not isinstance(entries, list):
            raise _ApiFailure(400, 1000, f"Invalid parameter: {kind} must be an array")
        if len(entries) > BATCH_LIMIT:
            raise _ApiFailure(400, 1100, f"Bulk limit reached: at most {BATCH_LIMIT:,} messages")

        batch_id = str(uuid.uuid4())
        now = self._now()
        results: list[dict[str, Any]] = []
        accepted = 0
        with self._lock:
            umids = self._batches.setdefault(batch_id, [])
            for entry in entries:
                if kind == "messages":
                    if isinstance(entry, dict):
                        merged = {**template, **{k: v for k, v in entry.items() if v is not None}}
                    else:
                        merged = None
                else:
                    merged = {**template, "destination": entry}
                    if client_batch_id and isinstance(entry, str):
                        merged["clientMessageId"] = f"{client_batch_id}/{entry.lstrip('+')}"
                if merged is None:
                    problem = (1000, "Invalid parameter: a message must be an object")
                    message = None
                else:
                    problem, message = self._validate(merged, now)
                umid = str(uuid.uuid4())
                if problem is not None:
                    destination = merged.get("destination") if merged else None
                    results.append({
                        "umid": umid,
                        "clientMessageId": merged.get("clientMessageId") if merged else None,
                        "destination": destination if isinstance(destination, str) else None,
                        "encoding": "GSM7",
                        "status": {"code": "REJECTED", "description": problem[1]},
                    })
                    if merged and isinstance(destination, str) and _DESTINATION.match(
                        destination
                    ):
                        # 8x8 keeps rejected messages too: a lookup shows them as failed.
                        self._messages[umid] = self._rejected_record(umid, merged, problem, now)
                    continue
                message.umid = umid
                message.batch_id = batch_id
                message.client_batch_id = client_batch_id
                self._accept(message)
                umids.append(umid)
                accepted += 1
                results.append(self._submission(message))
        payload: dict[str, Any] = {
            "batchId": batch_id,
            "clientBatchId": client_batch_id,
            "acceptedCount": accepted,
            "rejectedCount": len(entries) - accepted,
        }
        if data.get("includeMessagesInResponse") is True:
            payload["messages"] = [
                {k: v for k, v in r.items() if v is not None or k == "clientMessageId"}
                for r in results
            ]
        return _Reply(200, {k: v for k, v in payload.items() if v is not None})

    def _validate(
        self, data: dict[str, Any], now: float
    ) -> tuple[tuple[int, str] | None, _Message | None]:
        """The first problem with a message (code, description), or the message to accept."""
        for name in _STRING_FIELDS:
            if name in data and data[name] is not None and not isinstance(data[name], str):
                return (1000, f"Invalid parameter: {name} must be a string"), None
        text = data.get("text")
        if not text:
            return (1004, "Text value is missing"), None
        if len(text) > MAX_TEXT_LENGTH:
            return (1004, "Invalid Text value. Reached max allowed limit"), None
        country = data.get("country")
        if country is not None and not (len(country) == 2 and country.isalpha()):
            return (1009, "Invalid Country Code"), None
        raw = data.get("destination")
        if not raw or not _DESTINATION.match(raw):
            return (1002, "Invalid MSISDN format (not E.164 international number)"), None
        destination = self._international(raw, country)
        if destination is None:
            return (1002, "Invalid MSISDN format (not E.164 international number)"), None
        source = data.get("source")
        if source is not None and len(source) > 16:
            return (1005, "Invalid Source value. Reached max allowed limit"), None
        requested = data.get("encoding") or "AUTO"
        if requested not in ("AUTO", "GSM7", "UCS2"):
            return (1003, "Invalid Encoding"), None
        client_message_id = data.get("clientMessageId")
        if client_message_id is not None and len(client_message_id) > 350:
            return (1000, "Invalid parameter: clientMessageId is longer than 350 characters"), None
        wall = datetime.now(UTC)
        start = now
        scheduled = False
        if data.get("scheduled"):
            try:
                moment = _parse_time(data["scheduled"])
            except ValueError:
                return (1011, "Invalid Schedule Time"), None
            ahead = (moment - wall).total_seconds()
            if ahead > 0:
                start, scheduled = now + ahead, True
        if data.get("expiry"):
            try:
                expiry = _parse_time(data["expiry"])
            except ValueError:
                return (1006, "Invalid Expiry"), None
            if expiry <= wall:
                return (1006, "Expiry time already reached"), None
            if scheduled and (expiry - wall).total_seconds() <= start - now:
                return (1006, "Invalid Expiry: it is before the scheduled time"), None
        url = data.get("dlrCallbackUrl")
        if url is not None and urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            return (1000, "Invalid parameter: dlrCallbackUrl"), None
        client_ip = data.get("clientIp")
        if client_ip is not None:
            try:
                ipaddress.ip_address(client_ip)
            except ValueError:
                return (1012, "Invalid Ip Address"), None
        if data.get("track") not in (None, "None", "Outcome"):
            return (1000, "Invalid parameter: track"), None
        if destination == TEST_NUMBER_REJECTED:
            return (1002, "Invalid MSISDN: the number is not reachable (sandbox test number)"), None
        encoding, sms_count = self._analyse(text, requested)
        undelivered = destination == TEST_NUMBER_UNDELIVERED
        return None, _Message(
            umid=str(uuid.uuid4()),
            destination=destination,
            text=text,
            source=source,
            encoding=encoding,
            sms_count=sms_count,
            price_per_sms=self._price,
            client_message_id=client_message_id,
            client_batch_id=None,
            batch_id=None,
            created_at=wall,
            start=start,
            scheduled=scheduled,
            fate="undelivered" if undelivered else "delivered",
        )

    @staticmethod
    def _international(raw: str, country: str | None) -> str | None:
        if raw.startswith("+") or not country:
            return "+" + raw.lstrip("+")
        try:
            import phonenumbers

            number = phonenumbers.parse(raw, country.upper())
        except Exception:  # noqa: BLE001 - an unparsable national number is an invalid one
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def _analyse(self, text: str, requested: str) -> tuple[str, int]:
        key = (text, requested)
        cached = self._analysis_cache.get(key)
        if cached is None:
            try:
                from sms_tui.encoding import analyze

                analysis = analyze(text, requested)
                cached = (str(analysis.encoding), int(analysis.segment_count))
            except Exception:  # noqa: BLE001 - the module may be absent or still in progress
                cached = _simple_analysis(text, requested)
            if len(self._analysis_cache) > 1024:
                self._analysis_cache.clear()
            self._analysis_cache[key] = cached
        return cached

    def _accept(self, message: _Message) -> None:
        """Record an accepted message (with the lock held)."""
        self._messages[message.umid] = message
        self._balance -= message.price_per_sms * message.sms_count
        if message.client_message_id is not None:
            self._accepted[message.client_message_id] += 1
        self._ledger.append(
            LedgerEntry(
                umid=message.umid,
                client_message_id=message.client_message_id,
                destination=message.destination,
                text=message.text,
                source=message.source,
                encoding=message.encoding,
                sms_count=message.sms_count,
                batch_id=message.batch_id,
                client_batch_id=message.client_batch_id,
                accepted_at=message.created_at,
            )
        )

    def _rejected_record(
        self, umid: str, data: dict[str, Any], problem: tuple[int, str], now: float
    ) -> _Message:
        return _Message(
            umid=umid,
            destination="+" + data["destination"].lstrip("+"),
            text=data.get("text") if isinstance(data.get("text"), str) else "",
            source=data.get("source") if isinstance(data.get("source"), str) else None,
            encoding="GSM7",
            sms_count=0,
            price_per_sms=Decimal(0),
            client_message_id=data.get("clientMessageId")
            if isinstance(data.get("clientMessageId"), str) else None,
            client_batch_id=None,
            batch_id=None,
            created_at=datetime.now(UTC),
            start=now,
            scheduled=False,
            fate="failed",
            fate_detail=problem[1],
        )

    @staticmethod
    def _submission(message: _Message) -> dict[str, Any]:
        return {
            "umid": message.umid,
            "clientMessageId": message.client_message_id,  # null when none was given, as 8x8
            # 8x8 answers with the MSISDN's digits, without the "+".
            "destination": message.destination.lstrip("+"),
            "encoding": message.encoding,
            "status": dict(_QUEUED),
        }

    # -- lookups and the rest

    def _handle_status(self, params: tuple[str, ...], body: bytes) -> _Reply:
        now = time.monotonic()
        with self._lock:
            ready_at = self._next_lookup.get(self.subaccount_id, 0.0)
            if now < ready_at:
                wait = max(1, math.ceil(ready_at - now))
                raise _ApiFailure(
                    429, 429, f"Quota exceeded. Please try again in {wait} second(s).",
                    {"Retry-After": str(wait)},
                )
            self._next_lookup[self.subaccount_id] = now + self.lookup_interval
            message = self._find(params[1])
            return _Reply(200, self._details(message, self._now()))

    def _find(self, umid: str) -> _Message:
        if not _is_uuid(umid):
            raise _ApiFailure(400, 1000, "Invalid umid.")
        message = self._messages.get(umid)
        if message is None:
            raise _ApiFailure(404, 1300, "Message not found.")
        return message

    def _state(self, message: _Message, now: float) -> dict[str, Any]:
        created = message.created_at
        if message.fate == "failed":
            return {"state": "failed", "detail": "rejected_by_api", "errorCode": 1002,
                    "errorMessage": message.fate_detail, "timestamp": _timestamp(created)}
        if message.cancelled:
            return {"state": "cancelled", "detail": "cancelled_by_client",
                    "timestamp": _timestamp(datetime.now(UTC))}
        elapsed = now - message.start
        delay = self.delivery_delay
        started = time.time() - elapsed  # wall-clock moment its delivery started

        def at(offset: float) -> str:
            return _timestamp(datetime.fromtimestamp(started + offset, UTC))

        if elapsed < delay / 2:
            return {"state": "queued", "timestamp": _timestamp(created)}
        if elapsed < delay:
            return {"state": "sent", "detail": "delivered_to_operator",
                    "timestamp": at(delay / 2)}
        if message.fate == "undelivered":
            return {"state": "undelivered", "detail": "undelivered_to_recipient",
                    "errorCode": 20, "errorMessage": "Absent subscriber", "timestamp": at(delay)}
        return {"state": "delivered", "detail": "delivered_to_recipient", "timestamp": at(delay)}

    def _details(self, message: _Message, now: float) -> dict[str, Any]:
        total = message.price_per_sms * message.sms_count
        details = {
            "umid": message.umid,
            "subAccountId": self.subaccount_id,
            "direction": "outbound",
            "country": _country_of(message.destination),
            "status": self._state(message, now),
            # Like 8x8: number and content come back masked.
            "msisdn": _mask_msisdn(message.destination),
            "source": message.source,
            "body": "**MASKED**",
            "encoding": message.encoding,
            "createdAt": _timestamp(message.created_at),
            "smsCount": message.sms_count,
            "price": {
                "total": float(total),
                "perSms": float(message.price_per_sms),
                "currency": self.currency,
            },
            "clientMessageId": message.client_message_id,
            "clientBatchId": message.client_batch_id,
            "batchId": message.batch_id,
        }
        return {k: v for k, v in details.items() if v is not None}

    def _cancel(self, message: _Message, now: float) -> int:
        if message.cancelled or not message.scheduled or message.start <= now:
            return 0
        message.cancelled = True
        self._balance += message.price_per_sms * message.sms_count
        return 1

    def _handle_cancel(self, params: tuple[str, ...], body: bytes) -> _Reply:
        now = self._now()
        with self._lock:
            count = self._cancel(self._find(params[1]), now)
        return _Reply(200, {"cancelledCount": count})

    def _handle_cancel_batch(self, params: tuple[str, ...], body: bytes) -> _Reply:
        now = self._now()
        with self._lock:
            umids = self._batches.get(params[1])
            if umids is None:
                raise _ApiFailure(404, 1300, "Batch not found.")
            count = sum(self._cancel(self._messages[umid], now) for umid in umids)
        return _Reply(200, {"cancelledCount": count})

    def _handle_pii(self, params: tuple[str, ...], body: bytes) -> _Reply:
        with self._lock:
            message = self._find(params[1])
            message.pii_removed = True
            message.text = ""
        return _Reply(202)

    def _balance_reply(self, account_id: str) -> _Reply:
        if account_id != self.account_id:
            raise _ApiFailure(403, 1201, "Access forbidden")
        if not self.prepaid:
            raise _ApiFailure(403, 1201, "Account not in prepaid mode")
        with self._lock:
            balance = float(round(self._balance, 7))
        return _Reply(200, {"balance": balance, "currency": self.currency})


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

"""Bad input, fuzzed with hypothesis: a clear error or a correct result, never a traceback.

Targets: the segment meter (analyze, smart_replace, replacement_saving) with any Unicode
including lone surrogates, control characters and very long text; number, sender and
identifier validation; 8x8's answers as the client reads them (random JSON, wrong types,
missing fields, huge bodies, non-JSON, odd statuses and headers), served over real loopback
HTTP; and the profile file (hand-edited, truncated, wrong types, random bytes), which must
never be changed by reading it.

10,000 examples per target when CI=true (derandomized), 500 locally: see
stress_helpers/fuzz_settings.py.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import re
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import phonenumbers
import pytest
import tomli_w
from hypothesis import example, given
from hypothesis import strategies as st
from stress_helpers.fuzz_settings import fuzz_settings

from sms_tui import config, phone
from sms_tui.client import SmsClient
from sms_tui.credentials import ApiKey
from sms_tui.encoding import (
    ENCODINGS,
    GSM7_BASIC,
    GSM7_EXTENSION,
    analyze,
    replacement_saving,
    smart_replace,
)
from sms_tui.errors import (
    ApiError,
    ConfigError,
    InvalidInput,
    OutcomeUnknown,
    ProtocolError,
    RateLimited,
    SmsTuiError,
)
from sms_tui.models import (
    Balance,
    BatchRequest,
    BatchResponse,
    MessageDetails,
    SmsRequest,
    SmsResponse,
)

GSM = set(GSM7_BASIC + GSM7_EXTENSION)


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def assert_sentence(error: SmsTuiError, limit: int = 2_000) -> None:
    """What a person is shown: a short text, not a dump of the input or a traceback."""
    text = str(error)
    assert text.strip(), repr(error)
    assert len(text) <= limit, f"{len(text)} characters: {text[:200]}..."
    assert "Traceback" not in text


# ------------------------------------------------------------------ the segment meter

# Every kind of character: lone surrogates (category Cs) and controls included.
ANY_CHAR = st.characters(codec=None, exclude_categories=())
_AWKWARD_CHARS = [
    "\ud800", "\udfff", "\ud83d", "\ude00", "\x00", "\x1b", "\x7f", "\x0c", "\r", "\n",
    "\u2028", "\u200d", "\ufeff", "\u0301", "\U0001F3FD", "\U0001F1F8", "€", "{", "^", "’", "…",
    "\u00a0", "\uffff", "\U0010ffff", "中", "a", "e", " ",
]
AWKWARD_CHAR = st.sampled_from(_AWKWARD_CHARS)
# Clusters of several code points: emoji with modifiers, flags, ZWJ sequences, CRLF.
AWKWARD = st.sampled_from([*_AWKWARD_CHARS, "\r\n", "\U0001F44D\U0001F3FD",
                           "\U0001F1F8\U0001F1EC", "e\u0301", "👨\u200d👩\u200d👧", "\ud83d\ude00"])


def _interleave(text: str, clusters: list[str]) -> str:
    pieces = list(text)
    for index, cluster in enumerate(clusters):
        pieces.insert((index * 7919) % (len(pieces) + 1), cluster)
    return "".join(pieces)


# (st.text over one alphabet draws far faster than a list of mixed strategies, which matters
# at 10,000 examples.)
TEXTS = st.one_of(
    st.text(ANY_CHAR, max_size=300),
    st.text(AWKWARD_CHAR, max_size=300),
    st.builds(_interleave, st.text(ANY_CHAR, max_size=150), st.lists(AWKWARD, max_size=20)),
    # Long text: a short piece repeated hundreds of times (up to ~4,000 characters, more than
    # twice what 8x8 takes in one message); the examples below add 100,000 and more.
    st.builds(lambda piece, times: piece * times,
              st.text(AWKWARD_CHAR, min_size=1, max_size=10), st.integers(50, 400)),
)
ENCODING_NAMES = st.one_of(st.sampled_from(["AUTO", "GSM7", "UCS2", "auto", "gsm-7", "ucs2"]),
                           st.text(max_size=8))


@fuzz_settings()
@given(TEXTS, ENCODING_NAMES)
@example("\ud83d" * 71, "AUTO")
@example("\x00" * 161, "GSM7")
@example("€{" * 50_000, "AUTO")
@example("\ud83d\ude00\u200d" * 40_000, "AUTO")
@example("e\u0301\ud800" * 40_000, "GSM7")
@example("👨\u200d👩\u200d👧" * 20_000 + "a" * 100_000, "UCS2")
def test_analyze_takes_any_text(text, encoding):
    try:
        a = analyze(text, encoding)
    except InvalidInput as error:
        assert encoding.strip().upper().replace("-", "") not in ENCODINGS
        assert_sentence(error)
        return
    assert a.text == text
    assert "".join(a.segments) == text
    assert a.segment_count == len(a.segments) == len(a.segment_units)
    assert sum(a.segment_units) == a.units
    assert a.encoding in ("GSM7", "UCS2")
    if a.encoding == "UCS2":
        assert a.units == utf16_units(text)
    single = 160 if a.encoding == "GSM7" else 70
    assert (a.segment_count > 1) == (a.units > single)
    assert 0 <= a.remaining <= a.per_segment
    assert a.capacity >= a.units or a.segment_count > 1
    if a.requested_encoding == "AUTO":
        assert (a.encoding == "GSM7") == all(ch in GSM for ch in text)
    assert all(index >= 0 and text.startswith(ch, index) for index, ch in a.non_gsm_positions)
    repr(a)  # a lone surrogate must not break printing it either


@fuzz_settings()
@given(TEXTS, st.sampled_from(["AUTO", "GSM7"]))
@example("e\u0301\ud800\u2019", "AUTO")
@example("“quoted” — e\u0301…\u00a0" * 20_000, "AUTO")
@example("\u2028\ud800\u200b’" * 30_000, "GSM7")
def test_smart_replace_takes_any_text(text, encoding):
    new, replacements = smart_replace(text)
    rebuilt, last = [], 0
    for r in replacements:
        assert r.index >= last, "replacements overlap or go backwards"
        assert text.startswith(r.original, r.index)
        rebuilt += [text[last : r.index], r.replacement]
        last = r.index + len(r.original)
    assert "".join(rebuilt) + text[last:] == new
    assert all(ch in GSM for r in replacements for ch in r.replacement)
    if not replacements:
        assert new == text
    saving = replacement_saving(text, encoding)
    assert saving.after.text == new
    assert saving.before.text == text and saving.replacements == tuple(replacements)
    assert saving.segments_saved == saving.before.segment_count - saving.after.segment_count
    if saving.worthwhile:  # it gains fewer segments, GSM-7 instead of UCS-2, or fewer '?'
        assert (saving.segments_saved > 0
                or (saving.before.encoding, saving.after.encoding) == ("UCS2", "GSM7")
                or len(saving.after.unencodable) < len(saving.before.unencodable)), saving
    assert saving.summary == "" or saving.summary.endswith(".")


# ------------------------------------------------------------------ numbers, senders, ids

NUMBERISH = st.text(
    alphabet="+0123456789 -().,;/\n\t#*xX٠١٢٣٤٥٦٧٨٩０１２３４５６７８９＋\u00a0\u2011\u202e\u200b",
    max_size=60,
)
COUNTRIES = st.one_of(st.none(), st.sampled_from(["SG", "US", "GB", "IN", "sg", " de ", "ZZ",
                                                  "", "XX", "001", "UK"]),
                      st.text(max_size=4))
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def _country_or_error(country):
    try:
        return phone.check_country(country), None
    except InvalidInput as error:
        assert_sentence(error)
        return None, error


@fuzz_settings()
@given(st.one_of(NUMBERISH, st.text(ANY_CHAR, max_size=80)), COUNTRIES)
@example("+65 9123 4567", "SG")
@example("\ud800", None)
def test_parse_number_gives_a_valid_number_or_a_reason(raw, country):
    code, bad_country = _country_or_error(country)
    try:
        recipient = phone.parse_number(raw, country)
    except InvalidInput as error:
        assert_sentence(error)
        return
    assert bad_country is None
    assert E164.match(recipient.e164), recipient
    assert phone.DESTINATION_PATTERN.match(recipient.e164)
    assert phone.parse_number(recipient.e164).e164 == recipient.e164
    assert recipient.formatted.startswith("+")
    assert recipient.country is None or recipient.country in phonenumbers.SUPPORTED_REGIONS


@fuzz_settings()
@given(st.one_of(NUMBERISH, st.text(ANY_CHAR, max_size=200),
                 st.lists(NUMBERISH, max_size=30).map(", ".join)), COUNTRIES)
def test_parse_recipients_sorts_every_piece_into_numbers_or_problems(text, country):
    code, bad_country = _country_or_error(country)
    try:
        recipients, problems = phone.parse_recipients(text, country)
    except InvalidInput as error:
        assert bad_country is not None, f"only the country may be refused: {error}"
        assert_sentence(error)
        return
    e164s = [r.e164 for r in recipients]
    assert len(e164s) == len(set(e164s))
    assert all(E164.match(e) for e in e164s)
    for problem in problems:
        assert problem.reason.strip()
        assert len(problem.reason) < 500


@fuzz_settings()
@given(st.one_of(st.none(), st.text(ANY_CHAR, max_size=40),
                 st.text(alphabet="+0123456789 ABCxyz-&.", max_size=20)))
def test_sender_and_identifiers_are_checked_without_surprises(value):
    try:
        sender = phone.check_sender(value)
    except InvalidInput as error:
        assert_sentence(error)
    else:
        assert sender.kind in ("none", "alphanumeric", "numeric")
        assert len(sender.value) <= phone.SOURCE_MAX
        assert sender.value == sender.value.strip()
        assert (sender.kind == "none") == (sender.value == "")
        assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in sender.value)
    if value is None:
        return
    try:
        assert phone.SUBACCOUNT_PATTERN.fullmatch(phone.check_subaccount_id(value))
    except InvalidInput as error:
        assert_sentence(error)
    try:
        cmid = phone.check_client_message_id(value)
        assert cmid is None or len(cmid) <= phone.CLIENT_MESSAGE_ID_MAX
    except InvalidInput as error:
        assert_sentence(error)
    code, _ = _country_or_error(value)
    assert code is None or code in phonenumbers.SUPPORTED_REGIONS


# ------------------------------------------------------------------ 8x8's answers


class _Replay:
    """A bare HTTP/1.1 server on loopback that answers every request with `reply`:
    (status, headers, body). Kept minimal (one write per answer, keep-alive) because each
    fuzzed answer is one real request over loopback."""

    def __init__(self) -> None:
        self.reply: tuple[int, list[tuple[str, str]], bytes] = (200, [], b"{}")
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait(10)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0, limit=1 << 20))
        self.port = self.server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                status, headers, body = self.reply
                lines = [f"HTTP/1.1 {status} Fuzzed".encode()]
                lines += [f"{name}: {value}".encode("latin-1") for name, value in headers]
                if status in (204, 304):
                    body = b""
                else:
                    lines.append(f"Content-Length: {len(body)}".encode())
                writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        async def stop() -> None:
            self.server.close()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture(scope="module")
def replay() -> Iterator[tuple[_Replay, asyncio.AbstractEventLoop, SmsClient]]:
    server = _Replay()
    loop = asyncio.new_event_loop()
    client = SmsClient(api_key=ApiKey("fuzz-key-0123456789abcdef"), subaccount_id="fuzz_hq",
                       base_url=f"http://127.0.0.1:{server.port}", timeout=10.0,
                       max_attempts=1)
    try:
        yield server, loop, client
    finally:
        loop.run_until_complete(client.aclose())
        loop.close()
        server.close()


SCALARS = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(ANY_CHAR, max_size=12))


def _random_json(rng: random.Random, depth: int = 0):
    """Any JSON value: scalars of every type and edge, lists and objects nested 3 deep."""
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.choice([0, -1, 1, 2**31, -(2**63), 2**64, 10**30, rng.randrange(-999, 999)])
    if kind == 3:
        return rng.choice([0.5, -0.0, 1e308, -1e-308, 3.14, rng.uniform(-1e6, 1e6)])
    if kind in (4, 5):
        alphabet = "aZ09 _-:+.\"\\/\n\t\x00\x7f€中😀\u200d\ud800\udfff"
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(12)))
    if kind == 6:
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["umid", "code", "status", "messages", "state", "destination", "batchId",
            "errorId", "message", "balance", "x", ""]
    return {rng.choice(keys): _random_json(rng, depth + 1) for _ in range(rng.randrange(5))}


# A fixed corpus of random JSON documents, sampled from: drawing nested JSON through
# hypothesis costs more per example than the request it is sent with.
JSON = st.sampled_from([_random_json(random.Random(seed)) for seed in range(5_000)])
# Values a field may have: a likely one, a wrong type, an edge.
EDGES = st.sampled_from([
    "", "QUEUED", "REJECTED", "queued", "FAILED", -1, 0, 7, 2**63, 1e308, -0.0, [], {}, None,
    True, "2020-06-17T04:17:21.06Z", "not a date", "6591234567", "+6591234567",
    "0f3b2c1e-0000-4a5b-9c8d-7e6f5a4b3c2d", "\ud800", "\u0000", "\\ud800", "x" * 400, ["QUEUED"],
    {"code": "QUEUED"}, {"state": "delivered"}, [{"umid": "u"}], "EUR", "1.5",
])
FIELD = st.one_of(EDGES, EDGES, EDGES, SCALARS)  # (a branch listed n times: n times as often)

# 8x8's answers as they should be; each example starts from one and damages it: a field
# dropped, given a wrong type or an edge value, inside nested objects too. (Few draws per
# example, so that 10,000 of them stay affordable; JSON of any shape comes in whole, below.)
_SMS = {"umid": "0f3b2c1e-0000-4a5b-9c8d-7e6f5a4b3c2d", "destination": "6591234567",
        "clientMessageId": "sms-tui-1", "encoding": "GSM7",
        "status": {"code": "QUEUED", "description": "SMS is accepted and queued for processing"}}
TEMPLATES = [
    _SMS,
    {**_SMS, "status": {"code": "REJECTED", "description": "Invalid MSISDN"}},
    {"batchId": "b-1", "clientBatchId": "c-1", "acceptedCount": 2, "rejectedCount": 0,
     "messages": [_SMS, {**_SMS, "clientMessageId": "sms-tui-2"}]},
    {"umid": _SMS["umid"], "subAccountId": "fuzz_hq", "direction": "outbound",
     "status": {"state": "delivered", "detail": "delivered_to_recipient", "errorCode": 0,
                "timestamp": "2020-06-17T04:17:21.06Z"},
     "price": {"total": 0.05, "perSms": 0.05, "currency": "EUR"}, "smsCount": 1,
     "createdAt": "2020-06-17T04:17:21.06Z"},
    {"code": 1002, "message": "Invalid MSISDN format", "errorId": "e-1",
     "timestamp": "2020-06-17T04:17:21.06Z"},
    {"balance": 12.5, "currency": "EUR"},
    {"cancelledCount": 1},
]
KEYS = sorted({k for t in TEMPLATES for k in t} | {"status.code", "status.state",
                                                   "messages.0", "messages.0.umid", "price.total"})
DAMAGE = st.tuples(st.sampled_from(["drop", "set"]), st.sampled_from(KEYS), FIELD)


def _damaged(template: dict, damage: list) -> dict:
    answer = json.loads(json.dumps(template))
    for action, path, value in damage:
        *outer, last = path.split(".")
        target = answer
        for part in outer:
            target = target[int(part)] if isinstance(target, list) else target.get(part)
            if not isinstance(target, dict | list):
                break
        else:
            if isinstance(target, list):
                if action == "set" and target:
                    target[0] = value
            elif action == "drop":
                target.pop(last, None)
            else:
                target[last] = value
    return answer



def _up_to_two(item: st.SearchStrategy) -> st.SearchStrategy[list]:
    # Cheaper to draw than st.lists(item, max_size=2), which adds up over 10,000 examples.
    return st.one_of(st.just([]), item.map(lambda one: [one]), st.tuples(item, item).map(list))


DAMAGED = st.builds(_damaged, st.sampled_from(TEMPLATES), _up_to_two(DAMAGE))
ANSWERS = st.one_of(DAMAGED, DAMAGED, DAMAGED, JSON)


def _truncated(data: bytes, cut: int) -> bytes:
    return data[: cut % max(1, len(data))]


NORMAL_BODIES = st.one_of(
    ANSWERS.map(lambda v: json.dumps(v).encode()),
    st.builds(_truncated, ANSWERS.map(lambda v: json.dumps(v).encode()), st.integers(0, 10**6)),
    st.binary(max_size=300),
    st.text(ANY_CHAR, max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.just(b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
    st.just(b""),
)
BODIES = NORMAL_BODIES
# Huge answers are slow to serve, so they are explicit examples rather than drawn ones.
HUGE = [
    json.dumps({"umid": "x" * 2_000_000, "destination": "6591234567",
                "status": {"code": "QUEUED"}}).encode(),
    b"[" * 200_000 + b"]" * 200_000,
    b'{"code": 1000, "message": "' + b"m" * 2_000_000 + b'", "errorId": "e"}',
    json.dumps({"batchId": "b", "acceptedCount": 1, "rejectedCount": 0,
                "messages": [{"umid": "u", "destination": "1", "status": {"code": "QUEUED"}}]
                * 50_000}).encode(),
    b"\xff" * 3_000_000,
]
STATUSES = st.sampled_from([200, 200, 200, 201, 202, 204, 301, 307, 400, 401, 403, 404, 405,
                            409, 413, 422, 426, 429, 429, 500, 502, 503, 504, 599])
HEADER_VALUES = st.sampled_from([
    "1", "0", "-5", "2.5", "inf", "-inf", "nan", "1e400", "99999999999", "0x10", "1_000",
    "Wed, 21 Oct 2015 07:28:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "soon", "", " 3 ",
    "application/json", "text/html", "application/json; charset=latin-1", "text/plain",
    "http://example.invalid/", "/relative",
])
HEADERS = _up_to_two(
    st.tuples(st.sampled_from(["Content-Type", "Retry-After", "Location", "X-Extra"]),
              st.one_of(HEADER_VALUES, HEADER_VALUES, st.text("0123456789.-e ", max_size=8))),
)
OPERATIONS = st.sampled_from(["send", "send", "batch", "status", "balance", "cancel", "verify"])


async def _call(client: SmsClient, operation: str):
    if operation == "send":
        return await client.send(SmsRequest(destination="+6591234567", text="hi"))
    if operation == "batch":
        return await client.send_batch(BatchRequest(messages=[
            SmsRequest(destination="+6591234567", text="a"),
            SmsRequest(destination="+6591234568", text="b")]))
    if operation == "status":
        return await client.get_message("0f3b2c1e-0000-4a5b-9c8d-7e6f5a4b3c2d")
    if operation == "balance":
        return await client.balance()
    if operation == "cancel":
        return await client.cancel("0f3b2c1e-0000-4a5b-9c8d-7e6f5a4b3c2d")
    return await client.verify()


def _with_huge_examples(test):
    for body in HUGE:
        for status, operation in ((200, "send"), (200, "batch"), (400, "status"),
                                  (502, "send")):
            test = example(status, [], body, operation)(test)
    return test


@fuzz_settings()
@given(STATUSES, HEADERS, BODIES, OPERATIONS)
@example(200, [], b'{"umid":"u","destination":"1","status":{"code":""}}', "send")
@_with_huge_examples
def test_any_answer_is_read_or_explained(replay, status, headers, body, operation):
    server, loop, client = replay
    server.reply = (status, headers, body)
    try:
        result = loop.run_until_complete(_call(client, operation))
    except SmsTuiError as error:
        assert_sentence(error)
        sends = operation in ("send", "batch")
        if 200 <= status < 300:
            # Unreadable success: for a send, the message may have gone out.
            assert isinstance(error, OutcomeUnknown if sends else ProtocolError), repr(error)
        elif status >= 500 and sends:
            assert isinstance(error, OutcomeUnknown), repr(error)
        elif 400 <= status < 500 and not (status == 404 and operation == "verify"):
            assert isinstance(error, ApiError) and error.status == status, repr(error)
        if isinstance(error, RateLimited):
            # A wait a caller can honour: never negative, never endless.
            assert math.isfinite(error.retry_after), error.retry_after
            assert 0 <= error.retry_after <= 3_600, error.retry_after
        if isinstance(error, OutcomeUnknown) and sends:
            assert "may or may not have reached 8x8" in str(error)
        return
    # Read: then it is what the model says, and the answer really said so.
    assert 200 <= status < 300 or (operation == "verify" and status == 404)
    expected = {"send": SmsResponse, "batch": list, "status": MessageDetails,
                "balance": (Balance, type(None)), "cancel": int, "verify": type(None)}[operation]
    assert isinstance(result, expected), result
    if operation == "batch":
        assert all(isinstance(item, BatchResponse) for item in result)


@pytest.mark.parametrize("value", ["inf", "1e400", "99999999999", "Fri, 31 Dec 9999 23:59:59 GMT"])
def test_an_endless_retry_after_is_not_taken_at_its_word(replay, value):
    server, loop, client = replay
    server.reply = (429, [("Retry-After", value)], b'{"code":429,"message":"Too many"}')
    with pytest.raises(RateLimited) as caught:
        loop.run_until_complete(client.get_message("0f3b2c1e-0000-4a5b-9c8d-7e6f5a4b3c2d"))
    # A bound a person would accept waiting for (8x8 itself asks for seconds).
    assert math.isfinite(caught.value.retry_after) and caught.value.retry_after <= 3_600


# ------------------------------------------------------------------ the profile file

NAMES = st.one_of(st.sampled_from(["work", "home", "a", "sandbox", "env", "x" * 41, "-bad",
                                   "ok.name_1", "spa ce", "ünï", "", "Work", "1"]),
                  st.text(max_size=8))
FIELD_VALUES = st.one_of(
    st.sampled_from([
        "acme_hq", "sandbox_hq", "apac", "us", "eu", "id", "custom", "APAC", "Europe",
        "https://sms.8x8.com", "http://127.0.0.1:8808", "http://example.com", "sms.8x8.uk",
        "https://sms.8x8.com/", "ftp://x", "SG", "sg", "ZZ", "MyBrand", "My Brand!", "+6591234567",
        "x" * 17, "", " ", "dark", "textual-dark", True, False, 0, -1, 1.5, 10**20, [], ["eu"],
        {}, {"a": 1}, "1979-05-27T07:32:00Z", "\u0000", "null",
    ]),
    st.sampled_from([
        "acme_hq", "apac", "custom", "https://sms.8x8.com", "SG", "MyBrand", True,
    ]),
    st.text(max_size=12), st.integers(), st.datetimes(),
)
PROFILE_TABLE = st.fixed_dictionaries({}, optional={
    name: FIELD_VALUES for name in ("name", "subaccount_id", "account_id", "region", "base_url",
                                    "sender", "country", "sandbox", "unknown_field")
})
SETTINGS_DOC = st.fixed_dictionaries({}, optional={
    "active_profile": st.one_of(NAMES, FIELD_VALUES),
    "theme": FIELD_VALUES,
    "profiles": st.one_of(st.dictionaries(NAMES, st.one_of(PROFILE_TABLE, FIELD_VALUES),
                                          max_size=3), FIELD_VALUES),
    "extra": FIELD_VALUES,
})
VALID_FILE = (
    '# sms-tui settings\nactive_profile = "work"\ntheme = "textual-dark"\n\n'
    '[profiles.work]\nsubaccount_id = "acme_hq"\nregion = "eu"\nsender = "MyBrand"\n'
    'country = "SG"\n\n[profiles.local]\nsubaccount_id = "sandbox_hq"\nregion = "custom"\n'
    'base_url = "http://127.0.0.1:8808"\nsandbox = true\n'
)


def _toml(doc: dict) -> bytes:
    try:
        return tomli_w.dumps(doc).encode()
    except (TypeError, ValueError):
        return repr(doc).encode("utf-8", "surrogatepass")


@st.composite
def _edited(draw) -> bytes:
    """The valid file, hand-edited: a piece cut out, something typed in, or cut short."""
    data = VALID_FILE.encode()
    at = draw(st.integers(0, len(data)))
    what = draw(st.sampled_from(["cut", "insert", "truncate", "replace"]))
    if what == "truncate":
        return data[:at]
    end = draw(st.integers(at, min(len(data), at + 20)))
    typed = draw(st.one_of(st.binary(max_size=10), st.text(max_size=10).map(
        lambda t: t.encode("utf-8", "surrogatepass")),
        st.sampled_from([b"=", b'"', b"[", b"]]", b"\n[profiles.work]\n", b"\x00", b"\xff",
                         b'"""', b"\\u0000", b"true", b"1979-05-27T07:32:00Z"])))
    if what == "cut":
        return data[:at] + data[end:]
    if what == "insert":
        return data[:at] + typed + data[at:]
    return data[:at] + typed + data[end:]


FILES = st.one_of(SETTINGS_DOC.map(_toml), _edited(), st.binary(max_size=400),
                  st.just(VALID_FILE.encode()))


@fuzz_settings()
@given(FILES)
@example(VALID_FILE.encode())
@example(b"\xef\xbb\xbf" + VALID_FILE.encode())  # a byte-order mark added by an editor
def test_any_profile_file_loads_correctly_or_is_refused_and_never_changed(data):
    assert not [name for name in os.environ if name.startswith("SMS_TUI_")]  # isolated_home
    folder = _scratch()
    path = folder / "config.toml"
    path.write_bytes(data)
    os.chmod(path, 0o600)
    before = path.stat()
    try:
        settings = config.load_settings(path)
    except ConfigError as error:
        assert_sentence(error, limit=4_000)
        assert str(path) in str(error)
        settings = None
    after = path.stat()
    assert path.read_bytes() == data, "reading the profile file changed it"
    assert (after.st_mtime_ns, after.st_mode, after.st_size, after.st_ino) == (
        before.st_mtime_ns, before.st_mode, before.st_size, before.st_ino)
    assert sorted(p.name for p in folder.iterdir()) == ["config.toml"]
    if settings is None:
        return
    # A correct result: every profile is usable as it is, and it says what the file says.
    for name, profile in settings.profiles.items():
        assert profile.name == name
        config.Profile.model_validate(profile.model_dump())
        base = profile.effective_base_url()
        assert config.check_base_url(base) == base
    assert settings.active_profile is None or settings.active_profile in settings.profiles
    # Saved and loaded again, nothing changes.
    copy = folder.parent / "copy" / "config.toml"
    config.save_settings(settings, copy)
    assert config.load_settings(copy) == settings
    try:
        resolved = config.resolve_profile(settings=settings)
    except ConfigError as error:
        assert_sentence(error)
    else:
        assert resolved.name in settings.profiles


_SCRATCH: list[Path] = []


def _scratch() -> Path:
    """One directory for every example (a fresh one each would cost more than the check)."""
    if not _SCRATCH:
        root = Path(tempfile.mkdtemp(prefix="sms-tui-fuzz-"))
        (root / "file").mkdir()
        _SCRATCH.append(root / "file")
    return _SCRATCH[0]


@pytest.fixture(autouse=True, scope="module")
def _remove_scratch() -> Iterator[None]:
    yield
    import shutil

    for folder in _SCRATCH:
        shutil.rmtree(folder.parent, ignore_errors=True)
    _SCRATCH.clear()

"""The sandbox as an HTTP server, spoken to with plain httpx: paths, rules, codes, faults."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import httpx
import pytest

from sms_tui.errors import SandboxError
from sms_tui.sandbox import (
    FAULTS,
    SANDBOX_API_KEY,
    TEST_NUMBER_REJECTED,
    TEST_NUMBER_UNDELIVERED,
    Sandbox,
)

NUMBER = "+6591234567"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d\dZ$")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def http(sandbox):
    with httpx.Client(
        base_url=sandbox.base_url,
        headers={"Authorization": f"Bearer {sandbox.api_key}"},
        timeout=5.0,
    ) as client:
        yield client


def messages_path(sandbox, *rest: str) -> str:
    return "/".join([f"/api/v1/subaccounts/{sandbox.subaccount_id}/messages", *rest])


def assert_envelope(response: httpx.Response, status: int, code: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert body["message"]
    uuid.UUID(body["errorId"])
    assert TIMESTAMP.match(body["timestamp"])
    return body


# ------------------------------------------------------------------------------ auth


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic c2FuZGJveA=="}],
)
def test_a_missing_or_wrong_key_is_401_1200(sandbox, headers):
    response = httpx.post(
        sandbox.base_url + messages_path(sandbox), json={"destination": NUMBER, "text": "x"},
        headers=headers,
    )
    assert_envelope(response, 401, 1200)


def test_the_default_key_is_documented():
    assert SANDBOX_API_KEY == "sandbox-key"
    with Sandbox() as server:
        response = httpx.get(
            f"{server.base_url}/api/v1/accounts/sandbox/balance",
            headers={"Authorization": "Bearer sandbox-key"},
        )
    assert response.status_code == 200
    assert server.subaccount_id == "sandbox_hq"


@pytest.mark.parametrize("subaccount", ["x", "other_hq", "has space"])
def test_a_subaccount_that_is_not_ours_is_1001(http, subaccount):
    response = http.post(
        f"/api/v1/subaccounts/{subaccount}/messages", json={"destination": NUMBER, "text": "x"}
    )
    assert_envelope(response, 400, 1001)


# ------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"destination": None}, 1002),
        ({"destination": "+0123456789"}, 1002),
        ({"destination": "12345"}, 1002),
        ({"destination": "+1234567890123456"}, 1002),
        ({"destination": TEST_NUMBER_REJECTED}, 1002),
        ({"destination": 6591234567}, 1000),
        ({"text": None}, 1004),
        ({"text": ""}, 1004),
        ({"text": "x" * 1601}, 1004),
        ({"source": "S" * 17}, 1005),
        ({"encoding": "UTF8"}, 1003),
        ({"encoding": "gsm7"}, 1003),
        ({"clientMessageId": "c" * 351}, 1000),
        ({"country": "SGP"}, 1009),
        ({"scheduled": "tomorrow"}, 1011),
        ({"expiry": "soon"}, 1006),
        ({"expiry": "2001-01-01T00:00:00Z"}, 1006),
        ({"scheduled": "2099-01-02T00:00:00Z", "expiry": "2099-01-01T00:00:00Z"}, 1006),
        ({"clientIp": "999.1.1.1"}, 1012),
        ({"dlrCallbackUrl": "ftp://example.com/dlr"}, 1000),
        ({"track": "Maybe"}, 1000),
    ],
)
def test_send_validation_follows_the_openapi_rules(http, sandbox, fields, code):
    body = {"destination": NUMBER, "text": "Hello", **fields}
    body = {k: v for k, v in body.items() if v is not None}
    before = len(sandbox.ledger)
    assert_envelope(http.post(messages_path(sandbox), json=body), 400, code)
    assert len(sandbox.ledger) == before


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b""])
def test_a_body_that_is_not_a_json_object_is_1000(http, sandbox, content):
    response = http.post(
        messages_path(sandbox), content=content, headers={"Content-Type": "application/json"}
    )
    assert_envelope(response, 400, 1000)


def test_limits_that_are_just_allowed(http, sandbox):
    body = {
        "destination": "+123456789012345",  # 15 digits
        "text": "x" * 1600,
        "source": "S" * 16,
        "clientMessageId": "c" * 350,
        "encoding": "GSM7",
        "country": "SG",
        "track": "Outcome",
        "clientIp": "2001:db8::1",
        "dlrCallbackUrl": "https://example.com/dlr",
        "unknownField": "ignored like 8x8 does",
    }
    response = http.post(messages_path(sandbox), json=body)
    assert response.status_code == 200, response.text
    assert response.json()["status"]["code"] == "QUEUED"


def test_a_national_number_with_its_country_is_accepted(http, sandbox):
    response = http.post(
        messages_path(sandbox),
        json={"destination": "91234567", "country": "SG", "text": "Hi", "clientMessageId": "nat"},
    )
    assert response.status_code == 200
    entry = [e for e in sandbox.ledger if e.client_message_id == "nat"][-1]
    assert entry.destination == "+6591234567"


def test_encoding_and_segments_are_reported(http, sandbox):
    answer = http.post(messages_path(sandbox), json={"destination": NUMBER, "text": "Привет"})
    assert answer.json()["encoding"] == "UCS2"
    umid = answer.json()["umid"]
    [entry] = [e for e in sandbox.ledger if e.umid == umid]
    assert entry.sms_count == 1
    long_text = http.post(messages_path(sandbox), json={"destination": NUMBER, "text": "a" * 161})
    [entry] = [e for e in sandbox.ledger if e.umid == long_text.json()["umid"]]
    assert (entry.encoding, entry.sms_count) == ("GSM7", 2)


# ------------------------------------------------------------------------------ batch


def test_batch_with_destinations_derives_client_message_ids(http, sandbox):
    response = http.post(
        messages_path(sandbox, "batch"),
        json={
            "destinations": [NUMBER, TEST_NUMBER_REJECTED],
            "template": {"text": "Hi all", "source": "Shop"},
            "clientBatchId": "promo-7",
            "includeMessagesInResponse": True,
        },
    )
    body = response.json()
    assert (body["acceptedCount"], body["rejectedCount"]) == (1, 1)
    uuid.UUID(body["batchId"])
    assert body["clientBatchId"] == "promo-7"
    accepted, rejected = body["messages"]
    assert accepted["clientMessageId"] == "promo-7/6591234567"
    assert rejected["status"]["code"] == "REJECTED"
    assert sandbox.accepted("promo-7/6591234567") >= 1


def test_batch_messages_merge_the_template_and_reject_one_by_one(http, sandbox):
    response = http.post(
        messages_path(sandbox, "batch"),
        json={
            "messages": [
                {"destination": NUMBER, "clientMessageId": "m1"},
                {"destination": "+6591234568", "text": "Own text", "clientMessageId": "m2"},
                {"destination": "bad", "clientMessageId": "m3"},
                {"destination": NUMBER, "source": "S" * 17, "clientMessageId": "m4"},
                "not an object",
            ],
            "template": {"text": "Template text"},
            "includeMessagesInResponse": True,
        },
    )
    body = response.json()
    assert (body["acceptedCount"], body["rejectedCount"]) == (2, 3)
    codes = [m["status"]["code"] for m in body["messages"]]
    assert codes == ["QUEUED", "QUEUED", "REJECTED", "REJECTED", "REJECTED"]
    texts = {e.client_message_id: e.text for e in sandbox.ledger}
    assert texts["m1"] == "Template text" and texts["m2"] == "Own text"


def test_batch_without_messages_in_response(http, sandbox):
    response = http.post(
        messages_path(sandbox, "batch"),
        json={"destinations": [NUMBER], "template": {"text": "x"}},
    )
    assert response.status_code == 200 and "messages" not in response.json()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, 1000),
        ({"messages": []}, 1000),
        ({"destinations": "+6591234567", "template": {"text": "x"}}, 1000),
        ({"destinations": [NUMBER], "template": "x"}, 1007),
        ({"destinations": [NUMBER], "template": {"text": "x"}, "clientBatchId": "b" * 21}, 1000),
        ({"destinations": [NUMBER] * 10_001, "template": {"text": "x"}}, 1100),
    ],
)
def test_batch_level_errors(http, sandbox, body, code):
    assert_envelope(http.post(messages_path(sandbox, "batch"), json=body), 400, code)


# ------------------------------------------------------------------------------ lookups


def test_status_lookups_are_limited_to_one_per_second(http, sandbox):
    umid = http.post(messages_path(sandbox), json={"destination": NUMBER, "text": "x"}).json()[
        "umid"
    ]
    assert http.get(messages_path(sandbox, umid)).status_code == 200
    limited = http.get(messages_path(sandbox, umid))
    body = assert_envelope(limited, 429, 429)
    assert body["message"] == "Quota exceeded. Please try again in 1 second(s)."
    assert limited.headers["retry-after"] == "1"
    sandbox.reset()  # clears the rate-limit state
    assert http.get(messages_path(sandbox, umid)).status_code == 200


def test_status_answer_is_masked_and_has_the_documented_fields(http, sandbox):
    sandbox.lookup_interval = 0
    sent = http.post(
        messages_path(sandbox),
        json={"destination": NUMBER, "text": "Secret text", "source": "Shop"},
    ).json()
    details = http.get(messages_path(sandbox, sent["umid"])).json()
    assert details["body"] == "**MASKED**"
    assert details["msisdn"] == "+659123xxxx"
    assert details["country"] == "SG" and details["direction"] == "outbound"
    assert details["subAccountId"] == sandbox.subaccount_id
    assert set(details["price"]) == {"total", "perSms", "currency"}
    assert TIMESTAMP.match(details["createdAt"])
    assert "Secret text" not in http.get(messages_path(sandbox, sent["umid"])).text


def test_undelivered_and_rejected_test_numbers(http, sandbox):
    sandbox.lookup_interval = 0
    sent = http.post(
        messages_path(sandbox), json={"destination": TEST_NUMBER_UNDELIVERED, "text": "x"}
    ).json()
    sandbox.advance(sandbox.delivery_delay)
    status = http.get(messages_path(sandbox, sent["umid"])).json()["status"]
    assert status["state"] == "undelivered"
    assert status["detail"] == "undelivered_to_recipient"

    batch = http.post(
        messages_path(sandbox, "batch"),
        json={"destinations": [TEST_NUMBER_REJECTED], "template": {"text": "x"},
              "includeMessagesInResponse": True},
    ).json()
    rejected_umid = batch["messages"][0]["umid"]
    status = http.get(messages_path(sandbox, rejected_umid)).json()["status"]
    assert status["state"] == "failed" and status["errorCode"] == 1002


def test_unknown_and_malformed_umids(http, sandbox):
    sandbox.lookup_interval = 0
    assert_envelope(http.get(messages_path(sandbox, str(uuid.uuid4()))), 404, 1300)
    assert_envelope(http.get(messages_path(sandbox, "nope")), 400, 1000)
    assert_envelope(http.delete(messages_path(sandbox, str(uuid.uuid4()))), 404, 1300)
    assert_envelope(http.delete(messages_path(sandbox, str(uuid.uuid4()), "pii")), 404, 1300)
    assert_envelope(http.delete(messages_path(sandbox, "batch", str(uuid.uuid4()))), 404, 1300)


def test_pii_removal_is_202_without_body(http, sandbox):
    sent = http.post(messages_path(sandbox), json={"destination": NUMBER, "text": "x"}).json()
    response = http.delete(messages_path(sandbox, sent["umid"], "pii"))
    assert response.status_code == 202 and response.content == b""


def test_balance_rules(http, sandbox):
    assert http.get(f"/api/v1/accounts/{sandbox.account_id}/balance").json()["currency"]
    assert_envelope(http.get("/api/v1/accounts/someone-else/balance"), 403, 1201)
    sandbox.prepaid = False
    body = assert_envelope(http.get(f"/api/v1/accounts/{sandbox.account_id}/balance"), 403, 1201)
    assert "prepaid" in body["message"]


def test_unknown_paths_and_methods(http, sandbox):
    assert http.get("/api/v1/nothing").status_code == 404
    assert http.put(messages_path(sandbox), json={}).status_code == 405


# ------------------------------------------------------------------------------ HTTP


def test_keep_alive_and_connection_close(http, sandbox):
    for _ in range(3):
        http.get(f"/api/v1/accounts/{sandbox.account_id}/balance")
    assert len({r.connection for r in sandbox.received}) == 1
    response = http.get(
        f"/api/v1/accounts/{sandbox.account_id}/balance", headers={"Connection": "close"}
    )
    assert response.headers["connection"] == "close"


def test_a_chunked_request_body_is_read(sandbox):
    def chunks():
        yield b'{"destination": "+6591234567",'
        yield b' "text": "chunked", "clientMessageId": "chunky"}'

    response = httpx.post(
        sandbox.base_url + messages_path(sandbox), content=chunks(),
        headers={"Authorization": f"Bearer {sandbox.api_key}",
                 "Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert sandbox.accepted("chunky") == 1


def test_requests_are_recorded_as_received(http, sandbox):
    http.post(messages_path(sandbox), json={"destination": NUMBER, "text": "rec"})
    [request] = sandbox.received
    assert request.method == "POST" and request.endpoint == "send"
    assert request.json == {"destination": NUMBER, "text": "rec"}
    assert request.headers["authorization"] == f"Bearer {sandbox.api_key}"


# ------------------------------------------------------------------------------ faults


def test_inject_refuses_unknown_faults_and_endpoints(sandbox):
    with pytest.raises(ValueError):
        sandbox.inject("gremlins")
    with pytest.raises(ValueError):
        sandbox.inject("latency", endpoint="everywhere")
    with pytest.raises(ValueError):
        sandbox.inject("latency", probability=2)
    assert "latency" in FAULTS


def test_fault_times_endpoint_and_after(http, sandbox):
    balance = f"/api/v1/accounts/{sandbox.account_id}/balance"
    fault = sandbox.inject("server_error", times=2, endpoint="balance", after=1, status=503)
    http.post(messages_path(sandbox), json={"destination": NUMBER, "text": "x"})  # not balance
    statuses = [http.get(balance).status_code for _ in range(4)]
    assert statuses == [200, 503, 503, 200]
    assert fault.hits == 2 and fault.exhausted


def test_fault_probability(http, sandbox):
    balance = f"/api/v1/accounts/{sandbox.account_id}/balance"
    sandbox.inject("html_502", probability=1.0)
    assert all(http.get(balance).status_code == 502 for _ in range(3))
    sandbox.reset()
    sandbox.inject("html_502", probability=0.0)
    assert all(http.get(balance).status_code == 200 for _ in range(3))


def test_html_502_is_an_html_page(http, sandbox):
    sandbox.inject("html_502")
    response = http.get(f"/api/v1/accounts/{sandbox.account_id}/balance")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert b"<html>" in response.content


def test_rate_limit_fault_answers_like_8x8(http, sandbox):
    sandbox.inject("rate_limit", retry_after=3)
    response = http.post(messages_path(sandbox), json={"destination": NUMBER, "text": "x"})
    body = assert_envelope(response, 429, 429)
    assert body["message"] == "Quota exceeded. Please try again in 3 second(s)."
    assert response.headers["retry-after"] == "3"


@pytest.mark.parametrize(
    ("fault", "accepted"), [("drop_before_accept", 0), ("drop_after_accept", 1)]
)
def test_dropped_connections(http, sandbox, fault, accepted):
    sandbox.inject(fault)
    with pytest.raises(httpx.RemoteProtocolError):
        http.post(messages_path(sandbox),
                  json={"destination": NUMBER, "text": "x", "clientMessageId": f"d-{fault}"})
    assert sandbox.accepted(f"d-{fault}") == accepted


def test_faults_can_be_injected_from_many_threads(sandbox):
    balance = f"{sandbox.base_url}/api/v1/accounts/{sandbox.account_id}/balance"
    headers = {"Authorization": f"Bearer {sandbox.api_key}"}
    faults = []
    statuses: list[int] = []
    lock = threading.Lock()

    def worker():
        faults.append(sandbox.inject("server_error", times=5, endpoint="balance"))
        with httpx.Client(headers=headers) as client:
            for _ in range(10):
                status = client.get(balance).status_code
                with lock:
                    statuses.append(status)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 4 faults x 5 hits each, exactly, among 40 requests.
    assert statuses.count(500) == 20 and statuses.count(200) == 20
    assert sum(f.hits for f in faults) == 20


def test_reset_clears_faults_but_keeps_the_ledger(http, sandbox):
    http.post(messages_path(sandbox),
              json={"destination": NUMBER, "text": "x", "clientMessageId": "keep-me"})
    sandbox.inject("html_502", times=10)
    sandbox.reset()
    assert http.get(f"/api/v1/accounts/{sandbox.account_id}/balance").status_code == 200
    assert sandbox.accepted("keep-me") == 1


# ------------------------------------------------------------------------------ lifecycle


def test_a_taken_port_is_a_clear_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SandboxError) as caught:
            Sandbox(port=port).start()
    assert str(port) in str(caught.value)


def test_only_loopback_hosts():
    with pytest.raises(SandboxError):
        Sandbox(host="0.0.0.0")


def test_ipv6_loopback():
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        server = Sandbox(host="::1").start()
    except SandboxError:
        pytest.skip("::1 is not available on this machine")
    try:
        assert server.base_url.startswith("http://[::1]:")
        response = httpx.get(f"{server.base_url}/api/v1/accounts/sandbox/balance",
                             headers={"Authorization": f"Bearer {server.api_key}"})
        assert response.status_code == 200
    finally:
        server.stop()


def test_stop_is_idempotent_and_closes_connections():
    server = Sandbox().start()
    with httpx.Client(base_url=server.base_url) as client:
        client.get("/api/v1/accounts/sandbox/balance")  # keeps a connection open
        server.stop()
        server.stop()
        with pytest.raises(httpx.TransportError):
            client.get("/api/v1/accounts/sandbox/balance")


def test_sms_tui_sandbox_runs_in_the_foreground_until_ctrl_c():
    script = (
        "import argparse, signal, sys\n"
        # A parent started in the background may pass SIGINT on ignored; Ctrl-C is under test.
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "from sms_tui.cli import sandbox\n"
        "parser = argparse.ArgumentParser()\n"
        "sandbox.add_parser(parser.add_subparsers(dest='command'))\n"
        "sys.exit(sandbox.run(parser.parse_args(['sandbox', '--port', '0'])))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                break
        banner = "".join(lines)
        url = re.search(r"Base URL\s+(http://\S+)", banner).group(1)
        assert "sandbox_hq" in banner and SANDBOX_API_KEY in banner
        assert TEST_NUMBER_UNDELIVERED in banner and TEST_NUMBER_REJECTED in banner
        response = httpx.post(
            f"{url}/api/v1/subaccounts/sandbox_hq/messages",
            json={"destination": NUMBER, "text": "hello"},
            headers={"Authorization": f"Bearer {SANDBOX_API_KEY}"},
        )
        assert response.status_code == 200
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "POST /api/v1/subaccounts/sandbox_hq/messages -> 200" in out
    assert "Sandbox stopped." in err
    assert "Traceback" not in err


def test_sms_tui_sandbox_also_stops_on_sigterm():
    script = (
        "import argparse, sys\n"
        "from sms_tui.cli import sandbox\n"
        "parser = argparse.ArgumentParser()\n"
        "sandbox.add_parser(parser.add_subparsers(dest='command'))\n"
        "sys.exit(sandbox.run(parser.parse_args(['sandbox', '--port', '0', '--quiet'])))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        for line in process.stdout:
            if "Ctrl-C" in line:
                break
        process.terminate()
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "Sandbox stopped." in err

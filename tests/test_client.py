"""SmsClient against the sandbox over real loopback HTTP: answers, errors, retries, faults."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from pathlib import Path

import pytest

from sms_tui import __version__
from sms_tui.client import SmsClient, check_base_url
from sms_tui.credentials import ApiKey
from sms_tui.errors import (
    ApiError,
    AuthenticationError,
    InvalidInput,
    NotFound,
    NotSent,
    OutcomeUnknown,
    PermissionDenied,
    ProtocolError,
    RateLimited,
    RequestRejected,
    ServerError,
    SmsTuiError,
    SubaccountNotFound,
    UpgradeRequired,
)
from sms_tui.models import BatchRequest, SmsRequest, SmsTemplate
from sms_tui.sandbox import TEST_NUMBER_REJECTED, TEST_NUMBER_UNDELIVERED, Sandbox

NUMBER = "+6591234567"

TUTORIAL_KEY = "5DhZxZRILVPKjXuFWsd7QGZ**********31n19pYmg"
TUTORIAL_FIELDS = {
    "source": "MyBrand",
    "destination": "+6512345678",
    "text": "Bob, a special present for you from Santa",
    "encoding": "AUTO",
}


def make_client(sandbox: Sandbox, **overrides) -> SmsClient:
    options = dict(
        api_key=ApiKey(sandbox.api_key),
        subaccount_id=sandbox.subaccount_id,
        base_url=sandbox.base_url,
        account_id=sandbox.account_id,
        timeout=2.0,
        retry_backoff=0.01,
        max_retry_wait=2.0,
    )
    options.update(overrides)
    return SmsClient(**options)


@pytest.fixture
async def client(sandbox):
    async with make_client(sandbox) as client:
        yield client


def received_for(sandbox: Sandbox, client_message_id: str) -> int:
    """How many requests carrying this clientMessageId reached the sandbox at all."""
    return sum(
        1 for r in sandbox.received
        if isinstance(r.json, dict) and r.json.get("clientMessageId") == client_message_id
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ------------------------------------------------------------------------------ success


async def test_send_is_queued_with_a_umid_and_a_generated_client_message_id(client, sandbox):
    response = await client.send(SmsRequest(destination=NUMBER, text="Hello"))

    assert response.status.code == "QUEUED" and response.status.accepted
    assert response.umid and response.encoding == "GSM7"
    assert response.client_message_id.startswith("sms-tui-")
    assert sandbox.accepted(response.client_message_id) == 1
    assert sandbox.received[-1].headers["user-agent"] == f"sms-tui/{__version__}"


async def test_a_given_client_message_id_is_kept(client, sandbox):
    response = await client.send(
        SmsRequest(destination=NUMBER, text="Hi", client_message_id="order-42-reminder")
    )
    assert response.client_message_id == "order-42-reminder"
    assert sandbox.accepted("order-42-reminder") >= 1


async def test_connections_are_reused(client, sandbox):
    for _ in range(5):
        await client.send(SmsRequest(destination=NUMBER, text="again"))
    assert len({r.connection for r in sandbox.received}) == 1


async def test_tutorial_example_sends_the_same_request_as_its_curl_command():
    # The tutorial's account: subaccount riders_hq and its (partly masked) key.
    with Sandbox(api_key=TUTORIAL_KEY, subaccount_id="riders_hq", account_id="riders") as tut:
        async with make_client(tut) as client:
            response = await client.send(SmsRequest(**TUTORIAL_FIELDS))
        request = tut.received[-1]

    assert request.method == "POST"
    assert request.path == "/api/v1/subaccounts/riders_hq/messages"
    assert request.headers["authorization"] == f"Bearer {TUTORIAL_KEY}"
    assert request.headers["content-type"] == "application/json"
    # The same JSON fields and values; sms-tui adds only its clientMessageId, so that a
    # duplicate can be traced.
    assert {k: v for k, v in request.json.items() if k != "clientMessageId"} == TUTORIAL_FIELDS
    assert request.json["clientMessageId"] == response.client_message_id
    # And the base URL is the tutorial's (Asia-Pacific) by default.
    default = SmsClient(api_key=ApiKey(TUTORIAL_KEY), subaccount_id="riders_hq")
    assert default.base_url == "https://sms.8x8.com"
    await default.aclose()


def test_tutorial_text_still_says_what_the_test_assumes():
    tutorial = Path(__file__).resolve().parents[2] / "shared" / "8x8" / "tutorial-single-sms.txt"
    if not tutorial.exists():
        pytest.skip(f"the tutorial is not beside the repository ({tutorial})")
    text = tutorial.read_text()
    curl = text[text.index('curl -X "POST" https://sms.8x8.com/api/v1/subaccounts/riders_hq'):]
    assert "https://sms.8x8.com/api/v1/subaccounts/riders_hq/messages" in curl
    payload = json.loads(curl[curl.index("$'") + 2: curl.index("}'") + 1])
    assert payload == TUTORIAL_FIELDS


async def test_batch_of_destinations_with_template(client, sandbox):
    [result] = await client.send_batch(
        BatchRequest(
            destinations=[NUMBER, "+6591234568", TEST_NUMBER_REJECTED],
            template=SmsTemplate(text="Sale today", source="MyBrand"),
        )
    )
    assert (result.accepted_count, result.rejected_count) == (2, 1)
    assert result.client_batch_id and len(result.client_batch_id) <= 20
    assert [m.status.code for m in result.messages] == ["QUEUED", "QUEUED", "REJECTED"]


async def test_batch_of_messages_gets_a_client_message_id_each(client, sandbox):
    [result] = await client.send_batch(
        BatchRequest(
            messages=[
                SmsRequest(destination=NUMBER, text="Hi Ann"),
                SmsRequest(destination="+6591234568", text="Hi Bob", client_message_id="bob-1"),
            ]
        )
    )
    ids = [m.client_message_id for m in result.messages]
    assert ids[0].startswith("sms-tui-") and ids[1] == "bob-1"
    assert all(sandbox.accepted(i) == 1 for i in ids)


async def test_batch_is_split_into_chunks(client, sandbox):
    messages = [SmsRequest(destination=f"+65912300{i:02d}", text=f"n{i}") for i in range(7)]
    results = await client.send_batch(BatchRequest(messages=messages), chunk_size=3)

    assert [r.accepted_count for r in results] == [3, 3, 1]
    batches = [r for r in sandbox.received if r.endpoint == "batch"]
    assert [len(r.json["messages"]) for r in batches] == [3, 3, 1]
    # One clientBatchId for the whole logical batch.
    assert len({r.json["clientBatchId"] for r in batches}) == 1


async def test_a_batch_over_10000_goes_in_two_requests(client, sandbox):
    destinations = [f"+6591{i:06d}" for i in range(10_001)]
    results = await client.send_batch(
        BatchRequest(destinations=destinations, template=SmsTemplate(text="Big news"))
    )
    assert [r.accepted_count for r in results] == [10_000, 1]
    batches = [r for r in sandbox.received if r.endpoint == "batch"]
    assert [len(r.json["destinations"]) for r in batches] == [10_000, 1]
    assert sum(len(r.messages) for r in results) == 10_001


async def test_a_failing_chunk_stops_the_batch_and_reports_what_went_through(client, sandbox):
    sandbox.inject("server_error", endpoint="batch", after=1)
    messages = [SmsRequest(destination=f"+65912300{i:02d}", text="x") for i in range(5)]

    with pytest.raises(OutcomeUnknown) as caught:
        await client.send_batch(BatchRequest(messages=messages), chunk_size=2)

    error = caught.value
    assert isinstance(error, ServerError) and error.status == 500
    assert [r.accepted_count for r in error.completed] == [2]
    assert (error.chunk_index, error.chunk_size) == (1, 2)
    # The third chunk was never sent.
    assert len([r for r in sandbox.received if r.endpoint == "batch"]) == 2


async def test_status_progresses_queued_sent_delivered(client, sandbox):
    sandbox.lookup_interval = 0
    sandbox.delivery_delay = 10
    sent = await client.send(SmsRequest(destination=NUMBER, text="Track me"))

    states = [(await client.get_message(sent.umid)).status.state]
    sandbox.advance(5)
    states.append((await client.get_message(sent.umid)).status.state)
    sandbox.advance(5)
    details = await client.get_message(sent.umid)
    states.append(details.status.state)

    assert states == ["queued", "sent", "delivered"]
    assert details.status.detail == "delivered_to_recipient"
    assert details.sms_count == 1 and details.price.currency
    # Content and number come back masked, like 8x8.
    assert details.body == "**MASKED**" and details.msisdn.endswith("xxxx")
    assert details.client_message_id == sent.client_message_id


async def test_undelivered_test_number_ends_undelivered(client, sandbox):
    sandbox.lookup_interval = 0
    sent = await client.send(SmsRequest(destination=TEST_NUMBER_UNDELIVERED, text="Hi"))
    sandbox.advance(sandbox.delivery_delay)
    details = await client.get_message(sent.umid)
    assert details.status.state == "undelivered"
    assert details.status.error_code is not None


async def test_cancel_a_scheduled_message_and_a_scheduled_batch(client, sandbox):
    from datetime import UTC, datetime, timedelta

    sandbox.lookup_interval = 0
    later = datetime.now(UTC) + timedelta(hours=1)
    sent = await client.send(SmsRequest(destination=NUMBER, text="Later", scheduled=later))

    assert await client.cancel(sent.umid) == 1
    assert (await client.get_message(sent.umid)).status.state == "cancelled"
    assert await client.cancel(sent.umid) == 0

    [batch] = await client.send_batch(
        BatchRequest(destinations=[NUMBER, "+6591234568"],
                     template=SmsTemplate(text="Later", scheduled=later))
    )
    assert await client.cancel_batch(batch.batch_id) == 2
    with pytest.raises(NotFound):
        await client.cancel_batch("0b7ed683-7142-400a-b4b4-191d6896075a")


async def test_delete_pii(client, sandbox):
    sent = await client.send(SmsRequest(destination=NUMBER, text="Private"))
    assert await client.delete_pii(sent.umid) is None
    assert sandbox.received[-1].path.endswith(f"/messages/{sent.umid}/pii")


async def test_balance_goes_down_per_segment(client, sandbox):
    before = await client.balance()
    await client.send(SmsRequest(destination=NUMBER, text="x" * 200))  # two GSM-7 segments
    after = await client.balance()
    assert before.currency == after.currency == "EUR"
    assert before.balance - after.balance == pytest.approx(0.10)


async def test_balance_is_none_when_the_account_is_not_prepaid(client, sandbox):
    sandbox.prepaid = False
    assert await client.balance() is None


async def test_verify_accepts_good_credentials_without_sending(client, sandbox):
    before = len(sandbox.ledger)
    await client.verify()
    assert len(sandbox.ledger) == before
    assert sandbox.received[-1].method == "GET"


async def test_last_exchange_records_the_request_with_the_key_masked(client, sandbox):
    await client.send(SmsRequest(destination=NUMBER, text="Hello"))
    exchange = client.last_exchange

    assert exchange.method == "POST" and exchange.status == 200
    assert exchange.url.endswith(f"/api/v1/subaccounts/{sandbox.subaccount_id}/messages")
    assert exchange.request_json["destination"] == NUMBER
    assert exchange.response_json["status"]["code"] == "QUEUED"
    assert exchange.request_headers["authorization"] == f"Bearer …{sandbox.api_key[-4:]}"
    assert sandbox.api_key not in json.dumps(exchange.as_dict())


# ------------------------------------------------------------------------------ API errors


async def test_wrong_key_is_an_authentication_error(sandbox):
    async with make_client(sandbox, api_key=ApiKey("wrong-key-0000000000000")) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.send(SmsRequest(destination=NUMBER, text="Hi"))
    error = caught.value
    assert (error.status, error.code) == (401, 1200)
    assert "1200" in str(error) and error.error_id in str(error)
    assert "wrong-key-0000000000000" not in str(error) + repr(error)
    with pytest.raises(AuthenticationError):
        async with make_client(sandbox, api_key=ApiKey("wrong-key-0000000000000")) as client:
            await client.verify()


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"destination": "12ab"}, 1002),
        ({"destination": "+0123456789"}, 1002),
        ({"destination": TEST_NUMBER_REJECTED}, 1002),
        ({"text": ""}, 1004),
        ({"source": "S" * 17}, 1005),
        ({"client_message_id": "c" * 351}, 1000),
        ({"country": "SGP"}, 1009),
        ({"client_ip": "999.1.1.1"}, 1012),
    ],
)
async def test_validation_errors_are_request_rejected(client, sandbox, fields, code):
    request = SmsRequest(**{"destination": NUMBER, "text": "Hi", **fields})
    with pytest.raises(RequestRejected) as caught:
        await client.send(request)
    error = caught.value
    assert (error.status, error.code) == (400, code)
    assert error.error_id and error.error_id in str(error)
    assert f"8x8 code {code}" in str(error)
    assert not isinstance(error, OutcomeUnknown)


async def test_expiry_in_the_past_is_rejected(client):
    from datetime import UTC, datetime, timedelta

    past = datetime.now(UTC) - timedelta(minutes=1)
    with pytest.raises(RequestRejected) as caught:
        await client.send(SmsRequest(destination=NUMBER, text="Hi", expiry=past))
    assert caught.value.code == 1006


async def test_unknown_message_is_not_found(client):
    with pytest.raises(NotFound) as caught:
        await client.get_message("0b7ed683-7142-400a-b4b4-191d6896075a")
    assert caught.value.code == 1300


async def test_malformed_umid_is_rejected(client):
    with pytest.raises(RequestRejected) as caught:
        await client.get_message("not-a-umid")
    assert caught.value.code == 1000


async def test_forbidden_is_permission_denied(client, sandbox):
    sandbox.inject("server_error", status=403, code=1201, message="Access forbidden")
    with pytest.raises(PermissionDenied) as caught:
        await client.get_message("0b7ed683-7142-400a-b4b4-191d6896075a")
    assert caught.value.code == 1201


async def test_old_tls_is_upgrade_required(client, sandbox):
    sandbox.inject("server_error", status=426, code=1014, message="TLS 1.3+ is required")
    with pytest.raises(UpgradeRequired) as caught:
        await client.send(SmsRequest(destination=NUMBER, text="Hi"))
    assert "TLS" in str(caught.value)


async def test_verify_with_a_subaccount_of_another_account(sandbox):
    async with make_client(sandbox, subaccount_id="someone_else_hq") as client:
        with pytest.raises(SubaccountNotFound) as caught:
            await client.verify()
    assert caught.value.code == 1001
    assert "someone_else_hq" in str(caught.value)


async def test_verify_with_a_forbidden_subaccount(client, sandbox):
    sandbox.inject("server_error", status=403, code=1201, message="Access forbidden")
    with pytest.raises(SubaccountNotFound):
        await client.verify()


async def test_server_error_on_a_lookup_is_a_server_error(client, sandbox):
    sandbox.inject("server_error", endpoint="status")
    with pytest.raises(ServerError) as caught:
        await client.get_message("0b7ed683-7142-400a-b4b4-191d6896075a")
    assert not isinstance(caught.value, OutcomeUnknown)
    assert caught.value.code == 2000


# ------------------------------------------------------------------------------ 429


async def test_429_then_success_is_retried(client, sandbox):
    sandbox.inject("rate_limit", retry_after=0.05)
    response = await client.send(
        SmsRequest(destination=NUMBER, text="Hi", client_message_id="rate-limited-once")
    )
    assert response.status.accepted
    assert received_for(sandbox, "rate-limited-once") == 2
    assert sandbox.accepted("rate-limited-once") == 1
    assert client.last_exchange.attempts == 2


async def test_429_wait_comes_from_the_message_without_retry_after(client, sandbox):
    sandbox.inject("rate_limit", retry_after=0.05, header=False)
    response = await client.send(SmsRequest(destination=NUMBER, text="Hi"))
    assert response.status.accepted
    assert "retry-after" not in client.last_exchange.response_headers


async def test_status_lookups_are_paced_by_the_real_limit(client, sandbox):
    # 8x8 allows one lookup per second; two seconds here leave room for a slow machine.
    sandbox.lookup_interval = 2.0
    sent = await client.send(SmsRequest(destination=NUMBER, text="Hi"))
    await client.get_message(sent.umid)
    details = await client.get_message(sent.umid)  # 429 first, then waits as told
    assert details.umid == sent.umid
    assert client.last_exchange.attempts == 2
    statuses = [r for r in sandbox.received if r.endpoint == "status"]
    assert len(statuses) == 3


async def test_429_every_time_gives_up_after_max_attempts(client, sandbox):
    sandbox.inject("rate_limit", times=5, retry_after=0.01)
    with pytest.raises(RateLimited) as caught:
        await client.send(SmsRequest(destination=NUMBER, text="Hi", client_message_id="rl-3"))
    assert caught.value.retry_after == pytest.approx(0.01)
    assert received_for(sandbox, "rl-3") == 3
    assert sandbox.accepted("rl-3") == 0


async def test_429_asking_for_too_long_a_wait_is_not_waited(client, sandbox):
    sandbox.inject("rate_limit", retry_after=60)
    with pytest.raises(RateLimited) as caught:
        await client.send(SmsRequest(destination=NUMBER, text="Hi", client_message_id="rl-60"))
    assert caught.value.retry_after == 60
    assert received_for(sandbox, "rl-60") == 1


# ------------------------------------------------------------------------------ faults


@pytest.mark.parametrize(
    ("fault", "params", "accepted"),
    [
        ("drop_before_accept", {}, 0),
        ("drop_after_accept", {}, 1),
        ("drop_mid_response", {}, 1),
        ("latency", {"seconds": 1.0}, 1),
        ("server_error", {}, 0),
        ("server_error", {"accept": True, "status": 503}, 1),
        ("html_502", {}, 0),
        ("malformed_body", {}, 1),
        ("invalid_schema", {}, 1),
    ],
)
async def test_a_send_whose_outcome_is_unknown_is_never_retried(sandbox, fault, params, accepted):
    sandbox.inject(fault, **params)
    cmid = f"unknown-{fault}-{len(params)}"
    async with make_client(sandbox, timeout=0.5) as client:
        with pytest.raises(OutcomeUnknown) as caught:
            await client.send(SmsRequest(destination=NUMBER, text="Hi", client_message_id=cmid))

    # Exactly one request reached the sandbox, whatever it did with it: no retry.
    assert received_for(sandbox, cmid) == 1
    assert sandbox.accepted(cmid) == accepted
    message = str(caught.value)
    assert "may or may not have reached 8x8" in message
    assert "<html" not in message.lower()


async def test_fault_classes_on_a_send(sandbox):
    async with make_client(sandbox, timeout=0.5) as client:
        sandbox.inject("html_502")
        with pytest.raises(ServerError) as caught:
            await client.send(SmsRequest(destination=NUMBER, text="Hi"))
        assert caught.value.status == 502 and caught.value.code is None

        sandbox.inject("malformed_body")
        with pytest.raises(ProtocolError):
            await client.send(SmsRequest(destination=NUMBER, text="Hi"))


async def test_faults_on_a_lookup_are_not_about_sending(client, sandbox):
    umid = "0b7ed683-7142-400a-b4b4-191d6896075a"
    sandbox.inject("html_502")
    with pytest.raises(ServerError) as caught:
        await client.get_message(umid)
    assert "502" in str(caught.value) and "<html" not in str(caught.value)
    assert not isinstance(caught.value, OutcomeUnknown)

    sandbox.inject("malformed_body")
    with pytest.raises(ProtocolError) as malformed:
        await client.balance()
    assert not isinstance(malformed.value, OutcomeUnknown)

    sandbox.inject("invalid_schema")
    with pytest.raises(ProtocolError) as wrong_types:
        await client.balance()
    assert "balance" in str(wrong_types.value)


async def test_small_latency_is_just_slow(client, sandbox):
    sandbox.inject("latency", seconds=0.05)
    response = await client.send(SmsRequest(destination=NUMBER, text="Hi"))
    assert response.status.accepted


async def test_connection_refused_is_not_sent_after_retries(sandbox):
    async with make_client(sandbox, base_url=f"http://127.0.0.1:{closed_port()}") as client:
        with pytest.raises(NotSent) as caught:
            await client.send(SmsRequest(destination=NUMBER, text="Hi"))
        assert client.last_exchange.attempts == 3
        assert client.last_exchange.status is None and client.last_exchange.error
    assert "refused" in str(caught.value)
    assert not isinstance(caught.value, OutcomeUnknown)


async def test_tls_handshake_failure_is_not_sent(sandbox):
    before = len(sandbox.ledger)
    base_url = sandbox.base_url.replace("http://", "https://")
    async with make_client(sandbox, base_url=base_url, max_attempts=1) as client:
        with pytest.raises(NotSent) as caught:
            await client.send(SmsRequest(destination=NUMBER, text="Hi"))
    assert "TLS" in str(caught.value)
    assert len(sandbox.ledger) == before


async def test_unresolvable_host_is_not_sent(sandbox):
    async with make_client(sandbox, base_url="https://sms-tui-test.invalid",
                           max_attempts=1) as client:
        with pytest.raises(NotSent):
            await client.send(SmsRequest(destination=NUMBER, text="Hi"))


async def test_waiting_for_a_busy_pool_is_not_sent(sandbox):
    sandbox.inject("latency", seconds=1.0, endpoint="send")
    async with make_client(sandbox, max_connections=1, connect_timeout=0.1,
                           max_attempts=1) as client:
        slow = asyncio.create_task(
            client.send(SmsRequest(destination=NUMBER, text="slow", client_message_id="slow"))
        )
        while not received_for(sandbox, "slow"):  # it has the only connection now
            await asyncio.sleep(0.01)
        with pytest.raises(NotSent) as caught:
            await client.send(SmsRequest(destination=NUMBER, text="x", client_message_id="waits"))
        await slow
    assert "busy" in str(caught.value)
    assert received_for(sandbox, "waits") == 0


# ------------------------------------------------------------------------------ base URL


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com",
        "http://sms.8x8.com",
        "http://localhost.example.com",
        "http://10.0.0.1:8808",
        "ftp://127.0.0.1",
        "",
        "https://user:secret@sms.8x8.com",
        "https://sms.8x8.com/?x=1",
    ],
)
def test_base_urls_that_are_refused(url):
    with pytest.raises(InvalidInput):
        check_base_url(url)


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("https://sms.8x8.com", "https://sms.8x8.com"),
        ("https://sms.8x8.uk/", "https://sms.8x8.uk"),
        ("http://127.0.0.1:8808", "http://127.0.0.1:8808"),
        ("http://127.9.9.9", "http://127.9.9.9"),
        ("http://localhost:8808/", "http://localhost:8808"),
        ("http://[::1]:8808", "http://[::1]:8808"),
        ("HTTPS://proxy.example.com/8x8/", "https://proxy.example.com/8x8"),
    ],
)
def test_base_urls_that_are_accepted(url, normalised):
    assert check_base_url(url) == normalised


async def test_plain_http_to_a_remote_host_is_refused_before_connecting():
    with pytest.raises(InvalidInput) as caught:
        SmsClient(api_key=ApiKey("a-real-looking-key-12345"), subaccount_id="riders_hq",
                  base_url="http://example.com")
    assert "https" in str(caught.value)
    assert "a-real-looking-key-12345" not in str(caught.value)


async def test_plain_http_to_loopback_is_allowed(client, sandbox):
    assert client.base_url.startswith("http://127.0.0.1:")
    await client.verify()


def test_invalid_subaccount_is_refused_before_connecting():
    with pytest.raises(InvalidInput):
        SmsClient(api_key=ApiKey("a-real-looking-key-12345"), subaccount_id="no spaces!")


# ------------------------------------------------------------------------------ the key


async def test_the_key_appears_in_no_repr_exception_or_log(sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    secret = sandbox.api_key
    seen: list[str] = []
    async with make_client(sandbox, timeout=0.5) as client:
        seen += [repr(client), str(client)]
        await client.send(SmsRequest(destination=NUMBER, text="Hi"))
        seen += [repr(client.last_exchange), json.dumps(client.last_exchange.as_dict())]
        # A server that echoes the key back in its error message.
        sandbox.inject("server_error", status=400, code=1000, message=f"bad token {secret}")
        sandbox.inject("server_error", endpoint="status")
        sandbox.inject("drop_after_accept", endpoint="send")
        attempts = [
            client.send(SmsRequest(destination=NUMBER, text="Hi")),
            client.get_message("0b7ed683-7142-400a-b4b4-191d6896075a"),
            client.send(SmsRequest(destination=NUMBER, text="Hi")),
            client.get_message("nope"),
        ]
        for attempt in attempts:
            with pytest.raises(SmsTuiError) as caught:
                await attempt
            error = caught.value
            seen += [str(error), repr(error), *map(str, error.args)]
            if isinstance(error, ApiError):
                seen.append(error.api_message)
            seen += [repr(client.last_exchange), json.dumps(client.last_exchange.as_dict())]
    async with make_client(sandbox, base_url=f"http://127.0.0.1:{closed_port()}",
                           max_attempts=1) as client:
        with pytest.raises(NotSent) as caught:
            await client.verify()
        seen += [str(caught.value), repr(caught.value), repr(client.last_exchange)]
    seen += [record.getMessage() for record in caplog.records]

    assert any("bad token" in text for text in seen)
    for text in seen:
        assert secret not in text


# ------------------------------------------------------------------------------ models


def test_models_speak_camel_case_on_the_wire_and_snake_case_in_python():
    from sms_tui.models import MessageDetails

    request = SmsRequest(
        destination=NUMBER, text="Hi", client_message_id="c-1",
        dlr_callback_url="https://example.com/dlr",
    )
    wire = request.to_wire()
    assert wire == {
        "destination": NUMBER, "text": "Hi", "clientMessageId": "c-1",
        "dlrCallbackUrl": "https://example.com/dlr",
    }
    assert SmsRequest.model_validate(wire) == request
    details = MessageDetails.model_validate(
        {"umid": "u-1", "status": {"state": "sent", "errorCode": 7, "somethingNew": True},
         "smsCount": 2, "aFieldFromTomorrow": {"x": 1}}
    )
    assert (details.sms_count, details.status.error_code) == (2, 7)
    assert BatchRequest(destinations=[NUMBER, NUMBER]).size == 2
    with pytest.raises(ValueError):
        BatchRequest()

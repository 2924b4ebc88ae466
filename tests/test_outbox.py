"""The send workflow end to end: validation, write-ahead records, outcomes, status refresh."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys

import pytest
from conftest import SANDBOX_TEST_KEY

from sms_tui import outbox
from sms_tui.client import SmsClient
from sms_tui.config import Profile
from sms_tui.credentials import ApiKey
from sms_tui.errors import InvalidInput
from sms_tui.history import History, HistoryFilter


@pytest.fixture
def profile(sandbox) -> Profile:
    return Profile(
        name="test",
        subaccount_id=sandbox.subaccount_id,
        account_id=sandbox.account_id,
        region="custom",
        base_url=sandbox.base_url,
        sender="MyBrand",
        country="SG",
        sandbox=True,
    )


@pytest.fixture
def history(tmp_path):
    with History(tmp_path / "history.sqlite3") as store:
        yield store


def client_for(profile: Profile, key: str = SANDBOX_TEST_KEY, **options) -> SmsClient:
    return SmsClient(
        api_key=ApiKey(key),
        subaccount_id=profile.subaccount_id,
        base_url=profile.effective_base_url(),
        account_id=profile.effective_account_id(),
        **options,
    )


def send(draft, profile, history, **client_options) -> outbox.SendReport:
    prepared = outbox.prepare(draft, profile)

    async def go():
        async with client_for(profile, **client_options) as client:
            return await outbox.send(prepared, client=client, history=history, profile=profile)

    return asyncio.run(go())


def records(history: History):
    return list(reversed(history.page(HistoryFilter(), limit=1000)))


def test_a_single_send_is_recorded_as_queued_with_its_umid(sandbox, profile, history):
    report = send(outbox.Draft(to="+6512345678", text="Hello from the tests"), profile, history)

    assert report.all_accepted
    [result] = report.results
    assert result.state == "queued" and result.umid
    [record] = records(history)
    assert record.state == "queued"
    assert record.umid == result.umid
    assert record.destination == "+6512345678"
    assert record.sender == "MyBrand"
    assert record.encoding == "GSM7" and record.segment_count == 1
    assert sandbox.accepted(record.client_message_id) == 1
    sent = json.loads(record.request_json)
    assert sent == {
        "destination": "+6512345678",
        "text": "Hello from the tests",
        "encoding": "AUTO",
        "source": "MyBrand",
        "clientMessageId": record.client_message_id,
    }


def test_national_numbers_use_the_profile_country(sandbox, profile, history):
    report = send(outbox.Draft(to="8123 4567", text="hi"), profile, history)
    assert report.results[0].destination == "+6581234567"


def test_several_recipients_go_out_as_one_batch_with_a_record_each(sandbox, profile, history):
    numbers = ["+6581234567", "+6591234567", "+6598765432"]
    progress = []
    prepared = outbox.prepare(outbox.Draft(to="\n".join(numbers), text="Café ☕"), profile)
    assert prepared.total_segments == 3
    assert prepared.analysis.encoding == "UCS2"

    async def go():
        async with client_for(profile) as client:
            return await outbox.send(
                prepared,
                client=client,
                history=history,
                profile=profile,
                on_progress=lambda done, total: progress.append((done, total)),
            )

    report = asyncio.run(go())
    assert report.all_accepted
    assert [r.destination for r in report.results] == numbers
    stored = records(history)
    assert [r.destination for r in stored] == numbers
    assert all(r.state == "queued" and r.umid and r.batch_id for r in stored)
    assert len({r.client_message_id for r in stored}) == 3
    assert progress[0] == (0, 3) and progress[-1] == (3, 3)


@pytest.mark.parametrize(
    ("draft", "message"),
    [
        (outbox.Draft(to="+6512345678", text=""), "empty"),
        (outbox.Draft(to="+6512345678", text="   \n"), "empty"),
        (outbox.Draft(to="", text="hi"), "recipient"),
        (outbox.Draft(to="+65123, not-a-number", text="hi"), "invalid"),
        (outbox.Draft(to="+6512345678", text="hi", encoding="LATIN1"), "encoding"),
        (outbox.Draft(to="+6512345678", text="hi", client_message_id="x" * 351), "350"),
    ],
)
def test_invalid_drafts_are_refused_before_anything_is_recorded(
    sandbox, profile, history, draft, message
):
    with pytest.raises(InvalidInput) as raised:
        outbox.prepare(draft, profile)
    assert message in str(raised.value).lower()
    assert history.count(HistoryFilter()) == 0


def test_a_bad_key_is_recorded_as_rejected_with_the_8x8_code(sandbox, profile, history):
    report = send(outbox.Draft(to="+6512345678", text="hi"), profile, history, key="not-the-key")
    [result] = report.results
    assert result.state == "rejected"
    [record] = records(history)
    assert record.state == "rejected"
    assert record.http_status == 401 and record.error_code == 1200
    assert record.error_id


def test_a_dropped_connection_is_recorded_as_unknown_never_as_sent(sandbox, profile, history):
    sandbox.inject("drop_after_accept")
    report = send(outbox.Draft(to="+6512345678", text="hi"), profile, history)
    [result] = report.results
    assert result.state == "unknown"
    assert not report.all_accepted
    [record] = records(history)
    assert record.state == "unknown"
    # The sandbox did accept it: and the workflow did not send it a second time.
    assert sandbox.accepted(record.client_message_id) == 1


def test_a_server_error_on_send_is_unknown_and_not_retried(sandbox, profile, history):
    sandbox.inject("server_error")
    report = send(outbox.Draft(to="+6512345678", text="hi"), profile, history)
    assert report.results[0].state == "unknown"
    [record] = records(history)
    assert sandbox.accepted(record.client_message_id) <= 1


def test_rate_limiting_is_waited_out_and_the_message_goes_once(sandbox, profile, history):
    sandbox.inject("rate_limit")
    report = send(outbox.Draft(to="+6512345678", text="hi"), profile, history)
    assert report.all_accepted
    [record] = records(history)
    assert sandbox.accepted(record.client_message_id) == 1


def test_no_connection_means_failed(profile, history):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    offline = profile.model_copy(update={"base_url": f"http://127.0.0.1:{closed_port}"})
    report = send(outbox.Draft(to="+6512345678", text="hi"), offline, history, max_attempts=2)
    assert report.results[0].state == "failed"
    [record] = records(history)
    assert record.state == "failed" and record.error_message


def test_a_pending_record_left_by_a_crash_becomes_unknown(tmp_path):
    """A process that dies between recording and updating leaves `pending`; the next start
    must call it `unknown` (it may have reached 8x8), never `failed` or `queued`."""
    path = tmp_path / "crash.sqlite3"
    script = f"""
import os
from sms_tui.history import History, NewMessage
history = History({str(path)!r})
history.add_pending([NewMessage(
    profile="test", subaccount_id="sandbox_hq", region="Custom", sender=None,
    destination="+6512345678", text="hi", requested_encoding="AUTO", encoding="GSM7",
    units=2, segment_count=1, client_message_id="crash-1")])
os.kill(os.getpid(), 9)
"""
    died = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert died.returncode == -9, died.stderr
    with History(path) as history:
        [record] = history.page(HistoryFilter())
        assert record.state == "pending"
        assert outbox.recover(history) == 1
        assert history.get(record.id).state == "unknown"


def test_refresh_moves_queued_messages_on_to_delivered(sandbox, profile, history):
    send(outbox.Draft(to="+6512345678", text="hi"), profile, history)

    async def refresh_until_final():
        async with client_for(profile) as client:
            for _ in range(40):
                await outbox.refresh_statuses(
                    client=client, history=history, profile=profile, pace=0.0
                )
                if records(history)[0].state == "delivered":
                    return
                await asyncio.sleep(0.1)

    asyncio.run(refresh_until_final())
    assert records(history)[0].state == "delivered"


@pytest.mark.parametrize("code", ["", "FAILED", "SOMETHING_NEW"])
def test_an_answer_neither_queued_nor_rejected_is_unknown_not_sent(code):
    from sms_tui.models import SmsResponse

    answer = SmsResponse.model_validate(
        {"umid": "u-1", "clientMessageId": "c-1", "destination": "6512345678",
         "encoding": "GSM7", "status": {"code": code, "description": "?"}}
    )
    assert outbox._accepted(answer).state == "unknown"

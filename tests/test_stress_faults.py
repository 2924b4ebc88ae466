"""Stress: 1,000 sends through the send workflow while the sandbox injects every fault it has.

What a person relies on: whatever the network or 8x8 does, every message has exactly one
record, the record never claims more than is known (no `queued` that 8x8 never accepted, no
`failed` or `rejected` that it did accept; what cannot be known is `unknown`), and nothing is
sent twice on sms-tui's own initiative.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest

from sms_tui import outbox
from sms_tui.client import SmsClient
from sms_tui.config import Profile
from sms_tui.credentials import ApiKey
from sms_tui.errors import NotSent, OutcomeUnknown, RateLimited
from sms_tui.history import History, HistoryFilter
from sms_tui.sandbox import FAULTS, TEST_NUMBER_REJECTED, Sandbox

KEY = "fault-stress-key-5d0b7e21"
RECORDS = 1_000
BATCHES = 25  # sends with several recipients, which go out as one batch request
BATCH_SIZE = 4
SINGLES = RECORDS - BATCHES * BATCH_SIZE
CONCURRENCY = 16
TIMEOUT = 0.5  # the client's read timeout; the latency fault waits longer than this
FAULT_RATE = 0.20
REJECTED_EVERY = 20  # every 20th single send goes to the number the sandbox rejects

# Every fault the sandbox offers, some twice: with and without the message accepted first.
FAULT_PLAN: list[tuple[str, dict]] = [
    ("latency", {"seconds": TIMEOUT * 3}),
    ("server_error", {"status": 500}),
    ("server_error", {"status": 503, "accept": True}),
    ("rate_limit", {"retry_after": 0.05}),
    ("drop_before_accept", {}),
    ("drop_after_accept", {}),
    ("drop_mid_response", {}),
    ("malformed_body", {}),
    ("invalid_schema", {}),
    ("html_502", {}),
    ("html_502", {"accept": True}),
]


def _per_fault_probability(total: float, kinds: int) -> float:
    # The sandbox tries its faults in order, each with its own probability: this makes the
    # chance that a request meets *some* fault equal to `total`.
    return 1 - (1 - total) ** (1 / kinds)


@pytest.fixture
def stress_sandbox():
    with Sandbox(api_key=KEY, delivery_delay=0.2, lookup_interval=0.0) as server:
        yield server


def test_the_plan_covers_every_fault_the_sandbox_offers():
    assert {kind for kind, _ in FAULT_PLAN} == set(FAULTS)


@pytest.mark.slow
def test_a_thousand_sends_under_faults_leave_a_truthful_history(stress_sandbox, tmp_path):
    sandbox = stress_sandbox
    profile = Profile(
        name="stress",
        subaccount_id=sandbox.subaccount_id,
        account_id=sandbox.account_id,
        region="custom",
        base_url=sandbox.base_url,
        sender="Stress",
    )
    rng = random.Random(20240601)
    drafts: list[outbox.Draft] = []
    for index in range(SINGLES):
        number = TEST_NUMBER_REJECTED if index % REJECTED_EVERY == 7 else f"+6591{index:06d}"
        drafts.append(outbox.Draft(to=number, text=f"Stress message {index} ✓" * rng.randint(1, 3)))
    for index in range(BATCHES):
        numbers = [f"+6592{index:03d}{n:03d}" for n in range(BATCH_SIZE)]
        drafts.append(outbox.Draft(to=", ".join(numbers), text=f"Batch {index}: hello"))
    rng.shuffle(drafts)
    prepared = [outbox.prepare(draft, profile) for draft in drafts]
    assert sum(len(p.recipients) for p in prepared) == RECORDS

    probability = _per_fault_probability(FAULT_RATE, len(FAULT_PLAN))
    faults = [
        sandbox.inject(kind, probability=probability, **params) for kind, params in FAULT_PLAN
    ]

    async def run_all(history: History) -> list:
        gate = asyncio.Semaphore(CONCURRENCY)
        async with SmsClient(
            api_key=ApiKey(KEY),
            subaccount_id=sandbox.subaccount_id,
            base_url=sandbox.base_url,
            timeout=TIMEOUT,
            connect_timeout=5.0,  # a busy test machine must not turn into "not sent"
            max_attempts=3,
            retry_backoff=0.01,
            max_connections=CONCURRENCY,
        ) as client:

            async def one(item: outbox.PreparedSend) -> outbox.SendReport:
                async with gate:
                    return await outbox.send(
                        item, client=client, history=history, profile=profile
                    )

            return await asyncio.gather(*(one(item) for item in prepared), return_exceptions=True)

    with History(tmp_path / "history.sqlite3") as history:
        outcomes = asyncio.run(run_all(history))
        sandbox.reset()  # no fault may touch the checks below

        escaped = [o for o in outcomes if isinstance(o, BaseException)]
        assert escaped == [], f"{len(escaped)} exception(s) escaped outbox.send: {escaped[:3]!r}"

        records = list(history.iter_records())
        assert len(records) == RECORDS
        assert history.count(HistoryFilter()) == RECORDS
        results = {r.record_id: r for report in outcomes for r in report.results}
        assert len(results) == RECORDS

        # Every fault kind really happened (otherwise this test would prove little).
        for fault in faults:
            assert fault.hits > 0, f"the {fault.kind} fault {fault.params} never hit"

        ledger = sandbox.ledger
        umids = {entry.umid: entry for entry in ledger}
        states: Counter[str] = Counter()
        ambiguous_accepted = ambiguous_not_accepted = 0
        for record in records:
            states[record.state] += 1
            cmid = record.client_message_id
            assert cmid, f"record {record.id} has no clientMessageId"
            accepted = sandbox.accepted(cmid)
            assert accepted <= 1, f"{cmid} was accepted {accepted} times"
            result = results[record.id]
            assert result.state == record.state, "the report and the history disagree"
            if record.state == "queued":
                assert accepted == 1, f"record {record.id} is queued but 8x8 never accepted it"
                assert record.umid in umids, f"record {record.id} has a umid 8x8 never gave"
                assert umids[record.umid].client_message_id == cmid
                assert umids[record.umid].destination == record.destination
            elif record.state in ("failed", "rejected"):
                assert accepted == 0, f"record {record.id} is {record.state} but was accepted"
                if record.state == "failed":
                    assert isinstance(result.error, NotSent | RateLimited), result.error
            else:
                assert record.state == "unknown", f"unexpected state {record.state!r}"
                # Only a failure that leaves the outcome open may be recorded as unknown.
                assert result.error is None or isinstance(result.error, OutcomeUnknown), (
                    repr(result.error)
                )
                if accepted:
                    ambiguous_accepted += 1
                else:
                    ambiguous_not_accepted += 1
            if result.error is not None:
                # What a person sees is a sentence, never an empty or Python-looking text.
                text = str(result.error)
                assert text and "Traceback" not in text and "<" not in text[:1]

        # Nothing 8x8 accepted is missing from the history (this sandbox served only this test).
        recorded = {record.client_message_id for record in records}
        unrecorded = [e.client_message_id for e in ledger if e.client_message_id not in recorded]
        assert unrecorded == []
        assert len(ledger) == len({e.client_message_id for e in ledger})

        # Both kinds of ambiguity were exercised, and so were the clear outcomes.
        assert ambiguous_accepted > 0 and ambiguous_not_accepted > 0, states
        assert states["queued"] > RECORDS // 2, states
        assert states["rejected"] > 0 and states["failed"] + states["unknown"] > 0, states
        assert states["pending"] == 0
        print(f"states: {dict(states)}; accepted but unknown: {ambiguous_accepted}, "
              f"not accepted and unknown: {ambiguous_not_accepted}; fault hits: "
              f"{[(f.kind, f.hits) for f in faults]}")
        assert history.recover_pending() == 0

"""The send workflow shared by the app and the command line: validate, record, send, update.

Every send follows DESIGN.md: the draft is validated and analysed (nothing is recorded when it is
refused), a `pending` record per recipient is committed, the request goes to 8x8, and each record
is updated with what is known: `queued`, `rejected`, `failed` (provably not sent) or `unknown`
(it may have reached 8x8). Nothing here retries a send whose outcome is unknown: the 8x8 API has
no idempotency key, so a resend is the person's decision.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sms_tui import encoding, phone
from sms_tui.client import new_client_batch_id, new_client_message_id
from sms_tui.errors import (
    ApiError,
    InvalidInput,
    NotSent,
    OutcomeUnknown,
    ProtocolError,
    RateLimited,
    SmsTuiError,
)

ENCODINGS = ("AUTO", "GSM7", "UCS2")
BATCH_LIMIT = 10_000  # the most messages 8x8 takes in one batch request
MAX_PROBLEMS_SHOWN = 5  # how many invalid numbers an error names before "and N more"

# How 8x8's status lookup states map onto the states the history records.
_LOOKUP_STATES = {
    "queued": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "rejected",
    "rejected": "rejected",
    "expired": "expired",
    "cancelled": "cancelled",
    "canceled": "cancelled",
}


@dataclass
class Draft:
    """What a person asked to send, exactly as typed."""

    to: str
    text: str
    sender: str | None = None
    encoding: str = "AUTO"
    client_message_id: str | None = None
    scheduled: datetime | None = None
    expiry: datetime | None = None
    resent_from: int | None = None


@dataclass(frozen=True)
class PreparedSend:
    """A draft that passed validation, with everything needed to send and record it."""

    draft: Draft
    recipients: tuple[phone.Recipient, ...]
    analysis: encoding.Analysis
    sender: phone.SenderCheck
    client_message_id: str | None
    warnings: tuple[str, ...]

    @property
    def total_segments(self) -> int:
        return self.analysis.segment_count * len(self.recipients)


@dataclass(frozen=True)
class SendResult:
    """What became of the message to one recipient."""

    record_id: int
    destination: str
    state: str
    umid: str | None = None
    encoding: str | None = None
    error: SmsTuiError | None = None
    response: dict | None = None  # 8x8's answer for this message, as received

    def as_json(self) -> dict:
        data: dict = {
            "recordId": self.record_id,
            "destination": self.destination,
            "state": self.state,
            "umid": self.umid,
            "encoding": self.encoding,
            "response": self.response,
        }
        if isinstance(self.error, ApiError):
            data["error"] = {
                "status": self.error.status,
                "code": self.error.code,
                "message": self.error.api_message,
                "errorId": self.error.error_id,
                "explanation": str(self.error),
            }
        elif self.error is not None:
            data["error"] = {"explanation": str(self.error)}
        return data


@dataclass
class SendReport:
    """The outcome of one send, one result per recipient, in the order they were given."""

    results: list[SendResult] = field(default_factory=list)

    def count(self, state: str) -> int:
        return sum(1 for result in self.results if result.state == state)

    @property
    def accepted(self) -> int:
        return self.count("queued")

    @property
    def all_accepted(self) -> bool:
        return bool(self.results) and self.accepted == len(self.results)

    def as_json(self) -> dict:
        return {
            "accepted": self.accepted,
            "total": len(self.results),
            "results": [result.as_json() for result in self.results],
        }


def prepare(draft: Draft, profile) -> PreparedSend:
    """Validate and analyse a draft. Raises InvalidInput; nothing is recorded or sent."""
    if not draft.text or not draft.text.strip():
        raise InvalidInput("The message is empty: write some text to send.")
    requested = (draft.encoding or "AUTO").upper()
    if requested not in ENCODINGS:
        raise InvalidInput(f"Unknown encoding {draft.encoding!r}: choose AUTO, GSM7 or UCS2.")
    country = getattr(profile, "country", None)
    recipients, problems = phone.parse_recipients(draft.to or "", country)
    if problems:
        shown = "; ".join(f"{p.raw}: {p.reason}" for p in problems[:MAX_PROBLEMS_SHOWN])
        more = len(problems) - MAX_PROBLEMS_SHOWN
        suffix = f"; and {more} more" if more > 0 else ""
        noun = "number" if len(problems) == 1 else "numbers"
        raise InvalidInput(f"Cannot send: {len(problems)} invalid {noun} ({shown}{suffix}).")
    if not recipients:
        raise InvalidInput("No recipient: give at least one phone number.")
    sender_value = draft.sender if draft.sender is not None else getattr(profile, "sender", None)
    sender = phone.check_sender(sender_value)
    client_message_id = phone.check_client_message_id(draft.client_message_id)
    if client_message_id and len(recipients) > 1:
        # Each message of a batch gets the id with "-N" appended, which must still fit.
        room = phone.CLIENT_MESSAGE_ID_MAX - len(f"-{len(recipients)}")
        if len(client_message_id) > room:
            raise InvalidInput(
                f"The client message id is too long for {len(recipients)} recipients: "
                f"at most {room} characters, since each message adds -N to it."
            )
    _check_times(draft.scheduled, draft.expiry)

    analysis = encoding.analyze(draft.text, requested)
    warnings = [w for recipient in recipients for w in recipient.warnings]
    warnings.extend(sender.warnings)
    if analysis.unencodable:
        lost = " ".join(analysis.unencodable)
        warnings.append(
            f"GSM-7 cannot carry {len(analysis.unencodable)} character(s) of this message "
            f"({lost}): they will arrive as '?' or be dropped. Choose AUTO to keep them."
        )
    return PreparedSend(
        draft=draft,
        recipients=tuple(recipients),
        analysis=analysis,
        sender=sender,
        client_message_id=client_message_id,
        warnings=tuple(warnings),
    )


def _check_times(scheduled: datetime | None, expiry: datetime | None) -> None:
    now = datetime.now(UTC)
    for name, value in (("schedule", scheduled), ("expiry", expiry)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(
                f"The {name} time needs a time zone, such as 2026-12-01T09:00+08:00."
            )
    if scheduled is not None and scheduled <= now:
        raise InvalidInput("The schedule time is in the past: pick a time in the future.")
    if expiry is not None and expiry <= (scheduled or now):
        raise InvalidInput("The expiry time must come after the time the message goes out.")


def client_for(profile):
    """The 8x8 client for a profile, with its API key from the keyring or the environment."""
    from sms_tui import credentials
    from sms_tui.client import SmsClient

    return SmsClient(
        api_key=credentials.get_api_key(profile.name),
        subaccount_id=profile.subaccount_id,
        base_url=profile.effective_base_url(),
        account_id=profile.effective_account_id(),
    )


async def send(
    prepared: PreparedSend,
    *,
    client,
    history,
    profile,
    on_progress: Callable[[int, int], None] | None = None,
) -> SendReport:
    """Record, send and record the outcome. Never raises for an 8x8 or network failure."""
    from sms_tui.history import NewMessage
    from sms_tui.models import SmsRequest

    draft = prepared.draft
    several = len(prepared.recipients) > 1
    base_id = prepared.client_message_id or new_client_message_id()
    fields = _request_fields(prepared)
    requests = [
        SmsRequest(
            destination=recipient.e164,
            client_message_id=f"{base_id}-{index}" if several else base_id,
            **fields,
        )
        for index, recipient in enumerate(prepared.recipients, start=1)
    ]
    pending = [
        NewMessage(
            profile=profile.name,
            subaccount_id=profile.subaccount_id,
            region=profile.region_label(),
            sender=prepared.sender.value or None,
            destination=request.destination,
            text=draft.text,
            requested_encoding=draft.encoding.upper(),
            encoding=prepared.analysis.encoding,
            units=prepared.analysis.units,
            segment_count=prepared.analysis.segment_count,
            client_message_id=request.client_message_id,
            scheduled_at=_iso(draft.scheduled),
            expiry_at=_iso(draft.expiry),
            resent_from=draft.resent_from,
            # The body exactly as it goes to 8x8 (a batch sends these as its `messages`).
            request_json=request.model_dump_json(by_alias=True, exclude_none=True),
        )
        for request in requests
    ]
    record_ids = await asyncio.to_thread(history.add_pending, pending)
    total = len(record_ids)
    if on_progress:
        on_progress(0, total)

    if several:
        outcomes = await _send_batches(requests, client, on_progress)
    else:
        outcomes = [await _send_one(requests[0], client)]
        if on_progress:
            on_progress(1, 1)

    await asyncio.to_thread(
        history.record_outcomes,
        [
            (record_id, outcome.record_fields())
            for record_id, outcome in zip(record_ids, outcomes, strict=True)
        ],
    )
    report = SendReport()
    for record_id, recipient, outcome in zip(
        record_ids, prepared.recipients, outcomes, strict=True
    ):
        report.results.append(
            SendResult(
                record_id=record_id,
                destination=recipient.e164,
                state=outcome.state,
                umid=outcome.umid,
                encoding=outcome.encoding,
                error=outcome.error,
                response=json.loads(outcome.response_json) if outcome.response_json else None,
            )
        )
    return report


@dataclass
class _Outcome:
    """What the answer (or the failure) tells about one message."""

    state: str
    umid: str | None = None
    encoding: str | None = None
    batch_id: str | None = None
    detail: str | None = None
    error: SmsTuiError | None = None
    response_json: str | None = None

    def record_fields(self) -> dict:
        fields: dict = {
            "state": self.state,
            "umid": self.umid,
            "batch_id": self.batch_id,
            "state_detail": self.detail,
            "response_json": self.response_json,
        }
        if self.encoding:
            fields["encoding"] = self.encoding
        if isinstance(self.error, ApiError):
            fields.update(
                http_status=self.error.status,
                error_code=self.error.code,
                error_message=self.error.api_message,
                error_id=self.error.error_id,
            )
        elif self.error is not None:
            fields["error_message"] = str(self.error)
        return fields


def _request_fields(prepared: PreparedSend) -> dict:
    draft = prepared.draft
    fields: dict = {"text": draft.text, "encoding": draft.encoding.upper()}
    if prepared.sender.value:
        fields["source"] = prepared.sender.value
    if draft.scheduled is not None:
        fields["scheduled"] = draft.scheduled
    if draft.expiry is not None:
        fields["expiry"] = draft.expiry
    return fields


async def _send_one(request, client) -> _Outcome:
    try:
        response = await client.send(request)
    except SmsTuiError as error:
        return _failure(error)
    return _accepted(response)


async def _send_batches(
    requests: Sequence,
    client,
    on_progress: Callable[[int, int], None] | None,
) -> list[_Outcome]:
    from sms_tui.models import BatchRequest

    total = len(requests)
    outcomes: list[_Outcome] = []
    for start in range(0, total, BATCH_LIMIT):
        chunk = requests[start : start + BATCH_LIMIT]
        request = BatchRequest(
            client_batch_id=new_client_batch_id(),
            include_messages_in_response=True,
            messages=list(chunk),
        )
        try:
            responses = await client.send_batch(request)
        except SmsTuiError as error:
            outcomes.extend(_failure(error) for _ in chunk)
        else:
            outcomes.extend(_batch_outcomes(responses, [m.client_message_id for m in chunk]))
        if on_progress:
            on_progress(len(outcomes), total)
    return outcomes


def _batch_outcomes(responses, ids: Sequence[str]) -> list[_Outcome]:
    """Match each message of the batch answer to its record by clientMessageId."""
    by_id = {}
    batch_ids = {}
    for response in responses:
        for message in response.messages or []:
            if message.client_message_id:
                by_id[message.client_message_id] = message
                batch_ids[message.client_message_id] = response.batch_id
    outcomes = []
    for message_id in ids:
        message = by_id.get(message_id)
        if message is None:
            # 8x8 answered for the batch but said nothing of this message: it may or may not
            # have been accepted, so the record must say exactly that.
            outcomes.append(
                _Outcome(
                    state="unknown",
                    batch_id=responses[0].batch_id if responses else None,
                    detail="8x8's batch answer did not mention this message.",
                )
            )
            continue
        outcome = _accepted(message)
        outcome.batch_id = batch_ids.get(message_id)
        outcomes.append(outcome)
    return outcomes


def _accepted(response) -> _Outcome:
    status = getattr(response, "status", None)
    code = (getattr(status, "code", None) or "").upper()
    description = getattr(status, "description", None)
    raw = response.model_dump_json(by_alias=True, exclude_none=True)
    if code == "REJECTED":
        return _Outcome(
            state="rejected",
            umid=response.umid,
            encoding=response.encoding,
            detail=description or "8x8 rejected the message.",
            response_json=raw,
        )
    if code == "QUEUED":
        return _Outcome(
            state="queued",
            umid=response.umid,
            encoding=response.encoding,
            detail=description,
            response_json=raw,
        )
    # An answer that is neither QUEUED nor REJECTED: 8x8 may or may not have taken it.
    return _Outcome(
        state="unknown",
        umid=response.umid,
        encoding=response.encoding,
        detail=f"8x8 answered with status {code or 'none'!r}, which says neither accepted "
        "nor rejected.",
        response_json=raw,
    )


def _failure(error: SmsTuiError) -> _Outcome:
    if isinstance(error, NotSent):
        return _Outcome(state="failed", detail=str(error), error=error)
    if isinstance(error, RateLimited):
        # 8x8 answered 429 to every attempt: the message was refused, not processed.
        return _Outcome(state="failed", detail=str(error), error=error)
    if isinstance(error, OutcomeUnknown | ProtocolError):
        return _Outcome(state="unknown", detail=str(error), error=error)
    if isinstance(error, ApiError):
        if error.status >= 500:
            return _Outcome(state="unknown", detail=str(error), error=error)
        return _Outcome(state="rejected", detail=str(error), error=error)
    return _Outcome(state="unknown", detail=str(error), error=error)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def recover(history) -> int:
    """Turn records left `pending` by a crash into `unknown`: they may have reached 8x8."""
    return history.recover_pending()


async def refresh_one(*, client, history, record) -> str:
    """Look one message up at 8x8 and record what it says; returns the record's state now.

    Every lookup is recorded, even one that teaches nothing (8x8 has forgotten the message), so
    that the next round asks about the messages checked longest ago instead of the same ones.
    """
    now = datetime.now(UTC)
    try:
        details = await client.get_message(record.umid)
    except ApiError as error:
        if error.status != 404:
            raise
        await asyncio.to_thread(
            history.record_status,
            record.id,
            state=record.state,
            detail="8x8 no longer has this message: its status lookups cover recent messages.",
            checked_at=now,
        )
        return record.state
    status = details.status
    state = _LOOKUP_STATES.get((status.state or "").lower(), record.state)
    price = getattr(details, "price", None)
    await asyncio.to_thread(
        history.record_status,
        record.id,
        state=state,
        detail=status.detail or status.error_message,
        price=getattr(price, "total", None),
        currency=getattr(price, "currency", None),
        error_code=status.error_code,
        error_message=status.error_message,
        status_at=status.timestamp,
        checked_at=now,
    )
    return state


async def refresh_statuses(
    *,
    client,
    history,
    profile=None,
    limit: int | None = None,
    pace: float = 1.0,
    on_update: Callable[[int, str], None] | None = None,
) -> int:
    """Look up non-final messages at 8x8, at most one lookup per `pace` seconds.

    Returns how many records changed state. A rate limit ends the round early; credentials or
    network failures are raised. Resumable: each answer is recorded as soon as it arrives.
    """
    subaccount = profile.subaccount_id if profile is not None else None
    records = await asyncio.to_thread(history.refreshable, limit or 100, subaccount_id=subaccount)
    changed = 0
    last_lookup = 0.0
    for record in records:
        wait = last_lookup + pace - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        last_lookup = time.monotonic()
        try:
            state = await refresh_one(client=client, history=history, record=record)
        except RateLimited:
            break  # 8x8 asked us to slow down even after the client waited: next round
        if state != record.state:
            changed += 1
            if on_update:
                on_update(record.id, state)
    return changed

"""Pydantic models of the 8x8 SMS API's wire format (camelCase on the wire, snake_case here)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

Encoding = Literal["AUTO", "GSM7", "UCS2"]

#: The most messages 8x8 takes in one batch request.
BATCH_LIMIT = 10_000


class _Wire(BaseModel):
    """camelCase aliases on the wire, snake_case names in Python; both accepted on input."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    def to_wire(self) -> dict[str, Any]:
        """The JSON object 8x8 expects: camelCase keys, no null fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class _Request(_Wire):
    # A misspelt field in our own code should fail loudly rather than vanish from the request.
    # Lengths and patterns are deliberately not checked here: phone.py checks what a person
    # typed, and 8x8 (or the sandbox) has the last word with a typed, explained error.
    model_config = ConfigDict(extra="forbid")


class _Response(_Wire):
    # 8x8 may add fields at any time; unknown ones are ignored, wrong types are not
    # (the client turns a ValidationError into ProtocolError).
    model_config = ConfigDict(extra="ignore")


# ---------------------------------------------------------------------------------- requests


class SmsRequest(_Request):
    """One SMS: `POST /api/v1/subaccounts/{subAccountId}/messages` (schema SmsRequest)."""

    destination: str
    """MSISDN, E.164 preferred (`+6591234567`); national format needs `country`."""
    text: str
    """The message body."""
    source: str | None = None
    """Sender id: alphanumeric (11) or numeric (16); empty means the account's default."""
    encoding: Encoding | None = None
    """AUTO (8x8 picks GSM7 or UCS2), GSM7 or UCS2; 8x8 defaults to AUTO."""
    client_message_id: str | None = None
    """Our own reference (at most 350 characters); the client fills one in when missing."""
    country: str | None = None
    """ISO 3166-1 alpha-2 country of a national-format destination."""
    scheduled: datetime | None = None
    """When to send, for a scheduled message."""
    expiry: datetime | None = None
    """After this, 8x8 no longer tries to send the message."""
    dlr_callback_url: str | None = None
    """Webhook for delivery receipts (overrides the account's)."""
    client_ip: str | None = None
    """End user's IP, for 8x8's per-IP sending limits."""
    track: Literal["None", "Outcome"] | None = None
    """Conversion tracking."""


class SmsTemplate(_Request):
    """Fields shared by every message of a batch (schema SmsTemplateFull)."""

    text: str | None = None
    source: str | None = None
    encoding: Encoding | None = None
    scheduled: datetime | None = None
    expiry: datetime | None = None
    dlr_callback_url: str | None = None


class BatchRequest(_Request):
    """Many SMS in one request: `POST .../messages/batch` (schema BatchSmsRequest).

    Either personalised `messages` or `destinations` sharing the `template`; when both are
    given 8x8 uses `messages`. At most 10,000 per request: SmsClient.send_batch splits more.
    """

    messages: list[SmsRequest] | None = None
    destinations: list[str] | None = None
    template: SmsTemplate | None = None
    client_batch_id: str | None = None
    """Our own reference for the batch (at most 20 characters)."""
    include_messages_in_response: bool = True
    """sms-tui records every message, so it asks for each one's umid by default."""
    client_ip: str | None = None

    @model_validator(mode="after")
    def _has_recipients(self) -> BatchRequest:
        if not self.messages and not self.destinations:
            raise ValueError("a batch needs `messages` or `destinations`")
        return self

    @property
    def size(self) -> int:
        """How many messages the batch holds."""
        return len(self.messages) if self.messages else len(self.destinations or ())


# --------------------------------------------------------------------------------- responses


class SmsStatus(_Response):
    """Whether 8x8 took the message: code QUEUED or REJECTED, and why."""

    code: str
    description: str | None = None

    @property
    def accepted(self) -> bool:
        return self.code.upper() == "QUEUED"


class SmsResponse(_Response):
    """8x8's answer to one SMS (schema SmsResponse)."""

    umid: str
    """8x8's unique message id: the key for status lookups."""
    destination: str
    status: SmsStatus
    encoding: str | None = None
    """The encoding 8x8 used (GSM7 or UCS2 when AUTO was asked)."""
    client_message_id: str | None = None


class BatchResponse(_Response):
    """8x8's answer to one batch request (schema BatchSmsResponse)."""

    batch_id: str
    accepted_count: int
    rejected_count: int
    client_batch_id: str | None = None
    messages: list[SmsResponse] | None = None
    """One entry per message, in request order, when includeMessagesInResponse was true."""


class MessageStatus(_Response):
    """Delivery status of a message, from a status lookup."""

    state: str
    """unknown, queued, failed, sent, delivered, undelivered, read (the sandbox adds
    cancelled for a cancelled scheduled message)."""
    detail: str | None = None
    """delivered_to_operator, delivered_to_recipient, rejected_by_operator, ..."""
    error_code: int | None = None
    error_message: str | None = None
    timestamp: datetime | None = None


class Price(_Response):
    """What a message cost: perSms x smsCount."""

    total: float | None = None
    per_sms: float | None = None
    currency: str | None = None


class MessageDetails(_Response):
    """`GET .../messages/{umid}`: a message's status; content and number come back masked."""

    umid: str
    status: MessageStatus
    sub_account_id: str | None = None
    direction: str | None = None
    country: str | None = None
    msisdn: str | None = None
    """Masked by 8x8, such as +6591230xxxx."""
    source: str | None = None
    body: str | None = None
    """Masked by 8x8 ("**MASKED**")."""
    encoding: str | None = None
    created_at: datetime | None = None
    sms_count: int | None = None
    """Number of segments."""
    price: Price | None = None
    client_message_id: str | None = None
    client_batch_id: str | None = None
    batch_id: str | None = None


class CancelResult(_Response):
    """Answer to cancelling scheduled messages."""

    cancelled_count: int = Field(ge=0)


class Balance(_Response):
    """`GET /api/v1/accounts/{accountId}/balance` (prepaid accounts only)."""

    balance: float
    currency: str


class ErrorEnvelope(_Response):
    """The body of every 8x8 answer with HTTP status 400 and above."""

    code: int | None = None
    message: str | None = None
    error_id: str | None = None
    """Quote it to 8x8 support."""
    timestamp: str | None = None

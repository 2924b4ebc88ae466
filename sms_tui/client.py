"""The only code that speaks HTTP to 8x8: the async SMS API client, its retries and error mapping.

Retries follow one rule (DESIGN.md): repeat a request automatically only when 8x8 provably did
not process it, that is when the connection was never established, or when 8x8 answered 429.
Anything after the request may have left (a timeout while waiting, a dropped connection, a 5xx
or an unreadable answer to a send) raises OutcomeUnknown and is never repeated: the API has no
idempotency key, so a second attempt could deliver the SMS twice.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import math
import re
import socket
import ssl
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from sms_tui import __version__
from sms_tui.config import check_base_url  # the one rule for where a key may go
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
    SmsTuiError,
    SubaccountNotFound,
    UnknownOutcomeProtocolError,
    UnknownOutcomeServerError,
    api_error_class,
)
from sms_tui.models import (
    BATCH_LIMIT,
    Balance,
    BatchRequest,
    BatchResponse,
    CancelResult,
    ErrorEnvelope,
    MessageDetails,
    SmsRequest,
    SmsResponse,
)

if TYPE_CHECKING:
    from sms_tui.credentials import ApiKey

__all__ = [
    "DEFAULT_BASE_URL",
    "Exchange",
    "SmsClient",
    "check_base_url",
    "new_client_batch_id",
    "new_client_message_id",
]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://sms.8x8.com"
USER_AGENT = f"sms-tui/{__version__}"
SUBACCOUNT_PATTERN = re.compile(r"^[A-Za-z0-9\-._&]{3,50}$")
# The longest wait a 429 can ask of a caller; 8x8 itself asks for seconds.
MAX_RETRY_AFTER = 3_600.0
_RETRY_IN_MESSAGE = re.compile(r"try again in (\d+(?:\.\d+)?) second", re.IGNORECASE)
_SENDS = frozenset({"send", "batch"})

M = TypeVar("M", bound=BaseModel)


def new_client_message_id() -> str:
    """A fresh clientMessageId, so that a duplicate delivery can be traced to one attempt."""
    return f"sms-tui-{uuid.uuid4().hex}"


def new_client_batch_id() -> str:
    """A fresh clientBatchId; 8x8 allows at most 20 characters."""
    return f"sms-tui-{uuid.uuid4().hex[:12]}"


# ------------------------------------------------------------------------------- exchange


@dataclass
class Exchange:
    """One request and its answer as they went over the wire, for the history detail view.

    The Authorization header is masked ("Bearer …abcd"); the key itself is never kept.
    """

    method: str
    url: str
    request_headers: dict[str, str]
    request_json: Any = None
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_text: str | None = None
    error: str | None = None
    """What went wrong below HTTP, when no answer came."""
    attempts: int = 1
    elapsed: float | None = None
    """Seconds from sending the request to reading the whole answer."""
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @cached_property
    def response_json(self) -> Any:
        """The answer's JSON, or None when it was not JSON (an HTML error page, say)."""
        if not self.response_text:
            return None
        try:
            return json.loads(self.response_text)
        except ValueError:
            return None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (what the history stores and shows)."""
        return {
            "method": self.method,
            "url": self.url,
            "requestHeaders": self.request_headers,
            "request": self.request_json,
            "status": self.status,
            "responseHeaders": self.response_headers,
            "response": self.response_json if self.response_json is not None
            else self.response_text,
            "error": self.error,
            "attempts": self.attempts,
            "elapsed": self.elapsed,
            "at": self.at.isoformat(),
        }


# ------------------------------------------------------------------------------- the client


class SmsClient:
    """Async client of the 8x8 SMS API with connection reuse. Use as `async with`.

    `max_attempts` bounds every request (the first try included); retries happen only when
    the request provably was not processed (see the module docstring). A 429 is waited out as
    8x8 says (Retry-After, or "try again in N second(s)") if that is at most `max_retry_wait`
    seconds. `batch_size` is how many messages go in one batch request (8x8 takes 10,000).
    """

    def __init__(
        self,
        *,
        api_key: ApiKey,
        subaccount_id: str,
        base_url: str = DEFAULT_BASE_URL,
        account_id: str | None = None,
        timeout: float = 15.0,
        max_attempts: int = 3,
        max_connections: int = 20,
        connect_timeout: float | None = None,
        max_retry_wait: float = 30.0,
        retry_backoff: float = 0.25,
        batch_size: int = BATCH_LIMIT,
    ) -> None:
        if not hasattr(api_key, "reveal"):
            # A bare string would end up in reprs and tracebacks; ApiKey masks itself.
            raise TypeError("api_key must be a sms_tui.credentials.ApiKey")
        self.base_url = check_base_url(base_url)
        if not SUBACCOUNT_PATTERN.match(subaccount_id or ""):
            raise InvalidInput(
                f"The subaccount id {subaccount_id!r} is not valid: 3 to 50 letters, digits "
                "or - . _ & (such as riders_hq)."
            )
        self.subaccount_id = subaccount_id
        self.account_id = account_id or subaccount_id.removesuffix("_hq")
        self.max_attempts = max(1, max_attempts)
        self.max_retry_wait = max_retry_wait
        self.retry_backoff = retry_backoff
        self.batch_size = max(1, min(batch_size, BATCH_LIMIT))
        self.host = urllib.parse.urlsplit(self.base_url).netloc
        self.last_exchange: Exchange | None = None
        """The last request and answer (with concurrent requests: the last to finish)."""
        self._api_key = api_key
        self._masked_auth = f"Bearer …{api_key.last4}"
        connect = min(timeout, 10.0) if connect_timeout is None else connect_timeout
        # Waiting for a free pooled connection is like waiting to connect: nothing has left.
        self._timeout = httpx.Timeout(timeout, connect=connect, pool=connect)
        # Absolute URLs are built here rather than by httpx's base_url merging, which parses
        # every URL twice; the two sending URLs are parsed once and for all.
        self._send_url = httpx.URL(self.base_url + self._subaccount_path("messages"))
        self._batch_url = httpx.URL(self.base_url + self._subaccount_path("messages", "batch"))
        self._http = httpx.AsyncClient(
            # httpx masks Authorization in its reprs; our own records mask it too.
            headers={
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
                "Authorization": f"Bearer {api_key.reveal()}",
            },
            timeout=self._timeout,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            follow_redirects=False,
            # HTTPS_PROXY and SSL_CERT_FILE are honoured (a proxy only tunnels TLS), but plain
            # http to the local sandbox must never be routed through an HTTP_PROXY.
            trust_env=self.base_url.startswith("https://"),
        )

    def __repr__(self) -> str:
        return (
            f"SmsClient(base_url={self.base_url!r}, subaccount_id={self.subaccount_id!r}, "
            f"api_key='…{self._api_key.last4}')"
        )

    async def __aenter__(self) -> SmsClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------------ operations

    async def send(self, request: SmsRequest) -> SmsResponse:
        """Send one SMS. A clientMessageId is added when the request has none.

        Raises RequestRejected (and the other ApiErrors) when 8x8 refused it, NotSent when it
        provably never left, OutcomeUnknown when it may have reached 8x8.
        """
        if not request.client_message_id:
            request = request.model_copy(update={"client_message_id": new_client_message_id()})
        response = await self._request(
            "POST", self._send_url, json=request.to_wire(), operation="send"
        )
        return self._parse(response, SmsResponse, "send")

    async def send_batch(
        self, request: BatchRequest, *, chunk_size: int | None = None
    ) -> list[BatchResponse]:
        """Send a batch; more than `batch_size` (10,000) messages go in several requests.

        Every personalised message gets a clientMessageId when it has none, and the batch a
        clientBatchId (the same for every request of a split batch). Requests go one after
        the other and stop at the first failure; the exception then carries `completed` (the
        BatchResponses of the requests that went through), `chunk_index` (the failed one) and
        `chunk_size`: messages [i * chunk_size, (i + 1) * chunk_size) belong to request i.
        """
        size = max(1, min(chunk_size or self.batch_size, BATCH_LIMIT))
        body = request.to_wire()
        body.setdefault("clientBatchId", new_client_batch_id())
        key = "messages" if request.messages else "destinations"
        if key == "messages":
            body.pop("destinations", None)  # 8x8 would discard them anyway
            for message in body["messages"]:
                if not message.get("clientMessageId"):
                    message["clientMessageId"] = new_client_message_id()
        items = body.pop(key)
        results: list[BatchResponse] = []
        for index, start in enumerate(range(0, len(items), size)):
            chunk_body = {**body, key: items[start : start + size]}
            try:
                response = await self._request(
                    "POST", self._batch_url, json=chunk_body, operation="batch"
                )
                results.append(self._parse(response, BatchResponse, "batch"))
            except SmsTuiError as error:
                error.completed = results  # type: ignore[attr-defined]
                error.chunk_index = index  # type: ignore[attr-defined]
                error.chunk_size = size  # type: ignore[attr-defined]
                raise
        return results

    async def get_message(self, umid: str) -> MessageDetails:
        """Status and details of a message (8x8 allows one lookup per second per subaccount)."""
        response = await self._request(
            "GET", self._subaccount_path("messages", umid), operation="status lookup"
        )
        return self._parse(response, MessageDetails, "status lookup")

    async def cancel(self, umid: str) -> int:
        """Cancel a scheduled message; returns how many were cancelled (0: too late)."""
        response = await self._request(
            "DELETE", self._subaccount_path("messages", umid), operation="cancel"
        )
        return self._parse(response, CancelResult, "cancel").cancelled_count

    async def cancel_batch(self, batch_id: str) -> int:
        """Cancel the scheduled messages of a batch; returns how many were cancelled."""
        response = await self._request(
            "DELETE", self._subaccount_path("messages", "batch", batch_id),
            operation="batch cancel",
        )
        return self._parse(response, CancelResult, "batch cancel").cancelled_count

    async def delete_pii(self, umid: str) -> None:
        """Ask 8x8 to remove the message's personal data (number and text)."""
        await self._request(
            "DELETE", self._subaccount_path("messages", umid, "pii"), operation="pii removal"
        )

    async def balance(self) -> Balance | None:
        """The account balance, or None when 8x8 has none to give (403 with code 1201: the
        account is not prepaid, or the key may not see it)."""
        path = "/api/v1/accounts/" + urllib.parse.quote(self.account_id, safe="") + "/balance"
        try:
            response = await self._request("GET", path, operation="balance")
        except PermissionDenied as error:
            if error.code == 1201:
                return None
            raise
        return self._parse(response, Balance, "balance")

    async def verify(self) -> None:
        """Check the API key and the subaccount without sending an SMS.

        Looks up a random umid: 404 with code 1300 ("not found") can only come after 8x8
        accepted the key and the subaccount. 401 means the key is wrong (AuthenticationError).
        Code 1001 (illegal subaccount), any 403 (the key may not use the subaccount) or a 404
        with another code mean the subaccount is wrong: SubaccountNotFound. Network failures
        raise NotSent or OutcomeUnknown as usual.
        """
        try:
            await self._request(
                "GET", self._subaccount_path("messages", str(uuid.uuid4())), operation="verify"
            )
        except NotFound as error:
            if error.code == 1300:
                return
            raise self._wrong_subaccount(error) from None
        except PermissionDenied as error:
            raise self._wrong_subaccount(error) from None
        except ApiError as error:
            if error.code == 1001 and not isinstance(error, AuthenticationError):
                raise self._wrong_subaccount(error) from None
            raise

    def _wrong_subaccount(self, error: ApiError) -> SubaccountNotFound:
        return SubaccountNotFound(
            status=error.status,
            code=error.code,
            api_message=error.api_message,
            error_id=error.error_id,
            timestamp=error.timestamp,
            operation="verify",
            host=self.host,
            explanation=(
                f"The API key works, but subaccount {self.subaccount_id!r} is not one that "
                "this key may use"
            ),
            advice=(
                "Check the subaccount id in the profile (by default your account id followed "
                "by _hq) and the region: an account only exists in the region it was "
                "created in."
            ),
        )

    # ------------------------------------------------------------------------ plumbing

    def _subaccount_path(self, *segments: str) -> str:
        parts = ["api", "v1", "subaccounts", self.subaccount_id, *segments]
        return "/" + "/".join(urllib.parse.quote(part, safe="") for part in parts)

    async def _request(
        self, method: str, target: str | httpx.URL, *, json: Any = None, operation: str
    ) -> httpx.Response:
        """One API call with the retries that are safe; returns a 2xx response or raises.

        `target` is a path below the base URL, or an absolute httpx.URL.
        """
        url = target if isinstance(target, httpx.URL) else httpx.URL(self.base_url + target)
        attempt = 0
        while True:
            attempt += 1
            request = self._http.build_request(method, url, json=json)
            exchange = Exchange(
                method=method,
                url=str(request.url),
                request_headers=self._masked_headers(request.headers),
                request_json=json,
                attempts=attempt,
            )
            self.last_exchange = exchange
            started = time.perf_counter()
            try:
                response = await self._http.send(request)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # The connection was never made (or never given to us): nothing left.
                reason = self._connect_failure(exc)
                exchange.error = reason
                log.debug("%s %s: not sent (%s), attempt %d", method, exchange.url, reason,
                          attempt)
                if attempt < self.max_attempts:
                    await asyncio.sleep(self.retry_backoff * 2 ** (attempt - 1))
                    continue
                raise NotSent(reason, operation=operation, host=self.host) from exc
            except (httpx.UnsupportedProtocol, httpx.LocalProtocolError) as exc:
                # Refused by httpx before anything was written.
                exchange.error = type(exc).__name__
                raise NotSent("the request could not be built", operation=operation,
                              host=self.host) from exc
            except httpx.TransportError as exc:
                reason = self._later_failure(exc)
                exchange.error = reason
                log.debug("%s %s: outcome unknown (%s)", method, exchange.url, reason)
                raise OutcomeUnknown(reason, operation=operation, host=self.host) from exc
            exchange.elapsed = time.perf_counter() - started
            exchange.status = response.status_code
            exchange.response_headers = dict(response.headers.items())
            # JSON is UTF-8 (RFC 8259); decoding it directly skips httpx's charset sniffing,
            # which costs more than the rest of this method.
            exchange.response_text = self._scrub(response.content.decode("utf-8", "replace"))
            log.debug("%s %s -> %d in %.0f ms", method, exchange.url, response.status_code,
                      exchange.elapsed * 1000)
            if response.status_code == 429 and attempt < self.max_attempts:
                wait = self._retry_after(response)
                if wait <= self.max_retry_wait:
                    # 8x8 refused this request without processing it: safe to repeat.
                    await asyncio.sleep(wait)
                    continue
            if response.status_code >= 400:
                raise self._api_error(response, operation)
            if response.status_code >= 300:
                location = response.headers.get("location", "")
                raise ProtocolError(
                    f"it redirects to {location or 'another address'}, which sms-tui does not "
                    "follow; check the base URL",
                    status=response.status_code, operation=operation, host=self.host,
                )
            return response

    def _masked_headers(self, headers: httpx.Headers) -> dict[str, str]:
        return {
            name: (self._masked_auth if name.lower() == "authorization" else value)
            for name, value in headers.items()
        }

    def _scrub(self, text: str) -> str:
        """Remove the key from anything 8x8 echoes back before it is kept or shown."""
        secret = self._api_key.reveal()
        if len(secret) < 8 or secret not in text:  # a very short "key" would garble any text
            return text
        return text.replace(secret, f"…{self._api_key.last4}")

    def _connect_failure(self, exc: httpx.TransportError) -> str:
        if isinstance(exc, httpx.ConnectTimeout):
            return f"no connection within {self._timeout.connect:g} s"
        if isinstance(exc, httpx.PoolTimeout):
            return f"every connection stayed busy for {self._timeout.pool:g} s"
        for cause in _causes(exc):
            if isinstance(cause, ssl.SSLError):
                reason = getattr(cause, "reason", None) or "handshake failed"
                return f"the secure connection (TLS) could not be set up: {reason}"
            if isinstance(cause, socket.gaierror):
                return "its name could not be resolved (DNS)"
            if isinstance(cause, ConnectionRefusedError):
                return "connection refused"
        text = str(exc).lower()
        if "ssl" in text or "certificate" in text or "tls" in text:
            return "the secure connection (TLS) could not be set up"
        if "name or service" in text or "nodename" in text or "getaddrinfo" in text:
            return "its name could not be resolved (DNS)"
        if "refused" in text or "connect call failed" in text:
            return "connection refused"
        return "the connection could not be established"

    def _later_failure(self, exc: httpx.TransportError) -> str:
        if isinstance(exc, httpx.ReadTimeout):
            return f"no answer within {self._timeout.read:g} s after the request was sent"
        if isinstance(exc, httpx.WriteTimeout):
            return f"the request could not be written within {self._timeout.write:g} s"
        if isinstance(exc, httpx.RemoteProtocolError):
            return "the connection closed before a complete answer arrived"
        if isinstance(exc, httpx.WriteError):
            return "the connection broke while the request was being written"
        if isinstance(exc, httpx.ReadError):
            return "the connection broke while waiting for the answer"
        return "the connection failed after the request was sent"

    def _retry_after(self, response: httpx.Response) -> float:
        """How long 8x8 asks us to wait, bounded: a server saying "for ever" (or a year, or
        nonsense) must not make a caller sleep for ever."""
        return min(self._asked_wait(response), MAX_RETRY_AFTER)

    @staticmethod
    def _asked_wait(response: httpx.Response) -> float:
        header = response.headers.get("retry-after", "").strip()
        if header:
            try:
                value = float(header)
            except ValueError:
                try:
                    when = email.utils.parsedate_to_datetime(header)
                    return max(0.0, (when - datetime.now(UTC)).total_seconds())
                except (TypeError, ValueError, OverflowError):
                    pass
            else:
                return max(0.0, value) if math.isfinite(value) else MAX_RETRY_AFTER
        match = _RETRY_IN_MESSAGE.search(response.content.decode("utf-8", "replace"))
        if match:
            return float(match.group(1))
        return 1.0

    def _body(self, response: httpx.Response) -> bytes:
        """The answer's bytes with the key removed, should a server ever echo it back: nothing
        parsed from an answer (umid, description, errorId) can then carry it into the history."""
        secret = self._api_key.reveal().encode("utf-8")
        if len(secret) < 8 or secret not in response.content:
            return response.content
        return response.content.replace(secret, f"…{self._api_key.last4}".encode())

    def _api_error(self, response: httpx.Response, operation: str) -> ApiError:
        status = response.status_code
        try:
            envelope: ErrorEnvelope | None = ErrorEnvelope.model_validate_json(self._body(response))
        except ValidationError:
            envelope = None
        fields: dict[str, Any] = {"status": status, "operation": operation, "host": self.host}
        if envelope is not None:
            fields.update(
                code=envelope.code,
                api_message=self._scrub(envelope.message or ""),
                error_id=envelope.error_id,
                timestamp=envelope.timestamp,
            )
        elif status >= 500:
            fields["explanation"] = (
                f"8x8 (or a proxy in front of it) failed with HTTP {status} and a page that is "
                "not the API's JSON"
            )
        elif response.content:
            fields["explanation"] = (
                f"The request was refused with HTTP {status} and a page that is not 8x8's JSON "
                "(a proxy or a wrong base URL?)"
            )
        if status >= 500 and operation in _SENDS:
            return UnknownOutcomeServerError(**fields)
        cls = api_error_class(status)
        if cls is RateLimited:
            return RateLimited(retry_after=self._retry_after(response), **fields)
        return cls(**fields)

    def _parse(self, response: httpx.Response, model: type[M], operation: str) -> M:
        try:
            return model.model_validate_json(self._body(response))
        except ValidationError as exc:
            detail = _describe(exc, response)
        error_class = UnknownOutcomeProtocolError if operation in _SENDS else ProtocolError
        raise error_class(detail, status=response.status_code, operation=operation,
                          host=self.host)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _describe(exc: ValidationError, response: httpx.Response) -> str:
    """What is wrong with an answer, in a few words and without echoing its content."""
    content_type = response.headers.get("content-type", "")
    errors = exc.errors(include_input=False, include_url=False)
    if not response.content:
        return "the answer was empty"
    if errors and errors[0]["type"] in ("json_invalid", "json_type"):
        if "html" in content_type:
            return "an HTML page came instead of JSON"
        return "the answer is not valid JSON (it may have been cut short)"
    first = errors[0] if errors else None
    if first is None:
        return "the answer does not have the expected shape"
    where = ".".join(str(part) for part in first["loc"]) or "the answer"
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return f"field {where}: {first['msg'].lower()}{more}"

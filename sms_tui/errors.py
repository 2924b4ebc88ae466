"""Every error sms-tui raises, each with a message fit to show a person as it is."""

from __future__ import annotations


class SmsTuiError(Exception):
    """Base of every error sms-tui raises on purpose.

    ``str(error)`` is the sentence a screen or the command line shows; callers never re-word it.
    """


class InvalidInput(SmsTuiError):
    """Something the person typed or passed cannot be used; nothing was sent or recorded."""


class ConfigError(SmsTuiError):
    """The profile file cannot be read, parsed or written."""


class CredentialError(SmsTuiError):
    """The API key cannot be found, stored or read."""


class KeyringUnavailable(CredentialError):
    """No usable OS keyring backend exists on this machine."""


class MissingApiKey(CredentialError):
    """No API key is configured for the profile in use."""


class HistoryError(SmsTuiError):
    """The local history database cannot be opened, read or written."""


class SandboxError(SmsTuiError):
    """The local sandbox cannot start (its port is taken, or its host is not a loopback one)."""


# --------------------------------------------------------------------------------------------
# Talking to 8x8: transport failures, API errors and unreadable answers.
#
# Which class a failure gets decides what the send workflow records, so the split follows one
# question: could 8x8 have processed the request?
#   NotSent         - no: the connection was never made, nothing left this machine.
#   OutcomeUnknown  - maybe: the request went out and no usable answer came back.
#   ApiError        - 8x8 answered with an error envelope; below 500 it did not process it.
# A 5xx or an unreadable answer to a *send* is both an ApiError/ProtocolError (for its
# details) and an OutcomeUnknown (for what it means): see UnknownOutcomeServerError and
# UnknownOutcomeProtocolError.
# --------------------------------------------------------------------------------------------

_GENERIC_EXPLANATION = (
    "8x8 refused the request.",
    "Check the details of the message and try again; if it persists, contact 8x8 support "
    "with the errorId.",
)

# code -> (explanation, advice); every code of 8x8's error-codes registry, since the SMS API
# shares the platform's codes (a test checks this table against error-codes.yml).
_CODE_EXPLANATIONS: dict[int, tuple[str, str]] = {
    # 1000-1099: request validation
    1000: (
        "8x8 refused the request because one of its fields has an invalid value.",
        "8x8's message names the field: correct it and send again.",
    ),
    1001: (
        "8x8 refused the subaccount id: it is malformed or does not belong to the account "
        "of this API key.",
        "Check the subaccount id in your profile (by default your account id followed by "
        "_hq) and that the API key comes from the same account.",
    ),
    1002: (
        "8x8 refused the destination: it is not a valid phone number in international format.",
        "Write the number with its country code, for example +6591234567, or set a default "
        "country in the profile for national numbers.",
    ),
    1003: (
        "8x8 refused the encoding of the message.",
        "Use AUTO (recommended), GSM7 or UCS2.",
    ),
    1004: (
        "8x8 refused the message text: it is missing or too long.",
        "Write a non-empty message and keep it within the length the segment meter allows.",
    ),
    1005: (
        "8x8 refused the sender id.",
        "Use up to 11 letters and digits, or up to 16 digits for a numeric sender, or leave "
        "the sender empty to use the account's default.",
    ),
    1006: (
        "8x8 refused the expiry time: it is malformed or already past.",
        "Give a future expiry in ISO 8601 with a time zone, such as 2026-01-31T18:00:00Z.",
    ),
    1007: (
        "8x8 refused the batch template: its text or one of its shared fields is invalid.",
        "Check the template's text, sender id and encoding, then send the batch again.",
    ),
    1008: (
        "8x8 refused an identifier in the request (a umid, a batch id or a client reference).",
        "Use the umid or batch id exactly as 8x8 returned it; client references have a "
        "maximum length.",
    ),
    1009: (
        "8x8 refused the country code.",
        "Use a two-letter ISO country code such as SG, US or GB.",
    ),
    1010: (
        "A value in the request is outside the range 8x8 allows.",
        "Stay within the limits: 10,000 messages per batch, a sender id of 16 characters, "
        "a client message id of 350 characters.",
    ),
    1011: (
        "8x8 refused the scheduled time: it is malformed or not acceptable.",
        "Give a future time in ISO 8601 with a time zone, such as 2026-01-31T09:00:00+08:00.",
    ),
    1012: (
        "8x8 refused the client IP address given in the request.",
        "Leave the client IP empty or give a valid IPv4 or IPv6 address.",
    ),
    1014: (
        "8x8 refused the connection because its TLS version is too old.",
        "Update Python or OpenSSL on this machine so that TLS 1.3 is available, then try again.",
    ),
    # 1100: quota
    1100: (
        "8x8 refused the batch: it is over the bulk limit.",
        "Send at most 10,000 messages per batch request (sms-tui splits longer lists); if the "
        "limit is your account's, send fewer at a time or ask 8x8 to raise it.",
    ),
    # 1200-1299: authorization
    1200: (
        "8x8 did not accept the API key.",
        "Check the key of this profile (run 'sms-tui setup'): it may be mistyped, revoked, or "
        "belong to an account in another region.",
    ),
    1201: (
        "The API key is valid but may not use this resource.",
        "Check that the subaccount and account belong to the key's account; the balance is "
        "only available to prepaid accounts.",
    ),
    # 1300-1399: not found
    1300: (
        "8x8 found no such message, batch or account, or it has expired.",
        "Check the id, and look it up with the subaccount that sent it; 8x8 keeps message "
        "details for a limited time.",
    ),
    # 1400-1499: throttling
    1400: (
        "8x8 refused the message because the same message went to this number too recently.",
        "Wait before sending it again, or change the text.",
    ),
    # 2000-2999: server or capability
    2000: (
        "8x8 had an internal error.",
        "Try again in a moment; if it persists, contact 8x8 support with the errorId.",
    ),
    2001: (
        "8x8 does not offer this operation for your account.",
        "Contact 8x8 support if you need it.",
    ),
    2002: (
        "8x8 no longer supports the API version sms-tui used.",
        "Update sms-tui to a newer release.",
    ),
    2003: (
        "The product is not enabled for this account or subaccount.",
        "Ask 8x8 support to enable SMS for this subaccount.",
    ),
    # 429 is what the rate limiter puts in `code` (not a registry code, but 8x8 sends it).
    429: (
        "8x8 is limiting the rate of requests.",
        "Wait a moment and try again; status lookups are limited to one per second.",
    ),
}

# 3000-3999 are the platform's payload validation codes, written for the messaging-apps
# channels but listed for the SMS API too. What each refuses, and what to change.
_PAYLOAD_CODES: dict[int, tuple[str, str]] = {
    3001: ("the recipient user is missing", "Give a recipient."),
    3002: ("the phone number (MSISDN) is missing", "Give the destination phone number."),
    3003: (
        "the phone number (MSISDN) is invalid",
        "Write the number in international format with its country code, such as +6591234567.",
    ),
    3004: ("the message content is missing", "Give the content of the message."),
    3005: ("the message text is missing", "Write the text of the message."),
    3006: ("the message text is too long", "Shorten the text."),
    3007: ("the media URL is missing", "Give the URL of the media, or send text only."),
    3008: ("the media URL is invalid", "Give a valid https URL for the media."),
    3009: (
        "the client message id is too long",
        "Use a client message id of at most 350 characters.",
    ),
    3010: ("the content type is invalid", "Use a content type the channel supports."),
    3011: (
        "the SMS sender id (source) is too long",
        "Use up to 11 letters and digits, or up to 16 digits.",
    ),
    3012: ("the list of messages is missing", "Give at least one message in the batch."),
    3013: (
        "the request holds too many messages",
        "Send at most 10,000 messages per batch request.",
    ),
    3014: (
        "the client batch id is too long",
        "Use a client batch id of at most 20 characters.",
    ),
    3015: ("the user id is missing", "Give the recipient's user id."),
    3016: ("the WeChat user id is missing", "Give the recipient's WeChat user id."),
    3017: ("the fallback text is too long", "Shorten the SMS fallback text."),
    3018: ("the country code is invalid", "Use a two-letter ISO country code such as SG."),
    3019: ("the Facebook user id is missing", "Give the recipient's Facebook user id."),
    3020: (
        "the delivery report callback URL is invalid",
        "Give a valid https URL for delivery reports, or leave it empty.",
    ),
    3021: ("the location is empty or invalid", "Give a valid location."),
    3022: ("the fallback channel is invalid", "Choose a fallback channel the account has."),
    3023: ("the fallback delay is out of range", "Use a fallback delay within the allowed range."),
    3024: ("the fallback status is invalid", "Use a supported fallback status."),
    3025: (
        "the 'delivered' fallback status is invalid",
        "Use a fallback status the channel supports.",
    ),
    3026: ("the 'read' fallback status is invalid", "Use a fallback status the channel supports."),
    3027: (
        "the fallback subaccount channel is invalid",
        "Configure the fallback channel on the subaccount first.",
    ),
    3028: ("the Zalo user id is missing", "Give the recipient's Zalo user id."),
    3029: ("the message id (umid) is missing", "Give the umid 8x8 returned for the message."),
    3030: ("the template is empty", "Give the template to use."),
    3031: ("the template name has an invalid length", "Use the template's exact name."),
    3032: ("the template name is invalid", "Use the template's exact name."),
    3033: ("the template got too many parameters", "Pass only the parameters the template has."),
    3034: (
        "the combination of template components is invalid",
        "Use the components the template defines.",
    ),
    3035: (
        "the subaccount has no channel that supports templates",
        "Add a channel with templates to the subaccount, or send plain SMS.",
    ),
    3036: ("the template language is missing", "Give the template's language."),
    3037: ("the template language is invalid", "Use a language the template exists in."),
    3038: ("the template was not found", "Check the template's name and language."),
    3039: ("a template component type is invalid", "Use the component types the template has."),
    3040: ("the template parameters are empty", "Give a value for every template parameter."),
    3041: ("a template parameter is invalid", "Check the template parameter values."),
    3042: ("a template parameter has the wrong type", "Check the template parameter types."),
    3043: ("a template text parameter is too long", "Shorten the template text parameters."),
    3044: ("a template location parameter is empty", "Give the template's location parameter."),
    3045: ("a template parameter is not allowed", "Remove the parameters the template lacks."),
    3046: ("a template parameter URL is invalid", "Give a valid URL for the parameter."),
    3047: ("the WhatsApp user id is missing", "Give the recipient's WhatsApp user id."),
    3048: (
        "a chat group id cannot be combined with a user id",
        "Give either a chat group id or a user id.",
    ),
    3049: ("a button parameter is invalid", "Check the template's button parameters."),
    3050: ("the KakaoTalk id is missing", "Give the recipient's KakaoTalk id."),
    3051: ("the fallback channel id is invalid", "Use a fallback channel id of the subaccount."),
    3052: (
        "a template component subtype is invalid",
        "Use the component subtypes the template defines.",
    ),
    3053: ("an index in the request is invalid", "Check the indexes of the template components."),
    3060: (
        "the template is being deleted",
        "Use another template, or wait and recreate it.",
    ),
}
for _code, (_what, _advice) in _PAYLOAD_CODES.items():
    _CODE_EXPLANATIONS[_code] = (f"8x8 refused the request: {_what}.", _advice)
del _code, _what, _advice

# For a code outside the registry, its class (the registry's ranges) still says something.
_CLASS_EXPLANATIONS: tuple[tuple[range, tuple[str, str]], ...] = (
    (range(1000, 1100), ("8x8 refused a field of the request as invalid.",
                         "8x8's message names the field: correct it and send again.")),
    (range(1100, 1200), ("8x8 refused the request: a quota was reached.",
                         "Send fewer messages at a time, or ask 8x8 to raise the limit.")),
    (range(1200, 1300), ("8x8 refused access with this API key.",
                         "Check the key and the subaccount of this profile.")),
    (range(1300, 1400), ("8x8 found no such object, or it has expired.",
                         "Check the id you used.")),
    (range(1400, 1500), ("8x8 refused the message as sent again too soon.",
                         "Wait before sending it again.")),
    (range(2000, 3000), ("8x8 could not process the request on its side.",
                         "Try again later; if it persists, contact 8x8 support with the errorId.")),
    (range(3000, 4000), ("8x8 refused the content of the request.",
                         "Check the fields of the message and send again.")),
)

# When there is no code (a proxy's page, an empty body), the HTTP status is all there is.
_STATUS_EXPLANATIONS: dict[int, tuple[str, str]] = {
    400: ("8x8 refused the request as invalid.", "Check the message's fields and try again."),
    401: _CODE_EXPLANATIONS[1200],
    403: _CODE_EXPLANATIONS[1201],
    404: (
        "8x8 found nothing at this address.",
        "Check the subaccount id and the base URL (region) of the profile.",
    ),
    410: _CODE_EXPLANATIONS[2002],
    413: (
        "The request was too large for 8x8.",
        "Send fewer messages per batch.",
    ),
    422: ("8x8 could not process the request's content.", "Check the message's fields."),
    426: _CODE_EXPLANATIONS[1014],
    429: _CODE_EXPLANATIONS[429],
}


def explain(code: int | None, status: int | None = None) -> tuple[str, str]:
    """A person's explanation of an 8x8 error `code` and what to do about it.

    Falls back on the code's class, then on the HTTP `status`, so there is always an answer.
    """
    if code is not None:
        if code in _CODE_EXPLANATIONS:
            return _CODE_EXPLANATIONS[code]
        for codes, explanation in _CLASS_EXPLANATIONS:
            if code in codes:
                return explanation
    if status is not None:
        if status in _STATUS_EXPLANATIONS:
            return _STATUS_EXPLANATIONS[status]
        if status >= 500:
            return (
                f"8x8 (or a proxy in front of it) failed with HTTP {status}.",
                "Try again in a moment; if it persists, check 8x8's status page or contact "
                "support.",
            )
    return _GENERIC_EXPLANATION


def known_codes() -> frozenset[int]:
    """Every 8x8 error code with its own explanation."""
    return frozenset(_CODE_EXPLANATIONS)


def _clip(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class TransportError(SmsTuiError):
    """The exchange with 8x8 failed below HTTP: no usable answer came back.

    `operation` says what was attempted ("send", "batch", "status lookup", ...), `host` where
    to, `reason` what went wrong in a few words.
    """

    # A transport failure has no HTTP answer; the attributes exist so that callers can read
    # them on any OutcomeUnknown, including those that do carry an answer (a 5xx to a send).
    status: int | None = None
    code: int | None = None
    api_message: str = ""
    error_id: str | None = None
    reason: str = ""
    operation: str = "request"
    host: str = "8x8"

    def __init__(self, reason: str, *, operation: str = "request", host: str = "8x8") -> None:
        self.reason = reason
        self.operation = operation
        self.host = host
        super().__init__(self._sentence())

    def _sentence(self) -> str:  # pragma: no cover - every concrete class overrides it
        return f"The {self.operation} to {self.host} failed: {self.reason}."

    def __str__(self) -> str:
        return self._sentence()


class NotSent(TransportError):
    """Provably not sent: the connection to 8x8 was never established, nothing left."""

    def _sentence(self) -> str:
        what = _OPERATION_NOUN.get(self.operation, "request")
        return (
            f"Nothing was sent: could not connect to {self.host} ({self.reason}), so the {what} "
            "never left this machine. Check the network connection and the profile's base URL, "
            "then try again."
        )


class OutcomeUnknown(TransportError):
    """The request may have reached 8x8 and been processed; no usable answer came back.

    Never retried automatically: the API has no idempotency key, so a resend may deliver twice.
    """

    def _sentence(self) -> str:
        what = _OPERATION_NOUN.get(self.operation, "request")
        if self.operation in _SENDS:
            return (
                f"The {what} may or may not have reached 8x8: {self.reason}. It was not sent "
                "again automatically; check its status in the history before resending."
            )
        return f"No usable answer came from {self.host} for the {what}: {self.reason}."


_SENDS = {"send", "batch"}
_OPERATION_NOUN = {
    "send": "message",
    "batch": "batch of messages",
    "status lookup": "status lookup",
    "cancel": "cancellation",
    "batch cancel": "batch cancellation",
    "pii removal": "removal of personal data",
    "balance": "balance request",
    "verify": "credentials check",
}


class ApiError(SmsTuiError):
    """8x8 answered with an error (HTTP 400 and above).

    Carries what 8x8 said (`status`, `code`, `api_message`, `error_id`, `timestamp`) and what
    it means for a person (`explanation`, `advice`). `str()` is one or two sentences with the
    8x8 code and errorId, which 8x8 support asks for.
    """

    def __init__(
        self,
        *,
        status: int,
        code: int | None = None,
        api_message: str = "",
        error_id: str | None = None,
        timestamp: str | None = None,
        operation: str = "request",
        host: str = "8x8",
        explanation: str | None = None,
        advice: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.api_message = api_message or ""
        self.error_id = error_id
        self.timestamp = timestamp
        self.operation = operation
        self.host = host
        default_explanation, default_advice = explain(code, status)
        self.explanation = explanation or default_explanation
        self.advice = advice or default_advice
        # Not super(): in UnknownOutcomeServerError the next class is TransportError, whose
        # __init__ takes other arguments; every attribute is already set here.
        SmsTuiError.__init__(self, str(self))

    def reference(self) -> str:
        """The part support needs: HTTP status, 8x8 code and message, errorId."""
        parts = [f"HTTP {self.status}"]
        if self.code is not None:
            code = f"8x8 code {self.code}"
            if self.api_message:
                code += f" “{_clip(self.api_message)}”"
            parts.append(code)
        elif self.api_message:
            parts.append(f"“{_clip(self.api_message)}”")
        parts.append(f"errorId {self.error_id}" if self.error_id else "no errorId")
        return ", ".join(parts)

    def __str__(self) -> str:
        explanation = self.explanation.rstrip(".")
        return f"{explanation} ({self.reference()}). {self.advice}"


class RequestRejected(ApiError):
    """8x8 refused the request as invalid (400, 422 and other 4xx): nothing was processed."""


class AuthenticationError(ApiError):
    """401: the API key was not accepted."""


class PermissionDenied(ApiError):
    """403: the key is valid but may not use this subaccount, account or resource."""


class NotFound(ApiError):
    """404: no such message, batch or account (or it expired)."""


class SubaccountNotFound(NotFound):
    """verify(): the key works but the subaccount is not one of its account's."""


class RateLimited(ApiError):
    """429: too many requests; `retry_after` is how long 8x8 asked to wait, in seconds."""

    def __init__(self, *, retry_after: float = 1.0, **fields) -> None:
        self.retry_after = retry_after
        super().__init__(**fields)


class UpgradeRequired(RequestRejected):
    """426 (code 1014): this machine's TLS is too old for 8x8."""


class ServerError(ApiError):
    """5xx from 8x8 or a proxy in front of it."""


class ProtocolError(SmsTuiError):
    """8x8's answer could not be read: not JSON, cut short, or not the expected shape."""

    def __init__(self, detail: str, *, status: int | None = None, operation: str = "request",
                 host: str = "8x8") -> None:
        self.detail = detail
        self.status = status
        self.operation = operation
        self.host = host
        SmsTuiError.__init__(self, str(self))  # not super(): see ApiError.__init__

    def __str__(self) -> str:
        http = f" (HTTP {self.status})" if self.status is not None else ""
        return (
            f"The answer from {self.host}{http} could not be read: {self.detail}. If it "
            "persists, check that the profile's base URL points at the 8x8 SMS API."
        )


class UnknownOutcomeServerError(ServerError, OutcomeUnknown):
    """A 5xx answer to a send: 8x8 may have accepted the message before failing."""

    def __str__(self) -> str:
        what = _OPERATION_NOUN.get(self.operation, "request")
        return (
            f"The {what} may or may not have reached 8x8: it answered with an error "
            f"({self.reference()}). It was not sent again automatically; check its status in "
            "the history before resending."
        )


class UnknownOutcomeProtocolError(ProtocolError, OutcomeUnknown):
    """An unreadable answer to a send: 8x8 may have accepted the message."""

    def __str__(self) -> str:
        what = _OPERATION_NOUN.get(self.operation, "request")
        http = f"HTTP {self.status}, " if self.status is not None else ""
        return (
            f"The {what} may or may not have reached 8x8: its answer could not be read "
            f"({http}{self.detail}). It was not sent again automatically; check its status in "
            "the history before resending."
        )


def api_error_class(status: int) -> type[ApiError]:
    """The ApiError subclass for an HTTP status."""
    if status == 401:
        return AuthenticationError
    if status == 403:
        return PermissionDenied
    if status == 404:
        return NotFound
    if status == 429:
        return RateLimited
    if status == 426:
        return UpgradeRequired
    if status >= 500:
        return ServerError
    return RequestRejected

"""The error types of the HTTP side and the explanation of every 8x8 error code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sms_tui.errors import (
    ApiError,
    AuthenticationError,
    NotFound,
    NotSent,
    OutcomeUnknown,
    PermissionDenied,
    ProtocolError,
    RateLimited,
    RequestRejected,
    ServerError,
    SmsTuiError,
    TransportError,
    UnknownOutcomeProtocolError,
    UnknownOutcomeServerError,
    UpgradeRequired,
    api_error_class,
    explain,
    known_codes,
)

REGISTRY = Path(__file__).resolve().parents[2] / "shared" / "8x8" / "error-codes.yml"

# The registry's codes, as of error-codes.yml generated 2026-07-25 (all listed for the SMS API).
REGISTRY_CODES = (
    [1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1014]
    + [1100, 1200, 1201, 1300, 1400, 2000, 2001, 2002, 2003]
    + list(range(3001, 3054))
    + [3060]
)


def registry_codes() -> list[int]:
    """Codes of error-codes.yml the SMS API can return (its `group` names the SMS API)."""
    if not REGISTRY.exists():
        pytest.skip(f"error-codes.yml is not beside the repository ({REGISTRY})")
    # Read line by line (no YAML library among the project's dependencies): entries of
    # `error_codes:` are "- code: N" followed by "  group: ...".
    codes: list[int] = []
    code = None
    in_registry = False
    for line in REGISTRY.read_text().splitlines():
        if not line.startswith((" ", "-")):
            in_registry = line.startswith("error_codes:")
            continue
        if not in_registry:
            continue
        match = re.match(r"^- code: (\d+)\s*$", line)
        if match:
            code = int(match.group(1))
        elif code is not None and line.strip().startswith("group:") and "SMS API" in line:
            codes.append(code)
            code = None
    return codes


def test_every_registry_code_has_its_own_explanation():
    codes = registry_codes()
    assert codes, "no SMS API code found in error-codes.yml"
    assert set(codes) <= known_codes()
    assert set(REGISTRY_CODES) == set(codes)


@pytest.mark.parametrize("code", REGISTRY_CODES)
def test_each_explanation_is_a_sentence_and_so_is_its_advice(code):
    explanation, advice = explain(code)
    for text in (explanation, advice):
        assert (text[0].isupper() or text.startswith("8x8")) and text.endswith("."), text
        assert "\n" not in text


def test_explanations_are_specific():
    texts = [explain(code)[0] for code in REGISTRY_CODES]
    assert len(set(texts)) == len(texts)


def test_unknown_codes_fall_back_on_their_class_then_the_status():
    assert "quota" in explain(1199)[0]
    assert explain(1350)[0] == explain(1399)[0]
    assert "502" in explain(None, 502)[0]
    assert explain(None, 401) == explain(1200)
    assert explain(None, None)[0]


def test_api_error_str_has_the_explanation_code_message_and_error_id():
    error = RequestRejected(
        status=400,
        code=1002,
        api_message="Invalid MSISDN format (not E.164 international number)",
        error_id="b4478860-b76c-e811-814e-022a35cc1c71",
    )
    text = str(error)
    assert text.startswith("8x8 refused the destination")
    assert "8x8 code 1002" in text and "b4478860-b76c-e811-814e-022a35cc1c71" in text
    assert "Invalid MSISDN format" in text
    assert error.advice in text and "\n" not in text
    assert (error.status, error.code, error.explanation) == (400, 1002, explain(1002)[0])
    assert error.args == (text,)


def test_api_error_without_code_or_error_id():
    text = str(ServerError(status=502))
    assert "HTTP 502" in text and "no errorId" in text


def test_long_messages_are_clipped():
    error = RequestRejected(status=400, code=1000, api_message="x" * 1000, error_id="e")
    assert len(str(error)) < 500


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, RequestRejected),
        (422, RequestRejected),
        (401, AuthenticationError),
        (403, PermissionDenied),
        (404, NotFound),
        (426, UpgradeRequired),
        (429, RateLimited),
        (500, ServerError),
        (503, ServerError),
    ],
)
def test_status_classes(status, cls):
    assert api_error_class(status) is cls
    assert issubclass(cls, ApiError) and issubclass(cls, SmsTuiError)


def test_rate_limited_carries_retry_after():
    error = RateLimited(status=429, code=429, retry_after=2.5, api_message="Quota exceeded.")
    assert error.retry_after == 2.5


def test_transport_errors_say_whether_anything_was_sent():
    not_sent = NotSent("connection refused", operation="send", host="sms.8x8.com")
    unknown = OutcomeUnknown("no answer within 15 s", operation="send", host="sms.8x8.com")
    assert isinstance(not_sent, TransportError) and isinstance(unknown, TransportError)
    assert str(not_sent).startswith("Nothing was sent")
    assert "may or may not have reached 8x8" in str(unknown)
    assert "before resending" in str(unknown)
    lookup = OutcomeUnknown("no answer within 15 s", operation="status lookup")
    assert "reached" not in str(lookup)
    assert unknown.status is None and unknown.error_id is None


def test_ambiguous_answers_to_a_send_are_both_kinds():
    server = UnknownOutcomeServerError(status=500, code=2000, error_id="id-1", operation="send")
    assert isinstance(server, OutcomeUnknown) and isinstance(server, ServerError)
    assert server.operation == "send" and server.status == 500
    assert "may or may not have reached 8x8" in str(server) and "id-1" in str(server)

    protocol = UnknownOutcomeProtocolError("the answer is not JSON", status=200,
                                           operation="batch")
    assert isinstance(protocol, OutcomeUnknown) and isinstance(protocol, ProtocolError)
    assert "batch" in str(protocol)


def test_protocol_error_sentence():
    text = str(ProtocolError("an HTML page came instead of JSON", status=200, host="x"))
    assert re.match(r"^The answer from x \(HTTP 200\) could not be read", text)

"""Secret canary: a recognisable fake API key goes through every flow and must never leak.

The key may live in the keyring (here the in-memory one) and travel in the Authorization
header, nowhere else: not in a file sms-tui writes (profile file, history database with its
-wal and -shm, draft, exports, logs, screenshots), not in an exception's text or traceback, not
in a repr, not on a command line, not in another header or a request body or path.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import importlib.util
import io
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sms_tui import cli, config, credentials, outbox
from sms_tui.client import SmsClient
from sms_tui.credentials import ApiKey
from sms_tui.errors import (
    AuthenticationError,
    NotFound,
    NotSent,
    OutcomeUnknown,
    RateLimited,
    RequestRejected,
    SmsTuiError,
)
from sms_tui.history import History, HistoryFilter
from sms_tui.models import SmsRequest
from sms_tui.sandbox import TEST_NUMBER_REJECTED, TEST_NUMBER_UNDELIVERED, Sandbox

CANARY = "CANARY-KEY-8f3e1c-DO-NOT-LEAK"
WRONG_KEY = "WRONG-KEY-6b1d09-ALSO-SECRET"  # a second secret: a mistyped key must not leak either
ROOT = Path(__file__).resolve().parents[1]
SNAPSHOTS = Path(__file__).resolve().parent / "__snapshots__"
NUMBER = "+6591234567"

# Every spelling of the key worth looking for: itself without its last 4 characters (which the
# app may show, "…LEAK"), in UTF-16 (SQLite can store text so), and base64 (as Basic auth would).
_STEM = CANARY[:-4]
_STEMS = (_STEM, WRONG_KEY[:-4])
FORMS = {
    f"{kind} of {secret[:9]}": form
    for secret in (CANARY, WRONG_KEY)
    for kind, form in (
        ("utf-8", secret[:-4].encode()),
        ("utf-16", secret[:-4].encode("utf-16-le")),
        ("base64", base64.b64encode(secret.encode())[:-8]),
        ("base64 bearer", base64.b64encode(f"Bearer {secret}".encode())[:-8]),
    )
}


def leaks_in_bytes(data: bytes) -> list[str]:
    return [name for name, form in FORMS.items() if form in data]


def leaks_in_tree(root: Path) -> dict[str, list[str]]:
    """Every file under `root` (hidden ones, -wal and -shm included) that holds the key."""
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            hits = leaks_in_bytes(path.read_bytes())
            if hits:
                found[str(path)] = hits
    return found


def leaks_in_texts(texts: list[str]) -> list[str]:
    return [text[:300] for text in texts if any(stem in text for stem in _STEMS)]


def describe(error: BaseException) -> list[str]:
    """Everything an exception can show: its text, repr, traceback with every chained cause."""
    texts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    for name in ("api_message", "explanation", "advice", "error_id", "reason", "detail"):
        value = getattr(error, name, None)
        if value:
            texts.append(str(value))
    return texts


class Evidence:
    """What a test saw: texts to search, files written, commands started."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.argv: list[list[str]] = []
        self.errors: list[type] = []

    def error(self, error: BaseException) -> None:
        self.errors.append(type(error))
        self.texts.extend(describe(error))

    def report(self, report: outbox.SendReport) -> None:
        self.texts.append(json.dumps(report.as_json(), ensure_ascii=False, default=str))
        self.texts.append(repr(report))
        for result in report.results:
            if result.error is not None:
                self.error(result.error)

    def client(self, client: SmsClient) -> None:
        self.texts.append(repr(client))
        self.texts.append(repr(client._http))
        if client.last_exchange is not None:
            self.texts.append(json.dumps(client.last_exchange.as_dict(), default=str))
            self.texts.append(repr(client.last_exchange))


@pytest.fixture
def evidence() -> Evidence:
    return Evidence()


@pytest.fixture
def canary_sandbox() -> Iterator[Sandbox]:
    with Sandbox(api_key=CANARY, delivery_delay=0.05, lookup_interval=0.0) as server:
        yield server


@pytest.fixture
def debug_logs(isolated_home: Path) -> Iterator[list[str]]:
    """Every log record at DEBUG (httpx, httpcore, asyncio, sms_tui...), formatted with its
    arguments, kept in memory and written to a log file under the isolated home."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    log_dir = isolated_home / "state" / "logs"
    log_dir.mkdir(parents=True)
    formatter = logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s")
    handlers: list[logging.Handler] = [Keep(), logging.FileHandler(log_dir / "debug.log")]
    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.DEBUG)
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.setLevel(logging.DEBUG)
        root.addHandler(handler)
    try:
        yield lines
    finally:
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(previous)


def assert_no_leak(evidence: Evidence, home: Path, logs: list[str] | None = None) -> None:
    files = leaks_in_tree(home)
    assert files == {}, f"the key is in files: {files}"
    assert leaks_in_texts(evidence.texts) == []
    assert [argv for argv in evidence.argv if leaks_in_texts(argv)] == []
    if logs is not None:
        assert logs, "nothing was logged: the log capture is broken"
        assert leaks_in_texts(logs) == []


def assert_key_only_in_authorization(sandbox: Sandbox) -> None:
    requests = sandbox.received
    assert requests, "the sandbox recorded no request"
    for request in requests:
        assert request.headers.get("authorization") in (
            f"Bearer {CANARY}", f"Bearer {WRONG_KEY}"
        ), request.path
        others = {k: v for k, v in request.headers.items() if k != "authorization"}
        assert leaks_in_texts([json.dumps(others), request.path]) == []
        assert leaks_in_bytes(request.body) == []


def saved_profile(sandbox: Sandbox, name: str = "work") -> config.Profile:
    profile = config.make_profile(
        name=name,
        subaccount_id=sandbox.subaccount_id,
        account_id=sandbox.account_id,
        region="custom",
        base_url=sandbox.base_url,
        sender="Canary",
        country="SG",
    )
    config.save_settings(config.upsert_profile(config.load_settings(), profile))
    credentials.store_api_key(name, ApiKey(CANARY))
    return profile


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- command line


def test_setup_and_send_on_the_command_line_never_leak_the_key(
    canary_sandbox, isolated_home, memory_keyring, monkeypatch, capsys, evidence, debug_logs
):
    sandbox = canary_sandbox
    setup = ["setup", "--name", "work", "--subaccount", sandbox.subaccount_id,
             "--account-id", sandbox.account_id, "--base-url", sandbox.base_url, "--from", "Canary"]
    evidence.argv.append(setup)
    monkeypatch.setattr(sys, "stdin", io.StringIO(CANARY + "\n"))
    assert cli.main(setup) == cli.EXIT_OK
    out = capsys.readouterr()
    evidence.texts += [out.out, out.err]
    assert "…LEAK" in out.out  # the person sees which key was saved, by its last 4 only
    # The key went to the keyring, and nowhere else of ours.
    assert memory_keyring.entries == {(credentials.SERVICE, "work"): CANARY}
    assert config.config_path().exists()

    # A wrong key (8x8 answers 401) during setup: the error is shown, the key is not.
    sandbox.api_key = "the-real-key-is-different"
    try:
        monkeypatch.setattr(sys, "stdin", io.StringIO(CANARY + "\n"))
        assert cli.main(setup) == cli.EXIT_ERROR
    finally:
        sandbox.api_key = CANARY
    out = capsys.readouterr()
    evidence.texts += [out.out, out.err]
    assert "8x8 did not accept the API key" in out.err

    # `sms-tui send` as a real process, with the key in its environment (never its arguments)
    # and the logging of every library at DEBUG into a file under the isolated home.
    log_file = isolated_home / "state" / "logs" / "cli-debug.log"
    launcher = (
        "import logging, sys\n"
        f"logging.basicConfig(level=logging.DEBUG, filename={str(log_file)!r})\n"
        "from sms_tui.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    env = {
        **os.environ,
        "SMS_TUI_API_KEY": CANARY,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    runs = [
        (["send", "--to", NUMBER, "--text", "Hello from the canary"], {}, cli.EXIT_OK),
        (["send", "--to", f"{NUMBER},{TEST_NUMBER_UNDELIVERED}", "--text", "Batch", "--json"],
         {}, cli.EXIT_OK),
        (["send", "--to", TEST_NUMBER_REJECTED, "--text", "Rejected"], {}, cli.EXIT_REJECTED),
        (["send", "--to", "12", "--text", "Invalid"], {}, cli.EXIT_INVALID),
        (["send", "--to", NUMBER, "--text", "Offline"],
         {"SMS_TUI_BASE_URL": f"http://127.0.0.1:{_closed_port()}"}, cli.EXIT_NOT_SENT),
        (["send", "--to", NUMBER, "--text", "Plain http"],
         {"SMS_TUI_BASE_URL": "http://example.invalid"}, cli.EXIT_ERROR),
    ]
    for args, extra, expected in runs:
        argv = [sys.executable, "-c", launcher, *args]
        evidence.argv.append(argv)
        done = subprocess.run(argv, cwd=ROOT, env={**env, **extra}, capture_output=True,
                              text=True, timeout=120)
        evidence.texts += [done.stdout, done.stderr]
        assert done.returncode == expected, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
    if importlib.util.find_spec("sms_tui.cli.history") is not None:
        # Status refresh, show and export from the command line, as a script would.
        export = isolated_home / "cli-export.csv"
        for args in (["history", "refresh"], ["history", "--json"], ["history", "show", "1"],
                     ["history", "export", "--format", "csv", "--output", str(export)],
                     ["history", "export", "--format", "jsonl"]):
            argv = [sys.executable, "-c", launcher, *args]
            evidence.argv.append(argv)
            done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True,
                                  timeout=120)
            evidence.texts += [done.stdout, done.stderr]
            assert done.returncode == cli.EXIT_OK, (args, done.stdout, done.stderr)
        assert export.exists()
    # A wrong key given in the environment: 401, explained, not echoed.
    argv = [sys.executable, "-c", launcher, "send", "--to", NUMBER, "--text", "Bad key"]
    done = subprocess.run(argv, cwd=ROOT, env={**env, "SMS_TUI_API_KEY": WRONG_KEY},
                          capture_output=True, text=True, timeout=120)
    evidence.texts += [done.stdout, done.stderr]
    assert done.returncode == cli.EXIT_REJECTED, done.stderr
    assert "8x8 did not accept the API key" in done.stderr

    assert log_file.stat().st_size > 0, "the subprocesses logged nothing at DEBUG"
    assert_key_only_in_authorization(sandbox)
    assert_no_leak(evidence, isolated_home, debug_logs)


# --------------------------------------------------------------------------- the workflow


async def _every_error_class(
    sandbox: Sandbox, profile: config.Profile, history: History, evidence: Evidence
) -> None:
    async def send(to: str, text: str, client: SmsClient | None = None) -> outbox.SendReport:
        prepared = outbox.prepare(outbox.Draft(to=to, text=text), profile)
        own = client is None
        client = client or outbox.client_for(profile)
        try:
            report = await outbox.send(prepared, client=client, history=history, profile=profile)
        finally:
            evidence.client(client)
            if own:
                await client.aclose()
        evidence.report(report)
        return report

    def fast_client(**options) -> SmsClient:
        return SmsClient(api_key=credentials.get_api_key(profile.name),
                         subaccount_id=profile.subaccount_id,
                         base_url=options.pop("base_url", profile.effective_base_url()),
                         account_id=profile.effective_account_id(), **options)

    assert (await send(NUMBER, "Accepted")).results[0].state == "queued"
    assert (await send(f"{NUMBER}, {TEST_NUMBER_UNDELIVERED}", "Batch")).accepted == 2
    report = await send(TEST_NUMBER_REJECTED, "Rejected")
    assert isinstance(report.results[0].error, RequestRejected)

    # 401: the key is refused, by send, by verify, by a lookup.
    sandbox.api_key = "the-real-key-is-different"
    try:
        report = await send(NUMBER, "Wrong key")
        assert isinstance(report.results[0].error, AuthenticationError)
        async with outbox.client_for(profile) as client:
            for call in (client.verify(), client.balance(), client.get_message("x" * 36)):
                with pytest.raises(SmsTuiError) as caught:
                    await call
                evidence.error(caught.value)
            evidence.client(client)
    finally:
        sandbox.api_key = CANARY

    # 429 on every attempt: refused, not sent.
    sandbox.inject("rate_limit", times=3, retry_after=0)
    report = await send(NUMBER, "Rate limited")
    assert isinstance(report.results[0].error, RateLimited)
    assert report.results[0].state == "failed"

    # 5xx and every way an answer can go missing or be unreadable: unknown.
    faults = [
        ("server_error", {}), ("server_error", {"status": 503, "accept": True}),
        ("html_502", {}), ("drop_before_accept", {}), ("drop_after_accept", {}),
        ("drop_mid_response", {}), ("malformed_body", {}), ("invalid_schema", {}),
    ]
    for kind, params in faults:
        sandbox.inject(kind, **params)
        report = await send(NUMBER, f"Fault {kind}")
        assert report.results[0].state == "unknown", (kind, report.as_json())
        assert isinstance(report.results[0].error, OutcomeUnknown)
        sandbox.inject(kind, endpoint="batch", **params)
        report = await send(f"{NUMBER}, +6591234568", f"Batch fault {kind}")
        assert {r.state for r in report.results} == {"unknown"}
    # No answer within the timeout.
    sandbox.inject("latency", seconds=1.0)
    async with fast_client(timeout=0.2) as client:
        report = await send(NUMBER, "Too slow", client)
    assert isinstance(report.results[0].error, OutcomeUnknown)
    # Nothing can connect: provably not sent.
    async with fast_client(base_url=f"http://127.0.0.1:{_closed_port()}",
                           retry_backoff=0.01) as client:
        report = await send(NUMBER, "Offline", client)
        assert isinstance(report.results[0].error, NotSent)
        for call in (client.verify(), client.get_message("x" * 36)):
            with pytest.raises(NotSent) as caught:
                await call
            evidence.error(caught.value)

    # Lookups: found, not found, rate-limited, failing; then the refresher.
    async with outbox.client_for(profile) as client:
        with pytest.raises(NotFound) as caught:
            await client.get_message("00000000-0000-4000-8000-000000000000")
        evidence.error(caught.value)
        for kind in ("server_error", "malformed_body", "html_502", "drop_after_accept"):
            sandbox.inject(kind, endpoint="status")
            with pytest.raises(SmsTuiError) as caught:
                await client.get_message(history.page(limit=1)[0].umid or "x" * 36)
            evidence.error(caught.value)
        evidence.client(client)
        await asyncio.sleep(0.1)
        changed = await outbox.refresh_statuses(client=client, history=history, pace=0.0)
        assert changed > 0
        sandbox.lookup_interval = 30.0  # the next lookups meet 429s: waited out, never leaked
        sandbox.inject("rate_limit", endpoint="status", times=2, retry_after=0)
        await outbox.refresh_statuses(client=client, history=history, pace=0.0, limit=2)
        sandbox.lookup_interval = 0.0
        assert await client.balance() is not None
        evidence.client(client)


def test_every_error_class_status_refresh_and_export_never_leak_the_key(
    canary_sandbox, isolated_home, evidence, debug_logs
):
    sandbox = canary_sandbox
    profile = saved_profile(sandbox)
    with History() as history:
        asyncio.run(_every_error_class(sandbox, profile, history, evidence))
        states = history.counts_by_state()
        assert {"rejected", "failed", "unknown", "delivered"} <= set(states), states
        assert {"delivered", "undelivered"} & set(states), states
        exports = isolated_home / "exports"
        exports.mkdir()
        for fmt in ("csv", "jsonl"):
            with open(exports / f"history.{fmt}", "w", encoding="utf-8", newline="") as stream:
                assert history.export(HistoryFilter(), fmt, stream) == history.count()
        evidence.texts += [repr(r) for r in history.page(limit=500)]
        evidence.texts += [json.dumps(r.as_dict(), default=str) for r in history.page(limit=500)]
        # The write-ahead log and shared memory exist while the store is open: search them now.
        assert history.path.with_name("history.sqlite3-wal").exists()
        assert leaks_in_tree(isolated_home) == {}
    # Errors of every class were really met.
    met = {cls.__name__ for cls in evidence.errors}
    for wanted in ("AuthenticationError", "RequestRejected", "RateLimited",
                   "UnknownOutcomeServerError", "UnknownOutcomeProtocolError", "OutcomeUnknown",
                   "NotSent", "NotFound"):
        assert wanted in met, (wanted, met)
    assert any("httpcore" in line or "httpx" in line for line in debug_logs)
    assert_key_only_in_authorization(sandbox)
    assert_no_leak(evidence, isolated_home, debug_logs)


# --------------------------------------------------------------------------- the app


async def test_the_app_with_the_wizard_sends_history_and_screenshots_never_leak_the_key(
    canary_sandbox, isolated_home, memory_keyring, evidence, debug_logs
):
    tui_app = pytest.importorskip("sms_tui.tui.app", reason="the TUI is not written yet")
    from textual.widgets import Input, Select

    from tests.tui_fixtures import type_text

    sandbox = canary_sandbox
    shots = isolated_home / "screenshots"
    shots.mkdir()

    async def settle(pilot) -> None:
        # The history screen keeps a paced status loop running: wait for the other workers,
        # but not for ever.
        from textual.worker import WorkerCancelled

        for _ in range(3):
            await pilot.pause()
            with contextlib.suppress(TimeoutError, WorkerCancelled):
                await asyncio.wait_for(pilot.app.workers.wait_for_complete(), 3.0)
                break
        await pilot.pause()

    async def until(pilot, condition, timeout: float = 20.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():
            assert asyncio.get_running_loop().time() < deadline, "the app never got there"
            await pilot.pause(0.05)

    async def shoot(pilot, name: str) -> None:
        await settle(pilot)
        pilot.app.save_screenshot(f"{name}.svg", path=str(shots))

    async def flow() -> None:
        app = tui_app.SmsTuiApp(background_refresh=False)
        async with app.run_test(size=(110, 40)) as pilot:
            await settle(pilot)
            # The first run opens the wizard: the key is typed into it.
            await type_text(pilot, "#api-key", CANARY)
            await type_text(pilot, "#subaccount", sandbox.subaccount_id)
            app.screen.query_one("#region", Select).value = "custom"
            await pilot.pause()
            await type_text(pilot, "#base-url", sandbox.base_url)
            await type_text(pilot, "#country", "SG")
            await shoot(pilot, "01-wizard-key-typed")
            # A wrong key first: the failure is shown, with the key still in the field.
            sandbox.api_key = "the-real-key-is-different"
            await pilot.press("ctrl+t")
            await pilot.pause()
            await shoot(pilot, "02-wizard-wrong-key")
            evidence.texts.append(str(app.screen.query_one("#setup-result").render()))
            sandbox.api_key = CANARY
            await pilot.press("ctrl+t")
            await pilot.pause()
            await shoot(pilot, "03-wizard-connected")
            await pilot.press("ctrl+s")
            await settle(pilot)
            await shoot(pilot, "04-saved")
            assert (credentials.SERVICE, "default") in memory_keyring.entries or any(
                value == CANARY for value in memory_keyring.entries.values()
            )
            # Compose and send, one accepted and one with an unknown outcome.
            for to, text, fault in ((NUMBER, "Hello from the app", None),
                                    (NUMBER, "Did it go?", "drop_after_accept"),
                                    (TEST_NUMBER_REJECTED, "Refused", None)):
                if fault:
                    sandbox.inject(fault, endpoint="send")
                compose = app.show_compose()
                assert compose is not None
                compose.query_one("#to", Input).value = ""
                compose.query_one("#message").clear()
                await type_text(pilot, "#to", to)
                compose.query_one("#message").insert(text)
                await pilot.pause()
                await pilot.press("ctrl+s")
                await pilot.pause()
                await pilot.press("y")
                await settle(pilot)
                await shoot(pilot, f"05-sent-{text.split()[0].lower()}")
                await pilot.press("enter")
                await settle(pilot)
            # History, the detail view with its exchange, an export, the setup in edit mode.
            await pilot.press("ctrl+o")
            await settle(pilot)
            await shoot(pilot, "06-history")
            await pilot.press("enter")
            await settle(pilot)
            await shoot(pilot, "07-detail")
            await pilot.press("escape")
            await settle(pilot)
            await pilot.press("e")
            await until(pilot, lambda: type(app.screen).__name__ == "ExportDialog")
            target = isolated_home / "app-export.csv"
            app.screen.query_one("#export-path", Input).value = str(target)
            await pilot.press("enter")
            await until(pilot, target.exists)
            await shoot(pilot, "08-exported")
            app.action_setup(edit=True)
            await settle(pilot)
            await shoot(pilot, "09-setup-edit")
            # While the app runs, the database's write-ahead log is there to be searched too.
            assert list((isolated_home / "data").rglob("history.sqlite3-wal"))
            assert leaks_in_tree(isolated_home) == {}
            await app.action_quit()
        app.shutdown()

    await flow()
    assert len(list(shots.glob("*.svg"))) >= 9
    assert (isolated_home / "app-export.csv").read_text(encoding="utf-8").count("\n") >= 4
    assert_key_only_in_authorization(sandbox)
    assert_no_leak(evidence, isolated_home, debug_logs)


def test_snapshot_and_screenshot_files_in_the_repository_hold_no_key():
    folders = [SNAPSHOTS, ROOT / "screenshots"]
    for folder in folders:
        if folder.exists():
            assert leaks_in_tree(folder) == {}


# --------------------------------------------------------------------------- an echoing server


class _Echo(BaseHTTPRequestHandler):
    """Answers with the Authorization header echoed back in every field it can."""

    protocol_version = "HTTP/1.1"

    def _reply(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        echo = self.headers.get("Authorization", "")
        self.server.requests.append(echo)  # type: ignore[attr-defined]
        if b"refuse" not in body:
            self._reply(200, {"umid": f"u-{echo}", "destination": "6591234567",
                              "encoding": "GSM7", "clientMessageId": "echo",
                              "status": {"code": "QUEUED", "description": f"ok {echo}"}})
        else:
            self._reply(400, {"code": 1000, "message": f"bad {echo}", "errorId": echo,
                              "timestamp": echo})

    def log_message(self, *args) -> None:
        pass


def test_a_server_echoing_the_key_back_never_gets_it_stored(isolated_home, evidence):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    server.requests = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        profile = config.make_profile(name="echo", subaccount_id="echo_hq", region="custom",
                                      base_url=f"http://127.0.0.1:{server.server_port}")

        async def go() -> None:
            with History() as history:
                async with SmsClient(api_key=ApiKey(CANARY), subaccount_id="echo_hq",
                                     base_url=profile.effective_base_url()) as client:
                    for text in ("accept this", "refuse this"):
                        prepared = outbox.prepare(outbox.Draft(to=NUMBER, text=text), profile)
                        evidence.report(await outbox.send(prepared, client=client,
                                                          history=history, profile=profile))
                        evidence.client(client)
                    with pytest.raises(SmsTuiError) as caught:
                        await client.send(SmsRequest(destination=NUMBER, text="refuse again"))
                    evidence.error(caught.value)

        asyncio.run(go())
        assert server.requests == [f"Bearer {CANARY}"] * 3  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
    assert_no_leak(evidence, isolated_home)

"""Shared fixtures: an isolated home for every test, an in-memory keyring, and the sandbox."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

SANDBOX_TEST_KEY = "sandbox-test-key-0123456789"


class MemoryKeyring(KeyringBackend):
    """Stands in for the OS keyring where the real Secret Service is not under test."""

    priority = 1
    viable = False  # never chosen by keyring's own backend detection, only set explicitly

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own config and data directories and no SMS_TUI_* settings."""
    home = tmp_path / "home"
    for sub in ("config", "data", "cache", "state"):
        (home / sub).mkdir(parents=True)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    for name in list(os.environ):
        if name.startswith("SMS_TUI_"):
            monkeypatch.delenv(name)
    return home


@pytest.fixture(autouse=True)
def memory_keyring(request: pytest.FixtureRequest) -> Iterator[MemoryKeyring | None]:
    """An in-memory keyring, except for tests marked `keyring`, which use the real one."""
    if request.node.get_closest_marker("keyring"):
        yield None
        return
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def forget_session_keys() -> Iterator[None]:
    """Keys kept "for this session only" live in process memory: one test must not see
    another's."""
    from sms_tui import credentials

    credentials.forget_session()
    yield
    credentials.forget_session()


@pytest.fixture(scope="session")
def sandbox_server():
    """One sandbox for the session: a real HTTP server on loopback."""
    from sms_tui.sandbox import Sandbox

    with Sandbox(api_key=SANDBOX_TEST_KEY, delivery_delay=0.5) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server):
    """The shared sandbox with no faults left over from another test."""
    sandbox_server.reset()
    return sandbox_server

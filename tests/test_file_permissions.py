"""Owner-only files: the profile file, the history database (with its -wal and -shm), the
compose draft, and their directories hold phone numbers and message texts.

Each file is created under a permissive umask (0o000), so the modes prove what sms-tui asks
for rather than what the test machine's umask happens to give.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sms_tui import cli, config
from sms_tui.history import History, NewMessage

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextlib.contextmanager
def umask(value: int) -> Iterator[None]:
    previous = os.umask(value)
    try:
        yield
    finally:
        os.umask(previous)


def message(n: int = 0) -> NewMessage:
    return NewMessage(
        profile="work", subaccount_id="acme_hq", region="Asia-Pacific", sender="ACME",
        destination=f"+659100{n:04d}", text="Your code is 123456", requested_encoding="AUTO",
        encoding="GSM7", units=19, segment_count=1, client_message_id=f"perm-{n}",
    )


def profile() -> config.Profile:
    return config.make_profile(name="work", subaccount_id="acme_hq", region="eu")


def test_the_profile_file_is_0600_in_a_0700_directory():
    with umask(0):
        path = config.save_settings(config.upsert_profile(config.Settings(), profile()))
    assert path == config.config_path()
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    # No temporary file is left beside it, whatever its mode.
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_saving_again_tightens_a_profile_file_and_directory_others_could_read():
    directory = config.config_dir()
    directory.mkdir(parents=True, mode=0o755)
    os.chmod(directory, 0o755)
    path = config.config_path()
    path.write_text('active_profile = "work"\n[profiles.work]\nsubaccount_id = "acme_hq"\n')
    os.chmod(path, 0o644)
    with umask(0):
        config.save_settings(config.load_settings())
    assert mode(path) == 0o600
    assert mode(directory) == 0o700


def test_sms_tui_setup_writes_an_owner_only_profile(monkeypatch, memory_keyring):
    monkeypatch.setattr(sys, "stdin", io.StringIO("permissions-test-key-12345\n"))
    with umask(0):
        code = cli.main(["setup", "--subaccount", "acme_hq", "--region", "eu", "--no-verify"])
    assert code == cli.EXIT_OK
    assert mode(config.config_path()) == 0o600
    assert mode(config.config_dir()) == 0o700


def test_the_history_database_its_wal_and_shm_are_0600_in_a_0700_directory():
    with umask(0), History() as history:
        history.add_pending([message(n) for n in range(3)])
        path = history.path
        assert path.parent == config.data_dir()
        wal = path.with_name(path.name + "-wal")
        shm = path.with_name(path.name + "-shm")
        assert wal.exists() and shm.exists()
        assert mode(path) == 0o600
        assert mode(wal) == 0o600
        assert mode(shm) == 0o600
        assert mode(path.parent) == 0o700
        # The lock files that tell a crashed writer from a live one.
        owners = path.with_name(path.name + "-owners")
        assert mode(owners) == 0o700
        assert all(mode(p) == 0o600 for p in owners.iterdir())
    others = [p for p in path.parent.rglob("*") if p.is_file() and mode(p) & 0o077]
    assert others == []


def test_the_compose_draft_is_owner_only():
    drafts = pytest.importorskip("sms_tui.tui.drafts", reason="the TUI is not written yet")
    with umask(0):
        drafts.save_draft(drafts.ComposeDraft(to="+6591234567", text="A private message"))
    files = [p for p in config.data_dir().iterdir() if p.is_file()]
    assert files, "the draft was not written"
    assert all(mode(p) == 0o600 for p in files), {p.name: oct(mode(p)) for p in files}
    assert mode(config.data_dir()) == 0o700


def test_a_history_export_from_the_command_line_is_owner_only(tmp_path):
    if importlib.util.find_spec("sms_tui.cli.history") is None:
        pytest.skip("`sms-tui history` is not written yet")
    with History() as history:
        history.add_pending([message(n) for n in range(3)])
    target = tmp_path / "sent.csv"
    with umask(0):
        code = cli.main(["history", "export", "--format", "csv", "--output", str(target)])
    assert code == cli.EXIT_OK
    assert target.read_text(encoding="utf-8").count("+659100") == 3
    assert mode(target) == 0o600


def test_an_existing_history_others_could_read_is_made_owner_only():
    directory = config.data_dir()
    directory.mkdir(parents=True)
    os.chmod(directory, 0o755)
    with History() as history:
        path = history.path
    os.chmod(path, 0o644)
    with History():
        pass
    assert mode(path) == 0o600
    assert mode(directory) == 0o700

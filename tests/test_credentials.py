"""The API key: masking, the keyring (in memory and the real Secret Service), environment."""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import pickle
import uuid
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import keyring.backends.null
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends.chainer import ChainerBackend
from keyring.compat import properties

from sms_tui import credentials
from sms_tui.credentials import (
    SERVICE,
    ApiKey,
    delete_api_key,
    forget_session,
    get_api_key,
    key_source,
    keyring_status,
    remember_for_session,
    store_api_key,
)
from sms_tui.errors import CredentialError, InvalidInput, KeyringUnavailable, MissingApiKey

SECRET = "5DhZxZRILVPKjXuFWsd7QGZk3q9T31n19pYmg"
OTHER_SECRET = "Zq8wXv7uTs6rQp5oNm4lKj3iHg2fEd1cBa0"


@pytest.fixture(autouse=True)
def no_session_keys() -> Iterator[None]:
    """Session keys live in process memory: start and end every test without any."""
    forget_session()
    yield
    forget_session()


def files_under(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


# ---- test doubles of third-party keyring backends (never of sms-tui code) -----------------
# `viable = False` keeps them out of keyring's own backend detection in this process.


class PlaintextFileKeyring(KeyringBackend):
    """Like keyrings.alt's plain-text keyring: priority below 1, and it writes a file."""

    viable = False
    priority = 0.5

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def get_password(self, service, username):
        return None

    def set_password(self, service, username, password):
        self.path.write_text(f"{service}/{username}={password}")

    def delete_password(self, service, username):
        raise keyring.errors.PasswordDeleteError(username)


class LockedKeyring(KeyringBackend):
    """A Secret Service whose collection cannot be unlocked (no prompter on a server)."""

    viable = False
    priority = 5

    def get_password(self, *args):
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    set_password = delete_password = get_password


class ChattyKeyring(KeyringBackend):
    """A backend whose error messages repeat their arguments, the secret included."""

    viable = False
    priority = 5

    def get_password(self, service, username):
        return None

    def set_password(self, service, username, password):
        raise keyring.errors.PasswordSetError(f"cannot store {password!r} for {username}")

    def delete_password(self, service, username):
        raise RuntimeError(f"D-Bus said no to {service}/{username}")


class ForgetfulKeyring(KeyringBackend):
    """Accepts every write and keeps nothing."""

    viable = False
    priority = 5

    def get_password(self, service, username):
        return None

    def set_password(self, service, username, password):
        pass

    def delete_password(self, service, username):
        raise keyring.errors.PasswordDeleteError(username)


class EmptyChainer(ChainerBackend):
    """keyring's chainer when nothing is there to chain."""

    viable = False

    @properties.classproperty
    def backends(cls):
        return []


def chainer_of(*backends: KeyringBackend) -> ChainerBackend:
    """keyring's chainer over exactly these backends."""

    class Chainer(ChainerBackend):
        viable = False

        @properties.classproperty
        def backends(cls):
            return list(backends)

    return Chainer()


# ---- ApiKey -------------------------------------------------------------------------------


def test_api_key_never_shows_the_secret():
    key = ApiKey(f"  {SECRET}\n")
    assert key.reveal() == SECRET
    assert key.last4 == "pYmg"
    assert key.masked == "…pYmg"
    logged = logging.LogRecord("t", logging.INFO, __file__, 1, "key %s %r", (key, key), None)
    for shown in (repr(key), str(key), f"{key}", f"{key:>20}", logged.getMessage(), repr([key])):
        assert SECRET not in shown
        assert SECRET[:-4] not in shown
    assert repr(key) == "ApiKey('…pYmg')"
    assert not hasattr(key, "__dict__")


def test_a_short_key_shows_none_of_itself():
    key = ApiKey("abc123")
    assert key.last4 == ""
    assert "abc" not in repr(key) and "123" not in repr(key)


def test_api_key_cannot_be_pickled_but_copies_and_compares():
    key = ApiKey(SECRET)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError, match="cannot be pickled") as caught:
            pickle.dumps(key, protocol=protocol)
        assert SECRET not in str(caught.value)
    assert copy.copy(key) is key
    assert copy.deepcopy({"k": key})["k"] is key
    assert key == ApiKey(SECRET)
    assert key != ApiKey(OTHER_SECRET)
    assert key != SECRET  # a key is not a string
    assert len({key, ApiKey(SECRET)}) == 1
    with pytest.raises(AttributeError):
        key._value = "other"


@pytest.mark.parametrize(
    "value", ["", "   \n", "zq81 xk22", "ab7c\nd9ef", "k3y\tv4l", "naïve-k3y", "nul\x00q9"]
)
def test_unusable_keys_are_refused_without_echoing_them(value):
    with pytest.raises(InvalidInput) as caught:
        ApiKey(value)
    for part in value.split():
        assert part not in str(caught.value)


# ---- the in-memory keyring (conftest) -----------------------------------------------------


def test_store_then_get_from_the_keyring(memory_keyring):
    where = store_api_key("work", ApiKey(SECRET))
    assert memory_keyring.entries == {(SERVICE, "work"): SECRET}
    assert "entry “work” of service “sms-tui”" in where
    assert SECRET not in where
    assert get_api_key("work") == ApiKey(SECRET)
    assert key_source("work") == "keyring"
    assert key_source("other") is None


def test_one_entry_per_profile(memory_keyring):
    store_api_key("a", ApiKey(SECRET))
    store_api_key("b", ApiKey(OTHER_SECRET))
    assert get_api_key("a").reveal() == SECRET
    assert get_api_key("b").reveal() == OTHER_SECRET
    store_api_key("a", ApiKey(OTHER_SECRET))  # replacing a key
    assert get_api_key("a").reveal() == OTHER_SECRET


def test_missing_key_explains_what_to_do(memory_keyring):
    with pytest.raises(MissingApiKey) as caught:
        get_api_key("work")
    message = str(caught.value)
    assert "“work”" in message
    assert "sms-tui setup" in message
    assert "SMS_TUI_API_KEY" in message


def test_a_damaged_stored_key_is_reported_not_used(memory_keyring):
    memory_keyring.entries[(SERVICE, "work")] = "bro ken"
    with pytest.raises(MissingApiKey, match="damaged") as caught:
        get_api_key("work")
    assert "bro ken" not in str(caught.value)


def test_environment_overrides_session_and_keyring(memory_keyring, monkeypatch):
    store_api_key("work", ApiKey(SECRET))
    remember_for_session("work", ApiKey(OTHER_SECRET))
    monkeypatch.setenv("SMS_TUI_API_KEY", "  env-key-0123456789abc \n")
    assert get_api_key("work").reveal() == "env-key-0123456789abc"
    assert get_api_key("any-profile").reveal() == "env-key-0123456789abc"
    assert key_source("work") == "environment"


def test_an_unusable_environment_key_is_a_credential_error(monkeypatch):
    monkeypatch.setenv("SMS_TUI_API_KEY", "has a space")
    with pytest.raises(CredentialError, match=r"\$SMS_TUI_API_KEY is set but not usable") as caught:
        get_api_key("work")
    assert "has a space" not in str(caught.value)


def test_session_key_comes_before_the_keyring_and_is_never_stored(memory_keyring, isolated_home):
    store_api_key("work", ApiKey(SECRET))
    remember_for_session("work", ApiKey(OTHER_SECRET))
    assert get_api_key("work").reveal() == OTHER_SECRET
    assert key_source("work") == "session"
    assert memory_keyring.entries == {(SERVICE, "work"): SECRET}
    forget_session("work")
    assert get_api_key("work").reveal() == SECRET


def test_storing_a_key_replaces_the_session_one(memory_keyring):
    remember_for_session("work", ApiKey(OTHER_SECRET))
    store_api_key("work", ApiKey(SECRET))
    assert key_source("work") == "keyring"
    assert get_api_key("work").reveal() == SECRET


def test_delete_removes_keyring_and_session_entries(memory_keyring):
    store_api_key("work", ApiKey(SECRET))
    remember_for_session("work", ApiKey(OTHER_SECRET))
    delete_api_key("work")
    assert memory_keyring.entries == {}
    assert key_source("work") is None
    delete_api_key("work")  # nothing left: still fine
    with pytest.raises(MissingApiKey):
        get_api_key("work")


def test_keyring_status_of_a_usable_backend(memory_keyring):
    status = keyring_status()
    assert status.available
    assert status.backend
    assert status.reason


def test_only_api_key_objects_are_stored(memory_keyring):
    with pytest.raises(TypeError):
        store_api_key("work", SECRET)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        remember_for_session("work", SECRET)  # type: ignore[arg-type]
    assert memory_keyring.entries == {}


# ---- no usable keyring --------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_backend",
    [
        keyring.backends.fail.Keyring,
        keyring.backends.null.Keyring,
        EmptyChainer,
    ],
    ids=["fail", "null", "empty-chainer"],
)
def test_no_usable_backend_is_detected(make_backend):
    keyring.set_keyring(make_backend())
    status = keyring_status()
    assert not status.available
    assert "No usable OS keyring" in status.reason
    assert "SMS_TUI_API_KEY" in status.reason
    assert "this session only" in status.reason


def test_without_a_keyring_store_refuses_with_advice_and_writes_no_file(tmp_path):
    keyring.set_keyring(keyring.backends.fail.Keyring())
    before = files_under(tmp_path)
    with pytest.raises(KeyringUnavailable) as caught:
        store_api_key("work", ApiKey(SECRET))
    message = str(caught.value)
    assert "cannot be stored" in message
    assert "SMS_TUI_API_KEY" in message
    assert "this session only" in message
    assert SECRET not in message
    assert files_under(tmp_path) == before  # no file anywhere under the isolated home


def test_without_a_keyring_the_session_and_environment_still_work(monkeypatch):
    keyring.set_keyring(keyring.backends.fail.Keyring())
    with pytest.raises(KeyringUnavailable, match="No API key is available for profile “work”"):
        get_api_key("work")
    assert key_source("work") is None
    delete_api_key("work")  # nothing to delete: no error
    remember_for_session("work", ApiKey(SECRET))
    assert get_api_key("work").reveal() == SECRET
    forget_session()
    monkeypatch.setenv("SMS_TUI_API_KEY", OTHER_SECRET)
    assert get_api_key("work").reveal() == OTHER_SECRET


def test_a_low_priority_file_backend_is_never_used(tmp_path):
    target = tmp_path / "home" / "data" / "keyring_pass.cfg"
    keyring.set_keyring(PlaintextFileKeyring(target))
    before = files_under(tmp_path)
    assert not keyring_status().available
    with pytest.raises(KeyringUnavailable):
        store_api_key("work", ApiKey(SECRET))
    assert not target.exists()
    assert files_under(tmp_path) == before


def test_behind_the_chainer_the_key_goes_to_the_best_backend_only(memory_keyring, tmp_path):
    target = tmp_path / "plain.cfg"
    keyring.set_keyring(chainer_of(PlaintextFileKeyring(target), memory_keyring))
    assert keyring_status().available
    store_api_key("work", ApiKey(SECRET))
    assert memory_keyring.entries == {(SERVICE, "work"): SECRET}
    assert get_api_key("work").reveal() == SECRET
    delete_api_key("work")
    assert memory_keyring.entries == {}
    assert not target.exists()


def test_a_chainer_of_only_low_priority_backends_is_unusable(tmp_path):
    target = tmp_path / "plain.cfg"
    keyring.set_keyring(chainer_of(PlaintextFileKeyring(target)))
    assert not keyring_status().available
    with pytest.raises(KeyringUnavailable):
        store_api_key("work", ApiKey(SECRET))
    assert not target.exists()


def test_a_locked_keyring_fails_at_use_time_with_a_plain_explanation():
    keyring.set_keyring(LockedKeyring())
    assert keyring_status().available  # looks fine until used
    with pytest.raises(KeyringUnavailable) as caught:
        store_api_key("work", ApiKey(SECRET))
    message = str(caught.value)
    assert "locked" in message
    assert "SMS_TUI_API_KEY" in message
    with pytest.raises(KeyringUnavailable, match="locked"):
        get_api_key("work")
    with pytest.raises(KeyringUnavailable, match="locked"):
        delete_api_key("work")
    assert key_source("work") is None


def test_backend_error_messages_never_carry_the_key_into_ours():
    keyring.set_keyring(ChattyKeyring())
    with pytest.raises(KeyringUnavailable) as caught:
        store_api_key("work", ApiKey(SECRET))
    assert SECRET not in str(caught.value)
    assert "PasswordSetError" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    with pytest.raises(KeyringUnavailable, match="RuntimeError"):
        delete_api_key("work")


def test_a_backend_that_keeps_nothing_is_found_out_when_storing():
    keyring.set_keyring(ForgetfulKeyring())
    with pytest.raises(KeyringUnavailable, match="does not return it"):
        store_api_key("work", ApiKey(SECRET))


def test_keyring_errors_are_credential_errors_fit_to_show():
    assert issubclass(KeyringUnavailable, CredentialError)
    assert issubclass(MissingApiKey, CredentialError)


def test_credentials_is_the_only_module_importing_keyring():
    package = Path(credentials.__file__).parent
    users = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if any(
            line.lstrip().startswith(("import keyring", "from keyring"))
            for line in path.read_text(encoding="utf-8").splitlines()
        )
    )
    assert users == ["credentials.py"]


# ---- the real Secret Service (gnome-keyring under dbus-run-session in CI) -----------------


@pytest.fixture
def secret_service() -> Iterator[KeyringBackend]:
    """The real Secret Service backend, proven to work with a throwaway entry; else a skip."""
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        pytest.skip(
            "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset): run these tests under "
            "dbus-run-session with an unlocked gnome-keyring"
        )
    from keyring.backends import SecretService

    backend = keyring.get_keyring()
    chained = list(backend.backends) if isinstance(backend, ChainerBackend) else [backend]
    if not chained or not isinstance(chained[0], SecretService.Keyring):
        pytest.skip(f"the keyring backend is {backend.name}, not the Secret Service")
    probe = f"probe-{uuid.uuid4().hex}"
    try:
        keyring.set_password("sms-tui-test-probe", probe, "probe-value")
        works = keyring.get_password("sms-tui-test-probe", probe) == "probe-value"
        keyring.delete_password("sms-tui-test-probe", probe)
    except Exception as exc:  # locked, no default collection, daemon gone...
        pytest.skip(f"the Secret Service does not work here: {type(exc).__name__}: {exc}")
    if not works:
        pytest.skip("the Secret Service does not return what was stored")
    yield backend


@pytest.fixture
def real_profile(secret_service) -> Iterator[str]:
    """A profile name no one uses, whose entry is removed afterwards whatever happens."""
    name = f"pytest-{uuid.uuid4().hex[:12]}"
    yield name
    with contextlib.suppress(keyring.errors.PasswordDeleteError):
        keyring.delete_password(SERVICE, name)


def _secret_service_items(profile: str) -> list:
    import secretstorage

    connection = secretstorage.dbus_init()
    try:
        items = secretstorage.search_items(connection, {"service": SERVICE, "username": profile})
        return [item.get_secret().decode() for item in items]
    finally:
        connection.close()


@pytest.mark.keyring
def test_real_secret_service_stores_reads_and_deletes(real_profile, isolated_home):
    status = keyring_status()
    assert status.available, status.reason
    before = files_under(isolated_home)

    where = store_api_key(real_profile, ApiKey(SECRET))
    assert "Secret Service" in where
    # Really in the Secret Service, under service "sms-tui" and the profile name.
    assert _secret_service_items(real_profile) == [SECRET]
    assert get_api_key(real_profile).reveal() == SECRET
    assert key_source(real_profile) == "keyring"

    store_api_key(real_profile, ApiKey(OTHER_SECRET))
    assert _secret_service_items(real_profile) == [OTHER_SECRET]
    assert get_api_key(real_profile).reveal() == OTHER_SECRET

    delete_api_key(real_profile)
    assert _secret_service_items(real_profile) == []
    assert key_source(real_profile) is None
    with pytest.raises(MissingApiKey):
        get_api_key(real_profile)
    delete_api_key(real_profile)  # already gone: fine
    assert files_under(isolated_home) == before  # nothing of ours on disk


@pytest.mark.keyring
def test_real_secret_service_keeps_profiles_apart(real_profile):
    other = f"{real_profile}-b"
    try:
        store_api_key(real_profile, ApiKey(SECRET))
        store_api_key(other, ApiKey(OTHER_SECRET))
        assert get_api_key(real_profile).reveal() == SECRET
        assert get_api_key(other).reveal() == OTHER_SECRET
    finally:
        delete_api_key(other)

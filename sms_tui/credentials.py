"""The API key: OS keyring, environment override, session memory (the only module using keyring)."""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass

import keyring
import keyring.backends.fail
import keyring.backends.null
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.backends.chainer import ChainerBackend

from sms_tui.errors import InvalidInput, KeyringUnavailable, MissingApiKey

__all__ = [
    "ENV_API_KEY",
    "SERVICE",
    "ApiKey",
    "KeyringStatus",
    "delete_api_key",
    "forget_session",
    "get_api_key",
    "key_source",
    "keyring_status",
    "remember_for_session",
    "store_api_key",
]

SERVICE = "sms-tui"
ENV_API_KEY = "SMS_TUI_API_KEY"

_ALTERNATIVES = (
    f"You can set the key in the environment variable {ENV_API_KEY} instead, "
    "or enter it to keep for this session only."
)
_SHOW_LAST = 4
_SHOW_LAST_FROM = 12  # a shorter key would be too much revealed by its last 4 characters


class ApiKey:
    """The secret API key. Prints as "ApiKey('…abcd')"; only reveal() gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise InvalidInput("The API key must be text.")
        value = value.strip()
        if not value:
            raise InvalidInput("The API key is empty: paste the key from 8x8 Connect.")
        if not all(c.isascii() and c.isprintable() and not c.isspace() for c in value):
            # Would break or smuggle into the Authorization header; never echo the value.
            raise InvalidInput(
                "The API key contains spaces, line breaks or characters that cannot be part of a "
                "key: check that you pasted all of it and nothing else."
            )
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """The secret itself: only for the Authorization header and the keyring."""
        return self._value

    @property
    def last4(self) -> str:
        """The last 4 characters, or "" for a key too short to show any of it."""
        if len(self._value) < _SHOW_LAST_FROM:
            return ""
        return self._value[-_SHOW_LAST:]

    @property
    def masked(self) -> str:
        """ "…abcd": what a screen shows."""
        return f"…{self.last4}"

    def __repr__(self) -> str:
        return f"ApiKey('{self.masked}')"

    def __str__(self) -> str:
        return self.masked

    def __format__(self, spec: str) -> str:
        return format(self.masked, spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ApiKey):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((ApiKey, self._value))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("ApiKey is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("ApiKey is immutable")

    def __copy__(self) -> ApiKey:
        return self

    def __deepcopy__(self, memo: dict) -> ApiKey:
        return self

    def __reduce_ex__(self, protocol: object):
        # Pickling would put the secret in a file, a cache or another process.
        raise TypeError("An ApiKey cannot be pickled.")

    def __reduce__(self):
        raise TypeError("An ApiKey cannot be pickled.")

    def __getstate__(self):
        raise TypeError("An ApiKey cannot be pickled.")


@dataclass(frozen=True)
class KeyringStatus:
    """Whether the OS keyring can hold the key, which backend it is, and why not if it cannot."""

    available: bool
    backend: str  # "SecretService Keyring", "macOS Keyring", ... or "none"
    reason: str  # a sentence: what was found, or why it cannot be used and what to do instead


def keyring_status() -> KeyringStatus:
    """Look at the configured keyring backend without touching any entry.

    A backend may still fail when used (a locked or misconfigured Secret Service); the functions
    below turn such failures into KeyringUnavailable.
    """
    return _usable_backend()[0]


def _usable_backend() -> tuple[KeyringStatus, KeyringBackend | None]:
    """The status, and the one backend the key goes to when there is a usable one.

    Behind keyring's chainer that is the best chained backend itself, so that a write never
    falls through to a lower one (such as a plain-text file keyring) that happens to be chained.
    """
    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # a broken backend configuration must not crash the app
        reason = f"The OS keyring could not be loaded ({type(exc).__name__}). " + _ALTERNATIVES
        return KeyringStatus(False, "none", reason), None
    name = _backend_name(backend)
    unusable = KeyringStatus(
        False,
        name,
        f"No usable OS keyring was found on this machine (backend: {name}); a desktop session "
        "normally provides one (GNOME Keyring, KWallet, macOS Keychain, Windows Credential "
        "Manager). " + _ALTERNATIVES,
    )
    if isinstance(backend, keyring.backends.fail.Keyring | keyring.backends.null.Keyring):
        return unusable, None
    if isinstance(backend, ChainerBackend):
        try:
            chained = sorted(backend.backends, key=_priority, reverse=True)
        except Exception:
            chained = []
        if not chained:
            return unusable, None
        backend = chained[0]
    # Priority below 1 marks backends keyring itself does not recommend, such as the
    # plain-text file keyrings of keyrings.alt: the key must never land in a file.
    if _priority(backend) < 1 or isinstance(
        backend, keyring.backends.fail.Keyring | keyring.backends.null.Keyring
    ):
        return unusable, None
    return KeyringStatus(True, name, f"The API key is kept in {_where(backend)}."), backend


def get_api_key(profile: str) -> ApiKey:
    """The key for ``profile``: $SMS_TUI_API_KEY, else this session's, else the keyring's.

    Raises MissingApiKey when none is set, KeyringUnavailable when the keyring cannot be asked.
    """
    from_env = os.environ.get(ENV_API_KEY, "")
    if from_env.strip():
        try:
            return ApiKey(from_env)
        except InvalidInput as exc:
            raise MissingApiKey(f"${ENV_API_KEY} is set but not usable. {exc}") from None
    if profile in _session:
        return _session[profile]
    status, backend = _usable_backend()
    if backend is None:
        raise KeyringUnavailable(
            f"No API key is available for profile “{profile}”. {status.reason}"
        )
    stored = _keyring_call("read the API key from", backend.get_password, SERVICE, profile)
    if stored is None or not stored.strip():
        raise MissingApiKey(
            f"No API key is stored for profile “{profile}”. Run `sms-tui setup` to enter it, "
            f"or set ${ENV_API_KEY}."
        )
    try:
        return ApiKey(stored)
    except InvalidInput:
        raise MissingApiKey(
            f"The API key stored in the keyring for profile “{profile}” is damaged. "
            "Run `sms-tui setup` to enter it again."
        ) from None


def store_api_key(profile: str, key: ApiKey) -> str:
    """Keep ``key`` for ``profile`` in the OS keyring; returns where, to follow "stored in":
    "the desktop keyring (Secret Service), entry “work” of service “sms-tui”".

    Raises KeyringUnavailable when there is no usable keyring. Never writes the key to a file.
    """
    if not isinstance(key, ApiKey):
        raise TypeError("store_api_key takes an ApiKey")
    status, backend = _usable_backend()
    if backend is None:
        raise KeyringUnavailable(f"The API key cannot be stored. {status.reason}")
    _keyring_call("store the API key in", backend.set_password, SERVICE, profile, key.reveal())
    # Some backends accept a write and keep nothing; better to find out now than at send time.
    if _keyring_call("read the API key back from", backend.get_password, SERVICE, profile) != (
        key.reveal()
    ):
        raise KeyringUnavailable(
            f"{_where(backend).capitalize()} accepted the API key but does not return it. "
            + _ALTERNATIVES
        )
    _session.pop(profile, None)  # the stored key is now the one to use
    return f"{_where(backend)}, entry “{profile}” of service “{SERVICE}”"


def remember_for_session(profile: str, key: ApiKey) -> None:
    """Keep ``key`` for ``profile`` in this process's memory only, until it exits."""
    if not isinstance(key, ApiKey):
        raise TypeError("remember_for_session takes an ApiKey")
    _session[profile] = key


def forget_session(profile: str | None = None) -> None:
    """Drop the session key of ``profile``, or of every profile."""
    if profile is None:
        _session.clear()
    else:
        _session.pop(profile, None)


def delete_api_key(profile: str) -> None:
    """Remove the key of ``profile`` from the session and the keyring; absent is fine."""
    _session.pop(profile, None)
    backend = _usable_backend()[1]
    if backend is None:
        return  # nothing can be stored where there is no keyring
    try:
        backend.delete_password(SERVICE, profile)
    except keyring.errors.PasswordDeleteError:
        return  # there was none
    except Exception as exc:
        raise _unavailable("remove the API key from", exc) from None


def key_source(profile: str) -> str | None:
    """Where get_api_key would find the key: "environment", "session", "keyring" or None."""
    if os.environ.get(ENV_API_KEY, "").strip():
        return "environment"
    if profile in _session:
        return "session"
    backend = _usable_backend()[1]
    if backend is None:
        return None
    try:
        stored = backend.get_password(SERVICE, profile)
    except Exception:
        return None  # informational only; get_api_key explains the failure when it matters
    return "keyring" if stored and stored.strip() else None


_session: dict[str, ApiKey] = {}


def _keyring_call(action: str, function, *args):
    try:
        return function(*args)
    except Exception as exc:  # KeyringError, D-Bus and Secret Service errors, a missing daemon...
        raise _unavailable(action, exc) from None


def _unavailable(action: str, exc: Exception) -> KeyringUnavailable:
    # The backend's own message is left out: some echo their arguments, and the key is one.
    if isinstance(exc, keyring.errors.KeyringLocked):
        why = "it is locked and could not be unlocked (unlock it, for example by logging in)"
    elif isinstance(exc, keyring.errors.NoKeyringError):
        why = "there is no usable keyring on this machine"
    else:
        why = f"it reported an error ({type(exc).__name__})"
    return KeyringUnavailable(f"Could not {action} the OS keyring: {why}. " + _ALTERNATIVES)


def _priority(backend) -> float:
    try:
        return float(backend.priority)
    except Exception:
        return 0.0


def _backend_name(backend) -> str:
    try:
        return str(backend.name)
    except Exception:
        return type(backend).__name__


def _where(backend) -> str:
    """Words for where the key ends up: "the desktop keyring (Secret Service)", "KWallet"…"""
    module = type(backend).__module__
    if module.endswith("SecretService") or module.endswith("libsecret"):
        return "the desktop keyring (Secret Service)"
    if module.endswith("kwallet"):
        return "KWallet"
    if ".macOS" in module:
        return "the macOS Keychain"
    if module.endswith("Windows"):
        return "Windows Credential Manager"
    return f"the OS keyring ({_backend_name(backend)})"

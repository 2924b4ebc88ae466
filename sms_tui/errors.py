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

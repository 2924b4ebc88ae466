"""Profiles and settings: the only module that reads or writes sms-tui's configuration file."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs
import tomli_w
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from sms_tui.errors import ConfigError, InvalidInput
from sms_tui.phone import check_country, check_sender, check_subaccount_id

__all__ = [
    "CUSTOM_REGION",
    "REGIONS",
    "Profile",
    "Region",
    "Settings",
    "check_base_url",
    "config_dir",
    "config_path",
    "data_dir",
    "default_account_id",
    "ensure_data_dir",
    "load_settings",
    "make_profile",
    "remove_profile",
    "resolve_profile",
    "save_settings",
    "upsert_profile",
]

APP_NAME = "sms-tui"
CONFIG_FILE = "config.toml"
CUSTOM_REGION = "custom"
ENV_PROFILE = "SMS_TUI_PROFILE"
ENV_SUBACCOUNT = "SMS_TUI_SUBACCOUNT"
ENV_BASE_URL = "SMS_TUI_BASE_URL"
ENV_PROFILE_NAME = "env"  # the ad-hoc profile built from the environment alone

_HEADER = (
    "# sms-tui settings (written by sms-tui; comments are not kept).\n"
    "# The API key is not in this file: it lives in the OS keyring or in $SMS_TUI_API_KEY.\n\n"
)
_PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
# The OpenAPI document describes accountId as a UUID, yet 8x8 documents the default subaccount
# as "<account id>_hq" with readable ids; accept both, limited to characters safe in a URL path.
_ACCOUNT_ID = re.compile(r"^[A-Za-z0-9\-._&]{1,64}$")


@dataclass(frozen=True)
class Region:
    """An 8x8 data centre: accounts must use the one they were provisioned in."""

    label: str
    base_url: str


REGIONS: dict[str, Region] = {
    "apac": Region("Asia-Pacific", "https://sms.8x8.com"),
    "us": Region("North America", "https://sms.us.8x8.com"),
    "eu": Region("Europe", "https://sms.8x8.uk"),
    "id": Region("Indonesia", "https://sms.8x8.id"),
}


def check_base_url(url: str) -> str:
    """A base URL the API key may be sent to: https, or plain http to this computer only.

    Returns it normalised (lower-case scheme and host, no trailing slash); raises InvalidInput.
    This is the one implementation of the rule; the client reuses it.
    """
    text = (url or "").strip()
    if not text:
        raise InvalidInput("The base URL is empty: give one such as https://sms.8x8.com.")
    if any(c.isspace() or not c.isprintable() for c in text):
        raise InvalidInput("The base URL cannot contain spaces or control characters.")
    if "://" not in text:
        if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:/", text):
            # "http:/host" is a mistyped scheme, not a host named "http": never guess it.
            raise InvalidInput(f"“{text}” is not a valid web address: write it as https://host.")
        text = "https://" + text  # "sms.8x8.com" typed without a scheme
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise InvalidInput(f"“{text}” is not a valid web address.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.netloc:
        raise InvalidInput(
            f"“{text}” is not a web address: it must start with https:// "
            "(for example https://sms.8x8.com)."
        )
    if "@" in parts.netloc:
        # Not echoed: whatever precedes the @ may be a password.
        raise InvalidInput("The base URL cannot contain a user name or password.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise InvalidInput(f"“{text}” has no host name.")
    if parts.query or parts.fragment:
        raise InvalidInput(f"“{text}” cannot have a query (?…) or fragment (#…).")
    if scheme == "http" and not _is_loopback(host):
        raise InvalidInput(
            f"“{text}” uses plain http, so the API key would travel unencrypted: use https://. "
            "Plain http is allowed only to this computer (localhost, 127.0.0.1, ::1)."
        )
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    result = f"{scheme}://{netloc}{parts.path.rstrip('/')}"
    import httpx  # here, not at start-up: only a custom base URL needs it

    try:
        httpx.URL(result)  # the parser every request will go through must accept it too
    except httpx.InvalidURL:
        raise InvalidInput(
            f"“{text}” is not a valid web address: check the host name for a stray character."
        ) from None
    return result


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def default_account_id(subaccount_id: str) -> str:
    """The account id 8x8 gives a new account: its default subaccount id without "_hq"."""
    if len(subaccount_id) > 3 and subaccount_id.lower().endswith("_hq"):
        return subaccount_id[:-3]
    return subaccount_id


def _validated(check, value):
    """Run one of phone.py's checks; pydantic reports ValueError, not our InvalidInput."""
    try:
        return check(value)
    except InvalidInput as exc:
        raise ValueError(str(exc)) from None


class InvalidProfile(InvalidInput, ValueError):
    """Profile fields that do not make a usable profile; the message says which and why.

    Also a ValueError so that pydantic, validating a whole settings file, reports it at the
    profile's place in the file (and _describe() then unfolds it field by field).
    """

    def __init__(self, error: ValidationError) -> None:
        self.errors = error.errors(include_url=False)
        super().__init__(_describe_errors(self.errors, prefix=False) + ".")


class Profile(BaseModel):
    """One 8x8 subaccount to send from, with its defaults."""

    model_config = ConfigDict(
        extra="forbid", strict=True, validate_assignment=True, use_attribute_docstrings=True
    )

    name: str
    """Name of the profile; also the name of its API key entry in the keyring."""

    subaccount_id: str
    """The 8x8 subaccount messages are sent from (for a new account, "<account id>_hq")."""

    account_id: str | None = None
    """The 8x8 account id, used for the balance; by default the subaccount id without "_hq"."""

    region: str = "apac"
    """The 8x8 region the account lives in: apac, us, eu, id, or custom (with base_url)."""

    base_url: str | None = None
    """Base URL of the API when region is custom: https, or plain http to localhost only."""

    sender: str | None = None
    """Default sender id ("From"): up to 11 letters and digits, or a number of up to 16 digits."""

    country: str | None = None
    """Two-letter country code used to read national numbers typed without a leading +."""

    sandbox: bool = False
    """True when this profile talks to the local sandbox rather than to 8x8."""

    def __init__(self, **data: Any) -> None:
        # Built from what a person typed (setup wizard, `sms-tui setup`): a readable
        # InvalidInput rather than pydantic's report. Loading a file goes through
        # Settings.model_validate instead and becomes a ConfigError naming the file.
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise InvalidProfile(exc) from None

    @model_validator(mode="before")
    @classmethod
    def _custom_when_base_url(cls, data: Any) -> Any:
        # A hand-written profile with only a base_url obviously means a custom endpoint.
        if isinstance(data, dict) and data.get("base_url") is not None and "region" not in data:
            data = {**data, "region": CUSTOM_REGION}
        return data

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        value = value.strip()
        if not _PROFILE_NAME.fullmatch(value):
            raise ValueError(
                f"“{value}” is not a usable profile name: use up to 40 letters, digits, "
                "dots, dashes or underscores, starting with a letter or digit"
            )
        return value

    @field_validator("subaccount_id")
    @classmethod
    def _check_subaccount(cls, value: str) -> str:
        return _validated(check_subaccount_id, value)

    @field_validator("account_id")
    @classmethod
    def _check_account(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not _ACCOUNT_ID.fullmatch(value):
            raise ValueError(
                f"“{value}” is not a valid account id: use the id shown in 8x8 Connect "
                "(letters, digits and . _ - &)"
            )
        return value

    @field_validator("region")
    @classmethod
    def _check_region(cls, value: str) -> str:
        key = value.strip().lower()
        if key in REGIONS or key == CUSTOM_REGION:
            return key
        raise ValueError(f"“{value}” is not a region: use one of {', '.join(REGIONS)} or custom")

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str | None) -> str | None:
        return None if value is None else _validated(check_base_url, value)

    @field_validator("sender")
    @classmethod
    def _check_sender(cls, value: str | None) -> str | None:
        return _validated(check_sender, value).value or None

    @field_validator("country")
    @classmethod
    def _check_country(cls, value: str | None) -> str | None:
        return _validated(check_country, value)

    @model_validator(mode="after")
    def _region_matches_base_url(self) -> Profile:
        if self.region == CUSTOM_REGION and self.base_url is None:
            raise ValueError('region "custom" needs a base_url')
        if self.region != CUSTOM_REGION and self.base_url is not None:
            raise ValueError(
                f'base_url is set but region is "{self.region}": set region = "custom" '
                "to use the base URL, or remove base_url"
            )
        return self

    def effective_base_url(self) -> str:
        """Where requests go: the region's base URL, or the custom one."""
        if self.region == CUSTOM_REGION and self.base_url:
            return self.base_url
        return REGIONS[self.region].base_url

    def effective_account_id(self) -> str:
        """The account id for the balance: the configured one, else derived from the subaccount."""
        return self.account_id or default_account_id(self.subaccount_id)

    def region_label(self) -> str:
        """A label for the screen: "Asia-Pacific", "Local sandbox", "Custom (host:port)"."""
        if self.sandbox:
            return "Local sandbox"
        if self.region in REGIONS:
            return REGIONS[self.region].label
        return f"Custom ({urlsplit(self.effective_base_url()).netloc})"


class Settings(BaseModel):
    """Everything in the settings file: the profiles and which one is in use."""

    model_config = ConfigDict(
        extra="forbid", strict=True, validate_assignment=True, use_attribute_docstrings=True
    )

    active_profile: str | None = None
    """The profile used when none is named (--profile or $SMS_TUI_PROFILE)."""

    profiles: dict[str, Profile] = {}
    """Profiles by name; in the file, one [profiles.NAME] table each."""

    theme: str | None = None
    """The Textual theme the app starts with."""

    @model_validator(mode="before")
    @classmethod
    def _names_from_tables(cls, data: Any) -> Any:
        # In the file a profile's name is its table name; `name` inside the table is optional.
        if isinstance(data, dict) and isinstance(data.get("profiles"), dict):
            profiles = {
                key: ({"name": key, **value} if isinstance(value, dict) else value)
                for key, value in data["profiles"].items()
            }
            data = {**data, "profiles": profiles}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        for key, profile in self.profiles.items():
            if profile.name != key:
                raise ValueError(f"[profiles.{key}] has name “{profile.name}”; they must match")
        if self.active_profile is not None and self.active_profile not in self.profiles:
            raise ValueError(
                f"active_profile is “{self.active_profile}” but there is no "
                f"[profiles.{self.active_profile}] table"
            )
        return self


def make_profile(**fields: Any) -> Profile:
    """A validated Profile from what a person entered; InvalidInput says what is wrong.

    The same as ``Profile(**fields)``; kept as a name for callers that prefer a function.
    """
    return Profile(**fields)


def upsert_profile(settings: Settings, profile: Profile, make_active: bool = True) -> Settings:
    """Add ``profile`` to ``settings`` or replace the one of that name; returns ``settings``.

    ``settings`` is updated in place (and returned, for chaining); nothing is written to disk.
    """
    settings.profiles = {**settings.profiles, profile.name: profile}
    if make_active or settings.active_profile is None:
        settings.active_profile = profile.name
    return settings


def remove_profile(settings: Settings, name: str) -> Settings:
    """Remove profile ``name`` from ``settings`` in place (and return it).

    If it was the active profile, the first remaining one becomes active (or none). The API key
    is not touched: credentials.delete_api_key(name) removes it.
    """
    if name not in settings.profiles:
        raise ConfigError(f"There is no profile named “{name}”.")
    remaining = {key: value for key, value in settings.profiles.items() if key != name}
    if settings.active_profile == name:
        # Assigned before `profiles` so that the active profile always exists in between.
        settings.active_profile = next(iter(remaining), None)
    settings.profiles = remaining
    return settings


def _xdg_or(variable: str, fallback) -> Path:
    # platformdirs honours XDG_* on Linux only; honour them everywhere so tests and people who
    # set them get the same isolation on macOS and Windows.
    value = os.environ.get(variable, "")
    if value and os.path.isabs(value):
        return Path(value) / APP_NAME
    return Path(fallback(APP_NAME, appauthor=False))


def config_dir() -> Path:
    """The directory of the settings file ($XDG_CONFIG_HOME/sms-tui on Linux)."""
    return _xdg_or("XDG_CONFIG_HOME", platformdirs.user_config_dir)


def config_path() -> Path:
    """The settings file."""
    return config_dir() / CONFIG_FILE


def data_dir() -> Path:
    """The directory of the history database ($XDG_DATA_HOME/sms-tui on Linux)."""
    return _xdg_or("XDG_DATA_HOME", platformdirs.user_data_dir)


def ensure_data_dir() -> Path:
    """data_dir(), created owner-only (it holds phone numbers and message texts)."""
    path = data_dir()
    _ensure_private_dir(path, tighten_existing=True)
    return path


def load_settings(path: Path | None = None) -> Settings:
    """The settings in the file; empty settings when there is no file yet.

    A file that cannot be read, parsed or validated gives a ConfigError naming the file and the
    problem; the file is left exactly as it is.
    """
    path = Path(path) if path is not None else config_path()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Settings()
    except IsADirectoryError:
        raise ConfigError(f"{path} is a directory, not a settings file.") from None
    except PermissionError:
        raise ConfigError(f"Cannot read the settings file {path}: permission denied.") from None
    except OSError as exc:
        raise ConfigError(f"Cannot read the settings file {path}: {exc.strerror}.") from None
    advice = "Correct it by hand, or move it away and run `sms-tui setup` to start afresh."
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"The settings file {path} is not UTF-8 text. {advice}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"The settings file {path} is not valid TOML ({exc}); it may be cut short. {advice}"
        ) from None
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(
            f"The settings file {path} has a problem: {_describe(exc)}. {advice}"
        ) from None


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write the settings atomically, owner-only (0600, directory 0700); returns the file written.

    The new content goes to a temporary file in the same directory, is flushed to disk, then
    renamed over the old file: a crash leaves either the old file or the new one, never half.
    """
    target = Path(path) if path is not None else config_path()
    if target.is_symlink():
        target = target.resolve()  # keep a dotfiles symlink working: replace what it points to
    directory = target.parent
    try:
        # Only our own directory is tightened, not one a symlink or an explicit path leads to.
        _ensure_private_dir(directory, tighten_existing=directory == config_dir())
    except OSError as exc:
        raise ConfigError(
            f"Cannot create the settings directory {directory}: {exc.strerror}."
        ) from None
    text = _HEADER + tomli_w.dumps(_to_toml(settings))
    try:
        _write_private_file(target, text.encode("utf-8"))
    except OSError as exc:
        raise ConfigError(f"Cannot write the settings file {target}: {exc.strerror}.") from None
    return target


def _write_private_file(target: Path, data: bytes) -> None:
    """Replace `target` atomically with `data`, owner-only: a crash leaves the old file or the
    new one, never half of either."""
    directory = target.parent
    temp_name: str | None = None
    try:
        fd, temp_name = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            os.chmod(temp_name, 0o600)  # mkstemp already does; be explicit about what we rely on
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, target)
        temp_name = None
        _fsync_dir(directory)
    finally:
        if temp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp_name)


def draft_path() -> Path:
    """Where the message being composed is kept between keystrokes and restarts."""
    return data_dir() / "draft.json"


def load_draft() -> dict:
    """The saved compose draft as a dict; empty when there is none or it cannot be read (a lost
    draft must never stop the app from starting)."""
    try:
        data = json.loads(draft_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_draft(draft: dict) -> Path:
    """Write the compose draft atomically and owner-only (it holds numbers and message text).

    Raises ConfigError when the data directory cannot be written.
    """
    target = draft_path()
    try:
        ensure_data_dir()
        _write_private_file(target, json.dumps(draft, ensure_ascii=False).encode("utf-8"))
    except OSError as exc:
        raise ConfigError(f"Cannot save the draft to {target}: {exc.strerror}.") from None
    return target


def resolve_profile(name: str | None = None, settings: Settings | None = None) -> Profile:
    """The profile to use, with $SMS_TUI_SUBACCOUNT and $SMS_TUI_BASE_URL applied.

    ``name``, else $SMS_TUI_PROFILE, else the active profile (or the only one). With no profile
    at all, $SMS_TUI_SUBACCOUNT alone makes an ad-hoc profile named "env".
    """
    if settings is None:
        settings = load_settings()
    subaccount = _env(ENV_SUBACCOUNT)
    base_url = _env(ENV_BASE_URL)
    wanted = name or _env(ENV_PROFILE) or settings.active_profile
    if wanted is None and len(settings.profiles) == 1:
        wanted = next(iter(settings.profiles))
    if wanted is not None:
        profile = settings.profiles.get(wanted)
        if profile is None:
            known = ", ".join(settings.profiles) or "none yet"
            source = "" if name else f" (from ${ENV_PROFILE})" if _env(ENV_PROFILE) else ""
            raise ConfigError(
                f"There is no profile named “{wanted}”{source}; profiles: {known}. "
                "Run `sms-tui setup` to create it."
            )
        fields = profile.model_dump()
    elif subaccount:
        fields = {"name": ENV_PROFILE_NAME}
    elif settings.profiles:
        raise ConfigError(
            f"Several profiles exist ({', '.join(settings.profiles)}) and none is active: "
            "choose one with --profile, or make one active with `sms-tui setup`."
        )
    else:
        raise ConfigError(
            "No profile is set up yet. Run `sms-tui setup` to connect your 8x8 account, "
            "or `sms-tui --sandbox` to try sms-tui against a local stand-in."
        )
    if subaccount:
        try:
            fields["subaccount_id"] = check_subaccount_id(subaccount)
        except InvalidInput as exc:
            raise ConfigError(f"${ENV_SUBACCOUNT} is not usable. {exc}") from None
    if base_url:
        try:
            fields["base_url"] = check_base_url(base_url)
        except InvalidInput as exc:
            raise ConfigError(f"${ENV_BASE_URL} is not usable. {exc}") from None
        fields["region"] = CUSTOM_REGION
    try:
        return Profile(**fields)
    except InvalidInput as exc:
        raise ConfigError(f"Profile “{fields['name']}” is not usable: {exc}") from None


def _env(variable: str) -> str | None:
    value = os.environ.get(variable, "").strip()
    return value or None


def _to_toml(settings: Settings) -> dict[str, Any]:
    data = settings.model_dump(mode="json", exclude_none=True)
    for table in data.get("profiles", {}).values():
        table.pop("name", None)  # the table name is the profile name
    return data


def _ensure_private_dir(path: Path, *, tighten_existing: bool) -> None:
    if path.is_dir():
        if tighten_existing and (path.stat().st_mode & 0o777) != 0o700:
            os.chmod(path, 0o700)
        return
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not possible on every platform, harmless to skip there.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


_TYPE_WORDS = {
    "string_type": "should be text in quotes",
    "bool_type": "should be true or false",
    "dict_type": "should be a table",
    "model_type": "should be a table",
    "missing": "is missing",
    "extra_forbidden": "is not a setting sms-tui knows",
}


def _describe(exc: ValidationError) -> str:
    """Pydantic's errors as one readable sentence: "profiles.work.region: “mars” is not a ..."."""
    return _describe_errors(exc.errors(include_url=False))


def _flatten(errors: list, outer: tuple = ()) -> list:
    flat = []
    for error in errors:
        inner = (error.get("ctx") or {}).get("error")
        if isinstance(inner, InvalidProfile):
            flat.extend(_flatten(inner.errors, outer + tuple(error["loc"])))
        else:
            flat.append({**error, "loc": outer + tuple(error["loc"])})
    return flat


def _describe_errors(errors: list, *, prefix: bool = True) -> str:
    parts = []
    for error in _flatten(errors):
        where = ".".join(str(item) for item in error["loc"])
        message = _TYPE_WORDS.get(error["type"]) or error["msg"].removeprefix("Value error, ")
        message = message.rstrip(".")
        if error["type"] in _TYPE_WORDS and error["type"] not in ("missing", "extra_forbidden"):
            message += f" (found {_shown(error.get('input'))})"
        own_sentence = error["type"] == "value_error" and not prefix
        parts.append(f"{where}: {message}" if where and not own_sentence else message)
    if len(parts) > 3:
        parts = parts[:3] + [f"and {len(parts) - 3} more problems"]
    return "; ".join(parts)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "…"

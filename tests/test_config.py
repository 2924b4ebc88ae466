"""Profiles and the settings file: paths, round trips, permissions, damage, the environment."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sms_tui import config
from sms_tui.config import (
    REGIONS,
    Profile,
    Settings,
    check_base_url,
    config_dir,
    config_path,
    data_dir,
    default_account_id,
    ensure_data_dir,
    load_settings,
    make_profile,
    remove_profile,
    resolve_profile,
    save_settings,
    upsert_profile,
)
from sms_tui.errors import ConfigError, InvalidInput


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def sample_settings() -> Settings:
    work = Profile(
        name="work",
        subaccount_id="acme_hq",
        sender="MyBrand",
        country="sg",
        region="eu",
    )
    lab = Profile(
        name="lab",
        subaccount_id="lab-sub",
        account_id="0f4c1a2b-3c4d-5e6f-7a8b-9c0d1e2f3a4b",
        region="custom",
        base_url="http://127.0.0.1:8080/",
        sandbox=True,
    )
    return Settings(active_profile="work", profiles={"work": work, "lab": lab}, theme="nord")


GOOD_FILE = """\
active_profile = "work"

[profiles.work]
subaccount_id = "acme_hq"
region = "apac"
sender = "MyBrand"
country = "SG"
"""


# ---- paths --------------------------------------------------------------------------------


def test_paths_follow_xdg(isolated_home):
    assert config_dir() == isolated_home / "config" / "sms-tui"
    assert config_path() == isolated_home / "config" / "sms-tui" / "config.toml"
    assert data_dir() == isolated_home / "data" / "sms-tui"


def test_paths_move_with_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data2"))
    assert config_path() == tmp_path / "elsewhere" / "sms-tui" / "config.toml"
    assert data_dir() == tmp_path / "data2" / "sms-tui"
    save_settings(sample_settings())
    assert (tmp_path / "elsewhere" / "sms-tui" / "config.toml").is_file()


def test_ensure_data_dir_is_owner_only(isolated_home):
    path = ensure_data_dir()
    assert path == isolated_home / "data" / "sms-tui"
    assert mode(path) == 0o700


# ---- round trip, permissions, atomic write ------------------------------------------------


def test_missing_file_gives_empty_settings_and_writes_nothing(isolated_home):
    assert load_settings() == Settings()
    assert not config_dir().exists()


def test_round_trip(isolated_home):
    original = sample_settings()
    path = save_settings(original)
    assert path == config_path()
    loaded = load_settings()
    assert loaded == original
    assert loaded.profiles["work"].country == "SG"
    assert loaded.profiles["lab"].base_url == "http://127.0.0.1:8080"


def test_file_is_readable_toml_without_names_or_nulls(isolated_home):
    text = save_settings(sample_settings()).read_text()
    assert "[profiles.work]" in text
    assert "name =" not in text  # the table name is the profile name
    work = text.split("[profiles.work]")[1].split("[")[0]
    assert "\naccount_id" not in work  # None is left out
    assert "\naccount_id = " in text.split("[profiles.lab]")[1]
    assert "API key is not in this file" in text


def test_file_is_0600_and_directory_0700_whatever_the_umask(isolated_home):
    previous = os.umask(0o022)
    try:
        path = save_settings(sample_settings())
    finally:
        os.umask(previous)
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700


def test_saving_tightens_an_existing_loose_directory_and_file(isolated_home):
    directory = config_dir()
    directory.mkdir(mode=0o755)
    os.chmod(directory, 0o755)
    config_path().write_text(GOOD_FILE)
    os.chmod(config_path(), 0o644)
    save_settings(load_settings())
    assert mode(directory) == 0o700
    assert mode(config_path()) == 0o600


def test_save_replaces_the_file_in_one_step_and_leaves_no_temporary_file(isolated_home):
    path = save_settings(sample_settings())
    first_inode = path.stat().st_ino
    changed = upsert_profile(load_settings(), Profile(name="new", subaccount_id="new_hq"))
    save_settings(changed)
    # A new file renamed over the old one (an in-place rewrite would keep the inode).
    assert path.stat().st_ino != first_inode
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.toml"]
    assert load_settings().active_profile == "new"


def test_a_failed_save_keeps_the_old_file_and_cleans_up(isolated_home, monkeypatch):
    path = save_settings(sample_settings())
    before = path.read_bytes()

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_space)
    with pytest.raises(ConfigError, match="No space left on device") as caught:
        save_settings(Settings())
    assert str(path) in str(caught.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.toml"]


def test_saving_over_a_directory_is_a_config_error(tmp_path):
    target = tmp_path / "cfg"
    (target / "config.toml").mkdir(parents=True)
    (target / "config.toml" / "keep").write_text("x")
    with pytest.raises(ConfigError, match="Cannot write"):
        save_settings(sample_settings(), target / "config.toml")
    assert sorted(p.name for p in target.iterdir()) == ["config.toml"]


def test_a_symlinked_settings_file_stays_a_symlink(isolated_home, tmp_path):
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    os.chmod(dotfiles, 0o755)
    real = dotfiles / "sms-tui.toml"
    real.write_text(GOOD_FILE)
    config_dir().mkdir(mode=0o700)
    config_path().symlink_to(real)
    save_settings(upsert_profile(load_settings(), Profile(name="b", subaccount_id="bbb")))
    assert config_path().is_symlink()
    assert "[profiles.b]" in real.read_text()
    assert mode(real) == 0o600
    assert mode(dotfiles) == 0o755  # someone else's directory: left as it was


def test_explicit_path(tmp_path):
    path = tmp_path / "nested" / "my.toml"
    assert save_settings(sample_settings(), path) == path
    assert load_settings(path) == sample_settings()
    assert mode(path.parent) == 0o700


# ---- damaged files ------------------------------------------------------------------------

BAD_FILES = {
    "not toml": ("active_profile = \n", "not valid TOML"),
    "truncated string": ('[profiles.work]\nsubaccount_id = "acme', "not valid TOML"),
    "binary": (b"\xff\xfe\x00garbage", "not UTF-8"),
    "wrong type": ("active_profile = 3\n", "active_profile: should be text in quotes (found 3)"),
    "bool as text": (
        '[profiles.w]\nsubaccount_id = "abc"\nsandbox = "yes"\n',
        "profiles.w.sandbox: should be true or false",
    ),
    "number as subaccount": ("[profiles.w]\nsubaccount_id = 123\n", "profiles.w.subaccount_id"),
    "missing subaccount": ('[profiles.w]\nregion = "eu"\n', "profiles.w.subaccount_id: is missing"),
    "profile not a table": ('profiles = "work"\n', "profiles: should be a table"),
    "unknown key": (
        '[profiles.w]\nsubacount_id = "abc"\n',
        "profiles.w.subacount_id: is not a setting sms-tui knows",
    ),
    "bad region": (
        '[profiles.w]\nsubaccount_id = "abc"\nregion = "mars"\n',
        "“mars” is not a region",
    ),
    "bad subaccount": ('[profiles.w]\nsubaccount_id = "a b"\n', "Subaccount id “a b” contains"),
    "plain http": (
        '[profiles.w]\nsubaccount_id = "abc"\nbase_url = "http://example.com"\n',
        "plain http",
    ),
    "custom without url": (
        '[profiles.w]\nsubaccount_id = "abc"\nregion = "custom"\n',
        'region "custom" needs a base_url',
    ),
    "base url with region": (
        '[profiles.w]\nsubaccount_id = "abc"\nregion = "eu"\nbase_url = "https://x.example"\n',
        'set region = "custom"',
    ),
    "sender too long": (
        '[profiles.w]\nsubaccount_id = "abc"\nsender = "ABCDEFGHIJKLMNOPQ"\n',
        "at most 16",
    ),
    "bad country": ('[profiles.w]\nsubaccount_id = "abc"\ncountry = "XX"\n', "not a country code"),
    "dangling active": ('active_profile = "gone"\n', "no [profiles.gone] table"),
    "name mismatch": (
        '[profiles.w]\nname = "other"\nsubaccount_id = "abc"\n',
        "[profiles.w] has name “other”",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_damaged_file_gives_config_error_naming_file_and_problem_and_is_left_alone(
    case, isolated_home
):
    content, words = BAD_FILES[case]
    path = config_path()
    path.parent.mkdir(parents=True)
    data = content if isinstance(content, bytes) else content.encode()
    path.write_bytes(data)
    before = path.stat()
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert str(path) in message
    assert words in message
    assert "sms-tui setup" in message
    assert path.read_bytes() == data
    assert path.stat().st_mtime_ns == before.st_mtime_ns
    # The app tries again at its next start: still the same error, still the same file.
    with pytest.raises(ConfigError):
        resolve_profile()
    assert path.read_bytes() == data


def test_every_truncation_of_a_good_file_loads_or_fails_cleanly(isolated_home):
    full = save_settings(sample_settings()).read_bytes()
    path = config_path()
    for end in range(len(full)):
        path.write_bytes(full[:end])
        try:
            load_settings()
        except ConfigError as error:
            assert str(path) in str(error)
        assert path.read_bytes() == full[:end]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_file_content_loads_or_gives_config_error(data, isolated_home):
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    try:
        load_settings()
    except ConfigError as error:
        assert str(path) in str(error)
    assert path.read_bytes() == data


def test_unreadable_path_is_a_config_error(isolated_home):
    config_path().mkdir(parents=True)  # a directory where the file should be
    with pytest.raises(ConfigError, match="is a directory"):
        load_settings()


# ---- profiles -----------------------------------------------------------------------------


def test_fields_carry_docstrings():
    for model in (Profile, Settings):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no docstring"


def test_profile_defaults_and_derived_values():
    profile = Profile(name="p", subaccount_id="riders_hq")
    assert profile.region == "apac"
    assert profile.effective_base_url() == "https://sms.8x8.com"
    assert profile.effective_account_id() == "riders"
    assert profile.region_label() == "Asia-Pacific"
    assert Profile(
        name="p", subaccount_id="riders_hq", account_id="acc"
    ).effective_account_id() == ("acc")


@pytest.mark.parametrize(
    ("region", "url", "label"),
    [
        ("apac", "https://sms.8x8.com", "Asia-Pacific"),
        ("us", "https://sms.us.8x8.com", "North America"),
        ("eu", "https://sms.8x8.uk", "Europe"),
        ("id", "https://sms.8x8.id", "Indonesia"),
        ("EU", "https://sms.8x8.uk", "Europe"),
    ],
)
def test_regions(region, url, label):
    profile = Profile(name="p", subaccount_id="abc", region=region)
    assert profile.effective_base_url() == url
    assert profile.region_label() == label
    assert REGIONS[profile.region].base_url == url


def test_custom_and_sandbox_labels():
    custom = Profile(name="p", subaccount_id="abc", base_url="https://proxy.example:8443/8x8/")
    assert custom.region == "custom"  # a base_url alone means custom
    assert custom.effective_base_url() == "https://proxy.example:8443/8x8"
    assert custom.region_label() == "Custom (proxy.example:8443)"
    sandbox = Profile(
        name="sandbox",
        subaccount_id="sandbox_hq",
        region="custom",
        base_url="http://127.0.0.1:5000",
        sandbox=True,
    )
    assert sandbox.region_label() == "Local sandbox"


def test_default_account_id():
    assert default_account_id("riders_hq") == "riders"
    assert default_account_id("Riders_HQ") == "Riders"
    assert default_account_id("riders") == "riders"
    assert default_account_id("_hq") == "_hq"


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"name": "a b", "subaccount_id": "abc"}, "not a usable profile name"),
        ({"name": "w", "subaccount_id": "ab"}, "too short"),
        ({"name": "w", "subaccount_id": "abc", "sender": "x" * 17}, "at most 16"),
        ({"name": "w", "subaccount_id": "abc", "country": "Narnia"}, "not a country code"),
        ({"name": "w", "subaccount_id": "abc", "region": "custom"}, "needs a base_url"),
        ({"name": "w", "subaccount_id": "abc", "account_id": "a/b"}, "not a valid account id"),
        ({"name": "w"}, "subaccount_id: is missing"),
    ],
)
def test_profiles_built_from_input_raise_invalid_input(fields, words):
    for build in (make_profile, lambda **kw: Profile(**kw)):
        with pytest.raises(InvalidInput, match=words) as caught:
            build(**fields)
        assert "Value error" not in str(caught.value)


def test_profile_normalises_what_was_typed():
    profile = make_profile(
        name=" work ", subaccount_id=" acme_hq ", sender=" MyBrand ", country="sg", region="US"
    )
    assert (
        profile.name,
        profile.subaccount_id,
        profile.sender,
        profile.country,
        profile.region,
    ) == ("work", "acme_hq", "MyBrand", "SG", "us")
    assert make_profile(name="w", subaccount_id="abc", sender="  ").sender is None


def test_upsert_and_remove_profiles():
    settings = Settings()
    a = Profile(name="a", subaccount_id="aaa")
    b = Profile(name="b", subaccount_id="bbb")
    assert upsert_profile(settings, a) is settings  # in place, and returned for chaining
    upsert_profile(settings, b, make_active=False)
    assert settings.active_profile == "a"
    assert list(settings.profiles) == ["a", "b"]
    upsert_profile(settings, Profile(name="a", subaccount_id="aaa2"), make_active=False)
    assert settings.profiles["a"].subaccount_id == "aaa2"
    upsert_profile(settings, b)
    assert settings.active_profile == "b"
    remove_profile(settings, "b")
    assert settings.active_profile == "a"
    assert list(settings.profiles) == ["a"]
    remove_profile(settings, "a")
    assert settings == Settings()
    with pytest.raises(ConfigError, match="no profile named “zz”"):
        remove_profile(settings, "zz")


# ---- resolving the profile in use, and the environment ------------------------------------


def test_no_profile_tells_the_person_what_to_do():
    with pytest.raises(ConfigError) as caught:
        resolve_profile(settings=Settings())
    assert "sms-tui setup" in str(caught.value)
    assert "sms-tui --sandbox" in str(caught.value)


def test_resolve_by_name_environment_active_and_only_profile(monkeypatch):
    settings = sample_settings()
    assert resolve_profile(settings=settings).name == "work"
    assert resolve_profile("lab", settings).name == "lab"
    monkeypatch.setenv("SMS_TUI_PROFILE", "lab")
    assert resolve_profile(settings=settings).name == "lab"
    assert resolve_profile("work", settings).name == "work"  # an explicit name wins
    monkeypatch.delenv("SMS_TUI_PROFILE")
    only = Settings(profiles={"solo": Profile(name="solo", subaccount_id="solo_hq")})
    assert resolve_profile(settings=only).name == "solo"


def test_resolve_reads_the_file_when_not_given_settings(isolated_home):
    save_settings(sample_settings())
    assert resolve_profile().subaccount_id == "acme_hq"


def test_unknown_profile_name(monkeypatch):
    with pytest.raises(ConfigError, match="no profile named “nope”.*lab"):
        resolve_profile("nope", sample_settings())
    monkeypatch.setenv("SMS_TUI_PROFILE", "ghost")
    with pytest.raises(ConfigError, match=r"“ghost” \(from \$SMS_TUI_PROFILE\)"):
        resolve_profile(settings=sample_settings())


def test_several_profiles_none_active():
    settings = sample_settings()
    settings.active_profile = None
    with pytest.raises(ConfigError, match="none is active"):
        resolve_profile(settings=settings)


def test_environment_overrides_subaccount_and_base_url(monkeypatch):
    monkeypatch.setenv("SMS_TUI_SUBACCOUNT", "other_hq")
    monkeypatch.setenv("SMS_TUI_BASE_URL", "https://sms.us.8x8.com/")
    profile = resolve_profile(settings=sample_settings())
    assert profile.name == "work"
    assert profile.subaccount_id == "other_hq"
    assert profile.effective_account_id() == "other"
    assert profile.region == "custom"
    assert profile.effective_base_url() == "https://sms.us.8x8.com"
    assert profile.sender == "MyBrand"  # the rest of the profile stays
    # ... and nothing of it is written back.
    assert sample_settings().profiles["work"].subaccount_id == "acme_hq"


def test_environment_alone_makes_an_ad_hoc_profile(monkeypatch):
    monkeypatch.setenv("SMS_TUI_SUBACCOUNT", "riders_hq")
    profile = resolve_profile(settings=Settings())
    assert (profile.name, profile.subaccount_id, profile.region) == ("env", "riders_hq", "apac")
    monkeypatch.setenv("SMS_TUI_BASE_URL", "http://localhost:8000")
    assert resolve_profile(settings=Settings()).effective_base_url() == "http://localhost:8000"


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("SMS_TUI_SUBACCOUNT", "no spaces allowed", "$SMS_TUI_SUBACCOUNT is not usable"),
        ("SMS_TUI_BASE_URL", "http://sms.8x8.com", "$SMS_TUI_BASE_URL is not usable"),
    ],
)
def test_bad_environment_values_are_config_errors_naming_the_variable(
    monkeypatch, variable, value, words
):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=words.replace("$", r"\$")):
        resolve_profile(settings=sample_settings())


def test_empty_environment_values_are_ignored(monkeypatch):
    for variable in ("SMS_TUI_PROFILE", "SMS_TUI_SUBACCOUNT", "SMS_TUI_BASE_URL"):
        monkeypatch.setenv(variable, "  ")
    assert resolve_profile(settings=sample_settings()).subaccount_id == "acme_hq"


# ---- the base URL rule (shared with the client) -------------------------------------------


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("https://sms.8x8.com", "https://sms.8x8.com"),
        ("HTTPS://SMS.8x8.COM/", "https://sms.8x8.com"),
        ("sms.8x8.uk", "https://sms.8x8.uk"),
        ("https://proxy.example:8443/prefix/", "https://proxy.example:8443/prefix"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("http://127.0.0.1:5000/", "http://127.0.0.1:5000"),
        ("http://127.8.9.10", "http://127.8.9.10"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_accepted_base_urls(url, normalised):
    assert check_base_url(url) == normalised


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("", "empty"),
        ("http://sms.8x8.com", "plain http"),
        ("http://10.0.0.5:8000", "plain http"),
        ("http://localhost.example.com", "plain http"),
        ("ftp://sms.8x8.com", "must start with https://"),
        ("https://", "must start with https://"),
        ("https://sms.8x8.com:99999", "not a valid web address"),
        ("https://sms.8x8.com/?debug=1", "query"),
        ("https://sms 8x8.com", "spaces"),
    ],
)
def test_refused_base_urls(url, words):
    with pytest.raises(InvalidInput, match=words):
        check_base_url(url)


def test_credentials_in_a_base_url_are_refused_without_echoing_them():
    with pytest.raises(InvalidInput, match="user name or password") as caught:
        check_base_url("https://me:hunter2@sms.8x8.com")
    assert "hunter2" not in str(caught.value)


def test_the_module_names_what_it_exports():
    for name in config.__all__:
        assert hasattr(config, name)


@pytest.mark.parametrize("url", ["http:/evil.com", "https:/sms.8x8.com", "ftp:/x"])
def test_a_mistyped_scheme_is_refused_not_guessed(url):
    with pytest.raises(InvalidInput):
        check_base_url(url)

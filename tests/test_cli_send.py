"""`sms-tui send` and `sms-tui setup` as a script would use them, against the sandbox."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from conftest import SANDBOX_TEST_KEY

from sms_tui import cli
from sms_tui.cli import main
from sms_tui.history import History, HistoryFilter
from sms_tui.sandbox import Sandbox


@pytest.fixture
def configured(sandbox, monkeypatch, capsys):
    """A profile named `test` pointing at the sandbox, set up through `sms-tui setup`."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(SANDBOX_TEST_KEY + "\n"))
    code = main(
        [
            "setup",
            "--name",
            "test",
            "--subaccount",
            sandbox.subaccount_id,
            "--base-url",
            sandbox.base_url,
            "--from",
            "MyBrand",
            "--country",
            "SG",
        ]
    )
    assert code == cli.EXIT_OK
    assert "key and subaccount work" in capsys.readouterr().out
    return sandbox


def stored():
    with History() as history:
        return list(reversed(history.page(HistoryFilter(), limit=100)))


def test_setup_verifies_and_keeps_the_key_out_of_the_profile_file(configured, isolated_home):
    files = [p for p in isolated_home.rglob("*") if p.is_file()]
    assert files, "setup wrote no profile file"
    for path in files:
        assert SANDBOX_TEST_KEY.encode() not in path.read_bytes(), path


def test_setup_with_a_wrong_key_saves_nothing(sandbox, monkeypatch, capsys, isolated_home):
    monkeypatch.setattr(sys, "stdin", io.StringIO("wrong-key\n"))
    code = main(["setup", "--subaccount", sandbox.subaccount_id, "--base-url", sandbox.base_url])
    assert code != cli.EXIT_OK
    assert "key" in capsys.readouterr().err.lower()
    assert not list((isolated_home / "config").rglob("*.toml"))


def test_send_one_message_exits_zero_and_records_it(configured, capsys):
    code = main(["send", "--to", "+6512345678", "--text", "Hello"])
    assert code == cli.EXIT_OK
    assert "umid" in capsys.readouterr().out
    [record] = stored()
    assert record.state == "queued" and record.sender == "MyBrand"


def test_send_reads_the_text_from_stdin(configured, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("From stdin ✓\n".encode())))
    assert main(["send", "--to", "91234567", "--text", "-"]) == cli.EXIT_OK
    [record] = stored()
    assert record.text == "From stdin ✓"
    assert record.destination == "+6591234567"


def test_send_refuses_text_that_is_not_utf8(configured, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"caf\xe9")))
    assert main(["send", "--to", "+6512345678", "--text", "-"]) == cli.EXIT_INVALID
    assert "UTF-8" in capsys.readouterr().err
    assert stored() == []


def test_send_to_several_numbers_prints_json_answers(configured, capsys):
    code = main(
        ["send", "--to", "+6581234567,+6591234567", "--to", "+6598765432", "--text", "Hi", "--json"]
    )
    assert code == cli.EXIT_OK
    answer = json.loads(capsys.readouterr().out)
    assert answer["accepted"] == 3
    assert all(r["response"]["umid"] for r in answer["results"])


def test_invalid_number_exits_2_and_sends_nothing(configured, capsys):
    code = main(["send", "--to", "+65 12", "--text", "Hi"])
    assert code == cli.EXIT_INVALID
    assert "+65 12" in capsys.readouterr().err
    assert stored() == []


def test_outcome_unknown_exits_5(configured, capsys):
    configured.inject("drop_after_accept")
    code = main(["send", "--to", "+6512345678", "--text", "Hi"])
    assert code == cli.EXIT_UNKNOWN
    assert "may have been sent" in capsys.readouterr().err


def test_rejected_exits_3(configured, monkeypatch, capsys):
    monkeypatch.setenv("SMS_TUI_API_KEY", "a-key-8x8-does-not-know")
    code = main(["send", "--to", "+6512345678", "--text", "Hi"])
    assert code == cli.EXIT_REJECTED
    err = capsys.readouterr().err
    assert "1200" in err
    assert "a-key-8x8-does-not-know" not in err


def test_no_profile_says_how_to_get_one(capsys):
    code = main(["send", "--to", "+6512345678", "--text", "Hi"])
    assert code == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert "setup" in err and "Traceback" not in err


def test_sandbox_flag_sends_without_any_configuration(capsys):
    code = main(["--sandbox", "send", "--to", "+6512345678", "--text", "Hi"])
    assert code == cli.EXIT_OK
    assert stored()[0].state == "queued"


def test_the_tutorial_example_makes_the_same_request_as_its_curl_command(monkeypatch, capsys):
    """8x8's tutorial: POST https://sms.8x8.com/api/v1/subaccounts/riders_hq/messages with a
    bearer key and {source, destination, text, encoding}. Same path, header and JSON here."""
    key = "5DhZxZRILVPKjXuFWsd7QGZtutorial31n19pYmg"
    with Sandbox(api_key=key, subaccount_id="riders_hq", account_id="riders") as tutorial:
        monkeypatch.setattr(sys, "stdin", io.StringIO(key + "\n"))
        assert (
            main(
                [
                    "setup",
                    "--subaccount",
                    "riders_hq",
                    "--base-url",
                    tutorial.base_url,
                    "--from",
                    "MyBrand",
                    "--no-verify",
                ]
            )
            == cli.EXIT_OK
        )
        code = main(
            ["send", "--to", "+6512345678", "--text", "Bob, a special present for you from Santa"]
        )
        assert code == cli.EXIT_OK
        [request] = [r for r in tutorial.requests if r.method == "POST"]
    assert request.path == "/api/v1/subaccounts/riders_hq/messages"
    assert request.headers["authorization"] == f"Bearer {key}"
    assert request.headers["content-type"].startswith("application/json")
    body = request.json
    assert body["source"] == "MyBrand"
    assert body["destination"] == "+6512345678"
    assert body["text"] == "Bob, a special present for you from Santa"
    assert body["encoding"] == "AUTO"
    # Beyond the tutorial's fields, only the id that lets a duplicate be traced.
    assert set(body) == {"source", "destination", "text", "encoding", "clientMessageId"}


def test_a_real_process_sends_and_never_shows_a_traceback(sandbox, isolated_home):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(isolated_home),
        "XDG_CONFIG_HOME": str(isolated_home / "config"),
        "XDG_DATA_HOME": str(isolated_home / "data"),
        "SMS_TUI_API_KEY": SANDBOX_TEST_KEY,
        "SMS_TUI_SUBACCOUNT": sandbox.subaccount_id,
        "SMS_TUI_BASE_URL": sandbox.base_url,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }
    ok = subprocess.run(
        [sys.executable, "-m", "sms_tui", "send", "--to", "+6512345678", "--text", "hi"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "sms_tui", "send", "--to", "nope", "--text", "hi"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert bad.returncode == cli.EXIT_INVALID
    assert "Traceback" not in bad.stderr

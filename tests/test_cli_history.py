"""`sms-tui history` as people and scripts use it: list, filter, show, export, delete, refresh."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import SANDBOX_TEST_KEY

from sms_tui import cli
from sms_tui.cli import main
from sms_tui.cli.history import _fit, _width, parse_when
from sms_tui.errors import InvalidInput
from sms_tui.history import History, HistoryFilter

NOW = datetime.now(UTC).replace(microsecond=0)
REPO = Path(__file__).resolve().parent.parent


def record(n: int, **fields) -> dict:
    """A record `n` hours old (n=0 is the newest)."""
    data = dict(
        created_at=NOW - timedelta(hours=n),
        profile="work",
        subaccount_id="acme_hq",
        region="Asia-Pacific",
        sender="ACME",
        destination=f"+65912{n:05d}",
        text=f"Reminder number {n}",
        requested_encoding="AUTO",
        encoding="GSM7",
        units=18,
        segment_count=1,
        client_message_id=f"cm-{n}",
        state="delivered",
    )
    data.update(fields)
    return data


def add(*records: dict) -> None:
    """Records added oldest first, so ids grow with time as they do in real use."""
    with History() as history:
        history.import_records(sorted(records, key=lambda r: r["created_at"]))


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["history", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def three(capsys):
    add(
        record(0, text="Your table for two is booked", state="queued", umid="umid-zero"),
        record(5, text="Invoice 17 is due", state="failed", profile="personal"),
        record(30, text="Welcome aboard", state="delivered", price=0.05, currency="EUR"),
    )
    return capsys


# ------------------------------------------------------------------------------------------
# Listing


def test_an_empty_history_says_so(capsys):
    code, out, _ = run(capsys)
    assert code == cli.EXIT_OK
    assert out.strip() == "No messages in the history yet."


def test_the_table_lists_newest_first_within_the_terminal_width(three, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    code, out, _ = run(three)
    assert code == cli.EXIT_OK
    lines = out.splitlines()
    # Narrow: the date is shorter and the segment count made room for the text.
    assert lines[0].split() == ["ID", "Sent", "To", "State", "Text"]
    assert [line.split()[0] for line in lines[1:]] == ["3", "2", "1"]
    assert "queued" in lines[1] and "failed" in lines[2]
    assert all(_width(line) <= 60 for line in lines)
    assert lines[1].endswith("…")  # the text was cut to fit


def test_a_wide_terminal_shows_whole_texts(three, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    _, out, _ = run(three)
    assert out.splitlines()[0].split() == ["ID", "Sent", "To", "State", "Seg", "Text"]
    assert "Your table for two is booked" in out


def test_limit_and_the_hint_about_more(three):
    code, out, _ = run(three, "--limit", "2")
    assert code == cli.EXIT_OK
    assert [line.split()[0] for line in out.splitlines()[1:3]] == ["3", "2"]
    assert "newest 2 of 3" in out


@pytest.mark.parametrize(
    ("argv", "ids"),
    [
        (["--search", "invoice"], ["2"]),
        (["--search", "+65 91200005"], ["2"]),
        (["-s", "umid-zero"], ["3"]),
        (["--state", "failed"], ["2"]),
        (["--state", "failed,queued"], ["3", "2"]),
        (["--state", "queued", "--state", "delivered"], ["3", "1"]),
        (["--since", "2h"], ["3"]),
        (["--until", "2h"], ["2", "1"]),
        (["--since", "1d", "--until", "1h"], ["2"]),
        (["--profile", "personal"], ["2"]),
    ],
)
def test_filters(three, argv, ids):
    code, out, _ = run(three, *argv)
    assert code == cli.EXIT_OK
    assert [line.split()[0] for line in out.splitlines()[1:] if line.strip()] == ids


def test_the_global_profile_option_filters_too(three):
    code = main(["--profile", "personal", "history"])
    out = three.readouterr().out
    assert code == cli.EXIT_OK
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["2"]


def test_no_match_says_so(three):
    code, out, _ = run(three, "--search", "nothing-like-this")
    assert code == cli.EXIT_OK and out.strip() == "No messages match."


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["--state", "done"], "not a message state"),
        (["--since", "last tuesday"], "not a date"),
        (["--limit", "0"], "at least 1"),
        (["--limit", "many"], "not a number"),
        (["--since", "today", "--until", "yesterday"], "before --until"),
    ],
)
def test_bad_options_exit_2_with_a_sentence(three, argv, complaint):
    code, out, err = run(three, *argv)
    assert code == cli.EXIT_INVALID
    assert complaint in err and "Traceback" not in err
    assert out == ""


def test_json_gives_every_field_one_object_per_line(three):
    code, out, _ = run(three, "--json")
    assert code == cli.EXIT_OK
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["id"] for line in lines] == [3, 2, 1]
    assert lines[0]["umid"] == "umid-zero" and lines[2]["price"] == 0.05
    assert {"destination", "text", "state", "segment_count", "error_code", "created_at"} <= set(
        lines[0])


def test_csv_has_a_header_and_obeys_filters(three):
    code, out, _ = run(three, "--csv", "--state", "delivered,failed")
    assert code == cli.EXIT_OK
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [row["id"] for row in rows] == ["2", "1"]
    assert rows[0]["text"] == "Invoice 17 is due"


def test_json_and_csv_together_are_refused(three):
    with pytest.raises(SystemExit) as exit_:
        main(["history", "--json", "--csv"])
    assert exit_.value.code == 2


def test_help_explains_the_actions(capsys):
    with pytest.raises(SystemExit):
        main(["history", "--help"])
    out = capsys.readouterr().out
    for word in ("show ID", "refresh", "export", "delete ID", "--search", "--state", "--since"):
        assert word in out


# ------------------------------------------------------------------------------------------
# One message


def test_show_prints_everything_recorded(three):
    code, out, _ = run(three, "show", "3")
    assert code == cli.EXIT_OK
    assert "Message:" in out and "#3" in out
    assert "umid-zero" in out and "queued" in out and "Your table for two is booked" in out
    code, out, _ = run(three, "show", "#1")
    assert "0.05 EUR" in out


def test_show_json(three):
    code, out, _ = run(three, "show", "2", "--json")
    assert code == cli.EXIT_OK
    assert json.loads(out)["text"] == "Invoice 17 is due"


def test_show_of_a_missing_message(three):
    code, out, err = run(three, "show", "99")
    assert code == cli.EXIT_ERROR
    assert "There is no message #99" in err
    code, _, err = run(three, "show", "abc")
    assert code == cli.EXIT_INVALID and "not a message ID" in err


def test_a_message_left_pending_by_a_crash_is_shown_as_unknown(capsys):
    add(record(0, state="delivered"))
    with History() as history:
        from sms_tui.history import NewMessage

        [record_id] = history.add_pending([NewMessage(
            profile="work", subaccount_id="acme_hq", region="Asia-Pacific", sender=None,
            destination="+6591234567", text="in flight", requested_encoding="AUTO",
            encoding="GSM7", units=9, segment_count=1, client_message_id=None)])
    # The History above closed without an outcome, as a killed process would.
    code, out, _ = run(capsys, "show", str(record_id))
    assert code == cli.EXIT_OK and "unknown" in out and "pending" not in out


# ------------------------------------------------------------------------------------------
# Export


def test_export_to_a_file_is_owner_only(three, tmp_path):
    target = tmp_path / "out" / "sent.csv"
    target.parent.mkdir()
    code, out, err = run(three, "export", "--output", str(target), "--state", "delivered")
    assert code == cli.EXIT_OK
    assert "Exported 1 message" in err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert [row["text"] for row in rows] == ["Welcome aboard"]
    assert list(target.parent.iterdir()) == [target]  # no temporary file left behind


def test_export_jsonl_to_stdout(three):
    code, out, _ = run(three, "export", "--format", "jsonl", "--search", "invoice")
    assert code == cli.EXIT_OK
    assert [json.loads(line)["id"] for line in out.splitlines()] == [2]


# ------------------------------------------------------------------------------------------
# Delete


def remaining() -> list[int]:
    with History() as history:
        return [r.id for r in history.page(HistoryFilter())]


def test_delete_by_id(three):
    code, out, _ = run(three, "delete", "1", "#3")
    assert code == cli.EXIT_OK
    assert "Deleted 2 messages" in out
    assert remaining() == [2]


def test_delete_of_a_missing_id_deletes_the_others_and_says_so(three):
    code, out, err = run(three, "delete", "2", "42")
    assert code == cli.EXIT_ERROR
    assert "no message #42" in err and "Deleted 1 message" in out
    assert remaining() == [3, 1]


def test_deleting_a_filtered_set_asks_first(three, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("n\n"))
    code, out, err = run(three, "delete", "--state", "failed")
    assert code == cli.EXIT_INVALID and "--yes" in err  # not a terminal: no silent default
    assert remaining() == [3, 2, 1]

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    code, out, _ = run(three, "delete", "--state", "failed")
    assert code == cli.EXIT_OK and "Nothing was deleted" in out
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    code, out, _ = run(three, "delete", "--state", "failed")
    assert code == cli.EXIT_OK and "Deleted 1 message" in out
    assert remaining() == [3, 1]


def test_delete_with_yes_and_all(three):
    code, out, _ = run(three, "delete", "--search", "welcome", "--yes")
    assert code == cli.EXIT_OK and remaining() == [3, 2]
    code, out, _ = run(three, "delete", "--all", "--yes")
    assert code == cli.EXIT_OK and remaining() == []
    code, out, _ = run(three, "delete", "--all", "--yes")
    assert code == cli.EXIT_OK and "nothing was deleted" in out


@pytest.mark.parametrize(
    "argv", [["delete"], ["delete", "1", "--state", "failed"], ["delete", "1", "--all"]]
)
def test_delete_needs_a_clear_selection(three, argv):
    code, _, err = run(three, *argv)
    assert code == cli.EXIT_INVALID and err
    assert remaining() == [3, 2, 1]


# ------------------------------------------------------------------------------------------
# Against the sandbox: refresh, cancel, delete --remote


@pytest.fixture
def configured(sandbox, monkeypatch, capsys):
    """A profile pointing at the sandbox, set up as a person would, with one message sent."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(SANDBOX_TEST_KEY + "\n"))
    assert main(["setup", "--name", "test", "--subaccount", sandbox.subaccount_id,
                 "--base-url", sandbox.base_url]) == cli.EXIT_OK
    capsys.readouterr()
    return sandbox


def sent(capsys, *argv: str) -> int:
    assert main(["send", "--to", "+6512345678", "--text", "Hello from the history tests",
                 *argv]) == cli.EXIT_OK
    capsys.readouterr()
    with History() as history:
        return history.page(limit=1)[0].id


def test_refresh_records_the_delivery(configured, capsys):
    record_id = sent(capsys)
    configured.advance(60)  # the sandbox's delivery clock, instead of waiting
    code, out, err = run(capsys, "refresh")
    assert code == cli.EXIT_OK, err
    assert f"#{record_id}: delivered" in out and "1 message changed state" in out
    with History() as history:
        record = history.get(record_id)
    assert record.state == "delivered" and record.checked_at is not None
    code, out, _ = run(capsys, "refresh")
    assert code == cli.EXIT_OK and "No message of profile 'test' is waiting" in out


def test_cancel_a_scheduled_message(configured, capsys):
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat(timespec="seconds")
    record_id = sent(capsys, "--schedule", later)
    code, out, err = run(capsys, "cancel", str(record_id))
    assert code == cli.EXIT_OK, err
    assert f"#{record_id}: cancelled." in out
    with History() as history:
        assert history.get(record_id).state == "cancelled"
    code, _, err = run(capsys, "cancel", str(record_id))
    assert code == cli.EXIT_ERROR and "cannot be cancelled" in err


def test_delete_remote_asks_8x8_to_remove_the_personal_data(configured, capsys):
    record_id = sent(capsys)
    with History() as history:
        umid = history.get(record_id).umid
    code, out, err = run(capsys, "delete", str(record_id), "--remote")
    assert code == cli.EXIT_OK, err
    assert "8x8 will remove the personal data of 1 message" in out
    assert any(r.method == "DELETE" and r.path.endswith(f"/messages/{umid}/pii")
               for r in configured.received)
    assert remaining() == []


def test_delete_remote_keeps_the_record_when_8x8_cannot_be_reached(configured, capsys):
    record_id = sent(capsys)
    configured.inject("server_error", status=503, times=10, endpoint="pii")
    code, out, err = run(capsys, "delete", str(record_id), "--remote")
    assert code == cli.EXIT_ERROR
    assert f"#{record_id} was kept here" in err
    assert remaining() == [record_id]


def test_sandbox_flag_cannot_refresh_recorded_messages(capsys):
    code = main(["--sandbox", "history", "refresh"])
    err = capsys.readouterr().err
    assert code == cli.EXIT_INVALID and "sms-tui sandbox" in err


# ------------------------------------------------------------------------------------------
# Helpers


def test_dates():
    now = datetime.now().astimezone()
    assert abs(parse_when("7d", "--since") - (now - timedelta(days=7))) < timedelta(minutes=1)
    assert parse_when("2024-05-01", "--until", end_of_day=True) == datetime(
        2024, 5, 2).astimezone()
    assert parse_when("2024-05-01T10:00+02:00", "--since") == datetime(
        2024, 5, 1, 8, tzinfo=UTC)
    assert parse_when("today", "--until", end_of_day=True) - parse_when(
        "today", "--since") == timedelta(days=1)
    with pytest.raises(InvalidInput, match="--since"):
        parse_when("soon", "--since")


def test_fit_counts_wide_characters():
    assert _fit("hello", 10) == "hello"
    assert _fit("hello world", 6) == "hello…"
    assert _width(_fit("日本語のテキスト", 7)) <= 7


def test_a_reader_that_stops_early_is_not_an_error(isolated_home):
    add(*(record(n) for n in range(3_000)))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-m", "sms_tui", "history", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO,
    )
    first = child.stdout.readline()
    child.stdout.close()  # like `| head -1`
    err = child.stderr.read().decode()
    child.stderr.close()
    assert child.wait(timeout=60) == cli.EXIT_OK, err
    assert json.loads(first)["id"] == 3_000
    assert "Traceback" not in err and "internal error" not in err

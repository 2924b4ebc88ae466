"""`sms-tui analyze`: the shell segment calculator, in-process and as a real command."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sms_tui.cli import EXIT_INVALID, EXIT_OK, main

ROOT = Path(__file__).resolve().parent.parent


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(["analyze", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def feed_stdin(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def test_gsm_text(capsys):
    code, out, err = run(["Hello {world}"], capsys)
    assert (code, err) == (EXIT_OK, "")
    assert "GSM-7 (AUTO: every character is in GSM-7)" in out
    assert "15 septets of 160: 1 segment, 145 left before a second" in out
    assert '1/1  15 septets  "Hello {world}"' in out
    assert "Not in GSM-7" not in out


def test_ucs2_text_names_the_characters_and_the_saving(capsys):
    code, out, _ = run(["It’s “fine”, isn’t it"], capsys)
    assert code == EXIT_OK
    assert "UCS-2 (AUTO: 4 characters are not in GSM-7)" in out
    assert "’  U+2019 RIGHT SINGLE QUOTATION MARK  at positions 3, 17" in out
    assert "“  U+201C LEFT DOUBLE QUOTATION MARK  at position 6" in out
    assert "Smart replace: 4 characters force UCS-2: replace them to send GSM-7" in out
    assert "--replace" in out


def test_invisible_characters_are_shown_by_name(capsys):
    _, out, _ = run(["pay\u00a0now\u200b"], capsys)
    assert "\\u00a0  U+00A0 NO-BREAK SPACE  at position 4" in out
    assert "\\u200b  U+200B ZERO WIDTH SPACE  at position 8" in out
    assert '"pay\\u00a0now\\u200b"' in out  # the segment, spelled out


def test_multi_segment_text_lists_each_segment(capsys):
    _, out, _ = run(["a" * 150 + "😀" + "b" * 10], capsys)
    assert "162 UCS-2 code units: 3 segments of up to 67, 39 left in the last" in out
    assert "1/3  67 units" in out
    assert "3/3  28 units" in out
    assert "😀  U+1F600 GRINNING FACE  at position 151" in out


def test_saving_of_whole_segments(capsys):
    _, out, _ = run(["It’s " + "x" * 140], capsys)
    assert "Smart replace: 1 character forces UCS-2: replace it and save 2 segments." in out


def test_json(capsys):
    text = "Hi 👍🏽 ’x’ e\u0301 " + "y" * 80
    code, out, _ = run(["--json", text], capsys)
    assert code == EXIT_OK
    data = json.loads(out)
    assert data["requested_encoding"] == "AUTO"
    assert (data["encoding"], data["unit"]) == ("UCS2", "UCS-2 code units")
    assert data["units"] == len(text.encode("utf-16-le")) // 2
    assert (data["segment_count"], data["per_segment"]) == (2, 67)
    assert data["capacity"] == 134
    assert "".join(s["text"] for s in data["segments"]) == text
    assert sum(s["units"] for s in data["segments"]) == data["units"]
    assert data["remaining"] == 67 - data["segments"][-1]["units"]
    assert [c["character"] for c in data["non_gsm"]] == ["👍🏽", "’", "e\u0301"]
    thumbs = data["non_gsm"][0]
    assert thumbs["codepoints"] == ["U+1F44D", "U+1F3FD"]
    assert thumbs["indexes"] == [3]
    assert data["non_gsm"][1]["indexes"] == [6, 8]
    assert data["unencodable"] == []
    smart = data["smart_replace"]
    assert smart["count"] == 3
    assert smart["text"] == "Hi 👍🏽 'x' é " + "y" * 80
    assert smart["replacements"][0] == {"index": 6, "original": "’", "replacement": "'"}
    assert smart["encoding"] == "UCS2"  # the emoji still needs UCS-2


def test_json_of_empty_text(capsys):
    _, out, _ = run(["--json", ""], capsys)
    data = json.loads(out)
    assert (data["encoding"], data["units"], data["segment_count"], data["segments"]) == (
        "GSM7", 0, 0, [],
    )


def test_forced_gsm7_lists_what_cannot_be_sent(capsys):
    code, out, _ = run(["--encoding", "gsm7", "Hi 😀 ’x’"], capsys)
    assert code == EXIT_OK
    assert "GSM-7 (forced; 3 characters cannot be sent in GSM-7)" in out
    assert "Not in GSM-7 (each code point would arrive as '?'):" in out
    assert "cannot be sent in GSM-7 and would arrive as '?'" in out
    _, out, _ = run(["--json", "--encoding", "GSM7", "Hi 😀"], capsys)
    data = json.loads(out)
    assert (data["encoding"], data["units"], data["unencodable"]) == ("GSM7", 4, ["😀"])


def test_forced_ucs2(capsys):
    _, out, _ = run(["--encoding", "UCS2", "plain"], capsys)
    assert "UCS-2 (forced)" in out
    assert "5 UCS-2 code units of 70" in out


def test_replace_prints_the_replaced_text(capsys):
    code, out, _ = run(["--replace", "It’s — fine…\u00a0ok"], capsys)
    assert (code, out) == (EXIT_OK, "It's - fine... ok\n")


def test_text_from_stdin(capsys, monkeypatch):
    feed_stdin(monkeypatch, "Grüße aus Köln 😀\n".encode())
    code, out, _ = run(["--json", "-"], capsys)
    assert code == EXIT_OK
    data = json.loads(out)
    assert data["segments"][0]["text"] == "Grüße aus Köln 😀"  # the shell's newline is not sent


def test_text_from_stdin_without_an_argument(capsys, monkeypatch):
    feed_stdin(monkeypatch, b"line one\nline two\n\n")
    _, out, _ = run(["--json"], capsys)
    assert json.loads(out)["segments"][0]["text"] == "line one\nline two\n"


def test_invalid_utf8_on_stdin_is_a_clear_error(capsys, monkeypatch):
    feed_stdin(monkeypatch, b"caf\xe9 latin-1")
    code, out, err = run([], capsys)
    assert code == EXIT_INVALID
    assert out == ""
    assert "not valid UTF-8 (byte 4 is 0xE9)" in err
    assert "Traceback" not in err


def test_no_text_at_a_terminal_says_how_to_give_it(capsys, monkeypatch):
    primary, secondary = os.openpty()
    terminal = os.fdopen(secondary, "r")
    try:
        monkeypatch.setattr(sys, "stdin", terminal)
        code, _, err = run([], capsys)
    finally:
        terminal.close()
        os.close(primary)
    assert code == EXIT_INVALID
    assert "No text to analyse" in err


def test_unknown_encoding_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["analyze", "--encoding", "UTF8", "x"])
    assert exit_info.value.code == EXIT_INVALID
    assert "invalid choice: 'UTF8'" in capsys.readouterr().err


def test_json_and_replace_are_exclusive(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["analyze", "--json", "--replace", "x"])
    assert exit_info.value.code == EXIT_INVALID


def _command(*args: str, stdin: bytes, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "sms_tui", "analyze", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        timeout=60,
    )


def test_real_command_reads_a_pipe():
    done = _command("--json", stdin="Meet at 5 € [room 2]\n".encode())
    assert done.returncode == EXIT_OK, done.stderr
    data = json.loads(done.stdout)
    assert (data["encoding"], data["units"], data["segment_count"]) == ("GSM7", 23, 1)


def test_real_command_on_a_terminal_that_cannot_show_emoji():
    done = _command("-", stdin="ok 😀’\n".encode(), env={"PYTHONIOENCODING": "ascii"})
    assert done.returncode == EXIT_OK, done.stderr
    out = done.stdout.decode("ascii")
    assert "U+1F600 GRINNING FACE" in out
    assert "\\U0001f600" in out

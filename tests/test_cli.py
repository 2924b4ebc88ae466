"""The command line's entry points: version, help, and `python -m sms_tui`."""

import subprocess
import sys

from sms_tui import __version__
from sms_tui.cli import main


def test_version_flag_prints_the_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exit_:
        assert exit_.code == 0
    assert capsys.readouterr().out.strip() == f"sms-tui {__version__}"


def test_help_names_every_command(capsys):
    try:
        main(["--help"])
    except SystemExit as exit_:
        assert exit_.code == 0
    out = capsys.readouterr().out
    assert "usage: sms-tui" in out
    assert "--sandbox" in out


def test_python_dash_m_runs_the_same_command_line():
    result = subprocess.run(
        [sys.executable, "-m", "sms_tui", "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"sms-tui {__version__}"

"""Reading a message's text from the command line: an argument, or standard input."""

from __future__ import annotations

import sys
from typing import TextIO

from sms_tui.errors import InvalidInput


def read_message_text(value: str | None) -> str:
    """The argument itself, or standard input for `-` or no argument."""
    if value is not None and value != "-":
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # Undecodable bytes in argv reach Python as lone surrogates.
            raise InvalidInput(
                "The text argument is not valid UTF-8: check your terminal's encoding."
            ) from None
        return value
    stdin = sys.stdin
    if stdin is None or (value is None and _is_terminal(stdin)):
        raise InvalidInput(
            "No text to analyse: give it as an argument (sms-tui analyze \"Hello\") or on "
            "standard input (echo Hello | sms-tui analyze)."
        )
    try:
        data = stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode()
    except (OSError, ValueError) as error:
        raise InvalidInput(f"Cannot read the text from standard input: {error}.") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput(
            f"The text on standard input is not valid UTF-8 (byte {error.start + 1} is "
            f"0x{data[error.start]:02X}): save it as UTF-8 and try again."
        ) from None
    # A trailing newline is how shells end input, not part of the message.
    return text[:-1] if text.endswith("\n") else text


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return False

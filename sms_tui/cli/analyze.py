"""`sms-tui analyze`: a shell segment calculator on the composer's own GSM-7/UCS-2 engine."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import unicodedata
from typing import TextIO

from sms_tui import cli
from sms_tui.cli.text_input import read_message_text
from sms_tui.encoding import (
    Analysis,
    Saving,
    describe_character,
    is_visible,
    replacement_saving,
)

_SHOWN_POSITIONS = 12  # beyond this many occurrences, the human output gives a count


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="show the encoding, length and segments an SMS text would cost",
        description=(
            "Analyse a message as 8x8 would send it: GSM-7 or UCS-2, its length in septets or "
            "UCS-2 code units, how it splits into SMS segments, which characters force UCS-2, "
            "and what replacing typographic characters (curly quotes, dashes, no-break "
            "spaces...) with their GSM-7 equivalents would save. Nothing is sent."
        ),
        epilog=(
            "The text comes from the argument, or from standard input when the argument is - "
            "or missing (a single trailing newline there is ignored, as `sms-tui send` does). "
            "Positions count Unicode code points from 1 (from 0 in --json). With --encoding "
            "GSM7, characters GSM-7 cannot carry are counted as the '?' they would arrive as."
        ),
    )
    parser.add_argument(
        "text", nargs="?", metavar="TEXT", help="the message (default: read standard input)"
    )
    parser.add_argument(
        "--encoding",
        default="AUTO",
        type=str.upper,
        choices=("AUTO", "GSM7", "UCS2"),
        help="encoding to analyse for (default: AUTO, which picks GSM7 when the text allows it)",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the analysis as JSON")
    output.add_argument(
        "--replace",
        action="store_true",
        help="print the text with typographic characters replaced by GSM-7 equivalents",
    )


def run(args: argparse.Namespace) -> int:
    text = read_message_text(args.text)
    saving = replacement_saving(text, args.encoding)
    out = sys.stdout
    _tolerate_narrow_terminal(out)
    if args.replace:
        out.write(saving.text + "\n")
    elif args.json:
        out.write(
            json.dumps(as_json(saving), ensure_ascii=not _writes_utf8(out), indent=2) + "\n"
        )
    else:
        out.write(render(saving))
    return cli.EXIT_OK


def _writes_utf8(stream: TextIO) -> bool:
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    return encoding in ("utf8", "utf8sig")


def _tolerate_narrow_terminal(stream: TextIO) -> None:
    """On a terminal that cannot show every character, escape it rather than crash."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None and not _writes_utf8(stream):
        with contextlib.suppress(OSError, ValueError):
            reconfigure(errors="backslashreplace")


# --- JSON ---------------------------------------------------------------------------------


def as_json(saving: Saving) -> dict:
    analysis = saving.before
    return {
        "requested_encoding": analysis.requested_encoding,
        "encoding": analysis.encoding,
        "units": analysis.units,
        "unit": analysis.unit_name,
        "per_segment": analysis.per_segment,
        "capacity": analysis.capacity,
        "remaining": analysis.remaining,
        "segment_count": analysis.segment_count,
        "segments": [
            {"text": text, "units": units}
            for text, units in zip(analysis.segments, analysis.segment_units, strict=True)
        ],
        "non_gsm": [
            {
                "character": cluster,
                "codepoints": [f"U+{ord(ch):04X}" for ch in cluster],
                "description": describe_character(cluster),
                "indexes": indexes,
            }
            for cluster, indexes in _occurrences(analysis).items()
        ],
        "unencodable": list(analysis.unencodable),
        "smart_replace": {
            "count": saving.count,
            "summary": saving.summary,
            "text": saving.text,
            "encoding": saving.after.encoding,
            "units": saving.after.units,
            "segment_count": saving.after.segment_count,
            "segments_saved": saving.segments_saved,
            "replacements": [
                {"index": r.index, "original": r.original, "replacement": r.replacement}
                for r in saving.replacements
            ],
        },
    }


def _occurrences(analysis: Analysis) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {cluster: [] for cluster in analysis.non_gsm}
    for index, cluster in analysis.non_gsm_positions:
        found.setdefault(cluster, []).append(index)
    return found


# --- Human output -------------------------------------------------------------------------


def render(saving: Saving) -> str:
    a = saving.before
    lines = [f"Encoding:  {_encoding_line(a)}", f"Length:    {_length_line(a)}"]
    if a.segments:
        lines.append("Segments:")
        width = len(str(a.segment_count))
        unit_width = len(str(max(a.segment_units)))
        unit = "septets" if a.encoding == "GSM7" else "units"
        pairs = zip(a.segments, a.segment_units, strict=True)
        for number, (text, units) in enumerate(pairs, 1):
            lines.append(
                f"  {number:>{width}}/{a.segment_count}  {units:>{unit_width}} {unit}  "
                f"{_shown(text)}"
            )
    occurrences = _occurrences(a)
    if occurrences:
        if a.unencodable:
            lines.append("Not in GSM-7 (each code point would arrive as '?'):")
        elif a.encoding == "UCS2" and a.requested_encoding == "AUTO":
            lines.append("Not in GSM-7 (these force UCS-2):")
        else:
            lines.append("Not in GSM-7:")
        shown = {cluster: _glyph(cluster) for cluster in occurrences}
        glyph_width = max(_width(glyph) for glyph in shown.values())
        for cluster, indexes in occurrences.items():
            pad = " " * (glyph_width - _width(shown[cluster]))
            lines.append(
                f"  {shown[cluster]}{pad}  {describe_character(cluster)}  {_positions(indexes)}"
            )
    if saving.summary:
        lines.append(f"Smart replace: {saving.summary}")
        lines.append(
            "  `sms-tui analyze --replace` prints the text with them replaced"
            f" ({_replaced_list(saving)})."
        )
    return "\n".join(lines) + "\n"


def _encoding_line(a: Analysis) -> str:
    name = "GSM-7" if a.encoding == "GSM7" else "UCS-2"
    if a.requested_encoding != "AUTO":
        if a.unencodable:
            count = len(a.non_gsm_positions)
            return (
                f"{name} (forced; {count} {'character' if count == 1 else 'characters'} "
                "cannot be sent in GSM-7)"
            )
        return f"{name} (forced)"
    if a.encoding == "GSM7":
        return f"{name} (AUTO: every character is in GSM-7)"
    count = len(a.non_gsm_positions)
    are = "character is" if count == 1 else "characters are"
    return f"{name} (AUTO: {count} {are} not in GSM-7)"


def _length_line(a: Analysis) -> str:
    if not a.segment_count:
        return f"empty: 0 segments ({a.per_segment} {a.unit_name} fit in one)"
    if a.segment_count == 1:
        return (
            f"{a.units} {a.unit_name} of {a.per_segment}: 1 segment, "
            f"{a.remaining} left before a second"
        )
    return (
        f"{a.units} {a.unit_name}: {a.segment_count} segments of up to {a.per_segment}, "
        f"{a.remaining} left in the last"
    )


def _positions(indexes: list[int]) -> str:
    word = "position" if len(indexes) == 1 else "positions"
    shown = ", ".join(str(index + 1) for index in indexes[:_SHOWN_POSITIONS])
    if len(indexes) > _SHOWN_POSITIONS:
        shown += f", ... ({len(indexes)} times)"
    return f"at {word} {shown}"


def _glyph(cluster: str) -> str:
    """The character itself when a person can see it, else a visible stand-in."""
    if all(_combines(ch) for ch in cluster):
        return "\u25cc" + cluster  # a dotted circle carries a lone combining mark
    if is_visible(cluster):
        return cluster
    return _shown(cluster)[1:-1]


def _shown(text: str) -> str:
    """``text`` in quotes, with line breaks and invisible characters spelled out."""
    out = []
    for ch in text:
        if ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch in '\\"':
            out.append("\\" + ch)
        elif ch != " " and not is_visible(ch) and not _combines(ch):
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _width(glyph: str) -> int:
    """Terminal columns of a glyph from _glyph: one character cell, wide for emoji and East
    Asian wide characters; an escaped stand-in is plain ASCII."""
    if glyph.isascii():
        return len(glyph)
    wide = any(
        unicodedata.east_asian_width(ch) in ("W", "F") or "\U0001f1e6" <= ch <= "\U0001f1ff"
        for ch in glyph
    )
    return 2 if wide else 1


def _combines(ch: str) -> bool:
    """Combining marks and joiners draw as part of the character before them."""
    return unicodedata.category(ch) in ("Mn", "Me") or ch in "\u200d\ufe0e\ufe0f"


def _replaced_list(saving: Saving) -> str:
    seen: dict[tuple[str, str], None] = {}
    for r in saving.replacements:
        seen.setdefault((r.original, r.replacement), None)
    parts = [f"{_shown(original)} -> {_shown(new)}" for original, new in seen]
    if len(parts) > 6:
        parts = parts[:6] + ["..."]
    return ", ".join(parts)

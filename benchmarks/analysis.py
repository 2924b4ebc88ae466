"""Measures ``sms_tui.encoding.analyze()``, the composer's per-keystroke hot path.

    python -m benchmarks.analysis
    python -m benchmarks.analysis --runs 2001

Two texts, one per goal: 1,600 characters of GSM-7 prose with extension characters (and a few
accented GSM-7 letters), and 670 UTF-16 code units of mixed text with emoji (skin tones, ZWJ
families, flags) and combining accents, which is UCS-2. The baseline, run side by side on the
same texts, is the straightforward version: one Python step per character (per grapheme cluster
for UCS-2), defined below; both are checked to give the same segments before timing. Figures are
medians of many runs, each the mean of a small batch of calls, in CPU time (time.process_time):
on a shared machine wall-clock time mostly measures the other processes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import regex

from sms_tui.encoding import GSM7_BASIC, GSM7_EXTENSION, analyze

RUNS = 501
BATCH = 20

_GSM_SENTENCES = [
    "Your order #4521 is ready for pickup at our store on 12 Main St. ",
    "Total: €45.90 [incl. VAT] {ref: A-17} ",
    "Reply STOP to opt out | HELP for help. ",
    "Café open ~9am to 6pm; prices ^5% from Monday. ",
    "Use code {SAVE10} at checkout \\ online only. ",
    "Danke schön, see you soon! £5 off [members] ",
]
_UCS2_PIECES = [
    "Hello Zoë and the team 👋🏽 ",
    "the cafe\u0301 on 5th opens at 9 ",
    "🇸🇬 meeting moved to Thursday ",
    "👨\u200d👩\u200d👧 family pass ",
    "don’t forget the na\u0308ive docs 😀 ",
    "prices ~ €12 [approx] ",
    "résumé due Friday ✅ ",
]


def gsm_text() -> str:
    text, i = "", 0
    while len(text) < 1600:
        text += _GSM_SENTENCES[i % len(_GSM_SENTENCES)]
        i += 1
    return text[:1600]


def ucs2_text() -> str:
    text, i = "", 0
    while _units(text) < 670:
        text += _UCS2_PIECES[i % len(_UCS2_PIECES)]
        i += 1
    while _units(text) > 670:
        text = text[:-1]
    return text


def _units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


# --- The naive baseline: one Python step per character --------------------------------------

_BASIC = set(GSM7_BASIC)
_EXTENSION = set(GSM7_EXTENSION)
_CLUSTER = regex.compile(r"\r|\X")


def naive_analyze(text: str) -> tuple[str, int, list[str]]:
    """Encoding, units and segments the obvious way (no reference quirks needed for these texts)."""
    gsm = True
    for ch in text:
        if ch not in _BASIC and ch not in _EXTENSION:
            gsm = False
            break
    if gsm:
        items = [(ch, 2 if ch in _EXTENSION else 1) for ch in text]
        single, multi = 160, 153
    else:
        items = []
        for cluster in _CLUSTER.findall(text):
            size = 0
            for ch in cluster:
                size += 2 if ord(ch) > 0xFFFF else 1
            items.append((cluster, size))
        single, multi = 70, 67
    units = 0
    for _, size in items:
        units += size
    if units <= single:
        return ("GSM7" if gsm else "UCS2"), units, [text] if text else []
    segments, current, used = [], [], 0
    for piece, size in items:
        if used + size > multi:
            segments.append("".join(current))
            current, used = [], 0
        current.append(piece)
        used += size
    segments.append("".join(current))
    return ("GSM7" if gsm else "UCS2"), units, segments


# --- Measuring ------------------------------------------------------------------------------


def _median_us(action: Callable[[], object], runs: int) -> float:
    for _ in range(BATCH):  # warm caches (the joining-character table is built on first use)
        action()
    times = []
    for _ in range(runs):
        started = time.process_time()
        for _ in range(BATCH):
            action()
        times.append((time.process_time() - started) / BATCH * 1e6)
    return statistics.median(times)


def _row(name: str, value: float, goal: str, baseline: float) -> dict[str, Any]:
    return {
        "name": name,
        "value": value,
        "unit": "µs",
        "goal": goal,
        "baseline": baseline,
        "ratio": baseline / value if value else None,
    }


def run(runs: int = RUNS) -> list[dict[str, Any]]:
    """Measure both texts; one row per figure: {name, value, unit, goal, baseline, ratio}."""
    rows = []
    for name, text, goal in (
        ("analyze(): 1,600-char GSM-7 with extensions", gsm_text(), "<= 50 µs"),
        ("analyze(): 670-unit UCS-2, emoji + accents", ucs2_text(), "<= 150 µs"),
    ):
        ours = analyze(text)
        if (ours.encoding, ours.units, list(ours.segments)) != naive_analyze(text):
            raise AssertionError(f"the baseline disagrees with analyze() on {name}")
        value = _median_us(lambda text=text: analyze(text), runs)
        baseline = _median_us(lambda text=text: naive_analyze(text), runs)
        rows.append(_row(name, value, goal, baseline))
    return rows


def _format(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'measure':<46} {'value':>10} {'goal':>10} {'baseline':>12} {'ratio':>7}"]
    for row in rows:
        lines.append(
            f"{row['name']:<46} {row['value']:>7.1f} {row['unit']} {row['goal']:>10} "
            f"{row['baseline']:>9.1f} {row['unit']} {row['ratio']:>6.1f}x"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS, help=f"timed batches (default {RUNS})")
    args = parser.parse_args(argv)
    print(_format(run(args.runs)))
    print(f"medians of {args.runs} batches of {BATCH} calls, CPU time; ratio: baseline time / "
          "ours (higher is better)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

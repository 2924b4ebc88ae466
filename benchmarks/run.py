"""Runs every benchmark in benchmarks/ and prints one table: figure, value, goal, baseline, ratio.

    python -m benchmarks                  # everything, full size (the history has 1,000,000 rows)
    python -m benchmarks --quick          # smaller runs, for a quick look
    python -m benchmarks --only analysis sending

Each module of this package that has a ``run()`` is a benchmark; ``run()`` returns rows
``{name, value, unit, goal, baseline, ratio}`` measured side by side with the module's baseline
in the same run. Each module defines its ratio in the direction of its goal: a goal ending in
``x`` is checked against the ratio, any other goal against the value ("<= 50 µs", ">= 50000").
Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import platform
import re
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SKIP = {"__init__", "__main__", "run"}

# Smaller arguments for --quick, by parameter name; a module gets those its run() accepts.
QUICK: dict[str, dict[str, Any]] = {
    "analysis": {"runs": 51},
    "history": {"records": 50_000, "runs": 3},
    "sending": {"sends": 200, "rounds": 3, "batch": 10_000},
}
_GOAL = re.compile(r"^\s*(<=|>=|<|>|=)\s*([0-9][0-9,_]*(?:\.[0-9]+)?)\s*(x\b)?")


def discover() -> list[str]:
    """Names of the benchmark modules, in a stable order."""
    return sorted(p.stem for p in HERE.glob("*.py") if p.stem not in SKIP)


def verdict(row: dict[str, Any]) -> str:
    """"pass", "FAIL", or "" when the row has no goal that can be checked."""
    goal = row.get("goal")
    if not goal:
        return ""
    match = _GOAL.match(str(goal))
    if not match:
        return "?"
    operator, number, on_ratio = match.groups()
    limit = float(number.replace(",", "").replace("_", ""))
    measured = row.get("ratio") if on_ratio else row.get("value")
    if measured is None:
        return "?"
    ok = {
        "<=": measured <= limit,
        ">=": measured >= limit,
        "<": measured < limit,
        ">": measured > limit,
        "=": measured == limit,
    }[operator]
    return "pass" if ok else "FAIL"


def run_module(name: str, *, quick: bool, overrides: dict[str, Any],
               log: Callable[[str], None]) -> list[dict[str, Any]]:
    module = importlib.import_module(f"benchmarks.{name}")
    run = getattr(module, "run", None)
    if not callable(run):
        return []
    accepted = inspect.signature(run).parameters
    kwargs = {k: v for k, v in (QUICK.get(name, {}) if quick else {}).items() if k in accepted}
    kwargs.update({k: v for k, v in overrides.items() if k in accepted})
    if "log" in accepted:
        kwargs["log"] = log
    if "quick" in accepted:
        kwargs["quick"] = quick
    rows = run(**kwargs)
    for row in rows:
        row.setdefault("unit", "")
        row["benchmark"] = name
    return rows


def _number(value: Any, unit: str = "") -> str:
    if value is None:
        return ""
    if isinstance(value, int | float):
        text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.2f}"
    else:
        text = str(value)
    return f"{text} {unit}".strip()


def format_table(rows: list[dict[str, Any]]) -> str:
    header = ("benchmark", "figure", "value", "goal", "baseline", "ratio", "result")
    table = [header]
    for row in rows:
        ratio = row.get("ratio")
        table.append((
            row["benchmark"],
            str(row.get("name", "")),
            _number(row.get("value"), row.get("unit", "")),
            str(row.get("goal") or ""),
            _number(row.get("baseline"), row.get("unit", "")),
            "" if ratio is None else f"{ratio:,.2f}x",
            verdict(row) if "error" not in row else "ERROR",
        ))
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    right = {2, 4, 5}
    lines = []
    for number, line in enumerate(table):
        cells = [cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
                 for i, cell in enumerate(line)]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages / 2**30:.0f} GiB RAM"
    except (ValueError, OSError, AttributeError):
        pass
    return (f"{cpu}, {os.cpu_count()} CPU(s){memory}; {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smaller runs (history of 50,000 records, fewer rounds)")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=discover(),
                        help=f"run only these benchmarks ({', '.join(discover())})")
    parser.add_argument("--records", type=int, help="history benchmark size (default 1,000,000)")
    parser.add_argument("--json", metavar="FILE", help="also write the rows to FILE as JSON")
    parser.add_argument("--strict", action="store_true",
                        help="exit with status 1 when a goal is missed")
    args = parser.parse_args(argv)

    def log(text: str) -> None:
        print(f"  {text}", file=sys.stderr, flush=True)

    overrides = {"records": args.records} if args.records else {}
    names = args.only or discover()
    rows: list[dict[str, Any]] = []
    errors = 0
    started = time.perf_counter()
    for name in names:
        print(f"{name} ...", file=sys.stderr, flush=True)
        began = time.perf_counter()
        try:
            rows.extend(run_module(name, quick=args.quick, overrides=overrides, log=log))
        except Exception as error:  # noqa: BLE001 - one broken benchmark must not hide the rest
            errors += 1
            traceback.print_exc(file=sys.stderr)
            rows.append({"benchmark": name, "name": f"failed: {type(error).__name__}: {error}",
                         "value": None, "unit": "", "goal": None, "baseline": None,
                         "ratio": None, "error": True})
        print(f"{name}: {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)

    print(f"sms-tui benchmarks ({'quick' if args.quick else 'full'} run) on {machine()}")
    print(format_table(rows))
    print("A goal ending in x is checked against the ratio, any other against the value; each "
          "benchmark states its ratio's direction (see its module docstring).")
    print(f"total time {time.perf_counter() - started:.0f} s")
    if args.json:
        for row in rows:
            row["result"] = verdict(row)
        Path(args.json).write_text(json.dumps({"machine": machine(), "quick": args.quick,
                                               "rows": rows}, indent=2, default=str))
    if errors:
        return 2
    if args.strict and any(verdict(row) == "FAIL" for row in rows):
        return 1
    return 0


if __name__ == "__main__":
    # `python benchmarks/run.py` works too: make the repository importable.
    sys.path.insert(0, str(HERE.parent))
    sys.exit(main())

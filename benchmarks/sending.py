"""Measures sending through SmsClient against the sandbox, beside what it is compared with.

    python -m benchmarks.sending              # 500 sends x 7 rounds, a 10,000-recipient batch
    python -m benchmarks.sending --sends 200 --rounds 3

The sandbox runs in its own process (``sms-tui sandbox`` on a free port), so that the server
does not share this process's interpreter lock with what is measured. Side by side, in one run:

- SmsClient: 500 single sends, at most 4 at a time (CONCURRENCY), over its pooled keep-alive
  connections;
- a loop that opens a new connection per request, as a ``curl`` loop does (a new
  ``httpx.Client`` per request, one after the other);
- bare ``httpx.AsyncClient`` posts of the same JSON with the same concurrency and pool.

Goals: SmsClient at least 10x the per-request-connection loop and at least 80% of bare httpx;
a 10,000-recipient batch through ``send_batch`` end to end in under 2 s. Figures are medians
over the rounds; the loop is measured on fewer requests (it is slow) and reported per second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from sms_tui.client import SmsClient
from sms_tui.credentials import ApiKey
from sms_tui.models import BatchRequest, SmsRequest, SmsTemplate
from sms_tui.sandbox import SANDBOX_API_KEY

SENDS = 500
ROUNDS = 7
# At most this many requests in flight (and pooled connections), for SmsClient and bare httpx
# alike. The sandbox answers on loopback in well under a millisecond, so this run is bound by
# the CPU of a small machine, not by waiting: more parallel connections only add pool
# bookkeeping (httpcore checks every pooled connection for each request). Against 8x8 itself,
# with real network latency, SmsClient's default pool of 20 is what pays.
CONCURRENCY = 4
LOOP_SENDS = 100  # the per-request-connection loop is slow: fewer requests, same rate unit
BATCH = 10_000
NUMBER = "+6591234567"
TEXT = "Your order 1234 is ready for pickup."
SUBACCOUNT = "sandbox_hq"

_SERVER = (
    "import argparse, sys\n"
    "from sms_tui.cli import sandbox\n"
    "parser = argparse.ArgumentParser()\n"
    "sandbox.add_parser(parser.add_subparsers(dest='command'))\n"
    "sys.exit(sandbox.run(parser.parse_args(\n"
    "    ['sandbox', '--port', '0', '--quiet', '--delivery-delay', '1'])))\n"
)


@contextmanager
def sandbox_process() -> Iterator[str]:
    """Run the sandbox in a child process; yield its base URL."""
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVER], cwd=root, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    )
    try:
        base_url = None
        for line in process.stdout:
            match = re.search(r"Base URL\s+(http://\S+)", line)
            if match:
                base_url = match.group(1)
            if "Ctrl-C" in line:
                break
        if base_url is None:
            raise RuntimeError("the sandbox did not start")
        yield base_url
    finally:
        process.terminate()
        process.wait(10)


def _payload(index: int) -> dict[str, Any]:
    return {"destination": NUMBER, "text": TEXT, "clientMessageId": f"bench-{uuid.uuid4().hex}"}


async def _client_round(base_url: str, sends: int, concurrency: int) -> float:
    async with SmsClient(
        api_key=ApiKey(SANDBOX_API_KEY), subaccount_id=SUBACCOUNT, base_url=base_url,
        max_connections=concurrency,
    ) as client:
        gate = asyncio.Semaphore(concurrency)

        async def one(index: int) -> None:
            async with gate:
                response = await client.send(SmsRequest(destination=NUMBER, text=TEXT))
                assert response.status.accepted

        await asyncio.gather(*(one(i) for i in range(concurrency)))  # warm the pool
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(sends)))
        return sends / (time.perf_counter() - started)


async def _bare_round(base_url: str, sends: int, concurrency: int) -> float:
    url = f"{base_url}/api/v1/subaccounts/{SUBACCOUNT}/messages"
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        headers={"Authorization": f"Bearer {SANDBOX_API_KEY}"}, limits=limits
    ) as client:
        gate = asyncio.Semaphore(concurrency)

        async def one(index: int) -> None:
            async with gate:
                response = await client.post(url, json=_payload(index))
                assert response.status_code == 200 and response.json()["umid"]

        await asyncio.gather(*(one(i) for i in range(concurrency)))
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(sends)))
        return sends / (time.perf_counter() - started)


def _loop_round(base_url: str, sends: int) -> float:
    """A new client, hence a new connection, for every request: what a curl loop does."""
    url = f"{base_url}/api/v1/subaccounts/{SUBACCOUNT}/messages"
    started = time.perf_counter()
    for index in range(sends):
        with httpx.Client(headers={"Authorization": f"Bearer {SANDBOX_API_KEY}"}) as client:
            response = client.post(url, json=_payload(index))
            assert response.status_code == 200 and response.json()["umid"]
    return sends / (time.perf_counter() - started)


async def _batch_once(base_url: str, size: int) -> float:
    destinations = [f"+6591{i:06d}" for i in range(size)]
    started = time.perf_counter()
    async with SmsClient(
        api_key=ApiKey(SANDBOX_API_KEY), subaccount_id=SUBACCOUNT, base_url=base_url
    ) as client:
        results = await client.send_batch(
            BatchRequest(destinations=destinations, template=SmsTemplate(text=TEXT))
        )
    elapsed = time.perf_counter() - started
    assert sum(r.accepted_count for r in results) == size
    assert sum(len(r.messages or ()) for r in results) == size
    return elapsed


def _row(name: str, value: float, unit: str, goal: str | None, baseline: float | None,
         higher_is_better: bool = True) -> dict[str, Any]:
    ratio = None
    if baseline and value:
        ratio = value / baseline if higher_is_better else baseline / value
    return {"name": name, "value": value, "unit": unit, "goal": goal, "baseline": baseline,
            "ratio": ratio}


def run(sends: int = SENDS, rounds: int = ROUNDS, batch: int = BATCH, *,
        concurrency: int = CONCURRENCY,
        log: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Measure everything; one row per figure: {name, value, unit, goal, baseline, ratio}."""
    say = log or (lambda text: None)
    client_rates: list[float] = []
    bare_rates: list[float] = []
    loop_rates: list[float] = []
    batch_times: list[float] = []
    with sandbox_process() as base_url:
        for number in range(1, rounds + 1):
            # Interleaved, in alternating order, so that a slow moment of the machine (or
            # going first) favours no contender.
            contenders = [
                lambda: client_rates.append(
                    asyncio.run(_client_round(base_url, sends, concurrency))),
                lambda: bare_rates.append(
                    asyncio.run(_bare_round(base_url, sends, concurrency))),
                lambda: loop_rates.append(_loop_round(base_url, min(LOOP_SENDS, sends))),
            ]
            for measure in contenders if number % 2 else reversed(contenders):
                measure()
            say(f"round {number}: client {client_rates[-1]:,.0f}/s, bare httpx "
                f"{bare_rates[-1]:,.0f}/s, new connection per request {loop_rates[-1]:,.0f}/s")
        for number in range(1, max(3, rounds // 2) + 1):
            batch_times.append(asyncio.run(_batch_once(base_url, batch)))
            say(f"batch {number}: {batch:,} recipients in {batch_times[-1]:.2f} s")
    client = statistics.median(client_rates)
    bare = statistics.median(bare_rates)
    loop = statistics.median(loop_rates)
    return [
        _row(f"{sends} sends x{concurrency}, SmsClient vs new conn. each", client, "msg/s",
             ">= 10x", loop),
        _row(f"{sends} sends x{concurrency}, SmsClient vs bare httpx", client, "msg/s",
             ">= 0.8x", bare),
        _row(f"{batch:,}-recipient batch end to end", statistics.median(batch_times), "s",
             "< 2 s", None),
    ]


def _format(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'measure':<46} {'value':>14} {'goal':>8} {'baseline':>14} {'ratio':>8}"]
    for row in rows:
        value = f"{row['value']:,.2f} {row['unit']}" if row["value"] < 100 else (
            f"{row['value']:,.0f} {row['unit']}")
        baseline = "" if row["baseline"] is None else f"{row['baseline']:,.0f} {row['unit']}"
        ratio = "" if row["ratio"] is None else f"{row['ratio']:,.2f}x"
        lines.append(f"{row['name']:<46} {value:>14} {row['goal'] or '':>8} {baseline:>14} "
                     f"{ratio:>8}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=SENDS, help=f"default: {SENDS}")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"default: {ROUNDS}")
    parser.add_argument("--batch", type=int, default=BATCH, help=f"default: {BATCH:,}")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY,
                        help=f"requests in flight (default: {CONCURRENCY})")
    args = parser.parse_args(argv)
    rows = run(args.sends, args.rounds, args.batch, concurrency=max(1, args.concurrency),
               log=lambda text: print(text, file=sys.stderr, flush=True))
    print(_format(rows))
    print("medians; ratio: SmsClient's rate over the baseline's (higher is better)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

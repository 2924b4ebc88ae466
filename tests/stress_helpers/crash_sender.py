"""Sends messages in a loop through the real send workflow until it is killed.

    SMS_TUI_BASE_URL=... SMS_TUI_SUBACCOUNT=... SMS_TUI_API_KEY=... python crash_sender.py RUN

The profile and key come from the environment, the history from XDG_DATA_HOME, exactly as for
`sms-tui send`. Before each send it prints ``BEGIN <clientMessageId> <recipients>`` and after
it ``DONE <clientMessageId> <state> ...`` (line-buffered), so the test knows which sends had
started when the SIGKILL came. It prints ``READY`` once the history is open.
"""

from __future__ import annotations

import asyncio
import itertools
import sys


async def main(run: str) -> None:
    from sms_tui import config, outbox
    from sms_tui.history import History

    profile = config.resolve_profile()
    with History() as history:
        outbox.recover(history)
        async with outbox.client_for(profile) as client:
            print("READY", flush=True)
            for index in itertools.count():
                # Every third send has three recipients: one batch request, three records.
                count = 3 if index % 3 == 2 else 1
                numbers = ", ".join(f"+6593{index % 1000:03d}{n:03d}" for n in range(count))
                cmid = f"crash-{run}-{index}"
                draft = outbox.Draft(to=numbers, text=f"crash test {run} #{index}",
                                     client_message_id=cmid)
                prepared = outbox.prepare(draft, profile)
                print(f"BEGIN {cmid} {count}", flush=True)
                report = await outbox.send(prepared, client=client, history=history,
                                           profile=profile)
                states = " ".join(result.state for result in report.results)
                print(f"DONE {cmid} {states}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))

"""Sends batches through the real send workflow, as `sms-tui send` with many recipients does.

    SMS_TUI_BASE_URL=... SMS_TUI_SUBACCOUNT=... SMS_TUI_API_KEY=... \
        python batch_sender.py NAME BATCHES SIZE

Each batch: one committed `pending` record per recipient, one batch request, then each
record's outcome, one write transaction each. The clientMessageIds are ``NAME-<batch>-<n>``.
Prints ``DONE <records>`` at the end; an error is printed as ``ERROR <sentence>``, exit 1.
"""

from __future__ import annotations

import asyncio
import sys


async def main(name: str, batches: int, size: int) -> int:
    from sms_tui import config, outbox
    from sms_tui.errors import SmsTuiError
    from sms_tui.history import History

    try:
        profile = config.resolve_profile()
        with History() as history:
            async with outbox.client_for(profile) as client:
                total = 0
                for batch in range(batches):
                    numbers = ", ".join(f"+6595{batch:03d}{n:03d}" for n in range(size))
                    draft = outbox.Draft(to=numbers, text=f"{name} batch {batch}",
                                         client_message_id=f"{name}-{batch}")
                    report = await outbox.send(outbox.prepare(draft, profile), client=client,
                                               history=history, profile=profile)
                    if not report.all_accepted:
                        print(f"ERROR batch {batch}: {report.as_json()}", flush=True)
                        return 1
                    total += len(report.results)
    except SmsTuiError as error:
        print(f"ERROR {error}", flush=True)
        return 1
    print(f"DONE {total}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))

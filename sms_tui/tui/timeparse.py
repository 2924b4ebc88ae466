"""Reading the schedule and expiry times a person types on the compose screen."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sms_tui.errors import InvalidInput

_RELATIVE = re.compile(r"^\+\s*(\d+)\s*([mhd])$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_when(value: str, *, what: str, now: datetime | None = None) -> datetime | None:
    """`""` -> None; `+30m`, `+2h`, `+1d` -> from now; ISO 8601 -> that time (local if no zone).

    Raises InvalidInput with an example of what works.
    """
    value = value.strip()
    if not value:
        return None
    now = now or datetime.now(UTC)
    relative = _RELATIVE.match(value)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2).lower()
        return now + timedelta(**{_UNITS[unit]: amount})
    try:
        moment = datetime.fromisoformat(value.replace(" ", "T", 1) if " " in value else value)
    except ValueError:
        raise InvalidInput(
            f"The {what} time {value!r} is not a time: write 2026-12-01 09:00 (local time), "
            "2026-12-01T09:00+08:00, or +30m / +2h / +1d from now."
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # a time without a zone is the person's local time
    return moment


def describe(moment: datetime | None) -> str:
    """A short local-time rendering for the confirmation ("2026-12-01 09:00 +08:00")."""
    if moment is None:
        return "now"
    return moment.astimezone().strftime("%Y-%m-%d %H:%M %z")

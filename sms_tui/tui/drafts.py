"""The compose draft that survives a crash or restart: what the compose screen keeps."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass
class ComposeDraft:
    """Everything typed on the compose screen, as typed (nothing parsed, nothing lost)."""

    to: str = ""
    text: str = ""
    sender: str = ""
    encoding: str = "AUTO"
    client_message_id: str = ""
    schedule: str = ""
    expiry: str = ""
    resent_from: int | None = None

    def is_empty(self) -> bool:
        return not (self.to or self.text or self.client_message_id or self.schedule or self.expiry)


def load_draft() -> ComposeDraft:
    """The saved draft, or an empty one when there is none or it cannot be read."""
    from sms_tui import config  # pydantic models: loaded after the first frame, not before

    data = config.load_draft()
    known = {field.name for field in fields(ComposeDraft)}
    values = {}
    for name, value in data.items():
        if name not in known:
            continue
        if name == "resent_from":
            values[name] = value if isinstance(value, int) else None
        elif isinstance(value, str):
            values[name] = value
    return ComposeDraft(**values)


def save_draft(draft: ComposeDraft) -> None:
    """Keep the draft through config (the owner of files); raises ConfigError if it cannot."""
    from sms_tui import config

    config.save_draft(asdict(draft))

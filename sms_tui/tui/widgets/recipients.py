"""The "To" field and the per-number status line under it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual import events
from textual.content import Content
from textual.widgets import Input, Static

if TYPE_CHECKING:
    from sms_tui.phone import Recipient, RecipientProblem


class RecipientsInput(Input):
    """An Input that keeps every number of a pasted multi-line list.

    A plain Input keeps only the first line of a paste; a list copied from a spreadsheet is
    one number per line, so the lines are joined with commas instead of being dropped.
    """

    def _on_paste(self, event: events.Paste) -> None:
        if event.text:
            lines = [line.strip() for line in event.text.splitlines() if line.strip()]
            joined = ", ".join(lines)
            selection = self.selection
            if selection.is_empty:
                self.insert_text_at_cursor(joined)
            else:
                self.replace(joined, *selection)
        # Input's own paste handler (which keeps only the first line) must not run after this.
        event.prevent_default()
        event.stop()


class RecipientsStatus(Static):
    """Each number as it will be sent (international format and country), problems in red."""

    DEFAULT_CLASSES = "recipients-status"

    def show(
        self,
        recipients: Sequence[Recipient],
        problems: Sequence[RecipientProblem],
        *,
        empty_hint: str = "Numbers in international format (+65…).",
    ) -> None:
        self.update(self.render_status(recipients, problems, empty_hint))
        self.set_class(bool(problems), "-has-problems")

    @staticmethod
    def render_status(
        recipients: Sequence[Recipient], problems: Sequence[RecipientProblem], empty_hint: str
    ) -> Content:
        if not recipients and not problems:
            return Content.assemble((empty_hint, "dim"))
        parts: list[str | tuple[str, str]] = []
        # Problems first: they are what stops the send.
        for problem in problems:
            if parts:
                parts.append("  ")
            parts += [("✗ ", "$error bold"), (f"{problem.raw}: ", "$error bold"), (
                problem.reason, "$error")]
        for recipient in recipients:
            if parts:
                parts.append("  ")
            warnings = tuple(getattr(recipient, "warnings", ()) or ())
            # Non-breaking spaces keep each number and its country together when the line wraps.
            parts += [
                ("⚠\u00a0" if warnings else "✓\u00a0", "$warning" if warnings else "$success"),
                (recipient.formatted.replace(" ", "\u00a0"), "bold"),
                (f"\u00a0{recipient.country_name}" if recipient.country_name else "", "dim"),
            ]
            if warnings:
                parts.append((f" ({'; '.join(warnings)})", "$warning"))
        if len(recipients) > 1 or problems:
            summary = f"{len(recipients)} valid"
            if problems:
                summary += f", {len(problems)} to fix"
            parts = [(f"[{summary}] ", "bold"), *parts]
        return Content.assemble(*parts)

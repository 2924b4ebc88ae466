"""One recorded message in full, and what can be done to it: refresh, resend, cancel, delete."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Footer, Label, Static

from sms_tui import errors
from sms_tui.errors import SmsTuiError
from sms_tui.history import FINAL_STATES
from sms_tui.tui import styles
from sms_tui.tui.screens.confirm_delete import ConfirmDelete
from sms_tui.tui.screens.history_export import run_export
from sms_tui.tui.widgets.history_commands import PaletteCommand, ScreenActions
from sms_tui.tui.widgets.history_fields import HistoryFields
from sms_tui.tui.widgets.history_table import format_time, local_time
from sms_tui.tui.widgets.state_badge import StateBadge
from sms_tui.tui.widgets.status_header import StatusHeader

if TYPE_CHECKING:
    from sms_tui import outbox
    from sms_tui.config import Profile
    from sms_tui.history import History, HistoryFilter, MessageRecord

LOOKUP_INTERVAL = 1.0  # 8x8 allows one status lookup per second per subaccount
API_CODES_FROM = 1000  # 8x8's API error registry starts here; lower codes are delivery errors
PROBLEM_STATES = {"rejected", "failed", "unknown", "undelivered", "expired"}

# Labels for the record's fields, in the order a person reads them; fields the store adds later
# still show, after these, under their own name.
FIELD_LABELS: dict[str, str] = {
    "id": "Local id",
    "state": "State",
    "state_detail": "State detail",
    "created_at": "Created",
    "updated_at": "Updated",
    "status_at": "Status at 8x8",
    "checked_at": "Status checked",
    "destination": "To",
    "sender": "From",
    "profile": "Profile",
    "subaccount_id": "Subaccount",
    "region": "Region",
    "requested_encoding": "Encoding asked",
    "encoding": "Encoding used",
    "units": "Units",
    "segment_count": "Segments",
    "umid": "umid",
    "client_message_id": "clientMessageId",
    "batch_id": "Batch id",
    "scheduled_at": "Scheduled for",
    "expiry_at": "Expires",
    "http_status": "HTTP status",
    "error_code": "Error code",
    "error_message": "Error message",
    "error_id": "errorId",
    "price": "Price",
    "currency": "Currency",
    "resent_from": "Resent from",
}
# Shown in sections of their own rather than in the field list.
SECTION_FIELDS = {"text", "request_json", "response_json"}
TIME_FIELDS = {"created_at", "updated_at", "status_at", "checked_at", "scheduled_at", "expiry_at"}
# Anything that looks like a credential is masked before display, whatever recorded it.
_SECRET_KEY = re.compile(r"authori[sz]ation|api[-_]?key|token|secret|password", re.IGNORECASE)


def send_workflow():
    """The shared send workflow (`sms_tui.outbox`), imported when first needed: it pulls in
    phonenumbers, which is slow to load and not needed to browse the history."""
    from sms_tui import outbox

    return outbox


class ResendRequested(Message):
    """The person wants to send this message again; the app opens compose with it filled in.

    The new send is linked to the old record (`resent_from`).
    """

    def __init__(self, record: MessageRecord) -> None:
        super().__init__()
        self.record = record

    def draft(self) -> outbox.Draft:
        """The draft compose should start from."""
        return _draft(self.record, resent_from=self.record.id)


class CopyToCompose(Message):
    """The person wants a new message starting from this one (not linked to it)."""

    def __init__(self, record: MessageRecord) -> None:
        super().__init__()
        self.record = record

    def draft(self) -> outbox.Draft:
        """The draft compose should start from."""
        return _draft(self.record, resent_from=None)


def _draft(record: MessageRecord, *, resent_from: int | None) -> outbox.Draft:
    from sms_tui.outbox import Draft

    return Draft(
        to=record.destination,
        text=record.text or "",
        sender=record.sender,
        encoding=(record.requested_encoding or "AUTO").upper(),
        resent_from=resent_from,
    )


@dataclass(frozen=True)
class DetailResult:
    """What the detail view changed, for the history table to show."""

    record_id: int
    deleted: bool = False
    record: MessageRecord | None = None


def describe_error(error: BaseException) -> str:
    """The sentence to show for a failure, with 8x8's explanation, advice and errorId if any."""
    if not isinstance(error, SmsTuiError):
        return f"Something unexpected went wrong: {type(error).__name__}."
    parts = [str(error).strip()]
    for attribute in ("explanation", "advice"):
        extra = (getattr(error, attribute, None) or "").strip()
        if extra and extra not in " ".join(parts):
            parts.append(extra)
    error_id = getattr(error, "error_id", None)
    if error_id and error_id not in " ".join(parts):
        parts.append(f"errorId {error_id}.")
    return " ".join(parts)


def explain_code(code: int | None, status: int | None = None) -> tuple[str, str] | None:
    """8x8's explanation and advice for an API error code (and HTTP status), when known."""
    explain = getattr(errors, "explain", None)
    if explain is None or (code is None and status is None):
        return None
    try:
        explanation, advice = explain(code, status)
    except (LookupError, ValueError, TypeError):
        return None
    if not explanation and not advice:
        return None
    return explanation or "", advice or ""


def mask_secrets(value: Any) -> Any:
    """A copy of decoded JSON with every credential-like value masked."""
    if isinstance(value, dict):
        return {
            key: ("…masked…" if _SECRET_KEY.search(str(key)) and item else mask_secrets(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    if isinstance(value, str):
        return re.sub(r"(?i)(bearer\s+)\S+", r"\1…masked…", value)
    return value


def pretty_json(raw: str | None) -> str:
    """Recorded JSON, indented, with credentials masked; non-JSON text is shown masked as is."""
    if raw is None or raw == "":
        return ""
    if not isinstance(raw, str):
        raw = json.dumps(raw)
    try:
        decoded = json.loads(raw)
    except ValueError:
        return mask_secrets(raw)
    return json.dumps(mask_secrets(decoded), indent=2, ensure_ascii=False, sort_keys=False)


def format_value(name: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if name in TIME_FIELDS:
        moment = local_time(value)
        return moment.strftime("%Y-%m-%d %H:%M:%S %z") if moment else str(value)
    if name == "price" and isinstance(value, float):
        return f"{value:g}"
    return str(value)


def record_fields(record: MessageRecord) -> list[tuple[str, str]]:
    """Every recorded field but the long ones, labelled, in reading order."""
    values = (
        dataclasses.asdict(record) if dataclasses.is_dataclass(record) else dict(vars(record))
    )
    ordered = [name for name in FIELD_LABELS if name in values]
    ordered += [name for name in values if name not in FIELD_LABELS and name not in SECTION_FIELDS]
    return [(FIELD_LABELS.get(name, name.replace("_", " ")), format_value(name, values[name]))
            for name in ordered]


class LookupPacer:
    """One status lookup per second for the whole app: the list's background refresh and the
    detail view's refresh key share it, so neither trips 8x8's rate limit."""

    last = 0.0

    @classmethod
    async def wait(cls) -> None:
        while (delay := cls.last + LOOKUP_INTERVAL - time.monotonic()) > 0:
            await asyncio.sleep(delay)
        cls.last = time.monotonic()


async def refresh_one(client, history: History, record: MessageRecord) -> MessageRecord:
    """Look one message up at 8x8 (paced) through the shared workflow; returns it re-read."""
    await LookupPacer.wait()
    await send_workflow().refresh_one(client=client, history=history, record=record)
    return await asyncio.to_thread(history.get, record.id)


class MessageDetailScreen(Screen[DetailResult | None]):
    """Every recorded field of one message, its request and response, and the actions on it."""

    CSS_PATH = styles.HISTORY

    COMMANDS = {ScreenActions}
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("r", "refresh_status", "Refresh"),
        Binding("s", "resend", "Resend"),
        Binding("c", "copy_to_compose", "Compose", show=False),
        Binding("u", "copy_umid", "Copy umid", show=False),
        Binding("x", "cancel_scheduled", "Cancel scheduled", show=False),
        Binding("d", "delete", "Delete"),
        Binding("e", "export", "Export list", show=False),
    ]

    def __init__(
        self,
        history: History,
        record: MessageRecord,
        profile: Profile | None = None,
        *,
        flt: HistoryFilter | None = None,
    ) -> None:
        super().__init__(classes="message-detail-screen")
        self.history = history
        self.record = record
        self._profile = profile
        self.flt = flt
        self._busy: set[str] = set()

    @property
    def profile(self) -> Profile | None:
        """The profile 8x8 is reached with: the app's active one when the app has one."""
        return getattr(self.app, "profile", self._profile)

    # Layout

    def compose(self) -> ComposeResult:
        record = self.record
        yield StatusHeader()
        with Horizontal(id="detail-title"):
            yield StateBadge(record.state, id="detail-state")
            yield Label(self._title_text(), id="detail-heading", markup=False)
        with VerticalScroll(id="detail-body"):
            yield Static(id="detail-error", classes="detail-section", markup=False)
            yield Label("Message", classes="detail-section-title")
            yield Static(Text(record.text or ""), id="detail-text", classes="detail-section")
            yield Label("Recorded fields", classes="detail-section-title")
            yield HistoryFields(id="detail-fields", classes="detail-section")
            yield Label("Request as sent", classes="detail-section-title")
            yield Static(id="detail-request", classes="detail-section detail-json", markup=False)
            yield Label("Response as received", classes="detail-section-title")
            yield Static(id="detail-response", classes="detail-section detail-json", markup=False)
        with Horizontal(id="detail-actions"):
            yield self._button("Refresh", "detail-refresh", "r: look the status up at 8x8 now")
            yield self._button("Resend", "detail-resend", "s: send it again (linked to this one)")
            yield self._button("Compose", "detail-compose", "c: start a new message from this one")
            yield self._button("Copy umid", "detail-copy", "u: copy 8x8's message id")
            yield self._button("Cancel", "detail-cancel", "x: cancel this scheduled message")
            yield self._button("Delete", "detail-delete", "d: delete it here (and at 8x8)")
            yield self._button("Export", "detail-export", "e: export the listed messages")
            yield self._button("Back", "detail-back", "escape: back to the list")
        yield Footer()

    @staticmethod
    def _button(label: str, id: str, tooltip: str) -> Button:
        variant = "error" if id == "detail-delete" else "default"
        button = Button(label, id=id, compact=True, variant=variant)
        button.tooltip = tooltip
        return button

    def on_mount(self) -> None:
        sync_headers = getattr(self.app, "sync_headers", None)
        if sync_headers is not None:
            sync_headers()  # the app fills in profile, region and balance
        self._show(self.record)

    def _title_text(self) -> str:
        record = self.record
        return f"{record.destination}  ·  {format_time(record.created_at)}"

    def _show(self, record: MessageRecord) -> None:
        self.record = record
        self.query_one("#detail-state", StateBadge).set_state(record.state)
        self.query_one("#detail-heading", Label).update(self._title_text())
        self.query_one("#detail-text", Static).update(Text(record.text or ""))

        error = self.query_one("#detail-error", Static)
        problem = self._problem_text(record)
        headline, _, rest = problem.partition("\n")
        error.update(Content.assemble((headline, "bold"), "\n" if rest else "", rest))
        error.display = bool(problem)

        self.query_one(HistoryFields).show(record_fields(record))

        request = pretty_json(getattr(record, "request_json", None))
        response = pretty_json(getattr(record, "response_json", None))
        self.query_one("#detail-request", Static).update(request or "Not recorded.")
        self.query_one("#detail-response", Static).update(response or "Nothing received.")
        self._update_buttons()

    def _problem_text(self, record: MessageRecord) -> str:
        code = record.error_code
        status = record.http_status
        message = record.error_message
        lines: list[str] = []
        if code is not None and (code >= API_CODES_FROM or (status or 0) >= 400):
            lines.append(f"8x8 error {code}" + (f": {message}" if message else ""))
            lines.extend(part for part in explain_code(code, status) or () if part)
        elif code is not None:
            # Codes below 1000 come from the carrier at delivery, not from 8x8's API registry.
            lines.append(f"Delivery error {code}" + (f": {message}" if message else ""))
        elif status is not None and status >= 400:
            lines.append(f"HTTP {status}" + (f": {message}" if message else ""))
            lines.extend(part for part in explain_code(None, status) or () if part)
        elif message:
            lines.append(message)
        if record.state == "unknown":
            lines.append(
                "This message may or may not have reached 8x8. Refresh its status if it has a "
                "umid; otherwise check with the recipient before resending, or it may arrive twice."
            )
        detail = record.state_detail
        shown = "\n".join(lines)
        if record.state in PROBLEM_STATES and detail and detail not in shown:
            lines.append(detail)
        if record.error_id:
            lines.append(f"errorId {record.error_id} (8x8 support asks for it).")
        return "\n".join(lines)

    def _update_buttons(self) -> None:
        record = self.record
        has_umid = bool(getattr(record, "umid", None))
        self.query_one("#detail-refresh", Button).disabled = not has_umid or "lookup" in self._busy
        self.query_one("#detail-copy", Button).disabled = not has_umid
        self.query_one("#detail-cancel", Button).disabled = (
            self._cancel_problem() is not None or "cancel" in self._busy
        )
        self.query_one("#detail-delete", Button).disabled = "delete" in self._busy

    # Why an action cannot run, as a sentence; None when it can.

    def _account_problem(self) -> str | None:
        if self.profile is None:
            return "No profile is active: set one up first."
        subaccount = getattr(self.record, "subaccount_id", None)
        if subaccount and subaccount != self.profile.subaccount_id:
            return (
                f"This message went through subaccount {subaccount}; switch to its profile "
                "to reach it at 8x8."
            )
        return None

    def _lookup_problem(self) -> str | None:
        if not getattr(self.record, "umid", None):
            return (
                "This message has no umid (8x8 never acknowledged it), so there is no status "
                "to look up."
            )
        return self._account_problem()

    def _cancel_problem(self) -> str | None:
        if not getattr(self.record, "scheduled_at", None):
            return "Only a scheduled message can be cancelled, and this one was sent at once."
        if self.record.state in FINAL_STATES:
            return f"This message is already {self.record.state}: there is nothing to cancel."
        return self._lookup_problem()

    def palette_commands(self) -> list[PaletteCommand]:
        return [
            ("Message: refresh status", "Look the status up at 8x8 now (r)",
             self.action_refresh_status),
            ("Message: resend", "Open compose with this message, linked to it (s)",
             self.action_resend),
            ("Message: copy to compose", "Start a new message from this one (c)",
             self.action_copy_to_compose),
            ("Message: copy umid", "Copy 8x8's message id to the clipboard (u)",
             self.action_copy_umid),
            ("Message: cancel scheduled", "Ask 8x8 not to send it (x)",
             self.action_cancel_scheduled),
            ("Message: delete", "Delete it here, and optionally at 8x8 (d)", self.action_delete),
            ("Message: export list", "Save the listed messages as CSV or JSON Lines (e)",
             self.action_export),
            ("Message: back", "Back to the list (escape)", self.action_back),
        ]

    # Buttons

    @on(Button.Pressed, "#detail-refresh")
    def _refresh_pressed(self) -> None:
        self.action_refresh_status()

    @on(Button.Pressed, "#detail-resend")
    def _resend_pressed(self) -> None:
        self.action_resend()

    @on(Button.Pressed, "#detail-compose")
    def _compose_pressed(self) -> None:
        self.action_copy_to_compose()

    @on(Button.Pressed, "#detail-copy")
    def _copy_pressed(self) -> None:
        self.action_copy_umid()

    @on(Button.Pressed, "#detail-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel_scheduled()

    @on(Button.Pressed, "#detail-delete")
    def _delete_pressed(self) -> None:
        self.action_delete()

    @on(Button.Pressed, "#detail-export")
    def _export_pressed(self) -> None:
        self.action_export()

    @on(Button.Pressed, "#detail-back")
    def _back_pressed(self) -> None:
        self.action_back()

    # Actions

    def action_back(self) -> None:
        self.dismiss(DetailResult(self.record.id, record=self.record))

    def action_resend(self) -> None:
        self.post_message(ResendRequested(self.record))

    def action_copy_to_compose(self) -> None:
        self.post_message(CopyToCompose(self.record))

    def action_copy_umid(self) -> None:
        umid = getattr(self.record, "umid", None)
        if not umid:
            self.notify("This message has no umid to copy: 8x8 never acknowledged it.",
                        severity="warning")
            return
        self.app.copy_to_clipboard(umid)
        self.notify(f"Copied umid {umid} (if your terminal lets apps use the clipboard).")

    def action_refresh_status(self) -> None:
        problem = self._lookup_problem()
        if problem:
            self.notify(problem, severity="warning")
            return
        if "lookup" in self._busy:
            return
        self._refresh_status()

    def action_cancel_scheduled(self) -> None:
        problem = self._cancel_problem()
        if problem:
            self.notify(problem, severity="warning")
            return
        if "cancel" not in self._busy:
            self._cancel_scheduled()

    def action_delete(self) -> None:
        if "delete" not in self._busy:
            self._delete()

    def action_export(self) -> None:
        from sms_tui.history import HistoryFilter

        self._export(self.flt or HistoryFilter())

    # Work in the background

    def _begin(self, what: str) -> None:
        self._busy.add(what)
        self._update_buttons()

    def _end(self, what: str) -> None:
        self._busy.discard(what)
        # The person may have left (or quit) while the work ran: then there is nothing to update.
        with contextlib.suppress(NoMatches):
            self._update_buttons()

    async def _reload(self) -> None:
        try:
            record = await asyncio.to_thread(self.history.get, self.record.id)
        except SmsTuiError as error:
            self.notify(str(error), severity="error")
            return
        with contextlib.suppress(NoMatches):
            self._show(record)

    @work(group="detail-lookup", exclusive=True)
    async def _refresh_status(self) -> None:
        self._begin("lookup")
        before = self.record
        try:
            async with send_workflow().client_for(self.profile) as client:
                record = await refresh_one(client, self.history, self.record)
        except Exception as error:  # whatever the network does, the app carries on and says so
            self.notify(describe_error(error), title="Status not refreshed", severity="error")
            return
        finally:
            self._end("lookup")
        with contextlib.suppress(NoMatches):
            self._show(record)
        if record.checked_at == before.checked_at:
            self.notify(
                f"8x8 gave no status for this message (it may be too old): it stays "
                f"{record.state}.",
                severity="warning",
            )
        elif record.state != before.state:
            self.notify(f"Status: {record.state} (was {before.state}).")
        else:
            self.notify(f"Status unchanged: {record.state}.")

    @work(group="detail-cancel", exclusive=True)
    async def _cancel_scheduled(self) -> None:
        self._begin("cancel")
        record = self.record
        try:
            async with send_workflow().client_for(self.profile) as client:
                cancelled = await client.cancel(record.umid)
            if not cancelled:
                self.notify(
                    "8x8 did not cancel it: the message has already gone out (or was cancelled "
                    "before). Refresh its status to see where it is.",
                    title="Not cancelled",
                    severity="warning",
                )
                return
            await asyncio.to_thread(
                self.history.record_status,
                record.id,
                state="cancelled",
                detail="Cancelled from sms-tui before it went out.",
                checked_at=datetime.now(UTC),
            )
        except Exception as error:  # whatever the network does, the app carries on and says so
            self.notify(describe_error(error), title="Not cancelled", severity="error")
            return
        finally:
            self._end("cancel")
        self.notify("Cancelled: 8x8 will not send this message.")
        await self._reload()

    @work(group="detail-delete", exclusive=True)
    async def _delete(self) -> None:
        record = self.record
        account_problem = self._lookup_problem()
        choice = await self.app.push_screen_wait(
            ConfirmDelete(
                f"To {record.destination}, {format_time(record.created_at)}: "
                f"{(record.text or '')[:80]}",
                can_remote=account_problem is None,
                remote_reason=account_problem or "",
            )
        )
        if choice is None:
            return
        self._begin("delete")
        try:
            if choice.remote:
                async with send_workflow().client_for(self.profile) as client:
                    await client.delete_pii(record.umid)
            await asyncio.to_thread(self.history.delete, [record.id])
        except Exception as error:  # whatever the network does, the app carries on and says so
            self.notify(describe_error(error), title="Not deleted", severity="error")
            self._end("delete")
            return
        self._end("delete")
        where = " here and its personal data at 8x8" if choice.remote else ""
        self.notify(f"Deleted the message to {record.destination}{where}.")
        self.dismiss(DetailResult(record.id, deleted=True))

    @work(group="detail-export", exclusive=True)
    async def _export(self, flt: HistoryFilter) -> None:
        await run_export(self, self.history, flt)

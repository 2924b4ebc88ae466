"""Exporting the filtered history: the dialog that picks file and format, and the file writing."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from sms_tui.errors import SmsTuiError
from sms_tui.tui import styles

FORMATS = {"csv": ".csv", "jsonl": ".jsonl"}


@dataclass(frozen=True)
class ExportChoice:
    """Where the person wants the export, and in which format."""

    path: Path
    fmt: str  # "csv" | "jsonl"


def default_export_path(fmt: str = "csv", *, now: datetime | None = None) -> Path:
    """A new file in the home directory, named after the moment of the export."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return Path.home() / f"sms-history-{stamp}{FORMATS[fmt]}"


def write_export(history, flt, choice: ExportChoice) -> int:
    """Write the filtered set to the chosen file; returns how many records went out.

    The file is written beside its final name and renamed into place, so a failure never
    leaves half an export under the name the person chose. It is owner-only: it holds phone
    numbers and message texts. Raises OSError (the caller words it) or HistoryError.
    """
    path = choice.path
    partial = path.with_name(f".{path.name}.part")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as stream:
            count = history.export(flt, choice.fmt, stream)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return count


def describe_os_error(error: OSError, path: Path) -> str:
    """A sentence for a file that could not be written."""
    reason = error.strerror or str(error)
    return f"Could not write {path}: {reason}. Pick another file name or folder."


class ExportDialog(ModalScreen[ExportChoice | None]):
    """Asks for a file name and a format; answers an ExportChoice, or None when cancelled."""

    CSS_PATH = [styles.DIALOGS, styles.HISTORY]

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, summary: str, *, default_path: Path | None = None) -> None:
        super().__init__()
        self.summary = summary
        self.default_path = default_path or default_export_path("csv")
        self._confirm_replace: Path | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="export-dialog", classes="history-dialog"):
            yield Label("Export history", classes="dialog-title")
            yield Static(self.summary, id="export-summary", markup=False)
            with RadioSet(id="export-format"):
                yield RadioButton("CSV", value=True, id="export-csv")
                yield RadioButton("JSON Lines", id="export-jsonl")
            yield Label("File")
            yield Input(str(self.default_path), id="export-path")
            yield Static("", id="export-problem", classes="dialog-problem", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export", id="export-go", variant="primary")
                yield Button("Cancel", id="export-cancel")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    @property
    def fmt(self) -> str:
        pressed = self.query_one("#export-format", RadioSet).pressed_button
        return "jsonl" if pressed is not None and pressed.id == "export-jsonl" else "csv"

    @on(RadioSet.Changed, "#export-format")
    def _format_changed(self) -> None:
        # Keep the suffix in step with the format unless the person typed their own name.
        field = self.query_one("#export-path", Input)
        path = Path(field.value)
        if path.suffix in FORMATS.values():
            field.value = str(path.with_suffix(FORMATS[self.fmt]))

    @on(Input.Changed, "#export-path")
    def _path_changed(self) -> None:
        self._confirm_replace = None
        self._problem("")

    def _problem(self, text: str) -> None:
        self.query_one("#export-problem", Static).update(text)

    @on(Input.Submitted, "#export-path")
    @on(Button.Pressed, "#export-go")
    def action_export(self) -> None:
        raw = self.query_one("#export-path", Input).value.strip()
        if not raw:
            self._problem("Give a file name.")
            return
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = Path.home() / path
        if not path.parent.is_dir():
            self._problem(f"The folder {path.parent} does not exist.")
            return
        if path.is_dir():
            self._problem(f"{path} is a folder: give a file name.")
            return
        if path.exists() and self._confirm_replace != path:
            self._confirm_replace = path
            self._problem(f"{path.name} already exists: press Export again to replace it.")
            return
        self.dismiss(ExportChoice(path=path, fmt=self.fmt))

    @on(Button.Pressed, "#export-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


async def run_export(screen, history, flt) -> None:
    """The whole export, run from a worker of `screen`: count, ask, write, and say where it went."""
    try:
        count = await asyncio.to_thread(history.count, flt)
    except SmsTuiError as error:
        screen.notify(str(error), title="Export", severity="error")
        return
    if count == 0:
        screen.notify("There is nothing to export: no message matches.", severity="warning")
        return
    noun = "message" if count == 1 else "messages"
    scope = "matching the current search and filter" if _is_filtered(flt) else "in the history"
    choice = await screen.app.push_screen_wait(
        ExportDialog(f"{count:,} {noun} {scope}, newest first.")
    )
    if choice is None:
        return
    try:
        written = await asyncio.to_thread(write_export, history, flt, choice)
    except OSError as error:
        screen.notify(describe_os_error(error, choice.path), title="Export", severity="error")
        return
    except SmsTuiError as error:
        screen.notify(str(error), title="Export", severity="error")
        return
    noun = "message" if written == 1 else "messages"
    screen.notify(f"Exported {written:,} {noun} to {choice.path}", title="Export")


def _is_filtered(flt) -> bool:
    return any(
        getattr(flt, name, None) for name in ("search", "states", "since", "until", "profile")
    )

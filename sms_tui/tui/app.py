"""The Textual app: which profile is active, the sandbox, the history store, and the screens."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer

from sms_tui.errors import ConfigError, SmsTuiError
from sms_tui.tui import styles
from sms_tui.tui.screens.compose import ComposeScreen
from sms_tui.tui.widgets.status_header import StatusHeader

if TYPE_CHECKING:
    from sms_tui import config
    from sms_tui.history import History
    from sms_tui.sandbox import Sandbox

REFRESH_INTERVAL = 20.0  # seconds between background status rounds while the app is open
REFRESH_BATCH = 10  # lookups per round; 8x8 allows 1 per second, so a round takes ~10 s
THEME_SAVE_DELAY = 1.0
SCREEN_TITLES = {
    "ComposeScreen": "Compose",
    "SetupScreen": "Setup",
    "HistoryScreen": "History",
    "MessageDetailScreen": "Message",
}


class SmsTuiApp(App[int]):
    """sms-tui: compose and send SMS through 8x8, with the history of what went out."""

    CSS_PATH = styles.APP
    TITLE = "sms-tui"
    BINDINGS = [
        Binding("f1", "help", "Help"),
        Binding("question_mark", "help", "Help", show=False),
        Binding("ctrl+o", "history", "History"),
    ]

    def __init__(
        self,
        profile_name: str | None = None,
        sandbox: bool = False,
        *,
        background_refresh: bool = True,
        sandbox_server: Sandbox | None = None,
    ) -> None:
        """`sandbox_server`: a sandbox already running (tests, screenshots) to use instead of
        starting one; the app then leaves it running when it quits."""
        super().__init__()
        self.profile_name = profile_name
        self.use_sandbox = sandbox
        self.background_refresh = background_refresh
        self.settings: config.Settings | None = None
        self.config_error: str | None = None
        self.profile: config.Profile | None = None
        self.sandbox_server: Sandbox | None = sandbox_server
        self._owns_sandbox = sandbox_server is None
        self._sandbox_profile: config.Profile | None = None
        self._history: History | None = None
        self.balance_text = ""
        self.activity = ""
        self._theme_timer: Timer | None = None
        self._gc_paused = False

    # ---- start-up -------------------------------------------------------------------------
    def on_load(self) -> None:
        # Drawing the first frame builds tens of thousands of objects that live as long as
        # the app (widgets, styles, the stylesheet's rules), and the cyclic garbage collector
        # would walk all of them, and everything imported, several times over: about a
        # quarter of the start-up. Nothing collectable piles up in that moment, so collection
        # waits until the first frame is on screen.
        if gc.isenabled():
            gc.disable()
            self._gc_paused = True

    def _resume_gc(self) -> None:
        if self._gc_paused:
            self._gc_paused = False
            gc.enable()

    def on_mount(self) -> None:
        # The compose screen is drawn first; settings, profile and draft follow right after
        # the first frame (the profile file's pydantic models cost more than the frame itself).
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.call_after_refresh(self._first_frame_drawn)

    def _first_frame_drawn(self) -> None:
        self._resume_gc()
        self._after_first_frame()

    def on_unmount(self) -> None:
        self._resume_gc()  # an app stopped before its first frame must not leave it paused

    def get_default_screen(self) -> Screen:
        # Compose is the screen everything else opens over, so it is the app's base screen
        # rather than one pushed over Textual's empty default: one screen less to style.
        return ComposeScreen(width=self.size.width)

    def _after_first_frame(self) -> None:
        self._load_state()
        # What waits on the network, the disk or a big import runs in the background.
        if self.profile is not None:
            self.load_balance()
        self.recover_pending()
        self.warm_up()
        if self.background_refresh:
            self.set_interval(REFRESH_INTERVAL, self._refresh_tick)

    def _load_state(self) -> None:
        """Settings, theme, the profile (or the wizard), and the draft being composed."""
        from sms_tui import config

        start_error = self._load_settings()
        if self.settings is not None and self.settings.theme in self.available_themes:
            self.theme = self.settings.theme

        wizard = False
        if self.use_sandbox:
            try:
                self._start_sandbox_profile()
            except SmsTuiError as error:
                start_error = str(error)
        elif self.config_error is None:
            try:
                self.profile = config.resolve_profile(self.profile_name, self.settings)
            except ConfigError as error:
                # No profile at all is the first run: the wizard explains everything. A named
                # profile that does not exist is a mistake worth saying.
                wizard = True
                if self.profile_name:
                    start_error = str(error)
            else:
                if self.profile.sandbox:
                    try:
                        self._start_sandbox_profile()
                    except SmsTuiError as error:
                        start_error = str(error)

        compose = self.compose_screen
        if compose is not None:
            compose.profile_changed(None, self.profile)
            compose.restore_draft()
        self.sync_headers()
        if wizard:
            from sms_tui.tui.screens.setup import SetupScreen

            self.push_screen(SetupScreen())
        if start_error:
            self.notify(start_error, title="Cannot use the profile", severity="error", timeout=15)

    def _load_settings(self) -> str | None:
        from sms_tui import config

        try:
            self.settings = config.load_settings()
        except ConfigError as error:
            # Never overwrite a file the person may want to repair: saving is refused until then.
            self.config_error = str(error)
            self.settings = None
            return str(error)
        return None

    # ---- profiles and sandbox -----------------------------------------------------------------
    def _start_sandbox_profile(self) -> config.Profile:
        if self._sandbox_profile is None:
            if self.sandbox_server is None:
                from sms_tui import local_sandbox

                self.sandbox_server, self._sandbox_profile = local_sandbox.start(save=False)
            else:
                self._sandbox_profile = self._profile_for(self.sandbox_server)
        profile = self._sandbox_profile
        if self.config_error is None:
            try:
                self.save_profile(profile)
            except SmsTuiError as error:
                self.notify(f"The sandbox profile was not saved: {error}", severity="warning")
        self.profile = profile
        return profile

    @staticmethod
    def _profile_for(server: Sandbox) -> config.Profile:
        from sms_tui import local_sandbox

        return local_sandbox.profile_for(server)

    def start_sandbox(self) -> config.Profile:
        """Start the built-in sandbox (once per process) and make its profile the active one."""
        old = self.profile
        profile = self._start_sandbox_profile()
        self._profile_switched(old, profile)
        assert self.sandbox_server is not None
        self.notify(
            f"The sandbox runs at {self.sandbox_server.base_url}: it behaves like 8x8, but nothing "
            "reaches a phone. Its key is kept for this session only.",
            title="Sandbox started",
            timeout=8,
        )
        return profile

    def save_profile(self, profile: config.Profile) -> Path:
        """Add or replace a profile in the profile file, make it active; returns the file."""
        from sms_tui import config

        if self.config_error is not None:
            raise ConfigError(
                f"{self.config_error} Fix or move that file first; it was not overwritten."
            )
        settings = config.upsert_profile(config.load_settings(), profile, make_active=True)
        path = config.save_settings(settings)
        self.settings = settings
        return path

    def activate_profile(self, profile: config.Profile) -> None:
        """Use `profile` from now on (after the wizard saved it, or from the palette)."""
        if profile.sandbox:
            self.start_sandbox()
            return
        old = self.profile
        self.profile = profile
        self._profile_switched(old, profile)

    def switch_profile(self, name: str) -> None:
        from sms_tui import config

        try:
            profile = config.resolve_profile(name, self.settings)
        except SmsTuiError as error:
            self.notify(str(error), title="Profile not switched", severity="error")
            return
        self.activate_profile(profile)
        if not profile.sandbox and self.settings is not None and self.config_error is None:
            try:
                self.settings = config.upsert_profile(config.load_settings(), profile)
                config.save_settings(self.settings)
            except SmsTuiError as error:
                self.notify(str(error), severity="warning")
        self.notify(f"Now using profile {profile.name} ({profile.region_label()}).")

    def _profile_switched(self, old: config.Profile | None, new: config.Profile) -> None:
        self.balance_text = ""
        self.sync_headers()
        compose = self.compose_screen
        if compose is not None:
            compose.profile_changed(old, new)
        self.load_balance()

    # ---- header -----------------------------------------------------------------------------
    def sync_headers(self) -> None:
        """Bring every header on the screen stack up to date with the app's state."""
        profile = self.profile
        for screen in self.screen_stack:
            title = SCREEN_TITLES.get(type(screen).__name__, "")
            for header in screen.query(StatusHeader):
                header.screen_title = title
                header.profile = profile.name if profile else ""
                header.region_name = profile.region_label() if profile else ""
                header.sandbox = bool(profile and profile.sandbox)
                header.balance = self.balance_text
                header.activity = self.activity

    def set_activity(self, text: str) -> None:
        self.activity = text
        self.sync_headers()

    @work(exclusive=True, group="balance", exit_on_error=False)
    async def load_balance(self) -> None:
        """Prepaid accounts show their balance; others (8x8 answers 403/1201) show nothing."""
        from sms_tui import outbox

        profile = self.profile
        if profile is None:
            return
        try:
            # In a thread: the keyring may block on D-Bus, and httpx loads on first use.
            client = await asyncio.to_thread(outbox.client_for, profile)
            async with client:
                balance = await client.balance()
        except SmsTuiError:
            return  # the balance is a nicety: a failure here is said when something is sent
        if profile is not self.profile:
            return
        if balance is not None:
            amount = getattr(balance, "balance", None)
            currency = getattr(balance, "currency", "")
            self.balance_text = f"{amount:,.2f} {currency}".strip() if amount is not None else ""
        else:
            self.balance_text = ""
        self.sync_headers()

    # ---- history ------------------------------------------------------------------------------
    @property
    def history(self) -> History:
        """The history store, opened on first use (raises HistoryError with the file named)."""
        if self._history is None:
            from sms_tui.history import History

            self._history = History()
        return self._history

    @work(thread=True, exclusive=True, group="warm-up", exit_on_error=False)
    def warm_up(self) -> None:
        """Build the Unicode table the first non-GSM character needs, off the UI thread."""
        from sms_tui import encoding

        encoding.warm_up()

    @work(thread=True, exclusive=True, group="recover", exit_on_error=False)
    def recover_pending(self) -> None:
        from sms_tui import outbox

        try:
            recovered = outbox.recover(self.history)
        except SmsTuiError as error:
            self.call_from_thread(
                self.notify, str(error), title="History unavailable", severity="error", timeout=15
            )
            return
        if recovered:
            self.call_from_thread(
                self.notify,
                f"{recovered} message(s) were interrupted by an earlier crash. They may or may not "
                "have reached 8x8 and are marked 'unknown' in History: check before resending.",
                title="Interrupted sends",
                severity="warning",
                timeout=15,
            )

    def _refresh_tick(self) -> None:
        # The history screen runs its own paced loop; two loops would share one rate limit.
        if self.profile is None or any(
            type(screen).__name__ in ("HistoryScreen", "MessageDetailScreen")
            for screen in self.screen_stack
        ):
            return
        self.refresh_statuses()

    @work(exclusive=True, group="refresh", exit_on_error=False)
    async def refresh_statuses(self, announce: bool = False) -> None:
        """Look up recent non-final messages at 8x8, paced at one lookup per second."""
        from sms_tui import outbox

        profile = self.profile
        if profile is None:
            return
        try:
            client = await asyncio.to_thread(outbox.client_for, profile)
            async with client:
                changed = await outbox.refresh_statuses(
                    client=client,
                    history=self.history,
                    profile=profile,
                    limit=REFRESH_BATCH,
                    pace=1.0,
                )
        except SmsTuiError as error:
            if announce:
                self.notify(str(error), title="Statuses not refreshed", severity="error")
            return
        if announce:
            self.notify(f"{changed} message status(es) changed." if changed else "No change.")

    # ---- navigation -------------------------------------------------------------------------
    @property
    def compose_screen(self) -> ComposeScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, ComposeScreen):
                return screen
        return None

    def show_compose(self) -> ComposeScreen | None:
        """Close what is above the compose screen and return it."""
        compose = self.compose_screen
        while compose is not None and self.screen is not compose and len(self.screen_stack) > 1:
            self.pop_screen()
        return compose

    def open_in_compose(
        self,
        *,
        to: str,
        text: str,
        sender: str | None = None,
        encoding: str = "AUTO",
        resent_from: int | None = None,
    ) -> None:
        """Fill the compose screen (resend or copy from history) and show it."""
        from sms_tui.tui.drafts import ComposeDraft

        compose = self.show_compose()
        if compose is None:
            return
        compose.fill(
            ComposeDraft(
                to=to, text=text, sender=sender or "", encoding=encoding, resent_from=resent_from
            )
        )
        compose.save_draft()
        compose.query_one("#message").focus()

    def on_resend_requested(self, message) -> None:
        self._compose_from(message.draft(), "Resend: check the form, then ctrl+s.")

    def on_copy_to_compose(self, message) -> None:
        self._compose_from(message.draft(), "Copied into compose.")

    def _compose_from(self, draft, note: str) -> None:
        self.open_in_compose(
            to=draft.to,
            text=draft.text,
            sender=draft.sender,
            encoding=draft.encoding,
            resent_from=draft.resent_from,
        )
        self.notify(note)

    def action_history(self) -> None:
        try:
            from sms_tui.tui.screens.history import HistoryScreen
        except ImportError:
            self.notify("The history browser is not part of this build.", severity="error")
            return
        if any(isinstance(screen, HistoryScreen) for screen in self.screen_stack):
            while not isinstance(self.screen, HistoryScreen):
                self.pop_screen()
            return
        try:
            history = self.history
        except SmsTuiError as error:
            self.notify(str(error), title="History unavailable", severity="error", timeout=15)
            return
        self.push_screen(HistoryScreen(history, self.profile))

    def action_help(self) -> None:
        from sms_tui.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_setup(self, edit: bool = False) -> None:
        from sms_tui.tui.screens.setup import SetupScreen

        if isinstance(self.screen, SetupScreen):
            return
        profile = self.profile if edit and self.profile and not self.profile.sandbox else None
        self.push_screen(SetupScreen(profile))

    def _compose_action(self, action: str) -> None:
        compose = self.show_compose()
        if compose is not None:
            getattr(compose, f"action_{action}")()

    # ---- command palette --------------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield SystemCommand(
            "Send message", "Check, confirm and send what is in compose (ctrl+s)",
            lambda: self._compose_action("send"),
        )
        yield SystemCommand(
            "New message", "Clear the compose form (ctrl+n)",
            lambda: self._compose_action("new_message"),
        )
        yield SystemCommand(
            "Smart replacement", "Replace typographic characters with GSM-7 ones (ctrl+r)",
            lambda: self._compose_action("smart_replace"),
        )
        yield SystemCommand(
            "Advanced options", "Encoding, clientMessageId, schedule and expiry (F4)",
            lambda: self._compose_action("toggle_advanced"),
        )
        yield SystemCommand("Compose", "Go to the compose screen", self.show_compose)
        yield SystemCommand("History", "Sent messages, search, details (ctrl+o)",
                            self.action_history)
        yield SystemCommand(
            "Refresh statuses", "Look up recent messages that are not final yet",
            lambda: self.refresh_statuses(announce=True),
        )
        yield SystemCommand("Refresh balance", "Ask 8x8 for the prepaid balance",
                            self.load_balance)
        yield SystemCommand("Setup: new profile", "Connect another 8x8 account",
                            lambda: self.action_setup(False))
        if self.profile is not None and not self.profile.sandbox:
            yield SystemCommand(
                f"Setup: edit profile {self.profile.name}",
                "Change the key, subaccount, region, sender or country",
                lambda: self.action_setup(True),
            )
        yield SystemCommand(
            "Try the sandbox", "Start the built-in stand-in for 8x8: no account needed",
            self.start_sandbox,
        )
        if self.settings is not None:
            for name, profile in self.settings.profiles.items():
                if self.profile is not None and name == self.profile.name:
                    continue
                yield SystemCommand(
                    f"Switch profile: {name}",
                    f"{profile.subaccount_id}, {profile.region_label()}",
                    lambda name=name: self.switch_profile(name),
                )
        yield SystemCommand("Help", "Keys and facts (F1)", self.action_help)
        yield from super().get_system_commands(screen)

    # ---- theme and shutdown -----------------------------------------------------------------
    def _theme_changed(self, _theme) -> None:
        if self._theme_timer is not None:
            self._theme_timer.stop()
        self._theme_timer = self.set_timer(THEME_SAVE_DELAY, self._save_theme)

    def _save_theme(self) -> None:
        self._theme_timer = None
        if self.config_error is not None:
            return
        from sms_tui import config

        try:
            settings = config.load_settings()
            if settings.theme == self.theme:
                return
            settings = settings.model_copy(update={"theme": self.theme})
            config.save_settings(settings)
            self.settings = settings
        except SmsTuiError as error:
            self.notify(f"The theme was not saved: {error}", severity="warning")

    def save_draft_now(self) -> None:
        compose = self.compose_screen
        if compose is not None and compose.is_mounted:
            compose.save_draft()

    async def action_quit(self) -> None:
        self.save_draft_now()
        await super().action_quit()

    def shutdown(self) -> None:
        """Stop the sandbox and close the history (after the app has exited)."""
        if self._history is not None:
            self._history.close()
            self._history = None
        if self.sandbox_server is not None and self._owns_sandbox:
            self.sandbox_server.stop()
            self.sandbox_server = None


def run_app(profile: str | None = None, sandbox: bool = False) -> int:
    """Run the app in the terminal; returns the process exit status."""
    app = SmsTuiApp(profile_name=profile, sandbox=sandbox)
    try:
        app.run()
    finally:
        app.shutdown()
    return app.return_code or 0

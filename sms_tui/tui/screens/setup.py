"""The setup wizard: API key, subaccount, account, region, sender and country; test and save."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Select, Static

from sms_tui import config
from sms_tui.errors import InvalidInput, SmsTuiError
from sms_tui.tui import styles
from sms_tui.tui.widgets.status_header import StatusHeader

if TYPE_CHECKING:
    from sms_tui.credentials import ApiKey
    from sms_tui.tui.app import SmsTuiApp

def region_options() -> list[tuple[str, str]]:
    options = [
        (f"{region.label}  {region.base_url}", key) for key, region in config.REGIONS.items()
    ]
    options.append(("Custom base URL", "custom"))
    return options


class SetupScreen(Screen[None]):
    """One form, numbered in the order a person has the facts at hand.

    Nothing is written until Save; Test connection sends no SMS. The key field is a password
    field: paste works, the value is never shown, and once saved only its last 4 characters are.
    """

    CSS_PATH = styles.SETUP

    app: SmsTuiApp
    BINDINGS = [
        Binding("ctrl+t", "test_connection", "Test connection"),
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+b", "sandbox", "Try the sandbox"),
        Binding("escape", "cancel", "Back"),
    ]

    def __init__(self, profile: config.Profile | None = None) -> None:
        super().__init__(id="setup")
        self.editing = profile
        self.saved_key_masked: str | None = None

    def compose(self) -> ComposeResult:
        profile = self.editing
        yield StatusHeader()
        with VerticalScroll(id="setup-form"):
            yield Static(self._intro(), id="setup-intro")
            with Horizontal(classes="field-row"):
                yield Label("Profile name", classes="setup-label")
                yield Input(
                    profile.name if profile else "default", id="profile-name", compact=True
                )
            with Horizontal(classes="field-row"):
                yield Label("1 API key", classes="setup-label")
                yield Input(
                    id="api-key",
                    password=True,
                    placeholder="paste the key from 8x8 Connect > API keys",
                    compact=True,
                )
            yield Static("", id="api-key-status", classes="field-status")
            with Horizontal(classes="field-row"):
                yield Label("2 Subaccount id", classes="setup-label")
                yield Input(
                    profile.subaccount_id if profile else "",
                    id="subaccount",
                    placeholder="e.g. acme_hq",
                    compact=True,
                )
            yield Static("", id="subaccount-status", classes="field-status")
            with Horizontal(classes="field-row"):
                yield Label("3 Account id", classes="setup-label")
                yield Input(
                    (profile.account_id or "") if profile else "",
                    id="account",
                    placeholder="default: the subaccount id without _hq (for the balance)",
                    compact=True,
                )
            with Horizontal(classes="field-row"):
                yield Label("4 Region", classes="setup-label")
                yield Select(
                    region_options(),
                    value=profile.region if profile else "apac",
                    allow_blank=False,
                    id="region",
                    compact=True,
                )
            with Horizontal(classes="field-row", id="base-url-row"):
                yield Label("  Base URL", classes="setup-label")
                yield Input(
                    (profile.base_url or "") if profile else "",
                    id="base-url",
                    placeholder="https://… (http only for localhost)",
                    compact=True,
                )
            yield Static("", id="base-url-status", classes="field-status")
            with Horizontal(classes="field-row"):
                yield Label("5 Sender id", classes="setup-label")
                yield Input(
                    (profile.sender or "") if profile else "",
                    id="default-sender",
                    placeholder="optional: up to 11 letters/digits, or a number",
                    compact=True,
                )
            yield Static("", id="sender-check", classes="field-status")
            with Horizontal(classes="field-row"):
                yield Label("6 Country", classes="setup-label")
                yield Input(
                    (profile.country or "") if profile else "",
                    id="country",
                    placeholder="optional: SG, US, GB… for numbers typed without +",
                    compact=True,
                )
            yield Static("", id="country-status", classes="field-status")
            yield Static("", id="setup-result")
            with Horizontal(id="setup-buttons"):
                yield Button("Test connection ^t", id="test", compact=True)
                yield Button("Save ^s", id="save", variant="primary", compact=True)
                yield Button("Try the sandbox ^b", id="sandbox", variant="success", compact=True)
                yield Button("Back esc", id="cancel", compact=True)
        yield Footer()

    def _intro(self) -> Content:
        if self.editing is not None:
            return Content.assemble(
                ("Edit profile ", "bold"), (self.editing.name, "bold $accent"),
                ". Leave the key empty to keep the one saved. A new name makes a new profile.",
            )
        return Content.assemble(
            ("Connect sms-tui to your 8x8 account. ", "bold"),
            "The key goes to the OS keyring, the rest to the profile file. No account? ",
            ("ctrl+b", "bold $accent"),
            " starts a built-in sandbox so you can try everything.",
        )

    def on_mount(self) -> None:
        self.app.sync_headers()
        self._region_changed()
        self._subaccount_changed()
        if self.editing is not None:
            self.load_key_status(self.editing.name)
            self.query_one("#api-key", Input).focus()
        else:
            self.query_one("#api-key", Input).focus()

    # ---- validation as you type -------------------------------------------------------------
    def _field_status(self, status_id: str, text: str, variant: str = "") -> None:
        status = self.query_one(status_id, Static)
        status.update(text)
        status.set_classes(f"field-status {variant}".strip())

    @on(Input.Changed, "#subaccount")
    def _subaccount_changed(self) -> None:
        from sms_tui import phone

        field = self.query_one("#subaccount", Input)
        value = field.value
        account = self.query_one("#account", Input)
        account.placeholder = (
            f"default: {config.default_account_id(value.strip())} (for the balance)"
            if value.strip()
            else "default: the subaccount id without _hq (for the balance)"
        )
        if not value:
            self._field_status("#subaccount-status", "")
            field.remove_class("-bad")
            return
        try:
            phone.check_subaccount_id(value)
        except InvalidInput as error:
            self._field_status("#subaccount-status", f"✗ {error}", "-error")
            field.add_class("-bad")
        else:
            self._field_status("#subaccount-status", "✓ valid subaccount id", "-ok")
            field.remove_class("-bad")

    @on(Select.Changed, "#region")
    def _region_changed(self) -> None:
        custom = self.query_one("#region", Select).value == "custom"
        self.query_one("#base-url-row").display = custom

    @on(Input.Changed, "#base-url")
    def _base_url_changed(self, event: Input.Changed) -> None:
        if not event.value.strip():
            self._field_status("#base-url-status", "")
            return
        try:
            self._check_base_url(event.value)
        except InvalidInput as error:
            self._field_status("#base-url-status", f"✗ {error}", "-error")
        else:
            self._field_status("#base-url-status", "")

    @staticmethod
    def _check_base_url(url: str) -> str:
        return config.check_base_url(url.strip())

    @on(Input.Changed, "#default-sender")
    def _sender_changed(self, event: Input.Changed) -> None:
        from sms_tui import phone

        try:
            check = phone.check_sender(event.value)
        except InvalidInput as error:
            self._field_status("#sender-check", f"✗ {error}", "-error")
            return
        if check.warnings:
            self._field_status("#sender-check", "⚠ " + " ".join(check.warnings), "-warning")
        else:
            self._field_status("#sender-check", "")

    @on(Input.Changed, "#country")
    def _country_changed(self, event: Input.Changed) -> None:
        from sms_tui import phone

        try:
            code = phone.check_country(event.value)
        except InvalidInput as error:
            self._field_status("#country-status", f"✗ {error}", "-error")
            return
        if code:
            self._field_status(
                "#country-status", f"✓ national numbers are read as {phone.country_name(code)}",
                "-ok",
            )
        else:
            self._field_status("#country-status", "")

    @work(thread=True, exclusive=True, group="key-status")
    def load_key_status(self, name: str) -> None:
        from sms_tui import credentials

        try:
            key = credentials.get_api_key(name)
            source = credentials.key_source(name) or "keyring"
        except SmsTuiError:
            return
        self.app.call_from_thread(self._show_saved_key, key.masked, source)

    def _show_saved_key(self, masked: str, source: str) -> None:
        self.saved_key_masked = masked
        where = {"environment": "from $SMS_TUI_API_KEY", "session": "kept for this session"}.get(
            source, "saved in the keyring"
        )
        self._field_status(
            "#api-key-status", f"✓ key {masked} {where}; leave empty to keep it", "-ok"
        )

    # ---- building the profile -----------------------------------------------------------------
    def build_profile(self) -> config.Profile:
        """The profile the form describes. Raises InvalidInput naming the field to fix."""
        from sms_tui import phone

        name = self.query_one("#profile-name", Input).value.strip()
        if not name:
            raise InvalidInput("Give the profile a name (for instance: default, work, test).")
        subaccount = phone.check_subaccount_id(self.query_one("#subaccount", Input).value)
        region = self.query_one("#region", Select).value
        region = region if isinstance(region, str) else "apac"
        base_url = None
        if region == "custom":
            raw = self.query_one("#base-url", Input).value
            if not raw.strip():
                raise InvalidInput("Region is custom: type the base URL (https://…).")
            base_url = self._check_base_url(raw)
        sender = phone.check_sender(self.query_one("#default-sender", Input).value).value or None
        country = phone.check_country(self.query_one("#country", Input).value)
        account = self.query_one("#account", Input).value.strip() or None
        return config.make_profile(
            name=name,
            subaccount_id=subaccount,
            account_id=account,
            region=region,
            base_url=base_url,
            sender=sender,
            country=country,
        )

    def typed_key(self) -> ApiKey | None:
        from sms_tui.credentials import ApiKey

        value = self.query_one("#api-key", Input).value
        return ApiKey(value) if value.strip() else None

    def _result(self, content: Content | str, variant: str = "") -> None:
        result = self.query_one("#setup-result", Static)
        result.update(content)
        result.set_classes(variant)

    # ---- actions ---------------------------------------------------------------------------
    @on(Button.Pressed, "#test")
    def action_test_connection(self) -> None:
        try:
            profile = self.build_profile()
            key = self.typed_key()
        except InvalidInput as error:
            self._result(f"✗ {error}", "-error")
            return
        self._result("Checking the key and subaccount with 8x8 (no SMS is sent)…", "-busy")
        self.test_connection(profile, key)

    @work(exclusive=True, group="test-connection", exit_on_error=False)
    async def test_connection(self, profile: config.Profile, key: ApiKey | None) -> None:
        from sms_tui import credentials
        from sms_tui.client import SmsClient

        try:
            if key is None:
                key = credentials.get_api_key(profile.name)
            client = SmsClient(
                api_key=key,
                subaccount_id=profile.subaccount_id,
                base_url=profile.effective_base_url(),
                account_id=profile.effective_account_id(),
                timeout=10.0,
            )
            async with client:
                await client.verify()
        except SmsTuiError as error:
            self._result(self.explain_failure(error, profile), "-error")
            return
        self._result(
            f"✓ Connected: 8x8 accepts this key for subaccount {profile.subaccount_id} in "
            f"{profile.region_label()}. No SMS was sent. Save (ctrl+s) to keep it.",
            "-ok",
        )

    @staticmethod
    def explain_failure(error: SmsTuiError, profile: config.Profile) -> str:
        """The error as the domain says it, plus which field most likely needs a change."""
        from sms_tui import errors

        # The domain's sentence says what happened and what to do; point at the field too.
        hint = ""
        if isinstance(error, errors.AuthenticationError):
            hint = f"→ field 1 (API key), or 4 if the account is not in {profile.region_label()}."
        elif isinstance(error, errors.NotFound | errors.PermissionDenied):
            hint = f"→ field 2 (subaccount id “{profile.subaccount_id}”)."
        elif isinstance(error, errors.TransportError):
            hint = f"→ field 4 (region or base URL {profile.effective_base_url()}) or the network."
        elif isinstance(error, errors.CredentialError):
            hint = "→ field 1: type the API key."
        text = f"✗ {error}"
        return f"{text}\n  {hint}" if hint else text

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        try:
            profile = self.build_profile()
            key = self.typed_key()
        except InvalidInput as error:
            self._result(f"✗ Not saved: {error}", "-error")
            return
        self.save(profile, key)

    @work(exclusive=True, group="save", exit_on_error=False)
    async def save(self, profile: config.Profile, key: ApiKey | None) -> None:
        from sms_tui import credentials
        from sms_tui.errors import KeyringUnavailable
        from sms_tui.tui.screens.keyring_unavailable import KeyringUnavailableScreen

        if key is None and self.saved_key_masked is None:
            source = credentials.key_source(profile.name)
            if source is None:
                self._result(
                    "✗ Not saved: type the API key in field 1 (or set $SMS_TUI_API_KEY).",
                    "-error",
                )
                self.query_one("#api-key", Input).focus()
                return
        key_where = f"Key: unchanged ({self.saved_key_masked})." if self.saved_key_masked else ""
        if key is not None:
            try:
                where = credentials.store_api_key(profile.name, key)
                key_where = f"Key {key.masked}: {where}"
            except KeyringUnavailable as error:
                choice = await self.app.push_screen_wait(KeyringUnavailableScreen(str(error)))
                if choice == "session":
                    credentials.remember_for_session(profile.name, key)
                    key_where = (
                        f"Key {key.masked}: kept in memory for this session only "
                        "(it is forgotten when the app quits)."
                    )
                elif choice == "env":
                    key_where = (
                        "Key: not stored. Start sms-tui with SMS_TUI_API_KEY set to use it."
                    )
                else:
                    self._result("Not saved: nothing was written.", "")
                    return
            except SmsTuiError as error:
                self._result(f"✗ Not saved: {error}", "-error")
                return
        try:
            path = self.app.save_profile(profile)
        except SmsTuiError as error:
            self._result(f"✗ The profile was not saved: {error}\n  {key_where}", "-error")
            return
        self.query_one("#api-key", Input).value = ""
        if key is not None:
            self.saved_key_masked = key.masked
            self._field_status("#api-key-status", f"✓ key {key.masked} saved", "-ok")
        message = f"{key_where}\nProfile “{profile.name}”: saved to {path}."
        self._result(f"✓ {message}", "-ok")
        self.app.activate_profile(profile)
        self.notify(message, title="Profile saved", timeout=8)
        self.dismiss()

    @on(Button.Pressed, "#sandbox")
    def action_sandbox(self) -> None:
        self._result("Starting the sandbox…", "-busy")
        try:
            self.app.start_sandbox()
        except SmsTuiError as error:
            self._result(f"✗ {error}", "-error")
            return
        self.dismiss()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss()

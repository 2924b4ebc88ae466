"""The header line: app name, active profile, region, balance, and the SANDBOX badge."""

from __future__ import annotations

from textual.app import RenderResult
from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget


class StatusHeader(Widget):
    """One line that tells which account every action will use.

    The app sets the reactive attributes; the header only draws them.
    """

    DEFAULT_CLASSES = "status-header"

    screen_title: reactive[str] = reactive("")
    profile: reactive[str] = reactive("")
    region_name: reactive[str] = reactive("")
    balance: reactive[str] = reactive("")
    sandbox: reactive[bool] = reactive(False)
    activity: reactive[str] = reactive("")

    def render(self) -> RenderResult:
        parts: list[str | tuple[str, str]] = [(" sms-tui ", "bold reverse $primary")]
        if self.screen_title:
            parts += [" ", (self.screen_title, "bold")]
        if self.sandbox:
            parts += ["  ", (" SANDBOX ", "bold reverse $warning")]
        parts.append("  ")
        if self.profile:
            parts += [("profile ", "dim"), (self.profile, "bold")]
        else:
            parts.append(("no profile yet", "$warning"))
        if self.region_name:
            parts += [(" · ", "dim"), (self.region_name, "")]
        if self.balance:
            parts += [(" · ", "dim"), (self.balance, "bold $success")]
        if self.activity:
            parts += ["  ", (self.activity, "dim italic")]
        return Content.assemble(*parts)

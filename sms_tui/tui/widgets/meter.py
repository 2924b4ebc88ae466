"""The live message meter: encoding, units, segments, what is left, and the total cost."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.app import RenderResult
from textual.content import Content
from textual.widget import Widget

if TYPE_CHECKING:
    from sms_tui.encoding import Analysis

ENCODING_LABELS = {"GSM7": "GSM-7", "UCS2": "UCS-2"}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _show_char(char: str) -> str:
    """A character as the person can see it in the meter (spaces and controls made visible)."""
    from sms_tui.encoding import is_visible

    if not is_visible(char):
        return "+".join(f"U+{ord(c):04X}" for c in char)
    return char


@dataclass(frozen=True)
class Offer:
    """What smart replacement would do for the current text."""

    characters: int  # how many characters it would replace
    saves: int  # segments saved (0 when it only changes the encoding)
    summary: str  # the engine's sentence: "3 characters force UCS-2: replace them and save…"


class MessageMeter(Widget):
    """Lines under the message: the counts, then the advice (smart replacement, lost characters).

    It is re-rendered on every keystroke, so it builds its content from plain pieces and never
    parses markup (the message text may contain anything).
    """

    DEFAULT_CLASSES = "meter"

    EMPTY = Content.assemble(
        (" GSM-7 ", "reverse bold"), "  ", ("0/160", "bold"), " units  ", ("0 segments", "bold"),
        "  ", ("160", "bold"), " left\n",
        ("Characters that force UCS-2 are highlighted in the preview.", "dim"),
    )

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        # None: the first frame needs no analysis engine, an empty message has a known meter.
        self._state: tuple[Analysis, int, str, Offer | None] | None = None
        self._shape: tuple | None = None

    def show(
        self,
        analysis: Analysis,
        *,
        recipients: int,
        requested: str = "AUTO",
        offer: Offer | None = None,
    ) -> None:
        """Show the counts of `analysis` for `recipients` numbers.

        Called on every keystroke, so it only records the state: the content is built in
        render(), once per frame however many keys arrived in between. A layout pass is asked
        for only when the meter may change height (other advice, or longer numbers).
        """
        self._state = (analysis, recipients, requested, offer)
        shape = (
            analysis.encoding,
            analysis.non_gsm,
            analysis.unencodable if requested == "GSM7" else (),
            offer.summary if offer is not None else "",
            requested,
            recipients > 1,
            len(f"{analysis.units}{analysis.capacity}{analysis.segment_count}{analysis.remaining}"
                f"{recipients}"),
        )
        self.refresh(layout=shape != self._shape)
        self._shape = shape

    def render(self) -> RenderResult:
        if self._state is None:
            return self.EMPTY
        return self.render_counts(*self._state)

    @staticmethod
    def render_counts(
        analysis: Analysis, recipients: int, requested: str, offer: Offer | None
    ) -> Content:
        encoding = ENCODING_LABELS.get(analysis.encoding, analysis.encoding)
        count = analysis.segment_count
        capacity = analysis.per_segment * max(count, 1)
        parts: list[str | tuple[str, str]] = [
            (f" {encoding} ", "reverse bold" if analysis.is_gsm7 else "reverse $warning"),
            "  ",
            (f"{analysis.units}/{capacity}", "bold"),
            " units  ",
            (_plural(count, "segment"), "bold"),
            "  ",
            (f"{analysis.remaining}", "bold"),
            " left",
        ]
        if requested != "AUTO":
            parts.append(("  (forced)", "dim"))
        if recipients > 1:
            parts += [
                "  ×",
                (f"{recipients}", "bold"),
                " recipients = ",
                (_plural(count * recipients, "segment"), "bold $accent"),
            ]
        parts.append("\n")
        parts += MessageMeter._advice(analysis, requested, offer)
        return Content.assemble(*parts)

    @staticmethod
    def _advice(
        analysis: Analysis, requested: str, offer: Offer | None
    ) -> list[str | tuple[str, str]]:
        parts: list[str | tuple[str, str]] = []
        unencodable = tuple(analysis.unencodable)
        if requested == "GSM7" and unencodable:
            shown = " ".join(_show_char(char) for char in unencodable[:8])
            more = "…" if len(unencodable) > 8 else ""
            parts += [
                ("⚠ GSM-7 cannot carry ", "$error bold"),
                (f"{shown}{more}", "$error bold reverse"),
                (": they will arrive as '?' or be lost. Choose AUTO to keep them.", "$error"),
            ]
        elif analysis.encoding == "UCS2" and analysis.non_gsm:
            non_gsm = analysis.non_gsm
            shown = " ".join(_show_char(char) for char in non_gsm[:6])
            more = "…" if len(non_gsm) > 6 else ""
            parts += [
                ("Forcing UCS-2: ", "$warning"),
                (f"{shown}{more}", "$warning bold reverse"),
            ]
        if offer is not None:
            if parts:
                parts.append("\n")
            parts += [("ctrl+r", "bold $accent"), " ", offer.summary]
        if not parts:
            parts.append(("Characters that force UCS-2 are highlighted in the preview.", "dim"))
        return parts

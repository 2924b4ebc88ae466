"""GSM-7 / UCS-2 analysis of an SMS text (encoding, length, segments) and smart replacement.

The rules are those of 3GPP TS 23.038 / 23.040 as the widely used reference calculator
(Twilio's ``sms-segments-calculator``) applies them, so that our meter agrees with it exactly:

* GSM-7 is the default alphabet (without ESC, which nobody can type) plus the extension table
  (form feed and ``^ { } \\ [ ~ ] | €``); an extension character costs 2 septets (ESC + char).
  Any other character makes the message UCS-2 under ``AUTO``.
* UCS-2 length is counted in UTF-16 code units, so a character outside the BMP costs 2.
* One segment holds 160 septets / 70 units; a longer message is split into segments of
  153 / 67 (the concatenation header takes the rest).
* Segments are cut between user-perceived characters (extended grapheme clusters, with CR LF
  counted as two characters), never inside one, so an escape pair or a surrogate pair is never
  split either. A cluster that does not fit moves whole to the next segment. Clusters follow
  the current UAX #29 (the `regex` module's ``\\X``); the reference's older splitter agrees on
  everything but characters newer than its Unicode 10 tables (e.g. a skin tone on a recent
  emoji, or a Devanagari conjunct), which it would cut apart.
* The reference builds the first segment up to 160/70 units, and only when the message
  overflows does it add the header and push the tail of that segment (whole clusters) into the
  second one together with the cluster that overflowed. For any cluster a person can type the
  result is plain greedy packing at 153/67; for a single cluster of dozens of combining marks it
  can leave segment 1 empty or segment 2 over capacity, and we reproduce that faithfully.
* Forcing ``GSM7`` on text GSM-7 cannot carry: the characters are listed as ``unencodable`` and
  every code point GSM-7 lacks is counted as the one septet ``?`` it would arrive as.

This module is pure: no I/O, no state beyond caches of immutable Unicode tables.
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from itertools import accumulate, pairwise

import regex

from sms_tui.errors import InvalidInput

ENCODINGS = ("AUTO", "GSM7", "UCS2")

#: The GSM 03.38 default alphabet as Unicode, in table order, without ESC (0x1B).
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: The extension table: each is sent as ESC + char, 2 septets.
GSM7_EXTENSION = "\x0c^{}\\[~]|€"

GSM7_SINGLE, GSM7_MULTI = 160, 153  # septets in a lone segment / in each of several
UCS2_SINGLE, UCS2_MULTI = 70, 67  # UTF-16 code units likewise

_GSM_CHARS = frozenset(GSM7_BASIC + GSM7_EXTENSION)
_GREEK = "ΔΦΓΛΩΠΨΣΘΞ"  # the only GSM-7 characters Latin-1 lacks, with €
# The fast path works on bytes, one per character: every GSM-7 character but € and the Greek
# capitals has a Latin-1 byte (and encoding to Latin-1 is a plain copy when the text allows
# it). € becomes "|", another extension character, and each Greek capital a basic one: only
# their cost in septets matters there.
_LATIN1_GSM = "".join(ch for ch in _GSM_CHARS if ch not in _GREEK and ch != "€")
_GSM_LATIN1 = _LATIN1_GSM.encode("latin-1")
_EXT_BYTES = GSM7_EXTENSION.replace("€", "").encode("latin-1")
_GREEK_STAND_IN = str.maketrans(dict.fromkeys(_GREEK, "A"))
_NON_GSM = re.compile("[^" + "".join(sorted(map(re.escape, _GSM_CHARS))) + "]")

# One user-perceived character, except that CR LF counts as two (as the reference does).
_CLUSTER = regex.compile(r"\r|\X")
# Characters that can join a neighbour into one cluster: every "no break" rule of UAX #29 has
# one of these on at least one side (CR LF aside, which we split anyway). Between two other
# characters there is always a boundary, so clusters only need computing around these.
_JOINER_CLASS = (
    r"[\p{GCB=Extend}\p{GCB=ZWJ}\p{GCB=SpacingMark}\p{GCB=Prepend}"
    r"\p{GCB=Regional_Indicator}\p{GCB=L}\p{GCB=V}\p{GCB=T}]"
)


@cache
def _joiners() -> frozenset[str]:
    """Every joining character, read once from the `regex` module's own Unicode tables.

    Joining characters exist only in planes 0, 1 and 14 (planes 2-3 hold CJK ideographs, 15-16
    private use), so only those are scanned; it takes a few tens of milliseconds, once.
    """
    codepoints = array("I", range(0, 0xD800))
    codepoints.extend(range(0xE000, 0x20000))
    codepoints.extend(range(0xE0000, 0xE1000))
    every = codepoints.tobytes().decode("utf-32-le")
    return frozenset(regex.findall(_JOINER_CLASS, every))


def warm_up() -> None:
    """Build the Unicode table the first non-GSM text needs (a few tens of milliseconds), so
    that an app can pay for it at start-up, off its UI thread, rather than on a keystroke."""
    _joiners()


@dataclass(frozen=True)
class Analysis:
    """What a text costs as an SMS. Immutable; ``segments`` join back to ``text``."""

    text: str
    requested_encoding: str  # "AUTO" | "GSM7" | "UCS2", as asked
    encoding: str  # "GSM7" | "UCS2", the one that will be used
    units: int  # septets (GSM7) or UTF-16 code units (UCS2)
    segments: tuple[str, ...]  # the text of each SMS segment, in order
    segment_units: tuple[int, ...]  # units used by each segment
    segment_count: int
    per_segment: int  # capacity of each segment: 160/153 septets or 70/67 units
    remaining: int  # units left in the last segment before another one is needed
    non_gsm: tuple[str, ...]  # distinct user-perceived characters outside GSM-7, first seen first
    unencodable: tuple[str, ...]  # for a forced GSM7: the characters GSM-7 cannot carry

    @property
    def capacity(self) -> int:
        """Units the current number of segments can hold (at least one segment's worth)."""
        return self.per_segment * max(1, self.segment_count)

    @property
    def unit_name(self) -> str:
        return "septets" if self.encoding == "GSM7" else "UCS-2 code units"

    @property
    def is_gsm7(self) -> bool:
        return self.encoding == "GSM7"

    @cached_property
    def non_gsm_positions(self) -> tuple[tuple[int, str], ...]:
        """Every occurrence of a non-GSM character as ``(index in text, character)``, in order."""
        return _non_gsm_occurrences(self.text)


@dataclass(frozen=True)
class Replacement:
    """One smart replacement: ``original``, at ``index`` in the original text, became
    ``replacement``."""

    index: int
    original: str
    replacement: str


@dataclass(frozen=True)
class Saving:
    """What smart replacement would change: the new text, and both analyses."""

    text: str
    replacements: tuple[Replacement, ...]
    before: Analysis
    after: Analysis

    @property
    def segments_saved(self) -> int:
        return self.before.segment_count - self.after.segment_count

    @property
    def count(self) -> int:
        """How many characters would be replaced."""
        return len(self.replacements)

    @property
    def worthwhile(self) -> bool:
        """True when replacing gains something: fewer segments, GSM-7, or fewer '?'."""
        return bool(self.summary)

    @cached_property
    def summary(self) -> str:
        """A sentence for the meter, or "" when replacing would not help."""
        before, after, k, saved = self.before, self.after, self.count, self.segments_saved
        if not k:
            return ""
        them = "them" if k > 1 else "it"
        saving = f" and save {_plural(saved, 'segment')}" if saved > 0 else ""
        if before.unencodable and len(after.unencodable) < len(before.unencodable):
            return (
                f"{_plural(k, 'character')} cannot be sent in GSM-7 and would arrive as '?': "
                f"replace {them} with GSM-7 equivalents{saving}."
            )
        if before.encoding == "UCS2" and after.encoding == "GSM7":
            force = "force" if k > 1 else "forces"
            if saved > 0:
                return f"{_plural(k, 'character')} {force} UCS-2: replace {them}{saving}."
            return (
                f"{_plural(k, 'character')} {force} UCS-2: replace {them} to send GSM-7 "
                f"({GSM7_SINGLE} characters per SMS instead of {UCS2_SINGLE})."
            )
        if saved > 0:
            still = len(after.non_gsm)
            rest = (
                f"; {_plural(still, 'other character')} still need UCS-2"
                if after.encoding == "UCS2" and still
                else ""
            )
            replaced = _plural(k, "typographic character")
            return f"Replacing {replaced} saves {_plural(saved, 'segment')}{rest}."
        return ""


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def normalize_encoding(encoding: str) -> str:
    """``"auto"``/``"gsm7"``/``"ucs2"`` (any case) to the API's spelling, else InvalidInput."""
    value = (encoding or "").strip().upper().replace("-", "")
    if value not in ENCODINGS:
        raise InvalidInput(
            f"Unknown encoding {encoding!r}: use AUTO, GSM7 or UCS2."
        )
    return value


def analyze(text: str, encoding: str = "AUTO") -> Analysis:
    """Analyse ``text`` as it would be sent with ``encoding`` (``AUTO``, ``GSM7`` or ``UCS2``)."""
    requested = encoding if encoding in ENCODINGS else normalize_encoding(encoding)
    n = len(text)
    if not n:
        single = UCS2_SINGLE if requested == "UCS2" else GSM7_SINGLE
        encoding = "UCS2" if requested == "UCS2" else "GSM7"
        return _result(text, requested, encoding, (), (), single, single)
    data = _gsm_bytes(text)
    if data is not None and requested != "UCS2":
        return _analyze_gsm(text, data, requested)
    return _analyze_general(text, requested, all_gsm=data is not None)


# --- GSM-7 fast path: everything is bytes, one per character ---------------------------------


def _gsm_bytes(text: str) -> bytes | None:
    """``text`` as one byte per character when it is entirely GSM-7, else None."""
    if text.isascii():
        data = text.encode("ascii")
    else:
        if "€" in text:
            text = text.replace("€", "|")
        try:
            data = text.encode("latin-1")
        except UnicodeEncodeError:
            if not _GSM_CHARS.issuperset(text):  # stops at the first character outside GSM-7
                return None
            data = text.translate(_GREEK_STAND_IN).encode("latin-1")
    return None if data.translate(None, _GSM_LATIN1) else data


def _septets(piece: bytes, _ext: bytes = _EXT_BYTES) -> int:
    """Septets of GSM bytes: one each, plus one more for each extension character."""
    return 2 * len(piece) - len(piece.translate(None, _ext))


def _fit_septets(
    data: bytes, start: int, cap: int, n: int, _ext: bytes = _EXT_BYTES
) -> tuple[int, int]:
    """The longest run of characters from ``start`` fitting in ``cap`` septets: (end, septets)."""
    end = start + cap
    if end > n:
        end = n
    piece = data[start:end]
    used = 2 * len(piece) - len(piece.translate(None, _ext))
    if used > cap:
        # Every character costs at most 2, so dropping the excess in characters is enough...
        cut = end - (used - cap)
        piece = data[cut:end]
        used -= 2 * len(piece) - len(piece.translate(None, _ext))
        end = cut
    # ...and may drop a little too much: take characters back while they fit.
    while used < cap and end < n:
        piece = data[end : end + ((cap - used) >> 1 or 1)]
        more = 2 * len(piece) - len(piece.translate(None, _ext))
        if used + more > cap:
            break
        end += len(piece)
        used += more
    return end, used


def _analyze_gsm(text: str, data: bytes, requested: str) -> Analysis:
    n = len(data)
    units = _septets(data)
    if units <= GSM7_SINGLE:
        return _result(text, requested, "GSM7", (text,), (units,), GSM7_SINGLE, GSM7_SINGLE)
    # GSM-7 characters never join into clusters and cost at most 2, so the reference's
    # "fill 160, add the header, push the tail on" is exactly greedy packing at 153.
    cuts = [0]
    sizes = []
    start = 0
    while start < n:
        start, used = _fit_septets(data, start, GSM7_MULTI, n)
        cuts.append(start)
        sizes.append(used)
    segments = tuple([text[a:b] for a, b in pairwise(cuts)])
    return _result(text, requested, "GSM7", segments, tuple(sizes), GSM7_SINGLE, GSM7_MULTI)


# --- Everything else: UCS-2, or GSM-7 forced on text it cannot carry ---------------------------


def _non_gsm_in_order(text: str) -> list[str]:
    """The distinct code points of ``text`` outside GSM-7, in order of first appearance."""
    return list(dict.fromkeys(_NON_GSM.findall(text)))


def _find_all(text: str, ch: str) -> list[int]:
    found = []
    at = text.find(ch)
    while at != -1:
        found.append(at)
        at = text.find(ch, at + 1)
    return found


def _positions_of(text: str, chars: list[str], memo: dict[str, list[int]]) -> list[int]:
    """Every index of any of ``chars``, in order; ``memo`` keeps each character's list."""
    lists = []
    for ch in chars:
        found = memo.get(ch)
        if found is None:
            found = memo[ch] = _find_all(text, ch)
        lists.append(found)
    if len(lists) == 1:
        return lists[0]
    return sorted([at for found in lists for at in found])


def _multi_clusters(
    text: str, non_gsm: list[str], memo: dict[str, list[int]] | None = None
) -> tuple[list[int], list[int]]:
    """Starts and ends of every cluster longer than one code point, in order.

    Only joining characters (all outside GSM-7) make clusters longer than one, so the clusters
    are computed only around them, starting from a boundary known from context.
    """
    joiners = _joiners()
    present = [ch for ch in non_gsm if ch in joiners]
    if not present:
        return [], []
    positions = _positions_of(text, present, {} if memo is None else memo)
    if len(positions) * 6 > len(text):
        # Joiners everywhere (an Indic script, a wall of emoji): one pass in C is cheaper.
        return _all_multi_clusters(text)
    starts: list[int] = []
    ends: list[int] = []
    covered = 0
    match = _CLUSTER.match
    for at in positions:
        if at < covered:
            continue
        # A cluster boundary lies just before `at - 1`: the character there is no joiner (every
        # joiner comes earlier in `positions` and is covered), and neither is the one before
        # it unless it was covered, in which case `covered` is that boundary.
        start = at - 1 if at > covered else covered
        while True:
            end = match(text, start).end()
            if end - start > 1:
                starts.append(start)
                ends.append(end)
            start = end
            if end > at:
                break
        covered = start
    return starts, ends


def _all_multi_clusters(text: str) -> tuple[list[int], list[int]]:
    lengths = list(map(len, _CLUSTER.findall(text)))
    bounds = list(accumulate(lengths))
    ends = [end for end, length in zip(bounds, lengths, strict=True) if length > 1]
    starts = [end - length for end, length in zip(bounds, lengths, strict=True) if length > 1]
    return starts, ends


def _first_alone(text: str, ch: str, starts: list[int], ends: list[int]) -> int:
    """Index of the first occurrence of ``ch`` that is not inside a longer cluster, or -1."""
    at = text.find(ch)
    while at != -1:
        i = bisect_right(starts, at) - 1
        if i < 0 or ends[i] <= at:
            return at
        at = text.find(ch, ends[i])
    return -1


def _outside_clusters(text: str, starts: list[int], ends: list[int]) -> str:
    return "".join([text[b:a] for b, a in zip([0, *ends], [*starts, len(text)], strict=True)])


def _distinct_non_gsm(
    text: str, non_gsm: list[str], starts: list[int], ends: list[int]
) -> tuple[str, ...]:
    if not starts:
        return tuple(non_gsm)
    # Built backwards so that a cluster seen several times keeps its first position.
    clusters = [text[a:b] for a, b in zip(starts, ends, strict=True)]
    first = dict(zip(reversed(clusters), reversed(starts), strict=True))
    rest = _outside_clusters(text, starts, ends)
    for ch in non_gsm:
        if ch in rest:
            first.setdefault(ch, _first_alone(text, ch, starts, ends))
    return tuple(sorted(first, key=first.__getitem__))


def _non_gsm_occurrences(text: str) -> tuple[tuple[int, str], ...]:
    non_gsm = _non_gsm_in_order(text)
    if not non_gsm:
        return ()
    starts, ends = _multi_clusters(text, non_gsm)
    found = [(a, text[a:b]) for a, b in zip(starts, ends, strict=True)]
    for ch in non_gsm:
        for at in _find_all(text, ch):
            i = bisect_right(starts, at) - 1
            if i < 0 or ends[i] <= at:
                found.append((at, ch))
    found.sort()
    return tuple(found)


def _result(
    text: str,
    requested: str,
    encoding: str,
    segments: tuple[str, ...],
    sizes: tuple[int, ...],
    single: int,
    multi: int,
    non_gsm: tuple[str, ...] = (),
    unencodable: tuple[str, ...] = (),
) -> Analysis:
    per_segment = single if len(segments) <= 1 else multi
    return Analysis(
        text=text,
        requested_encoding=requested,
        encoding=encoding,
        units=sum(sizes),
        segments=segments,
        segment_units=sizes,
        segment_count=len(segments),
        per_segment=per_segment,
        remaining=max(0, per_segment - sizes[-1]) if sizes else per_segment,
        non_gsm=non_gsm,
        unencodable=unencodable,
    )


def _analyze_general(text: str, requested: str, *, all_gsm: bool) -> Analysis:
    n = len(text)
    non_gsm_chars = [] if all_gsm else _non_gsm_in_order(text)
    positions: dict[str, list[int]] = {}
    starts, ends = _multi_clusters(text, non_gsm_chars, positions) if non_gsm_chars else ([], [])
    non_gsm = _distinct_non_gsm(text, non_gsm_chars, starts, ends)
    if requested == "GSM7":
        # 8x8 sends each code point GSM-7 lacks as one '?', so count it as that septet.
        encoding, single, multi, unencodable = "GSM7", GSM7_SINGLE, GSM7_MULTI, non_gsm
        table = dict.fromkeys(map(ord, non_gsm_chars), "?")
        table.update(_GREEK_STAND_IN)
        table[ord("€")] = "|"
        data = text.translate(table).encode("latin-1")
        units = _septets(data)
    else:
        encoding, single, multi, unencodable = "UCS2", UCS2_SINGLE, UCS2_MULTI, ()
        data = b""
        units = len(text.encode("utf-16-le", "surrogatepass")) >> 1
    if units <= single:
        return _result(
            text, requested, encoding, (text,), (units,), single, multi, non_gsm, unencodable
        )
    if requested == "GSM7":
        cost, fit = _gsm7_measures(data, n)
    elif units - n > 64:  # many characters outside the BMP: let the codec count them
        cost, fit = _utf16_measures(text, units)
    else:
        wide = _positions_of(text, [ch for ch in non_gsm_chars if ch > "\uffff"], positions)
        cost, fit = _ucs2_measures(wide, n, units)
    cuts = _cuts(n, multi, single, cost, fit, starts, ends)
    segments = tuple([text[a:b] for a, b in pairwise(cuts)])
    sizes = tuple([cost(a, b) for a, b in pairwise(cuts)])
    return _result(text, requested, encoding, segments, sizes, single, multi, non_gsm, unencodable)


def _gsm7_measures(
    data: bytes, n: int
) -> tuple[Callable[[int, int], int], Callable[[int, int], int]]:
    """Septets of a slice, and the furthest end fitting a budget, over one byte per character."""

    def cost(a: int, b: int) -> int:
        return _septets(data[a:b])

    def fit(start: int, cap: int) -> int:
        return _fit_septets(data, start, cap, n)[0]

    return cost, fit


def _ucs2_measures(
    wide: list[int], n: int, units: int
) -> tuple[Callable[[int, int], int], Callable[[int, int], int]]:
    """UTF-16 length of a slice, and the furthest end fitting a budget, given the indexes of
    the characters outside the BMP (2 code units each)."""
    if not wide:

        def cost(a: int, b: int) -> int:
            return b - a

        def fit(start: int, cap: int) -> int:
            return min(n, start + cap)

        return cost, fit

    # past[j]: the code unit offset just after the j-th wide character.
    past = [at + j + 2 for j, at in enumerate(wide)]

    def cost(a: int, b: int) -> int:
        return b - a + bisect_left(wide, b) - bisect_left(wide, a)

    def fit(start: int, cap: int) -> int:
        target = start + bisect_left(wide, start) + cap
        if target >= units:
            return n
        # Each wide character wholly before the target leaves room for one character less...
        whole = bisect_right(past, target)
        end = target - whole
        # ...and one straddling the target must wait for the next segment.
        if whole < len(wide) and wide[whole] == end - 1:
            end -= 1
        return end

    return cost, fit


def _utf16_measures(
    text: str, units: int
) -> tuple[Callable[[int, int], int], Callable[[int, int], int]]:
    """Like _ucs2_measures, but each call encodes the slice it needs: no per-character work."""
    n = len(text)
    utf16 = text.encode("utf-16-le", "surrogatepass")
    known = [0, 0]  # the last (index, code unit offset) worked out: segments come in order

    def cost(a: int, b: int) -> int:
        return len(text[a:b].encode("utf-16-le", "surrogatepass")) >> 1

    def fit(start: int, cap: int) -> int:
        index, offset = known
        offset = offset + cost(index, start) if start >= index else cost(0, start)
        known[:] = start, offset
        window = utf16[2 * offset : 2 * (offset + cap)]
        if len(window) < 2 * cap:
            return n
        if 0xD8 <= window[-1] <= 0xDB:  # a surrogate pair straddles the end: it waits
            window = window[:-2]
        return start + len(window.decode("utf-16-le", "surrogatepass"))

    return cost, fit


def _cuts(
    n: int,
    multi: int,
    single: int,
    cost: Callable[[int, int], int],
    fit: Callable[[int, int], int],
    starts: list[int],
    ends: list[int],
) -> list[int]:
    """Segment boundaries (0 first, n last) of a text longer than one segment."""

    def boundary_at_or_before(at: int) -> int:
        if starts:
            i = bisect_right(starts, at - 1) - 1
            if i >= 0 and ends[i] > at:
                return starts[i]
        return at

    def cluster_end(at: int) -> int:
        i = bisect_left(starts, at)
        return ends[i] if i < len(starts) and starts[i] == at else at + 1

    # Segment 1 keeps what fits in `multi` once the header is in; the clusters it pushes out go
    # to segment 2 with the one that overflowed the single segment, even if they overfill it.
    kept = boundary_at_or_before(fit(0, multi))
    cuts = [0, kept]
    if starts:
        pushed_to = cluster_end(boundary_at_or_before(fit(0, single)))
        if kept == 0 or cost(kept, pushed_to) > multi:
            cuts.append(pushed_to)
    start = cuts[-1]
    while start < n:
        end = boundary_at_or_before(fit(start, multi))
        if end == start:  # one cluster larger than a segment: it travels alone
            end = cluster_end(start)
        cuts.append(end)
        start = end
    return cuts


# --- Smart replacement ---------------------------------------------------------------------

_SMART_MAP: dict[str, str] = {
    # single quotes, apostrophes, primes
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u2035": "'",
    "\u02bc": "'", "\u02b9": "'", "\u00b4": "'", "`": "'", "\u2039": "'", "\u203a": "'",
    # double quotes, double primes
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u2036": '"',
    "\u00ab": '"', "\u00bb": '"', "\u02ba": '"', "\u301d": '"', "\u301e": '"',
    "\u2034": "'''",
    # hyphens, dashes, minus
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\ufe58": "-", "\ufe63": "-",
    # dots
    "\u2026": "...", "\u2024": ".", "\u2025": "..",
    # bullets
    "\u2022": "-", "\u2023": "-", "\u2043": "-", "\u25e6": "-", "\u2219": "-",
    # spaces: no-break, typographic widths, ideographic
    "\u00a0": " ", "\u1680": " ", "\u2000": " ", "\u2001": " ", "\u2002": " ", "\u2003": " ",
    "\u2004": " ", "\u2005": " ", "\u2006": " ", "\u2007": " ", "\u2008": " ", "\u2009": " ",
    "\u200a": " ", "\u202f": " ", "\u205f": " ", "\u3000": " ", "\t": " ",
    # invisible: zero-width space, non-joiner, word joiner, BOM, soft hyphen, direction marks
    "\u200b": "", "\u200c": "", "\u2060": "", "\ufeff": "", "\u00ad": "", "\u200e": "",
    "\u200f": "",
    # line breaks GSM-7 lacks
    "\u2028": "\n", "\u2029": "\n", "\x0b": "\n", "\x85": "\n",
    # punctuation and signs with a plain spelling
    "\u203c": "!!", "\u2047": "??", "\u2048": "?!", "\u2049": "!?", "\u2044": "/",
    "\u2215": "/", "\u00f7": "/", "\u00d7": "x", "\u00bc": "1/4", "\u00bd": "1/2",
    "\u00be": "3/4", "\u2122": "TM", "\u00a9": "(c)", "\u00ae": "(R)",
}  # fmt: skip
# Full-width forms of ASCII (U+FF01..U+FF5E) are the ASCII character drawn wider.
for _cp in range(0xFF01, 0xFF5F):
    _ascii = chr(_cp - 0xFEE0)
    _SMART_MAP[chr(_cp)] = _SMART_MAP.get(_ascii, _ascii)
del _cp, _ascii

# A Latin letter followed by combining accents (e.g. "e" + U+0301) may compose to a GSM-7 letter.
_SMART_RE = re.compile(
    "([A-Za-z][\u0300-\u036f]+)|[" + "".join(re.escape(ch) for ch in _SMART_MAP) + "]"
)


def smart_replace(text: str) -> tuple[str, list[Replacement]]:
    """Replace typographic characters that have a faithful GSM-7 equivalent.

    Curly quotes, primes, dashes, ellipsis, bullets, Unicode spaces, invisible format characters,
    full-width forms, and letters written with combining accents that compose to a GSM-7 letter
    ("e" + U+0301 -> "é"). Returns the new text and what was replaced where (``index`` is the
    position in the original text).
    """
    replacements: list[Replacement] = []
    pieces: list[str] = []
    last = 0
    for found in _SMART_RE.finditer(text):
        original = found.group()
        if found.group(1) is not None:
            composed = unicodedata.normalize("NFC", original)
            if composed not in _GSM_CHARS:
                continue
            replacement = composed
        else:
            replacement = _SMART_MAP[original]
        at = found.start()
        replacements.append(Replacement(at, original, replacement))
        pieces.append(text[last:at])
        pieces.append(replacement)
        last = found.end()
    if not replacements:
        return text, []
    pieces.append(text[last:])
    return "".join(pieces), replacements


def replacement_saving(
    text: str, encoding: str = "AUTO", *, before: Analysis | None = None
) -> Saving:
    """What :func:`smart_replace` would gain for ``text`` sent with ``encoding``.

    Pass ``before`` (the analysis of ``text`` already made) to avoid analysing it twice.
    """
    if before is None or before.text != text:
        before = analyze(text, encoding)
    new_text, replacements = smart_replace(text)
    after = analyze(new_text, before.requested_encoding) if replacements else before
    return Saving(new_text, tuple(replacements), before, after)


def describe_character(cluster: str) -> str:
    """``"U+00A0 NO-BREAK SPACE"``; for a cluster, each code point joined with ``" + "``."""
    return " + ".join(
        f"U+{ord(ch):04X} {unicodedata.name(ch, _fallback_name(ch))}" for ch in cluster
    )


def _fallback_name(ch: str) -> str:
    category = unicodedata.category(ch)
    if category == "Cc":
        return "CONTROL CHARACTER"
    return "UNNAMED CHARACTER"


def is_visible(cluster: str) -> bool:
    """False for a cluster a person could not see or tell apart from a plain space."""
    return not all(
        unicodedata.category(ch) in ("Zs", "Zl", "Zp", "Cc", "Cf", "Mn", "Me", "Co", "Cn", "Cs")
        for ch in cluster
    )

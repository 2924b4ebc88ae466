"""The GSM-7/UCS-2 engine: exact agreement with the reference calculator, and its invariants."""

from __future__ import annotations

import dataclasses
import unicodedata

import pytest
import regex
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sms_tui.encoding import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    Analysis,
    analyze,
    normalize_encoding,
    replacement_saving,
    smart_replace,
)
from sms_tui.errors import InvalidInput

# --- An independent model of the reference calculator ------------------------------------
#
# A line-by-line transcription of Twilio's sms-segments-calculator (SegmentedMessage,
# EncodedChar, Segment, UserDataHeader): sizes in bits, 140-octet segments, a 6-octet header,
# the first segment filled to the brim before the header pushes its tail on. Its code-point
# table is typed in here again from the reference (UnicodeToGSM.ts), not taken from the module
# under test. Graphemes come from `regex` \X (current UAX #29), with CR LF split in two as the
# reference does. Forced GSM7 on unencodable text (an error in the reference) is modelled as
# 8x8's '?': one septet per code point GSM-7 lacks.

REFERENCE_GSM = {
    **{cp: 1 for cp in (0x0A, 0x0D, *range(0x20, 0x5B), 0x5F, *range(0x61, 0x7B))},
    **{cp: 1 for cp in (0xA1, 0xA3, 0xA4, 0xA5, 0xA7, 0xBF, 0xC4, 0xC5, 0xC6, 0xC7, 0xC9)},
    **{cp: 1 for cp in (0xD1, 0xD6, 0xD8, 0xDC, 0xDF, 0xE0, 0xE4, 0xE5, 0xE6, 0xE8, 0xE9)},
    **{cp: 1 for cp in (0xEC, 0xF1, 0xF2, 0xF6, 0xF8, 0xF9, 0xFC)},
    **{cp: 1 for cp in (0x393, 0x394, 0x398, 0x39B, 0x39E, 0x3A0, 0x3A3, 0x3A6, 0x3A8, 0x3A9)},
    **{cp: 2 for cp in (0x0C, 0x5B, 0x5C, 0x5D, 0x5E, 0x7B, 0x7C, 0x7D, 0x7E, 0x20AC)},
}
GRAPHEME = regex.compile(r"\X")
SEGMENT_BITS, HEADER_BITS = 1120, 48


def reference_graphemes(text: str) -> list[str]:
    out: list[str] = []
    for g in GRAPHEME.findall(text):
        out.extend(["\r", "\n"] if g == "\r\n" else [g])
    return out


def utf16_len(s: str) -> int:
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def reference(text: str, encoding: str = "AUTO") -> tuple[str, int, list[str]]:
    """(encoding, units, segment texts) as the reference calculator computes them."""
    graphemes = reference_graphemes(text)
    is_gsm = [len(g) == 1 and ord(g) in REFERENCE_GSM for g in graphemes]
    if encoding == "AUTO":
        encoding = "GSM7" if all(is_gsm) else "UCS2"
    sizes = []
    for g, gsm in zip(graphemes, is_gsm, strict=True):
        if encoding == "UCS2":
            sizes.append(16 if gsm else 16 * utf16_len(g))
        else:
            sizes.append(7 * sum(REFERENCE_GSM.get(ord(ch), 1) for ch in g))
    segments: list[list[tuple[str, int]]] = [[]]
    used = [0]
    has_header = [False]
    for g, bits in zip(graphemes, sizes, strict=True):
        if SEGMENT_BITS - used[-1] < bits:
            segments.append([])
            used.append(HEADER_BITS)
            has_header.append(True)
            if not has_header[-2]:  # Segment.addHeader() on the previous segment
                used[-2] += HEADER_BITS
                left: list[tuple[str, int]] = []
                while SEGMENT_BITS - used[-2] < 0:
                    item = segments[-2].pop()
                    used[-2] -= item[1]
                    left.insert(0, item)
                for item in left:
                    segments[-1].append(item)
                    used[-1] += item[1]
        segments[-1].append((g, bits))
        used[-1] += bits
    unit_bits = 7 if encoding == "GSM7" else 16
    units = sum(sizes) // unit_bits
    texts = ["".join(g for g, _ in seg) for seg in segments] if graphemes else []
    return encoding, units, texts


def assert_agrees(text: str, encoding: str = "AUTO") -> Analysis:
    result = analyze(text, encoding)
    expected_encoding, expected_units, expected_segments = reference(text, encoding)
    assert (result.encoding, result.units, list(result.segments)) == (
        expected_encoding,
        expected_units,
        expected_segments,
    ), f"disagrees with the reference on {text!r} ({encoding})"
    return result


# --- The tables -------------------------------------------------------------------------


def test_alphabet_is_the_reference_table():
    assert {ord(ch) for ch in GSM7_BASIC + GSM7_EXTENSION} == set(REFERENCE_GSM)
    assert {ord(ch) for ch in GSM7_EXTENSION} == {cp for cp, n in REFERENCE_GSM.items() if n == 2}
    assert len(GSM7_BASIC) == 127  # 128 positions less ESC, which no one can type
    assert "\x1b" not in GSM7_BASIC


def test_every_gsm_character_alone_is_gsm7_and_costs_its_septets():
    for ch in GSM7_BASIC:
        a = analyze(ch)
        assert (a.encoding, a.units, a.non_gsm) == ("GSM7", 1, ()), repr(ch)
    for ch in GSM7_EXTENSION:
        a = analyze(ch)
        assert (a.encoding, a.units) == ("GSM7", 2), repr(ch)


@pytest.mark.parametrize(
    "ch", ["`", "\x1b", "\t", "\x00", "\x7f", "á", "ç", "ω", "’", "\u00a0", "₹"]
)
def test_lookalikes_and_controls_force_ucs2(ch):
    a = analyze(f"abc{ch}def")
    assert a.encoding == "UCS2"
    assert a.non_gsm == (ch,)


# --- Examples from the reference's own test suite ------------------------------------------

DIGITS = "1234567890" * 40


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        (DIGITS[:160], "GSM7", 1),
        (DIGITS[:161], "GSM7", 2),
        (DIGITS[:307], "GSM7", 3),
        ("😜" + DIGITS[1:69], "UCS2", 1),
        ("😜" + DIGITS[1:70], "UCS2", 2),
        ("😜" + DIGITS[1:134], "UCS2", 3),
        ("🇮🇹" + DIGITS[1:67], "UCS2", 1),
        ("🇮🇹" + DIGITS[1:68], "UCS2", 2),
        ("🏳️\u200d🌈" + DIGITS[1:65], "UCS2", 1),
        ("🏳️\u200d🌈" + DIGITS[1:66], "UCS2", 2),
        ("😀" + "]" * 68, "UCS2", 1),
        ("😀" + "]" * 69, "UCS2", 2),
        ("e\u0301\u0301\u0301" + "a" * 66, "UCS2", 1),
        ("e\u0301\u0301\u0301" + "a" * 67, "UCS2", 2),
        ("]" * 153, "GSM7", 3),  # 76 escape pairs fill each 153-septet segment
        ("é" * 70, "GSM7", 1),
        ("e\u0301" * 70, "UCS2", 3),
        ("a" * 80 + "\r\n" + "a" * 79, "GSM7", 2),
        ("a" * 80 + "\n" + "a" * 79, "GSM7", 1),
        ("中" * 70, "UCS2", 1),
        ("中" * 71, "UCS2", 2),
    ],
)
def test_reference_examples(text, encoding, segments):
    a = assert_agrees(text)
    assert (a.encoding, a.segment_count) == (encoding, segments)


@pytest.mark.parametrize("ch", list("|^€{}[]~\\"))
def test_escape_characters_at_the_single_segment_limit(ch):
    one = analyze(ch + DIGITS[:158])
    assert (one.units, one.segment_count, one.remaining) == (160, 1, 0)
    two = analyze(ch + DIGITS[:159])
    assert (two.units, two.segment_count, two.segment_units) == (161, 2, (153, 8))


# --- Boundaries ---------------------------------------------------------------------------


def test_empty_text():
    a = analyze("")
    assert (a.encoding, a.units, a.segments, a.segment_count) == ("GSM7", 0, (), 0)
    assert (a.per_segment, a.remaining, a.non_gsm, a.unencodable) == (160, 160, (), ())
    forced = analyze("", "UCS2")
    assert (forced.encoding, forced.per_segment, forced.remaining) == ("UCS2", 70, 70)


def test_exactly_160_septets_with_extension_characters_is_one_segment():
    text = "€" * 10 + "a" * 140
    a = assert_agrees(text)
    assert (a.units, a.segment_count, a.per_segment, a.remaining) == (160, 1, 160, 0)


@pytest.mark.parametrize("at", [151, 152, 153, 154])
def test_extension_character_never_splits_from_its_escape(at):
    # `at` septets of 'a' first, then '€' (ESC + e) and enough to need a second segment.
    a = assert_agrees("a" * at + "€" + "b" * 20)
    first = a.segments[0]
    assert a.segment_units[0] == (at + 2 if at + 2 <= 153 else min(at, 153))
    assert first.endswith("€") == (at + 2 <= 153)


def test_extension_character_straddling_septet_153_moves_whole():
    a = assert_agrees("a" * 152 + "{" + "b" * 10)
    assert a.segments[0] == "a" * 152
    assert a.segment_units == (152, 12)
    assert a.segments[1].startswith("{")


def test_extension_character_at_septet_160_of_a_single_segment():
    assert analyze("a" * 158 + "~").segment_count == 1
    a = assert_agrees("a" * 159 + "~")
    assert a.segment_units == (153, 8)


def test_surrogate_pair_is_never_split():
    a = assert_agrees("a" * 66 + "😀" + "b" * 10)
    assert a.segments[0] == "a" * 66
    assert a.segments[1].startswith("😀")
    assert a.segment_units == (66, 12)


@pytest.mark.parametrize(
    "cluster",
    ["👍🏽", "👨\u200d👩\u200d👧\u200d👦", "🇸🇬", "e\u0301", "a\u0308\u0323", "❤️\u200d🔥", "क्षि"],
)
@pytest.mark.parametrize("before", [60, 64, 65, 66, 67, 68, 69])
def test_grapheme_cluster_straddling_67_or_70_moves_whole(cluster, before):
    text = "ü" * before + cluster + "z" * 30  # ü is GSM-7 but the cluster forces UCS-2
    a = assert_agrees(text)
    assert cluster in a.segments[0] or cluster in a.segments[1]
    assert all(len(seg) == 0 or seg.count(cluster[0]) == seg.count(cluster) for seg in a.segments)


@pytest.mark.parametrize("units", [69, 70, 71, 133, 134, 135, 136])
def test_ucs2_lengths_near_limits(units):
    a = assert_agrees("中" + "x" * (units - 1))
    assert a.units == units
    expected = 1 if units <= 70 else -(-units // 67)
    assert a.segment_count == expected


@pytest.mark.parametrize("septets", [152, 153, 154, 159, 160, 161, 305, 306, 307, 459, 460])
def test_gsm_lengths_near_limits(septets):
    a = assert_agrees("x" * septets)
    expected = 1 if septets <= 160 else -(-septets // 153)
    assert a.segment_count == expected


def test_crlf_counts_two_and_can_be_split_between_segments():
    a = assert_agrees("a" * 152 + "\r\n" + "b" * 10)
    assert a.units == 164
    assert a.segments[0].endswith("\r")
    assert a.segments[1].startswith("\n")


def test_lone_combining_mark_after_a_line_break_is_its_own_character():
    a = assert_agrees("ok\n\u0301")
    assert a.non_gsm == ("\u0301",)


@pytest.mark.parametrize(
    "text",
    [
        "😀" * 100 + "a" + "👍🏽" * 30 + "🇸🇬" * 20 + "x",  # many characters outside the BMP
        ("नमस्ते, आपका ऑर्डर भेज दिया गया है। क्षत्रिय " * 12),  # joiners everywhere
        "e\u0301" * 200,
        "👨\u200d👩\u200d👧\u200d👦 " * 40,
    ],
)
def test_dense_texts_take_the_bulk_paths_and_still_agree(text):
    a = assert_agrees(text)
    assert a.segment_count > 2


# --- The reference's handling of clusters larger than a segment ---------------------------


def test_cluster_larger_than_a_segment_travels_alone():
    zalgo = "e" + "\u0301" * 80
    a = assert_agrees("x" + zalgo + "abc")
    assert a.segments == ("x", zalgo, "abc")
    assert a.segment_units == (1, 81, 3)


def test_leading_cluster_larger_than_a_segment_leaves_segment_one_empty():
    zalgo = "e" + "\u0301" * 75
    a = assert_agrees(zalgo + "abc")
    assert a.segments == ("", zalgo, "abc")
    assert a.remaining == 64


def test_pushed_tail_can_overfill_segment_two():
    big = "e" + "\u0301" * 66  # 67 units: fits a segment on its own
    a = assert_agrees("x" + big + "ab" + "c" * 10)
    # "x" + big + "ab" filled the 70 units of a lone segment; "c" overflowed it, so segment 1
    # keeps "x" and pushes big + "ab" on, followed by "c": 70 units in a 67-unit segment.
    assert a.segments[:2] == ("x", big + "abc")
    assert a.segment_units[:2] == (1, 70)


# --- Forced encodings ----------------------------------------------------------------------


def test_forced_ucs2_on_gsm_text():
    a = assert_agrees("Hello {world}", "UCS2")
    assert (a.encoding, a.units, a.per_segment, a.non_gsm) == ("UCS2", 13, 70, ())
    long = assert_agrees("a" * 71, "UCS2")
    assert long.segment_units == (67, 4)


def test_forced_gsm7_on_gsm_text_is_plain_gsm7():
    a = analyze("Hello €", "GSM7")
    assert (a.requested_encoding, a.encoding, a.units, a.unencodable) == ("GSM7", "GSM7", 8, ())


def test_forced_gsm7_counts_each_missing_code_point_as_a_question_mark():
    a = assert_agrees("Hi 😀 ’x’ e\u0301", "GSM7")
    assert a.encoding == "GSM7"
    assert a.unencodable == ("😀", "’", "e\u0301")
    assert a.units == len("Hi ? ?x? e?")


def test_forced_gsm7_long_text_keeps_clusters_whole():
    text = "a" * 152 + "👍🏽" + "b" * 20
    a = assert_agrees(text, "GSM7")
    assert a.segments[0] == "a" * 152
    assert a.segments[1].startswith("👍🏽")


def test_encoding_names_are_checked_and_normalised():
    assert normalize_encoding("ucs-2") == "UCS2"
    assert analyze("x", "gsm7").requested_encoding == "GSM7"
    with pytest.raises(InvalidInput, match="AUTO, GSM7 or UCS2"):
        analyze("x", "UTF8")


# --- The other fields ----------------------------------------------------------------------


def test_non_gsm_lists_user_perceived_characters_in_order_of_first_appearance():
    text = "a’b 👍🏽 ’ e\u0301 😀 👍 🇸🇬 \u00a0"
    a = analyze(text)
    assert a.non_gsm == ("’", "👍🏽", "e\u0301", "😀", "👍", "🇸🇬", "\u00a0")
    assert a.non_gsm_positions == (
        (1, "’"),
        (4, "👍🏽"),
        (7, "’"),
        (9, "e\u0301"),
        (12, "😀"),
        (14, "👍"),
        (16, "🇸🇬"),
        (19, "\u00a0"),
    )


def test_gsm_text_has_no_non_gsm_positions():
    assert analyze("plain {text}").non_gsm_positions == ()


def test_analysis_is_immutable():
    a = analyze("hello")
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.units = 3  # type: ignore[misc]


def test_capacity_and_remaining():
    a = analyze("x" * 200)
    assert (a.per_segment, a.capacity, a.segment_units, a.remaining) == (153, 306, (153, 47), 106)
    assert analyze("x").capacity == 160


def test_greek_capitals_stay_gsm7():
    a = assert_agrees("ΔΦΓΛΩΠΨΣΘΞ " * 20)
    assert (a.encoding, a.units, a.segment_count) == ("GSM7", 220, 2)


# --- Smart replacement ---------------------------------------------------------------------


def test_smart_replace_typographic_characters():
    text = "It’s “quoted” — fine…\u00a0ok • a\u2009b ′ ″ « » ＡＢ\ufeff"
    new, replacements = smart_replace(text)
    assert new == "It's \"quoted\" - fine... ok - a b ' \" \" \" AB"
    assert analyze(new).encoding == "GSM7"
    first = replacements[0]
    assert (first.index, first.original, first.replacement) == (2, "’", "'")
    for r in replacements:
        assert text[r.index : r.index + len(r.original)] == r.original


def test_smart_replace_composes_accents_only_into_gsm_letters():
    new, replacements = smart_replace("cafe\u0301 n\u0303 a\u0301")
    assert new == "café ñ a\u0301"
    assert [(r.index, r.original) for r in replacements] == [(3, "e\u0301"), (6, "n\u0303")]


def test_smart_replace_leaves_gsm_text_and_emoji_alone():
    assert smart_replace("plain [text] €") == ("plain [text] €", [])
    assert smart_replace("👍🏽 ❤️") == ("👍🏽 ❤️", [])


def test_saving_sentence_for_the_meter():
    text = "It’s “great” " + "x" * 130
    saving = replacement_saving(text)
    assert (saving.before.segment_count, saving.after.segment_count) == (3, 1)
    assert saving.segments_saved == 2
    assert saving.summary == "3 characters force UCS-2: replace them and save 2 segments."
    assert saving.worthwhile


def test_saving_when_the_segment_count_stays():
    saving = replacement_saving("It’s ok")
    assert saving.segments_saved == 0
    assert saving.summary.startswith("1 character forces UCS-2: replace it to send GSM-7")


def test_no_saving_when_other_characters_still_force_ucs2():
    saving = replacement_saving("It’s 😀")
    assert saving.after.encoding == "UCS2"
    assert saving.summary == ""
    assert not saving.worthwhile


def test_no_saving_for_gsm_text():
    saving = replacement_saving("all fine")
    assert (saving.count, saving.summary, saving.after) == (0, "", saving.before)


def test_saving_for_forced_gsm7():
    saving = replacement_saving("It’s 😀", "GSM7")
    assert saving.summary.startswith("1 character cannot be sent in GSM-7")


def test_saving_reuses_a_given_analysis():
    before = analyze("It’s", "AUTO")
    assert replacement_saving("It’s", before=before).before is before


# --- Properties ----------------------------------------------------------------------------

ATOMS = [
    *"aZ0 .,@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!?¡¿ÄÖÑÜ§äöñüà\n\r",
    *GSM7_EXTENSION,
    "\r\n",
    "’", "“", "—", "…", "\u00a0", "`", "\t", "中", "á", "ç", "\u200b",
    "😀", "😜", "👍🏽", "👨\u200d👩\u200d👧", "🏳️\u200d🌈", "❤️\u200d🔥", "🇸🇬", "🇯🇵",
    "e\u0301", "a\u0308\u0323", "\u0301", "\U0001F3FD", "\U0001F1F8", "\u200d",
    "\u1100\u1161\u11a8", "\ud55c", "क्षि", "\u0600" "1", "ि",
]  # fmt: skip
LIMITS = [67, 70, 134, 153, 160, 201, 306, 459]


@st.composite
def near_boundary_texts(draw) -> str:
    """A filler run sized to land near a segment limit, with awkward characters sprinkled in."""
    filler = draw(st.sampled_from(["a", "€", "{", "é", "中", "😀", "x\u0301", " "]))
    target = draw(st.sampled_from(LIMITS)) + draw(st.integers(-4, 4))
    per = utf16_len(filler) if filler not in GSM7_BASIC + GSM7_EXTENSION else 1
    count = max(0, target // max(1, per))
    chars = [filler] * count
    for atom in draw(st.lists(st.sampled_from(ATOMS), max_size=6)):
        chars.insert(draw(st.integers(0, len(chars))), atom)
    return "".join(chars)


texts = st.one_of(
    near_boundary_texts(),
    st.lists(st.sampled_from(ATOMS), max_size=200).map("".join),
    st.text(max_size=400),
)
encodings = st.sampled_from(["AUTO", "AUTO", "GSM7", "UCS2"])
fast = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def boundaries(text: str) -> set[int]:
    cuts, at = {0}, 0
    for g in reference_graphemes(text):
        at += len(g)
        cuts.add(at)
    return cuts


@fast
@given(texts, encodings)
@example("a" * 152 + "€" + "b", "AUTO")
@example("中" * 66 + "👍🏽" + "x", "AUTO")
def test_agrees_with_the_reference(text, encoding):
    assert_agrees(text, encoding)


@fast
@given(texts, encodings)
def test_invariants(text, encoding):
    a = analyze(text, encoding)
    assert "".join(a.segments) == text
    assert a.segment_count == len(a.segments) == len(a.segment_units)
    assert sum(a.segment_units) == a.units
    if a.encoding == "UCS2":
        assert a.units == utf16_len(text)
    else:  # a code point GSM-7 lacks counts as the one '?' it becomes
        assert a.units == sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
    if encoding == "AUTO":
        assert (a.encoding == "GSM7") == all(ch in GSM7_BASIC + GSM7_EXTENSION for ch in text)
    single = 160 if a.encoding == "GSM7" else 70
    assert (a.segment_count > 1) == (a.units > single)
    multi = 153 if a.encoding == "GSM7" else 67
    assert a.per_segment == (single if a.segment_count <= 1 else multi)
    assert 0 <= a.remaining <= a.per_segment
    if a.segments:
        assert a.remaining == max(0, a.per_segment - a.segment_units[-1])
    # Cuts fall between user-perceived characters only, so never inside an escape or a pair.
    cut, cuts = 0, boundaries(text)
    for segment in a.segments:
        cut += len(segment)
        assert cut in cuts
    # Each non-GSM entry is a whole character holding something GSM-7 lacks; all are listed.
    gsm = set(GSM7_BASIC + GSM7_EXTENSION)
    assert len(set(a.non_gsm)) == len(a.non_gsm)
    assert all(any(ch not in gsm for ch in cluster) for cluster in a.non_gsm)
    listed = {ch for cluster in a.non_gsm for ch in cluster}
    assert {ch for ch in text if ch not in gsm} == listed - gsm
    assert [c for _, c in a.non_gsm_positions if c not in a.non_gsm] == []
    for index, cluster in a.non_gsm_positions:
        assert text.startswith(cluster, index)


@fast
@given(st.lists(st.sampled_from([a for a in ATOMS if utf16_len(a) <= 8]), max_size=300))
def test_no_segment_exceeds_its_capacity_for_ordinary_characters(atoms):
    a = analyze("".join(atoms))
    assert all(units <= a.per_segment for units in a.segment_units)
    assert all(a.segments)


@fast
@given(texts)
def test_smart_replace_records_every_change(text):
    new, replacements = smart_replace(text)
    rebuilt, last = [], 0
    for r in replacements:
        assert text.startswith(r.original, r.index)
        rebuilt += [text[last : r.index], r.replacement]
        last = r.index + len(r.original)
    assert "".join(rebuilt) + text[last:] == new
    gsm = set(GSM7_BASIC + GSM7_EXTENSION)
    assert all(ch in gsm for r in replacements for ch in r.replacement)
    assert all(any(ch not in gsm for ch in r.original) for r in replacements)


def test_joining_characters_cover_every_plane():
    """The shortcut relies on every joining character being known; check the planes skipped."""
    from sms_tui.encoding import _JOINER_CLASS, _joiners, warm_up

    warm_up()

    rest = "".join(map(chr, range(0x20000, 0xE0000))) + "".join(map(chr, range(0xE1000, 0x110000)))
    assert regex.search(_JOINER_CLASS, rest) is None
    joiners = _joiners()
    assert not joiners & set(GSM7_BASIC + GSM7_EXTENSION)
    assert "\u0301" in joiners and "\u200d" in joiners and "\U0001F1F8" in joiners


def test_module_is_pure():
    import sms_tui.encoding as module

    with open(module.__file__, encoding="utf-8") as file:
        source = file.read()
    for forbidden in ("import textual", "open(", "import os", "print("):
        assert forbidden not in source
    assert unicodedata.unidata_version  # the tables we rely on exist

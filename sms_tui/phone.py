"""Destination numbers, sender ids and the other identifiers 8x8 validates (pure, no I/O)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from sms_tui.errors import InvalidInput

__all__ = [
    "DESTINATION_PATTERN",
    "InvalidNumber",
    "Recipient",
    "RecipientProblem",
    "SenderCheck",
    "check_client_message_id",
    "check_country",
    "check_sender",
    "check_subaccount_id",
    "country_name",
    "parse_number",
    "parse_recipients",
]

# The 8x8 SmsRequest.destination pattern: whatever we accept must also pass it.
DESTINATION_PATTERN = re.compile(r"^\+?[1-9][0-9]{6,14}$")
SUBACCOUNT_PATTERN = re.compile(r"^[A-Za-z0-9\-._&]{3,50}$")
SOURCE_MAX = 16  # SmsRequest.source maxLength
ALPHANUMERIC_SENDER_MAX = 11  # what networks carry in the 7-bit TP-OA field
CLIENT_MESSAGE_ID_MAX = 350  # SmsRequest.clientMessageId maxLength

# English names of every region phonenumbers knows. phonenumbers.geocoder has these too, but
# importing it loads all geocoding data (about 0.4 s), too slow for a screen that validates on
# every keystroke; tests/test_phone.py checks this list against phonenumbers.SUPPORTED_REGIONS.
_NAMES = """\
AC Ascension Island|AD Andorra|AE United Arab Emirates|AF Afghanistan|AG Antigua and Barbuda|
AI Anguilla|AL Albania|AM Armenia|AO Angola|AR Argentina|AS American Samoa|AT Austria|
AU Australia|AW Aruba|AX Åland Islands|AZ Azerbaijan|BA Bosnia and Herzegovina|BB Barbados|
BD Bangladesh|BE Belgium|BF Burkina Faso|BG Bulgaria|BH Bahrain|BI Burundi|BJ Benin|
BL Saint Barthélemy|BM Bermuda|BN Brunei|BO Bolivia|BQ Caribbean Netherlands|BR Brazil|
BS Bahamas|BT Bhutan|BW Botswana|BY Belarus|BZ Belize|CA Canada|CC Cocos (Keeling) Islands|
CD DR Congo|CF Central African Republic|CG Congo|CH Switzerland|CI Côte d'Ivoire|CK Cook Islands|
CL Chile|CM Cameroon|CN China|CO Colombia|CR Costa Rica|CU Cuba|CV Cape Verde|CW Curaçao|
CX Christmas Island|CY Cyprus|CZ Czechia|DE Germany|DJ Djibouti|DK Denmark|DM Dominica|
DO Dominican Republic|DZ Algeria|EC Ecuador|EE Estonia|EG Egypt|EH Western Sahara|ER Eritrea|
ES Spain|ET Ethiopia|FI Finland|FJ Fiji|FK Falkland Islands|FM Micronesia|FO Faroe Islands|
FR France|GA Gabon|GB United Kingdom|GD Grenada|GE Georgia|GF French Guiana|GG Guernsey|GH Ghana|
GI Gibraltar|GL Greenland|GM Gambia|GN Guinea|GP Guadeloupe|GQ Equatorial Guinea|GR Greece|
GT Guatemala|GU Guam|GW Guinea-Bissau|GY Guyana|HK Hong Kong|HN Honduras|HR Croatia|HT Haiti|
HU Hungary|ID Indonesia|IE Ireland|IL Israel|IM Isle of Man|IN India|
IO British Indian Ocean Territory|IQ Iraq|IR Iran|IS Iceland|IT Italy|JE Jersey|JM Jamaica|
JO Jordan|JP Japan|KE Kenya|KG Kyrgyzstan|KH Cambodia|KI Kiribati|KM Comoros|
KN Saint Kitts and Nevis|KP North Korea|KR South Korea|KW Kuwait|KY Cayman Islands|KZ Kazakhstan|
LA Laos|LB Lebanon|LC Saint Lucia|LI Liechtenstein|LK Sri Lanka|LR Liberia|LS Lesotho|
LT Lithuania|LU Luxembourg|LV Latvia|LY Libya|MA Morocco|MC Monaco|MD Moldova|ME Montenegro|
MF Saint Martin|MG Madagascar|MH Marshall Islands|MK North Macedonia|ML Mali|MM Myanmar|
MN Mongolia|MO Macao|MP Northern Mariana Islands|MQ Martinique|MR Mauritania|MS Montserrat|
MT Malta|MU Mauritius|MV Maldives|MW Malawi|MX Mexico|MY Malaysia|MZ Mozambique|NA Namibia|
NC New Caledonia|NE Niger|NF Norfolk Island|NG Nigeria|NI Nicaragua|NL Netherlands|NO Norway|
NP Nepal|NR Nauru|NU Niue|NZ New Zealand|OM Oman|PA Panama|PE Peru|PF French Polynesia|
PG Papua New Guinea|PH Philippines|PK Pakistan|PL Poland|PM Saint Pierre and Miquelon|
PR Puerto Rico|PS Palestine|PT Portugal|PW Palau|PY Paraguay|QA Qatar|RE Réunion|RO Romania|
RS Serbia|RU Russia|RW Rwanda|SA Saudi Arabia|SB Solomon Islands|SC Seychelles|SD Sudan|
SE Sweden|SG Singapore|SH Saint Helena|SI Slovenia|SJ Svalbard and Jan Mayen|SK Slovakia|
SL Sierra Leone|SM San Marino|SN Senegal|SO Somalia|SR Suriname|SS South Sudan|
ST São Tomé and Príncipe|SV El Salvador|SX Sint Maarten|SY Syria|SZ Eswatini|
TA Tristan da Cunha|TC Turks and Caicos Islands|TD Chad|TG Togo|TH Thailand|TJ Tajikistan|
TK Tokelau|TL Timor-Leste|TM Turkmenistan|TN Tunisia|TO Tonga|TR Türkiye|
TT Trinidad and Tobago|TV Tuvalu|TW Taiwan|TZ Tanzania|UA Ukraine|UG Uganda|US United States|
UY Uruguay|UZ Uzbekistan|VA Vatican City|VC Saint Vincent and the Grenadines|VE Venezuela|
VG British Virgin Islands|VI U.S. Virgin Islands|VN Vietnam|VU Vanuatu|WF Wallis and Futuna|
WS Samoa|XK Kosovo|YE Yemen|YT Mayotte|ZA South Africa|ZM Zambia|ZW Zimbabwe"""
COUNTRY_NAMES: dict[str, str] = dict(
    entry.strip().split(" ", 1) for entry in _NAMES.replace("\n", "").split("|")
)

# Characters people put inside a number for readability; everything else makes it "not a number".
_SEPARATORS = frozenset(
    " \t\u00a0\u2007\u202f-.()/[]\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc"
)
_PLUS = frozenset("+\uff0b")
_MAX_RAW = 64  # no phone number, however decorated, is longer
_MAX_WINDOW = 6  # at most this many space-separated pieces form one number
_MAX_DIGITS = 17  # longest national significant number phonenumbers knows, plus slack


class InvalidNumber(InvalidInput):
    """A destination that cannot be sent to; ``reason`` says why in a few words."""

    def __init__(self, raw: str, reason: str) -> None:
        shown = raw.strip() or "(empty)"
        super().__init__(f"{shown}: {reason}.")
        self.raw = raw
        self.reason = reason


@dataclass(frozen=True)
class Recipient:
    """A destination ready for 8x8."""

    raw: str  # as typed
    e164: str  # "+6591234567"
    country: str | None  # ISO alpha-2, "SG"; None for international services (+800) and the like
    country_name: str  # "Singapore"
    formatted: str  # international format "+65 9123 4567"
    # Things worth a second look that do not stop the send: a number outside every range the
    # phone-number database knows ("not a known number for Singapore"), a landline.
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecipientProblem:
    """A piece of the recipients text that cannot be sent to."""

    raw: str
    reason: str  # "not a valid number for Singapore", "+65 9123 4567 is listed twice", ...


@dataclass(frozen=True)
class SenderCheck:
    """A sender id (8x8 `source`) that 8x8 accepts, with what networks might do to it."""

    value: str  # "" means no sender (8x8 uses its default)
    kind: str  # "none" | "alphanumeric" | "numeric"
    warnings: tuple[str, ...] = ()


def country_name(code: str | None) -> str:
    """English name of an ISO alpha-2 code phonenumbers knows, else the code itself."""
    if not code:
        return ""
    return COUNTRY_NAMES.get(code.upper(), code.upper())


def check_country(value: str | None) -> str | None:
    """An ISO alpha-2 country code known to phonenumbers, upper-cased; None when not given."""
    if value is None or not value.strip():
        return None
    code = value.strip().upper()
    if code in phonenumbers.SUPPORTED_REGIONS:
        return code
    raise InvalidInput(
        f"“{value.strip()}” is not a country code: use a two-letter ISO code such as SG, US or GB."
    )


def check_subaccount_id(value: str) -> str:
    """The subaccount id as 8x8 requires it (3 to 50 letters, digits or . _ - &)."""
    text = (value or "").strip()
    if SUBACCOUNT_PATTERN.fullmatch(text):
        return text
    if not text:
        raise InvalidInput("The subaccount id is empty: copy it from the 8x8 Connect dashboard.")
    rule = "a subaccount id has 3 to 50 letters, digits or the characters . _ - &"
    if len(text) < 3:
        raise InvalidInput(f"Subaccount id “{text}” is too short: {rule}.")
    if len(text) > 50:
        raise InvalidInput(f"Subaccount id is {len(text)} characters long: {rule}.")
    bad = _describe_chars(c for c in text if not re.fullmatch(r"[A-Za-z0-9\-._&]", c))
    raise InvalidInput(f"Subaccount id “{text}” contains {bad}: {rule}.")


def check_client_message_id(value: str | None) -> str | None:
    """Your own reference for a message; 8x8 takes at most 350 characters. Empty means none."""
    if value is None or value == "":
        return None
    if len(value) > CLIENT_MESSAGE_ID_MAX:
        raise InvalidInput(
            f"The client message id is {len(value)} characters long; "
            f"8x8 accepts at most {CLIENT_MESSAGE_ID_MAX}."
        )
    if any(unicodedata.category(c).startswith("C") for c in value):
        raise InvalidInput(
            "The client message id cannot contain control characters or line breaks."
        )
    return value


def check_sender(sender: str | None) -> SenderCheck:
    """Classify a sender id; refuse what 8x8 refuses, warn about what networks may mangle."""
    value = (sender or "").strip()
    if not value:
        return SenderCheck("", "none", ())
    if any(unicodedata.category(c).startswith("C") for c in value):
        raise InvalidInput("The sender id cannot contain control characters or line breaks.")
    if len(value) > SOURCE_MAX:
        raise InvalidInput(
            f"The sender id “{value}” is {len(value)} characters long; "
            f"8x8 accepts at most {SOURCE_MAX}."
        )
    if re.fullmatch(r"\+?[0-9]+", value):
        return SenderCheck(value, "numeric", ())
    warnings: list[str] = []
    if len(value) > ALPHANUMERIC_SENDER_MAX:
        warnings.append(
            f"The sender id “{value}” has {len(value)} characters: most networks cut or refuse "
            f"a sender name longer than {ALPHANUMERIC_SENDER_MAX}."
        )
    odd = [c for c in value if not (c.isascii() and c.isalnum())]
    if odd:
        warnings.append(
            f"The sender id “{value}” contains {_describe_chars(odd)}: many networks show only "
            "plain letters and digits in a sender name, or refuse it."
        )
    return SenderCheck(value, "alphanumeric", tuple(warnings))


def parse_number(raw: str, default_country: str | None = None) -> Recipient:
    """One destination as E.164; national numbers use ``default_country``.

    Raises InvalidNumber (an InvalidInput) with a short ``reason``. A number of a possible length
    that lies outside every range phonenumbers knows is accepted with a warning: its metadata lags
    behind new ranges and 8x8 has the last word (the 8x8 tutorial's +6512345678 is such a number).
    """
    country = check_country(default_country)
    result = _parse(raw if isinstance(raw, str) else str(raw), country)
    if isinstance(result, str):
        raise InvalidNumber(raw, result)
    return result


def parse_recipients(
    text: str, default_country: str | None = None
) -> tuple[list[Recipient], list[RecipientProblem]]:
    """Every destination in ``text``, in order, and every piece that is not one.

    Numbers are separated by commas, semicolons, line breaks or spaces; spaces inside a number
    ("+65 9123 4567") are read as part of it. A number listed twice is kept once and reported.
    """
    country = check_country(default_country)
    recipients: list[Recipient] = []
    problems: list[RecipientProblem] = []
    seen: set[str] = set()
    for chunk in re.split(r"[,;\n\r\u2028\u2029]+", text or ""):
        for segment in re.split(r"\s+(?=[+\uff0b])", chunk.strip()):
            for raw, outcome in _split_segment(segment.split(), country):
                if isinstance(outcome, str):
                    problems.append(RecipientProblem(raw, outcome))
                elif outcome.e164 in seen:
                    problems.append(RecipientProblem(raw, f"{outcome.formatted} is listed twice"))
                else:
                    seen.add(outcome.e164)
                    recipients.append(outcome)
    return recipients, problems


def _split_segment(tokens: list[str], country: str | None) -> list[tuple[str, Recipient | str]]:
    """Group space-separated pieces into numbers.

    The reading that puts the most pieces into known numbers wins, then the one with the fewest
    stray pieces, then the one with the fewest numbers. So "9123 4567" is one number, "+65 1234
    5678" (outside the known ranges) too, while "12 34 81234568" is the number 81234568 after
    two stray pieces rather than an unknown "34 81234568".
    """
    n = len(tokens)
    # score[i]: the best reading of tokens[i:] as (-known pieces, stray pieces, numbers);
    # step[i]: where its first group ends and the number it is (None: tokens[i] is stray).
    score: list[tuple[int, int, int]] = [(0, 0, 0)] * (n + 1)
    step: list[tuple[int, Recipient | None]] = [(n, None)] * (n + 1)
    for i in range(n - 1, -1, -1):
        known, stray, count = score[i + 1]
        score[i], step[i] = (known, stray + 1, count), (i + 1, None)
        digits = 0
        for j in range(i + 1, min(n, i + _MAX_WINDOW) + 1):
            digits += sum(c.isdigit() for c in tokens[j - 1])
            if digits > _MAX_DIGITS:
                break
            found = _parse(" ".join(tokens[i:j]), country)
            if isinstance(found, Recipient):
                unknown = any(_UNKNOWN_RANGE in w for w in found.warnings)
                known, stray, count = score[j]
                candidate = (known - (0 if unknown else j - i), stray, count + 1)
                if candidate < score[i]:
                    score[i], step[i] = candidate, (j, found)
    groups: list[tuple[int, Recipient | None]] = []
    i = 0
    while i < n:
        groups.append(step[i])
        i = step[i][0]
    out: list[tuple[str, Recipient | str]] = []
    bad: list[str] = []
    start = 0
    for end, found in groups:
        if found is None:
            bad.extend(tokens[start:end])
        else:
            if bad:
                out.append(_bad_group(bad, country))
                bad = []
            out.append((found.raw, found))
        start = end
    if bad:
        out.append(_bad_group(bad, country))
    return out


def _bad_group(tokens: list[str], country: str | None) -> tuple[str, str]:
    raw = " ".join(tokens)
    reason = _parse(raw, country)
    if isinstance(reason, Recipient):  # the pieces only make a number when read together
        reason = _parse(tokens[0], country)
    return raw, reason if isinstance(reason, str) else "not a number"


_UNKNOWN_RANGE = "is not a known number"


@lru_cache(maxsize=16384)
def _parse(raw: str, country: str | None) -> Recipient | str:
    """A Recipient, or the reason there is none. Cached: the compose screen re-validates the
    whole list on every keystroke."""
    text = raw.strip()
    if not text:
        return "not a number: it is empty"
    if len(text) > _MAX_RAW:
        return "not a number: far too long"
    cleaned: list[str] = []
    for ch in text:
        if ch in _PLUS:
            if cleaned:
                return "not a number: “+” can only come first"
            cleaned.append("+")
        elif ch in _SEPARATORS:
            continue
        elif (digit := unicodedata.decimal(ch, None)) is not None:
            cleaned.append(str(digit))
        else:
            return "not a number" if ch.isalpha() else f"not a number: it contains “{ch}”"
    number_text = "".join(cleaned)
    if number_text.startswith("00") and not number_text.startswith("000"):
        number_text = "+" + number_text[2:]  # 00 is the international prefix nearly everywhere
    if not number_text.lstrip("+"):
        return "not a number"
    international = number_text.startswith("+")
    if not international and country is None:
        return "national number needs a country: set a default country or start with +"
    try:
        number = phonenumbers.parse(number_text, None if international else country)
    except NumberParseException as exc:
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
            return "unknown country code after +"
        if exc.error_type == NumberParseException.TOO_LONG:
            return "too long"
        if exc.error_type in (
            NumberParseException.TOO_SHORT_NSN,
            NumberParseException.TOO_SHORT_AFTER_IDD,
        ):
            return "too short"
        return "not a number"
    cc = number.country_code
    region = phonenumbers.region_code_for_number(number)
    if region in (None, phonenumbers.UNKNOWN_REGION):
        # An unknown range: a national number is still the default country's; an international
        # one belongs to its calling code's only country, if it has just one.
        region = None if international else country
        if region is None:
            regions = phonenumbers.region_codes_for_country_code(cc)
            if len(regions) == 1 and regions[0] != phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY:
                region = regions[0]
    elif region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY:
        region = None
    where = country_name(region) if region else _calling_code_name(cc)
    possible = phonenumbers.is_possible_number_with_reason(number)
    results = phonenumbers.ValidationResult
    if possible == results.INVALID_COUNTRY_CODE:
        return f"unknown country code +{cc}"
    if possible == results.TOO_SHORT:
        return f"too short for {where}"
    if possible == results.TOO_LONG:
        return f"too long for {where}"
    if possible == results.IS_POSSIBLE_LOCAL_ONLY:
        return f"too short for {where}: add the area code"
    if possible != results.IS_POSSIBLE:
        return f"wrong length for {where}"
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if not DESTINATION_PATTERN.fullmatch(e164):
        digits = len(e164) - 1
        return "too short to send: 8x8 needs at least 7 digits" if digits < 7 else "too long"
    formatted = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    warnings: list[str] = []
    kind = phonenumbers.number_type(number)  # UNKNOWN exactly when is_valid_number() is false
    if kind == PhoneNumberType.UNKNOWN:
        # Outside every known range, phonenumbers may read a leading 0 after the country code as
        # a trunk prefix and drop it ("+31 0000 0000"): such a number would not survive being
        # read back, so it is not sent.
        if _e164_of(e164) != e164:
            return f"not a valid number for {where}"
        warnings.append(f"{formatted} {_UNKNOWN_RANGE} for {where}: check it; 8x8 may reject it")
    elif kind == PhoneNumberType.FIXED_LINE:
        warnings.append(f"{formatted} looks like a landline: it may not receive SMS")
    return Recipient(raw, e164, region, where, formatted, tuple(warnings))


def _e164_of(text: str) -> str | None:
    try:
        return phonenumbers.format_number(phonenumbers.parse(text), PhoneNumberFormat.E164)
    except NumberParseException:
        return None


def _calling_code_name(cc: int) -> str:
    """Words for a calling code whose country is not known: "+44 (United Kingdom, …)"."""
    regions = [
        r
        for r in phonenumbers.region_codes_for_country_code(cc)
        if r != phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY
    ]
    if not regions:
        return f"international service +{cc}"
    return f"+{cc} ({country_name(regions[0])}{', …' if len(regions) > 1 else ''})"


def _describe_chars(chars) -> str:
    seen: list[str] = []
    for c in chars:
        label = "a space" if c == " " else f"“{c}”"
        if label not in seen:
            seen.append(label)
    if len(seen) == 1:
        return seen[0]
    return ", ".join(seen[:-1]) + " and " + seen[-1]

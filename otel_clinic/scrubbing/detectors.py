"""Value detectors: RE2-compatible patterns (Go regexp compatible too) plus cheap validators.

A detector is a *context prefix* that is kept (``MRN: ``) and a *value* that is replaced (``A12345``).
Patterns use no lookaround and no backreferences so the same text can be rendered into the
Collector's redaction processor. Boundaries and checksums that RE2 cannot express are checked in
Python after a match (``boundary``, ``validator``), which keeps the regexes linear-time.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

# Separator between a context word and its value: optional quote, optional ':' '=' '#', optional quote.
_SEP = r"""["']?\s{0,3}[:=#]?\s{0,3}["']?"""
_IDSUFFIX = r"(?:[ _-]?(?:id|identifier|number|num|no\.?|#))?"

MONTHS = r"(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-zA-Z]{0,6}\.?"
DATE_VALUE = (
    r"\d{8}"  # 19580730 (only ever matched after a DOB/admission context word)
    r"|\d{1,2}[-/ ](?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]{0,6}[-/ ]\d{2,4}"  # 30-Jul-1958
    r"|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"
    rf"|{MONTHS}\s{{1,3}}\d{{1,2}}(?i:st|nd|rd|th)?,?\s{{1,3}}\d{{4}}"
    rf"|\d{{1,2}}(?i:st|nd|rd|th)?\s{{1,3}}{MONTHS},?\s{{1,3}}\d{{4}}"
)
_US_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|"
    "NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR"
)
_STREET_SUFFIX = (
    r"(?i:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|terrace|ter"
    r"|circle|cir|highway|hwy|parkway|pkwy|square|sq|trail|trl)"
)
# A capitalised word with at least one lowercase letter ("Roe", "O'Brien", "McDonald"), so that
# all-caps tokens such as HTTP methods after "name:" are not taken for names.
# Latin letters with diacritics ("José Peña", "Zoë") are names too. Explicit Latin-1/Latin Extended-A ranges,
# not \p{L}: full Unicode classes made RE2's DFA ~20x slower on every value.
_UPPER = "A-ZÀ-ÖØ-ÞĀĂĄĆĈĊČĎĐĒĔĖĘĚĜĞĠĢĤĦĨĪĬĮİĴĶĹĻĽĿŁŃŅŇŊŌŎŐŒŔŖŘŚŜŞŠŢŤŦŨŪŬŮŰŲŴŶŸŹŻŽ"
_LOWER = "a-zß-öø-ÿ\u0100-\u017f"
_CAP_WORD = rf"[{_UPPER}](?:[{_LOWER}]|'[{_UPPER}])[{_UPPER}{_LOWER}'-]{{0,29}}"
_STREET_WORD = r"(?:[A-Z][a-zA-Z'-]{0,29}|\d{1,3}(?i:st|nd|rd|th))"
# Lower-case name particles between capitalised parts ("de la", "van der", "bin").
_PARTICLE = r"(?:de|del|della|di|da|do|dos|das|du|la|le|van|von|der|den|ter|bin|binti|ibn|al|el|y)"
_HONORIFIC = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|MR|MRS|MS|DR)\.?\s{1,3}"


# --- validators: run on the value part after a regex match -------------------------------------------


def luhn_ok(value: str) -> bool:
    digits = [int(c) for c in value if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_prefix_length(value: str) -> int:
    """Length of the longest prefix of ``value`` that is a Luhn-valid 13–19 digit card, or 0."""
    ends = [i + 1 for i, c in enumerate(value) if c.isdigit()]
    for count in range(min(19, len(ends)), 12, -1):
        end = ends[count - 1]
        nxt = value[end : end + 1]
        # cut only at a group separator or the end, never inside a digit run
        if (nxt == "" or not nxt.isdigit()) and luhn_ok(value[:end]):
            return end
    return 0


def ipv4_ok(value: str) -> bool:
    parts = value.split(".")
    if len(parts) != 4 or any(len(p) > 1 and p[0] == "0" for p in parts):
        return False
    if not all(0 <= int(p) <= 255 for p in parts):
        return False
    # Loopback / unspecified are our own sockets, never a patient's address.
    return value not in ("127.0.0.1", "0.0.0.0")


def ipv6_ok(value: str) -> bool:
    if not any(c.isdigit() for c in value) or value.count(":") < 2:
        return False  # "abc::def", "Foo::Bar": scoped names, not addresses
    try:
        addr = ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return not (addr.is_loopback or addr.is_unspecified)


# Words that open another detector's context: a capitalised run of name words stops before them.
_CONTEXT_WORDS = frozenset({
    "medical", "record", "records", "patient", "pt", "date", "dob", "born", "admitted", "discharged", "ssn",
    "social", "mrn", "phone", "tel", "mobile", "email", "e-mail", "address", "zip", "member", "insurance",
    "policy", "account", "acct", "license", "licence", "passport", "dear", "attn", "name", "chart",
})


def name_length(value: str) -> int:
    """Characters of a matched name to replace: up to the first context word after the first word."""
    pos = 0
    for i, word in enumerate(value.split(" ")):
        bare = word.strip("+,").lower()
        if i > 0 and bare in _CONTEXT_WORDS:
            return len(value[:pos].rstrip(" +,"))
        pos += len(word) + 1
    return len(value)


def has_digit(value: str) -> bool:
    return any(c.isdigit() for c in value)


def digit_count_between(lo: int, hi: int) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        return lo <= sum(c.isdigit() for c in value) <= hi

    check.spec = (lo, hi)  # type: ignore[attr-defined]  # named in the policy document
    return check


# --- boundaries: RE2 has \b but no lookbehind; we check the characters around a match ------------

BOUNDARY_DIGIT = "digit"  # no digit (or digit-separator-digit) right before/after
BOUNDARY_ALNUM = "alnum"  # no letter/digit right before/after
BOUNDARY_WORD = "word"  # no letter/digit/underscore right before/after
BOUNDARY_START_WORD = "start-word"  # context keyword must not be the tail of a longer word ("hostname=")
BOUNDARY_START_KEY = "start-key"  # like start-word, and not the last part of a dotted/dashed key ("service.name=")


_ESCAPE_LETTERS = (b"n", b"t", b"r", b"f", b"b")


def preceding(data: bytes, start: int) -> bytes:
    """The byte before ``start``; an escape sequence in JSON / repr text ("line\\n555-867-5309")
    separates tokens like whitespace does, so it reads as a space."""
    before = data[start - 1 : start]
    if before in _ESCAPE_LETTERS and data[start - 2 : start - 1] == b"\\":
        return b" "
    return before


def boundary_ok(data: bytes, start: int, end: int, kind: str | None) -> bool:
    """Check the bytes around ``data[start:end]`` (UTF-8); non-ASCII neighbours count as non-word."""
    return boundary_before_ok(data, start, kind) and _boundary_after_ok(data, end, kind)


def boundary_before_ok(data: bytes, start: int, kind: str | None) -> bool:
    """The half of ``kind`` that concerns the bytes before ``start``."""
    if kind is None:
        return True
    before = preceding(data, start)
    if kind == BOUNDARY_START_WORD:
        return not (before.isalnum() or before == b"_")
    if kind == BOUNDARY_START_KEY:
        return not (before.isalnum() or before in (b"_", b".", b"-"))
    if kind == BOUNDARY_DIGIT:
        # "1.2.3.4.5" / "12-123-45-6789": a separator glued to more digits continues the number
        return not (before.isdigit() or before in (b".", b"-") and data[start - 2 : start - 1].isdigit())
    if kind == BOUNDARY_ALNUM:
        return not before.isalnum()
    if kind == BOUNDARY_WORD:
        return not (before.isalnum() or before == b"_")
    return True


def _boundary_after_ok(data: bytes, end: int, kind: str | None) -> bool:
    after = data[end : end + 1]
    if kind == BOUNDARY_DIGIT:
        return not (after.isdigit() or after in (b".", b"-") and data[end + 1 : end + 2].isdigit())
    if kind == BOUNDARY_ALNUM:
        return not after.isalnum()
    if kind == BOUNDARY_WORD:
        return not (after.isalnum() or after == b"_")
    return True  # None, START_WORD, START_KEY: nothing after


@dataclass(frozen=True)
class Detector:
    """One value detector.

    ``prefix`` (optional) is context that must precede the value and is kept in the output;
    ``value`` is what gets replaced by ``placeholder`` (``[SSN]``) or an HMAC pseudonym.
    """

    name: str
    value: str
    placeholder: str
    prefix: str = ""
    boundary: str | None = None
    validator: Callable[[str], bool] | None = None
    # Replacement computed from the matched value (URLs are rewritten, not blanked).
    rewrite: Callable[[str], str] | None = None
    # How many characters of the matched value to replace; the rest is scanned again (a greedy name match
    # must not swallow the context word of the next identifier: "Jane Roe Medical record number 00000").
    trim: Callable[[str], int] | None = None
    # When the match is rejected (validator or end boundary), the length of a prefix of the value that is itself a
    # valid value (0: none), tried when the start boundary holds: a greedy match that ran into the next number.
    salvage: Callable[[str], int] | None = None
    # Keyed detectors ("name=…") read key=value text; in source code ("name=self.urlconf_name") they do not apply.
    in_code: bool = True

    @property
    def full_pattern(self) -> str:
        """The whole detector as one non-capturing RE2 pattern (used for Collector rendering)."""
        if self.prefix:
            return f"(?:{self.prefix})(?:{self.value})"
        return f"(?:{self.value})"


def _ctx(words: str) -> str:
    return rf"(?i:{words}){_SEP}"


def default_detectors() -> tuple[Detector, ...]:
    """The default PHI detectors, most specific first (RE2 alternation is leftmost-first)."""
    from otel_clinic.scrubbing.url import scrub_text_path, scrub_text_url  # local: url.py imports nothing from here at import time

    return (
        # URLs first: credentials, query strings and id-like path segments are rewritten in place.
        Detector(
            "url",
            r"""[A-Za-z][A-Za-z0-9+.-]{1,15}://[^\s"'<>]{1,1000}""",
            "[URL]",
            boundary=None,
            rewrite=scrub_text_url,
        ),
        Detector(
            # Absolute paths inside free text ("Not Found: /api/patients/9912345/"): id-like segments replaced,
            # as for URL attributes whose route template is unknown.
            "path",
            # Only paths with a candidate identifier segment (2+ digits or an '@') match, so ordinary routes
            # never leave the scanner's fast path.
            # At least two segments ("/5.0" in a user agent is not a path).
            r"/[A-Za-z0-9._~%+-]*(?:\d{2}|@)[A-Za-z0-9._~%+@-]*/[A-Za-z0-9._~%+@-]*(?:/[A-Za-z0-9._~%+@-]*)*"
            r"|/(?:[A-Za-z0-9._~%+@-]*/)+[A-Za-z0-9._~%+-]*(?:\d{2}|@)[A-Za-z0-9._~%+@-]*(?:/[A-Za-z0-9._~%+@-]*)*",
            "[PATH]",
            boundary=BOUNDARY_WORD,
            rewrite=lambda v: scrub_text_path(v),
        ),
        Detector(
            # PostgreSQL error details echo the row: 'Key (mrn)=(00246810) already exists',
            # 'Failing row contains (12, Jane, Roe, 219876543, ...)'.
            "pg_detail",
            r"\([^()]{0,1000}\)",
            "([REDACTED])",
            prefix=r"(?:Key \([^()]{1,200}\)=|Failing row contains )",
            boundary=None,
        ),
        Detector(
            # HL7 v2 segments that identify a person (patient, next of kin, guarantor, insurance): every field after
            # the segment id goes ("PID|1||00123456^^^MRN||ROE^JANE||19610412|F").
            "hl7",
            r"[^\r\n]{1,1000}",
            "[HL7]",
            prefix=r"(?:PID|NK1|GT1|IN1|IN2|PD1)\|",
            boundary=BOUNDARY_START_WORD,
        ),
        Detector(
            "jwt",
            r"eyJ[A-Za-z0-9_-]{5,1000}\.[A-Za-z0-9_-]{5,1000}\.[A-Za-z0-9_-]{0,1000}",
            "[TOKEN]",
            boundary=BOUNDARY_WORD,
        ),
        Detector(
            "bearer",
            r"[A-Za-z0-9._~+/=-]{6,1000}",
            "[TOKEN]",
            prefix=r"(?i:bearer|basic)\s{1,3}",
            boundary=BOUNDARY_START_WORD,
        ),
        Detector(
            "ssn",
            r"\d{9}|\d{3}[-. ]?\d{2}[-. ]?\d{4}",
            "[SSN]",
            prefix=_ctx(r"ssn|ss#|social[ _-]?security(?:[ _-]?(?:number|num|no\.?|#))?"),
            boundary=BOUNDARY_START_WORD,
        ),
        Detector(
            # "MRN-48213377", "MRN_0042": the identifier written as one token with its type prefix.
            "mrn_token",
            r"(?i:mrn)[-_]\d[A-Za-z0-9-]{2,24}",
            "[MRN]",
            boundary=BOUNDARY_WORD,
        ),
        Detector(
            "mrn",
            r"[A-Za-z0-9][A-Za-z0-9-]{0,24}",
            "[MRN]",
            prefix=_ctx(
                r"mrn|mr#|mr[ _-]?no\.?|medical[ _-]?record(?:[ _-]?(?:number|num|no\.?|#|id))?"
                r"|patient[ _-]?(?:id|identifier|number|num|no\.?|#)|chart[ _-]?(?:id|number|num|no\.?|#)"
            ),
            boundary=BOUNDARY_START_WORD,
            validator=has_digit,
        ),
        Detector(
            "member_id",
            r"[A-Za-z0-9][A-Za-z0-9-]{3,24}",
            "[MEMBER_ID]",
            prefix=_ctx(
                r"(?:member|subscriber|policy|insurance|insurer|beneficiary|medicare|medicaid"
                rf"|health[ _-]?plan){_IDSUFFIX}|(?:group|plan)[ _-]?(?:id|number|num|no\.?|#)"
            ),
            boundary=BOUNDARY_START_WORD,
            validator=has_digit,
        ),
        Detector(
            "account",
            r"[A-Za-z0-9][A-Za-z0-9-]{3,30}",
            "[ACCOUNT]",
            prefix=_ctx(rf"(?:bank[ _-]?)?(?:account|acct|a/c){_IDSUFFIX}|routing[ _-]?(?:number|num|no\.?|#)"),
            boundary=BOUNDARY_START_WORD,
            validator=has_digit,
        ),
        Detector(
            "license",
            r"[A-Za-z0-9][A-Za-z0-9-]{3,24}",
            "[LICENSE]",
            prefix=_ctx(
                rf"(?:driver'?s?[ _-]?)?licen[cs]e{_IDSUFFIX}|passport{_IDSUFFIX}|npi|dea{_IDSUFFIX}"
                rf"|vin|(?:device|serial)[ _-]?(?:id|number|num|no\.?|#)"
            ),
            boundary=BOUNDARY_START_WORD,
            validator=has_digit,
        ),
        Detector(
            "date",
            DATE_VALUE,
            "[DATE]",
            prefix=_ctx(
                r"dob|d\.o\.b\.?|date[ _-]?of[ _-]?birth|birth[ _-]?date|birthday|born(?:\s{1,3}on)?"
                r"|admitted(?:\s{1,3}on)?|admission[ _-]?date|discharged(?:\s{1,3}on)?|discharge[ _-]?date"
                r"|date[ _-]?of[ _-]?death|deceased(?:\s{1,3}on)?|died(?:\s{1,3}on)?|date[ _-]?of[ _-]?service"
            ),
            boundary=BOUNDARY_START_WORD,
        ),
        Detector(
            "zip",
            r"\d{5}(?:-\d{4})?",
            "[ZIP]",
            prefix=_ctx(r"zip(?:[ _-]?code)?|postal[ _-]?code|postcode"),
            boundary=BOUNDARY_START_WORD,
        ),
        Detector(
            "address",
            rf"\d{{1,6}}\s{{1,3}}(?:{_STREET_WORD}\.?\s{{1,3}}){{1,4}}{_STREET_SUFFIX}\.?"
            r"(?:,?\s{1,3}(?i:apt|apartment|suite|ste|unit|#)\.?\s{0,3}[A-Za-z0-9-]{1,8})?"
            rf"(?:,\s{{0,3}}(?:{_CAP_WORD}\s){{0,2}}{_CAP_WORD},?\s{{1,3}}(?:{_US_STATES})(?:\s{{1,3}}\d{{5}}(?:-\d{{4}})?)?)?",
            "[ADDRESS]",
            boundary=BOUNDARY_ALNUM,
        ),
        Detector(
            "city_state_zip",
            rf"(?:{_CAP_WORD}\s){{0,2}}{_CAP_WORD},\s{{0,3}}(?:{_US_STATES})\s{{1,3}}\d{{5}}(?:-\d{{4}})?",
            "[ADDRESS]",
            boundary=BOUNDARY_ALNUM,
        ),
        Detector(
            "name",
            # "Jane Roe", "Maria de la Cruz", "Roe, Jane" (surname-first, as records list them)
            rf"(?:{_HONORIFIC})?{_CAP_WORD}(?:[ +](?:{_PARTICLE}[ +]){{0,2}}{_CAP_WORD}){{0,3}}(?:,[ +]{{1,2}}{_CAP_WORD})?",
            "[NAME]",
            prefix=r"(?i:patient(?:[ _-]?(?:full[ _-]?)?name)?|(?:full|first|last|given|family|middle|maiden|sur)[ _-]?name"
            r"|name|dear|attn|guarantor|next[ _-]?of[ _-]?kin|emergency[ _-]?contact)"
            r"""["']?\s{0,3}[:=]\s{0,3}["']?""",
            boundary=BOUNDARY_START_WORD,
            trim=name_length,
        ),
        Detector(
            # "patient Jane Roe": without a ':' only a first+last name pair counts (not "Patient Created").
            "name_after_patient",
            rf"{_CAP_WORD}\s(?:{_PARTICLE}\s){{0,2}}{_CAP_WORD}(?:\s{_CAP_WORD})?",
            "[NAME]",
            prefix=r"(?i:patient|pt\.?)\s{1,3}",
            boundary=BOUNDARY_START_WORD,
            trim=name_length,
        ),
        Detector(
            "name_salutation",
            rf"(?:{_HONORIFIC})?{_CAP_WORD}(?:\s{_CAP_WORD}){{0,2}}",
            "[NAME]",
            prefix=r"(?i:dear)\s{1,3}",
            boundary=BOUNDARY_START_WORD,
            trim=name_length,
        ),
        Detector(
            "name_honorific",
            rf"{_CAP_WORD}(?:\s{_CAP_WORD})?",
            "[NAME]",
            prefix=r"(?:Mr|Mrs|Ms|Miss|Mx|MR|MRS|MS)\.?\s{1,3}|(?:Dr|DR)\.\s{1,3}",
            boundary=BOUNDARY_START_WORD,
            trim=name_length,
        ),
        Detector(
            "email",
            r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}",
            "[EMAIL]",
            boundary=None,
        ),
        Detector("ssn_shape", r"\d{3}-\d{2}-\d{4}|\d{3} \d{2} \d{4}", "[SSN]", boundary=BOUNDARY_DIGIT),
        Detector(
            "card",
            r"[2-6]\d{3}(?:[ -]?\d){9,15}",
            "[CARD]",
            boundary=BOUNDARY_ALNUM,
            validator=luhn_ok,
            salvage=card_prefix_length,  # "4111 1111 1111 1111 2026": keep the card part
        ),
        Detector(
            "phone",
            r"\+1[-. ]?\(?\d{3}\)?[-. ]?\d{3}[-. ]?\d{4}"
            r"|\(\d{3}\)\s?\d{3}[-. ]\d{4}"
            r"|1[-.]\d{3}[-.]\d{3}[-.]\d{4}"
            r"|\d{3}[-. ]\d{3}[-. ]\d{4}"
            r"|\+[1-9]\d{0,3}(?:[ -]?\d{1,5}){2,6}",
            "[PHONE]",
            boundary=BOUNDARY_DIGIT,
            validator=digit_count_between(10, 15),
        ),
        Detector(
            "phone_context",
            r"\+?\d[\d ().-]{5,18}\d",
            "[PHONE]",
            prefix=_ctx(r"phone|tel|telephone|mobile|cell|fax|contact[ _-]?number"),
            boundary=BOUNDARY_START_WORD,
            validator=digit_count_between(7, 15),
        ),
        Detector(
            "ipv6",
            r"(?i:::ffff:)\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}"  # IPv4-mapped (Django's REMOTE_ADDR on dual-stack)
            r"|(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}"
            r"|(?:[0-9A-Fa-f]{1,4}:){1,7}:(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6})?"
            r"|::(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6})",
            "[IP]",
            boundary=BOUNDARY_ALNUM,
            validator=ipv6_ok,
        ),
        Detector("ipv4", r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}", "[IP]", boundary=BOUNDARY_DIGIT, validator=ipv4_ok),
    )


def keyed_value_detector(sensitive_keys: frozenset[str], *, qualified_keys: bool = True) -> Detector:
    """``first_name=Jane``, ``"ssn": "..."`` in free text: a sensitive key followed by a value.

    The key alternatives are generated from the policy's sensitive keys with flexible separators,
    so ``date_of_birth``, ``date-of-birth`` and ``dateOfBirth`` are all recognised.
    """
    alts = sorted({_flexible(k) for k in sensitive_keys if len(k.replace('_', '')) >= 3}, key=lambda s: (-len(s), s))
    key_re = "|".join(alts)
    return Detector(
        "keyed_value",
        # Quoted values are taken whole; unquoted ones run to the next delimiter and swallow
        # following capitalised words ("first_name=Jane Roe"). Placeholders (%s, $1, :x, ?, our [TEXT]) never start a value.
        r'"[^"]{0,512}"|' r"'[^']{0,512}'|" r"""(?:(?i:bearer|basic|digest|negotiate)\s{1,3})?[^\s&,;"'}\])%\x24?:@{<\[][^\s&,;"'})\]]{0,512}(?:\s[A-Z][a-zA-Z'-]{1,30}){0,3}""",
        "[REDACTED]",
        # qualified_keys keeps "patient.first_name=" whole in the kept prefix; the Collector rendering drops it
        # (an unanchored search finds the key anyway, and that repetition made Go's regexp ~10x slower).
        prefix=(r"(?:[A-Za-z0-9]{1,40}[_.-]){0,4}" if qualified_keys else "")
        + rf"(?i:{key_re})" r"""["']?\s{0,3}[:=]\s{0,3}""",
        boundary=BOUNDARY_START_WORD,
        in_code=False,
    )


def exact_key_detector(exact_keys: frozenset[str]) -> Detector:
    """``name=okonkwo``, ``notes: suspected flu`` in free text: keys that are sensitive only as a whole key.

    The key must start a token (not ``service.name=`` or ``host_name=``), and the value runs to the end of the
    clause, because notes and names are several words.
    """
    alts = "|".join(sorted({re.escape(k) for k in exact_keys}, key=lambda s: (-len(s), s)))
    return Detector(
        "keyed_exact",
        r'"[^"]{0,512}"|' r"'[^']{0,512}'|" r"""[^\s&;,"'}\])%\x24?:@{<\[][^\n\r&;"'}\]]{0,511}""",
        "[REDACTED]",
        # "name=" (forms, query strings, key=value logs); "notes:" / "comment:" also with a colon ("Name: GET /x"
        # is how tools label a span name, so a bare "name:" is left to the capitalised-name detector).
        prefix=rf"""(?:(?i:{alts})["']?\s{{0,3}}=|(?i:notes?|comments?|clinical[ _-]?notes?)["']?\s{{0,3}}:)\s{{0,3}}""",
        boundary=BOUNDARY_START_KEY,
        in_code=False,
    )


def _flexible(key: str) -> str:
    """``date_of_birth`` -> ``date[ _.-]?of[ _.-]?birth`` (keys are spelled with separators in the policy)."""
    from otel_clinic.scrubbing.keys import key_tokens

    return "[ _.-]?".join(re.escape(t) for t in key_tokens(key))

"""The free-text filter: what the pattern detectors cannot know, masked by shape.

Free text (log messages, exception messages, status descriptions, warning text) is hostile by default:
Python and Django quote user input verbatim (``invalid literal for int() with base 10: '…'``), applications
log identifiers with no context word, and names come in any case. After the context detectors ran, this
filter masks, in one left-to-right pass:

* **quoted literals** (``'…'``, ``"…"``, ``“…”``, ``‘…’``, ``«…»``) unless the literal is code-shaped
  (``'NoneType'``, ``'urlconf_name'``, ``"clinic_patient"``, ``'django.contrib.auth'``);
* **dates** in any common format unless they are timestamps with a time part;
* **identifier-shaped tokens**: five or more digits, or letters mixed with a run of four or more digits,
  taking the whole token and digit groups ("4111 1111 1111 1111") so nothing is masked by halves,
  unless the token is a known-safe form (hex trace/span ids, UUIDs, versions, decimals, ports, epoch
  timestamps, numbers with a unit or after a word such as ``pid``/``port``/``line``);
* **person names** from the shipped lexicon (``names.py``), as whole runs, and any name word glued to a
  ``[NAME]`` placeholder a context detector left behind.

Placeholders already in the text (``[SSN]``, ``[MRN:3f9a0c2b1d]``) are never touched again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

ID = "[ID]"
DATE = "[DATE]"
NAME = "[NAME]"
QUOTED = "[REDACTED]"
ADDRESS = "[ADDRESS]"

# Where masking must not go: placeholders we (or a context detector) produced.
_PLACEHOLDER = r"\[[A-Z][A-Z_]*(?::[0-9a-f]{6,16})?\]"

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]{0,6}\.?"
_DATE = (
    r"\d{4}[-/]\d{1,2}[-/]\d{1,2}|\d{4}\.\d{2}\.\d{2}"  # 1958-07-30, 1958.07.30 (not 2026.11.0: a version)
    r"|\d{1,2}[-/]\d{1,2}[-/]\d{2,4}|\d{1,2}\.\d{1,2}\.\d{4}"  # 07/30/1958, 30.07.1958 (not 4.2.11: a version)
    rf"|\d{{1,2}}(?:st|nd|rd|th)?[-/ ]{_MONTH}[-/ ,]{{1,2}}\d{{2,4}}"  # 30 Jul 1958, 30-Jul-58
    rf"|{_MONTH}\s{{1,3}}\d{{1,2}}(?:st|nd|rd|th)?,?\s{{1,3}}\d{{4}}"  # July 30, 1958
)
# A street address in any case ("6600 troundzakondgru avenue", "? elm road" once SQL obfuscation took the number);
# the context detectors only know Title case.
_STREET_SUFFIX = (
    r"(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|terrace|ter|circle"
    r"|cir|highway|hwy|parkway|pkwy|square|sq|trail|trl)"
)
_TIME = r"(?:T|\s{1,2}|,\s?|:)\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:\s?Z|\s?[+-]\d{2}:?\d{2}|\s?UTC)?"

# One scanner for everything; alternatives are tried left to right at each position. Every repetition is
# separator-delimited, so matching stays linear on long values.
_SCAN = re.compile(
    rf"(?P<ph>{_PLACEHOLDER})"
    r"|(?P<quote>(?<![\w\\])'(?P<q1>[^'\n]{0,512})'(?![\w])"
    r'|(?<![\w\\])"(?P<q2>[^"\n]{0,512})"(?![\w])'
    r"|“(?P<q3>[^”\n]{0,512})”|‘(?P<q4>[^’\n]{0,512})’|«(?P<q5>[^»\n]{0,512})»)"
    rf"|(?P<addr>(?<![\w.-])(?:\d{{1,6}}|\?)\s{{1,3}}(?:[^\W\d_][\w'’-]{{0,29}}\s{{1,3}}){{1,4}}{_STREET_SUFFIX}\.?(?!\w))"
    rf"|(?P<date>(?<![\w.:/@+-])(?:{_DATE})(?P<time>{_TIME})?(?![\w/]|[.:-]\d))"
    # digit-bearing tokens (the lookahead keeps plain words off this path); digit groups separated by one
    # space or dash are one token when there are 3+ of them ("4111 1111 1111 1111", "123 45 6789"), so nothing is
    # masked by halves; two groups ("200 1234" in an access line) stay apart
    r"|(?P<tok>(?<![A-Za-z0-9_@%])(?=[A-Za-z0-9_./#-]*\d)"
    r"(?:\d{2,6}(?:[ -]\d{2,6}){2,7}(?![A-Za-z0-9_])|[A-Za-z0-9_]+(?:[-./#][A-Za-z0-9_]+)*))",
    re.IGNORECASE,
)

# What any scan rule needs before it can fire: a quote; three digits in a row (identifier shapes, years); a dated
# digit group (7/30/58, 30.07.1958); an MBI's head (1EG4); a number or an obfuscated "?" before a word (addresses).
_NEEDS_SCAN = re.compile(
    r"['\"“‘«]|\d{3}|\d[-/.]\d{1,2}[-/.]\d|[1-9][A-Za-z][A-Za-z0-9]\d|(?:\d|\?)\s{1,3}[^\W\d_]"
)
_HEX_ID = re.compile(
    r"(?:0x)?[0-9a-f]{16}|(?:0x)?[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|0x[0-9a-f]{1,16}"
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    re.IGNORECASE,
)
_VERSION = re.compile(r"v?\d{1,4}(?:\.\d{1,4}){1,3}(?:[-+.]?[A-Za-z][A-Za-z0-9.]*)?", re.IGNORECASE)
_SSN_DOTTED = re.compile(r"\d{3}\.\d{2}\.\d{4}")
_DECIMAL = re.compile(r"\d+\.\d+")
# Epoch timestamps: seconds with a fraction, or milli/micro/nanoseconds (a bare 10-digit number may be an account).
_EPOCH = re.compile(r"1[5-9]\d{8}(?:\.\d{1,9}|\d{3}|\d{6}|\d{9})")
_UNIT = re.compile(
    r"\d+(?:\.\d+)?(?:ms|s|sec|secs|us|µs|ns|m|min|h|hrs|d|b|kb|kib|mb|mib|gb|gib|tb|px|hz|khz|mhz|ghz|x|rps|qps)",
    re.IGNORECASE,
)
_UNIT_AFTER = re.compile(
    r"\s?(?:ms|s|sec|secs|seconds|second|us|µs|microseconds|ns|minutes|min|mins|hours|h|bytes|byte|b|kb|kib|mb|mib"
    r"|gb|gib|rows|row|items|item|records|record|spans|span|requests|request|req/s|queries|query|times|tasks|task"
    r"|messages|message|events|event|ops|entries|keys|objects|files|lines|chars|characters|points|samples|%)\b",
    re.IGNORECASE,
)
# A number after one of these words counts something of ours, not a person.
_SAFE_BEFORE = frozenset({
    "pid", "ppid", "tid", "port", "line", "lineno", "errno", "thread", "build", "version", "offset", "size",
    "length", "len", "count", "total", "limit", "timeout", "attempt", "retry", "retries", "worker", "workers",
    "status", "code", "took", "after", "elapsed", "duration", "in", "max", "min", "maxsize", "bytes", "uid", "gid",
    "fd", "seq", "sequence", "savepoint", "process", "transaction", "txid", "xid", "lsn", "job", "connection", "generation", "epoch", "step", "batch", "chunk", "queue", "backlog", "capacity",
})
_AFTER_IP = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}['\"]?,\s?$")
_ROLE_AFTER = re.compile(r":[A-Z] ")
_AFTER_STATUS = re.compile(r"\"\s[1-5]\d\d\s$")
_WORD_BEFORE = re.compile(r"([A-Za-z_]+)[\s:=#]{1,3}$")

# Quoted literals that are code, not data: identifiers, dotted paths, type names.
_CODE_LITERAL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:[.:]{1,2}[A-Za-z_][A-Za-z0-9_]*)*")
_CAMEL = re.compile(r"[a-z][A-Z]|^[A-Z]{2,}[a-z]")
# A literal made only of format directives ('%s', '%(name)s', '{0}', '%Y-%m-%d'): a template, not data.
_FORMAT_ONLY = re.compile(r"(?:%(?:\([^)]{1,40}\))?[-#0 +]*\d*(?:\.\d+)?[a-zA-Z%]|\{[^{}]{0,40}\}|[\s:=,./_-])+")
_CODE_WORDS = frozenset({
    "localhost", "maxmemory", "endblock", "endif", "endfor", "endwith", "endcomment", "endspaceless", "endverbatim",
    "endautoescape", "endfilter", "endifchanged", "endblocktrans", "elif", "csrf_token",
    "http", "https", "ftp", "ws", "wss", "tcp", "udp", "tls", "ssl", "utf-16", "md5", "sha1", "sha256",
    "str", "int", "float", "bool", "bytes", "dict", "list", "tuple", "set", "frozenset", "object", "type", "none",
    "nonetype", "function", "method", "module", "null", "true", "false", "self", "cls", "args", "kwargs", "utf-8",
    "get", "post", "put", "patch", "delete", "head", "options", "default", "id", "pk", "slug", "format", "json",
    "html", "xml", "csv", "text", "plain", "ascii", "utf8", "latin-1",
})


class NameFinderLike(Protocol):
    def spans(self, text: str) -> list[tuple[int, int]]: ...

    def is_name(self, value: str) -> bool: ...

    def lookup(self, token: str) -> int: ...


class FreeTextFilter:
    """Masks quoted literals, dates, identifier shapes and names in free text.

    ``token`` turns (placeholder, original value) into what is written (a placeholder, or an HMAC pseudonym).
    ``is_common_word`` (optional) keeps quoted single words that are ordinary vocabulary (``KeyError: 'email'``).
    """

    def __init__(
        self,
        names: NameFinderLike | None,
        token: Callable[[str, str], str],
        is_common_word: Callable[[str], bool] | None = None,
    ) -> None:
        self.names = names
        self._token = token
        self._common = is_common_word

    def apply(self, text: str, found: list[str], depth: int = 0) -> str:
        out: list[str] = []
        last = 0
        # Quotes, dates and identifier shapes all need a quote character or a digit: most values have neither.
        matches = _SCAN.finditer(text) if _NEEDS_SCAN.search(text) else ()
        for m in matches:
            kind = m.lastgroup
            if kind == "ph":
                continue
            start, end = m.span()
            replacement: str | None = None
            if kind == "quote":
                inner = next(g for g in m.group("q1", "q2", "q3", "q4", "q5") if g is not None)
                verdict = KEEP if _code_context(text, start, end) else self._quoted(inner)
                q_open, q_close = text[start], text[end - 1]
                if verdict is MASK:
                    replacement = f"{q_open}{self._token(QUOTED, inner)}{q_close}"
                    found.append("quoted")
                elif verdict is SCAN and depth < 3:
                    scanned = self.apply(inner, found, depth + 1)
                    if scanned != inner:
                        replacement = f"{q_open}{scanned}{q_close}"
            elif kind == "date":
                if m.group("time") is None:  # a timestamp with a time part is ours, not a birth date
                    replacement = self._token(DATE, m.group())
                    found.append("date_text")
            elif kind == "addr":
                replacement = self._token(ADDRESS, m.group())
                found.append("address_text")
            elif kind == "tok":
                value = m.group()
                if _identifier_shaped(value) and not _safe_number(text, start, end, value):
                    replacement = self._token(ID, value)
                    found.append("identifier_text")
            if replacement is not None:
                out.append(text[last:start])
                out.append(replacement)
                last = end
        if out:
            out.append(text[last:])
            text = "".join(out)
        return self._mask_names(text, found)

    # ------------------------------------------------------------------ names

    def _mask_names(self, text: str, found: list[str]) -> str:
        names = self.names
        if names is None:
            return text
        if hasattr(names, "scan"):
            found_spans, unknown = names.scan(text, 2)  # one pass over the words for both
        else:
            found_spans, unknown = names.spans(text), _RUN_TOKEN.findall(text)
        spans = found_spans + self._unknown_runs(text, names, found_spans, unknown)
        if not spans:
            return text
        spans = _merge_runs(text, sorted(spans))
        out: list[str] = []
        last = 0
        for start, end in spans:
            if start < last:  # overlapping runs: extend the previous one
                if end > last:
                    out[-1] = self._token(NAME, text[start:end])
                    last = end
                continue
            if "[" in text[start:end]:
                continue  # never mask across one of our placeholders
            out.append(text[last:start])
            out.append(self._token(NAME, text[start:end]))
            found.append("name_text")
            last = end
        if not out:
            return text
        out.append(text[last:])
        return "".join(out)

    def _unknown_runs(
        self, text: str, names: NameFinderLike, found_spans: list[tuple[int, int]], candidates: list[str]
    ) -> list[tuple[int, int]]:
        """Words in no list at all (neither a name nor an English or technical word) are names when they stand
        next to a name ("oluwaseun brokusste", "datrezoundbo, [NAME]") or next to each other ("xiaoling
        rantainbroun"): the lexicon cannot know every surname, and ordinary text is made of known words."""
        lookup = getattr(names, "lookup", None)
        if lookup is None:
            return []
        # Fast path: no word in no list, or a single one with no name to stand next to.
        unknown = sum(1 for w in candidates if self._unknown_word(w, lookup))
        if unknown == 0 or (unknown == 1 and not found_spans and "[NAME" not in text):
            return []
        tokens = []  # (start, end, kind): N name/placeholder, U unknown word, O anything else
        for m in _RUN_TOKEN.finditer(text):
            word = m.group()
            if word.startswith("[NAME"):
                kind = "N"
            elif any(a <= m.start() and m.end() <= b for a, b in found_spans):
                kind = "N"
            else:
                flags = lookup(word) if len(word) >= 2 else -1
                if (flags == 0 or "-" in word and not flags & _NAME_FLAG) and self._unknown_word(word, lookup):
                    kind = "U"
                elif flags > 0 and flags & _NAME_FLAG:
                    kind = "A"  # a name that is also a word ("roe", "will"): only inside a run that has a name
                else:
                    kind = "O"
            tokens.append((m.start(), m.end(), kind))
        spans: list[tuple[int, int]] = []
        i = 0
        while i < len(tokens):
            j = i
            while j + 1 < len(tokens) and tokens[j + 1][2] != "O" and tokens[j][2] != "O" and _JOIN.fullmatch(text[tokens[j][1]:tokens[j + 1][0]]):
                j += 1
            run = tokens[i : j + 1]
            kinds = [k for _, _, k in run]
            # Unknown words alone make a name only in one case style ("xiaoling rantainbroun", "XIAOLING
            # RANTAINBROUN"), not "Kubernetes SIGTERM".
            styles = {_case_style(text[a:b]) for a, b, k in run if k == "U"}
            if "N" in kinds or (kinds.count("U") >= 2 and len(styles) == 1 and "mixed" not in styles):
                # mask each stretch of U/A words (the N parts are the finder's spans or placeholders already)
                seg: list[int] = []
                for start, end, kind in run + [(0, 0, "N")]:
                    if kind in "UA" and ("N" in kinds or kind == "U"):
                        seg = [seg[0] if seg else start, end]
                    else:
                        if seg:
                            spans.append((seg[0], seg[1]))
                        seg = []
            i = j + 1
        return spans

    def _unknown_word(self, word: str, lookup: Callable[[str], int]) -> bool:
        """In no list: not a name, not an English or technical word, nor a plural, contraction or compound of one."""
        if len(word) < 4 or _CAMEL.search(word[1:]) or (word.isupper() and len(word) <= 4):
            return False  # code identifiers, acronyms (SSL, RDB)
        common = self._common
        if common is not None and common(word):
            return False
        bare = word.replace("’", "'")
        if "'" in bare:
            return False  # can't, patient's: contractions and possessives of words
        if "-" in bare:
            # al-Sayed, bin-Talal, okonkwo-adebayo: parts in no list, or name particles before them
            parts = [p for p in bare.split("-") if p]
            namely = [bool(lookup(p) & _NAME_FLAG) or (lookup(p) == 0 and not (common and common(p))) for p in parts]
            return any(namely) and all(n or p.lower() in _NAME_PARTICLES for p, n in zip(parts, namely))
        lowered = bare.lower()
        for suffix in ("es", "s", "ed", "ing"):
            stem = lowered[: -len(suffix)]
            if lowered.endswith(suffix) and len(stem) >= 3 and (lookup(stem) or (common and common(stem))):
                return False  # datetimes, retried: inflections of known words
        return True

    # ------------------------------------------------------------------ quoted literals

    def bare_value_is_data(self, value: str) -> bool:
        """A value on its own (a log argument): wholly a name, or words that are neither code nor vocabulary
        ('Canaryson', 'okonkwo'), is data about someone; sentences are left to the free-text pass."""
        stripped = value.strip()
        if not stripped or not any(c.isalpha() for c in stripped):
            return False
        if self.names is not None and self.names.is_name(stripped):
            return True
        return self._quoted(stripped) is MASK

    def _quoted(self, inner: str) -> object:
        """KEEP a quoted literal that is code or vocabulary, SCAN one that is a sentence (its words are judged
        like any free text), MASK a value: user input quoted back ('amara okafor', 'Canaryson')."""
        if not any(c.isalpha() for c in inner):
            return SCAN  # numbers, IPs, dates: the digit and date rules judge them as if unquoted
        if len(inner) <= 1 or inner[0] == "\\":
            return KEEP
        host, colon, port = inner.rpartition(":")
        if colon and port.isdigit() and len(port) <= 5 and host and " " not in host:
            inner = host  # 'internal-lb:8000': judge the host, the port is a number of ours
        if _REQUEST_LINE.fullmatch(inner) or _FORMAT_ONLY.fullmatch(inner):
            return KEEP  # "GET /api/x/ HTTP/1.1" (the path was scanned by the path detector), '%Y-%m-%d'
        words = inner.split()
        if len(words) == 1:
            return KEEP if self._code_word(inner) else MASK
        if self._mask_names(inner, []) != inner:
            return MASK  # a quoted value with a person's name in it is input quoted back: all of it goes
        if any(c.isdigit() for c in inner):
            return SCAN  # dates and identifiers inside ('January 01, 2000'): judged word by word
        if len(words) >= 3 and self._common is not None:
            plain = sum(1 for w in _ALPHA_WORD.findall(inner) if w.islower() and self._common(w))
            if plain >= 2:
                return SCAN  # 'Timeout reading from socket': a message, not a value
        return KEEP if all(self._code_word(w) for w in words if any(c.isalpha() for c in w)) else MASK

    def _code_word(self, word: str) -> bool:
        """One token: code (identifiers, dotted paths, slugs, paths, constants) or ordinary vocabulary."""
        word = word.strip(".,;:()[]{}<>!?")
        if not word or not any(c.isalpha() for c in word):
            return True
        lowered = word.lower()
        if lowered in _CODE_WORDS:
            return True
        runs = [len(r) for r in re.findall(r"\d+", word)]
        if max(runs, default=0) >= (5 if "_" in word or "/" in word else 4) or _MBI.fullmatch(word):
            return False  # an identifier-shaped number inside ('MRN-00123456', 'p_123456789', an MBI)
        parts = [p for p in _WORD_SPLIT.split(word) if p]
        if self.names is not None and self.names.is_name(" ".join(parts)):
            return False
        if _CODE_LITERAL.fullmatch(word) and ("_" in word or "." in word or ":" in word or _CAMEL.search(word)):
            return True  # snake_case, dotted.paths, CamelCase, HTTP_HOST
        if word.isupper() and (len(word) <= 4 or "_" in word or (self._common is not None and self._common(lowered))):
            return True  # constants, SQL keywords ('ORDER', 'GET', 'MAX_RETRIES'); not 'KAZUMOR
        if _SLUG.fullmatch(word) and any(c in word for c in "-./:@"):
            # slugs, paths, URLs, images (clinic-web, redis:7.2.4-alpine, /srv/app/media) unless parts read as a
            # name (amara-okafor.example, chidinma-brandvold: lexicon names or a run of words in no list)
            joined = " ".join(parts)
            return self._mask_names(joined, []) == joined
        return self._common is not None and self._common(word)


KEEP, SCAN, MASK = object(), object(), object()
_WORD_SPLIT = re.compile(r"[-._/:@~+]+")
_SLUG = re.compile(r"[A-Za-z0-9/.~][A-Za-z0-9._/:@~+-]*")
_ALPHA_WORD = re.compile(r"[A-Za-z]+")


def _merge_runs(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans of one name run (only spaces or a "Last, First" comma between them) become one: "[NAME]", not
    "[NAME] [NAME]"."""
    merged = [spans[0]]
    for start, end in spans[1:]:
        prev_start, prev_end = merged[-1]
        if start <= prev_end or _JOIN.fullmatch(text[prev_end:start]):
            merged[-1] = (prev_start, max(prev_end, end))
        else:
            merged.append((start, end))
    return merged


def _case_style(word: str) -> str:
    if word.isupper():
        return "upper"
    if word.islower():
        return "lower"
    parts = [p for p in re.split(r"[-'’]", word) if p]
    if all(p[:1].isupper() and (len(p) == 1 or p[1:].islower()) for p in parts):
        return "title"  # Al-Sayed, O'Brien
    return "mixed"


def _code_context(text: str, start: int, end: int) -> bool:
    """Quotes that code writes around code: traceback file paths (File "/app/views.py"), SQL identifier
    chains ("clinic_patient"."dob")."""
    return (
        text[max(0, start - 5) : start] == "File "
        or text[end : end + 2] in ('."', ".'")
        or text[max(0, start - 2) : start] in ('".', "'.")
        or _SQL_BEFORE.search(text, max(0, start - 12), start) is not None
        or _SQL_PARAM_AFTER.match(text, end) is not None  # "status" = %s: a column compared with a parameter
    )


_REQUEST_LINE = re.compile(r"(?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|TRACE|CONNECT) [^\s?#]{1,2000} HTTP/\d(?:\.\d)?")
_SQL_PARAM_AFTER = re.compile(r"\s?(?:=|<>|!=|<=|>=|<|>|IN|LIKE)\s?(?:%s|\?|\$\d|%\([^)]{1,40}\)s)", re.IGNORECASE)
_SQL_BEFORE = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE|ON|EXISTS|INDEX|SAVEPOINT)\s$")


def _is_placeholder(text: str) -> bool:
    return re.fullmatch(_PLACEHOLDER, text) is not None


# Medicare Beneficiary Identifier: 11 characters, digits and letters interleaved (1EG4-TE5-MK73).
_MBI = re.compile(r"[1-9][A-Z][A-Z0-9]\d-?[A-Z][A-Z0-9]\d-?[A-Z]{2}\d{2}", re.IGNORECASE)


_DIGIT_RUN = re.compile(r"\d+")


def _identifier_shaped(value: str) -> bool:
    """Digits only: five or more, with a run of three (SSN, MRN, ZIP, phone, card numbers; not ip-10-0-0-5 or
    1.2.3.4.5). Letters and digits: a run of four digits (member, licence, account numbers) or an MBI."""
    if len(value) < 4:
        return False
    runs = [len(r) for r in _DIGIT_RUN.findall(value)]
    longest = max(runs, default=0)
    if not any(c.isalpha() for c in value):
        return sum(runs) >= 5 and longest >= 3
    if "_" in value:  # code identifiers (clinic.0042_add_field, audit_event_p2025_03): five in a row
        return longest >= 5
    return longest >= 4 or (sum(runs) >= 3 and _MBI.fullmatch(value) is not None)


def _safe_number(text: str, start: int, end: int, value: str) -> bool:
    """Known-safe forms of digit-bearing tokens: ids we generate, versions, measurements, ports, counts."""
    if _EPOCH.fullmatch(value):
        return True  # before the decimal rule: the digits before the point are the identifier-shaped part
    if _HEX_ID.fullmatch(value) or _UNIT.fullmatch(value) or _DECIMAL.fullmatch(value) and len(value.split(".")[0]) < 5:
        return True
    if _VERSION.fullmatch(value) and not _SSN_DOTTED.fullmatch(value):
        return True
    if value.isdigit() and len(value) <= 7 and text[start - 1 : start] == "[" and text[end : end + 1] == "]":
        return True  # [12345]: a process id in a log prefix (gunicorn, Celery)
    if start == 0 and value.isdigit() and _ROLE_AFTER.match(text, end):
        return True  # Redis: "25595:C 3 Sep 2025 ..." (pid:role)
    if not value.strip("0"):
        return True  # 00000000: a zero hash or filler, not anyone's number
    if start > 1 and text[start - 1] == ":" and (text[start - 2].isalnum() or text[start - 2] == "]"):
        port = value.split("/", 1)[0]
        if port.isdigit() and len(port) <= 5 and int(port) <= 65535:
            return True  # host:port, host:port/db
    if value.isdigit():
        if _EPOCH.fullmatch(value):
            return True
        if _UNIT_AFTER.match(text, end):
            return True
        if _AFTER_IP.search(text, max(0, start - 24), start):
            return True  # ('127.0.0.1', 51234): a socket address
        if _AFTER_STATUS.search(text, max(0, start - 8), start):
            return True  # access log: "GET / HTTP/1.1" 200 18231 (the response size)
    before = _WORD_BEFORE.search(text, max(0, start - 24), start)
    if before and before.group(1).lower() in _SAFE_BEFORE:
        return True
    return False


# Words (Latin letters, inner apostrophes/hyphens) not glued to code (digits, _, ., @), and our [NAME] placeholders;
# a '/' is a separator (path segments are judged like words, see names._lone_path_segment).
_RUN_TOKEN = re.compile(
    r"\[NAME(?::[0-9a-f]{6,16})?\]|(?<![\w.@\\-])[^\W\d_]+(?:['’-][^\W\d_]+)*(?![\w@\\(]|[.:-][\w/])"
)
_NAME_PARTICLES = frozenset("al el bin ibn abu bint de da di du la le van von der den ter".split())
_NAME_FLAG = 1  # names.NAME: the lexicon's name bit
_JOIN = re.compile(r" {1,2}|, ?")  # within one name run: spaces, or the comma of "Last, First"


# --------------------------------------------------------------------------- stack traces

_FRAME_LINE = re.compile(r'\s*File "[^"\n]*", line \d+(?:, in \S+)?\s*$')
_MARKER_LINE = re.compile(r"\s*[~^\s]+$")
_FIXED_LINES = frozenset({
    "Traceback (most recent call last):",
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
})


_WARNING_HEAD = re.compile(r"[^\n]{1,300}\.py:\d+: \w*(?:Warning|Error): ")


def looks_like_traceback(text: str) -> bool:
    """A multi-line traceback or ``warnings`` text (file:line: Category: message / indented source line)."""
    return "\n" in text and ("Traceback (most recent call last):" in text or '  File "' in text or _WARNING_HEAD.match(text) is not None)


def scrub_stacktrace(text: str, scrub_message: Callable[[str], str], scrub_code: Callable[[str], str]) -> str:
    """A Python traceback keeps its frames (paths, line numbers, functions) verbatim and its source lines as
    code (pattern detectors only); every other line (the exception messages, notes) is free text."""
    out = []
    code_next = False
    for line in text.split("\n"):
        stripped = line.strip()
        head = _WARNING_HEAD.match(line)
        if head:  # warnings: "/app/x.py:12: DeprecationWarning: message", then the source line
            out.append(head.group() + scrub_message(line[head.end() :]))
            code_next = True
            continue
        if _FRAME_LINE.match(line):
            out.append(line)
            code_next = True
            continue
        if code_next and line.startswith("  ") and stripped:
            out.append(scrub_code(line))  # the frame's source line: code, not free text
            code_next = False
            continue
        code_next = False
        if not stripped or stripped in _FIXED_LINES or _MARKER_LINE.match(line) or stripped.startswith("[Previous line repeated"):
            out.append(line)
            continue
        out.append(scrub_message(line))
    return "\n".join(out)

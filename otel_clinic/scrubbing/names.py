"""Person names in free text, found with a shipped name lexicon (no context word needed).

Log messages, exception messages and attribute values carry bare patient names ("created patient amara okafor",
"OKAFOR, AMARA"). Context patterns miss them and NER is too slow and misses lower-case names, so this follows
the clinical de-identification tools (PhysioNet deid / pyDeid, Philter): a dictionary of names split into
*unambiguous* names (not an English or technical word: "okafor", "nguyen"), which are hits on their own, and
*ambiguous* ones ("grace", "baker", "will", "page"), which need an indicator: an honorific (Mr, Dr), a clinical
context word (patient, nurse), ``Last, First``, ", MD" after, a Title-case first+last pair, or a neighbouring
name. A hit grows to the whole run of adjacent name tokens, so a masked first name never leaves the surname.

The lexicon (190k keys: 128k names plus 62.6k known non-name words; built by scripts/build_name_lexicon.py,
sources in data/NAMES-SOURCES.md) is held as an open-addressing table of 26-bit fingerprints of ``hash(key)``
plus 6 flag bits in one ``array('I')`` of 2^19 slots (2 MiB RSS; the same keys as a ``frozenset[str]`` measured
20 MiB). A word that is not in the lexicon matches a stored fingerprint with probability ~2e-8 per lookup
(about 1.2 probes at load 0.36, 2^-26 each); ``hash`` is per-process, so such a collision is not reproducible.
Measured figures: benchmarks/names.py.
"""
from __future__ import annotations

import gzip
import hashlib
import re
import threading
from array import array
from collections.abc import Callable
from importlib import resources

__all__ = ["NameFinder", "default_name_finder", "LEXICON_FORMAT"]

LEXICON_FORMAT = "otel-clinic-names/1"
_DATA = "names.txt.gz"
_WORD_CACHE = 4096  # bound of the known-word cache (~0.4 MB)

# Flag bits stored with each key (letters as written by the build script).
# WORD: a known word that is not a name (English dictionary or vocabulary), so a run never takes it in.
NAME, AMB, FIRST, LAST, TECH, WORD = 1, 2, 4, 8, 16, 32
_LETTER_FLAGS = {"A": AMB, "F": FIRST, "L": LAST, "T": TECH, "W": WORD}
_FLAG_BITS = 6
_FLAG_MASK = (1 << _FLAG_BITS) - 1
_FP_MASK = (1 << 26) - 1

# Token kinds besides lexicon flags (kept in a separate int so a token can be both, e.g. "van").
_PARTICLE, _INITIAL, _HONORIFIC, _CONTEXT, _WEAK, _CRED, _KWORD = 1, 2, 4, 8, 16, 32, 64

_L = r"[^\W\d_]"  # a letter, any script (the lexicon holds Latin-script names only)
# A word of letters with inner apostrophes/hyphens ("O'Brien", "Jean-Luc", "Peña", "Łukasz"), but not part of an
# identifier, dotted name, host, e-mail or URL: no word char . @ \ - before it, none after it, and not followed by
# ".x", ":x", "-1", "(", "://". A '/' separates like a space: path segments are words here, and a lone one is not a
# name (_lone_path_segment: "Europe/Berlin", "/static/Jackson/").
_TOKEN = re.compile(
    rf"(?<![\w.@\\\-]){_L}+(?:['’\-]{_L}+)*(?![\w@\\(]|[.:\-'’][\w/])"
)



def _lone_path_segment(toks: list, gap: Callable[[int], str], run: list[int], text: str) -> bool:
    """One word glued to a '/' on its own ("Europe/Berlin", "/static/Jackson/") is a path or zone segment, not a
    name. Not lone when a name or a word in no list stands next to it across a space or comma: the segment holds a
    name ("/patients/Maria Garcia/", "/gate/Oluwaseun Adeyemi/", "/p/Brurristol, Chukwuemeka/")."""
    if len(run) != 1:
        return False
    k = run[0]
    start, end = toks[k][0], toks[k][1]
    if text[start - 1:start] != "/" and text[end:end + 1] != "/":
        return False

    def partner(j: int) -> bool:  # a name, or a word in no list (no vocabulary/context bits, not code-shaped)
        t = toks[j]
        return bool(t[3]) or (not t[4] and len(t[2]) >= 4 and bool(t[5]))

    if k > 0 and gap(k - 1) in ("s", "c") and partner(k - 1):
        return False
    if k + 1 < len(toks) and gap(k) in ("s", "c") and partner(k + 1):
        return False
    return True


# Honorifics: the next name-ish token is a name even if it is a common word ("Dr Page", "Mrs Will").
_HONORIFICS = frozenset(
    "mr mrs ms miss mx dr doctor prof professor sir dame rev sr sra srta herr frau mme mlle madame monsieur "
    "senor señor senora señora".split()
)
# Strong context: clinical roles and relations that name a person next.
_CONTEXTS = frozenset(
    "patient pt patients nurse physician provider pcp surgeon clinician attending referring caregiver guardian "
    "mother father son daughter wife husband spouse sibling brother sister grandmother grandfather aunt uncle "
    "named dear attn hi hello nok".split()
)
# Weak context: only before a lower/any-case first-name + surname pair ("prescription for grace baker").
_WEAK_WORDS = frozenset("for by to with from and or of about regarding re cc".split())
_CREDENTIALS = frozenset("md rn np pa do dds dmd phd pharmd dnp aprn lpn cna facs mbbs crna msn bsn".split())
_PARTICLES = frozenset(
    "de la le du da di del della dos das do van von der den ten ter bin binti bint ibn al el abu st dei degli zu y"
    .split()
)
# word -> token-kind bits, one dict lookup per word instead of five set tests.
_SPECIAL: dict[str, int] = {}
for _words, _kind in ((_PARTICLES, _PARTICLE), (_HONORIFICS, _HONORIFIC), (_CONTEXTS, _CONTEXT),
                      (_WEAK_WORDS, _WEAK), (_CREDENTIALS, _CRED)):
    for _w in _words:
        _SPECIAL[_w] = _SPECIAL.get(_w, 0) | _kind
del _words, _kind, _w
# Internal capitals that names have and code identifiers mostly do not ("McDonald", "DeShawn", "MacArthur").
_CONTRACTIONS = ("n't", "'re", "'ll", "'ve", "'m", "'d", "n’t", "’re", "’ll", "’ve", "’m", "’d")
_NAME_CAMEL = re.compile(r"(?:Mc|Mac|Fitz|De|Di|Da|Du|La|Le|Van|Von|St)(?=[^\W\d_a-z])")
# Between two tokens of one run: spaces only (an initial may keep its period).
_GAP_SPACE = re.compile(r"[ \t+]{1,2}")  # "+": form-encoded space ("name=Jane+Roe")
_GAP_INITIAL = re.compile(r"\.?[ \t]{1,2}|\.")
_GAP_COMMA = re.compile(r",[ \t]{0,2}")


def _shape(tok: str) -> str:
    """'l' lower, 'u' UPPER, 't' Title (incl. O'Brien, Jean-Luc, McDonald), '' anything else (CamelCase code)."""
    if tok.endswith(("'s", "’s")):
        tok = tok[:-2]  # possessive: "Okafor's"
    if tok.islower():
        return "l"
    if tok.isupper():
        return "u"
    if tok.istitle():
        return "t"
    head, sep, tail = tok.partition("-")
    if sep and head.istitle() and tail.replace("-", "").islower():
        return "t"  # "Min-jun", "Ji-woo"
    m = _NAME_CAMEL.match(tok)
    if m and tok[m.end():].istitle():
        return "t"
    return ""


class NameFinder:
    """Finds person names in free text (``spans``) and decides whether a whole value is a name (``is_name``)."""

    def __init__(self, keys: dict[str, int] | None = None, *, table_bits: int = 19) -> None:
        # keys: mapping key -> flags, for tests; None loads the shipped lexicon.
        self._bits = table_bits
        self._mask = (1 << table_bits) - 1
        self._table = array("I", [0]) * (1 << table_bits)  # no 2 MB temporary bytes (load peak)
        self.header = ""
        self.count = 0
        # Known non-name words seen in text -> flags: log vocabulary repeats, and a dict hit is ~5x cheaper than
        # a table probe. Only WORD results are cached (never names or unknown words: no PHI kept in memory).
        self._words: dict[str, int] = {}
        if keys is None:
            self._load_shipped()
        else:
            for k, f in keys.items():
                self._insert(k, f if f & WORD else f | NAME)

    # -- lexicon -----------------------------------------------------------------------------------------------
    def _insert(self, key: str, flags: int) -> None:
        h = hash(key)
        i = h & self._mask
        entry = (((h >> self._bits) & _FP_MASK) << _FLAG_BITS) | flags
        t = self._table
        while t[i]:
            if t[i] >> _FLAG_BITS == entry >> _FLAG_BITS:
                t[i] |= flags
                return
            i = (i + 1) & self._mask
        t[i] = entry
        self.count += 1
        if self.count > (self._mask + 1) * 0.7:
            raise ValueError("name table too full: raise table_bits")

    def _load_shipped(self) -> None:
        ref = resources.files("otel_clinic.scrubbing").joinpath("data", _DATA)
        # Stream the lines (never the whole 1.7 MB text or 190k str objects at once): keeps the load peak low.
        with ref.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8", newline="\n") as fh:
            self.header = fh.readline().rstrip("\n")
            if not self.header.startswith(LEXICON_FORMAT + " "):
                raise ValueError(f"unexpected name lexicon format: {self.header[:60]!r}")
            flags = NAME
            insert = self._insert
            for line in fh:
                key = line[:-1] if line.endswith("\n") else line
                if key.startswith("@"):
                    flags = 0 if "W" in key else NAME
                    for letter in key[1:]:
                        flags |= _LETTER_FLAGS[letter]
                else:
                    insert(key, flags)

    def lookup(self, token: str) -> int:
        """Lexicon flags of one word (NAME bit set for names; WORD for known non-names; 0 unknown).
        Case, apostrophes and a possessive 's are ignored."""
        key = token.lower()
        if "'" in key or "’" in key:
            if key.endswith(_CONTRACTIONS):
                return 0  # "aren't", "we'll"
            if key.endswith(("'s", "’s")):
                key = key[:-2]
            key = key.replace("'", "").replace("’", "")
        flags = self._get(key)
        if not flags & NAME and "-" in key:
            # "Smith-Jones", "Jean-Luc": a name if every part is; unambiguous if any part is.
            flags = NAME | AMB
            for part in key.split("-"):
                f = self._get(part) if len(part) > 1 else 0
                if not f & NAME:
                    return 0
                if not f & AMB:
                    flags &= ~AMB
                flags |= f & (FIRST | LAST)
        return flags

    def _get(self, key: str) -> int:
        h = hash(key)
        mask = self._mask
        i = h & mask
        fp = (h >> self._bits) & _FP_MASK
        t = self._table
        v = t[i]
        while v:
            if v >> _FLAG_BITS == fp:
                return v & _FLAG_MASK
            i = (i + 1) & mask
            v = t[i]
        return 0

    # -- free text -----------------------------------------------------------------------------------------------
    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) offsets of whole name runs to mask in free text, in order, non-overlapping."""
        return self.scan(text)[0]

    def scan(self, text: str, unknown_limit: int = 0) -> tuple[list[tuple[int, int]], list[str]]:
        """``spans(text)`` and, in the same pass over the words, up to ``unknown_limit`` words of 4+ letters in no
        list at all (neither a name nor a known word): the free-text filter's other input."""
        if len(text) < 2:
            return [], []
        found = _TOKEN.findall(text)
        if not found:
            return [], []
        # Fast path: most values have no lexicon word at all, or only lower-case ambiguous words with no
        # indicator before them ("retry scheduled for page view"). Adjacency here is approximate (findall drops
        # the separators); the slow path checks it exactly.
        special = _SPECIAL
        state = 0  # 1: after an honorific/context word, 2: after a weak word, 3: after weak word + first name
        prev_cap = False  # previous word was a capitalised ambiguous name ("Grace" of "Grace Baker")
        unknown: list[str] = []
        hit = False
        for tok in found:
            if len(tok) < 2:
                continue  # an initial is never a name on its own
            f = self._word_flags(tok)
            if f == 0 and len(tok) >= 4 and len(unknown) < unknown_limit:
                unknown.append(tok)
            if hit:
                if len(unknown) >= unknown_limit:
                    break
                continue
            if f & NAME:
                if not f & AMB or state == 1 or prev_cap or (state == 3 and f & LAST):
                    hit = True  # unambiguous name, indicator before, a pair of names (or "Last, First")
                    continue
                state = 3 if state == 2 and f & FIRST else 0
                prev_cap = tok[0].isupper()
                continue
            k = special.get(tok.lower(), 0)
            if k & _CRED and prev_cap:
                hit = True  # "Baker, MD"
                continue
            state = 1 if k & (_HONORIFIC | _CONTEXT) else 2 if k & _WEAK else 0
            prev_cap = False
        return (self._spans_slow(text) if hit else []), unknown

    def _word_flags(self, tok: str) -> int:
        """Lexicon flags of one token, known words served from (and added to) the bounded word cache."""
        low = tok.lower()
        f = self._words.get(low)
        if f is None:
            f = self.lookup(tok) if "'" in low or "-" in low or "’" in low else self._get(low)
            if f & WORD and len(self._words) < _WORD_CACHE:
                self._words[low] = f
        return f

    def _tokens(self, text: str) -> list[tuple[int, int, str, int, int, str]]:
        """(start, end, token, name flags or 0, kind bits, shape) for every word; the hot loop is inlined."""
        toks = []
        append = toks.append
        lookup = self.lookup
        get = self._get
        words = self._words
        special = _SPECIAL
        for m in _TOKEN.finditer(text):
            tok = m.group()
            if len(tok) == 1:
                append((m.start(), m.end(), tok, 0, _INITIAL if tok.isupper() else 0, "u" if tok.isupper() else "l"))
                continue
            if tok.islower():
                shape = "l"
            elif tok.isupper():
                shape = "u"
            else:
                shape = _shape(tok)
                if not shape:
                    append((m.start(), m.end(), tok, 0, 0, ""))  # CamelCase code: never a name
                    continue
            low = tok.lower()
            flags = words.get(low)
            if flags is None:
                flags = lookup(tok) if "'" in low or "-" in low or "’" in low else get(low)
            kind = special.get(low, 0)
            if kind & _CRED and shape == "l":
                kind &= ~_CRED  # "do", "pa" lower case are words; credentials are written MD, RN, PhD
            if flags & WORD:
                kind |= _KWORD
            append((m.start(), m.end(), tok, flags if flags & NAME else 0, kind, shape))
        return toks

    def _spans_slow(self, text: str) -> list[tuple[int, int]]:
        toks = self._tokens(text)
        n = len(toks)
        # gap(i): how token i joins token i+1: "s" spaces, "i" after an initial, "c" comma, "" not adjacent.
        # Computed on demand: only gaps next to name-ish tokens are ever looked at.
        gaps: dict[int, str] = {}

        def gap(i: int) -> str:
            g = gaps.get(i)
            if g is None:
                if i + 1 >= n or i < 0:
                    g = ""
                else:
                    a, b = toks[i], toks[i + 1]
                    between = text[a[1]:b[0]]
                    if between == " " or _GAP_SPACE.fullmatch(between):
                        g = "s"
                    elif a[4] & _INITIAL and _GAP_INITIAL.fullmatch(between):
                        g = "i"
                    elif _GAP_COMMA.fullmatch(between):
                        g = "c"
                    else:
                        g = ""
                gaps[i] = g
            return g

        def nameish(i: int) -> bool:
            return bool(toks[i][3]) or bool(toks[i][4] & (_PARTICLE | _INITIAL))

        def compatible(i: int, j: int) -> bool:
            # An ambiguous word joins a run only in the same case style: "Dr Okafor will" keeps "will".
            ti, tj = toks[i], toks[j]
            if ti[4] & _INITIAL or tj[4] & _INITIAL:
                return ti[5] != "l" and tj[5] != "l"
            if tj[4] & _PARTICLE or ti[4] & _PARTICLE:
                return True
            if not ti[3] & AMB and not tj[3] & AMB:
                return True
            return (ti[5] == "l") == (tj[5] == "l")

        # Runs of adjacent, case-compatible name-ish tokens.
        runs: list[list[int]] = []
        i = 0
        while i < n:
            if not nameish(i):
                i += 1
                continue
            run = [i]
            while run[-1] + 1 < n and nameish(run[-1] + 1) and gap(run[-1]) in ("s", "i") \
                    and compatible(run[-1], run[-1] + 1):
                run.append(run[-1] + 1)
            i = run[-1] + 1
            # particles neither start nor end a run ("de la Cruz" starts at "de" only as part of a longer run)
            while run and toks[run[-1]][4] & _PARTICLE and not toks[run[-1]][3] & ~AMB & ~NAME:
                run.pop()
            while run and toks[run[0]][4] & _PARTICLE and not toks[run[0]][3]:
                run.pop(0)
            if any(toks[k][3] for k in run):
                runs.append(run)

        seeds = [not _lone_path_segment(toks, gap, run, text)
                 and (any(toks[k][3] and not toks[k][3] & AMB for k in run) or self._indicated(toks, gap, run, text))
                 for run in runs]
        # "OKAFOR, AMARA", "Okafor, Grace", "Baker, Grace": a surname run, a comma, a first-name run.
        for r in range(len(runs) - 1):
            a, b = runs[r], runs[r + 1]
            if seeds[r] and seeds[r + 1] or b[0] != a[-1] + 1 or gap(a[-1]) != "c":
                continue
            if self._comma_pair(toks, a, b):
                seeds[r] = seeds[r + 1] = True

        result: list[tuple[int, int]] = []
        for run, seed in zip(runs, seeds):
            if seed:
                self._take_unknown(toks, gap, run)
                start, end = toks[run[0]][0], toks[run[-1]][1]
                if toks[run[-1]][4] & _INITIAL and text[end:end + 1] == ".":
                    end += 1
                if result and start <= result[-1][1]:
                    start = result[-1][0]  # two runs took in the same unknown word between them
                    result.pop()
                result.append((start, end))
        return result

    @staticmethod
    def _take_unknown(toks: list, gap: Callable[[int], str], run: list[int]) -> None:
        """A run that is a hit takes in up to two adjacent words the lexicon does not know at all, in the same
        case style: the other half of the name ("Chidinma Eze", "Hollis Brandvold"). Known words, vocabulary,
        context words and code-shaped tokens never join."""

        def unknown(k: int, ref: int) -> bool:
            t = toks[k]
            if t[3] or t[4] or len(t[2]) < 2 or not t[5]:
                return False
            return (t[5] == "l") == (toks[ref][5] == "l")

        for _ in range(2):
            k = run[0] - 1
            if k >= 0 and gap(k) == "s" and unknown(k, run[0]):
                run.insert(0, k)
        for _ in range(2):
            k = run[-1] + 1
            if k < len(toks) and gap(run[-1]) == "s" and unknown(k, run[-1]):
                run.append(k)

    @staticmethod
    def _comma_pair(toks: list, a: list[int], b: list[int]) -> bool:
        """``Last, First``: surname then a short first-name run, same capitalised case style."""
        if len(b) > 2:
            return False
        s = next((toks[k] for k in reversed(a) if toks[k][3]), None)
        f = next((toks[k] for k in b if toks[k][3]), None)
        if s is None or f is None or s[5] == "l" or f[5] != s[5]:
            return False
        return bool(s[3] & LAST or not s[3] & AMB) and bool(f[3] & FIRST or not f[3] & AMB)

    @staticmethod
    def _indicated(toks: list, gap: Callable[[int], str], run: list[int], text: str) -> bool:
        """Indicator for an all-ambiguous run: honorific/context before, credential after, or a name pair."""
        names = [k for k in run if toks[k][3]]
        first, last = run[0], run[-1]
        if first > 0 and gap(first - 1) in ("s", "i"):
            prev = toks[first - 1]
        elif first > 0 and text[toks[first - 1][1]:toks[first][0]] in (". ", ".  "):
            prev = toks[first - 1]  # "Dr. Page"
        else:
            prev = None
        if prev is not None:
            low = prev[2].lower()
            if prev[4] & _HONORIFIC:
                # "ms"/"pt"/"dr" lower case are also units and abbreviations: lower case only before a Title name
                if not (low in ("ms", "mr", "dr") and prev[5] == "l" and toks[first][5] == "l"):
                    return True
            if prev[4] & _CONTEXT:
                if toks[first][5] != "l" or len(names) >= 2:
                    return True
                after = text[toks[last][1]:toks[last][1] + 2]
                if after == "" or after[0] in ",.;:)]}'\"" or after == " (":
                    return True  # "created patient grace." but not "patient will be notified"
            if prev[4] & _WEAK and len(names) >= 2 and toks[names[0]][3] & FIRST and toks[names[-1]][3] & LAST:
                return True
        if last + 1 < len(toks) and toks[last + 1][4] & _CRED and gap(last) in ("c", "s"):
            return True  # "Grace Baker, MD", "Page RN"
        if len(names) >= 2 and toks[names[0]][5] != "l" and toks[names[0]][3] & FIRST \
                and toks[names[-1]][3] & LAST and all(toks[k][5] == toks[names[0]][5] for k in names):
            return True  # "Grace Baker", "GRACE BAKER": a Title/UPPER first-name + surname pair
        return False

    # -- isolated values -------------------------------------------------------------------------------------------
    def is_name(self, value: str) -> bool:
        """True if the whole value is a person name: 1-4 name words (plus particles, initials, one comma)."""
        v = value.strip().strip("'\"").strip()
        if len(v) < 2 or len(v) > 80:
            return False
        toks = list(_TOKEN.finditer(v))
        if not toks or toks[0].start() != 0 or toks[-1].end() != len(v):
            return False
        commas = 0
        names: list[tuple[str, int, str]] = []
        for a, b in zip(toks, toks[1:]):
            between = v[a.end():b.start()]
            if _GAP_SPACE.fullmatch(between):
                continue
            if _GAP_COMMA.fullmatch(between) and commas == 0:
                commas += 1
                continue
            if len(a.group()) == 1 and _GAP_INITIAL.fullmatch(between):
                continue
            return False
        if v.endswith(".") and not (len(toks[-1].group()) == 1):
            return False
        for m in toks:
            tok = m.group()
            shape = _shape(tok)
            if not shape:
                return False
            low = tok.lower()
            if len(tok) == 1:
                if shape != "u":
                    return False
                continue
            f = self.lookup(tok)
            if f & NAME:
                names.append((tok, f, shape))
            elif low not in _PARTICLES and low not in _CREDENTIALS:
                return False
        if not 1 <= len(names) <= 4:
            return False
        if len(names) == 1:
            tok, f, shape = names[0]
            # A lone lower-case word that is also technical vocabulary ("page", "will") is vocabulary.
            return not (f & AMB and f & TECH and shape == "l")
        if all(f & AMB for _, f, _ in names) and all(s == "l" for _, _, s in names):
            # "grace baker" yes, "long term"/"black box" no: lower-case ambiguous words need first + surname.
            a, b = (names[-1], names[0]) if commas else (names[0], names[-1])
            return bool(a[1] & FIRST) and bool(b[1] & LAST)
        return True


_default: NameFinder | None = None
_default_lock = threading.Lock()


def default_name_finder() -> NameFinder:
    """The process-wide finder over the shipped lexicon, loaded once on first use (thread-safe)."""
    global _default
    finder = _default
    if finder is None:
        with _default_lock:
            finder = _default
            if finder is None:
                finder = _default = NameFinder()
    return finder


def lexicon_body_sha256() -> tuple[str, str]:
    """(sha256 recorded in the shipped file's header, sha256 of its body): equal when the file is intact."""
    raw = resources.files("otel_clinic.scrubbing").joinpath("data", _DATA).read_bytes()
    text = gzip.decompress(raw).decode("utf-8")
    nl = text.index("\n")
    recorded = text[:nl].rsplit("sha256=", 1)[-1]
    return recorded, hashlib.sha256(text[nl + 1:].encode("utf-8")).hexdigest()

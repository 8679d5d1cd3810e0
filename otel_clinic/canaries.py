"""Fresh canary PHI for the leak audit, and the scanner that finds it again in any sink's text.

A `CanarySet` holds, for every injection channel, one fresh value of every Safe Harbor identifier kind the audit
covers (names of several origins and cases plus synthetic surnames that are in no name list, dates in five
formats, SSN / MRN / member id / MBI / licence / account numbers bare and in context, phone, e-mail, street
address, ZIP+4, IPv4, URL). Values are drawn from a random seed per run (`secrets` unless one is given), checked to
be unique across the whole set, so a canary found in a sink names the kind, the form and the channel it was sent
through.

`scan()` looks for each canary's *needles* in normalised views of a text (case-folded, accents stripped,
percent-decoded, HTML- and JSON-unescaped), so a value that came back re-cased, URL-encoded or JSON-escaped is
still found:

* digit needles (SSN, MRN, phone, ZIP+4, account, member id / licence digits, numeric date renderings) match a run
  of digit groups joined by ``space - . / ( )`` whose digits are exactly the needle (``078-05-1120``,
  ``078 05 1120`` and ``078051120`` all match; ``17078051120442`` inside a timestamp does not);
* token needles (a synthetic surname, an e-mail's random local part, a street name, ``Amara Okafor`` /
  ``Okafor, Amara``, ``30 Jul 1958``) match a sequence of word tokens;
* a real surname or first name right next to a placeholder (``[NAME] Okafor``, ``Amara [REDACTED]``) is a
  partial mask and counts as a leak.

Scrubbed placeholders (``[SSN]``, ``[NAME:3f9a0c2b1d]``, ``{id}``, ``?``) never match.
"""

from __future__ import annotations

import html
import json
import random
import re
import secrets
import string
import unicodedata
import urllib.parse
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

# ---------------------------------------------------------------------------------------------------------
# Name material. Real given names and surnames of several origins (public, common in US patient populations),
# kept free of letters without a Unicode decomposition (ł, ø, ß) so an ASCII-folded copy still matches.
REAL_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "west-african": (("Chidinma", "Oluwaseun", "Ngozi", "Adebayo", "Chukwuemeka", "Folasade"),
                     ("Okafor", "Okonkwo", "Adeyemi", "Nwachukwu", "Oyelaran", "Obiora")),
    "hispanic": (("Guadalupe", "Alejandro", "Lucía", "Xiomara", "Joaquín", "Itzel"),
                 ("Hernández", "Villalobos", "Quintanilla", "Zamora", "Echeverría", "Iturbide")),
    "south-asian": (("Priya", "Venkatesh", "Lakshmi", "Harpreet", "Anirudh", "Sunita"),
                    ("Raghunathan", "Chattopadhyay", "Venkataraman", "Sandhu", "Bhattacharya", "Subramaniam")),
    "east-asian": (("Xiaoling", "Hiroshi", "Minjun", "Yukiko", "Jiahui", "Thanh"),
                   ("Nakamura", "Takahashi", "Zhang", "Nguyen", "Kobayashi", "Huang")),
    "slavic": (("Wojciech", "Zofia", "Bogdan", "Katarzyna", "Dragomir", "Ludmila"),
               ("Kowalczyk", "Wiśniewski", "Szczepański", "Grabowska", "Jankowski", "Zieliński")),
    "arabic": (("Fatima", "Youssef", "Khalid", "Nour", "Abdulrahman", "Layla"),
               ("Al-Sayed", "Haddad", "Mansour", "El-Amin", "Khoury", "Abdelrahman")),
    "irish-english": (("Siobhán", "Declan", "Aoife", "Eamon", "Gwendolyn", "Thaddeus"),
                      ("O'Sullivan", "McGillicuddy", "Fitzgerald", "Whitcombe", "Donnelly", "Ashworth")),
    "nordic": (("Ingrid", "Björn", "Sigrid", "Torvald", "Astrid", "Solveig"),
               ("Lindqvist", "Haugen", "Björklund", "Johansson", "Söderberg", "Nyström")),
    "greek": (("Konstantinos", "Eleni", "Dimitrios", "Paraskevi", "Evangelos", "Theodora"),
              ("Papadopoulos", "Karamanlis", "Georgiou", "Theodorakis", "Christodoulou", "Vlachos")),
}
_ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "gr", "tr", "st", "th")
_VOWELS = ("a", "e", "i", "o", "u", "a", "e", "o", "ai", "ou")
_CODAS = ("", "", "", "", "", "n", "r", "l", "s", "nd")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"  # CMS MBI alphabet: no S, L, O, I, B, Z

KINDS = ("name", "date", "ssn", "mrn", "member_id", "mbi", "licence", "account", "phone", "email", "address",
         "zip4", "ip", "url")
GROUPS = ("names", "dates", "ids-context", "ids-bare")


def norm(text: str) -> str:
    """Case-folded, accents stripped: the form both needles and sink text are compared in."""
    folded = text.casefold()
    if folded.isascii():
        return folded
    return "".join(c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c))


_TOKEN = re.compile(r"[^\W_]+")
_DIGITS = re.compile(r"\d+")
# A run of digit groups joined by the separators identifiers are written with: 078-05-1120, (415) 732-8841,
# 07/30/1958, 203.0.113.9. Colons and letters break a run (timestamps, hex ids).
_DIGIT_RUN = re.compile(r"\d+(?:(?:[ \-./]|\) ?|\(|\)-)\d+)*")
_HEX_ID = re.compile(
    r"(?<![0-9A-Za-z])(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{16,})(?![0-9A-Za-z])"
)
_AFTER_PLACEHOLDER = re.compile(r"\]\s{0,2}([^\W_]{3,})")
_BEFORE_PLACEHOLDER = re.compile(r"([^\W_]{3,})\s{0,2},?\s{0,2}\[")


def tokens(text: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(norm(text)))


@dataclass(frozen=True)
class Canary:
    """One injected value. `text` is what is sent (with its context words when `form` says so), `value` the
    identifier itself; the needles are what the scanner looks for."""

    id: str
    kind: str
    form: str
    channel: str
    group: str
    text: str
    value: str
    digit_needles: tuple[str, ...] = ()
    token_needles: tuple[tuple[str, ...], ...] = ()
    real_name_tokens: tuple[str, ...] = ()  # real names: a leak also when next to a placeholder

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class _Generator:
    """Draws unique canaries: every needle of every canary differs from every other one in the set."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[Any] = {"__reject__"}
        self.real_pairs_used: set[tuple[str, str]] = set()
        self.real_tokens = {t for firsts, lasts in REAL_NAMES.values() for n in (*firsts, *lasts) for t in tokens(n)}
        self.counter = 0

    def _unique(self, make: Any, needles: Any) -> Any:
        for _ in range(200):
            made = make()
            keys = needles(made)
            if not (set(keys) & self.used):
                self.used.update(keys)
                return made
        raise RuntimeError("could not draw a unique canary")  # pragma: no cover (astronomically unlikely)

    # --- material
    def synthetic_word(self, syllables: int | None = None) -> str:
        def make() -> str:
            n = syllables or self.rng.choice((3, 3, 4))
            word = "".join(self.rng.choice(_ONSETS) + self.rng.choice(_VOWELS) + self.rng.choice(_CODAS)
                           for _ in range(n))
            return word.capitalize() if len(word) >= 8 else make()

        return self._unique(make, lambda w: [("tok", norm(w))] if norm(w) not in self.real_tokens else ["__reject__"])

    def real_first(self) -> tuple[str, str]:
        origin = self.rng.choice(sorted(REAL_NAMES))
        return origin, self.rng.choice(REAL_NAMES[origin][0])

    def real_pair(self) -> tuple[str, str, str]:
        for _ in range(200):
            origin = self.rng.choice(sorted(REAL_NAMES))
            first_origin = origin if self.rng.random() < 0.7 else self.rng.choice(sorted(REAL_NAMES))
            first = self.rng.choice(REAL_NAMES[first_origin][0])
            last = self.rng.choice(REAL_NAMES[origin][1])
            if (first, last) not in self.real_pairs_used:
                self.real_pairs_used.add((first, last))
                return origin, first, last
        raise RuntimeError("real name pairs exhausted")  # pragma: no cover

    def digits(self, n: int, first_nonzero: bool = True) -> str:
        head = str(self.rng.randint(1, 9)) if first_nonzero else str(self.rng.randint(0, 9))
        return head + "".join(str(self.rng.randint(0, 9)) for _ in range(n - 1))

    def make(self, channel: str, kind: str, form: str, group: str, text: str, value: str,
             digit_needles: Iterable[str] = (), token_needles: Iterable[tuple[str, ...]] = (),
             real_name_tokens: Iterable[str] = ()) -> Canary:
        self.counter += 1
        return Canary(f"c{self.counter:04d}", kind, form, channel, group, text, value, tuple(digit_needles),
                      tuple(token_needles), tuple(real_name_tokens))


def _name_needles(first: str, last: str) -> list[tuple[str, ...]]:
    f, la = tokens(first), tokens(last)
    return [f + la, la + f]


def _gen_names(g: _Generator, channel: str) -> list[Canary]:
    out = []
    # Real first + real last, Title case: only the pair is distinctive (plus partial masks around it).
    origin, first, last = g.real_pair()
    out.append(g.make(channel, "name", f"real-title:{origin}", "names", f"{first} {last}", f"{first} {last}",
                      token_needles=_name_needles(first, last), real_name_tokens=[*tokens(first), *tokens(last)]))
    # Real first + synthetic surname, lower case / UPPER case / "Last, First".
    for form, render in (("synthetic-lower", lambda f, s: f"{f} {s}".lower()),
                         ("synthetic-upper", lambda f, s: f"{f} {s}".upper()),
                         ("synthetic-last-first", lambda f, s: f"{s}, {f}")):
        origin, first = g.real_first()
        surname = g.synthetic_word()
        text = render(first, surname)
        out.append(g.make(channel, "name", f"{form}:{origin}", "names", text, text,
                          token_needles=[tokens(surname)], real_name_tokens=tokens(first)))
    # A list: a real "Last, First" and a synthetic one, as a repr()/join of patients would show them.
    origin, first, last = g.real_pair()
    o2, first2 = g.real_first()
    surname = g.synthetic_word()
    text = f"{last}, {first}; {surname}, {first2}"
    out.append(g.make(channel, "name", f"list:{origin}+{o2}", "names", text, text,
                      token_needles=[*_name_needles(first, last), tokens(surname)],
                      real_name_tokens=[*tokens(first), *tokens(last), *tokens(first2)]))
    return out


def _date_needles(y: int, m: int, d: int) -> tuple[list[str], list[tuple[str, ...]]]:
    digit = {f"{y}{m:02d}{d:02d}", f"{m:02d}{d:02d}{y}", f"{d:02d}{m:02d}{y}", f"{m}{d}{y}", f"{d}{m}{y}"}
    months = {norm(_MONTHS[m - 1]), norm(_MONTHS[m - 1][:3])}
    toks = [(str(d), mon, str(y)) for mon in months] + [(mon, str(d), str(y)) for mon in months]
    toks += [(f"{d:02d}", mon, str(y)) for mon in months] + [(mon, f"{d:02d}", str(y)) for mon in months]
    return sorted(digit), sorted(set(toks))


_DATE_FORMS = (
    ("iso", "DOB: {y}-{m:02d}-{d:02d}"),
    ("us-slash", "born {m:02d}/{d:02d}/{y}"),
    ("day-mon-year", "admitted {d} {mon3} {y}"),
    ("month-day-year", "discharged on {month} {d}, {y}"),
    ("compact", "date of birth {y}{m:02d}{d:02d}"),
)


def _gen_dates(g: _Generator, channel: str) -> list[Canary]:
    out = []
    for form, template in _DATE_FORMS:
        def make() -> tuple[int, int, int]:
            return g.rng.randint(1925, 1975), g.rng.randint(1, 12), g.rng.randint(13, 28)

        y, m, d = g._unique(make, lambda ymd: _date_needles(*ymd)[0])
        text = template.format(y=y, m=m, d=d, mon3=_MONTHS[m - 1][:3], month=_MONTHS[m - 1])
        digit, toks = _date_needles(y, m, d)
        value = text.split(" ", 1)[1].removeprefix("of birth ").removeprefix("on ")
        out.append(g.make(channel, "date", form, "dates", text, value, digit_needles=digit, token_needles=toks))
    return out


def _gen_ids(g: _Generator, channel: str) -> list[Canary]:
    rng = g.rng
    out = []

    def ssn() -> str:
        area = rng.choice([a for a in range(1, 900) if a != 666])
        return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"

    def mbi() -> str:
        alnum = string.digits + _MBI_LETTERS
        c = [str(rng.randint(1, 9)), rng.choice(_MBI_LETTERS), rng.choice(alnum), str(rng.randint(0, 9)),
             rng.choice(_MBI_LETTERS), rng.choice(alnum), str(rng.randint(0, 9)), rng.choice(_MBI_LETTERS),
             rng.choice(_MBI_LETTERS), str(rng.randint(0, 9)), str(rng.randint(0, 9))]
        return "".join(c)

    def phone() -> str:
        area = rng.randint(201, 989)
        exchange = rng.choice([e for e in range(200, 990) if e != 555])
        return f"{area}{exchange}{g.digits(4, first_nonzero=False)}"

    digits_only = lambda v: "".join(ch for ch in v if ch.isdigit())  # noqa: E731
    specs = {
        # kind: (draw, (context text, bare text) renderers, digit needles, token needles)
        "ssn": (ssn, (lambda v: f"SSN: {v}", lambda v: digits_only(v)), lambda v: [digits_only(v)], lambda v: []),
        "mrn": (lambda: g.digits(8), (lambda v: f"MRN {v}", lambda v: v), lambda v: [v], lambda v: []),
        "member_id": (lambda: "".join(rng.choice(string.ascii_uppercase) for _ in range(3)) + g.digits(9),
                      (lambda v: f"member id {v}", lambda v: v), lambda v: [v[3:]], lambda v: [tokens(v)]),
        "mbi": (mbi, (lambda v: f"MBI {v[:4]}-{v[4:7]}-{v[7:]}", lambda v: v), lambda v: [],
                lambda v: [tokens(v), tokens(f"{v[:4]}-{v[4:7]}-{v[7:]}")]),
        "licence": (lambda: rng.choice("ABCDEFGHJKNPRSTWY") + g.digits(7),
                    (lambda v: f"driver's licence {v}", lambda v: v), lambda v: [v[1:]], lambda v: [tokens(v)]),
        "account": (lambda: g.digits(rng.randint(10, 12)), (lambda v: f"account no. {v}", lambda v: v),
                    lambda v: [v], lambda v: []),
        "phone": (phone, (lambda v: f"phone ({v[:3]}) {v[3:6]}-{v[6:]}", lambda v: f"+1{v}"),
                  lambda v: [v, "1" + v], lambda v: []),
    }
    for kind, (draw, (ctx, bare), dneedles, tneedles) in specs.items():
        for form, render in (("context", ctx), ("bare", bare)):
            value = g._unique(draw, lambda v, dn=dneedles, tn=tneedles: [*dn(v), *tn(v)])
            text = render(value)
            out.append(g.make(channel, kind, form, f"ids-{form}", text, value, digit_needles=dneedles(value),
                              token_needles=tneedles(value)))
    # Single-form kinds, sent bare (their shape is the only clue).
    _, first = g.real_first()
    tag = g.synthetic_word(2).lower() + str(rng.randint(10, 99))
    email = f"{norm(first)}.{tag}@example.net"
    out.append(g.make(channel, "email", "bare", "ids-bare", email, email, token_needles=[(tag,)]))
    street = g.synthetic_word()
    number = rng.randint(100, 9899)
    suffix = rng.choice(("Lane", "Street", "Avenue", "Court", "Road", "Drive"))
    address = f"{number} {street} {suffix}"
    out.append(g.make(channel, "address", "bare", "ids-bare", address, address, token_needles=[tokens(street)]))
    zip4 = g._unique(lambda: f"{rng.randint(10000, 99950)}-{g.digits(4)}", lambda v: [digits_only(v)])
    out.append(g.make(channel, "zip4", "bare", "ids-bare", zip4, zip4, digit_needles=[digits_only(zip4)]))

    def ip() -> str:
        first_octet = rng.choice([o for o in range(11, 224) if o not in (100, 127, 169, 172, 192, 198, 203)])
        return f"{first_octet}.{rng.randint(10, 254)}.{rng.randint(10, 254)}.{rng.randint(10, 254)}"

    address_ip = g._unique(ip, lambda v: [digits_only(v)])
    out.append(g.make(channel, "ip", "bare", "ids-bare", address_ip, address_ip, digit_needles=[digits_only(address_ip)]))
    host_word = g.synthetic_word().lower()
    chart = g.digits(7)
    url = f"https://mychart-{host_word}.example.org/c/{chart}/summary"
    out.append(g.make(channel, "url", "bare", "ids-bare", url, url, token_needles=[(host_word,)]))
    return out


@dataclass
class CanarySet:
    """Every canary of one audit run, per channel. `seed` reproduces the set exactly."""

    seed: int
    channels: tuple[str, ...]
    canaries: list[Canary] = field(default_factory=list)

    @classmethod
    def generate(cls, channels: Sequence[str], seed: int | None = None) -> CanarySet:
        seed = secrets.randbits(63) if seed is None else seed
        g = _Generator(random.Random(seed))
        out = cls(seed, tuple(channels))
        for channel in channels:
            out.canaries += _gen_names(g, channel) + _gen_dates(g, channel) + _gen_ids(g, channel)
        return out

    def payloads(self, channel: str) -> list[tuple[str, str, list[Canary]]]:
        """(group, text, canaries) to send through `channel`: one text per group, canaries joined as an app
        would join them (names and context ids with "; ", bare ids with spaces, so no id gains a context word)."""
        out = []
        for group in GROUPS:
            members = [c for c in self.canaries if c.channel == channel and c.group == group]
            if members:
                sep = " " if group == "ids-bare" else "; "
                out.append((group, sep.join(c.text for c in members), members))
        return out

    def by_id(self) -> dict[str, Canary]:
        return {c.id: c for c in self.canaries}

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "channels": list(self.channels), "canaries": [c.to_json() for c in self.canaries]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CanarySet:
        canaries = []
        for c in data["canaries"]:
            c = dict(c)
            c["digit_needles"] = tuple(c["digit_needles"])
            c["token_needles"] = tuple(tuple(t) for t in c["token_needles"])
            c["real_name_tokens"] = tuple(c["real_name_tokens"])
            canaries.append(Canary(**c))
        return cls(int(data["seed"]), tuple(data["channels"]), canaries)


# ---------------------------------------------------------------------------------------------------------
# Scanner


@dataclass(frozen=True)
class Match:
    canary_id: str
    needle: str
    excerpt: str


_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\([\"\\/bfnrt])")
_SIMPLE_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "/": "/"}


def _json_unescape(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        if m.group(1):
            return chr(int(m.group(1), 16))
        return _SIMPLE_ESCAPES[m.group(2)]

    return _JSON_ESCAPE.sub(repl, text)


def views(text: str) -> list[str]:
    """The text as stored plus decoded copies (JSON escapes, twice for JSON in JSON; percent-encoding, twice;
    HTML entities), each normalised with `norm`."""
    out = [text]
    current = text
    for _ in range(2):
        if "\\" not in current:
            break
        current = _json_unescape(current)
        out.append(current)
    for v in list(out):
        decoded = v
        for _ in range(2):
            if "%" not in decoded and "+" not in decoded:
                break
            nxt = urllib.parse.unquote_plus(decoded)
            if nxt == decoded:
                break
            decoded = nxt
            out.append(decoded)
    for v in list(out):
        if "&" in v:
            unescaped = html.unescape(v)
            if unescaped != v:
                out.append(unescaped)
    seen: set[str] = set()
    result = []
    for v in out:
        n = norm(v)
        if n not in seen:
            seen.add(n)
            result.append(n)
    return result


class Scanner:
    """Finds a `CanarySet`'s needles in texts. Build once per run; `scan(text)` is linear in the text."""

    def __init__(self, canaries: Iterable[Canary]) -> None:
        self.digit: dict[str, set[str]] = {}
        self.token: dict[tuple[str, ...], set[str]] = {}
        self.real: dict[str, set[str]] = {}
        for c in canaries:
            for d in c.digit_needles:
                self.digit.setdefault(d, set()).add(c.id)
            for t in c.token_needles:
                if t:
                    self.token.setdefault(tuple(t), set()).add(c.id)
            for t in c.real_name_tokens:
                if len(t) >= 4:
                    self.real.setdefault(t, set()).add(c.id)
        self.max_n = max((len(t) for t in self.token), default=1)
        self.tails = {t[-1] for t in self.token}
        self.max_digits = max((len(d) for d in self.digit), default=0)

    @staticmethod
    def _excerpt(view: str, start: int, end: int) -> str:
        return view[max(0, start - 60) : end + 40].replace("\n", "\\n")

    def scan(self, text: str) -> list[Match]:
        found: dict[str, Match] = {}

        def hit(ids: Iterable[str], needle: str, view: str, start: int, end: int) -> None:
            for cid in ids:
                if cid not in found:
                    found[cid] = Match(cid, needle, self._excerpt(view, start, end))

        for view in views(text):
            # Token sequences (names, synthetic words, MBIs, textual dates).
            window: deque[tuple[str, int, int]] = deque(maxlen=self.max_n)
            for m in _TOKEN.finditer(view):
                tok = m.group()
                window.append((tok, m.start(), m.end()))
                if tok not in self.tails:
                    continue
                seq = tuple(w[0] for w in window)
                for n in range(1, len(seq) + 1):
                    ids = self.token.get(seq[-n:])
                    if ids:
                        hit(ids, " ".join(seq[-n:]), view, window[-n][1], m.end())
            # Digit runs (identifiers written with any of the usual separators, or none).
            if self.digit:
                # Ids the sinks generate themselves (UUIDs, long hex: Bugsink's event ids) are not digit runs:
                # "1a20-4400-9a9c" must not read as "2044009". Blanked, so positions stay the same.
                digit_view = _HEX_ID.sub(lambda h: " " * len(h.group()), view)
                for m in _DIGIT_RUN.finditer(digit_view):
                    run = m.group()
                    if len(run) < 5:
                        continue
                    groups = _DIGITS.findall(run)
                    for i in range(len(groups)):
                        acc = ""
                        for j in range(i, min(i + 6, len(groups))):
                            acc += groups[j]
                            if len(acc) > self.max_digits:
                                break
                            ids = self.digit.get(acc)
                            if ids:
                                hit(ids, acc, view, m.start(), m.end())
            # Partial masks: a real name right next to a placeholder.
            if self.real and ("[" in view or "]" in view):
                for pattern in (_AFTER_PLACEHOLDER, _BEFORE_PLACEHOLDER):
                    for m in pattern.finditer(view):
                        ids = self.real.get(m.group(1))
                        if ids:
                            hit(ids, m.group(0), view, m.start(), m.end())
        return list(found.values())


def scan_json_like(obj: Any) -> str:
    """A JSON document as text, the way a sink's API returns it (non-ASCII escaped)."""
    return json.dumps(obj, sort_keys=True)


def iter_chunks(data: bytes, size: int = 4 << 20, overlap: int = 512) -> Iterator[str]:
    """Large files in overlapping text chunks so a needle across a chunk border is still seen."""
    if len(data) <= size:
        yield data.decode("utf-8", errors="replace")
        return
    start = 0
    while start < len(data):
        yield data[start : start + size + overlap].decode("utf-8", errors="replace")
        start += size

#!/usr/bin/env python3
"""Build otel_clinic/scrubbing/data/names.txt.gz, the person-name lexicon used by otel_clinic.scrubbing.names.

Sources (downloaded into a temporary directory with pip; neither becomes a dependency):
  * PyPI ``names`` 0.3.0 (MIT): the 1990 US Census lists dist.all.last / dist.female.first / dist.male.first
    (the Census data itself is public domain), with frequencies and ranks.
  * PyPI ``Faker`` (MIT, version pinned below): first/last name lists of every person locale, Latin-script
    entries only (Cyrillic, Greek, Arabic, CJK, Indic scripts are dropped; romanized lists are kept).
  * Common-word veto: Debian ``wamerican`` (SCOWL size 50, /usr/share/dict/american-english; permissive SCOWL
    licence), lower-case entries only (capitalised entries are proper nouns, i.e. often names), used at build
    time only; plus scripts/name_lexicon_vocab.txt (curated technical/log/clinic vocabulary).

Output: a gzip (mtime 0) of a UTF-8 text whose first line is a header with the format version and the sha256 of
the body, then sections ``@<flags>`` (flag letters, see names.py) each followed by its sorted keys, one a line.
Keys are lower case with apostrophes removed; names with diacritics are stored twice (as written and ASCII-folded).

Usage:  python scripts/build_name_lexicon.py [--faker-version X] [--dict /usr/share/dict/american-english]
Requires network access to PyPI (pip download) and the wamerican package (apt-get install wamerican).
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib
import io
import pkgutil
import re
import subprocess
import sys
import tarfile
import tempfile
import unicodedata
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "otel_clinic" / "scrubbing" / "data" / "names.txt.gz"
SOURCES_MD = ROOT / "otel_clinic" / "scrubbing" / "data" / "NAMES-SOURCES.md"
VOCAB = Path(__file__).resolve().parent / "name_lexicon_vocab.txt"
FORMAT = "otel-clinic-names/1"
NAMES_VERSION = "0.3.0"
FAKER_VERSION = "40.54.0"

# Flags (must match otel_clinic/scrubbing/names.py). W marks a known non-name word (dictionary or vocabulary):
# the finder lets a name run take in an adjacent word the lexicon does not know ("Chidinma Eze"), never a W word.
AMB, FIRST, LAST, TECH, WORD = "A", "F", "L", "T", "W"

# Frequency cut-off: an English dictionary word that is only a rare Census surname (rank beyond this, i.e.
# fewer than roughly 1 in 100,000 people) and no first name in any list is vetoed outright ("patient" 69,269,
# "state" 67,563, "view" 36,570, "worker" 30,873): as a name it is too rare to be worth the false positives.
RARE_SURNAME_RANK = 5000
# Vocabulary words kept as (ambiguous) names when they are at least this popular as names ("page" 318).
POPULAR_FIRST_RANK = 1000
POPULAR_LAST_RANK = 1500

PARTICLES = {"de", "la", "le", "du", "da", "di", "del", "della", "dos", "das", "do", "van", "von", "der", "den",
             "ten", "ter", "bin", "binti", "bint", "ibn", "al", "el", "abu", "st", "y", "dei", "degli", "zu"}
HONORIFICS_AND_CONTEXT = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "rev", "sr", "sra",
                          "srta", "herr", "frau", "mme", "mlle", "md", "rn", "np", "phd", "dds", "lpn"}

TOKEN = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
FOLD = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe", "ı": "i", "ħ": "h", "þ": "th",
                      "ð": "d"})


def fold(s: str) -> str:
    s = s.translate(FOLD)
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def is_latin(s: str) -> bool:
    return all(c in " '’-." or (c.isalpha() and "LATIN" in unicodedata.name(c, "")) for c in s)


def key(s: str) -> str:
    return s.lower().replace("'", "").replace("’", "")


def pip_download(spec: str, dest: Path, sdist: bool) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dest), spec]
    if sdist:
        cmd[4:4] = ["--no-binary", ":all:"]
    subprocess.run(cmd, check=True)
    return next(p for p in dest.iterdir() if p.name.lower().startswith(spec.split("==")[0].lower()))


def census(tmp: Path) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """first-name ranks (female+male, best rank), surname ranks, raw line counts per file."""
    sdist = pip_download(f"names=={NAMES_VERSION}", tmp, sdist=True)
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    counts: dict[str, int] = {}
    with tarfile.open(sdist) as tar:
        for fname, target in (("dist.female.first", first), ("dist.male.first", first), ("dist.all.last", last)):
            member = next(m for m in tar.getmembers() if m.name.endswith("/names/" + fname))
            lines = tar.extractfile(member).read().decode("ascii").splitlines()  # type: ignore[union-attr]
            counts[fname] = len(lines)
            for line in lines:
                name, _freq, _cum, rank = line.split()
                k = key(name)
                target[k] = min(target.get(k, 1 << 30), int(rank))
    return first, last, counts


def faker_names(tmp: Path) -> tuple[set[str], set[str], dict[str, int]]:
    """Latin-script first and last name tokens from every Faker person locale."""
    wheel = pip_download(f"faker=={FAKER_VERSION}", tmp, sdist=False)
    src = tmp / "faker_src"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(src)
    sys.path.insert(0, str(src))
    import faker.providers.person as person  # noqa: E402  (imported from the downloaded wheel)

    first: set[str] = set()
    last: set[str] = set()
    per_locale: dict[str, int] = {}
    for mod in sorted(m.name for m in pkgutil.iter_modules(person.__path__)):
        provider = importlib.import_module(f"faker.providers.person.{mod}").Provider
        n = 0
        for attr, value in sorted(vars(provider).items()):
            if not isinstance(value, (tuple, list, dict)):
                continue
            if not re.match(r"^(first|last|middle|male|unisex)_?\w*names", attr) or "kana" in attr or "pairs" in attr:
                continue
            target = last if "last" in attr else first
            for entry in value:
                if not isinstance(entry, str) or not is_latin(entry):
                    continue
                for tok in TOKEN.findall(entry):
                    target.add(tok)
                    n += 1
        if n:
            per_locale[mod] = n
    return first, last, per_locale


def read_vocab() -> dict[str, set[str]]:
    sections: dict[str, set[str]] = {}
    current = ""
    for line in VOCAB.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            current = line.strip("[]")
            sections.setdefault(current, set())
            continue
        sections[current].update(line.split())
    return sections


def read_words(path: Path) -> set[str]:
    words = set()
    for w in path.read_text(encoding="utf-8").splitlines():
        if w.islower() and "'" not in w:  # capitalised entries are proper nouns (often names)
            words.add(w)
    return words


def build(dict_path: Path) -> tuple[str, dict[str, object]]:
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        c_first, c_last, c_counts = census(tmp)
        f_first, f_last, f_locales = faker_names(tmp)
    words = read_words(dict_path)
    vocab = read_vocab()
    veto = vocab["veto"] | vocab["function"] | PARTICLES | HONORIFICS_AND_CONTEXT
    force_amb = vocab["ambiguous"]

    flags: dict[str, set[str]] = {}
    origin_faker: set[str] = set()

    def add(name: str, flag: str, faker: bool = False) -> None:
        for k in {key(name), key(fold(name))}:
            if len(k) < 2 or not TOKEN.fullmatch(k):  # single letters are initials, handled by the finder
                continue
            flags.setdefault(k, set()).add(flag)
            if faker:
                origin_faker.add(k)

    for n in c_first:
        add(n, FIRST)
    for n in c_last:
        add(n, LAST)
    for n in f_first:
        add(n, FIRST, faker=True)
    for n in f_last:
        add(n, LAST, faker=True)

    stats = {"vetoed_vocab": 0, "vetoed_rare_word": 0, "ambiguous": 0, "unambiguous": 0}
    out: dict[str, str] = {}
    for k in sorted(flags):
        f = flags[k]
        popular = c_first.get(k, 1 << 30) <= POPULAR_FIRST_RANK or c_last.get(k, 1 << 30) <= POPULAR_LAST_RANK
        if k in force_amb:
            f = f | {AMB, TECH}
        elif k in veto:
            if not popular or k in vocab["function"] or k in PARTICLES or k in HONORIFICS_AND_CONTEXT:
                stats["vetoed_vocab"] += 1
                continue
            f = f | {AMB, TECH}
        elif k in words:
            rare = FIRST not in f and c_last.get(k, 1 << 30) > RARE_SURNAME_RANK and k not in origin_faker
            if rare:
                stats["vetoed_rare_word"] += 1
                continue
            f = f | {AMB}
        elif len(k) <= 2:
            f = f | {AMB}  # "li", "wu", "ng": too short to be a name on their own
        stats["ambiguous" if AMB in f else "unambiguous"] += 1
        out[k] = "".join(sorted(f))

    # Known words that are not names: dictionary words, vocabulary and vetoed names.
    n_words = 0
    for w in sorted(words | veto):
        if w not in out and len(w) >= 2 and TOKEN.fullmatch(w):
            out[w] = WORD
            n_words += 1
    stats["words"] = n_words

    by_flags: dict[str, list[str]] = {}
    for k, f in out.items():
        by_flags.setdefault(f, []).append(k)
    body_lines = []
    for f in sorted(by_flags):
        body_lines.append("@" + f)
        body_lines.extend(sorted(by_flags[f]))
    body = "\n".join(body_lines) + "\n"
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    header = f"{FORMAT} names={NAMES_VERSION} faker={FAKER_VERSION} keys={len(out)} sha256={digest}\n"
    stats["keys_names"] = len(out) - n_words
    meta = {
        "census_counts": c_counts, "census_first": len(c_first), "census_last": len(c_last),
        "faker_first": len(f_first), "faker_last": len(f_last), "faker_locales": f_locales,
        "dict_words": len(words), "keys": len(out), "sha256": digest, **stats,
        "by_flags": {f: len(v) for f, v in sorted(by_flags.items())},
    }
    return header + body, meta


def write_sources(meta: dict[str, object], size: int, dict_version: str) -> None:
    locales = meta["faker_locales"]
    assert isinstance(locales, dict)
    text = f"""# Name lexicon: sources, licences, counts

`names.txt.gz` is generated by `scripts/build_name_lexicon.py`; do not edit it by hand. It is read by
`otel_clinic/scrubbing/names.py`.

| source | version | licence | used for |
|---|---|---|---|
| 1990 US Census name lists, as shipped in PyPI `names` (`dist.all.last`, `dist.female.first`, `dist.male.first`) | names {NAMES_VERSION} | US Census data: public domain; `names` package: MIT | surnames {meta['census_last']:,}, first names {meta['census_first']:,} (lines: {meta['census_counts']}) |
| Faker person providers, Latin-script entries of every locale ({len(locales)} locales) | Faker {FAKER_VERSION} | MIT | first-name tokens {meta['faker_first']:,}, last-name tokens {meta['faker_last']:,} |
| Debian `wamerican` (SCOWL size 50), lower-case entries only | {dict_version} | SCOWL licence (permissive; notice below) | common-word test (ambiguous/veto) and the shipped `W` (known word, not a name) keys |
| `scripts/name_lexicon_vocab.txt` | this repository | Apache-2.0 (project) | curated technical/log/clinic vocabulary veto, forced-ambiguous names, function words |

Faker tokens per locale: {', '.join(f'{k} {v}' for k, v in locales.items())}.

## Result
- keys: {meta['keys']:,}: names {meta['keys_names']:,} (unambiguous {meta['unambiguous']:,}, ambiguous {meta['ambiguous']:,}),
  known non-name words {meta['words']:,}; per flag set: {meta['by_flags']}
- vetoed: {meta['vetoed_vocab']:,} vocabulary/function words, {meta['vetoed_rare_word']:,} dictionary words that are only rare
  Census surnames (rank > {RARE_SURNAME_RANK:,}) and no first name in any list and not in Faker.
- file: {size:,} bytes gzip; body sha256 `{meta['sha256']}` (also in the header line; a test checks it).

Flags: `A` ambiguous (also an English/technical word or at most 2 letters: needs an indicator), `F` first name,
`L` surname, `T` technical vocabulary kept only because it is a popular name ("page", "will", "mark"),
`W` a known word that is not a name (so a name run never takes it in).

SCOWL notice (for the `W` words derived from it): Copyright 2000-2011 by Kevin Atkinson. Permission to use, copy,
modify, distribute and sell these word lists, the associated scripts, the output created from the scripts, and
its documentation for any purpose is hereby granted without fee, provided that the above copyright notice appears
in all copies and that both that copyright notice and this permission notice appear in supporting documentation.
Kevin Atkinson makes no representations about the suitability of this array for any purpose. It is provided
"as is" without express or implied warranty. (Full text: /usr/share/doc/wamerican/copyright.)

## Rebuild
```
apt-get install wamerican
.venv/bin/python scripts/build_name_lexicon.py
```
Needs PyPI (pip downloads both packages into a temporary directory). The output is deterministic for the same
inputs; bump `FAKER_VERSION`/`NAMES_VERSION` in the script to change them.
"""
    SOURCES_MD.write_text(text, encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dict", type=Path, default=Path("/usr/share/dict/american-english"))
    ap.add_argument("--check", action="store_true", help="build and compare with the committed file; write nothing")
    args = ap.parse_args()
    text, meta = build(args.dict)
    if args.check:
        with gzip.open(OUT, "rt", encoding="utf-8") as fh:
            same = fh.read() == text
        print("up to date" if same else "DIFFERS from the committed file")
        return 0 if same else 1
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))
    OUT.write_bytes(buf.getvalue())
    try:
        dict_version = "wamerican " + subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", "wamerican"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        dict_version = str(args.dict)
    write_sources(meta, OUT.stat().st_size, dict_version)
    print({k: v for k, v in meta.items() if k != "faker_locales"}, "bytes", OUT.stat().st_size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The scrubbing engine compiled from a policy: text detectors, key rules and structure walking.

One combined RE2 pattern per policy (linear time, ~1–2 µs per short value); a search that finds
nothing returns the value untouched (the common case). Results for short strings are memoised in a
bounded LRU because telemetry values repeat heavily. Nothing here raises into the caller: unexpected
failures fail *closed* (the value is replaced).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

import re2

from otel_clinic.scrubbing.detectors import Detector, boundary_before_ok, boundary_ok
from otel_clinic.scrubbing.freetext import FreeTextFilter, NameFinderLike, looks_like_traceback, scrub_stacktrace
from otel_clinic.scrubbing.keys import KeyAction, KeyRules
from otel_clinic.scrubbing.logtemplates import argument_contexts
from otel_clinic.scrubbing.sql import obfuscate_sql
from otel_clinic.scrubbing.url import scrub_path, scrub_url

TRUNCATED_MARK = "…[TRUNCATED]"
REDACTED = "[REDACTED]"
MAX_DEPTH = 32
MAX_ITEMS = 2000  # per container; the rest is summarised
_CACHE_MAX_LEN = 512  # only short strings are memoised
_NO_HITS: tuple[str, ...] = ()
_MEMO_TYPES = frozenset({str, int, float, bool})
_ATTR_MEMO_MAX = 8192
_REJECTION_BUDGET = 512  # rejected candidates re-scanned from their next character, per value
_CANDIDATE_BUDGET = 1024  # detector candidates examined per value: bounds the worst case CPU

_LARGE_REPEAT = re.compile(r"\{(\d+),\d{3,}\}")

_re2_options = re2.Options()
_re2_options.log_errors = False  # invalid user patterns become ConfigError, not stderr noise
_re2_options.max_mem = 64 << 20


def compile_re2(pattern: str | bytes) -> Any:
    return re2.compile(unbounded(pattern), options=_re2_options)


def unbounded(pattern: str | bytes) -> Any:
    """Large counted repeats ({0,512}, {5,1000}) become open ones: RE2 and Go's regexp compile a count into that
    many copies of the sub-program (~25 MB of compiled patterns per process, and slower scans). An open repeat
    only ever matches more, never less; values are capped at max_value_bytes before scanning anyway."""
    if isinstance(pattern, bytes):
        return unbounded(pattern.decode()).encode()
    return _LARGE_REPEAT.sub(lambda m: "*" if m.group(1) == "0" else "+" if m.group(1) == "1" else "{%s,}" % m.group(1), pattern)


class Engine:
    def __init__(
        self,
        detectors: tuple[Detector, ...],
        key_rules: KeyRules,
        *,
        hmac_key: bytes | None,
        max_value_bytes: int,
        cache_size: int = 4096,
        names: NameFinderLike | None = None,
        free_text: bool = True,
        is_common_word: Any = None,
    ) -> None:
        self.detectors = detectors
        # Free text is hostile by default: after the context detectors, quoted literals, dates, identifier shapes
        # and names are masked by shape (freetext.py).
        self.free_text = FreeTextFilter(names, self.pseudonym, is_common_word) if free_text else None
        self.keys = key_rules
        self._hmac_key = hmac_key
        self.max_value_bytes = max_value_bytes
        parts = []
        self._value_group: list[int] = []
        self._prefix_group: list[int | None] = []
        group_owner: dict[int, int] = {}
        next_group = 1
        for i, d in enumerate(detectors):
            sub = compile_re2(d.value)  # count the detector's own groups so indices line up
            own_groups = sub.groups
            if d.prefix:
                own_groups += compile_re2(d.prefix).groups
                parts.append(f"({d.prefix})({d.value})")
                self._prefix_group.append(next_group)
                self._value_group.append(next_group + 1 + compile_re2(d.prefix).groups)
                total = 2 + own_groups
            else:
                parts.append(f"({d.value})")
                self._prefix_group.append(None)
                self._value_group.append(next_group)
                total = 1 + own_groups
            for g in range(next_group, next_group + total):
                group_owner[g] = i
            next_group += total
        self._group_owner = group_owner
        self.pattern = "|".join(parts)  # str form, e.g. for side-by-side benchmarks with stdlib re
        self.regex = compile_re2(self.pattern.encode()) if parts else None
        # Same alternation without capture groups: RE2 answers "is there a match, where" with its DFA,
        # ~2.5x faster than the capturing NFA. Used for the common no-PHI case and to skip to candidates.
        self.prefilter_pattern = "|".join(d.full_pattern for d in detectors)
        self.prefilter = compile_re2(self.prefilter_pattern.encode()) if parts else None
        self._cached = functools.lru_cache(maxsize=cache_size)(self._scrub_text_uncached)
        self._attr_memo: dict[tuple[Any, ...], tuple[Any, tuple[str, ...]]] = {}
        self._kept_numbers: set[tuple[str, type, int]] = set()
        self.errors = 0  # scans that raised and failed closed (see _failed)

    def _failed(self, hits: Counter[str] | None) -> None:
        """A scan raised: the value was replaced whole (fail closed). ``errors`` counts these per engine, so a
        test can tell a real verdict from a swallowed failure."""
        self.errors += 1
        if hits is not None:
            hits["scrub_error"] += 1

    # ---------------------------------------------------------------- text

    def scrub_text(self, text: str, hits: Counter[str] | None = None) -> str:
        """Scrub one string; detector names of replacements are added to ``hits``."""
        return self._guarded(self._cached if len(text) <= _CACHE_MAX_LEN else self._scrub_text_uncached, text, hits)

    def _guarded(self, scan: Any, text: str, hits: Counter[str] | None) -> str:
        """Run one (text -> (out, detector names)) scan; failures fail closed and are counted."""
        try:
            out, found = scan(text)
        except Exception:
            self._failed(hits)
            return REDACTED
        if found and hits is not None:
            hits.update(found)
        return out

    def _scrub_text_uncached(self, text: str) -> tuple[str, tuple[str, ...]]:
        found: list[str] = []
        truncated = False
        if len(text) > self.max_value_bytes // 4 and len(text.encode("utf-8", "surrogatepass")) > self.max_value_bytes:
            text = _truncate(text, self.max_value_bytes)
            truncated = True
            found.append("truncated")
        stripped = text.strip()
        if stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]") and not truncated:
            parsed = _try_json(stripped)
            if parsed is not None:
                hits: Counter[str] = Counter()
                cleaned = self.scrub_value(parsed, hits=hits)
                if not hits:
                    return text, _NO_HITS
                return json.dumps(cleaned, ensure_ascii=False), tuple(hits.elements())
        if self.free_text is not None and looks_like_traceback(text):
            # A traceback in a message or log body: frames and code lines are not free text.
            return scrub_stacktrace(text, self.scrub_text, self.scrub_code), _NO_HITS
        out = self._apply_detectors(text, found)
        if self.free_text is not None:
            out = self.free_text.apply(out, found)
        if truncated:
            out += TRUNCATED_MARK
        return out, tuple(found)

    def scrub_code(self, text: str, hits: Counter[str] | None = None) -> str:
        """A source line (traceback, Sentry frame): the pattern detectors only. Code is not free text, and
        ``name=self.urlconf_name`` is not a ``name=`` field."""
        def scan(line: str) -> tuple[str, list[str]]:
            found: list[str] = []
            return self._apply_detectors(line, found, code=True), found

        return self._guarded(scan, text, hits)

    def _apply_detectors(self, text: str, found: list[str], code: bool = False) -> str:
        regex = self.regex
        if regex is None:
            return text
        # Work on UTF-8 bytes: re2's search(pos) on str re-encodes the whole text per call (quadratic),
        # on bytes it is O(1) per call, which lets us resume right after a rejected candidate.
        data = text.encode("utf-8", "surrogatepass")
        prefilter = self.prefilter
        hit = prefilter.search(data)
        if hit is None:
            return text
        m = self._locate(data, hit)
        n = len(data)
        out: list[bytes] = []
        last = 0
        budget = _REJECTION_BUDGET
        candidates = 0
        while m is not None:
            candidates += 1
            if candidates > _CANDIDATE_BUDGET:
                # Pathological density (thousands of identifier-shaped tokens): bound the CPU this value may
                # take in the export thread, which shares the GIL with requests. Fail closed on the rest.
                found.append("truncated")
                out.append(data[last : m.start()])
                out.append(TRUNCATED_MARK.encode())
                last = n
                break
            start, end = m.span()
            idx = self._group_owner[m.lastindex] if m.lastindex else 0
            det = self.detectors[idx]
            value_b = m.group(self._value_group[idx])
            value = value_b.decode("utf-8", "replace")
            ok = boundary_ok(data, start, end, det.boundary) and (det.validator is None or det.validator(value))
            if code and not det.in_code:
                ok = False
            replacement: str | None = None
            keep = len(value)
            if ok and det.trim is not None:
                keep = det.trim(value)
                ok = keep > 0
            if ok and keep < len(value):
                found.append(det.name)
                vstart = end - len(value_b)
                replacement = self._token(det, value[:keep])
                cut = vstart + len(value[:keep].encode("utf-8", "surrogatepass"))
            elif ok:
                if det.rewrite is not None:
                    replacement = det.rewrite(value)
                    if replacement != value:
                        found.append(det.name)
                else:
                    found.append(det.name)
                    replacement = self._token(det, value)
                vstart = end - len(value_b)
                cut = end
            elif det.salvage is not None and boundary_before_ok(data, start, det.boundary) and (shorter := det.salvage(value)):
                # The greedy match ran past the value (into the next number): replace the valid prefix.
                found.append(det.name)
                vstart = end - len(value_b)
                replacement = self._token(det, value[:shorter])
                cut = vstart + len(value[:shorter].encode())
            if replacement is not None:
                out.append(data[last:vstart])
                out.append(replacement.encode("utf-8", "surrogatepass"))
                last = pos = cut
            else:
                # Rejected: a valid identifier may start inside this candidate; resume one character later.
                if budget > 0:
                    budget -= 1
                    pos = start + 1
                    while pos < n and (data[pos] & 0xC0) == 0x80:
                        pos += 1
                else:
                    pos = max(end, start + 1)
            if pos >= n:
                break
            hit = prefilter.search(data, pos)
            m = self._locate(data, hit) if hit is not None else None
        if not out:
            return text
        out.append(data[last:])
        return b"".join(out).decode("utf-8", "surrogatepass")

    def _locate(self, data: bytes, hit: Any) -> Any:
        """Capture groups for the prefilter's match. Both patterns are the same alternation, so the
        match is the same span; bounding the capturing (slower, NFA) search to it keeps it short."""
        m = self.regex.search(data, hit.start(), hit.end())
        if m is None or m.end() != hit.end():  # never expected; fall back to an unbounded search
            m = self.regex.search(data, hit.start())
        return m

    def _token(self, det: Detector, value: str) -> str:
        return self.pseudonym(det.placeholder, value)

    def pseudonym(self, placeholder: str, value: str) -> str:
        """``[EMAIL]`` or, with an HMAC key, ``[EMAIL:3f9a0c2b1d]``: stable per value, not reversible."""
        if self._hmac_key is None:
            return placeholder
        canonical = "".join(value.split()).lower()
        digest = hmac.new(self._hmac_key, canonical.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
        return f"{placeholder[:-1]}:{digest[:10]}]"

    # ---------------------------------------------------------------- structures

    def scrub_argument(self, value: Any, hits: Counter[str] | None = None, context: str = "") -> Any:
        """A log/message argument. ``context`` is the template text right before it ("notes=", "DOB "), so
        context detectors judge the argument as they would the formatted message. On its own, a value that is
        wholly a name ("Grace Baker", "amara okafor") or a word that is neither code nor vocabulary is data."""
        if value is None or isinstance(value, bool):
            return value
        text = value if isinstance(value, str) else str(value)
        # numbers, also as text (log arguments travel to the export thread as strings)
        numeric = isinstance(value, (int, float)) or (len(text) <= 4 and text.isdigit())
        if numeric and len(text) <= 4:
            # Short numbers repeat by shape, not value ("patient %s opened" with a new id each time): the
            # verdict for (context, length) is memoised when it kept the number.
            memo_key = (context[-48:], type(value), len(text))
            if memo_key in self._kept_numbers:
                return value
        out = self.scrub_text(text, hits)
        if context and out == text:
            ctx = context[-48:]
            ctx_out = self.scrub_text(ctx)
            joined = self.scrub_text(ctx + text, hits)
            if joined != ctx_out + text:
                out = joined[len(ctx_out):] if joined.startswith(ctx_out) else REDACTED
        ft = self.free_text
        if ft is not None and out == text and isinstance(value, str) and ft.bare_value_is_data(out):
            if hits is not None:
                hits["name_text"] += 1
            return self.pseudonym("[NAME]" if ft.names is not None and ft.names.is_name(out) else REDACTED, out)
        if numeric and out == text:
            if len(text) <= 4:
                if len(self._kept_numbers) >= _ATTR_MEMO_MAX:
                    self._kept_numbers.clear()
                self._kept_numbers.add(memo_key)
            return value
        return out

    def scrub_arguments(self, template: Any, args: Any, hits: Counter[str] | None = None) -> list[Any]:
        """All arguments of one log call, each with the template text before it as context."""
        contexts = argument_contexts(template) if isinstance(template, str) else ()
        items = list(args) if isinstance(args, (list, tuple)) else [args]
        return [self.scrub_argument(a, hits, contexts[i] if i < len(contexts) else "") for i, a in enumerate(items)]

    def scrub_stacktrace(self, text: str, hits: Counter[str] | None = None) -> str:
        """A traceback: frames and source lines kept, message lines scrubbed as free text. Never raises."""
        try:
            return scrub_stacktrace(text, lambda line: self.scrub_text(line, hits), lambda line: self.scrub_code(line, hits))
        except Exception:
            self._failed(hits)
            return REDACTED

    def scrub_value(self, value: Any, key: str | None = None, hits: Counter[str] | None = None) -> Any:
        """Scrub any value (nested mappings/sequences included). Never raises."""
        try:
            return self._walk(value, key, hits, 0, set())
        except Exception:
            self._failed(hits)
            return REDACTED

    def scrub_attributes(
        self, attributes: Mapping[str, Any], hits: Counter[str] | None = None, route: str | None = None
    ) -> dict[str, Any]:
        """Scrub an attribute mapping. (key, value) pairs repeat across spans, so results for primitive
        values are memoised (bounded) together with the detector hits they produced."""
        memo = self._attr_memo
        out: dict[str, Any] = {}
        for key, value in attributes.items():
            kind = type(value)
            if kind in _MEMO_TYPES and (kind is not str or len(value) <= _CACHE_MAX_LEN):
                memo_key = (key, kind, value, route)  # type in the key: True == 1 == 1.0 must not collide
                entry = memo.get(memo_key)
                if entry is None:
                    local: Counter[str] = Counter()
                    entry = (self.scrub_keyed(key, value, local, route), tuple(local.elements()))
                    if len(memo) >= _ATTR_MEMO_MAX:
                        memo.clear()
                    memo[memo_key] = entry
                out[key] = entry[0]
                if entry[1] and hits is not None:
                    hits.update(entry[1])
            else:
                out[key] = self.scrub_keyed(key, value, hits, route)
        return out

    def scrub_keyed(self, key: str, value: Any, hits: Counter[str] | None = None, route: str | None = None) -> Any:
        """Scrub ``value`` stored under attribute ``key`` (applies key rules). Never raises."""
        try:
            return self._keyed(key, value, hits, 0, set(), route)
        except Exception:
            self._failed(hits)
            return REDACTED

    def _keyed(self, key: str, value: Any, hits: Counter[str] | None, depth: int, seen: set[int], route: str | None = None) -> Any:
        action = self.keys.classify(key)
        if action is KeyAction.SAFE and isinstance(value, (str, int, float, bool)) or value is None:
            return value
        if action is KeyAction.SENSITIVE:
            if hits is not None:
                hits["key"] += 1
            return self.pseudonym(REDACTED, _stable_str(value)) if self._hmac_key else REDACTED
        if action is KeyAction.URL and isinstance(value, str):
            out = scrub_url(value, route)
            # The host of a URL attribute is the server called (kept); its path is scanned like any text.
            scheme, sep, rest = out.partition("://")
            if sep:
                netloc, slash, path = rest.partition("/")
                out = f"{scheme}://{netloc}{slash}{self.scrub_text(path, hits)}" if slash else out
            else:
                out = self.scrub_text(out, hits)
            return self._count_if_changed(value, out, hits, "url")
        if action is KeyAction.PATH and isinstance(value, str):
            path, _, query = value.partition("?")
            out = scrub_path(path, route)
            return self._count_if_changed(value, self.scrub_text(out, hits), hits, "url")
        if action is KeyAction.ARGUMENT:
            items = value if isinstance(value, (list, tuple)) else (value,)
            out_items = [self.scrub_argument(v, hits) for v in items]
            return tuple(out_items) if isinstance(value, tuple) else out_items if isinstance(value, list) else out_items[0]
        if action is KeyAction.STACKTRACE and isinstance(value, str):
            return self.scrub_stacktrace(value, hits)
        if action is KeyAction.SQL and isinstance(value, str):
            out = obfuscate_sql(value)
            return self._count_if_changed(value, self.scrub_text(out, hits), hits, "sql")
        return self._walk(value, key, hits, depth, seen)

    @staticmethod
    def _count_if_changed(before: str, after: str, hits: Counter[str] | None, name: str) -> str:
        if hits is not None and before != after:
            hits[name] += 1
        return after

    def _walk(self, value: Any, key: str | None, hits: Counter[str] | None, depth: int, seen: set[int]) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            return self.scrub_text(value, hits)
        if isinstance(value, int):
            return self._scrub_int(value, hits)
        if isinstance(value, float):
            return value
        if isinstance(value, (bytes, bytearray, memoryview)):
            return self.scrub_text(bytes(value).decode("utf-8", "replace"), hits)
        if depth >= MAX_DEPTH:
            return "[DEPTH_LIMIT]"
        if isinstance(value, Mapping) or isinstance(value, (list, tuple, set, frozenset)):
            ident = id(value)
            if ident in seen:
                return "[CYCLE]"
            seen.add(ident)
            try:
                if isinstance(value, Mapping):
                    out: dict[str, Any] = {}
                    for i, (k, v) in enumerate(value.items()):
                        if i >= MAX_ITEMS:
                            out["[TRUNCATED]"] = f"{len(value) - MAX_ITEMS} more items"
                            break
                        sk = k if isinstance(k, str) else str(k)
                        # A key can itself be PHI ({"jane@example.org": "bounced"}): export its scrubbed form.
                        out[self.scrub_text(sk, hits)] = self._keyed(sk, v, hits, depth + 1, seen)
                    return out
                items = []
                for i, v in enumerate(value):
                    if i >= MAX_ITEMS:
                        items.append(f"[TRUNCATED {len(value) - MAX_ITEMS} more items]")
                        break
                    items.append(self._walk(v, key, hits, depth + 1, seen) if key is None else self._keyed(key, v, hits, depth + 1, seen))
                return tuple(items) if isinstance(value, tuple) else items
            finally:
                seen.discard(ident)
        # Arbitrary objects: their text form is what a serializer would ship.
        try:
            text = str(value)
        except Exception:
            return "[UNSERIALIZABLE]"
        return self.scrub_text(text, hits)

    def _scrub_int(self, value: int, hits: Counter[str] | None) -> int | str:
        # Card numbers stored as integers: the only integer-shaped identifier with a checksum to trust.
        if 10**12 <= value < 10**19:
            text = str(value)
            if text[0] in "23456" and self.regex is not None:
                out = self.scrub_text(text, hits)
                if out != text:
                    return out
        return value


def _stable_str(value: Any) -> str:
    try:
        return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    except Exception:
        return repr(type(value))


def _try_json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _truncate(text: str, max_bytes: int) -> str:
    cut = text.encode("utf-8", "surrogatepass")[:max_bytes].decode("utf-8", "ignore")
    # Drop the last partial token so a cut identifier ("123-45-67") cannot slip past the detectors.
    tail = max(cut.rfind(" ", len(cut) - 128), cut.rfind("\n", len(cut) - 128))
    return cut[:tail] if tail > 0 else cut[: max(0, len(cut) - 32)]


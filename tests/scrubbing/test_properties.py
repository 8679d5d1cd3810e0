"""Property tests: canaries never survive anywhere in random structures; safe telemetry is untouched."""

from __future__ import annotations

import re

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otel_clinic.scrubbing import ScrubPolicy

POLICY = ScrubPolicy.default()
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ------------------------------------------------------------------ canaries: (text to embed, secret part)

digits = st.integers(min_value=0, max_value=9).map(str)


def _n(k: int) -> st.SearchStrategy[str]:
    return st.lists(digits, min_size=k, max_size=k).map("".join)


def _luhn_complete(body: str) -> str:
    total = 0
    for i, c in enumerate(reversed(body + "0")):
        d = int(c)
        if i % 2 == 1:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


ssn = st.tuples(st.integers(1, 899).filter(lambda a: a != 666), st.integers(1, 99), st.integers(1, 9999)).map(
    lambda t: f"{t[0]:03d}-{t[1]:02d}-{t[2]:04d}"
)
phone = st.tuples(st.integers(200, 999), st.integers(200, 999), _n(4), st.sampled_from(["-", ".", " "])).map(
    lambda t: f"{t[0]}{t[3]}{t[1]}{t[3]}{t[2]}"
)
paren_phone = st.tuples(st.integers(200, 999), st.integers(200, 999), _n(4)).map(lambda t: f"({t[0]}) {t[1]}-{t[2]}")
email = st.tuples(
    st.from_regex(r"[a-z][a-z0-9._]{0,10}[a-z0-9]", fullmatch=True),
    st.from_regex(r"[a-z][a-z0-9-]{0,8}[a-z]", fullmatch=True),
    st.sampled_from(["com", "org", "net", "io", "health"]),
).map(lambda t: f"{t[0]}@{t[1]}.{t[2]}")
card = st.tuples(st.sampled_from(["4", "51", "52", "37", "6011"]), st.integers(15, 15)).flatmap(
    lambda t: _n(t[1] - len(t[0])).map(lambda body: _luhn_complete(t[0] + body))
)
ipv4 = st.tuples(*[st.integers(1, 254)] * 4).filter(lambda t: t[0] != 127).map(lambda t: ".".join(map(str, t)))
mrn = st.tuples(st.sampled_from(["MRN: ", "MRN ", "mrn=", "MR# ", "patient id: ", "Medical record number "]),
                st.from_regex(r"[A-Z]{0,2}[0-9]{5,9}", fullmatch=True)).map(lambda t: (t[0] + t[1], t[1]))
dob = st.tuples(st.sampled_from(["DOB: ", "dob=", "born ", "date of birth ", "admitted on ", "discharged "]),
                st.integers(1920, 2024), st.integers(1, 12), st.integers(1, 28)).map(
    lambda t: (f"{t[0]}{t[1]}-{t[2]:02d}-{t[3]:02d}", f"{t[1]}-{t[2]:02d}-{t[3]:02d}")
)
member = st.tuples(st.sampled_from(["member id: ", "Insurance ID ", "policy number: ", "subscriber id="]),
                   st.from_regex(r"[A-Z]{2,3}[0-9]{6,10}", fullmatch=True)).map(lambda t: (t[0] + t[1], t[1]))
name = st.tuples(st.sampled_from(["patient: ", "Patient name: ", "Dear Mr. ", "name=", "Dear "]),
                 st.from_regex(r"[A-Z][a-z]{2,9} [A-Z][a-z]{2,11}", fullmatch=True)).map(lambda t: (t[0] + t[1], t[1]))

plain = st.one_of(ssn, phone, paren_phone, email, card, ipv4).map(lambda s: (s, s))
canary = st.one_of(plain, mrn, dob, member, name)

# ------------------------------------------------------------------ filler text around canaries

word = st.from_regex(r"[a-z]{1,8}|[A-Z][a-z]{1,6}|[0-9]{1,4}|[a-z]+_[a-z]+", fullmatch=True)
delim = st.sampled_from([" ", ", ", "; ", "\n", "\t", " | ", " (", ") ", ' "', '" ', " [", "] ", " - "])


@st.composite
def text_with_canaries(draw) -> tuple[str, list[str]]:
    parts: list[str] = []
    secrets: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        for _ in range(draw(st.integers(0, 4))):
            parts.append(draw(word))
            parts.append(draw(delim))
        embedded, secret = draw(canary)
        parts.append(embedded)
        secrets.append(secret)
        parts.append(draw(delim))
    parts.extend(draw(st.lists(word, max_size=3)))
    return "".join(parts), secrets


safe_key = st.sampled_from(["a", "data", "items", "info", "details", "payload", "x1", "values", "message"])


def structures(leaf: st.SearchStrategy) -> st.SearchStrategy:
    return st.recursive(
        leaf,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.tuples(children, children),
            st.dictionaries(safe_key, children, max_size=4),
        ),
        max_leaves=12,
    )


@SETTINGS
@given(text_with_canaries())
def test_canaries_in_text_never_survive(sample: tuple[str, list[str]]) -> None:
    text, secrets = sample
    out = POLICY.scrub_text(text)
    for secret in secrets:
        assert secret not in out, (text, out)


@SETTINGS
# Small integers only: a large random int can contain a canary's digits by coincidence (195312500000 holds
# the MRN canary "00000"), which says nothing about the scrubber.
@given(structures(st.one_of(text_with_canaries(), st.integers(-999, 999), st.booleans(), st.none())))
def test_canaries_in_random_structures_never_survive(tree) -> None:
    secrets: list[str] = []

    def strip(node):
        # Replace (text, secrets) leaves by their text, remembering the secrets.
        if isinstance(node, tuple) and len(node) == 2 and isinstance(node[0], str) and isinstance(node[1], list):
            secrets.extend(node[1])
            return node[0]
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items()}
        if isinstance(node, (list, tuple)):
            return type(node)(strip(v) for v in node)
        return node

    value = strip(tree)
    out = repr(POLICY.scrub(value))
    as_bytes = repr(POLICY.scrub(json.dumps(value).encode()))
    for secret in secrets:
        assert secret not in out
        assert secret not in as_bytes


# ------------------------------------------------------------------ safe telemetry stays exactly as it was

segment = st.one_of(st.from_regex(r"[a-z]{2,12}", fullmatch=True), st.sampled_from(["{id}", "<int:pk>", "<slug:slug>", "v1", "v2", "api"]))
route = st.lists(segment, min_size=1, max_size=5).map(lambda s: "/" + "/".join(s) + "/")
status = st.integers(100, 599).map(str)
duration = st.floats(0, 100000, allow_nan=False).map(lambda f: f"{f:.3f}ms")
trace_id = st.integers(0, 2**128 - 1).map(lambda i: format(i, "032x"))
span_id = st.integers(0, 2**64 - 1).map(lambda i: format(i, "016x"))
version = st.tuples(st.integers(0, 30), st.integers(0, 99), st.integers(0, 999), st.booleans()).map(
    lambda t: ("v" if t[3] else "") + f"{t[0]}.{t[1]}.{t[2]}"
)
# Labels with a run of four digits are identifier-shaped in free text by policy (docs/scrubbing.md), not "safe".
hostname = st.lists(
    st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True).filter(lambda s: not re.search(r"\d{4}", s)),
    min_size=2, max_size=4,
).map(".".join)
sql = st.tuples(
    st.sampled_from(["SELECT * FROM", "SELECT id, mrn, dob FROM", "DELETE FROM", "SELECT COUNT(*) FROM"]),
    st.sampled_from(["patients", "appointments", '"clinic_patient"', "prescriptions"]),
    st.sampled_from(["id", "patient_id", "mrn", "dob", "email", "first_name", "ssn"]),
    st.sampled_from(["%s", "$1", "?", ":value", "%(value)s"]),
).map(lambda t: f"{t[0]} {t[1]} WHERE {t[2]} = {t[3]}")
method_route = st.tuples(st.sampled_from(["GET", "POST", "PUT", "DELETE"]), route).map(" ".join)
safe_value = st.one_of(route, status, duration, trace_id, span_id, version, hostname, sql, method_route)


@SETTINGS
@given(safe_value)
def test_safe_telemetry_strings_unchanged(value: str) -> None:
    assert POLICY.scrub_text(value) == value


# ------------------------------------------------------------------ odd input never raises

anything = st.recursive(
    st.one_of(st.text(), st.binary(), st.integers(), st.floats(), st.booleans(), st.none(), st.characters(codec="utf-8")),
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.one_of(st.text(max_size=10), st.integers()), children, max_size=5),
        st.tuples(children),
        st.frozensets(st.text(max_size=5), max_size=3),
    ),
    max_leaves=20,
)


@SETTINGS
@given(anything)
def test_scrub_never_raises_and_returns_plain_data(value) -> None:
    # A scan that raises is swallowed (the value becomes [REDACTED]), so "no exception" proves nothing: the
    # engine's error counter must not move.
    errors = POLICY.engine.errors
    out = POLICY.scrub(value)
    json.dumps(out, default=str)  # only plain data comes back
    assert POLICY.engine.errors == errors, value


# A second policy: its engine shares no memo with POLICY's.
FRESH = ScrubPolicy.default()


@SETTINGS
@given(st.text(alphabet="0123456789-. ()+@:/=#abcxyzMRN\n", max_size=400))
def test_identifier_alphabet_soup_is_scanned_without_errors_memo_faithful_and_idempotent(text: str) -> None:
    errors = POLICY.engine.errors
    out = POLICY.scrub_text(text)
    assert POLICY.engine.errors == errors, text
    # the memoised answer is what an uncached scan by another engine computes
    assert FRESH.engine._scrub_text_uncached(text)[0] == out, text
    # a second pass (the Collector's PHI processor re-scans what we export) changes nothing
    assert FRESH.engine._scrub_text_uncached(out)[0] == out, (text, out)

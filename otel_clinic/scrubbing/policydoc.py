"""The PHI policy as a versioned data document: one source of truth for the in-process engine and the
Collector's PHI processor (collector/processor/phiprocessor, Go).

``otel-clinic collector-config --policy-document`` prints it; ``collector/phi-policy.json`` is that output (a test
fails when it is stale). The document carries everything the Go engine needs to behave like the Python one:
detectors (RE2 patterns in both engines' syntax, the kept context prefix, placeholder, boundary rule, validator
and trim by name), key rules (sensitive token runs, exact keys, safe / URL / path / SQL / query / stacktrace /
argument keys, header rules), the free-text rules' parameters and the name lexicon by file and checksum, caps and
the replacement style. Callables are named, never pickled: a consumer that meets a name it does not know must
refuse the document (fail closed), which the ``format`` version makes possible.
"""

from __future__ import annotations

import json
from typing import Any

from otel_clinic.scrubbing import detectors as det
from otel_clinic.scrubbing import headers
from otel_clinic.scrubbing import keys
from otel_clinic.scrubbing.engine import unbounded
from otel_clinic.scrubbing.policy import ScrubPolicy

FORMAT = "otel-clinic-policy/1"

_VALIDATORS = {det.luhn_ok: "luhn", det.ipv4_ok: "ipv4", det.ipv6_ok: "ipv6", det.has_digit: "has_digit"}
_TRIMS = {det.name_length: "name_length"}
# Hooks the Go engine implements by detector name (not in the document): any other use has no name there.
_SALVAGES = {("card", det.card_prefix_length)}
_NOT_IN_CODE = {"keyed_value", "keyed_exact"}


def _validator(fn: Any) -> Any:
    if fn is None:
        return None
    if fn in _VALIDATORS:
        return _VALIDATORS[fn]
    spec = getattr(fn, "spec", None)  # digit_count_between(lo, hi)
    if spec is not None:
        return {"name": "digit_count_between", "min": spec[0], "max": spec[1]}
    raise ValueError(f"validator {fn!r} has no name in the policy document")


def _rewrite(d: det.Detector) -> Any:
    if d.rewrite is None:
        return None
    return {"url": "url_text", "path": "path_text"}.get(d.name) or _fail(f"rewrite of detector {d.name!r}")


def _fail(what: str) -> Any:
    raise ValueError(f"{what} has no name in the policy document")


def policy_document(policy: ScrubPolicy) -> dict[str, Any]:
    """The policy as plain data (JSON-serialisable, deterministic order)."""
    engine = policy.engine  # the detectors as the engine compiled them (keyed detectors included)
    detectors = []
    for d in engine.detectors:
        trim = _TRIMS.get(d.trim) if d.trim is not None else None
        if d.trim is not None and trim is None:
            _fail(f"trim of detector {d.name!r}")
        if d.salvage is not None and (d.name, d.salvage) not in _SALVAGES:
            _fail(f"salvage of detector {d.name!r}")
        if not d.in_code and d.name not in _NOT_IN_CODE:
            _fail(f"in_code=False of detector {d.name!r}")
        detectors.append({
            "name": d.name,
            "prefix": unbounded(d.prefix) if d.prefix else "",
            "value": unbounded(d.value),
            "placeholder": d.placeholder,
            "boundary": d.boundary,
            "validator": _validator(d.validator),
            "trim": trim,
            "rewrite": _rewrite(d),
        })
    from otel_clinic.scrubbing.names import LEXICON_FORMAT, lexicon_body_sha256

    recorded, _actual = lexicon_body_sha256()
    return {
        "format": FORMAT,
        "replacement": policy.replacement,  # "hmac": the key is never in the document; the processor reads it from env
        "max_value_bytes": policy.max_value_bytes,
        "placeholders": {"redacted": "[REDACTED]", "truncated": "…[TRUNCATED]", "name": "[NAME]", "id": "[ID]",
                         "date": "[DATE]", "address": "[ADDRESS]", "host": "[HOST]"},
        "detectors": detectors,
        "keys": {
            "sensitive_runs": sorted(policy.sensitive_keys),
            "exact": sorted(policy.exact_sensitive_keys),
            "allowed": sorted(policy.allowed_keys),
            "safe": sorted(keys.SAFE_KEYS),
            "rule_exempt": sorted(keys.KEY_RULE_EXEMPT),
            "url": sorted(keys.URL_KEYS),
            "path": sorted(keys.PATH_KEYS),
            "sql": sorted(keys.SQL_KEYS),
            "query": sorted(keys.QUERY_KEYS),
            "stacktrace": sorted(keys.STACKTRACE_KEYS),
            "argument": sorted(keys.ARGUMENT_KEYS),
            "header_prefixes": list(headers.OTEL_HEADER_PREFIXES),
            "harmless_headers": sorted(headers.HARMLESS_HEADERS),
            "plural_exempt": ["tokens"],
        },
        "metric_attribute_keys": sorted(policy.metric_attribute_keys),
        "free_text": {
            "enabled": policy.free_text,
            "name_lexicon": {"format": LEXICON_FORMAT, "file": "otel_clinic/scrubbing/data/names.txt.gz",
                             "sha256": recorded},
            # The rules themselves are code (scrubbing/freetext.py); the parity corpus pins their behaviour.
            "rules": ["quoted_literals", "dates", "identifier_shapes", "street_addresses", "url_hosts", "names",
                      "tracebacks", "log_arguments"],
        },
    }


def render_policy_json(policy: ScrubPolicy) -> str:
    return json.dumps(policy_document(policy), indent=1, ensure_ascii=False, sort_keys=False) + "\n"


def parity_cases(policy: ScrubPolicy, corpus_paths: list[str]) -> list[dict[str, Any]]:
    """Inputs with the Python engine's outputs, for the Go processor's parity test (tests/data/phi_parity.jsonl):
    free text from the corpora, and attribute values under key rules."""
    cases: list[dict[str, Any]] = []
    seen: set[tuple[Any, str]] = set()
    for path in corpus_paths:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    text = json.loads(line)["text"]
                    if (None, text) not in seen:
                        seen.add((None, text))
                        cases.append({"key": None, "input": text, "expected": policy.scrub_text(text)})
    keyed = [
        ("http.route", "api/patients/<int:pk>/"), ("patient.ssn", "078-05-1120"), ("first_name", "Amara"),
        ("url.full", "https://api.stripe.com/v1/customers/9912345?email=a@b.org"), ("url.path", "/p/9912345/"),
        ("db.statement", "SELECT * FROM p WHERE ssn = '078-05-1120'"), ("url.query", "dob=1958-07-30"),
        ("http.request.header.x_patient", "00135799"), ("http.request.header.accept", "application/json"),
        ("exception.message", "invalid literal for int() with base 10: 'amara okafor'"),
        ("exception.stacktrace", 'Traceback (most recent call last):\n  File "/app/v.py", line 3, in v\n    int(x)\n'
                                 "ValueError: invalid literal for int() with base 10: '078-05-1120'\n"),
        ("clinic.log.args", "Brandvold"), ("server.address", "clinic.example"), ("clinic.note", "call 555-867-5309"),
        # words in no list next to a name, in one case style per run (hyphen/apostrophe parts count as Title)
        ("clinic.note", "lookup Abdulrahman Al-Sayed failed"), ("clinic.note", "WHERE last_name = Al-Sayed, Abdulrahman;"),
        ("clinic.note", "O'Brien, Sorcha"), ("clinic.note", "xiaoling rantainbroun; KAKAKA KAZUMOR"),
        ("clinic.note", "Kubernetes SIGTERM received"), ("clinic.note", "offset-naive and offset-aware datetimes"),
        # names inside paths in free text (a name run of two words is masked; a lone '/'-glued word is a segment)
        ("clinic.note", "not found: /api/patients/Jane Doe"), ("clinic.note", "no chart at /patients/Maria Garcia/edit"),
        ("clinic.note", "Timezone is Europe/Berlin, USE_TZ=True"), ("clinic.note", "see /static/Jackson/ and /home/maria/"),
        ("clinic.note", "gate refused /en/gate/Quentavius Marlowe-Prizzi"),
        ("clinic.note", "gate refused /en/gate/Oluwaseun Adeyemi/"), ("clinic.note", "at /x/Garcia Qwzbxly/ now"),
        ("clinic.note", "not found: /api/patients/dimitrios thondzindkunzol"),
        ("clinic.note", "no chart at /patients/Brurristol, Chukwuemeka/edit"), ("clinic.note", "tz America/Chicago and more"),
    ]
    for key, value in keyed:
        cases.append({"key": key, "input": value, "expected": policy.scrub_attributes({key: value})[key]})
    return cases


if __name__ == "__main__":  # .venv/bin/python -m otel_clinic.scrubbing.policydoc > tests/data/phi_parity.jsonl
    import sys

    for case in parity_cases(ScrubPolicy.default(), sys.argv[1:] or ["tests/data/phi_corpus.jsonl",
                                                                     "tests/data/negative_corpus.jsonl"]):
        sys.stdout.write(json.dumps(case, ensure_ascii=False) + "\n")

"""Render the policy as OpenTelemetry Collector processor configuration (defense in depth).

* ``redaction/phi``: ``blocked_key_patterns`` from the sensitive-key rules, ``blocked_values`` from the
  value detectors, ``ignored_keys`` for the semantic-convention fast path. Checksums (Luhn, IP octets)
  and neighbour checks cannot be expressed in RE2, so the Collector masks slightly more than the
  in-process engine; it never masks less on the detector shapes.
* ``transform/phi``: OTTL statements for what a value regex cannot do: SQL literals in
  ``db.statement``/``db.query.text``, query strings and fragments in URLs, id-like path segments in span names.

Every regex is RE2 syntax (Go ``regexp``): no lookaround, no backreferences, repeat counts <= 1000.
"""

from __future__ import annotations

import re
from typing import Any

from otel_clinic.scrubbing.detectors import keyed_value_detector
from otel_clinic.scrubbing.engine import unbounded
from otel_clinic.scrubbing.keys import KEY_RULE_EXEMPT, SAFE_KEYS, key_tokens
from otel_clinic.scrubbing.policy import ScrubPolicy

REDACTION_NAME = "redaction/phi"
TRANSFORM_NAME = "transform/phi"
# Rewritten by OTTL statements instead (a value regex would blank the whole URL).
_DETECTORS_NOT_RENDERED = frozenset({"url", "path"})

_SQL_STRING = r"'(?:[^']|'')*'"
# No literal "$" anywhere: the Collector's config loader treats "$" specially (env expansion, "$$" escape).
_SQL_DOLLAR = r"\x24\x24[^\x24]*\x24\x24"
_SQL_NUMBER = r"\b[0-9]+(?:\.[0-9]+)?\b"
_SQL_BLOCK_COMMENT = r"/\*[^*]*\*+(?:[^/*][^*]*\*+)*/"
_SQL_LINE_COMMENT = r"--[^\n]*"
_URL_QUERY = r"[?#].*"
_URL_USERINFO = r"://[^/@\s]*@"
_PATH_ID_SEGMENT = r"/[^/?# ]*[0-9]{2,}[^/?# ]*"


def sensitive_key_pattern(policy: ScrubPolicy) -> str:
    """One case-insensitive pattern matching keys that contain a sensitive token run."""
    runs = sorted({"[._ -]?".join(re.escape(t) for t in key_tokens(k)) for k in policy.sensitive_keys}, key=lambda s: (-len(s), s))
    return r"(?i)(?:\A|[._-])(?:" + "|".join(runs) + r")(?:\z|[._-])"


def exact_key_pattern(policy: ScrubPolicy) -> str:
    exact = sorted({"[._ -]?".join(re.escape(t) for t in key_tokens(k)) for k in policy.exact_sensitive_keys})
    return r"(?i)\A(?:" + "|".join(exact) + r")\z"


# Free-text "key=value" in the Collector: Go's regexp walks every branch of an alternation at every byte, so
# the full key list (~100 keys) cost ~0.7 ms per value there. The Collector gets the keys that name
# identifiers, contact data and credentials, plus every key the user added; attribute *keys* are still matched
# against the full list (blocked_key_patterns), and the in-process scrubber uses the full list everywhere.
COLLECTOR_TEXT_KEYS = frozenset({
    "ssn", "social_security", "dob", "date_of_birth", "birth_date", "mrn", "medical_record", "patient_id",
    "patient_name", "first_name", "last_name", "full_name", "email", "phone", "address", "zip", "insurance",
    "member_id", "policy_number", "diagnosis", "password", "token", "secret", "api_key", "authorization",
    "cookie", "session",
})


def collector_text_keys(policy: ScrubPolicy) -> frozenset[str]:
    from otel_clinic.scrubbing.keys import DEFAULT_SENSITIVE_KEYS

    added = policy.sensitive_keys - frozenset(DEFAULT_SENSITIVE_KEYS)
    return (COLLECTOR_TEXT_KEYS & policy.sensitive_keys) | added


def blocked_value_patterns(policy: ScrubPolicy) -> list[str]:
    detectors = list(policy.detectors)
    if policy.detect_keyed_values:
        detectors.append(keyed_value_detector(collector_text_keys(policy), qualified_keys=False))
    # Our own patterns contain no "$"; a custom one may (end anchor). The Collector's config loader reads
    # "$$" as a literal "$" (and "${...}" as an env reference), so escape it.
    return [_unbounded(d.full_pattern).replace("$", "$$") for d in detectors if d.name not in _DETECTORS_NOT_RENDERED]


def _unbounded(pattern: str) -> str:
    # Go's regexp compiles a count into that many copies of the sub-program (~0.6 ms per item for one pattern).
    return unbounded(pattern)


def _ottl_string(pattern: str) -> str:
    # OTTL string literal: escape backslashes and double quotes.
    return '"' + pattern.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _replace(target: str, pattern: str, replacement: str) -> str:
    return f"replace_pattern({target}, {_ottl_string(pattern)}, {_ottl_string(replacement)})"


def transform_statements() -> dict[str, list[str]]:
    sql_targets = ['attributes["db.statement"]', 'attributes["db.query.text"]']
    url_targets = ['attributes["url.full"]', 'attributes["http.url"]', 'attributes["http.target"]']
    span: list[str] = []
    for target in sql_targets:
        for pattern in (_SQL_BLOCK_COMMENT, _SQL_LINE_COMMENT):
            span.append(_replace(target, pattern, ""))
        for pattern in (_SQL_STRING, _SQL_DOLLAR, _SQL_NUMBER):
            span.append(_replace(target, pattern, "?"))
    for target in url_targets:
        span.append(_replace(target, _URL_USERINFO, "://"))
        span.append(_replace(target, _URL_QUERY, ""))
    span.append('set(attributes["url.query"], "[REDACTED]") where attributes["url.query"] != nil')
    span.append(_replace("name", _PATH_ID_SEGMENT, "/{id}"))
    log = [_replace('attributes["db.statement"]', _SQL_STRING, "?"), _replace('attributes["url.full"]', _URL_QUERY, "")]
    return {"span": span, "log": log}


def render_collector_processors(policy: ScrubPolicy) -> dict[str, Any]:
    """``{"processors": {...}}`` ready to merge into a Collector config (``yaml.safe_dump`` it)."""
    ignored = sorted(SAFE_KEYS | KEY_RULE_EXEMPT | set(policy.allowed_keys))
    statements = transform_statements()
    return {
        "processors": {
            REDACTION_NAME: {
                "allow_all_keys": True,
                "ignored_keys": ignored,
                "blocked_key_patterns": [sensitive_key_pattern(policy), exact_key_pattern(policy)],
                "blocked_values": blocked_value_patterns(policy),
                # The list of redacted keys would itself leak which fields carried PHI.
                "summary": "silent",
            },
            TRANSFORM_NAME: {
                "error_mode": "ignore",
                "trace_statements": [{"context": "span", "statements": statements["span"]}],
                "log_statements": [{"context": "log", "statements": statements["log"]}],
            },
        }
    }


def all_regexes(rendered: dict[str, Any]) -> list[str]:
    """Every regex in a rendered config (for compile checks against RE2 / Go regexp)."""
    red = rendered["processors"][REDACTION_NAME]
    out = list(red["blocked_key_patterns"]) + [v.replace("$$", "$") for v in red["blocked_values"]]
    out += [_SQL_STRING, _SQL_DOLLAR, _SQL_NUMBER, _SQL_BLOCK_COMMENT, _SQL_LINE_COMMENT, _URL_QUERY, _URL_USERINFO, _PATH_ID_SEGMENT]
    return out


def render_yaml(policy: ScrubPolicy) -> str:
    """The contrib redaction/transform processors (for a Collector without our ``phi`` processor)."""
    import yaml

    return yaml.safe_dump(render_collector_processors(policy), sort_keys=False, width=1 << 16)


def render_phi_processor(policy: ScrubPolicy) -> dict[str, Any]:
    """Our ``phi`` processor's configuration for this policy: empty for the default policy (the distribution
    embeds it and the name lexicon at build time), else the policy document inline with the installed lexicon."""
    from otel_clinic.scrubbing.policydoc import policy_document, render_policy_json

    if policy_document(policy) == policy_document(ScrubPolicy.default()):
        return {"processors": {"phi": {}}}
    from importlib import resources

    lexicon = resources.files("otel_clinic.scrubbing").joinpath("data/names.txt.gz")
    # The Collector's config loader reads "$$" as a literal "$" (and "${...}" as an env reference): escape it.
    inline = render_policy_json(policy).replace("$", "$$")
    return {"processors": {"phi": {"policy": inline, "name_lexicon_file": str(lexicon)}}}


def render_phi_yaml(policy: ScrubPolicy) -> str:
    import yaml

    return yaml.safe_dump(render_phi_processor(policy), sort_keys=False, width=1 << 16)

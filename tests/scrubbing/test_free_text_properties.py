"""Property tests: random canaries injected into exception messages, log templates and request headers never
come out of the scrubber. The canaries are generated (random digits, dates, synthetic and lexicon names), not
drawn from a list the detectors were tuned on; CI runs them derandomized (tests/conftest.py)."""

from __future__ import annotations

import datetime
import logging
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otel_clinic.scrubbing import ScrubPolicy
from otel_clinic.scrubbing.logtemplates import render
from otel_clinic.scrubbing.sentry import scrub_event

POLICY = ScrubPolicy.default()
ENGINE = POLICY.engine
LETTERS = "ACDEFGHJKMNPQRTUVWXY"

digits = st.integers(0, 9).map(str)
ssn = st.tuples(st.integers(100, 665), st.integers(10, 99), st.integers(1000, 9999), st.sampled_from(["", "-", " "])).map(
    lambda t: f"{t[0]}{t[3]}{t[1]}{t[3]}{t[2]}")
mrn = st.integers(10_000_00, 99_999_999_99).map(str)
member = st.tuples(st.text(LETTERS, min_size=2, max_size=3), st.integers(10_000_000, 999_999_999)).map(lambda t: f"{t[0]}{t[1]}")
mbi = st.tuples(st.integers(1, 9), st.text(LETTERS, min_size=2, max_size=2), digits, st.text(LETTERS, min_size=2, max_size=2),
                digits, st.text(LETTERS, min_size=2, max_size=2), st.integers(10, 99)).map(
    lambda t: f"{t[0]}{t[1]}{t[2]}-{t[3]}{t[4]}-{t[5]}{t[6]}")
zip4 = st.tuples(st.integers(10000, 99999), st.integers(1000, 9999)).map(lambda t: f"{t[0]}-{t[1]}")
day = st.dates(datetime.date(1920, 1, 1), datetime.date(2020, 12, 31))
date = st.tuples(day, st.sampled_from(["%Y-%m-%d", "%m/%d/%Y", "%d %b %Y", "%B %d, %Y", "%d.%m.%Y"])).map(
    lambda t: t[0].strftime(t[1]))
syllable = st.sampled_from(["ka", "zu", "mor", "vel", "tran", "dis", "qui", "bren", "olo", "sun", "dra", "fen", "gor", "lith"])
synthetic = st.lists(syllable, min_size=3, max_size=4).map("".join)
synthetic_pair = st.tuples(synthetic, synthetic, st.sampled_from([str.lower, str.upper, str.title])).filter(
    lambda t: t[0] != t[1]).map(lambda t: t[2](f"{t[0]} {t[1]}"))
identifier = st.one_of(ssn, mrn, member, mbi, zip4, date)
canary = st.one_of(identifier, synthetic_pair)

EXCEPTION_TEMPLATES = [
    "invalid literal for int() with base 10: '{}'",
    "could not convert string to float: '{}'",
    "time data '{}' does not match format '%Y-%m-%d'",
    "'{}'",
    "“{}” value has an invalid date format. It must be in YYYY-MM-DD format.",
    "no match among ['{}', 'other value']",
    'Invalid HTTP_HOST header: "{}". You may need to add it to ALLOWED_HOSTS.',
]
FREE_TEMPLATES = ["lookup {} failed", "patient {} checked in", "{}", "merged records for {} and 12", "visit: {}"]


_MONTHS = {m.lower() for m in ("January February March April May June July August September October November December "
                               "Jan Feb Mar Apr Jun Jul Aug Sep Oct Nov Dec").split()}


def _absent(canary: str, text: str) -> bool:
    # every identifying part of the canary (a month name alone identifies nobody, and "may" is a word)
    parts = [p for p in re.split(r"[\s,]+", canary) if len(p) >= 3 and p.lower() not in _MONTHS]
    return not any(re.search(rf"(?<![A-Za-z0-9]){re.escape(p)}(?![A-Za-z0-9])", text, re.IGNORECASE) for p in parts)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(canary, st.sampled_from(EXCEPTION_TEMPLATES))
def test_exception_messages_quoting_input(value: str, template: str) -> None:
    message = template.format(value)
    out = POLICY.scrub_text(message)
    assert _absent(value, out), (message, out)
    trace = f'Traceback (most recent call last):\n  File "/app/views.py", line 7, in view\n    int(x)\nValueError: {message}\n'
    scrubbed = ENGINE.scrub_stacktrace(trace)
    assert _absent(value, scrubbed) and 'File "/app/views.py", line 7, in view' in scrubbed, scrubbed


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(identifier, st.sampled_from(FREE_TEMPLATES))
def test_identifiers_in_pre_formatted_messages(value: str, template: str) -> None:
    out = POLICY.scrub_text(template.format(value))
    assert _absent(value, out), out


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(canary, st.sampled_from(["created patient %s", "lookup %s by user %s", "%s", "notes=%s", "DOB %s"]))
def test_log_templates_never_carry_arguments(value: str, template: str) -> None:
    args = tuple(value if i == 0 else 17 for i in range(template.count("%s")))
    record = logging.LogRecord("app", logging.INFO, __file__, 1, template, args, None)
    body = POLICY.scrub_text(render(record.msg, record.args))
    scrubbed_args = ENGINE.scrub_arguments(template, [str(a) for a in args])
    assert _absent(value, body) and _absent(value, " ".join(map(str, scrubbed_args))), (body, scrubbed_args)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(canary, st.sampled_from(["User-Agent", "Referer", "X-Forwarded-For", "Host", "X-Patient", "Cookie"]))
def test_request_headers_never_reach_sentry(value: str, header: str) -> None:
    event = scrub_event({"request": {"url": f"https://{value.replace(' ', '-')}.example/p/?q={value}",
                                      "headers": {header: value, "Content-Type": "application/json"}},
                         "transaction": "/p/"}, POLICY)
    assert _absent(value, repr(event)), event

"""The scrubbing step as one object, the shared header policy, detector hooks and the engine's error counter."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_clinic.scrubbing import ScrubPolicy
from otel_clinic.scrubbing.detectors import BOUNDARY_ALNUM, Detector
from otel_clinic.scrubbing.engine import REDACTED, Engine
from otel_clinic.scrubbing.exporters import ScrubbingExporter
from otel_clinic.scrubbing.headers import DESCRIPTIVE_HEADERS, TRANSPORT_HEADERS, header_kept
from otel_clinic.scrubbing.keys import KeyRules
from otel_clinic.scrubbing.scrubber import NO_SCRUBBER, ActiveScrubber, scrubber_for
from otel_clinic.scrubbing.sentry import scrub_event

SSN = "078-05-1120"


def _span_through(scrubber, attributes: dict) -> dict:
    sink = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(scrubber.wrap_span_exporter(sink)))
    with provider.get_tracer("t").start_as_current_span("lookup", attributes=attributes):
        pass
    provider.shutdown()
    (span,) = sink.get_finished_spans()
    return dict(span.attributes)


def test_scrubber_for_is_the_no_op_when_disabled_or_without_policy() -> None:
    policy = ScrubPolicy.default()
    assert scrubber_for(False, policy) is NO_SCRUBBER
    assert scrubber_for(True, None) is NO_SCRUBBER
    exporter = InMemorySpanExporter()
    assert NO_SCRUBBER.wrap_span_exporter(exporter) is exporter
    assert NO_SCRUBBER.metric_views() == [] and NO_SCRUBBER.sentry_hooks() == {}
    assert _span_through(NO_SCRUBBER, {"note": f"ssn {SSN}"}) == {"note": f"ssn {SSN}"}


def test_active_scrubber_scrubs_spans_and_builds_views_and_hooks() -> None:
    scrubber = scrubber_for(True, ScrubPolicy.default())
    assert isinstance(scrubber, ActiveScrubber) and scrubber_for(True, scrubber) is scrubber
    assert _span_through(scrubber, {"detail": f"ssn {SSN}"}) == {"detail": "ssn [SSN]"}
    assert scrubber.metric_views() and set(scrubber.sentry_hooks()) == {
        "before_send", "before_send_transaction", "before_breadcrumb"}


def test_one_generic_exporter_counts_a_failed_item_and_exports_the_rest() -> None:
    class Boom(ScrubbingExporter[str]):
        signal = "test"

        class results:  # noqa: N801 - stands in for the SDK's result enum
            SUCCESS, FAILURE = "ok", "failed"

        @staticmethod
        def scrub_item(item: str, policy: ScrubPolicy, hits: Counter[str]) -> str:
            if item == "bad":
                raise ValueError(item)
            return policy.scrub_text(item, hits)

    class Inner:
        def __init__(self) -> None:
            self.batches: list[list[str]] = []

        def export(self, items: list[str]) -> str:
            self.batches.append(items)
            return "ok"

    inner = Inner()
    assert Boom(inner, ScrubPolicy.default()).export(["bad", f"ssn {SSN}"]) == "ok"
    assert inner.batches == [["ssn [SSN]"]]
    assert Boom(inner, ScrubPolicy.default()).export(["bad"]) == "ok" and len(inner.batches) == 1


def test_header_policy_is_shared_by_otel_capture_and_sentry() -> None:
    policy = ScrubPolicy.default()
    attrs = {f"http.request.header.{h.replace('-', '_')}": "x" for h in ("content-type", "user-agent", "x-patient")}
    scrubbed = policy.scrub_attributes(attrs)
    event = scrub_event({"request": {"headers": {"Content-Type": "x", "User-Agent": "x", "X-Patient": "x"}}}, policy)
    # transport: both keep; descriptive: only the operator-listed OTel capture; anything else: neither
    assert scrubbed["http.request.header.content_type"] == "x" and event["request"]["headers"] == {"Content-Type": "x"}
    assert scrubbed["http.request.header.user_agent"] == "x"
    assert scrubbed["http.request.header.x_patient"] == REDACTED
    for header in TRANSPORT_HEADERS:
        assert header_kept(header, operator_listed=False) and header_kept(header, operator_listed=True)
    for header in DESCRIPTIVE_HEADERS:
        assert not header_kept(header, operator_listed=False) and header_kept(header.upper(), operator_listed=True)
    assert not header_kept("authorization", operator_listed=True)


def _engine(*detectors: Detector) -> Engine:
    return Engine(detectors, KeyRules(frozenset(), frozenset(), frozenset()), hmac_key=None, max_value_bytes=4096,
                  free_text=False)


def test_salvage_hook_replaces_the_valid_prefix_of_a_rejected_match() -> None:
    # "BADGE-1234" is valid, the greedy match "BADGE-1234-99" is not: the hook keeps the valid prefix.
    badge = Detector("badge", r"BADGE-\d{4}(?:-\d{2})?", "[BADGE]", boundary=BOUNDARY_ALNUM,
                     validator=lambda v: len(v) == 10, salvage=lambda v: 10 if v[:10].startswith("BADGE-") else 0)
    assert _engine(badge).scrub_text("id BADGE-1234-99 ok") == "id [BADGE]-99 ok"
    assert _engine(badge).scrub_text("idBADGE-1234-99") == "idBADGE-1234-99"  # start boundary fails: no salvage
    without = Detector("badge", badge.value, "[BADGE]", boundary=BOUNDARY_ALNUM, validator=badge.validator)
    assert _engine(without).scrub_text("id BADGE-1234-99 ok") == "id BADGE-1234-99 ok"


def test_default_card_detector_salvages_a_card_followed_by_a_year() -> None:
    assert ScrubPolicy.default().scrub_text("paid with 4111 1111 1111 1111 2026") == "paid with [CARD] 2026"


def test_in_code_false_detector_is_skipped_in_source_lines() -> None:
    keyed = Detector("keyed", r"\w+", "[REDACTED]", prefix=r"name=", in_code=False)
    assert _engine(keyed).scrub_text("name=okonkwo") == "name=[REDACTED]"
    assert _engine(keyed).scrub_code("name=self.urlconf_name") == "name=self.urlconf_name"


def test_engine_counts_scans_that_failed_closed() -> None:
    def explode(value: str) -> bool:
        raise RuntimeError("validator bug")

    engine = _engine(Detector("boom", r"\d{3}", "[X]", validator=explode))
    assert engine.scrub_text("abc") == "abc" and engine.errors == 0
    hits: Counter[str] = Counter()
    assert engine.scrub_text("room 123", hits) == REDACTED
    assert engine.errors == 1 and hits["scrub_error"] == 1


def test_light_submodules_do_not_load_the_engine() -> None:
    """Log call sites import logtemplates; a process that never scrubs must not load RE2 or the engine."""
    code = ("import sys, otel_clinic.scrubbing.logtemplates, otel_clinic.scrubbing.headers; "
            "print(sorted(m for m in ('re2', 'otel_clinic.scrubbing.engine', 'otel_clinic.scrubbing.names') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"
    code = "import sys; from otel_clinic.scrubbing import scrub; print(scrub('ssn 078-05-1120'), 're2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "ssn [SSN] True"

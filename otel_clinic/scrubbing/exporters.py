"""Exporter wrappers that ship scrubbed copies of spans and log records.

They run inside the SDK's batch processors (the export thread), so scrubbing never costs the request
thread anything. A record that cannot be scrubbed is dropped and counted, never exported raw; no
exception from here reaches the SDK.
"""

from __future__ import annotations

import copy
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.metrics import Meter
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import Link, Status
from opentelemetry.util.types import Attributes

from otel_clinic.scrubbing.logtemplates import ARGS_ATTRIBUTE, TEMPLATE_ATTRIBUTE
from otel_clinic.scrubbing.policy import ScrubPolicy
from otel_clinic.scrubbing.url import scrub_path

_logger = logging.getLogger(__name__)
T = TypeVar("T")
_HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT", "_OTHER", "HTTP"})


class _Counters:
    """``clinic.scrub.redactions{detector}`` and ``clinic.telemetry.dropped{signal,reason}`` (when a meter is given)."""

    def __init__(self, meter: Meter | None, signal: str) -> None:
        self._signal = signal
        self._redactions = self._dropped = None
        if meter is not None:
            self._redactions = meter.create_counter(
                "clinic.scrub.redactions", unit="{redaction}", description="Values replaced by the PHI scrubber, by detector"
            )
            from otel_clinic.exporters import dropped_counter  # the one owner of the instrument

            self._dropped = dropped_counter(meter)

    def record(self, hits: Counter[str], dropped: int) -> None:
        try:
            if self._redactions is not None:
                for detector, count in hits.items():
                    self._redactions.add(count, {"detector": detector})
            if dropped and self._dropped is not None:
                self._dropped.add(dropped, {"signal": self._signal, "reason": "scrub_error"})
        except Exception:  # metrics must never break export
            _logger.debug("otel_clinic: could not record scrub counters", exc_info=True)


def _like(dropped: int, scrubbed: dict[str, Any]) -> Attributes:
    """Keep the SDK's dropped-attribute count so exporters still report truncation by limits."""
    if dropped:
        bounded = BoundedAttributes(maxlen=None, attributes=scrubbed, immutable=True)
        bounded.dropped = dropped
        return bounded
    return scrubbed


def _like_list(dropped: int, items: list[Any]) -> Sequence[Any]:
    if dropped:
        bounded = BoundedList.from_seq(None, items)
        bounded.dropped = dropped
        return bounded
    return tuple(items)


def guard_span_name(name: str, attributes: Mapping[str, Any], policy: ScrubPolicy, hits: Counter[str]) -> str:
    """Span names must be low-cardinality and PHI-free: a raw path becomes the route (or a scrubbed path)."""
    route = attributes.get("http.route")
    method, _, rest = name.partition(" ")
    has_method = method in _HTTP_METHODS and bool(rest)
    target = rest if has_method else name
    if "/" in target or "?" in target:
        if isinstance(route, str) and route:
            if target == route:
                return name
            new = f"{method} {route}" if has_method else route
        else:
            path = scrub_path(target.split("?", 1)[0].split("#", 1)[0])
            new = f"{method} {path}" if has_method else path
        if new != name:
            hits["span_name"] += 1
        name = new
    return policy.scrub_text(name, hits)


def scrub_span(span: ReadableSpan, policy: ScrubPolicy, hits: Counter[str]) -> ReadableSpan:
    original = span.attributes or {}
    route = original.get("http.route")
    route = route if isinstance(route, str) and route else None
    attributes = policy.scrub_attributes(original, hits, route)
    events = [
        Event(e.name, _like(e.dropped_attributes, policy.scrub_attributes(e.attributes, hits, route)), e.timestamp)
        for e in span.events
    ]
    links = [Link(link.context, _like(link.dropped_attributes, policy.scrub_attributes(link.attributes, hits, route))) for link in span.links]
    status = span.status
    if status is not None and status.description:
        status = Status(status.status_code, policy.scrub_text(status.description, hits))
    name = guard_span_name(span.name, original, policy, hits)
    if not events and not links and status is span.status and name == span.name and attributes == dict(original):
        return span  # nothing to change: skip building a copy (the common case for server spans)
    return ReadableSpan(
        name=name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,  # our own resource (service/version/env): not PHI, left untouched
        attributes=_like(span.dropped_attributes, attributes),
        events=_like_list(span.dropped_events, events),
        links=_like_list(span.dropped_links, links),
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def scrub_log_record(record: ReadableLogRecord, policy: ScrubPolicy, hits: Counter[str]) -> ReadableLogRecord:
    original = record.log_record
    body = policy.scrub(original.body, hits) if original.body is not None else None
    attributes = dict(original.attributes or {})
    args = attributes.pop(ARGS_ATTRIBUTE, None)
    scrubbed = policy.scrub_attributes(attributes, hits)
    if args is not None:
        # Each argument is judged with the template text before it ("notes=%s", "DOB %s") as context.
        new_args = policy.engine.scrub_arguments(attributes.get(TEMPLATE_ATTRIBUTE), args, hits)
        scrubbed[ARGS_ATTRIBUTE] = type(args)(new_args) if isinstance(args, tuple) else new_args
        attributes[ARGS_ATTRIBUTE] = args
    # The exception object (message, args, locals via traceback) must not reach any exporter; its
    # type/message/stacktrace already are (scrubbed) attributes.
    exception = getattr(original, "exception", None)
    if exception is None and body == original.body and scrubbed == attributes:
        return record  # nothing to change: no copy (the common case for templated records)
    inner = copy.copy(original)
    inner.body = body
    inner.attributes = _like(record.dropped_attributes, scrubbed)
    if exception is not None:
        inner.exception = None
    return ReadableLogRecord(
        log_record=inner,
        resource=record.resource,
        instrumentation_scope=record.instrumentation_scope,
        limits=record.limits,
    )


class ScrubbingExporter(Generic[T]):
    """Wraps an exporter of one signal; exports scrubbed copies of its items.

    A subclass names the signal (for ``clinic.telemetry.dropped{signal}``), the function that scrubs one item and
    the SDK's result enum of that signal; the behaviour is the same for every signal.
    """

    signal: ClassVar[str] = ""
    results: ClassVar[Any] = None  # SpanExportResult / LogRecordExportResult

    def __init__(self, inner: Any, policy: ScrubPolicy, meter: Meter | None = None) -> None:
        self._inner = inner
        self._policy = policy
        self._counters = _Counters(meter, self.signal)

    @staticmethod
    def scrub_item(item: T, policy: ScrubPolicy, hits: Counter[str]) -> T:
        raise NotImplementedError

    @property
    def inner(self) -> Any:
        return self._inner

    def export(self, items: Sequence[T]) -> Any:
        hits: Counter[str] = Counter()
        scrubbed: list[T] = []
        dropped = 0
        for item in items:
            try:
                scrubbed.append(self.scrub_item(item, self._policy, hits))
            except Exception:
                dropped += 1
                _logger.debug("otel_clinic: %s item dropped, scrubbing failed", self.signal, exc_info=True)
        self._counters.record(hits, dropped)
        if not scrubbed:
            return self.results.SUCCESS
        try:
            return self._inner.export(scrubbed)
        except Exception:
            _logger.debug("otel_clinic: %s exporter %r failed", self.signal, type(self._inner).__name__, exc_info=True)
            return self.results.FAILURE

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


class ScrubbingSpanExporter(ScrubbingExporter[ReadableSpan], SpanExporter):
    """Wraps a SpanExporter; exports scrubbed copies of the spans."""

    signal = "traces"
    results = SpanExportResult
    scrub_item = staticmethod(scrub_span)


class ScrubbingLogExporter(ScrubbingExporter[ReadableLogRecord], LogRecordExporter):
    """Wraps a LogRecordExporter (OTel SDK 1.45 logs); exports scrubbed copies of the records."""

    signal = "logs"
    results = LogRecordExportResult
    scrub_item = staticmethod(scrub_log_record)

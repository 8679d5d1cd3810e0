"""The pipeline's scrubbing step as one object: ``ActiveScrubber`` applies a policy, ``NoScrubber`` does nothing.

Call sites ask the scrubber to wrap what they build (span/log exporters, metric readers, views) instead of each
repeating ``scrub_policy is not None and config.scrub_enabled``; with scrubbing off nothing of the engine is
imported or compiled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.metrics import Meter
    from opentelemetry.sdk._logs.export import LogRecordExporter
    from opentelemetry.sdk.metrics.export import MetricReader
    from opentelemetry.sdk.metrics.view import View
    from opentelemetry.sdk.trace.export import SpanExporter

    from otel_clinic.scrubbing.policy import ScrubPolicy


class Scrubber:
    """What the pipeline needs from scrubbing. This base is the no-op: everything passes through unchanged."""

    enabled = False
    policy: ScrubPolicy | None = None

    def wrap_span_exporter(self, exporter: SpanExporter, meter: Meter | None = None) -> SpanExporter:
        return exporter

    def wrap_log_exporter(self, exporter: LogRecordExporter, meter: Meter | None = None) -> LogRecordExporter:
        return exporter

    def wrap_metric_reader(self, reader: MetricReader) -> MetricReader:
        return reader

    def metric_views(self) -> list[View]:
        return []

    def sentry_hooks(self) -> dict[str, Any]:
        return {}


class NoScrubber(Scrubber):
    """Scrubbing switched off (``OTEL_CLINIC_SCRUB=false``): telemetry is exported as recorded."""


class ActiveScrubber(Scrubber):
    """Applies ``policy`` in the export threads (spans, logs), at metric collection and in Sentry's hooks."""

    enabled = True

    def __init__(self, policy: ScrubPolicy) -> None:
        self.policy = policy

    def wrap_span_exporter(self, exporter: SpanExporter, meter: Meter | None = None) -> SpanExporter:
        from otel_clinic.scrubbing.exporters import ScrubbingSpanExporter

        return ScrubbingSpanExporter(exporter, self.policy, meter=meter)

    def wrap_log_exporter(self, exporter: LogRecordExporter, meter: Meter | None = None) -> LogRecordExporter:
        from otel_clinic.scrubbing.exporters import ScrubbingLogExporter

        return ScrubbingLogExporter(exporter, self.policy, meter=meter)

    def wrap_metric_reader(self, reader: MetricReader) -> MetricReader:
        from otel_clinic.scrubbing.metrics import scrub_reader

        return scrub_reader(reader, self.policy)

    def metric_views(self) -> list[View]:
        from otel_clinic.scrubbing.metrics import metric_views

        return list(metric_views(self.policy))

    def sentry_hooks(self) -> dict[str, Any]:
        from otel_clinic.scrubbing.sentry import sentry_hooks

        return sentry_hooks(self.policy)


NO_SCRUBBER = NoScrubber()


def scrubber_for(enabled: bool, policy: ScrubPolicy | Scrubber | None) -> Scrubber:
    """The scrubber for a process: ``NO_SCRUBBER`` when scrubbing is off or no policy was built."""
    if not enabled or policy is None:
        return NO_SCRUBBER
    return policy if isinstance(policy, Scrubber) else ActiveScrubber(policy)

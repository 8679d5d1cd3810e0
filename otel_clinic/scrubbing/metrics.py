"""Metric attribute allowlist: only known low-cardinality, PHI-free keys ever become labels."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from opentelemetry.sdk.metrics.export import MetricReader, MetricsData
from opentelemetry.sdk.metrics.view import View

from otel_clinic.scrubbing.policy import ScrubPolicy


def metric_views(policy: ScrubPolicy) -> list[View]:
    """One wildcard view keeping only ``policy.metric_attribute_keys`` on every instrument.

    A single view (rather than one per instrument) so that no instrument, including ones added by
    third-party instrumentations, falls back to the SDK default of "all attributes". The default
    aggregation still honours each instrument's advisory histogram buckets.
    """
    return [View(instrument_name="*", attribute_keys=set(policy.metric_attribute_keys))]


def scrub_metrics_data(data: MetricsData, policy: ScrubPolicy) -> MetricsData:
    """Scan the string attribute values of every data point: a value the detectors change is replaced.

    The view above limits which *keys* become labels; this catches PHI put into an allowed key's *value* by
    application code (``counter.add(1, {"reason": "duplicate MRN 00555111"})``). Metric label values come from
    small sets, so the memoised scrubber makes this cheap; it runs once per collection, not per measurement.
    """
    resource_metrics = []
    changed = False
    for rm in data.resource_metrics:
        scope_metrics = []
        for sm in rm.scope_metrics:
            metrics = []
            for metric in sm.metrics:
                points = list(metric.data.data_points)
                scrubbed = [_scrub_point(p, policy) for p in points]
                if any(new is not old for new, old in zip(scrubbed, points)):
                    changed = True
                    metric = replace(metric, data=replace(metric.data, data_points=scrubbed))
                metrics.append(metric)
            scope_metrics.append(replace(sm, metrics=metrics))
        resource_metrics.append(replace(rm, scope_metrics=scope_metrics))
    return replace(data, resource_metrics=resource_metrics) if changed else data


def _scrub_point(point: Any, policy: ScrubPolicy) -> Any:
    attributes = point.attributes or {}
    if not any(isinstance(v, str) for v in attributes.values()):
        return point
    scrubbed = policy.scrub_attributes(attributes)
    if scrubbed == dict(attributes):
        return point
    return replace(point, attributes=scrubbed)


def scrub_reader(reader: MetricReader, policy: ScrubPolicy) -> MetricReader:
    """Make ``reader`` (push or pull: periodic exporter, Prometheus, in-memory) receive scrubbed data.

    ``_receive_metrics`` is the hook every MetricReader implements and ``collect()`` calls; wrapping it on the
    instance covers readers we did not create ourselves.
    """
    receive = reader._receive_metrics

    def scrubbed_receive(metrics_data: MetricsData, *args: Any, **kwargs: Any) -> Any:
        try:
            metrics_data = scrub_metrics_data(metrics_data, policy)
        except Exception:  # fail closed: nothing is better than raw labels
            return None
        return receive(metrics_data, *args, **kwargs)

    reader._receive_metrics = scrubbed_receive  # type: ignore[method-assign]
    return reader

"""Metric attribute allowlist: only known low-cardinality, PHI-free keys ever become labels."""

from __future__ import annotations

from opentelemetry.sdk.metrics.view import View

from otel_clinic.scrubbing.policy import ScrubPolicy


def metric_views(policy: ScrubPolicy) -> list[View]:
    """One wildcard view keeping only ``policy.metric_attribute_keys`` on every instrument.

    A single view (rather than one per instrument) so that no instrument, including ones added by
    third-party instrumentations, falls back to the SDK default of "all attributes". The default
    aggregation still honours each instrument's advisory histogram buckets.
    """
    return [View(instrument_name="*", attribute_keys=set(policy.metric_attribute_keys))]

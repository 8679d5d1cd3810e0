"""The app process's in-memory metrics pipeline with the health gauges registered (as setup() would)."""

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_clinic.health import register_instruments

_reader = InMemoryMetricReader()
_provider = MeterProvider(metric_readers=[_reader])
register_instruments(_provider.get_meter("tests.health.app"))


def collect_gauges() -> dict:
    """{metric name: [{attributes, value}]} from one collection."""
    out: dict = {}
    data = _reader.get_metrics_data()
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                out[metric.name] = [
                    {"attributes": dict(p.attributes or {}), "value": p.value} for p in metric.data.data_points
                ]
    return out

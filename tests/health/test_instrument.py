"""The observable gauges, read through a real SDK MeterProvider + InMemoryMetricReader."""

from __future__ import annotations

import pytest

import threading
import time

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_clinic.health import (
    BrokerCheck, FunctionCheck, HealthRegistry, HealthRunner, Outcome, RedisCheck, Status, register_instruments,
)
from otel_clinic.health.state import configure
from tests.health.helpers import gauge_points, wait_for
from tests.support.services import RedisServer

pytestmark = pytest.mark.services  # real PostgreSQL/Redis servers (session-scoped)


def _pipeline(runner: HealthRunner | None = None) -> InMemoryMetricReader:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    register_instruments(provider.get_meter("test"), runner)
    return reader


def test_gauge_tracks_redis_going_down(redis_up: RedisServer) -> None:
    runner = HealthRunner(HealthRegistry([RedisCheck(redis_up.url, timeout=0.5)]), cache_interval=0.3)
    reader = _pipeline(runner)
    runner.report()
    assert gauge_points(reader, "clinic.health.status") == {"redis": 1.0}
    assert gauge_points(reader, "clinic.health.check.duration")["redis"] > 0
    redis_up.stop()
    time.sleep(0.35)  # cache interval elapses; the next collection starts a background refresh
    assert wait_for(lambda: gauge_points(reader, "clinic.health.status") == {"redis": 0.0}, timeout=5)


def test_collection_never_waits_on_a_hung_check() -> None:
    release = threading.Event()
    runner = HealthRunner(
        HealthRegistry([FunctionCheck(lambda: release.wait(10) and Status.OK, name="hung", timeout=5.0)]),
        cache_interval=60,
    )
    reader = _pipeline(runner)
    try:
        begun = time.monotonic()
        first = gauge_points(reader, "clinic.health.status")  # no results yet: nothing, refresh started
        elapsed = time.monotonic() - begun
        assert first == {}
        assert elapsed < 1.0
        release.set()
        assert wait_for(lambda: gauge_points(reader, "clinic.health.status") == {"hung": 1.0}, timeout=5)
    finally:
        release.set()


def test_status_values_and_critical_attribute() -> None:
    runner = HealthRunner(HealthRegistry([
        FunctionCheck(lambda: Status.OK, name="a", critical=True),
        FunctionCheck(lambda: Status.DEGRADED, name="b", critical=False),
        FunctionCheck(lambda: Status.DOWN, name="c", critical=False),
    ]))
    reader = _pipeline(runner)
    runner.report()
    data = reader.get_metrics_data()
    points = {
        dict(p.attributes)["check"]: (p.value, dict(p.attributes)["clinic.health.critical"])
        for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
        if m.name == "clinic.health.status" for p in m.data.data_points
    }
    assert points == {"a": (1.0, "true"), "b": (0.5, "false"), "c": (0.0, "false")}


def test_db_pool_usage_and_celery_queue_gauges_come_from_check_details(redis_up: RedisServer) -> None:
    from kombu import Connection

    with Connection(redis_up.url) as conn:
        q = conn.SimpleQueue("gauge_q")
        q.put({"x": 1})
        q.put({"x": 2})
        q.close()
    database = FunctionCheck(
        lambda: Outcome(Status.OK, "", {"aliases": {"default": {"status": "ok", "pool_usage": 0.25}}}),
        name="database",
    )
    runner = HealthRunner(HealthRegistry([database, BrokerCheck(redis_up.url, queues=["gauge_q"], timeout=1.0)]))
    reader = _pipeline(runner)
    runner.report()
    data = reader.get_metrics_data()
    by_name = {m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    queue = by_name["clinic.celery.queue.length"].data.data_points[0]
    assert (dict(queue.attributes), queue.value) == ({"queue": "gauge_q"}, 2)
    usage = by_name["clinic.db.connection.usage"].data.data_points[0]
    assert (dict(usage.attributes), usage.value) == ({"db.alias": "default"}, 0.25)
    with Connection(redis_up.url) as conn:
        conn.default_channel.client.delete("gauge_q")


def test_default_source_follows_reconfiguration() -> None:
    reader = _pipeline()  # no runner: the process-wide one, resolved at each collection
    configure({"checks": ["disk"]}, use_django=False).report()
    assert set(gauge_points(reader, "clinic.health.status")) == {"disk"}
    configure({"checks": ["memory"]}, use_django=False).report()
    assert set(gauge_points(reader, "clinic.health.status")) == {"memory"}

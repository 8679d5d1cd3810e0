"""The bounded retry buffer for span/log export batches (otel_clinic.retry) and its wiring into setup().

A fake exporter that fails while "down" stands in for a dead agent; the real-Collector version of this (agent
SIGKILLed and restarted under app load) is tests/collector/test_faults.py.
"""

from __future__ import annotations

import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    InMemoryMetricReader,
    MetricExporter,
    MetricExportResult,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from otel_clinic import ConfigError, retry, testing
from otel_clinic.config import load_config
from otel_clinic.exporters import DropCounter, LazyMetricExporter, LazySpanExporter
from otel_clinic.retry import RetryBuffer
from tests.foundation.conftest import points


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Sink:
    """A send function that fails while ``down`` (or for batches containing a poison item) and records."""

    def __init__(self) -> None:
        self.down = False
        self.poison: set = set()
        self.calls = 0
        self.delivered: list = []

    def __call__(self, items) -> bool:
        self.calls += 1
        if self.down or self.poison & set(items):
            return False
        self.delivered.extend(items)
        return True


def _buffer(sink, *, max_items=100, max_age_s=300.0, clock=None, drops=None):
    drops = drops if drops is not None else []
    buf = RetryBuffer(sink, lambda n, reason: drops.append((reason, n)), max_items=max_items, max_age_s=max_age_s,
                      name="test traces", clock=clock or FakeClock(), rand=lambda: 0.5)
    return buf, drops


def test_failed_batches_are_kept_and_resent_in_order_when_the_exporter_is_back():
    sink, clock = Sink(), FakeClock()
    buf, drops = _buffer(sink, clock=clock)
    sink.down = True
    assert buf.export([1, 2, 3]) is False
    clock.now += 5  # past the first backoff
    assert buf.export([4, 5]) is False
    assert buf.pending_items == 5 and sink.delivered == [] and drops == []
    sink.down = False
    clock.now += 10
    assert buf.export([6]) is True  # the new batch goes first, then the buffer drains oldest first
    assert sink.delivered == [6, 1, 2, 3, 4, 5]
    assert buf.pending_items == 0 and drops == []


def test_while_backing_off_new_batches_are_parked_without_a_send_attempt():
    sink, clock = Sink(), FakeClock()
    buf, _ = _buffer(sink, clock=clock)
    sink.down = True
    buf.export([1])
    assert sink.calls == 1
    for i in range(5):  # within the 1 s backoff: no attempt against the dead endpoint
        buf.export([10 + i])
    assert sink.calls == 1 and buf.pending_items == 6


def test_backoff_doubles_to_a_cap_with_jitter():
    sink, clock = Sink(), FakeClock()
    delays = []
    for rand in (0.0, 0.5, 1.0):
        buf = RetryBuffer(sink, lambda n, r: None, max_items=100, max_age_s=1e6, clock=clock, rand=lambda r=rand: r)
        sink.down = True
        seen = []
        for _ in range(7):
            buf.export([1])
            seen.append(round(buf._next_attempt - clock.now, 3))
            clock.now = buf._next_attempt  # the next call is the retry
        delays.append(seen)
    assert delays[1] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]  # jitter centred on the exponential schedule
    assert delays[0] == [round(d * (1 - retry.JITTER), 3) for d in delays[1]]
    assert delays[2] == [round(d * (1 + retry.JITTER), 3) for d in delays[1]]


def test_full_buffer_drops_the_oldest_items_and_counts_them():
    sink, clock = Sink(), FakeClock()
    buf, drops = _buffer(sink, max_items=10, clock=clock)
    sink.down = True
    for start in (0, 4, 8):
        buf.export(list(range(start, start + 4)))
    assert buf.pending_items == 10
    assert drops == [("retry_buffer_full", 2)]
    buf.export(list(range(100, 125)))  # a batch larger than the bound keeps its newest items
    assert drops[-1] == ("retry_buffer_full", 25)
    sink.down = False
    assert buf.flush(1000)
    assert sink.delivered == list(range(115, 125))


def test_batches_older_than_max_age_are_dropped_and_counted():
    sink, clock = Sink(), FakeClock()
    buf, drops = _buffer(sink, max_age_s=60, clock=clock)
    sink.down = True
    buf.export([1, 2])
    clock.now += 30
    buf.export([3])
    clock.now += 40  # [1, 2] failed 70 s ago, [3] 40 s ago
    sink.down = False
    assert buf.flush(1000)
    assert sink.delivered == [3]
    assert drops == [("retry_expired", 2)]


def test_a_batch_rejected_while_others_go_through_is_dropped_after_a_few_attempts():
    sink, clock = Sink(), FakeClock()
    buf, drops = _buffer(sink, clock=clock)
    sink.down = True
    buf.export(["bad", "x"])
    buf.export(["y"])
    sink.down, sink.poison = False, {"bad"}
    for i in range(retry.MAX_POISON_ATTEMPTS):
        clock.now += 60
        buf.export([f"new{i}"])
    assert drops == [("export_failed", 2)]
    clock.now += 60
    assert buf.export(["last"])
    assert "y" in sink.delivered and buf.pending_items == 0


def test_buffer_size_zero_drops_failures_at_once():
    sink = Sink()
    buf, drops = _buffer(sink, max_items=0)
    sink.down = True
    assert buf.export([1, 2, 3]) is False
    assert buf.pending_items == 0 and drops == [("export_failed", 3)]


def test_an_export_never_waits_for_a_retry_in_flight():
    """The SDK export thread parks its batch instead of waiting while a (slow) retry holds the sender."""
    release, entered = threading.Event(), threading.Event()
    delivered = []

    def send(items):
        if items == ["slow"]:
            entered.set()
            release.wait(30)
        delivered.extend(items)
        return True

    buf = RetryBuffer(send, lambda n, r: None, max_items=100, max_age_s=300)
    buf._park(["slow"])
    flusher = threading.Thread(target=buf.flush, args=(30_000,))
    flusher.start()
    assert entered.wait(10)
    assert buf.export(["fresh"]) is False  # parked, returned while the retry is still blocked
    assert flusher.is_alive() and buf.pending_items == 2
    release.set()
    flusher.join(10)
    assert buf.flush(10_000) and delivered == ["slow", "fresh"]


def test_a_timer_retries_when_the_backoff_expires_without_further_exports(monkeypatch):
    monkeypatch.setattr(retry, "INITIAL_BACKOFF_S", 0.05)
    sink = Sink()
    buf = RetryBuffer(sink, lambda n, r: None, max_items=100, max_age_s=300)
    sink.down = True
    buf.export([1, 2])
    sink.down = False  # the agent is back; the app sends nothing more
    deadline = time.monotonic() + 10
    while sink.delivered != [1, 2] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sink.delivered == [1, 2] and buf.pending_items == 0


def test_shutdown_flushes_and_counts_what_is_left():
    sink, clock = Sink(), FakeClock()
    buf, drops = _buffer(sink, clock=clock)
    sink.down = True
    buf.export([1, 2])
    sink.down = False
    buf.shutdown(1000)
    assert sink.delivered == [1, 2] and drops == []

    sink2 = Sink()
    buf2, drops2 = _buffer(sink2, clock=FakeClock())
    sink2.down = True
    buf2.export([1, 2, 3])
    buf2.shutdown(1000)  # still down: one attempt, then the items are counted
    assert drops2 == [("shutdown", 3)] and buf2.pending_items == 0
    assert buf2.export([4]) is False and drops2[-1] == ("shutdown", 1)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_never_resends_the_parents_buffer():
    sink = Sink()
    buf, _ = _buffer(sink, clock=FakeClock())
    sink.down = True
    buf.export([1, 2, 3])
    sink.down = False
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            ok = buf.pending_items == 0 and buf.flush(1000) and buf.export(["child"]) and sink.delivered == ["child"]
            os.write(write_fd, b"ok" if ok else repr((buf.pending_items, sink.delivered)).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    os.waitpid(pid, 0)
    assert os.read(read_fd, 1000) == b"ok"
    os.close(read_fd)
    assert buf.pending_items == 3 and buf.flush(1000) and sink.delivered == [1, 2, 3]


# --- the exporter wrappers ------------------------------------------------------------------------------


class FlakySpanExporter(SpanExporter):
    def __init__(self) -> None:
        self.down = True
        self.spans: list = []

    def export(self, spans):
        if self.down:
            raise ConnectionError("agent restarting")
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self):
        pass


def _drops():
    reader = InMemoryMetricReader()
    counter = DropCounter()
    counter.bind(MeterProvider(metric_readers=[reader]).get_meter("t"))

    def value(**attrs):
        data = reader.get_metrics_data()
        return sum(p.value for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
                   for p in m.data.data_points if all(p.attributes.get(k) == v for k, v in attrs.items()))
    return counter, value


def test_lazy_span_exporter_buffers_exceptions_and_counts_overflow_as_retry_buffer_full():
    inner = FlakySpanExporter()
    drops, dropped = _drops()
    exporter = LazySpanExporter(lambda: inner, "fake traces", drops, retry_buffer_size=5)
    assert exporter.export(["a", "b", "c"]) is SpanExportResult.FAILURE
    exporter.retry._next_attempt = 0  # skip the backoff
    exporter.export(["d", "e", "f"])
    assert dropped(signal="traces", reason="retry_buffer_full") == 1
    assert dropped(reason="export_failed") == 0
    inner.down = False
    assert exporter.force_flush(1000)
    assert inner.spans == ["b", "c", "d", "e", "f"]


class FlakyMetricExporter(MetricExporter):
    def __init__(self) -> None:
        super().__init__()
        self.down = True
        self.values: list = []

    def export(self, metrics_data, timeout_millis=10_000, **kwargs):
        if self.down:
            return MetricExportResult.FAILURE
        for rm in metrics_data.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    if m.name == "clinic.test.requests":
                        self.values.extend(p.value for p in m.data.data_points)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis=10_000):
        return True

    def shutdown(self, timeout_millis=30_000, **kwargs):
        pass


def test_metrics_are_not_buffered_the_next_cumulative_export_carries_the_totals():
    """A failed metrics export is superseded by the next one: cumulative points carry everything counted
    during the outage, so no retry buffer is needed (the failed points are still counted as export_failed)."""
    inner = FlakyMetricExporter()
    drops, dropped = _drops()
    reader = PeriodicExportingMetricReader(LazyMetricExporter(lambda: inner, "fake metrics", drops),
                                           export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[reader])
    counter = provider.get_meter("t").create_counter("clinic.test.requests")
    try:
        counter.add(5)
        provider.force_flush(5000)  # the agent is down: this export fails
        assert dropped(signal="metrics", reason="export_failed") == 1
        counter.add(3)
        inner.down = False
        provider.force_flush(5000)
        assert inner.values == [8]
    finally:
        provider.shutdown()


# --- configuration and setup() ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("var", "value"),
    [("OTEL_CLINIC_RETRY_BUFFER_SIZE", "-1"), ("OTEL_CLINIC_RETRY_BUFFER_SIZE", "lots"),
     ("OTEL_CLINIC_RETRY_MAX_AGE", "0"), ("OTEL_CLINIC_RETRY_MAX_AGE", "5m")],
)
def test_bad_retry_settings_name_the_variable(var, value):
    with pytest.raises(ConfigError, match=var):
        load_config(environ={var: value})


def test_retry_settings_from_the_environment():
    config = load_config(environ={"OTEL_CLINIC_RETRY_BUFFER_SIZE": "0", "OTEL_CLINIC_RETRY_MAX_AGE": "90"})
    assert (config.retry_buffer_size, config.retry_max_age_s) == (0, 90.0)
    assert load_config(environ={}).retry_buffer_size > 0  # on by default


class _FlakyOtlpServer(BaseHTTPRequestHandler):
    down = True
    spans: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if type(self).down:
            self.send_response(400)  # not retried inside the OTLP exporter: one quick failure
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path.endswith("/v1/traces"):
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            type(self).spans.extend(s.name for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_setup_retries_spans_the_collector_refused_once_it_is_back():
    _FlakyOtlpServer.down, _FlakyOtlpServer.spans = True, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FlakyOtlpServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        with testing.capture(traces_exporters="otlp", otlp_endpoint=endpoint, otlp_protocol="http/protobuf") as cap:
            client = Client(raise_request_exception=False)
            for _ in range(10):
                assert client.get("/api/patients/").status_code == 200
            assert not cap.handle.force_flush(2000)  # the collector refused: kept for retry, not dropped
            assert not points(cap, "clinic.telemetry.dropped", signal="traces")
            _FlakyOtlpServer.down = False
            assert cap.handle.force_flush(5000)
            assert _FlakyOtlpServer.spans.count("GET api/patients/") == 10
    finally:
        server.shutdown()
        server.server_close()

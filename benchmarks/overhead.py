"""Per-request overhead of otel_clinic against bare Django, plain OpenTelemetry and sentry-sdk, in one process.

    .venv/bin/python benchmarks/overhead.py [--requests 2000] [--rounds 5] [--logging]

Each request goes through Django's real WSGI handler (the example clinic, SQLite, one query per request),
called in-process so the numbers are the stack's own cost, not a network's. Stacks run in interleaved rounds
(bare, plain OTel, otel_clinic, bare, ...) so machine noise hits them alike; the best round of each stack is
reported (as timeit does: noise only ever adds time), with the median alongside.
sentry-sdk runs last because its Django integration patches Django for the rest of the process.
CPU includes the export threads (process time), so export-path work such as PHI scrubbing is counted.

Stacks:
- bare: Django alone.
- plain_otel: DjangoInstrumentor + SDK TracerProvider/BatchSpanProcessor (stock defaults) + SDK MeterProvider,
  exporters that discard (so exporting costs nothing); with --otlp-sink spans go by OTLP/HTTP to a sink process,
  where the stock queue (2048) overflows and spans are dropped.
- otel_clinic: otel_clinic.setup() full stack (hooks, severity/category, metrics, log bridge, PHI scrubbing in
  the export path), the same discarding exporters.
- sentry_100: sentry-sdk DjangoIntegration with traces_sample_rate=1.0 and a discarding transport.

With ``--logging`` every request also logs two ordinary clinic lines (``"patient %s record opened by user %s"``
and a warning) from a middleware, and the OTel stacks ship logs too: plain OTel with the SDK-style
``LoggingHandler`` (opentelemetry-instrumentation-logging) over a batch processor and a python-json-logger stdout
handler carrying trace/span ids; otel_clinic with its own bridge and JSON stdout (templates, scrubbing). Both write
stdout to /dev/null and export logs to a discarding exporter, so the comparison is the logging path itself.
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "examples" / "clinic"))
os.environ["DJANGO_SETTINGS_MODULE"] = "clinic_site.settings"
os.environ["CLINIC_SQLITE_PATH"] = str(Path(tempfile.mkdtemp()) / "bench.sqlite3")
for var in [v for v in os.environ if v.startswith(("OTEL_", "SENTRY_"))]:
    del os.environ[var]
os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "http"
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))  # the example app requires one outside DEBUG

import django  # noqa: E402

django.setup()
from django.core.management import call_command  # noqa: E402
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, PeriodicExportingMetricReader  # noqa: E402
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult  # noqa: E402

call_command("migrate", verbosity=0)
from clinic.models import Patient  # noqa: E402

Patient.objects.get_or_create(mrn="BENCH-1", defaults={"first_name": "B", "last_name": "P"})
PATIENT = Patient.objects.get(mrn="BENCH-1").pk
LOGGING = False
DEVNULL = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the benchmark


class LoggingMiddleware:
    """Two log lines per request, as a clinic view would write them (a different patient id each time)."""

    def __init__(self, get_response):
        import logging

        self.get_response = get_response
        self.log = logging.getLogger("clinic.views")
        self.n = 0

    def __call__(self, request):
        self.n += 1
        self.log.info("patient %s record opened by user %s", 1000 + self.n, 17)
        self.log.warning("appointment %s rescheduled twice in %s days", 5000 + self.n, 3)
        return self.get_response(request)


class DiscardLogExporter:
    def export(self, batch):
        from opentelemetry.sdk._logs.export import LogRecordExportResult

        return LogRecordExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def shutdown(self) -> None:
        pass


def _sink_process(port_value, received) -> None:
    """A separate process standing in for a Collector: OTLP/HTTP traces in, spans counted, 200 out."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path.endswith("/v1/traces"):
                req = ExportTraceServiceRequest.FromString(body)
                n = sum(len(ss.spans) for rs in req.resource_spans for ss in rs.scope_spans)
                with received.get_lock():
                    received.value += n
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_value.value = server.server_address[1]
    server.serve_forever()


class OtlpSink:
    def __init__(self) -> None:
        import multiprocessing as mp

        self.port, self.received = mp.Value("i", 0), mp.Value("l", 0)
        self.proc = mp.Process(target=_sink_process, args=(self.port, self.received), daemon=True)
        self.proc.start()
        while not self.port.value:
            time.sleep(0.01)
        self.endpoint = f"http://127.0.0.1:{self.port.value}"

    def count(self) -> int:
        return self.received.value


SINK: "OtlpSink | None" = None


class CountingSpanExporter(SpanExporter):
    def __init__(self) -> None:
        self.count = 0

    def export(self, spans):
        self.count += len(spans)
        return SpanExportResult.SUCCESS


class DiscardMetricExporter(MetricExporter):
    def export(self, metrics_data, timeout_millis: float = 10_000, **kwargs):
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs) -> None:
        pass


def _environ(path: str) -> dict:
    return {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr, "HTTP_HOST": "127.0.0.1:8000", "REMOTE_ADDR": "127.0.0.1",
        "HTTP_USER_AGENT": "bench",
    }


def _drive(handler, n: int) -> tuple[float, float]:
    path = f"/api/patients/{PATIENT}/"
    statuses = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    gc.collect()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        for chunk in handler(_environ(path), start_response):
            pass
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    assert statuses and statuses[-1].startswith("200"), statuses[-1:]
    return wall / n * 1e6, cpu / n * 1e6


class Stack:
    name = ""
    spans_exported = 0

    def start(self) -> None: ...

    def flush_and_count(self) -> int: return 0

    def stop(self) -> None: ...


class Bare(Stack):
    name = "bare Django"


class PlainOtel(Stack):
    name = "plain OTel (DjangoInstrumentor)"

    def start(self) -> None:
        from opentelemetry.instrumentation.django import DjangoInstrumentor
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        self.exporter = CountingSpanExporter()
        self.tp = TracerProvider()
        if SINK is not None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter(endpoint=SINK.endpoint + "/v1/traces")
        else:
            exporter = self.exporter
        self.tp.add_span_processor(BatchSpanProcessor(exporter))  # stock defaults: queue 2048, batch 512, 5 s
        self.mp = MeterProvider(metric_readers=[PeriodicExportingMetricReader(DiscardMetricExporter(), 10_000)])
        DjangoInstrumentor().instrument(tracer_provider=self.tp, meter_provider=self.mp)
        self.handlers = []
        if LOGGING:
            self._start_logging()

    def _start_logging(self) -> None:
        """The same output as otel_clinic, wired by hand: OTel logs + JSON stdout with trace/span ids."""
        import logging

        from opentelemetry import trace
        from opentelemetry.instrumentation.logging.handler import LoggingHandler
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
        from pythonjsonlogger.json import JsonFormatter

        class TraceJsonFormatter(JsonFormatter):
            def add_fields(self, log_record, record, message_dict):
                super().add_fields(log_record, record, message_dict)
                ctx = trace.get_current_span().get_span_context()
                if ctx.is_valid:
                    log_record["trace_id"] = format(ctx.trace_id, "032x")
                    log_record["span_id"] = format(ctx.span_id, "016x")

        self.lp = LoggerProvider()
        self.lp.add_log_record_processor(BatchLogRecordProcessor(DiscardLogExporter()))
        stdout = logging.StreamHandler(DEVNULL)
        stdout.setFormatter(TraceJsonFormatter("%(levelname)s %(name)s %(message)s", timestamp=True))
        self.handlers = [LoggingHandler(logger_provider=self.lp), stdout]
        root = logging.getLogger()
        root.setLevel(logging.INFO)
        for handler in self.handlers:
            root.addHandler(handler)

    def flush_and_count(self) -> int:
        self.tp.force_flush()
        return SINK.count() if SINK is not None else self.exporter.count

    def stop(self) -> None:
        from opentelemetry.instrumentation.django import DjangoInstrumentor

        DjangoInstrumentor().uninstrument()
        self.tp.shutdown()
        self.mp.shutdown()
        if self.handlers:
            import logging

            for handler in self.handlers:
                logging.getLogger().removeHandler(handler)
            self.lp.shutdown()


class Clinic(Stack):
    name = "otel_clinic.setup()"

    def start(self) -> None:
        import otel_clinic
        from otel_clinic import testing

        testing.reset_globals()
        self.exporter = CountingSpanExporter()
        otlp = {"traces_exporters": "otlp", "otlp_endpoint": SINK.endpoint} if SINK is not None else {}
        if SINK is not None:
            os.environ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = SINK.endpoint + "/v1/traces"
        self.handle = otel_clinic.setup(
            **{"traces_exporters": "none", **otlp}, metrics_exporters="none", logs_exporters="none",
            instrumentations="none", metric_export_interval_ms=10_000,
            log_format="json" if LOGGING else "none", logs_bridge=LOGGING, log_stream=DEVNULL,
            extra_log_exporters=[DiscardLogExporter()] if LOGGING else [],
            extra_span_exporters=[] if SINK is not None else [self.exporter],
            extra_metric_readers=[PeriodicExportingMetricReader(DiscardMetricExporter(), 10_000)],
        )

    def flush_and_count(self) -> int:
        self.handle.tracer_provider.force_flush()
        return SINK.count() if SINK is not None else self.exporter.count

    def stop(self) -> None:
        from otel_clinic import testing

        self.handle.shutdown()
        testing.reset_globals()


class Sentry(Stack):
    name = "sentry-sdk traces 100%"

    def start(self) -> None:
        import sentry_sdk
        from sentry_sdk.integrations.django import DjangoIntegration
        from sentry_sdk.transport import Transport

        class Discard(Transport):
            def capture_envelope(self, envelope):
                pass

        sentry_sdk.init(dsn="http://k@127.0.0.1:9/1", traces_sample_rate=1.0, transport=Discard(),
                        integrations=[DjangoIntegration()], default_integrations=False)

    def stop(self) -> None:
        import sentry_sdk

        sentry_sdk.get_client().close()


def measure(stack: Stack, n: int) -> tuple[float, float, int]:
    from django.core.handlers.wsgi import WSGIHandler

    stack.start()
    try:
        handler = WSGIHandler()  # built after instrumentation, as in a real deployment
        _drive(handler, 100)  # warm-up
        before = stack.flush_and_count()
        wall, cpu = _drive(handler, n)
        after = stack.flush_and_count()  # spans that reached the exporter; the rest were dropped
        return wall, cpu, after - before
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--logging", action="store_true", help="every request logs two lines; the OTel stacks ship logs")
    parser.add_argument("--otlp-sink", action="store_true",
                        help="export spans with OTLP/HTTP to a sink process instead of a discarding exporter")
    args = parser.parse_args()
    global SINK, LOGGING
    if args.otlp_sink:
        SINK = OtlpSink()
    import logging

    if args.logging:
        from django.conf import settings

        LOGGING = True
        logging.getLogger().addHandler(logging.NullHandler())  # bare Django: no stderr last-resort output
        settings.MIDDLEWARE = [*settings.MIDDLEWARE, "__main__.LoggingMiddleware"]
    else:
        logging.disable(logging.WARNING)  # the stock processor's "Queue full" warnings would distort timing

    interleaved = [Bare(), PlainOtel(), Clinic()]
    results: dict[str, list[tuple[float, float, int]]] = {s.name: [] for s in interleaved}
    for _ in range(args.rounds):
        for stack in interleaved:
            results[stack.name].append(measure(stack, args.requests))
    sentry = Sentry()
    results[sentry.name] = [measure(sentry, args.requests) for _ in range(max(1, args.rounds // 2))]

    def med(name: str, i: int) -> float:
        return min(r[i] for r in results[name])

    def median(name: str, i: int) -> float:
        return statistics.median(r[i] for r in results[name])

    bare_wall, bare_cpu = med("bare Django", 0), med("bare Django", 1)
    plain = "plain OTel (DjangoInstrumentor)"
    plain_over_wall = med(plain, 0) - bare_wall
    plain_over_cpu = med(plain, 1) - bare_cpu
    print(f"{args.requests} requests x {args.rounds} interleaved rounds, best round; Python {sys.version.split()[0]}; "
          f"span export: {'OTLP/HTTP to a sink process' if SINK else 'discarding exporter'}"
          f"{'; 2 log lines per request (OTel logs + JSON stdout)' if LOGGING else ''}")
    print(f"{'stack':34} {'wall µs/req':>11} {'CPU µs/req':>11} {'overhead CPU':>13} {'÷ plain OTel':>13} {'spans exported':>15}")
    for name in results:
        wall, cpu = med(name, 0), med(name, 1)
        over = cpu - bare_cpu
        ratio = over / plain_over_cpu if plain_over_cpu > 0 else float("nan")
        exported = min(r[2] for r in results[name])
        spans = "-" if name in ("bare Django", "sentry-sdk traces 100%") else f"{exported}/{args.requests}"
        print(f"{name:34} {wall:11.1f} {cpu:11.1f} {over:13.1f} {ratio:12.2f}x {spans:>15}")
    clinic_over = med("otel_clinic.setup()", 1) - bare_cpu
    clinic_ratio = clinic_over / plain_over_cpu
    sentry_over = med("sentry-sdk traces 100%", 1) - bare_cpu
    sentry_ratio = clinic_over / sentry_over if sentry_over > 0 else float("nan")
    clinic_exported = min(r[2] for r in results["otel_clinic.setup()"])
    print()
    print(f"target: otel_clinic overhead <= 0.9x plain OTel overhead -> {clinic_ratio:.2f}x "
          f"({'met' if clinic_ratio <= 0.9 else 'NOT met'}); spans dropped by otel_clinic: {args.requests - clinic_exported}")
    print(f"target: otel_clinic overhead <= 0.35x sentry-sdk's -> {sentry_ratio:.2f}x "
          f"({'met' if sentry_ratio <= 0.35 else 'NOT met'})")
    print(f"(wall overhead ratio: {(med('otel_clinic.setup()', 0) - bare_wall) / plain_over_wall:.2f}x; "
          f"median-round CPU ratio: {(median('otel_clinic.setup()', 1) - median('bare Django', 1)) / (median(plain, 1) - median('bare Django', 1)):.2f}x)")


if __name__ == "__main__":
    main()

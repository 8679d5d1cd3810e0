"""Finding 1: nothing accepted is lost at exit (interpreter exit, SIGTERM, gunicorn workers), fork-safe, bounded.

Batch timers are set to 10 minutes in these subprocesses, so everything found in the export files was flushed
by the exit path under test.
"""

from __future__ import annotations

import http.server
import signal
import subprocess
import sys
import textwrap
import threading
from collections import Counter
from pathlib import Path

from tests.lifecycle.support import (
    BIN, EXAMPLE, clean_env, free_port, get, lines, metric_points, migrate, server_spans, stop, wait_http,
)

SCRIPT = textwrap.dedent(
    """
    import logging, os, sys
    import otel_clinic
    from opentelemetry import metrics, trace
    otel_clinic.setup(instrument_django=False)
    tracer = trace.get_tracer("lifecycle")
    with tracer.start_as_current_span("parent-span"):
        logging.getLogger("clinic.lifecycle").warning("parent record")
    metrics.get_meter("lifecycle").create_counter("lifecycle.items").add(3)
    if {fork!r}:
        pid = os.fork()
        if pid == 0:
            with tracer.start_as_current_span("child-span"):
                pass
            sys.exit(0)  # a normal exit: the child's atexit flush runs, with the parent's queue emptied by the fork
        os.waitpid(pid, 0)
    print("DONE", flush=True)
    """
)


def _run_script(tmp_path: Path, *, fork: bool = False, **env: str) -> subprocess.CompletedProcess:
    script = tmp_path / "script.py"
    script.write_text(SCRIPT.format(fork=fork))
    proc = subprocess.run([sys.executable, str(script)], env=clean_env(tmp_path, **env), cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "DONE" in proc.stdout, proc.stderr[-3000:]
    return proc


def test_normal_exit_exports_spans_logs_and_metrics(tmp_path: Path) -> None:
    _run_script(tmp_path)
    assert [s["name"] for s in lines(tmp_path, "traces")] == ["parent-span"]
    assert [r["body"] for r in lines(tmp_path, "logs")] == ["parent record"]
    # default-length metric interval (here 10 min): the final collection at exit carries the counter
    assert [p["value"] for _, p in metric_points(tmp_path, "lifecycle.items")] == [3]


def test_forked_child_never_exports_the_parents_queue_again(tmp_path: Path) -> None:
    _run_script(tmp_path, fork=True)
    names = Counter(s["name"] for s in lines(tmp_path, "traces"))
    assert names == {"parent-span": 1, "child-span": 1}, names
    assert [r["body"] for r in lines(tmp_path, "logs")] == ["parent record"]


def test_runserver_stopped_by_sigterm_exports_its_requests(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    migrate(env)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"], cwd=EXAMPLE, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health/live", proc)
        for _ in range(5):
            assert get(f"http://127.0.0.1:{port}/api/patients/")[0] == 200
    finally:
        out = stop(proc, signal.SIGTERM)
    routes = Counter(s["attributes"].get("http.route") for s in server_spans(tmp_path))
    assert routes == {"api/patients/": 5}, (routes, out[-2000:])
    points = metric_points(tmp_path, "http.server.request.duration")
    assert sum(p["count"] for _, p in points if p["attributes"].get("http.route") == "api/patients/") == 5


def test_gunicorn_two_workers_stopped_by_sigterm_lose_nothing(tmp_path: Path) -> None:
    env = clean_env(tmp_path, CLINIC_WORKERS="2")
    migrate(env)
    port = free_port()
    env["CLINIC_BIND"] = f"127.0.0.1:{port}"
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "clinic_site/gunicorn.conf.py", "--graceful-timeout", "30",
         "clinic_site.wsgi:application"],
        cwd=EXAMPLE, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    requests = 40
    try:
        wait_http(f"http://127.0.0.1:{port}/health/live", proc)
        # several connections at once so both workers serve some
        statuses: list[int] = []
        lock = threading.Lock()

        def hit(n: int) -> None:
            for _ in range(n):
                status = get(f"http://127.0.0.1:{port}/api/patients/")[0]
                with lock:
                    statuses.append(status)

        threads = [threading.Thread(target=hit, args=(requests // 4,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert statuses.count(200) == requests, statuses
    finally:
        out = stop(proc, signal.SIGTERM)  # what Kubernetes sends: the master stops its workers gracefully
    spans = server_spans(tmp_path)
    assert len(spans) == requests, (len(spans), out[-3000:])
    assert len({s["context"]["span_id"] for s in spans}) == requests  # each exactly once
    points = [(i, p) for i, p in metric_points(tmp_path, "http.server.request.duration")
              if p["attributes"].get("http.route") == "api/patients/"]
    assert sum(p["count"] for _, p in points) == requests, points
    workers_with_requests = {i for i, p in points if p["count"]}
    assert len({s["resource"]["attributes"]["service.instance.id"] for s in spans}) == len(workers_with_requests)


class _FailFirst(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP receiver that rejects the first batch (non-retryable 400) and accepts the rest."""

    received: list[bytes] = []
    calls = 0

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).calls += 1
        if self.path.endswith("/v1/traces") and type(self).calls > 1:
            type(self).received.append(body)
        self.send_response(400 if type(self).calls == 1 else 200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


def test_exit_flush_resends_the_retry_buffer_within_the_bound(tmp_path: Path) -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FailFirst)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _run_script(
            tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{server.server_address[1]}",
            OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none", OTEL_CLINIC_SHUTDOWN_TIMEOUT="10",
        )
    finally:
        server.shutdown()
        server.server_close()
    names = []
    for body in _FailFirst.received:
        request = ExportTraceServiceRequest.FromString(body)
        names += [s.name for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    # the first attempt was rejected: the span went to the retry buffer and the exit flush re-sent it
    assert _FailFirst.calls >= 2 and names == ["parent-span"], (_FailFirst.calls, names)


def test_exit_flush_is_bounded_when_the_endpoint_hangs(tmp_path: Path) -> None:
    import socket

    # accepts connections, never answers: every export waits for its own timeout
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        proc = _run_script(
            tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{listener.getsockname()[1]}",
            OTEL_EXPORTER_OTLP_TIMEOUT="600", OTEL_CLINIC_SHUTDOWN_TIMEOUT="1",
        )
    finally:
        listener.close()
    # the process left (within the subprocess timeout, far below the exporters' 600 s) and said why
    assert "did not finish within 1.0 s" in proc.stderr


CELERY_CHILD = textwrap.dedent(
    """
    import os
    import celery  # a Celery worker has it imported before the app module calls setup()
    import otel_clinic
    from opentelemetry import trace
    otel_clinic.setup(instrument_django=False)
    with trace.get_tracer("lifecycle").start_as_current_span("task-span"):
        pass
    from celery.signals import worker_process_shutdown
    # what billiard does in a prefork child: the signal, then os._exit (no atexit)
    worker_process_shutdown.send(sender=None, pid=os.getpid(), exitcode=0)
    print("DONE", flush=True)
    os._exit(0)
    """
)


def test_celery_prefork_child_flushes_before_os_exit(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CELERY_CHILD)
    proc = subprocess.run([sys.executable, str(script)], env=clean_env(tmp_path), cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "DONE" in proc.stdout, proc.stderr[-3000:]
    assert [s["name"] for s in lines(tmp_path, "traces")] == ["task-span"]

"""Run our Collector distribution (`collector/_build/otelcol-clinic`) in tests, plus an OTLP/HTTP sink.

    with collector("agent", env={...}) as agent:          # otelcol-agent.yaml + otelcol-agent-phi.yaml
        agent.otlp_grpc  # "127.0.0.1:PORT"
    with OtlpSink() as sink:                              # stands in for Sentry's OTLP endpoint
        sink.spans(); sink.requests[0].headers["x-sentry-auth"]

Everything binds to 127.0.0.1 on ports the OS picked free; each collector gets its own temp dir for the
persistent queue. `build_collector()` runs collector/build.sh (a no-op when the binary is current).
"""

from __future__ import annotations

import contextlib
import gzip
import http.server
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.support.promstack import LOOPBACK, free_port

REPO = Path(__file__).resolve().parents[2]
COLLECTOR_DIR = REPO / "collector"
BINARY = Path(os.environ.get("OTEL_CLINIC_COLLECTOR_BIN", COLLECTOR_DIR / "_build" / "otelcol-clinic"))

# Config files per role, in --config order (later files merge over earlier ones).
ROLE_CONFIGS: dict[str, tuple[str, ...]] = {
    "agent": ("otelcol-agent.yaml", "otelcol-agent-phi.yaml"),
    "agent-tls": ("otelcol-agent.yaml", "otelcol-agent-phi.yaml", "otelcol-agent-tls.yaml"),
    "gateway": ("otelcol-gateway.yaml",),
    "gateway-tls": ("otelcol-gateway.yaml", "otelcol-gateway-tls.yaml"),
}


class CollectorError(RuntimeError):
    """The collector failed to start or become healthy; the message carries its log tail."""


def build_collector() -> Path:
    """Build (or confirm up to date) the distribution; returns the binary path."""
    if "OTEL_CLINIC_COLLECTOR_BIN" not in os.environ:
        subprocess.run([str(COLLECTOR_DIR / "build.sh")], check=True, capture_output=True, timeout=1800)
    if not BINARY.exists():
        raise CollectorError(f"{BINARY} missing after build")
    return BINARY


def validate(*config_files: str | Path, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    argv = [str(BINARY), "validate"]
    for path in config_files:
        argv += ["--config", str(path)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})


@dataclass
class CollectorProcess:
    """A running collector and the ports it listens on. `kill()`/`start()` simulate crashes and restarts."""

    role: str
    config_files: list[Path]
    env: dict[str, str]
    workdir: Path
    otlp_grpc: str = ""
    otlp_http: str = ""
    health_url: str = ""
    metrics_url: str = ""
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _log_index: int = 0

    @property
    def log_path(self) -> Path:
        return self.workdir / f"collector.{self._log_index}.log"

    def log_text(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.workdir.glob("collector.*.log")))

    def _assign_ports(self) -> None:
        grpc, http_, health, metrics = (free_port() for _ in range(4))
        self.otlp_grpc = f"{LOOPBACK}:{grpc}"
        self.otlp_http = f"{LOOPBACK}:{http_}"
        self.health_url = f"http://{LOOPBACK}:{health}/"
        self.metrics_url = f"http://{LOOPBACK}:{metrics}/metrics"
        self.env.update(
            OTELCOL_OTLP_GRPC_ENDPOINT=self.otlp_grpc,
            OTELCOL_OTLP_HTTP_ENDPOINT=self.otlp_http,
            OTELCOL_HEALTH_ENDPOINT=f"{LOOPBACK}:{health}",
            OTELCOL_METRICS_HOST=LOOPBACK,
            OTELCOL_METRICS_PORT=str(metrics),
        )

    def start(self, timeout: float = 60.0, keep_ports: bool = False) -> None:
        """Start (or restart after kill/stop) and wait until health_check answers 200."""
        for attempt in range(3):
            if not (keep_ports and self.otlp_grpc):
                self._assign_ports()
            self._log_index += 1
            argv = [str(BINARY)]
            for path in self.config_files:
                argv += ["--config", str(path)]
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(
                    argv,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.workdir,
                    env={**os.environ, **self.env},
                    start_new_session=True,
                )
            try:
                self._wait_healthy(timeout)
                return
            except CollectorError:
                self.kill()
                in_use = "address already in use" in self.log_path.read_text(errors="replace")
                if not in_use or keep_ports or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _wait_healthy(self, timeout: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise CollectorError(f"{self.role} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(self.health_url, timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise CollectorError(f"{self.role} not healthy after {timeout}s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout: float = 20.0) -> None:
        """Graceful shutdown (SIGTERM: exporters drain / persist their queues)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """Crash: SIGKILL, nothing flushed."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def self_metrics(self) -> dict[str, float]:
        """The collector's own Prometheus metrics, summed per metric name (labels dropped)."""
        totals: dict[str, float] = {}
        for line in requests.get(self.metrics_url, timeout=5).text.splitlines():
            if not line or line.startswith("#"):
                continue
            name_part, _, value = line.rpartition(" ")
            name = name_part.split("{", 1)[0]
            try:
                totals[name] = totals.get(name, 0.0) + float(value)
            except ValueError:
                continue
        return totals


@contextlib.contextmanager
def collector(
    role: str,
    env: Mapping[str, str] | None = None,
    *,
    extra_configs: Sequence[str | Path] = (),
    start: bool = True,
    timeout: float = 60.0,
) -> Iterator[CollectorProcess]:
    """Run one collector of `role` (see ROLE_CONFIGS) with `env` on free loopback ports; stop on exit."""
    workdir = Path(tempfile.mkdtemp(prefix=f"otel-clinic-{role}-"))
    files = [COLLECTOR_DIR / name for name in ROLE_CONFIGS[role]] + [Path(p) for p in extra_configs]
    base_env = {
        "OTELCOL_STORAGE_DIR": str(workdir / "queue"),
        "OTELCOL_LOG_DIR": str(workdir / "logs"),
        "OTELCOL_LOG_LEVEL": "info",
    }
    process = CollectorProcess(role, files, {**base_env, **(env or {})}, workdir)
    try:
        if start:
            process.start(timeout=timeout)
        yield process
    finally:
        process.kill() if os.environ.get("OTEL_CLINIC_FAST_STOP") else process.stop()
        if not os.environ.get("OTEL_CLINIC_KEEP_TMP"):
            shutil.rmtree(workdir, ignore_errors=True)


def agent_env(gateways: Sequence[CollectorProcess], **extra: str) -> dict[str, str]:
    """Agent env that load-balances onto the given gateways' gRPC receivers."""
    return {"OTELCOL_GATEWAYS": "[" + ", ".join(g.otlp_grpc for g in gateways) + "]", **extra}


def gateway_env(
    *, sentry_endpoint: str, sentry_key: str, remote_write_url: str, **extra: str
) -> dict[str, str]:
    return {
        "SENTRY_OTLP_ENDPOINT": sentry_endpoint,
        "SENTRY_PUBLIC_KEY": sentry_key,
        "PROMETHEUS_REMOTE_WRITE_URL": remote_write_url,
        **extra,
    }


def sentry_otlp_from_dsn(dsn: str) -> tuple[str, str]:
    """(OTLP endpoint, public key) for a Sentry DSN `scheme://KEY@HOST/PROJECT`.

    Sentry's per-project OTLP base is `scheme://HOST/api/PROJECT/integration/otlp`; the header is
    `x-sentry-auth: sentry sentry_key=KEY`.
    """
    scheme, rest = dsn.split("://", 1)
    key_part, host_path = rest.split("@", 1)
    host, _, project = host_path.rpartition("/")
    return f"{scheme}://{host}/api/{project}/integration/otlp", key_part.split(":", 1)[0]


# ---------------------------------------------------------------------------------------------------------
# OTLP/HTTP sink: records every export request (path, headers, decoded protobuf). It answers like an OTLP
# server (200 + empty response) unless `fail_with` is set, which makes it answer that status instead.


@dataclass
class SinkRequest:
    path: str
    headers: dict[str, str]
    body: Any  # ExportTraceServiceRequest | ExportLogsServiceRequest | ExportMetricsServiceRequest
    raw: bytes


_MESSAGES = {
    "/v1/traces": ExportTraceServiceRequest,
    "/v1/logs": ExportLogsServiceRequest,
    "/v1/metrics": ExportMetricsServiceRequest,
}


class OtlpSink:
    """A recording OTLP/HTTP (protobuf) receiver on loopback; the Sentry OTLP endpoint stand-in."""

    def __init__(self, path_prefix: str = "", port: int = 0) -> None:
        self.path_prefix = path_prefix.rstrip("/")
        self.requests: list[SinkRequest] = []
        self.fail_with: int | None = None
        self._lock = threading.Lock()
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (stdlib API)
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    raw = gzip.decompress(raw)
                status = sink.fail_with or 200
                path = self.path.split("?", 1)[0]
                suffix = path[len(sink.path_prefix) :] if path.startswith(sink.path_prefix) else ""
                message_type = _MESSAGES.get(suffix)
                if message_type is None:
                    status = 404
                elif status == 200:
                    body = message_type()
                    body.ParseFromString(raw)
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    with sink._lock:
                        sink.requests.append(SinkRequest(suffix, headers, body, raw))
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer((LOOPBACK, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{self.path_prefix}"

    def _of(self, path: str) -> list[SinkRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def spans(self) -> list[tuple[dict[str, Any], Any]]:
        """(resource attributes, span) for every span received."""
        out = []
        for req in self._of("/v1/traces"):
            for rs in req.body.resource_spans:
                res = attrs(rs.resource.attributes)
                for ss in rs.scope_spans:
                    out.extend((res, span) for span in ss.spans)
        return out

    def log_records(self) -> list[tuple[dict[str, Any], Any]]:
        out = []
        for req in self._of("/v1/logs"):
            for rl in req.body.resource_logs:
                res = attrs(rl.resource.attributes)
                for sl in rl.scope_logs:
                    out.extend((res, rec) for rec in sl.log_records)
        return out

    def raw_bytes(self) -> bytes:
        with self._lock:
            return b"\n".join(r.raw for r in self.requests)

    def trace_requests(self) -> list[SinkRequest]:
        return self._of("/v1/traces")

    def __enter__(self) -> OtlpSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def any_value(value: Any) -> Any:
    """Python value of an OTLP AnyValue."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attrs(value.kvlist_value.values)
    return getattr(value, kind)


def attrs(key_values: Any) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in key_values}


def wait_until(predicate: Any, timeout: float, interval: float = 0.25, message: str = "") -> Any:
    """Poll `predicate()` until truthy; return its value or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(message or f"condition not met within {timeout}s")
        time.sleep(interval)


def _serve_sink(port: int, prefix: str, dump: str | None = None) -> None:
    """`python -m tests.support.collector PORT [PREFIX [DUMP]]`: run the recording sink (quick start's Sentry
    stand-in). With DUMP, every request received is appended to that file as one OTLP-JSON line (what the Sentry
    OTLP route delivered, for `otel-clinic audit --sentry-otlp`)."""
    from google.protobuf.json_format import MessageToJson

    with OtlpSink(path_prefix=prefix, port=port) as sink:
        print(f"OTLP sink on {sink.base_url}", flush=True)
        written, last_report = 0, time.monotonic()
        while True:
            time.sleep(1)
            if dump:
                with sink._lock:
                    new = sink.requests[written:]
                with open(dump, "a", encoding="utf-8") as fh:
                    for req in new:
                        fh.write(json.dumps({"path": req.path, "body": json.loads(MessageToJson(req.body))}) + "\n")
                written += len(new)
            if time.monotonic() - last_report >= 30:
                last_report = time.monotonic()
                print(f"received {len(sink.spans())} spans, {len(sink.log_records())} log records", flush=True)


if __name__ == "__main__":
    import sys

    _serve_sink(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "", sys.argv[3] if len(sys.argv) > 3 else None)


def leaked_kinds(report: dict) -> dict[str, set[str]]:
    """sink -> kinds with at least one leak, from an ``otel-clinic audit --json`` report."""
    return {sink: {k for k, n in kinds.items() if n}
            for sink, kinds in report.get("summary", {}).get("by_sink_and_kind", {}).items()}

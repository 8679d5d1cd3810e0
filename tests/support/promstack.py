"""Start real Prometheus and Alertmanager (Debian packages) for tests, on free loopback ports in temp dirs.

Usage::

    with prometheus({"scrape_configs": [...]}, rule_files=[path]) as prom:
        prom.wait_for("up == 1")
        prom.query("sum(rate(x_total[1m]))")

    with alertmanager(am_yaml_text) as am:
        am.alerts()

Also a tiny in-process exporter (`StaticExporter`) that serves Prometheus text exposition for scrape tests,
and `free_port()`. Everything binds to 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

PROMETHEUS_BIN = os.environ.get("OTEL_CLINIC_PROMETHEUS_BIN", "/usr/bin/prometheus")
ALERTMANAGER_BIN = os.environ.get("OTEL_CLINIC_ALERTMANAGER_BIN", "/usr/bin/prometheus-alertmanager")
PROMTOOL_BIN = os.environ.get("OTEL_CLINIC_PROMTOOL_BIN", "/usr/bin/promtool")
AMTOOL_BIN = os.environ.get("OTEL_CLINIC_AMTOOL_BIN", "/usr/bin/amtool")

LOOPBACK = "127.0.0.1"


class ServerError(RuntimeError):
    """A test server failed to start or answer; the message carries its log tail."""


def free_port() -> int:
    """A currently free TCP port on loopback (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def binaries_available() -> bool:
    return all(Path(p).exists() for p in (PROMETHEUS_BIN, ALERTMANAGER_BIN, PROMTOOL_BIN, AMTOOL_BIN))


@dataclass
class _Process:
    """A child server process with its log file, ready URL and temp dir."""

    name: str
    url: str
    port: int
    workdir: Path
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise ServerError(f"{self.name} not ready after {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def _start(name: str, argv_for_port: Any, workdir: Path, ready_timeout: float, attempts: int = 3) -> _Process:
    """Start a server; retry on another port if the chosen one was taken between probe and bind."""
    last: Exception | None = None
    for attempt in range(attempts):
        port = free_port()
        log_path = workdir / f"{name}.{attempt}.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                argv_for_port(port), stdout=log, stderr=subprocess.STDOUT, cwd=workdir, start_new_session=True
            )
        server = _Process(name, f"http://{LOOPBACK}:{port}", port, workdir, proc, log_path)
        try:
            server.wait_ready(ready_timeout)
            return server
        except ServerError as exc:
            server.stop()
            last = exc
            if "address already in use" not in server.log_tail().lower():
                break
    raise ServerError(str(last))


def _api_get(base: str, path: str, params: Mapping[str, Any] | list[tuple[str, Any]] | None = None) -> Any:
    resp = requests.get(f"{base}{path}", params=params, timeout=10)
    body = resp.json()
    if resp.status_code != 200 or body.get("status") != "success":
        raise ServerError(f"GET {path} {params}: {resp.status_code} {body}")
    return body["data"]


@dataclass
class PrometheusServer:
    """Handle on a running Prometheus with HTTP API helpers."""

    url: str
    port: int
    config_path: Path
    data_dir: Path
    _process: _Process = field(repr=False)

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """Instant query; returns the `result` list (vector results). Raises ServerError on a PromQL error."""
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = at
        data = _api_get(self.url, "/api/v1/query", params)
        result = data["result"]
        return result if data["resultType"] in ("vector", "matrix") else [{"metric": {}, "value": result}]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        data = _api_get(self.url, "/api/v1/query_range", {"query": expr, "start": start, "end": end, "step": step})
        return list(data["result"])

    def value(self, expr: str) -> float | None:
        """The single sample value of an instant query, or None when it returns nothing."""
        result = self.query(expr)
        if not result:
            return None
        if len(result) != 1:
            raise ServerError(f"{expr!r} returned {len(result)} series, expected one")
        return float(result[0]["value"][1])

    def series(self, *matchers: str, start: float | None = None) -> list[dict[str, str]]:
        params: list[tuple[str, Any]] = [("match[]", m) for m in matchers]
        if start is not None:
            params.append(("start", start))
        return list(_api_get(self.url, "/api/v1/series", params))

    def label_values(self, label: str, *matchers: str) -> list[str]:
        return list(_api_get(self.url, f"/api/v1/label/{label}/values", [("match[]", m) for m in matchers]))

    def metric_names(self) -> list[str]:
        return self.label_values("__name__")

    def targets(self) -> list[dict[str, Any]]:
        return list(_api_get(self.url, "/api/v1/targets")["activeTargets"])

    def rules(self) -> list[dict[str, Any]]:
        return list(_api_get(self.url, "/api/v1/rules")["groups"])

    def alerts(self) -> list[dict[str, Any]]:
        return list(_api_get(self.url, "/api/v1/alerts")["alerts"])

    def reload(self) -> None:
        """POST /-/reload (needs enable_lifecycle=True)."""
        resp = requests.post(f"{self.url}/-/reload", timeout=10)
        if resp.status_code != 200:
            raise ServerError(f"reload failed: {resp.status_code} {resp.text}")

    def wait_for(self, expr: str, timeout: float = 30.0, interval: float = 0.25) -> list[dict[str, Any]]:
        """Poll an instant query until it returns at least one series; return it."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expr)
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"{expr!r} returned nothing within {timeout}s")
            time.sleep(interval)

    def log_tail(self) -> str:
        return self._process.log_tail()


@dataclass
class AlertmanagerServer:
    """Handle on a running Alertmanager with API v2 helpers."""

    url: str
    port: int
    config_path: Path
    _process: _Process = field(repr=False)

    def alerts(self, *filters: str, active: bool = True, inhibited: bool = True) -> list[dict[str, Any]]:
        params: list[tuple[str, Any]] = [("filter", f) for f in filters]
        params += [("active", str(active).lower()), ("inhibited", str(inhibited).lower())]
        resp = requests.get(f"{self.url}/api/v2/alerts", params=params, timeout=10)
        resp.raise_for_status()
        return list(resp.json())

    def status(self) -> dict[str, Any]:
        resp = requests.get(f"{self.url}/api/v2/status", timeout=10)
        resp.raise_for_status()
        return dict(resp.json())

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """Push alerts directly (bypassing Prometheus), e.g. for routing checks."""
        resp = requests.post(f"{self.url}/api/v2/alerts", json=alerts, timeout=10)
        resp.raise_for_status()

    def log_tail(self) -> str:
        return self._process.log_tail()


def _as_yaml_text(config: Mapping[str, Any] | str | Path) -> str:
    if isinstance(config, Path):
        return config.read_text()
    if isinstance(config, str):
        return config
    return yaml.safe_dump(dict(config), sort_keys=False)


@contextlib.contextmanager
def prometheus(
    config: Mapping[str, Any] | str | Path | None = None,
    *,
    rule_files: Iterable[str | Path] = (),
    remote_write_receiver: bool = False,
    enable_lifecycle: bool = True,
    extra_args: Iterable[str] = (),
    ready_timeout: float = 60.0,
) -> Iterator[PrometheusServer]:
    """Run Prometheus on a free loopback port with a temp data dir; stop and clean up on exit.

    `config` is a dict, YAML text or a path; `rule_files` are appended to its `rule_files` as absolute paths.
    """
    cfg: dict[str, Any] = yaml.safe_load(_as_yaml_text(config)) if config is not None else {}
    cfg = cfg or {}
    rules = [str(Path(p).resolve()) for p in rule_files]
    if rules:
        cfg["rule_files"] = list(cfg.get("rule_files") or []) + rules
    workdir = Path(tempfile.mkdtemp(prefix="otel-clinic-prom-"))
    config_path = workdir / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    data_dir = workdir / "data"

    def argv(port: int) -> list[str]:
        args = [
            PROMETHEUS_BIN,
            f"--config.file={config_path}",
            f"--storage.tsdb.path={data_dir}",
            f"--web.listen-address={LOOPBACK}:{port}",
            "--log.level=info",
        ]
        if enable_lifecycle:
            args.append("--web.enable-lifecycle")
        if remote_write_receiver:
            args.append("--web.enable-remote-write-receiver")
        return args + list(extra_args)

    process = None
    try:
        process = _start("prometheus", argv, workdir, ready_timeout)
        yield PrometheusServer(process.url, process.port, config_path, data_dir, process)
    finally:
        if process is not None:
            process.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def alertmanager(
    config: Mapping[str, Any] | str | Path,
    *,
    extra_args: Iterable[str] = (),
    ready_timeout: float = 60.0,
) -> Iterator[AlertmanagerServer]:
    """Run Alertmanager on a free loopback port, clustering disabled, temp storage; stop on exit."""
    workdir = Path(tempfile.mkdtemp(prefix="otel-clinic-am-"))
    config_path = workdir / "alertmanager.yml"
    config_path.write_text(_as_yaml_text(config))

    def argv(port: int) -> list[str]:
        return [
            ALERTMANAGER_BIN,
            f"--config.file={config_path}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address={LOOPBACK}:{port}",
            "--cluster.listen-address=",  # no gossip port: single instance, nothing on the network
            "--log.level=info",
            *extra_args,
        ]

    process = None
    try:
        process = _start("alertmanager", argv, workdir, ready_timeout)
        yield AlertmanagerServer(process.url, process.port, config_path, process)
    finally:
        if process is not None:
            process.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def scrape_config(job_name: str, target: str, *, interval: str = "1s", honor_labels: bool = True) -> dict[str, Any]:
    """One static scrape job; honor_labels keeps `job`/`instance` set by an OTel Prometheus exporter."""
    return {
        "job_name": job_name,
        "honor_labels": honor_labels,
        "scrape_interval": interval,
        "scrape_timeout": interval,
        "static_configs": [{"targets": [target]}],
    }


class StaticExporter:
    """A tiny /metrics server on loopback whose exposition text the test sets and changes.

    Use it as a Prometheus scrape target when a test needs exact series; `set_text()` swaps the body.
    `text` may also be a callable returning the body, called on every scrape (e.g. counters growing with time).
    """

    def __init__(self, text: str | Callable[[], str] = "") -> None:
        self._text = text
        self._lock = threading.Lock()
        exporter = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (stdlib API)
                body = exporter.text.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def text(self) -> str:
        with self._lock:
            text = self._text
        return text() if callable(text) else text

    def set_text(self, text: str | Callable[[], str]) -> None:
        with self._lock:
            self._text = text

    @property
    def target(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def __enter__(self) -> StaticExporter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

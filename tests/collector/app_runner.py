"""Run the example clinic app under gunicorn (2 workers) with otel_clinic exporting OTLP to a collector."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.promstack import LOOPBACK, free_port

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "clinic"
VENV_BIN = Path(sys.executable).parent


@dataclass
class App:
    base_url: str
    release: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


def app_env(
    tmp: Path, *, otlp_grpc: str, release: str, environment: str, scrub: bool, sentry_dsn: str | None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRY_", "CLINIC_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="clinic_site.settings",
        CLINIC_SQLITE_PATH=str(tmp / "clinic.sqlite3"),
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://{otlp_grpc}",
        OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
        OTEL_SERVICE_NAME="clinic-api",
        OTEL_CLINIC_RELEASE=release,
        OTEL_CLINIC_ENVIRONMENT=environment,
        OTEL_CLINIC_SCRUB="true" if scrub else "false",
        OTEL_METRIC_EXPORT_INTERVAL="1000",
        OTEL_BSP_SCHEDULE_DELAY="200",
        OTEL_CLINIC_EXPORT_DIR=str(tmp / "telemetry"),
    )
    if sentry_dsn:
        env["SENTRY_DSN"] = sentry_dsn
    return env


@contextlib.contextmanager
def gunicorn_app(tmp: Path, env: dict[str, str], workers: int = 2, ready_timeout: float = 60.0) -> Iterator[App]:
    tmp.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=EXAMPLE, env={**env, "OTEL_CLINIC_INSTRUMENT_DJANGO": "false"},
        check=True, capture_output=True, timeout=120,
    )
    port = free_port()
    log_path = tmp / "gunicorn.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-c", "clinic_site/gunicorn.conf.py", "clinic_site.wsgi:application",
             "--workers", str(workers), "--bind", f"{LOOPBACK}:{port}", "--graceful-timeout", "10"],
            cwd=EXAMPLE, env={**env, "CLINIC_BIND": f"{LOOPBACK}:{port}", "CLINIC_WORKERS": str(workers)},
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    app = App(f"http://{LOOPBACK}:{port}", env["OTEL_CLINIC_RELEASE"], proc, log_path)
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited {proc.returncode}:\n{app.log_tail()}")
            try:
                requests.get(f"{app.base_url}/health/live", timeout=2)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn not ready:\n{app.log_tail()}") from None
                time.sleep(0.2)
        yield app
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def run_loadgen(base_url: str, requests_: int, concurrency: int, phi: bool = True, seed: bool = True) -> dict:
    argv = [sys.executable, str(REPO / "examples" / "loadgen.py"), "--base-url", base_url,
            "--requests", str(requests_), "--concurrency", str(concurrency)]
    if phi:
        argv.append("--phi-canaries")
    if not seed:
        argv.append("--no-seed")
    out = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


class SteadyLoad:
    """GET `path` at a fixed total rate from `threads` keep-alive clients until stopped; counts responses.

        with SteadyLoad(app.base_url, "/api/patients/", rate=40) as load:
            time.sleep(10)
        load.responses  # completed requests (any status); load.errors: connection failures
    """

    def __init__(self, base_url: str, path: str, rate: float, threads: int = 2) -> None:
        import threading

        self.url = base_url.rstrip("/") + path
        self.interval = threads / rate
        self.threads = threads
        self.responses = 0
        self.errors = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        session = requests.Session()
        next_at = time.monotonic()
        while not self._stop.is_set():
            try:
                session.get(self.url, timeout=10)
                with self._lock:
                    self.responses += 1
            except requests.RequestException:
                with self._lock:
                    self.errors += 1
            next_at += self.interval
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def __enter__(self) -> "SteadyLoad":
        for worker in self._workers:
            worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=15)

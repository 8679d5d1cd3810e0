"""Finding 5: OTEL_CLINIC_PROMETHEUS_PORT under runserver's autoreloader, the explicit switch, Celery workers."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from otel_clinic.config import load_config
from tests.lifecycle.support import EXAMPLE, clean_env, free_port, get, migrate, stop, wait_http


def test_autoreloading_runserver_serves_the_childs_request_series(tmp_path: Path) -> None:
    env = clean_env(tmp_path, OTEL_METRIC_EXPORT_INTERVAL="60000")
    migrate(env)
    port, metrics_port = free_port(), free_port()
    env["OTEL_CLINIC_PROMETHEUS_PORT"] = str(metrics_port)
    proc = subprocess.Popen(  # with the autoreloader: a watching parent and a serving child
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}"], cwd=EXAMPLE, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health/live", proc)
        for _ in range(3):
            assert get(f"http://127.0.0.1:{port}/api/patients/")[0] == 200
        deadline = time.monotonic() + 30
        body = ""
        while time.monotonic() < deadline:
            try:
                body = get(f"http://127.0.0.1:{metrics_port}/metrics")[1]
            except OSError:
                body = ""
            if 'http_route="api/patients/"' in body:
                break
            time.sleep(0.2)
    finally:
        out = stop(proc, signal.SIGTERM, group=True)  # the reloader parent and its serving child
    series = [line for line in body.splitlines()
              if line.startswith("http_server_request_duration_seconds_count") and 'http_route="api/patients/"' in line]
    assert series and float(series[0].rsplit(" ", 1)[1]) == 3, (body[-2000:], out[-2000:])
    assert "could not be bound" not in out


def test_explicit_prometheus_switch_wins_over_the_port() -> None:
    off = load_config(environ={"OTEL_CLINIC_PROMETHEUS": "false", "OTEL_CLINIC_PROMETHEUS_PORT": "9464"})
    assert off.prometheus_enabled is False
    assert load_config(environ={"OTEL_CLINIC_PROMETHEUS_PORT": "9464"}).prometheus_enabled is True
    assert load_config({"prometheus_enabled": False}, environ={"OTEL_CLINIC_PROMETHEUS_PORT": "9464"}).prometheus_enabled is False


def test_worker_processes_do_not_bind_the_web_port() -> None:
    from otel_clinic.providers import _no_metrics_port_here

    assert _no_metrics_port_here(["/venv/bin/celery", "-A", "clinic_site", "worker", "-l", "info"], {})
    assert _no_metrics_port_here(["/usr/lib/python3/site-packages/celery/__main__.py", "-A", "x", "worker"], {})
    assert _no_metrics_port_here(["manage.py", "runserver", "0:8000"], {})  # the reloader parent
    assert _no_metrics_port_here(["manage.py", "runserver", "0:8000"], {"RUN_MAIN": "true"}) is None
    assert _no_metrics_port_here(["manage.py", "runserver", "--noreload"], {}) is None
    assert _no_metrics_port_here(["/venv/bin/gunicorn", "clinic_site.wsgi"], {}) is None
    assert _no_metrics_port_here(["/venv/bin/celery", "-A", "clinic_site", "beat"], {}) is None

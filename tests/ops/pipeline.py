"""The production metrics path for dashboard tests, all real and on loopback:

    examples/clinic (otel_clinic, OTLP/HTTP) -> agent Collector -> gateway Collector -> Prometheus remote write
    + Prometheus scraping both Collectors' own telemetry (jobs otelcol-agent / otelcol-gateway)
    + our recording rules loaded, so SLO panels have data.

Traffic comes from examples/loadgen.py; /health/ is called so the health gauges have results.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import requests
import yaml

from tests.support import promstack
from tests.support.collector import OtlpSink, agent_env, build_collector, collector, gateway_env

from .opspack import REPO, rule_files

EXAMPLE = REPO / "examples" / "clinic"
RELEASE = "3.2.1"
ENVIRONMENT = "staging"


@contextlib.contextmanager
def clinic_app(workdir: Path, settings: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run the example clinic (runserver, SQLite in `workdir`) with `settings` as env; yield (URL, process)."""
    port = promstack.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "DJANGO_SETTINGS"))}
    env.update({"DJANGO_SETTINGS_MODULE": "clinic_site.settings",
                "CLINIC_SQLITE_PATH": str(workdir / "clinic.sqlite3"), **settings})
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v", "0"], cwd=EXAMPLE, env=env, check=True, timeout=120)
    log = open(workdir / "app.log", "wb")
    proc = subprocess.Popen([python, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
                            cwd=EXAMPLE, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/health/live", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"clinic app did not start:\n{(workdir / 'app.log').read_text()[-3000:]}")
            time.sleep(0.2)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def drive_traffic(url: str, requests_count: int = 150) -> None:
    subprocess.run([sys.executable, str(REPO / "examples" / "loadgen.py"), "--base-url", url,
                    "--requests", str(requests_count), "--concurrency", "4"],
                   check=True, timeout=300, capture_output=True)
    for _ in range(2):
        requests.get(f"{url}/health/", timeout=30)


@contextlib.contextmanager
def production_pipeline() -> Iterator[promstack.PrometheusServer]:
    """Yield a Prometheus filled through the real pipeline (see module doc)."""
    build_collector()
    workdir = Path(tempfile.mkdtemp(prefix="otel-clinic-ops-"))
    config = {
        "global": {"scrape_interval": "2s", "evaluation_interval": "2s"},
        "storage": {"tsdb": {"out_of_order_time_window": "30m"}},
        "scrape_configs": [],
    }
    with (
        OtlpSink() as sink,
        promstack.prometheus(config, rule_files=rule_files(), remote_write_receiver=True) as prom,
        collector("gateway", gateway_env(sentry_endpoint=sink.base_url, sentry_key=secrets.token_hex(16),
                                         remote_write_url=f"{prom.url}/api/v1/write",
                                         OTELCOL_TAIL_DECISION_WAIT="2s")) as gateway,
        collector("agent", agent_env([gateway])) as agent,
    ):
        cfg = yaml.safe_load(prom.config_path.read_text())
        cfg["scrape_configs"] = [
            promstack.scrape_config(f"otelcol-{c.role}", c.metrics_url.removeprefix("http://").removesuffix("/metrics"),
                                    interval="2s", honor_labels=False)
            for c in (agent, gateway)
        ]
        prom.config_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        prom.reload()
        otlp = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{agent.otlp_http}",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_METRIC_EXPORT_INTERVAL": "1000",
            "OTEL_BSP_SCHEDULE_DELAY": "500",
            "OTEL_CLINIC_RELEASE": RELEASE,
            "OTEL_CLINIC_ENVIRONMENT": ENVIRONMENT,
            # Two tenants by route (tests/ops/tenant_resolver.py) for the tenant variable and panels.
            "OTEL_CLINIC_TENANT_RESOLVER": "tests.ops.tenant_resolver:by_route",
            "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
        }
        with clinic_app(workdir, otlp) as (url, _):
            drive_traffic(url)
            # Wait for the last metric exports to pass agent -> gateway -> remote write.
            prom.wait_for('clinic_health_status_ratio{job="clinic/clinic-api"}', timeout=60)
            prom.wait_for('sum(rate(http_server_request_duration_seconds_count{job="clinic/clinic-api"}[1m])) > 0', timeout=60)
            # Two scrapes of each Collector, so rate() over their counters has data.
            for sig in ("spans", "metric_points", "log_records"):
                prom.wait_for(f'count(rate(otelcol_receiver_accepted_{sig}_total[1m])) >= 2', timeout=60)
            prom.wait_for('job:clinic_http_errors:ratio_rate5m', timeout=60)
            yield prom

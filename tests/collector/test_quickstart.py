"""scripts/quickstart.sh brings the whole single-host stack up on loopback, data flows, and it cleans up."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import requests

from tests.support.collector import REPO, wait_until
from tests.support.promstack import free_port

pytestmark = pytest.mark.e2e

PORT_VARS = ("PROMETHEUS_PORT", "ALERTMANAGER_PORT", "APP_PORT", "SENTRY_SINK_PORT", "AGENT_GRPC_PORT",
             "AGENT_HTTP_PORT", "AGENT_HEALTH_PORT", "AGENT_METRICS_PORT", "GATEWAY_GRPC_PORT", "GATEWAY_HTTP_PORT",
             "GATEWAY_HEALTH_PORT", "GATEWAY_METRICS_PORT")


def test_quickstart_runs_the_stack_and_prints_the_urls(otelcol_bin, tmp_path):
    ports = {var: str(free_port()) for var in PORT_VARS}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRY_", "CLINIC_"))}
    env.update(ports, QUICKSTART_DIR=str(tmp_path), QUICKSTART_SECONDS="120", OTEL_CLINIC_RELEASE="qs-test")
    out = tmp_path / "quickstart.out"
    with open(out, "wb") as fh:
        proc = subprocess.Popen([str(REPO / "scripts" / "quickstart.sh")], env=env, stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        wait_until(lambda: "quick start is up" in out.read_text(), timeout=120,
                   message=f"quickstart did not come up:\n{out.read_text()[-3000:]}")
        text = out.read_text()
        prom = f"http://127.0.0.1:{ports['PROMETHEUS_PORT']}"
        assert f"http://127.0.0.1:{ports['APP_PORT']}/api/patients/" in text and prom in text
        query = 'sum(http_server_request_duration_seconds_count{service_version="qs-test"})'

        def counted() -> float:
            result = requests.get(f"{prom}/api/v1/query", params={"query": query}, timeout=5).json()["data"]["result"]
            return float(result[0]["value"][1]) if result else 0.0

        wait_until(lambda: counted() >= 100, timeout=90, message="load generator traffic never reached Prometheus")
        assert requests.get(f"http://127.0.0.1:{ports['ALERTMANAGER_PORT']}/-/ready", timeout=5).status_code == 200
        assert (tmp_path / "logs" / "logs.jsonl").stat().st_size > 0
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    # Everything it started is gone: no port still answers (polled: children may take a moment to exit).
    def answering() -> list[str]:
        up = []
        for var in ("PROMETHEUS_PORT", "APP_PORT", "GATEWAY_HEALTH_PORT", "AGENT_HEALTH_PORT"):
            try:
                requests.get(f"http://127.0.0.1:{ports[var]}/", timeout=2)
                up.append(var)
            except requests.ConnectionError:
                pass
        return up

    deadline = time.monotonic() + 15
    while (up := answering()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not up, f"still answering after the demo stopped: {up}"

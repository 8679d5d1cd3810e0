"""Session-scoped real servers for the collector suite: Prometheus (remote-write receiver), the OTLP sink
standing in for Sentry's OTLP endpoint, one gateway and one agent built from collector/.

Started once per session; tests that kill or restart collectors start their own (see test_faults.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import yaml

from tests.support import promstack
from tests.support.collector import (
    CollectorProcess,
    OtlpSink,
    agent_env,
    build_collector,
    collector,
    gateway_env,
)

SENTRY_PROJECT = "42"
PROMETHEUS_CONFIG = {
    "global": {"scrape_interval": "2s", "evaluation_interval": "2s"},
    # The gateway may resend a batch after a retry; accept slightly old samples instead of rejecting.
    "storage": {"tsdb": {"out_of_order_time_window": "30m"}},
    "scrape_configs": [],
}


@dataclass
class Stack:
    prometheus: promstack.PrometheusServer
    sink: OtlpSink
    sentry_key: str
    gateway: CollectorProcess
    agent: CollectorProcess

    @property
    def log_dir(self):  # the gateway's rotating JSON-lines log files
        return self.gateway.workdir / "logs"


@pytest.fixture(scope="session")
def otelcol_bin():
    if not promstack.binaries_available():
        pytest.fail("prometheus/alertmanager Debian packages are required (apt-get install prometheus prometheus-alertmanager)")
    return build_collector()


def add_scrape_targets(prom: promstack.PrometheusServer, *collectors: CollectorProcess) -> None:
    """Scrape the collectors' own telemetry (job otelcol-<role>) and reload Prometheus."""
    cfg = yaml.safe_load(prom.config_path.read_text())
    jobs = [j for j in cfg.get("scrape_configs") or [] if not j["job_name"].startswith("otelcol-")]
    for proc in collectors:
        target = proc.metrics_url.removeprefix("http://").removesuffix("/metrics")
        jobs.append(promstack.scrape_config(f"otelcol-{proc.role}", target, interval="2s", honor_labels=False))
    cfg["scrape_configs"] = jobs
    prom.config_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    prom.reload()


@pytest.fixture(scope="session")
def stack(otelcol_bin) -> Iterator[Stack]:
    key = secrets.token_hex(16)
    with (
        OtlpSink(path_prefix=f"/api/{SENTRY_PROJECT}/integration/otlp") as sink,
        promstack.prometheus(PROMETHEUS_CONFIG, remote_write_receiver=True) as prom,
        collector(
            "gateway",
            gateway_env(
                sentry_endpoint=sink.base_url,
                sentry_key=key,
                remote_write_url=f"{prom.url}/api/v1/write",
                OTELCOL_TAIL_DECISION_WAIT="2s",
            ),
        ) as gateway,
        collector("agent", agent_env([gateway])) as agent,
    ):
        add_scrape_targets(prom, agent, gateway)
        yield Stack(prom, sink, key, gateway, agent)

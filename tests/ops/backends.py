"""Real Prometheus + Alertmanager for the ops-command tests, fed with exact series.

`ClinicExposition` serves our metric families (the names and labels the Collector pipeline writes, see
docs/CONTRACTS.md) with counts chosen so every summary number can be worked out by hand: the counters sit at
zero for the first scrapes and then jump to their final values, so `increase()` over the window is exact when
evaluated at the last scrape (no extrapolation: the first sample is 0 and the last is at the evaluation time).

`ops_stack()` runs Alertmanager with our shipped routing tree (collector/alertmanager/alertmanager.yml) whose
receivers are replaced by a local webhook, and Prometheus scraping the exposition (+ optional extra jobs and
rules) and sending alerts to that Alertmanager.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support import promstack

from .opspack import ALERTMANAGER_DIR
from .webhook import WebhookReceiver

JOB = "clinic/clinic-api"
ENV = "staging"
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

# (route, status, error_category, {bucket upper bound: requests in that bucket})
REQUESTS: list[tuple[str, str, str, dict[float, int]]] = [
    ("patients/", "200", "", {0.05: 600, 0.1: 250, 0.25: 40, 0.5: 10}),
    ("lab-results/<int:pk>/", "200", "", {2.5: 80}),
    ("lab-results/<int:pk>/", "504", "timeout", {5.0: 20}),
    ("boom/", "500", "server_error", {0.05: 100}),
]
# Hand-derived from REQUESTS (histogram_quantile interpolates linearly inside the bucket holding the rank):
EXPECTED = {
    "total": 1100, "errors_5xx": 120, "error_ratio": 120 / 1100,
    "routes": {
        # patients/: p50 rank 450 in (0,0.05] of 600 -> 0.0375; p95 rank 855 in (0.1,0.25] (850..890) -> 0.11875;
        # p99 rank 891 in (0.25,0.5] (890..900) -> 0.275
        "patients/": {"requests": 900, "error_ratio": 0.0, "p50_s": 0.0375, "p95_s": 0.11875, "p99_s": 0.275},
        # lab-results: 80 in (1,2.5], 20 in (2.5,5]: p50 rank 50 -> 1+1.5*50/80; p95 rank 95 -> 2.5+2.5*15/20
        "lab-results/<int:pk>/": {"requests": 100, "error_ratio": 0.2, "p50_s": 1.9375, "p95_s": 4.375,
                                  "p99_s": 4.875},
        "boom/": {"requests": 100, "error_ratio": 1.0, "p50_s": 0.025, "p95_s": 0.0475, "p99_s": 0.0495},
    },
    "error_categories": {"server_error": 100, "timeout": 20},
    "queries": 2000, "slow_queries": 300, "slow_query_ratio": 0.15,
    "n_plus_one": {"appointments/report/": 60.0},  # patients/ runs 2 per request: below the threshold
    "cache": {"default": 0.7, "sessions": 0.9}, "cache_overall": 790 / 1100,
}
DEPLOYED_VERSION = "3.2.1"


def _labels(**kv: str) -> str:
    return ",".join(f'{k}="{v}"' for k, v in kv.items() if v != "")


class ClinicExposition:
    """Prometheus text for our families; `scale` 0 → all counters zero, 1 → the final values above."""

    def __init__(self, deployed_at: float, dropped: int = 0) -> None:
        self.scale = 0
        self.deployed_at = deployed_at
        self.dropped = dropped

    def __call__(self) -> str:
        s = self.scale
        base = {"job": JOB, "deployment_environment_name": ENV}
        out = ["# TYPE http_server_request_duration_seconds histogram"]
        for route, status, category, counts in REQUESTS:
            lab = dict(base, http_route=route, http_request_method="GET", http_response_status_code=status,
                       error_category=category)
            cumulative = 0
            for le in BUCKETS:
                cumulative += counts.get(le, 0)
                out.append(f'http_server_request_duration_seconds_bucket{{{_labels(**lab, le=str(le))}}} {cumulative * s}')
            out.append(f'http_server_request_duration_seconds_bucket{{{_labels(**lab, le="+Inf")}}} {cumulative * s}')
            out.append(f"http_server_request_duration_seconds_count{{{_labels(**lab)}}} {cumulative * s}")
            out.append(f"http_server_request_duration_seconds_sum{{{_labels(**lab)}}} {cumulative * 0.1 * s}")
        db = _labels(**base, db_system_name="postgresql", db_operation_name="SELECT")
        out += ["# TYPE db_client_operation_duration_seconds histogram",
                f'db_client_operation_duration_seconds_bucket{{{db},le="+Inf"}} {2000 * s}',
                f"db_client_operation_duration_seconds_count{{{db}}} {2000 * s}",
                f"db_client_operation_duration_seconds_sum{{{db}}} {20 * s}",
                "# TYPE clinic_db_slow_queries_total counter",
                f"clinic_db_slow_queries_total{{{db}}} {300 * s}",
                "# TYPE clinic_db_queries_per_request histogram"]
        for route, total, count in (("patients/", 1800, 900), ("appointments/report/", 6000, 100)):
            lab = _labels(**base, http_route=route)
            out += [f'clinic_db_queries_per_request_bucket{{{lab},le="+Inf"}} {count * s}',
                    f"clinic_db_queries_per_request_count{{{lab}}} {count * s}",
                    f"clinic_db_queries_per_request_sum{{{lab}}} {total * s}"]
        out += ["# TYPE clinic_cache_hits_total counter", "# TYPE clinic_cache_misses_total counter"]
        for alias, hits, misses in (("default", 700, 300), ("sessions", 90, 10)):
            lab = _labels(**base, cache_alias=alias)
            out += [f"clinic_cache_hits_total{{{lab}}} {hits * s}", f"clinic_cache_misses_total{{{lab}}} {misses * s}"]
        dep = _labels(**base, service_version=DEPLOYED_VERSION)
        out += ["# TYPE clinic_deployment_timestamp_seconds gauge",
                f"clinic_deployment_timestamp_seconds{{{dep}}} {self.deployed_at:.0f}",
                "# TYPE clinic_telemetry_dropped_total counter",
                f'clinic_telemetry_dropped_total{{{_labels(**base, signal="traces", reason="queue_full")}}} '
                f"{self.dropped * s}",
                "# TYPE otel_unrelated_metric gauge", "otel_unrelated_metric 1"]
        return "\n".join(out) + "\n"


def alertmanager_config(webhook: WebhookReceiver, group_wait: str = "1s") -> dict[str, Any]:
    """Our shipped routing tree and inhibitions, with every receiver replaced by a webhook of the same name."""
    cfg = yaml.safe_load((ALERTMANAGER_DIR / "alertmanager.yml").read_text())
    names = [r["name"] for r in cfg["receivers"]]
    cfg["receivers"] = [{"name": n, "webhook_configs": [{"url": webhook.url(n), "send_resolved": True}]}
                        for n in names]
    cfg.pop("global", None)
    cfg.pop("templates", None)

    def fast(route: dict[str, Any]) -> None:
        if "group_wait" in route or route is cfg["route"]:
            route["group_wait"] = group_wait
        route["group_interval"] = "1s" if route is cfg["route"] else route.get("group_interval", "1s")
        for child in route.get("routes") or []:
            fast(child)

    fast(cfg["route"])
    return cfg


@dataclass
class OpsStack:
    prom: promstack.PrometheusServer
    am: promstack.AlertmanagerServer
    webhook: WebhookReceiver
    exposition: ClinicExposition

    def last_scrape(self) -> float:
        """Timestamp of the newest sample of the clinic job (evaluate there: no extrapolation)."""
        return float(self.prom.query(f'timestamp(up{{job="{JOB}"}})')[0]["value"][1])

    def wait_scrapes(self, count: int, timeout: float = 30.0) -> None:
        """Wait until Prometheus has taken `count` more scrapes of the clinic job."""
        start = self.last_scrape()
        deadline = time.monotonic() + timeout
        seen = 0
        last = start
        while seen < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {seen} scrapes in {timeout}s")
            now = self.last_scrape()
            if now != last:
                seen, last = seen + 1, now
            time.sleep(0.1)


@contextlib.contextmanager
def ops_stack(*, extra_jobs: Sequence[dict[str, Any]] = (), rules: dict[str, Any] | None = None,
              dropped: int = 0, workdir: Path) -> Iterator[OpsStack]:
    """Start everything; the exposition has already moved from zero to its final values when this yields."""
    exposition = ClinicExposition(deployed_at=time.time() - 2 * 3600, dropped=dropped)
    rule_files: list[Path] = []
    if rules:
        path = workdir / "ops-test.rules.yml"
        path.write_text(yaml.safe_dump(rules))
        rule_files.append(path)
    with WebhookReceiver() as webhook, \
            promstack.StaticExporter(exposition) as exporter, \
            promstack.alertmanager(alertmanager_config(webhook)) as am:
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am.port}"]}]}]},
            "scrape_configs": [promstack.scrape_config(JOB, exporter.target), *extra_jobs],
        }
        # Resend every second: the first evaluation can beat Alertmanager discovery (the alert is then dropped).
        with promstack.prometheus(config, rule_files=rule_files, extra_args=["--rules.alert.resend-delay=1s"]) as prom:
            stack = OpsStack(prom, am, webhook, exposition)
            prom.wait_for(f'http_server_request_duration_seconds_count{{job="{JOB}"}}', timeout=30)
            stack.wait_scrapes(2)  # zeros recorded
            exposition.scale = 1
            stack.wait_scrapes(2)  # final values recorded (twice, so the last sample is stable)
            yield stack

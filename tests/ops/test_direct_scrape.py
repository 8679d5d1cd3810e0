"""The small-install path of docs/operations.md: Prometheus scrapes the app's in-process exporter with the
scrape job documented there. The documented YAML is executed as written, so the docs cannot rot: the rules'
names (`_ratio` gauges, job, environment label) must match, and ClinicApiDown's expression must fire only
once the app is gone."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
import requests
import yaml

from tests.support import promstack

from .opspack import REPO, RULES_DIR, load_yaml
from .pipeline import clinic_app

# A missing Prometheus is a failure, not a skip: the test command installs it.
pytestmark = [pytest.mark.e2e]


def documented_scrape_job() -> dict:
    text = (REPO / "docs" / "operations.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    job = next(b for b in blocks if "job_name: clinic/clinic-api" in b)
    return yaml.safe_load(re.sub(r"^ {2}", "", job, flags=re.M))[0]


def alert_expr(name: str) -> str:
    for path in RULES_DIR.glob("*.yml"):
        for group in load_yaml(path)["groups"]:
            for rule in group["rules"]:
                if rule.get("alert") == name:
                    return str(rule["expr"])
    raise KeyError(name)


def test_documented_direct_scrape_matches_the_rules() -> None:
    work = Path(tempfile.mkdtemp(prefix="otel-clinic-direct-"))
    metrics_port = promstack.free_port()
    settings = {"OTEL_CLINIC_EXPORT_DIR": str(work / "telemetry"), "OTEL_CLINIC_PROMETHEUS": "true",
                "OTEL_CLINIC_PROMETHEUS_PORT": str(metrics_port),
                "OTEL_CLINIC_RELEASE": "5.0.0", "OTEL_CLINIC_ENVIRONMENT": "production"}
    job = documented_scrape_job()
    job["static_configs"][0]["targets"] = [f"127.0.0.1:{metrics_port}"]
    job.update(scrape_interval="1s", scrape_timeout="1s")
    with clinic_app(work, settings) as (url, app), \
            promstack.prometheus({"global": {"scrape_interval": "1s"}, "scrape_configs": [job]}) as prom:
        requests.get(f"{url}/health/", timeout=30)  # the health gauges report cached results
        health = prom.wait_for('clinic_health_status_ratio{job="clinic/clinic-api", '
                               'deployment_environment_name="production"}', timeout=60)
        assert {r["metric"]["check"] for r in health} >= {"database", "cache"}
        prom.wait_for('clinic_deployment_timestamp_seconds{job="clinic/clinic-api", service_version="5.0.0"}',
                      timeout=30)
        down = alert_expr("ClinicApiDown")
        assert prom.query(down) == []
        app.terminate()
        app.wait(timeout=15)
        fired = prom.wait_for(down, timeout=30)
        assert fired[0]["metric"]["job"] == "clinic/clinic-api"

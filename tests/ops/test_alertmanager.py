"""Alertmanager config: amtool validity, one routing case per route (seed 001), no committed secrets, templates."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.promstack import AMTOOL_BIN

from .opspack import ALERTMANAGER_DIR, alert_rules, run

CONFIG = ALERTMANAGER_DIR / "alertmanager.yml"




def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return run([AMTOOL_BIN, *args], cwd=ALERTMANAGER_DIR)


def test_check_config() -> None:
    res = amtool("check-config", str(CONFIG))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "4 receivers" in res.stdout and "3 inhibit rules" in res.stdout


ROUTE_CASES = [
    # labels, receivers (order = route order)
    ({"alertname": "ClinicApiDown", "severity": "critical", "service": "clinic-api"},
     ["pagerduty-critical", "slack-alerts", "email-ops"]),
    ({"alertname": "ClinicApiHighLatencyP95", "severity": "high", "service": "clinic-api"},
     ["slack-alerts", "email-ops"]),
    ({"alertname": "ClinicDbNPlusOneQueries", "severity": "warning", "service": "clinic-api"}, ["slack-alerts"]),
    ({"alertname": "ClinicReleaseDeployed", "severity": "info", "service": "clinic-api"}, ["slack-alerts"]),
    ({"alertname": "ClinicApiAuthFailureSpike", "severity": "warning", "category": "security"},
     ["slack-alerts", "email-security"]),
    ({"alertname": "SomethingUnlabelled"}, ["slack-alerts"]),  # no severity at all still reaches Slack
]


@pytest.mark.parametrize("labels,receivers", ROUTE_CASES, ids=[c[0]["alertname"] for c in ROUTE_CASES])
def test_route(labels: dict[str, str], receivers: list[str]) -> None:
    pairs = [f"{k}={v}" for k, v in labels.items()]
    res = amtool("config", "routes", "test", f"--config.file={CONFIG}",
                 f"--verify.receivers={','.join(receivers)}", *pairs)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.strip() == ",".join(receivers)


def test_route_verification_detects_a_wrong_receiver() -> None:
    """amtool must exit non-zero on a mismatch, or the route cases above could never fail."""
    res = amtool("config", "routes", "test", f"--config.file={CONFIG}", "--verify.receivers=slack-alerts",
                 "severity=critical", "alertname=ClinicApiDown")
    assert res.returncode != 0


def test_every_rule_severity_has_a_route_case() -> None:
    severities = {a.labels["severity"] for a in alert_rules()}
    assert severities <= {c[0].get("severity") for c in ROUTE_CASES}


def _walk_keys(node: object, path: str = "") -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((f"{path}.{k}", v))
            out += _walk_keys(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _walk_keys(v, f"{path}[{i}]")
    return out


SECRET_KEYS = re.compile(r"(api_url|service_key|routing_key|auth_password|auth_secret|password|token|webhook_url)$")


def test_no_secrets_committed() -> None:
    cfg = yaml.safe_load(CONFIG.read_text())
    secrets = [(k, v) for k, v in _walk_keys(cfg) if SECRET_KEYS.search(k.rsplit(".", 1)[-1])]
    assert not secrets, f"inline credentials (use *_file): {secrets}"
    file_refs = [v for k, v in _walk_keys(cfg) if k.endswith("_file")]
    assert len(file_refs) >= 3 and all(str(v).startswith("/etc/alertmanager/secrets/") for v in file_refs)
    assert not re.search(r"hooks\.slack\.com|events\.pagerduty\.com/.+/[0-9a-f]{32}", CONFIG.read_text())


def test_templates_render_an_alert(tmp_path: Path) -> None:
    data = {
        "receiver": "slack-alerts", "status": "firing",
        "alerts": [{"status": "firing", "labels": {"alertname": "ClinicApiHighErrorRate", "severity": "critical"},
                    "annotations": {"summary": "High 5xx error rate on clinic/clinic-api",
                                    "description": "10% of requests failed",
                                    "runbook_url": "https://example.invalid/rb.md"}}],
        "groupLabels": {"alertname": "ClinicApiHighErrorRate"},
        "commonLabels": {"alertname": "ClinicApiHighErrorRate", "severity": "critical",
                         "deployment_environment_name": "prod"},
        "commonAnnotations": {"summary": "High 5xx error rate on clinic/clinic-api"},
        "externalURL": "http://am.invalid",
    }
    data_file = tmp_path / "data.json"
    data_file.write_text(json.dumps(data))
    res = amtool("template", "render", "--template.glob=templates/*.tmpl", f"--template.data={data_file}",
                 '--template.text={{ template "clinic.title" . }}|{{ template "clinic.text" . }}|{{ template "clinic.color" . }}')
    assert res.returncode == 0, res.stderr
    title, text, color = res.stdout.split("|")
    assert title == "[FIRING:1] CRITICAL ClinicApiHighErrorRate (prod): High 5xx error rate on clinic/clinic-api"
    assert "10% of requests failed" in text and "Runbook: https://example.invalid/rb.md" in text
    assert color.strip() == "danger"

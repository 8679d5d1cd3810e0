"""End to end: real Prometheus scrapes series with the contract names, evaluates our real alert rules and
sends to a real Alertmanager running our real routing tree and inhibit rules; a local webhook stands in for
PagerDuty/Slack/email (each receiver is rendered as a webhook to its own path).

Only `for:` durations and Alertmanager timers are shortened so the test takes seconds, not minutes.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.promstack import (
    StaticExporter,
    alertmanager,
    prometheus,
    scrape_config,
)

from .opspack import ALERTMANAGER_DIR, PROMETHEUS_YML, RULES_DIR
from .webhook import WebhookReceiver

pytestmark = [pytest.mark.e2e]

JOB = "clinic/clinic-api"
RUNBOOK_BASE = "https://runbooks.clinic.test/ops"
EXPAND_FLAG = "--enable-feature=expand-external-labels"  # ${OTEL_CLINIC_RUNBOOK_BASE_URL} in external_labels
BASE = f'job="{JOB}",instance="pod-a:9464",deployment_environment_name="prod",service_version="1.4.2"'


def exposition(started: float) -> str:
    """Counters growing with time: api/patients/ 10% 5xx; two routes with all requests between 1 s and 2 s.

    Rates are high because rate()[5m] divides by the whole window: with seconds of data, 20 req/s reads as
    a fraction of that, and the rules' traffic guard (> 0.1 req/s) must pass within seconds.
    """
    t = time.monotonic() - started
    lines = [
        f'target_info{{job="{JOB}",instance="pod-a:9464",service_version="1.4.2"}} 1',  # else TelemetryAbsent
        f'http_server_request_duration_seconds_count{{{BASE},http_route="api/patients/",http_request_method="GET",http_response_status_code="200"}} {90 * t:.3f}',
        f'http_server_request_duration_seconds_count{{{BASE},http_route="api/patients/",http_request_method="GET",http_response_status_code="500",error_category="server_error"}} {10 * t:.3f}',
    ]
    for route in ("api/patients/<int:pk>/", "api/appointments/"):
        labels = f'{BASE},http_route="{route}",http_request_method="GET",http_response_status_code="200"'
        for le, share in (("0.5", 0), ("1", 0), ("2", 1), ("+Inf", 1)):
            lines.append(f'http_server_request_duration_seconds_bucket{{{labels},le="{le}"}} {20 * share * t:.3f}')
        lines.append(f"http_server_request_duration_seconds_count{{{labels}}} {20 * t:.3f}")
    return "\n".join(lines) + "\n"


def fast_rules(tmp: Path) -> Path:
    """The real clinic-api rules with `for:` cut down (critical first, so inhibition is deterministic)."""
    doc = yaml.safe_load((RULES_DIR / "clinic-api.rules.yml").read_text())
    for group in doc["groups"]:
        for rule in group["rules"]:
            rule["for"] = "0s" if rule["labels"]["severity"] == "critical" else "3s"
    path = tmp / "clinic-api.fast.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def webhook_variant(receiver: WebhookReceiver) -> str:
    """Our alertmanager.yml with each receiver replaced by a webhook to /<receiver name>; routes untouched."""
    cfg: dict[str, Any] = yaml.safe_load((ALERTMANAGER_DIR / "alertmanager.yml").read_text())
    cfg["global"] = {"resolve_timeout": "5m"}
    cfg.pop("templates", None)
    cfg["receivers"] = [
        {"name": r["name"], "webhook_configs": [{"url": receiver.url(r["name"]), "send_resolved": False}]}
        for r in cfg["receivers"]
    ]

    def shorten(route: dict[str, Any]) -> None:
        for key, value in (("group_wait", "1s"), ("group_interval", "1s"), ("repeat_interval", "1h")):
            if key in route or route is cfg["route"]:
                route[key] = value
        for child in route.get("routes", []):
            shorten(child)

    shorten(cfg["route"])
    return yaml.safe_dump(cfg, sort_keys=False)


def alerts_in(payloads: list[dict[str, Any]], alertname: str) -> list[dict[str, Any]]:
    return [a for p in payloads for a in p["alerts"] if a["labels"]["alertname"] == alertname]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("alerting-e2e")
    started = time.monotonic()
    with WebhookReceiver() as hook, StaticExporter(lambda: exposition(started)) as exporter:
        with alertmanager(webhook_variant(hook)) as am:
            # Our prometheus.yml's runbook wiring: the external label expanded from the environment, dropped
            # from the alert labels sent to Alertmanager.
            ours = yaml.safe_load(PROMETHEUS_YML.read_text())
            config = {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s",
                           "external_labels": {"runbook_base_url": ours["global"]["external_labels"]["runbook_base_url"]}},
                "alerting": {"alert_relabel_configs": ours["alerting"]["alert_relabel_configs"],
                             "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am.port}"]}]}]},
                "scrape_configs": [scrape_config("clinic-exporter", exporter.target)],
            }
            with contextlib.ExitStack() as running:
                with pytest.MonkeyPatch.context() as env:  # only Prometheus's start sees the variable
                    env.setenv("OTEL_CLINIC_RUNBOOK_BASE_URL", RUNBOOK_BASE)
                    prom = running.enter_context(
                        prometheus(config, rule_files=[fast_rules(tmp)], extra_args=[EXPAND_FLAG]))
                yield prom, am, hook


def test_rule_fires_from_scraped_data_and_routes_by_severity(stack) -> None:  # type: ignore[no-untyped-def]
    prom, am, hook = stack
    hook.wait_for(lambda: alerts_in(hook.received("pagerduty-critical"), "ClinicApiHighErrorRate")
                  and alerts_in(hook.received("email-ops"), "ClinicApiHighLatencyP95"), timeout=60)
    # Let the warning tier (for: 3s) fire and a few group intervals pass.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        firing = {(a["labels"]["alertname"], a["labels"]["severity"]) for a in prom.alerts() if a["state"] == "firing"}
        if ("ClinicApiHighErrorRate", "warning") in firing:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"warning tier never fired in Prometheus: {prom.alerts()}")

    def grouped_both_routes(receiver: str) -> bool:
        return any({a["labels"]["http_route"] for a in p["alerts"]} == {"api/patients/<int:pk>/", "api/appointments/"}
                   for p in hook.received(receiver) if p["groupLabels"].get("alertname") == "ClinicApiHighLatencyP95")

    # Poll (deadline) for the notifications checked in detail below: every receiver's first group has been sent.
    hook.wait_for(lambda: all(alerts_in(hook.received(r), "ClinicApiHighErrorRate")
                              for r in ("pagerduty-critical", "slack-alerts", "email-ops"))
                  and grouped_both_routes("slack-alerts") and grouped_both_routes("email-ops"), timeout=30)

    # Critical error rate: PagerDuty + Slack + email, with the labels the rule and the data give it.
    for receiver in ("pagerduty-critical", "slack-alerts", "email-ops"):
        crit = alerts_in(hook.received(receiver), "ClinicApiHighErrorRate")
        assert crit, f"{receiver} got no ClinicApiHighErrorRate"
        labels = crit[0]["labels"]
        assert labels == {"alertname": "ClinicApiHighErrorRate", "severity": "critical", "service": "clinic-api",
                          "job": JOB, "deployment_environment_name": "prod"}
        # Rendered from OTEL_CLINIC_RUNBOOK_BASE_URL; the base-URL label itself is not on the alert (exact labels).
        assert crit[0]["annotations"]["runbook_url"] == f"{RUNBOOK_BASE}/ClinicApiHighErrorRate.md"

    # High p95 latency on two routes: one grouped notification, Slack + email, never PagerDuty.
    for receiver in ("slack-alerts", "email-ops"):
        groups = [p for p in hook.received(receiver) if p["groupLabels"].get("alertname") == "ClinicApiHighLatencyP95"]
        assert groups, f"{receiver} got no ClinicApiHighLatencyP95 group"
        both = [g for g in groups
                if {a["labels"]["http_route"] for a in g["alerts"]} == {"api/patients/<int:pk>/", "api/appointments/"}]
        assert both, "both routes must arrive in one grouped notification"
        assert both[0]["groupLabels"] == {"alertname": "ClinicApiHighLatencyP95", "job": JOB,
                                          "deployment_environment_name": "prod", "service": "clinic-api"}
        assert all(a["labels"]["severity"] == "high" for a in both[0]["alerts"])
    assert not alerts_in(hook.received("pagerduty-critical"), "ClinicApiHighLatencyP95")


def test_warning_tier_inhibited_by_critical_of_same_alert(stack) -> None:  # type: ignore[no-untyped-def]
    prom, am, hook = stack
    hook.wait_for(lambda: alerts_in(hook.received(), "ClinicApiHighErrorRate"), timeout=60)
    # Both tiers are firing in Prometheus and reached Alertmanager...
    deadline = time.monotonic() + 60
    while not (warning := am.alerts('alertname="ClinicApiHighErrorRate"', 'severity="warning"')):
        assert time.monotonic() < deadline, "warning tier never reached Alertmanager"
        time.sleep(0.5)
    # ...but the warning is suppressed by our inhibit rule (polled: Alertmanager marks it at its next evaluation)
    # and was never notified anywhere.
    while warning[0]["status"]["state"] != "suppressed" and time.monotonic() < deadline:
        time.sleep(0.2)
        warning = am.alerts('alertname="ClinicApiHighErrorRate"', 'severity="warning"') or warning
    assert warning[0]["status"]["state"] == "suppressed" and warning[0]["status"]["inhibitedBy"]
    notified = {a["labels"]["severity"] for a in alerts_in(hook.received(), "ClinicApiHighErrorRate")}
    assert notified == {"critical"}


def test_service_down_inhibits_its_symptom_alerts(stack) -> None:  # type: ignore[no-untyped-def]
    prom, am, hook = stack
    job = "clinic/inhibit-check"
    common = {"job": job, "service": "clinic-api"}
    am.post_alerts([
        {"labels": {**common, "alertname": "ClinicApiDown", "severity": "critical", "instance": "pod-z:9464"},
         "annotations": {"summary": "down"}},
        {"labels": {**common, "alertname": "ClinicApiHighLatencyP95", "severity": "high",
                    "http_route": "api/patients/", "deployment_environment_name": "prod"},
         "annotations": {"summary": "slow"}},
        # Same alert on another job: not inhibited, proves the inhibit rule is scoped by job.
        {"labels": {**common, "job": "clinic/other", "alertname": "ClinicApiHighLatencyP95", "severity": "high",
                    "http_route": "api/patients/", "deployment_environment_name": "prod"},
         "annotations": {"summary": "slow elsewhere"}},
    ])
    def delivered(receiver: str, alertname: str, for_job: str) -> bool:
        return any(a["labels"].get("job") == for_job for a in alerts_in(hook.received(receiver), alertname))

    hook.wait_for(lambda: delivered("pagerduty-critical", "ClinicApiDown", job)
                  and delivered("slack-alerts", "ClinicApiHighLatencyP95", "clinic/other"), timeout=30)
    # Polled until Alertmanager reports the symptom suppressed (deadline), then: it was never delivered.
    deadline = time.monotonic() + 30
    while not ((state := am.alerts(f'job="{job}"', 'alertname="ClinicApiHighLatencyP95"'))
               and state[0]["status"]["state"] == "suppressed") and time.monotonic() < deadline:
        time.sleep(0.2)
    latency_for_job = [a for a in alerts_in(hook.received(), "ClinicApiHighLatencyP95") if a["labels"]["job"] == job]
    assert latency_for_job == []
    assert state and state[0]["status"]["state"] == "suppressed"

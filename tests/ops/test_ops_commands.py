"""The ops commands (`otel-clinic status|summary|alerts|test-alert|export-metrics`, `manage.py manage_monitoring`)
against real Prometheus and Alertmanager started here (see tests/ops/backends.py for the data and routing)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from otel_clinic.cli import main
from otel_clinic.ops import routing, summary
from otel_clinic.ops.backends import Prometheus
from otel_clinic.ops.rules import CHECKOUT_RULES_DIR, load_rules
from tests.support import promstack

from .backends import DEPLOYED_VERSION, ENV, EXPECTED, JOB, OpsStack, ops_stack
from .opspack import ALERTMANAGER_DIR, REPO
from .test_alertmanager import ROUTE_CASES

pytestmark = [pytest.mark.e2e]

# A rule that fires at once, so ALERTS history and Alertmanager's current alerts have something to show.
ALWAYS_FIRING = {"groups": [{"name": "ops-test", "rules": [
    {"alert": "OpsTestAlwaysFiring", "expr": "vector(1)", "labels": {"severity": "critical", "service": "ops-test"},
     "annotations": {"summary": "always firing"}}]}]}


def run_cli(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def stack() -> Iterator[OpsStack]:
    work = Path(tempfile.mkdtemp(prefix="otel-clinic-ops-cmd-"))
    with ops_stack(rules=ALWAYS_FIRING, workdir=work) as s:
        s.prom.wait_for('ALERTS{alertname="OpsTestAlwaysFiring", alertstate="firing"}', timeout=30)
        yield s


def _healthy_local_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Local health = the disk check only, with thresholds no disk reaches (the machine's memory is not ours)."""
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    monkeypatch.setenv("OTEL_CLINIC_HEALTH_CHECKS", "disk")
    monkeypatch.setenv("OTEL_CLINIC_HEALTH_DISK_WARNING", "99.99")
    monkeypatch.setenv("OTEL_CLINIC_HEALTH_DISK_CRITICAL", "99.999")
    from otel_clinic.health import state

    state.reset()


# ---------------------------------------------------------------- summary


def test_summary_numbers_are_exact_at_the_last_scrape(stack: OpsStack) -> None:
    s = summary.collect(Prometheus(stack.prom.url), 1.0, at=stack.last_scrape())
    req = s["requests"]
    assert req["total"] == pytest.approx(EXPECTED["total"])
    assert req["errors_5xx"] == pytest.approx(EXPECTED["errors_5xx"])
    assert req["error_ratio"] == pytest.approx(EXPECTED["error_ratio"])
    assert req["rate_per_s"] == pytest.approx(EXPECTED["total"] / 3600)
    routes = {r["route"]: r for r in s["routes_by_traffic"]}
    for route, want in EXPECTED["routes"].items():
        for key, value in want.items():
            assert routes[route][key] == pytest.approx(value, abs=1e-9), (route, key)
    # traffic order, ties by name; latency order by p95
    assert [r["route"] for r in s["routes_by_traffic"]] == ["patients/", "boom/", "lab-results/<int:pk>/"]
    assert [r["route"] for r in s["routes_by_latency"]] == ["lab-results/<int:pk>/", "patients/", "boom/"]
    assert {c["category"]: c["requests"] for c in s["error_categories"]} == pytest.approx(EXPECTED["error_categories"])
    db = s["database"]
    assert (db["queries"], db["slow_queries"]) == pytest.approx((EXPECTED["queries"], EXPECTED["slow_queries"]))
    assert db["slow_query_ratio"] == pytest.approx(EXPECTED["slow_query_ratio"])
    assert {r["route"]: r["queries_per_request"] for r in s["n_plus_one"]["routes"]} == \
        pytest.approx(EXPECTED["n_plus_one"])
    assert {a["alias"]: a["hit_ratio"] for a in s["cache"]["by_alias"]} == pytest.approx(EXPECTED["cache"])
    assert s["cache"]["hit_ratio"] == pytest.approx(EXPECTED["cache_overall"])


def test_summary_filters_by_job_and_environment(stack: OpsStack) -> None:
    at = stack.last_scrape()
    prom = Prometheus(stack.prom.url)
    assert summary.collect(prom, 1.0, job=JOB, environment=ENV, at=at)["requests"]["total"] == \
        pytest.approx(EXPECTED["total"])
    other = summary.collect(prom, 1.0, environment="production", at=at)
    assert other["requests"]["total"] is None and other["routes_by_traffic"] == []


def test_summary_cli_json_and_table(stack: OpsStack, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli("summary", "--hours", "1", "--format", "json", "--prometheus-url", stack.prom.url,
                             capsys=capsys)
    assert code == 0, err
    s = json.loads(out)
    # Evaluated "now", a little after the last scrape: ratios stay exact, totals extrapolate by < 1 scrape.
    assert s["requests"]["error_ratio"] == pytest.approx(EXPECTED["error_ratio"], rel=1e-6)
    assert s["requests"]["total"] == pytest.approx(EXPECTED["total"], rel=0.25)
    assert s["cache"]["hit_ratio"] == pytest.approx(EXPECTED["cache_overall"], rel=1e-6)

    # At the last scrape the counts are exact, so the tie between boom/ and lab-results/ (100 each) is real.
    code, out, _ = run_cli("summary", "--hours", "1", "--end", str(stack.last_scrape()),
                           "--prometheus-url", stack.prom.url, capsys=capsys)
    assert code == 0
    assert "Requests: 1100 (0.306/s)" in out
    assert "5xx errors: 10.91%" in out
    traffic = out.split("Top 10 routes by traffic")[1].split("Top 10 routes by p95")[0]
    assert traffic.index("patients/") < traffic.index("boom/") < traffic.index("lab-results/<int:pk>/")
    assert "appointments/report/ (60.0)" in out  # the N+1 route
    assert "Cache hit ratio: 71.8%" in out


def test_summary_from_env_url(stack: OpsStack, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_CLINIC_PROMETHEUS_URL", stack.prom.url)
    code, out, _ = run_cli("summary", "--hours", "1", "--format", "json", capsys=capsys)
    assert code == 0 and json.loads(out)["requests"]["total"] > 0


# ---------------------------------------------------------------- status


def test_status_degraded_by_a_critical_alert(stack: OpsStack, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _healthy_local_env(monkeypatch)
    _wait_am_alert(stack, "OpsTestAlwaysFiring")
    code, out, err = run_cli("status", "--format", "json", "--prometheus-url", stack.prom.url,
                             "--alertmanager-url", stack.am.url, capsys=capsys)
    report = json.loads(out)
    assert code == 1, out + err
    assert report["local_health"]["healthy"] and report["pipeline"]["healthy"]
    assert not report["alerts"]["healthy"]
    assert "OpsTestAlwaysFiring" in {a["alertname"] for a in report["alerts"]["firing"]}
    dep = report["last_deployment"]
    assert dep["version"] == DEPLOYED_VERSION and dep["environment"] == ENV
    assert dep["age_hours"] == pytest.approx(2.0, abs=0.05)


def test_status_healthy_then_degraded_by_drops_down_collector_and_local_health(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _healthy_local_env(monkeypatch)
    with promstack.StaticExporter("# TYPE otelcol_process_uptime_seconds_total counter\n"
                                  "otelcol_process_uptime_seconds_total 5\n") as collector_metrics:
        agent = promstack.scrape_config("otelcol-agent", collector_metrics.target, honor_labels=False)
        with ops_stack(extra_jobs=[agent], workdir=tmp_path) as s:
            s.prom.wait_for('up{job="otelcol-agent"} == 1', timeout=30)
            args = ("status", "--prometheus-url", s.prom.url, "--alertmanager-url", s.am.url)
            code, out, err = run_cli(*args, capsys=capsys)
            assert code == 0, out + err
            assert out.startswith("overall: healthy")
            assert "Collectors up 1/1" in out and f"last deployment: {DEPLOYED_VERSION} to {ENV}" in out

            # local health degraded: the disk warning threshold below any real usage
            monkeypatch.setenv("OTEL_CLINIC_HEALTH_DISK_WARNING", "0.001")
            from otel_clinic.health import state

            state.reset()
            code, out, _ = run_cli(*args, capsys=capsys)
            assert code == 1 and "DEGRADED  local health: degraded" in out
            code, out, _ = run_cli(*args, "--no-local", capsys=capsys)
            assert code == 0 and "skipped   local health" in out

    dead = promstack.scrape_config("otelcol-gateway", f"127.0.0.1:{promstack.free_port()}", honor_labels=False)
    with ops_stack(extra_jobs=[dead], dropped=7, workdir=tmp_path) as s:
        s.prom.wait_for('up{job="otelcol-gateway"} == 0', timeout=30)
        code, out, err = run_cli("status", "--no-local", "--format", "json", "--prometheus-url", s.prom.url,
                                 "--alertmanager-url", s.am.url, capsys=capsys)
        assert code == 1, out + err
        pipeline = json.loads(out)["pipeline"]
        assert [c["job"] for c in pipeline["collectors"] if not c["up"]] == ["otelcol-gateway"]
        assert [(d["labels"]["signal"], d["labels"]["reason"]) for d in pipeline["drops"]] == [("traces", "queue_full")]
        assert pipeline["drops"][0]["dropped"] == pytest.approx(7, rel=0.3)


def _wait_am_alert(stack: OpsStack, name: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not stack.am.alerts(f'alertname="{name}"'):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} never reached Alertmanager")
        time.sleep(0.2)


# ---------------------------------------------------------------- alerts


def test_alerts_current_and_history(stack: OpsStack, capsys: pytest.CaptureFixture[str]) -> None:
    _wait_am_alert(stack, "OpsTestAlwaysFiring")
    base = ("alerts", "--hours", "1", "--prometheus-url", stack.prom.url, "--alertmanager-url", stack.am.url)
    code, out, err = run_cli(*base, "--severity", "critical", "--format", "json", capsys=capsys)
    assert code == 0, err
    data = json.loads(out)
    current = [a for a in data["current"] if a["alertname"] == "OpsTestAlwaysFiring"]
    assert current and current[0]["state"] == "active"
    assert current[0]["receivers"] == ["pagerduty-critical", "slack-alerts", "email-ops"]  # our routing tree
    past = [e for e in data["history"] if e["alertname"] == "OpsTestAlwaysFiring"]
    assert len(past) == 1 and past[0]["severity"] == "critical" and past[0]["labels"]["service"] == "ops-test"

    code, out, _ = run_cli(*base, "--severity", "info", "--format", "json", capsys=capsys)
    assert json.loads(out) == {"hours": 1.0, "severity": "info", "current": [], "history": []}
    code, out, _ = run_cli(*base, capsys=capsys)
    assert code == 0 and "OpsTestAlwaysFiring" in out and "1 episode(s)" in out


def test_alert_history_splits_episodes() -> None:
    """Samples with a gap longer than a step are two firing episodes (the range answer is shaped by hand here;
    the real ALERTS query is covered above)."""
    from otel_clinic.ops import alerts

    end = 1_000_000.0
    step = 15.0  # the step alerts.history picks for a 1 h window

    class OneSeries:
        def query_range(self, expr: str, start: float, stop: float, step_s: float) -> list[dict]:
            assert expr == 'ALERTS{alertstate="firing", severity="high"}' and step_s == step
            pts = [[start + i * step, "1"] for i in (0, 1, 2, 6, 7)]
            return [{"metric": {"__name__": "ALERTS", "alertname": "X", "severity": "high",
                                "alertstate": "firing"}, "values": pts}]

    episodes = alerts.history(OneSeries(), 1.0, "high", end=end)  # type: ignore[arg-type]
    start = end - 3600
    assert [(e["from"], e["to"]) for e in episodes] == [
        (alerts._ts(start), alerts._ts(start + 2 * step)), (alerts._ts(start + 6 * step), alerts._ts(start + 7 * step))]
    assert episodes[0]["labels"] == {"alertname": "X", "severity": "high"}


# ---------------------------------------------------------------- test-alert


@pytest.mark.parametrize("rule,severity,receivers", [
    ("ClinicApiDown", "critical", ["pagerduty-critical", "slack-alerts", "email-ops"]),
    ("ClinicApiAuthFailureSpike", "warning", ["slack-alerts", "email-security"]),
    ("clinic_db_n_plus_one_queries", "warning", ["slack-alerts"]),  # the seed's snake_case names work too
])
def test_test_alert_routes_and_resolves(stack: OpsStack, capsys: pytest.CaptureFixture[str], rule: str,
                                        severity: str, receivers: list[str]) -> None:
    code, out, err = run_cli("test-alert", "--rule", rule, "--label", f"job={JOB}", "--format", "json",
                             "--alertmanager-url", stack.am.url, capsys=capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["severity"] == severity and result["receivers"] == receivers
    assert result["routing"] == "amtool config routes test"
    assert result["alertmanager_receivers"] == sorted(receivers)  # Alertmanager's own answer agrees
    labels = result["labels"]
    assert labels["clinic_test_alert"] == "true" and labels["job"] == JOB
    rules = {r.name: r for r in load_rules(CHECKOUT_RULES_DIR) if r.severity == severity}
    assert {k: v for k, v in labels.items() if k in rules[result["rule"]].labels} == rules[result["rule"]].labels
    assert "{{" not in result["annotations"]["summary"] and result["annotations"]["summary"].startswith("[TEST] ")
    held = stack.am.alerts(f'alertname="{result["rule"]}"', 'clinic_test_alert="true"')
    assert held == []  # resolved: no longer active


def test_test_alert_with_hold_is_delivered_then_resolved(stack: OpsStack,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli("test-alert", "--rule", "ClinicCacheHitRatioLow", "--hold", "3",
                             "--alertmanager-url", stack.am.url, capsys=capsys)
    assert code == 0, err
    assert "routes to: slack-alerts, email-ops" in out and "resolved" in out

    def notified(status: str) -> bool:
        return any(p["status"] == status and p["commonLabels"].get("alertname") == "ClinicCacheHitRatioLow"
                   for p in stack.webhook.received("email-ops"))

    assert notified("firing")  # group_wait 1 s < hold 3 s: the notification went out
    stack.webhook.wait_for(lambda: notified("resolved"), timeout=20)


def test_test_alert_severity_tier_and_route_tree_fallback(stack: OpsStack, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_CLINIC_AMTOOL_BIN", "/nonexistent/amtool")
    monkeypatch.setattr("shutil.which", lambda name: None)
    code, out, err = run_cli("test-alert", "--rule", "ClinicApiHighErrorRate", "--severity", "warning",
                             "--format", "json", "--alertmanager-url", stack.am.url, capsys=capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["severity"] == "warning" and result["receivers"] == ["slack-alerts"]
    assert result["routing"] == "route tree from /api/v2/status"


def test_unknown_rule_exits_64_and_lists_rules(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli("test-alert", "--rule", "NoSuchRule", "--alertmanager-url", "http://127.0.0.1:9",
                             capsys=capsys)
    assert code == 64 and out == ""
    assert err.count("\n") == 1 and "unknown rule 'NoSuchRule'" in err
    assert "ClinicApiDown" in err and "OtelCollectorDown" in err
    code, _, err = run_cli("test-alert", "--rule", "ClinicApiDown", "--severity", "info",
                           "--alertmanager-url", "http://127.0.0.1:9", capsys=capsys)
    assert code == 64 and "with severity info" in err


def test_rules_dir_from_env(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "only.yml").write_text(yaml.safe_dump(ALWAYS_FIRING))
    monkeypatch.setenv("OTEL_CLINIC_RULES_DIR", str(tmp_path))
    code, _, err = run_cli("test-alert", "--rule", "ClinicApiDown", "--alertmanager-url", "http://127.0.0.1:9",
                           capsys=capsys)
    assert code == 64 and "Rules: OpsTestAlwaysFiring" in err
    monkeypatch.setenv("OTEL_CLINIC_RULES_DIR", str(tmp_path / "missing"))
    code, _, err = run_cli("test-alert", "--rule", "X", capsys=capsys)
    assert code == 64 and "OTEL_CLINIC_RULES_DIR" in err


@pytest.mark.parametrize("labels,receivers", ROUTE_CASES, ids=[c[0]["alertname"] for c in ROUTE_CASES])
def test_route_tree_evaluation_matches_amtool(labels: dict[str, str], receivers: list[str]) -> None:
    """The fallback evaluator gives amtool's answers on our shipped config (test_alertmanager.py's cases)."""
    config = yaml.safe_load((ALERTMANAGER_DIR / "alertmanager.yml").read_text())
    assert routing.evaluate(config, labels) == receivers


def test_route_tree_evaluation_legacy_match_and_stop() -> None:
    config = {"route": {"receiver": "root", "routes": [
        {"receiver": "db", "match": {"service": "db"}, "routes": [
            {"receiver": "db-pager", "match_re": {"severity": "crit.*"}}]},
        {"receiver": "never", "matchers": ['service!="nothing"']},
    ]}}
    assert routing.evaluate(config, {"service": "db", "severity": "critical"}) == ["db-pager"]
    assert routing.evaluate(config, {"service": "db", "severity": "warning"}) == ["db"]
    assert routing.evaluate(config, {"service": "web"}) == ["never"]
    assert routing.evaluate(config, {"service": "nothing"}) == ["root"]


# ---------------------------------------------------------------- export-metrics


def test_export_metrics_json_and_csv_chunked(stack: OpsStack, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out_json = tmp_path / "m.json"
    # ~60 s window, 1 s step, 15 s chunks: 4+ queries per metric, so progress is printed.
    base = ("export-metrics", "--hours", str(60 / 3600), "--step", "1", "--chunk-hours", str(15 / 3600),
            "--end", str(stack.last_scrape()), "--prometheus-url", stack.prom.url)
    code, out, err = run_cli(*base, "--output", str(out_json), capsys=capsys)
    assert code == 0, err
    assert "export-metrics: 1/" in err and "queries (" in err
    data = json.loads(out_json.read_text())
    names = set(data["metrics"])
    assert {"http_server_request_duration_seconds_bucket", "clinic_cache_hits_total",
            "db_client_operation_duration_seconds_count", "clinic_deployment_timestamp_seconds"} <= names
    assert "otel_unrelated_metric" not in names and "up" not in names
    hits = {s["labels"]["cache_alias"]: s for s in data["metrics"]["clinic_cache_hits_total"]}
    ts = [t for t, _ in hits["default"]["values"]]
    assert ts == sorted(set(ts))  # chunks neither overlap nor repeat a point
    assert hits["default"]["values"][-1][1] == "700" and hits["default"]["values"][0][1] == "0"

    out_csv = tmp_path / "m.csv"
    code, out, _ = run_cli(*base, "--output", str(out_csv), "--no-progress", capsys=capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text())))
    json_samples = sum(len(s["values"]) for series in data["metrics"].values() for s in series)
    assert len(rows) == json_samples  # same window (--end): the same points in either format
    last = [r for r in rows if r["metric"] == "clinic_cache_hits_total"
            and json.loads(r["labels"])["cache_alias"] == "sessions"][-1]
    assert last["value"] == "90"
    assert f"to {out_csv} [csv]" in out


def test_export_failure_leaves_no_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "m.json"
    code, _, err = run_cli("export-metrics", "--hours", "1", "--output", str(target),
                           "--prometheus-url", f"http://127.0.0.1:{promstack.free_port()}", capsys=capsys)
    assert code == 2 and not target.exists() and list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- unreachable backends, tokens, Django alias


@pytest.mark.parametrize("argv", [
    ["status"], ["summary", "--hours", "1"], ["alerts", "--hours", "1"],
    ["test-alert", "--rule", "ClinicApiDown"], ["export-metrics", "--hours", "1", "--output", "{tmp}/x.json"],
])
def test_unreachable_backend_is_one_line_exit_2(argv: list[str], tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{promstack.free_port()}"
    env = {**os.environ, "OTEL_CLINIC_PROMETHEUS_URL": dead, "OTEL_CLINIC_ALERTMANAGER_URL": dead}
    res = subprocess.run([sys.executable, "-m", "otel_clinic.cli", *[a.format(tmp=tmp_path) for a in argv]],
                         env=env, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert res.returncode == 2, res.stdout + res.stderr
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert dead in res.stderr and ("Prometheus" in res.stderr or "Alertmanager" in res.stderr)


def test_bearer_token_from_file_is_sent(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Token from OTEL_CLINIC_PROMETHEUS_TOKEN_FILE reaches the server; a 401 is one line, exit 2."""
    import http.server
    import threading

    seen: list[str | None] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen.append(self.headers.get("Authorization"))
            body = b'{"status":"error","error":"unauthorized"}'
            self.send_response(401)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        (tmp_path / "token").write_text("s3cret-token\n")
        monkeypatch.setenv("OTEL_CLINIC_PROMETHEUS_TOKEN_FILE", str(tmp_path / "token"))
        url = f"http://127.0.0.1:{server.server_address[1]}"
        code, _, err = run_cli("summary", "--prometheus-url", url, capsys=capsys)
    finally:
        server.shutdown()
        server.server_close()
    assert seen and seen[0] == "Bearer s3cret-token"
    assert code == 2 and err.count("\n") == 1 and "answered 401" in err and "s3cret" not in err


def test_django_manage_monitoring_alias(stack: OpsStack, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(DJANGO_SETTINGS_MODULE="clinic_site.settings", CLINIC_SQLITE_PATH=str(tmp_path / "db.sqlite3"),
               OTEL_SDK_DISABLED="true")
    cmd = [sys.executable, "manage.py", "manage_monitoring"]
    res = subprocess.run([*cmd, "summary", "--hours", "1", "--format", "json", "--prometheus-url", stack.prom.url],
                         cwd=REPO / "examples" / "clinic", env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    s = json.loads(res.stdout)
    assert s["requests"]["error_ratio"] == pytest.approx(EXPECTED["error_ratio"], rel=1e-6)
    res = subprocess.run([*cmd, "test-alert", "--rule-name", "nope", "--alertmanager-url", stack.am.url],
                         cwd=REPO / "examples" / "clinic", env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 64 and "unknown rule 'nope'" in res.stderr


# ---------------------------------------------------------------- the real example app


def test_summary_of_the_real_example_app(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The example clinic, scraped directly (the documented job): a known share of failing requests and cache
    misses comes back from `summary` within the tolerance of Prometheus' extrapolation."""
    import requests

    from .pipeline import clinic_app
    from .test_direct_scrape import documented_scrape_job

    metrics_port = promstack.free_port()
    settings = {"OTEL_CLINIC_EXPORT_DIR": str(tmp_path / "telemetry"), "OTEL_CLINIC_PROMETHEUS": "true",
                "OTEL_CLINIC_PROMETHEUS_PORT": str(metrics_port), "OTEL_CLINIC_RELEASE": "5.0.0",
                "OTEL_CLINIC_ENVIRONMENT": "production",
                # The health cache check would add its own probe hits to the "default" cache we count.
                "OTEL_CLINIC_HEALTH_CHECKS": "database"}
    job = documented_scrape_job()
    job["static_configs"][0]["targets"] = [f"127.0.0.1:{metrics_port}"]
    job.update(scrape_interval="1s", scrape_timeout="1s")
    with clinic_app(tmp_path, settings) as (url, _), \
            promstack.prometheus({"global": {"scrape_interval": "1s"}, "scrape_configs": [job]}) as prom:
        def get(path: str, times: int = 1) -> None:
            for _ in range(times):
                requests.get(f"{url}{path}", timeout=30)

        # Warm-up: every series we count must exist before the counted traffic (rate() cannot see what happened
        # before a series' first sample).
        get("/api/patients/")
        get("/api/boom/")
        get("/api/cache/warm/", 2)
        counted = 'sum(http_server_request_duration_seconds_count{http_route=~"api/patients/|api/boom/"})'
        prom.wait_for(f"{counted} == 2", timeout=60)
        cache = "sum(clinic_cache_hits_total) + sum(clinic_cache_misses_total)"
        prom.wait_for(f"{cache} >= 2", timeout=60)
        hits0, misses0 = prom.value("sum(clinic_cache_hits_total)"), prom.value("sum(clinic_cache_misses_total)")
        get("/api/patients/", 30)
        get("/api/boom/", 10)
        get("/api/cache/k1/", 4)  # 1 miss, 3 hits
        get("/api/cache/k2/")  # 1 miss
        prom.wait_for(f"{counted} == 42", timeout=60)
        prom.wait_for(f"sum(clinic_cache_hits_total) == {hits0 + 3} and sum(clinic_cache_misses_total) == {misses0 + 2}",
                      timeout=60)
        # Evaluate at the last scrape: no extrapolation past it (the counters' first samples are 1, not 0, so
        # Prometheus still extrapolates each series a little towards zero at the start: hence the tolerances).
        end = float(prom.query('timestamp(up{job="clinic/clinic-api"})')[0]["value"][1])
        code, out, err = run_cli("summary", "--hours", "1", "--format", "json", "--environment", "production",
                                 "--end", str(end), "--prometheus-url", prom.url, capsys=capsys)
        assert code == 0, err
        s = json.loads(out)
        routes = {r["route"]: r for r in s["routes_by_traffic"]}
        patients, boom = routes["api/patients/"], routes["api/boom/"]
        assert patients["requests"] == pytest.approx(30, rel=0.2)
        assert boom["requests"] == pytest.approx(10, rel=0.2)
        assert boom["error_ratio"] == 1.0 and patients["error_ratio"] == 0.0
        assert boom["requests"] / (boom["requests"] + patients["requests"]) == pytest.approx(0.25, abs=0.02)
        assert {c["category"] for c in s["error_categories"]} >= {"server_error"}
        assert s["cache"]["hit_ratio"] == pytest.approx(3 / 5, abs=0.05)
        assert s["database"]["queries"] and s["database"]["queries"] > 0
        code, out, _ = run_cli("summary", "--hours", "1", "--end", str(end), "--prometheus-url", prom.url,
                               capsys=capsys)
        print(out, file=sys.stderr)
        assert code == 0 and "api/boom/" in out


def test_test_alert_runbook_url_uses_the_configured_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    # The rules write runbook_url from Prometheus' external label runbook_base_url, which prometheus.yml fills from
    # OTEL_CLINIC_RUNBOOK_BASE_URL; a synthetic alert must carry the same link, not the template text.
    from otel_clinic.ops.rules import find_rule, load_rules, render_annotation, rules_dir

    monkeypatch.setenv("OTEL_CLINIC_RUNBOOK_BASE_URL", "https://runbooks.clinic.example/ops/")
    (rule,) = find_rule(load_rules(rules_dir()), "ClinicApiDown")
    url = render_annotation(rule.annotations["runbook_url"], rule.labels)
    assert url == "https://runbooks.clinic.example/ops/ClinicApiDown.md"

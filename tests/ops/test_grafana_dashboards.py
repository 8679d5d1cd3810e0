"""Grafana dashboards and provisioning.

Static checks on every dashboard, then every PromQL expression (panel targets, template variables,
annotations) is run, variables substituted, against a real Prometheus filled through the production path
(example clinic app -> agent Collector -> gateway Collector -> remote write; see pipeline.py): each must
parse and evaluate, and the core panels must return series. The same Prometheus has all our rule files
loaded, so rule evaluation errors against real data are caught here too.
"""

from __future__ import annotations

import re
import time
from typing import Any

import promql_parser
import pytest
import yaml


from . import grafana
from .opspack import GRAFANA_DIR, OWN_PREFIXES, alert_rules, all_exprs, selectors

DASHBOARD_FILES = sorted((GRAFANA_DIR / "dashboards").glob("*.json"))
DASHBOARDS = {p.stem: grafana.load(p) for p in DASHBOARD_FILES}
ALL_QUERIES = [q for d in DASHBOARDS.values() for q in grafana.queries(d)]
VARIABLE_NAMES = sorted({v["name"] for d in DASHBOARDS.values() for v in d["templating"]["list"]})

# Panels that must show data after one load-generator run through the real pipeline (target A of each).
CORE_PANELS = {
    "clinic-api-performance": {
        "Request rate by tenant", "5xx error ratio by tenant", "p95 latency by tenant",
        "Request rate by route", "5xx error ratio", "Responses by status code", "Error categories",
        "p50 latency by route", "p95 latency by route", "p99 latency by route", "Severity mix",
        "In-flight requests", "Requests slower than 500 ms", "Availability burn rate (99.9%)",
        "Latency burn rate (p95 < 500 ms)",
    },
    "clinic-db-cache": {"Queries per request by route", "Query rate by operation", "Query latency p95",
                        "Cache hit ratio", "Cache requests"},
    "clinic-health-releases": {"Health check status", "Health check duration", "Deployed releases",
                               "5xx ratio by release", "p95 latency by release"},
    "clinic-business-kpis": {"Patient operations", "New patients (24 h)", "Appointments booked",
                             "Failed logins (1 h)", "Authentication failures by route"},
    # Fed by the agent's infrastructure overlays, not by the app: evaluated in tests/collector/test_infra_receivers.py.
    "clinic-infrastructure": {"CPU busy", "Memory used", "Disk used by mount point", "Load average",
                              "Network throughput", "Paging", "Connections vs max", "Connections by state",
                              "Commits and rollbacks", "Deadlocks", "Database size", "Redis memory used",
                              "Redis clients", "Redis keyspace hit ratio", "Redis evictions and expirations"},
    "clinic-telemetry-pipeline": {"Received spans", "Received metric points", "Received log records",
                                  "Exported spans", "Exported metric points", "Exported log records",
                                  "Exporter queue fill", "Collector memory"},
}
REQUIRED_DASHBOARDS = set(CORE_PANELS)
APP_DASHBOARDS = sorted(REQUIRED_DASHBOARDS - {"clinic-infrastructure"})  # fed by the app pipeline below
# The tenant label appears only where the app resolves a tenant (OTEL_CLINIC_TENANT_RESOLVER / set_tenant);
# without one, the variable lists nothing and takes its All value, like Grafana. (The pipeline's app does
# resolve tenants, and test_variables_see_the_apps_job_and_environment requires them.)
OPTIONAL_VARIABLES = frozenset({"tenant"})


# ---------------------------------------------------------------- static checks (no servers)

def test_required_dashboards_exist() -> None:
    assert set(DASHBOARDS) == REQUIRED_DASHBOARDS


@pytest.mark.parametrize("uid", sorted(DASHBOARDS))
def test_dashboard_structure(uid: str) -> None:
    d = DASHBOARDS[uid]
    assert d["uid"] == uid and d["id"] is None and d["title"] and "otel-clinic" in d["tags"]
    names = [v["name"] for v in d["templating"]["list"]]
    assert names[0] == "datasource" and d["templating"]["list"][0]["query"] == "prometheus"
    assert len(names) == len(set(names))
    ids = [p["id"] for p in grafana.panels(d)]
    assert len(ids) == len(set(ids))
    for panel in grafana.panels(d):
        if panel["type"] == "row":
            continue
        where = f"{uid}/{panel['title']}"
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, where
        assert panel.get("description"), where
        assert panel["fieldConfig"]["defaults"].get("unit"), where
        assert panel["targets"], where
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)), where


@pytest.mark.parametrize("uid", sorted(DASHBOARDS))
def test_core_panels_are_declared_in_the_dashboard(uid: str) -> None:
    titles = {p["title"] for p in grafana.panels(DASHBOARDS[uid])}
    assert CORE_PANELS[uid] <= titles, CORE_PANELS[uid] - titles


@pytest.mark.parametrize("query", ALL_QUERIES, ids=lambda q: f"{q.dashboard}:{q.where}")
def test_expression_parses_and_follows_conventions(query: grafana.Query) -> None:
    values = {name: "x" for name in VARIABLE_NAMES}
    promql, _ = grafana.as_promql(query.expr)
    parsed = grafana.substitute(promql, values)
    promql_parser.parse(parsed)  # raises ValueError on bad PromQL
    if query.panel is not None and query.panel["type"] != "stat":
        # dashboard-linter target-rate-interval-rule: graphs use $__rate_interval, stats may use fixed windows
        for window in re.findall(r"\[([^\]]+)\]", query.expr):
            assert window == "$__rate_interval", f"{query.where}: range [{window}]"
    # dashboard-linter target-job-rule: every selector of an app/collector metric is scoped by a job variable
    for sel in selectors(grafana.substitute(promql, {k: f"@{k}@" for k in values})):
        name = sel.name or ""
        job = [m for m in sel.matchers.matchers if m.name == "job"]
        if query.where in ("variable:job", "variable:collector_job"):
            continue  # the variables that list the jobs
        if name.startswith(OWN_PREFIXES) or name.startswith("job:") or name.startswith("otelcol_"):
            assert job and job[0].value in ("@job@", "@collector_job@"), f"{query.where}: {name} not scoped by job"


def test_provisioning_files() -> None:
    ds = yaml.safe_load((GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yaml").read_text())
    assert ds["apiVersion"] == 1
    prom = [d for d in ds["datasources"] if d["type"] == "prometheus"]
    assert prom and prom[0]["uid"] == "prometheus" and prom[0]["url"].startswith("${")
    prov = yaml.safe_load((GRAFANA_DIR / "provisioning" / "dashboards" / "clinic.yaml").read_text())
    assert prov["apiVersion"] == 1 and prov["providers"][0]["type"] == "file"
    assert prov["providers"][0]["options"]["path"].startswith("/var/lib/grafana/dashboards")


# ---------------------------------------------------------------- against the real pipeline

needs_stack = pytest.mark.e2e  # real Prometheus; the test command installs it (missing = failure, not skip)


@pytest.fixture(scope="module")
def prom():  # type: ignore[no-untyped-def]
    from .pipeline import production_pipeline

    with production_pipeline() as server:
        yield server


@needs_stack
@pytest.mark.e2e
def test_every_expression_evaluates_and_core_panels_have_data(prom) -> None:  # type: ignore[no-untyped-def]
    empty_core: list[str] = []
    for uid in APP_DASHBOARDS:
        empty_core += grafana.empty_panels(prom, DASHBOARDS[uid], CORE_PANELS[uid], OPTIONAL_VARIABLES)
    assert not empty_core, "core panels without data:\n" + "\n".join(empty_core)


@needs_stack
@pytest.mark.e2e
def test_variables_see_the_apps_job_and_environment(prom) -> None:  # type: ignore[no-untyped-def]
    from .pipeline import ENVIRONMENT

    values = grafana.resolve_variables(prom, DASHBOARDS["clinic-api-performance"], OPTIONAL_VARIABLES)
    assert values["job"] == "clinic/clinic-api"
    assert ENVIRONMENT in values["env__values"].split(",")
    assert "api/patients/" in values["route__values"].split(",")
    # The pipeline's app resolves two tenants by route (tests/ops/tenant_resolver.py).
    assert {"org-patients", "org-other"} <= set(values["tenant__values"].split(","))
    pipeline = grafana.resolve_variables(prom, DASHBOARDS["clinic-telemetry-pipeline"])
    assert {"otelcol-agent", "otelcol-gateway"} <= set(pipeline["collector_job__values"].split(","))


@needs_stack
@pytest.mark.e2e
def test_deployment_annotation_marks_the_release_start(prom) -> None:  # type: ignore[no-untyped-def]
    from .pipeline import ENVIRONMENT, RELEASE

    dashboard = DASHBOARDS["clinic-health-releases"]
    ann = next(a for a in dashboard["annotations"]["list"] if a.get("name") == "Deployments")
    assert ann["useValueForTime"] is True
    result = prom.query(grafana.substitute(ann["expr"], {"job": "clinic/clinic-api", "env": ".*"}))
    assert [r["metric"].get("service_version") for r in result] == [RELEASE]
    assert result[0]["metric"]["deployment_environment_name"] == ENVIRONMENT
    started_ms = float(result[0]["value"][1])
    assert abs(started_ms / 1000 - time.time()) < 600, "value must be the release start time in ms"


@needs_stack
@pytest.mark.e2e
def test_labels_used_by_rules_and_dashboards_exist_on_real_series(prom) -> None:  # type: ignore[no-untyped-def]
    """A matcher or grouping on a label the product does not emit would silently match nothing."""
    dummy = {name: "x" for name in VARIABLE_NAMES}
    exprs = list(all_exprs()) + [grafana.substitute(grafana.as_promql(q.expr)[0], dummy) for q in ALL_QUERIES]
    problems = []
    for expr in exprs:
        for sel in selectors(expr):
            name = sel.name or ""
            if not name.startswith(OWN_PREFIXES):
                continue
            series = prom.series(name, start=time.time() - 3600)
            if not series:
                continue  # not emitted by this traffic (e.g. no slow queries); covered by promtool tests
            keys = set().union(*(s.keys() for s in series))
            for m in sel.matchers.matchers:
                if m.name not in keys and m.name != "__name__":
                    problems.append(f"{name}{{{m.name}}} in {expr[:80]}")
    assert not problems, "\n".join(sorted(set(problems)))


@needs_stack
@pytest.mark.e2e
def test_rules_evaluate_without_errors_on_real_data(prom) -> None:  # type: ignore[no-untyped-def]
    # At least one more evaluation round of every group after the data arrived (polled, with a deadline).
    before = {g["name"]: g.get("lastEvaluation") for g in prom.rules()}
    deadline = time.monotonic() + 30
    while (stale := [g["name"] for g in prom.rules() if g.get("lastEvaluation") == before.get(g["name"])]):
        assert time.monotonic() < deadline, f"rule groups not evaluated again within 30 s: {stale}"
        time.sleep(0.2)
    groups = prom.rules()
    rules = [r for g in groups for r in g["rules"]]
    assert len(rules) == len(list(all_exprs()))
    broken = [f"{r['name']}: {r.get('lastError')}" for r in rules if r["health"] != "ok"]
    assert not broken, broken
    assert {r["name"] for r in rules if r["type"] == "alerting"} == {a.name for a in alert_rules()}

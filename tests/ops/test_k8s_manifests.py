"""Kubernetes manifests (collector/k8s/base): rendered with kustomize, validated strictly against the
Kubernetes 1.30 OpenAPI schemas (kubernetes-validate, unknown fields rejected), then checked for the wiring
that schemas cannot see: selectors, probes, ports, generated ConfigMaps and the Collector configs they carry
(validated by our own Collector binary with the manifests' environment)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from . import kustomize
from .opspack import COLLECTOR, K8S_DIR

K8S_VERSION = "1.30.0"
BASE = K8S_DIR / "base"


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    return kustomize.build(BASE)


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].startswith(name)]
    assert len(found) == 1, f"expected one {kind} {name}, got {[d['metadata']['name'] for d in found]}"
    return found[0]


def container(workload: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in workload["spec"]["template"]["spec"]["containers"] if c["name"] == name)


def env_of(c: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c.get("env", [])}


def port_number(c: dict[str, Any], name_or_number: Any) -> int:
    if isinstance(name_or_number, int):
        return name_or_number
    return next(p["containerPort"] for p in c["ports"] if p["name"] == name_or_number)


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def test_every_document_is_strictly_valid(docs: list[dict[str, Any]]) -> None:
    errors = []
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{doc['kind']}/{doc['metadata']['name']}: {str(exc).splitlines()[0]}")
    assert not errors, "\n".join(errors)
    kinds = {d["kind"] for d in docs}
    assert {"DaemonSet", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget",
            "ConfigMap"} <= kinds


def test_strict_validation_rejects_an_unknown_field(docs: list[dict[str, Any]]) -> None:
    """Guards the check above: a typo such as `resourcez` must not pass."""
    bad = copy.deepcopy(find(docs, "Deployment", "otel-gateway"))
    bad["spec"]["template"]["spec"]["containers"][0]["resourcez"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


def test_gateway_topology(docs: list[dict[str, Any]]) -> None:
    gw = find(docs, "Deployment", "otel-gateway")
    pod_labels = gw["spec"]["template"]["metadata"]["labels"]
    assert gw["spec"]["replicas"] >= 2
    headless = find(docs, "Service", "otel-gateway-headless")
    assert headless["spec"]["clusterIP"] == "None"
    assert selects(headless["spec"]["selector"], pod_labels)
    hl_port = headless["spec"]["ports"][0]
    assert port_number(container(gw, "otelcol"), hl_port["targetPort"]) == hl_port["port"] == 4317
    hpa = find(docs, "HorizontalPodAutoscaler", "otel-gateway")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "otel-gateway"}
    pdb = find(docs, "PodDisruptionBudget", "otel-gateway")
    assert selects(pdb["spec"]["selector"]["matchLabels"], pod_labels)
    # A voluntary eviction must always be possible, or node drains block forever.
    min_available = pdb["spec"]["minAvailable"]
    assert hpa["spec"]["minReplicas"] > min_available and gw["spec"]["replicas"] > min_available


def test_agent_finds_gateways_through_the_headless_service(docs: list[dict[str, Any]]) -> None:
    import yaml

    cm = find(docs, "ConfigMap", "otel-agent-config")
    resolver = yaml.safe_load(cm["data"]["otelcol-agent-k8s.yaml"])["exporters"]["load_balancing"]["resolver"]
    headless = find(docs, "Service", "otel-gateway-headless")
    fqdn = f"{headless['metadata']['name']}.{headless['metadata']['namespace']}.svc.cluster.local"
    assert resolver["dns"]["hostname"] == fqdn and int(resolver["dns"]["port"]) == headless["spec"]["ports"][0]["port"]
    assert resolver["static"] is None  # replaces the static list of otelcol-agent.yaml


def test_agent_daemonset_and_node_local_service(docs: list[dict[str, Any]]) -> None:
    ds = find(docs, "DaemonSet", "otel-agent")
    svc = find(docs, "Service", "otel-agent")
    assert svc["spec"]["internalTrafficPolicy"] == "Local"
    assert selects(svc["spec"]["selector"], ds["spec"]["template"]["metadata"]["labels"])
    c = container(ds, "otelcol")
    for p in svc["spec"]["ports"]:
        assert port_number(c, p["targetPort"]) == p["port"]
    queue = next(v for v in ds["spec"]["template"]["spec"]["volumes"] if v["name"] == "queue")
    assert queue["hostPath"]["path"] == env_of(c)["OTELCOL_STORAGE_DIR"]


def test_configmaps_carry_the_collector_files(docs: list[dict[str, Any]]) -> None:
    expected = {
        "otel-agent-config": {"otelcol-agent.yaml": COLLECTOR / "otelcol-agent.yaml",
                              "otelcol-agent-phi.yaml": COLLECTOR / "otelcol-agent-phi.yaml",
                              "otelcol-agent-k8s.yaml": BASE / "otelcol-agent-k8s.yaml"},
        "otel-gateway-config": {"otelcol-gateway.yaml": COLLECTOR / "otelcol-gateway.yaml"},
        "prometheus-clinic-rules": {p.name: p for p in (COLLECTOR / "prometheus" / "rules").glob("*.yml")},
        "grafana-clinic-dashboards": {p.name: p for p in (COLLECTOR / "grafana" / "dashboards").glob("*.json")},
        "alertmanager-clinic-config": {"alertmanager.yml": COLLECTOR / "alertmanager" / "alertmanager.yml",
                                       "clinic.tmpl": COLLECTOR / "alertmanager" / "templates" / "clinic.tmpl"},
    }
    for name, files in expected.items():
        cm = find(docs, "ConfigMap", name)
        assert set(cm["data"]) == set(files), name
        for key, path in files.items():
            assert cm["data"][key] == path.read_text(), f"{name}/{key} differs from {path}"
    # Workloads mount the generated (hash-suffixed) names and load every file they were given.
    for kind, workload, cm_name in (("DaemonSet", "otel-agent", "otel-agent-config"),
                                    ("Deployment", "otel-gateway", "otel-gateway-config")):
        w = find(docs, kind, workload)
        cm = find(docs, "ConfigMap", cm_name)
        vol = next(v for v in w["spec"]["template"]["spec"]["volumes"] if v["name"] == "config")
        assert vol["configMap"]["name"] == cm["metadata"]["name"]
        c = container(w, "otelcol")
        mount = next(m for m in c["volumeMounts"] if m["name"] == "config")["mountPath"]
        # Every file is loaded (order matters and is checked by the Collector validation test below).
        assert sorted(a.removeprefix("--config=") for a in c["args"]) == sorted(f"{mount}/{k}" for k in cm["data"])


def test_probes(docs: list[dict[str, Any]]) -> None:
    for kind, name in (("DaemonSet", "otel-agent"), ("Deployment", "otel-gateway")):
        c = container(find(docs, kind, name), "otelcol")
        health_port = int(env_of(c)["OTELCOL_HEALTH_ENDPOINT"].rsplit(":", 1)[1])
        for probe in ("livenessProbe", "readinessProbe"):
            assert port_number(c, c[probe]["httpGet"]["port"]) == health_port, f"{name} {probe}"
    app = container(find(docs, "Deployment", "clinic-api"), "app")
    assert app["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert app["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert app["startupProbe"]["httpGet"]["path"] == "/health/live"
    bind_port = int(env_of(app)["CLINIC_BIND"].rsplit(":", 1)[1])
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert port_number(app, app[probe]["httpGet"]["port"]) == bind_port


def test_app_exports_to_the_node_local_agent(docs: list[dict[str, Any]]) -> None:
    app = container(find(docs, "Deployment", "clinic-api"), "app")
    agent = find(docs, "Service", "otel-agent")
    env = env_of(app)
    host = f"{agent['metadata']['name']}.{agent['metadata']['namespace']}.svc.cluster.local"
    http_port = next(p["port"] for p in agent["spec"]["ports"] if p["name"] == "otlp-http")
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://{host}:{http_port}"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"


def test_no_inline_secrets(docs: list[dict[str, Any]]) -> None:
    assert not [d for d in docs if d["kind"] == "Secret"], "Secrets are created out of band, never committed"
    gw = env_of(container(find(docs, "Deployment", "otel-gateway"), "otelcol"))
    for key in ("SENTRY_OTLP_ENDPOINT", "SENTRY_PUBLIC_KEY"):
        assert "secretKeyRef" in gw[key], key


def test_collector_accepts_the_configmaps_with_the_manifest_env(docs: list[dict[str, Any]], tmp_path: Path) -> None:
    """Our Collector binary validates exactly what the pods would run: ConfigMap files + container env."""
    from tests.support.collector import build_collector, validate

    build_collector()
    for kind, workload, cm_name in (("DaemonSet", "otel-agent", "otel-agent-config"),
                                    ("Deployment", "otel-gateway", "otel-gateway-config")):
        cm = find(docs, "ConfigMap", cm_name)
        c = container(find(docs, kind, workload), "otelcol")
        files = []
        for arg in c["args"]:  # in the container's --config order: later files merge over earlier ones
            key = arg.removeprefix("--config=").rsplit("/", 1)[1]
            path = tmp_path / f"{workload}-{key}"
            path.write_text(cm["data"][key])
            files.append(path)
        # Secret references get placeholder values of the right shape.
        env = {k: (v if isinstance(v, str) else "https://o1.ingest.sentry.invalid/api/1/integration/otlp"
                   if k.endswith("ENDPOINT") else "0" * 32) for k, v in env_of(c).items()}
        res = validate(*files, env=env)
        assert res.returncode == 0, f"{workload}: {res.stdout}{res.stderr}"

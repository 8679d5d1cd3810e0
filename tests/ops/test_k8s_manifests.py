"""Kubernetes manifests (collector/k8s/base): rendered with kustomize, validated strictly against the
Kubernetes 1.30 OpenAPI schemas (kubernetes-validate, unknown fields rejected), then checked for the wiring
that schemas cannot see: selectors, probes, ports, generated ConfigMaps and the Collector configs they carry
(validated by our own Collector binary with the manifests' environment), and the security model: Pod Security
labels and levels, NetworkPolicies (who may reach whom), images by digest, secrets only by reference."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from . import kustomize
from .opspack import COLLECTOR, K8S_DIR, REPO

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
    # The queue is a directory the Collector creates (0700) inside an emptyDir owned by fsGroup: no root init
    # container is needed to chown a hostPath.
    queue = next(v for v in ds["spec"]["template"]["spec"]["volumes"] if v["name"] == "queue")
    mount = next(m for m in c["volumeMounts"] if m["name"] == "queue")["mountPath"]
    assert "emptyDir" in queue and env_of(c)["OTELCOL_STORAGE_DIR"].startswith(mount + "/")
    assert not ds["spec"]["template"]["spec"].get("initContainers")
    # hostmetrics (otelcol-agent-host.yaml) reads the host through a read-only mount at its root_path.
    hostfs = next(m for m in c["volumeMounts"] if m["name"] == "hostfs")
    assert hostfs["readOnly"] is True and env_of(c)["OTELCOL_HOSTMETRICS_ROOT"] == hostfs["mountPath"]


def test_configmaps_carry_the_collector_files(docs: list[dict[str, Any]]) -> None:
    expected = {
        "otel-agent-config": {"otelcol-agent.yaml": COLLECTOR / "otelcol-agent.yaml",
                              "otelcol-agent-phi.yaml": COLLECTOR / "otelcol-agent-phi.yaml",
                              "otelcol-agent-tls.yaml": COLLECTOR / "otelcol-agent-tls.yaml",
                              "otelcol-agent-host.yaml": COLLECTOR / "otelcol-agent-host.yaml",
                              "otelcol-agent-k8s.yaml": BASE / "otelcol-agent-k8s.yaml"},
        "otel-gateway-config": {"otelcol-gateway.yaml": COLLECTOR / "otelcol-gateway.yaml",
                                "otelcol-agent-phi.yaml": COLLECTOR / "otelcol-agent-phi.yaml",
                                "otelcol-gateway-tls.yaml": COLLECTOR / "otelcol-gateway-tls.yaml"},
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
    for key in ("SENTRY_OTLP_ENDPOINT", "SENTRY_PUBLIC_KEY", "OTELCOL_GATEWAY_TOKEN"):
        assert "secretKeyRef" in gw[key], key
    agent = env_of(container(find(docs, "DaemonSet", "otel-agent"), "otelcol"))
    assert "secretKeyRef" in agent["OTELCOL_GATEWAY_TOKEN"]
    app = env_of(container(find(docs, "Deployment", "clinic-api"), "app"))
    assert "secretKeyRef" in app["DJANGO_SECRET_KEY"]
    # No secret on a command line anywhere in the base's comments and docs either (kubectl --from-literal).
    for path in K8S_DIR.rglob("*.yaml"):
        assert "--from-literal" not in path.read_text(), path


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
        # Secret references get placeholder values of the right shape; the downward API's pod IP is loopback.
        env: dict[str, str] = {}
        for k, v in env_of(c).items():
            if isinstance(v, str):
                env[k] = re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], v)
            elif "fieldRef" in v:
                env[k] = {"status.podIP": "127.0.0.1", "spec.nodeName": "node-1"}[v["fieldRef"]["fieldPath"]]
            else:
                env[k] = "https://o1.ingest.sentry.invalid/api/1/integration/otlp" if k.endswith("ENDPOINT") else "0" * 32
        # A hostPath mount point stands for the host path it mounts (hostmetrics checks that root_path exists).
        pod = find(docs, kind, workload)["spec"]["template"]["spec"]
        host_paths = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v}
        for m in c["volumeMounts"]:
            if m["name"] in host_paths:
                env = {k: host_paths[m["name"]] if v == m["mountPath"] else v for k, v in env.items()}
        res = validate(*files, env=env)
        assert res.returncode == 0, f"{workload}: {res.stdout}{res.stderr}"


# ---------------------------------------------------------------- security model: Pod Security Standards

PSS_MODES = ("enforce", "warn", "audit")
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                      "projected", "secret"}


def workloads(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] in ("Deployment", "DaemonSet", "StatefulSet", "Job", "CronJob")]


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    """The `restricted` Pod Security Standard (v1.30) checks, as the admission controller applies them."""
    found = []
    psc = pod.get("securityContext", {})
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(host):
            found.append(host)
    for v in pod.get("volumes", []):
        kind = next(k for k in v if k != "name")
        if kind not in RESTRICTED_VOLUMES:
            found.append(f"volume {v['name']}: {kind}")
    for c in pod.get("initContainers", []) + pod["containers"]:
        sc = c.get("securityContext", {})
        name = c["name"]
        if sc.get("privileged"):
            found.append(f"{name}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            found.append(f"{name}: allowPrivilegeEscalation not false")
        caps = sc.get("capabilities", {})
        if "ALL" not in caps.get("drop", []):
            found.append(f"{name}: capabilities not dropping ALL")
        if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
            found.append(f"{name}: adds {caps['add']}")
        if not sc.get("runAsNonRoot", psc.get("runAsNonRoot")):
            found.append(f"{name}: runAsNonRoot not true")
        if sc.get("runAsUser", psc.get("runAsUser")) == 0:
            found.append(f"{name}: runAsUser 0")
        seccomp = sc.get("seccompProfile", psc.get("seccompProfile", {})).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            found.append(f"{name}: seccompProfile {seccomp}")
        if any("hostPort" in p for p in c.get("ports", [])):
            found.append(f"{name}: hostPort")
    return found


def test_every_namespace_has_pod_security_labels(docs: list[dict[str, Any]]) -> None:
    namespaces = {d["metadata"]["name"]: d["metadata"].get("labels", {}) for d in docs if d["kind"] == "Namespace"}
    used = {d["metadata"]["namespace"] for d in docs if "namespace" in d["metadata"]}
    assert used <= set(namespaces), f"objects in namespaces the base does not declare: {used - set(namespaces)}"
    for name, labels in namespaces.items():
        for mode in PSS_MODES:
            assert labels.get(f"pod-security.kubernetes.io/{mode}") in ("restricted", "baseline", "privileged"), (name, mode)
            assert labels.get(f"pod-security.kubernetes.io/{mode}-version", "").startswith("v1."), (name, mode)
    for name in ("clinic", "observability", "monitoring"):
        assert all(namespaces[name][f"pod-security.kubernetes.io/{m}"] == "restricted" for m in PSS_MODES), name
    # The agent's namespace is the one exception, and its reason is written next to it.
    agent_ns = find(docs, "DaemonSet", "otel-agent")["metadata"]["namespace"]
    assert agent_ns not in ("clinic", "observability")
    text = (BASE / "namespaces.yaml").read_text()
    reason = text[: text.index(f"name: {agent_ns}\n")].rsplit("---", 1)[1]
    assert "hostPath" in reason and "hostmetrics" in reason


def test_every_workload_meets_its_namespaces_level(docs: list[dict[str, Any]]) -> None:
    levels = {d["metadata"]["name"]: d["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
              for d in docs if d["kind"] == "Namespace"}
    for w in workloads(docs):
        pod = w["spec"]["template"]["spec"]
        violations = restricted_violations(pod)
        name = f"{w['kind']}/{w['metadata']['name']}"
        if levels[w["metadata"]["namespace"]] == "restricted":
            assert violations == [], (name, violations)
        else:
            # Privileged namespace: only the hostPath volumes need it; the rest of the pod is restricted, and
            # every hostPath is mounted read-only except none.
            assert all(v.startswith("volume ") and v.endswith(": hostPath") for v in violations), (name, violations)
            host_volumes = {v["name"] for v in pod["volumes"] if "hostPath" in v}
            for c in pod["containers"]:
                for m in c.get("volumeMounts", []):
                    if m["name"] in host_volumes:
                        assert m.get("readOnly") is True, (name, m)
        for c in pod["containers"]:
            assert c["securityContext"].get("readOnlyRootFilesystem") is True, (name, c["name"])


def test_restricted_check_flags_what_admission_would_refuse(docs: list[dict[str, Any]]) -> None:
    """Guards the check above: the root init container with CHOWN that the agent used to have is a violation."""
    pod = copy.deepcopy(find(docs, "Deployment", "otel-gateway")["spec"]["template"]["spec"])
    assert restricted_violations(pod) == []
    pod["initContainers"] = [{"name": "chown", "image": "busybox", "securityContext": {
        "runAsNonRoot": False, "runAsUser": 0, "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"], "add": ["CHOWN"]}}}]
    pod["volumes"].append({"name": "q", "hostPath": {"path": "/var/lib/x"}})
    found = restricted_violations(pod)
    assert {"chown: runAsNonRoot not true", "chown: runAsUser 0", "chown: adds ['CHOWN']", "volume q: hostPath"} <= set(found)


def test_every_image_is_pinned_by_digest(docs: list[dict[str, Any]]) -> None:
    images = [c["image"] for w in workloads(docs) for c in
              w["spec"]["template"]["spec"].get("initContainers", []) + w["spec"]["template"]["spec"]["containers"]]
    assert images
    for image in images:
        assert re.fullmatch(r"[a-z0-9.\-/]+@sha256:[0-9a-f]{64}", image), image


# ---------------------------------------------------------------- security model: NetworkPolicies

def _peer_matches(peer: dict[str, Any], policy_ns: str, ns: str, ns_labels: dict[str, str], labels: dict[str, str]) -> bool:
    if "ipBlock" in peer:
        return False  # pods have cluster-private addresses; the ipBlocks here exclude the private ranges
    if "namespaceSelector" in peer:
        if not all(ns_labels.get(k) == v for k, v in peer["namespaceSelector"].get("matchLabels", {}).items()):
            return False
    elif ns != policy_ns:
        return False
    return all(labels.get(k) == v for k, v in peer.get("podSelector", {}).get("matchLabels", {}).items())


def _rule_allows(rule: dict[str, Any], key: str, policy_ns: str, peer: tuple[str, dict[str, str]], port: int) -> bool:
    ns, labels = peer
    ports = rule.get("ports")
    if ports and not any(p.get("port") == port for p in ports):
        return False
    peers = rule.get(key)
    return not peers or any(_peer_matches(p, policy_ns, ns, {"kubernetes.io/metadata.name": ns}, labels) for p in peers)


def reachable(docs: list[dict[str, Any]], src: tuple[str, dict[str, str]], dst: tuple[str, dict[str, str]], port: int) -> bool:
    """Both sides' policies must allow it (a pod selected by no policy of a direction is open in it)."""
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]

    def allowed(side: tuple[str, dict[str, str]], other: tuple[str, dict[str, str]], direction: str, key: str) -> bool:
        ns, labels = side
        selecting = [p for p in policies if p["metadata"]["namespace"] == ns
                     and direction in p["spec"].get("policyTypes", [])
                     and all(labels.get(k) == v for k, v in p["spec"]["podSelector"].get("matchLabels", {}).items())]
        if not selecting:
            return True
        return any(_rule_allows(r, key, ns, other, port) for p in selecting for r in p["spec"].get(direction.lower(), []))

    return allowed(src, dst, "Egress", "to") and allowed(dst, src, "Ingress", "from")


def pod_of(docs: list[dict[str, Any]], kind: str, name: str) -> tuple[str, dict[str, str]]:
    w = find(docs, kind, name)
    return w["metadata"]["namespace"], w["spec"]["template"]["metadata"]["labels"]


def test_every_namespace_denies_by_default(docs: list[dict[str, Any]]) -> None:
    for ns in (d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"):
        assert any(p["metadata"]["namespace"] == ns and p["spec"]["podSelector"] == {}
                   and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
                   and not p["spec"].get("ingress") and not p["spec"].get("egress")
                   for p in docs if p["kind"] == "NetworkPolicy"), ns


def test_network_policies_admit_only_the_intended_paths(docs: list[dict[str, Any]]) -> None:
    app = pod_of(docs, "Deployment", "clinic-api")
    agent = pod_of(docs, "DaemonSet", "otel-agent")
    gateway = pod_of(docs, "Deployment", "otel-gateway")
    prometheus = ("monitoring", {"app.kubernetes.io/name": "prometheus"})
    rogue_in_cluster = ("default", {"app": "anything"})
    rogue_in_observability = ("observability", {"app.kubernetes.io/name": "debug-shell"})
    rogue_in_clinic = ("clinic", {"app.kubernetes.io/name": "other-app"})

    assert reachable(docs, agent, gateway, 4317)  # the agents' load_balancing exporter speaks OTLP/gRPC
    for port in (4317, 4318):  # gateway OTLP: the agents only
        for src in (app, prometheus, rogue_in_cluster, rogue_in_observability, rogue_in_clinic):
            assert not reachable(docs, src, gateway, port), (src, port)
    for dst in (gateway, agent):  # metrics: Prometheus only
        assert reachable(docs, prometheus, dst, 8889)
        for src in (app, rogue_in_cluster, rogue_in_observability):
            assert not reachable(docs, src, dst, 8889), (src, dst)
    for port in (4317, 4318):  # agent OTLP: the app
        assert reachable(docs, app, agent, port)
        for src in (rogue_in_cluster, gateway, rogue_in_observability):
            assert not reachable(docs, src, agent, port), (src, port)
    # Egress: the app reaches the agent but not the gateway; the agent nothing but the gateway's OTLP gRPC.
    assert not reachable(docs, app, gateway, 4317)
    assert not reachable(docs, agent, gateway, 4318) and not reachable(docs, agent, prometheus, 9090)
    assert reachable(docs, gateway, prometheus, 9090)
    assert not reachable(docs, gateway, agent, 4317) and not reachable(docs, gateway, rogue_in_cluster, 80)
    assert not reachable(docs, app, rogue_in_cluster, 8080)


def test_reachability_model_sees_an_allow_all_policy(docs: list[dict[str, Any]]) -> None:
    """Guards the test above: one allow-all ingress policy in the gateway's namespace opens its OTLP port."""
    rogue = ("default", {"app": "anything"})
    gateway = pod_of(docs, "Deployment", "otel-gateway")
    assert not reachable(docs, rogue, gateway, 4318)
    opened = docs + [{"kind": "NetworkPolicy", "metadata": {"name": "allow-all", "namespace": "observability"},
                      "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]}}]
    assert reachable(docs=opened, src=rogue, dst=gateway, port=4318)


# ---------------------------------------------------------------- security model: TLS hop agent -> gateway

def test_agent_verifies_the_gateway_certificate_names(docs: list[dict[str, Any]]) -> None:
    import yaml

    agent_c = container(find(docs, "DaemonSet", "otel-agent"), "otelcol")
    server_name = env_of(agent_c)["OTELCOL_GATEWAY_SERVER_NAME"]
    svc = find(docs, "Service", "otel-gateway-headless")
    gw_svc = [d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "otel-gateway"][0]
    assert server_name == f"{gw_svc['metadata']['name']}.{gw_svc['metadata']['namespace']}.svc"
    assert svc["metadata"]["namespace"] == gw_svc["metadata"]["namespace"]
    tls = yaml.safe_load(find(docs, "ConfigMap", "otel-agent-config")["data"]["otelcol-agent-tls.yaml"])
    assert tls["exporters"]["load_balancing"]["protocol"]["otlp"]["tls"]["insecure"] is False
    assert any(a.endswith("/otelcol-agent-tls.yaml") for a in agent_c["args"])
    ca_mount = next(m for m in agent_c["volumeMounts"] if m["name"] == "gateway-ca")["mountPath"]
    assert env_of(agent_c)["OTELCOL_GATEWAY_CA_FILE"] == f"{ca_mount}/ca.crt"
    # The cert-manager overlay issues the Secret the gateway mounts, for the name the agents verify.
    overlay = kustomize.build(K8S_DIR / "cert-manager")
    cert = next(d for d in overlay if d["kind"] == "Certificate" and d["metadata"]["name"] == "otel-gateway-tls")
    gw_pod = find(docs, "Deployment", "otel-gateway")["spec"]["template"]["spec"]
    tls_volume = next(v for v in gw_pod["volumes"] if v["name"] == "tls")
    assert cert["spec"]["secretName"] == tls_volume["secret"]["secretName"]
    assert server_name in cert["spec"]["dnsNames"] and cert["metadata"]["namespace"] == "observability"
    # And so does the development CA script.
    assert server_name in (REPO / "scripts" / "dev-ca.sh").read_text()


def test_listeners_bind_to_the_pod_ip(docs: list[dict[str, Any]]) -> None:
    for kind, name in (("DaemonSet", "otel-agent"), ("Deployment", "otel-gateway")):
        env = env_of(container(find(docs, kind, name), "otelcol"))
        assert env["MY_POD_IP"] == {"fieldRef": {"fieldPath": "status.podIP"}}
        for key in ("OTELCOL_OTLP_GRPC_ENDPOINT", "OTELCOL_OTLP_HTTP_ENDPOINT", "OTELCOL_HEALTH_ENDPOINT",
                    "OTELCOL_METRICS_HOST"):
            assert env[key].startswith("$(MY_POD_IP)"), (name, key)

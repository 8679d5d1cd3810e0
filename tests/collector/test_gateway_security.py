"""The gateway exactly as the Kubernetes base configures it: the rendered ConfigMap's files in the container's
--config order, the container's env (downward API pod IP = 127.0.0.1, Secret references filled with values of
the Secrets' shape), certificates made by scripts/dev-ca.sh and mounted where the pod mounts them. Only the port
numbers change (free loopback ports) and the outbound targets point at local sinks.

Checks: OTLP over gRPC and HTTP is refused without a token, with a wrong one, and in plaintext; the right token
over TLS is accepted; a log carrying PHI sent straight to the gateway (no agent) is scrubbed before it reaches
the log archive and Sentry; the archive directory is 0750 and the queue directory 0700."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import requests
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub

from tests.ops import kustomize
from tests.support.collector import BINARY, REPO, OtlpSink, wait_until
from tests.support.promstack import LOOPBACK, free_port

pytestmark = pytest.mark.e2e

BASE = REPO / "collector" / "k8s" / "base"
POD_IP = LOOPBACK
SSN, EMAIL = "078-05-1120", "jane.roe@example.org"


def _find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (doc,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].startswith(name)]
    return doc


def _expand(value: str, env: dict[str, str]) -> str:
    """Kubernetes' dependent environment variables: $(VAR) is replaced by an earlier variable's value."""
    return re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), value)


@dataclass
class Gateway:
    proc: subprocess.Popen[bytes]
    grpc: str
    http: str
    health: str
    mounts: dict[str, Path]
    env: dict[str, str]
    log: Path


def pod_env(container: dict[str, Any], secret_data: dict[str, dict[str, str]], ports: dict[int, int],
            mounts: dict[str, Path]) -> dict[str, str]:
    """The container's env as the kubelet would set it, with container ports and mount paths mapped locally."""
    env: dict[str, str] = {}
    for item in container["env"]:
        if "value" in item:
            value = _expand(item["value"], env)
        elif "fieldRef" in item["valueFrom"]:
            field = item["valueFrom"]["fieldRef"]["fieldPath"]
            value = {"status.podIP": POD_IP, "spec.nodeName": "node-1"}[field]
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            value = secret_data[ref["name"]][ref["key"]]
        env[item["name"]] = value
    for name, value in env.items():
        for port, local in ports.items():
            if value == f"{POD_IP}:{port}" or (name.endswith("_PORT") and value == str(port)):
                value = value.replace(str(port), str(local))
        for mount_path, local_dir in sorted(mounts.items(), key=lambda kv: -len(kv[0])):
            if value.startswith(mount_path + "/") or value == mount_path:
                value = str(local_dir) + value[len(mount_path):]
                break
        env[name] = value
    return env


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    return kustomize.build(BASE)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dev-ca") / "ca"
    subprocess.run([str(REPO / "scripts" / "dev-ca.sh"), str(out)], check=True, capture_output=True, timeout=60)
    return out


@pytest.fixture(scope="module")
def sink() -> Iterator[OtlpSink]:
    with OtlpSink(path_prefix="/api/42/integration/otlp") as s:
        yield s


@contextlib.contextmanager
def run_pod(binary: Path, rendered: list[dict[str, Any]], kind: str, name: str, work: Path,
            secret_data: dict[str, dict[str, str]], secret_files: Path, overrides: dict[str, str],
            skip_configs: tuple[str, ...] = ()) -> Iterator[Gateway]:
    """Start the workload's Collector container as the kubelet would: its volumes, env and --config args."""
    pod = _find(rendered, kind, name)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    volumes = {v["name"]: v for v in pod["volumes"]}

    # Volumes: the ConfigMap's files, Secret items (from dev-ca.sh), emptyDirs as empty directories, a hostPath
    # as the host path itself.
    mounts: dict[str, Path] = {}
    for m in container["volumeMounts"]:
        vol, local = volumes[m["name"]], work / m["name"]
        if "hostPath" in vol:
            mounts[m["mountPath"]] = Path(vol["hostPath"]["path"])
            continue
        local.mkdir(mode=0o777)
        os.chmod(local, 0o777)  # emptyDir mount points are world-writable; the Collector must not rely on them
        if "configMap" in vol:
            cm = _find(rendered, "ConfigMap", vol["configMap"]["name"])
            for key, text in cm["data"].items():
                (local / key).write_text(text)
        elif "secret" in vol:
            for item in vol["secret"]["items"]:
                (local / item["path"]).write_bytes((secret_files / item["key"]).read_bytes())
        mounts[m["mountPath"]] = local

    ports = {p["containerPort"]: free_port() for p in container["ports"]}
    env = {**pod_env(container, secret_data, ports, mounts), **overrides}

    def local_path(path: str) -> str:
        for mount_path, local_dir in mounts.items():
            if path.startswith(mount_path + "/"):
                return str(local_dir) + path[len(mount_path):]
        raise AssertionError(f"{path} is not under a mounted volume")

    assert all(a.startswith("--config=") for a in container["args"]), container["args"]
    configs = [local_path(a.removeprefix("--config=")) for a in container["args"]]
    argv = [str(binary)] + [f"--config={c}" for c in configs if Path(c).name not in skip_configs]
    log = work / "collector.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=work,
                                env={"PATH": os.environ.get("PATH", ""), **env}, start_new_session=True)
    pod_proc = Gateway(proc, env["OTELCOL_OTLP_GRPC_ENDPOINT"], env["OTELCOL_OTLP_HTTP_ENDPOINT"],
                       f"http://{env['OTELCOL_HEALTH_ENDPOINT']}/", mounts, env, log)
    try:
        def healthy() -> bool:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                return requests.get(pod_proc.health, timeout=1).status_code == 200
            except requests.RequestException:
                return False
        wait_until(healthy, 60, 0.1, message=f"{name} not healthy")
        yield pod_proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture(scope="module")
def gateway(otelcol_bin: Path, rendered: list[dict[str, Any]], certs: Path, sink: OtlpSink,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    secret_data = {
        "otel-gateway-token": {"token": (certs / "token").read_text()},
        "otel-gateway-sentry": {"endpoint": sink.base_url, "public-key": secrets.token_hex(16)},
    }
    # Outbound targets on loopback only (the metrics pipeline is not exercised here).
    overrides = {"PROMETHEUS_REMOTE_WRITE_URL": f"http://{LOOPBACK}:{free_port()}/api/v1/write"}
    with run_pod(otelcol_bin, rendered, "Deployment", "otel-gateway", tmp_path_factory.mktemp("gateway-pod"),
                 secret_data, certs, overrides) as gw:
        yield gw


def _logs_request(body: str) -> ExportLogsServiceRequest:
    return json_format.ParseDict({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "rogue-pod"}}]},
        "scopeLogs": [{"logRecords": [{"timeUnixNano": str(time.time_ns()), "body": {"stringValue": body}}]}],
    }]}, ExportLogsServiceRequest())


def _post(gw: Gateway, certs: Path, token: str | None, scheme: str = "https", body: str = "probe") -> int:
    headers = {"Content-Type": "application/x-protobuf"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    resp = requests.post(f"{scheme}://{gw.http}/v1/logs", data=_logs_request(body).SerializeToString(),
                         headers=headers, verify=str(certs / "ca.crt"), timeout=10)
    return resp.status_code


def _grpc_export(gw: Gateway, certs: Path, token: str | None, secure: bool = True) -> grpc.StatusCode:
    if secure:
        creds = grpc.ssl_channel_credentials(root_certificates=(certs / "ca.crt").read_bytes())
        channel = grpc.secure_channel(gw.grpc, creds)
    else:
        channel = grpc.insecure_channel(gw.grpc)
    metadata = [("authorization", f"Bearer {token}")] if token is not None else []
    with channel:
        try:
            LogsServiceStub(channel).Export(_logs_request("probe"), metadata=metadata, timeout=10)
        except grpc.RpcError as err:
            return err.code()
    return grpc.StatusCode.OK


def test_otlp_http_requires_tls_and_the_right_token(gateway: Gateway, certs: Path) -> None:
    token = (certs / "token").read_text()
    assert _post(gateway, certs, None) == 401
    assert _post(gateway, certs, "not-the-token") == 401
    assert _post(gateway, certs, token) == 200
    # Plaintext on the same port: Go's TLS server answers an HTTP request with 400 and closes the connection,
    # which the client sees as that 400 or, when the close wins the race, as a reset. Never as accepted.
    try:
        plaintext: int | None = _post(gateway, certs, token, scheme="http")
    except requests.RequestException:
        plaintext = None
    assert plaintext in (400, None)


def test_otlp_grpc_requires_tls_and_the_right_token(gateway: Gateway, certs: Path) -> None:
    token = (certs / "token").read_text()
    assert _grpc_export(gateway, certs, None) == grpc.StatusCode.UNAUTHENTICATED
    assert _grpc_export(gateway, certs, "not-the-token") == grpc.StatusCode.UNAUTHENTICATED
    assert _grpc_export(gateway, certs, token) == grpc.StatusCode.OK
    assert _grpc_export(gateway, certs, token, secure=False) == grpc.StatusCode.UNAVAILABLE


def test_receivers_bind_to_the_pod_ip_only(gateway: Gateway) -> None:
    for endpoint in (gateway.grpc, gateway.http, gateway.health.removeprefix("http://").rstrip("/")):
        assert endpoint.rsplit(":", 1)[0] == POD_IP
    assert gateway.env["OTELCOL_METRICS_HOST"] == POD_IP


def test_phi_sent_straight_to_the_gateway_is_scrubbed(gateway: Gateway, certs: Path, sink: OtlpSink) -> None:
    # Lowercase letters only: hex or digits would themselves be scrubbed as an identifier.
    marker = "bypass" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(12))
    body = f"{marker}: patient SSN {SSN}, contact {EMAIL}"
    assert _post(gateway, certs, (certs / "token").read_text(), body=body) == 200

    log_dir = Path(gateway.env["OTELCOL_LOG_DIR"])
    archive = log_dir / "logs.jsonl"
    wait_until(lambda: archive.exists() and marker in archive.read_text(), 30, message="log not archived")
    wait_until(lambda: marker.encode() in sink.raw_bytes(), 30, message="log not sent to the Sentry sink")
    text = archive.read_text()
    line = next(ln for ln in text.splitlines() if marker in ln)
    assert "[SSN]" in line and "[EMAIL]" in line, line
    for value in (SSN, EMAIL):
        assert value not in text
        assert value.encode() not in sink.raw_bytes()

    # The archive and the queue are private although their emptyDir mount points are 0777.
    assert stat.S_IMODE(log_dir.stat().st_mode) == 0o750
    assert stat.S_IMODE(Path(gateway.env["OTELCOL_STORAGE_DIR"]).stat().st_mode) == 0o700
    assert not stat.S_IMODE(archive.stat().st_mode) & 0o002


def test_agent_as_deployed_delivers_to_the_gateway_over_verified_tls(
        otelcol_bin: Path, rendered: list[dict[str, Any]], certs: Path, gateway: Gateway,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """The agent pod's own config (TLS overlay, CA from Secret otel-gateway-ca, server name, token) reaches the
    gateway: dev-ca.sh's certificate carries the name the agent verifies. Only the DNS resolver overlay is left
    out (no cluster DNS here): the gateway is given as the static list of otelcol-agent.yaml."""
    secret_data = {"otel-gateway-token": {"token": (certs / "token").read_text()}}
    overrides = {"OTELCOL_GATEWAYS": f"[{gateway.grpc}]"}
    marker = "viaagent" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(12))
    with run_pod(otelcol_bin, rendered, "DaemonSet", "otel-agent", tmp_path_factory.mktemp("agent-pod"),
                 secret_data, certs, overrides, skip_configs=("otelcol-agent-k8s.yaml",)) as agent:
        assert agent.env["OTELCOL_GATEWAY_SERVER_NAME"] != LOOPBACK  # verified by name, not by the dialled IP
        resp = requests.post(f"http://{agent.http}/v1/logs", data=_logs_request(f"{marker} SSN {SSN}").SerializeToString(),
                             headers={"Content-Type": "application/x-protobuf"}, timeout=10)
        assert resp.status_code == 200
        archive = Path(gateway.env["OTELCOL_LOG_DIR"]) / "logs.jsonl"
        wait_until(lambda: archive.exists() and marker in archive.read_text(), 30,
                   message="agent -> gateway delivery failed:\n" + agent.log.read_text()[-2000:])
    assert SSN not in archive.read_text()

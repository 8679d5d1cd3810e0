"""Every shipped collector config (and overlay combination) validates with the built distribution, and the
agent's PHI processors file matches what the Python policy renders."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from tests.support.collector import COLLECTOR_DIR, ROLE_CONFIGS, validate

# Every env var the configs require (no default): placeholders, nothing secret.
REQUIRED_ENV = {
    "SENTRY_OTLP_ENDPOINT": "https://o1.ingest.sentry.io/api/2/integration/otlp",
    "SENTRY_PUBLIC_KEY": "0123456789abcdef",
    "OTELCOL_GATEWAY_TOKEN": "placeholder-token",
    "OTELCOL_GATEWAY_CA_FILE": "/etc/otelcol/ca.pem",
    "OTELCOL_TLS_CERT_FILE": "/etc/otelcol/tls.crt",
    "OTELCOL_TLS_KEY_FILE": "/etc/otelcol/tls.key",
    "OTLP_LOGS_ENDPOINT": "http://loki:3100/otlp",
}

COMBINATIONS = {
    **ROLE_CONFIGS,
    "gateway-loki": ("otelcol-gateway.yaml", "otelcol-gateway-loki.yaml"),
    "gateway-tls-loki": ("otelcol-gateway.yaml", "otelcol-gateway-tls.yaml", "otelcol-gateway-loki.yaml"),
    # The infrastructure overlays (each optional; together here, run for real in test_infra_receivers.py).
    "agent-infra": ("otelcol-agent.yaml", "otelcol-agent-phi.yaml", "otelcol-agent-host.yaml",
                    "otelcol-agent-redis.yaml", "otelcol-agent-postgresql.yaml", "otelcol-agent-certs.yaml"),
}


def test_every_config_file_is_covered_by_a_validated_combination():
    shipped = {p.name for p in COLLECTOR_DIR.glob("otelcol-*.yaml")}
    covered = {name for files in COMBINATIONS.values() for name in files}
    assert shipped == covered


@pytest.mark.parametrize("name", sorted(COMBINATIONS))
def test_config_validates_with_the_built_binary(otelcol_bin, name):
    result = validate(*(COLLECTOR_DIR / f for f in COMBINATIONS[name]), env=REQUIRED_ENV)
    assert result.returncode == 0, result.stderr[-3000:]


def test_validation_rejects_a_broken_pipeline(otelcol_bin, tmp_path):
    """Guards the test above: a pipeline naming a processor the PHI file no longer defines must fail."""
    phi = yaml.safe_load((COLLECTOR_DIR / "otelcol-agent-phi.yaml").read_text())
    del phi["processors"]["phi"]
    phi["processors"]["batch"] = {}
    broken = tmp_path / "phi.yaml"
    broken.write_text(yaml.safe_dump(phi))
    result = validate(COLLECTOR_DIR / "otelcol-agent.yaml", broken, env=REQUIRED_ENV)
    assert result.returncode != 0
    assert "phi" in result.stderr


def test_phi_processor_refuses_a_policy_it_cannot_apply(otelcol_bin, tmp_path):
    """Fail closed at startup: an unknown policy-document version never becomes a Collector that scrubs less."""
    doc = json.loads((COLLECTOR_DIR / "phi-policy.json").read_text())
    doc["format"] = "otel-clinic-policy/999"
    bad = tmp_path / "policy.json"
    bad.write_text(json.dumps(doc))
    overlay = tmp_path / "phi.yaml"
    overlay.write_text(yaml.safe_dump({"processors": {"phi": {"policy_file": str(bad)}}}))
    result = validate(COLLECTOR_DIR / "otelcol-agent.yaml", overlay, env=REQUIRED_ENV)
    assert result.returncode != 0 and "otel-clinic-policy/999" in result.stderr, result.stderr[-2000:]


def test_secrets_and_endpoints_come_from_the_environment():
    for path in COLLECTOR_DIR.glob("otelcol-*.yaml"):
        text = path.read_text()
        for key in ("token:", "x-sentry-auth:", "cert_file:", "key_file:", "ca_file:"):
            for line in (ln for ln in text.splitlines() if ln.strip().startswith(key)):
                assert "${env:" in line, f"{path.name}: {line.strip()}"


def test_agent_pipelines_start_with_memory_limiter_and_scrub_every_signal():
    agent = yaml.safe_load((COLLECTOR_DIR / "otelcol-agent.yaml").read_text())
    for signal, pipeline in agent["service"]["pipelines"].items():
        assert pipeline["processors"][0] == "memory_limiter", signal
        # our phi processor, not the contrib chain: one pass over every item with the package's policy
        assert pipeline["processors"][-1] == "phi", signal
        assert not {"transform/phi", "redaction/phi"} & set(pipeline["processors"]), signal
        assert agent["exporters"][pipeline["exporters"][0]]["sending_queue"]["storage"] == "file_storage/queue"


def test_phi_processor_file_matches_the_python_policy_renderer():
    """The committed file is exactly what the default policy renders (header comments aside)."""
    # PYTHONHASHSEED=0: the renderer builds some alternations from sets, so their order follows the hash seed.
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_CLINIC_SCRUB")}
    out = subprocess.run(
        [sys.executable, "-m", "otel_clinic.cli", "collector-config"],
        env={**env, "PYTHONHASHSEED": "0"}, capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    rendered = yaml.safe_load(out)
    committed = yaml.safe_load((COLLECTOR_DIR / "otelcol-agent-phi.yaml").read_text())
    assert committed == rendered, (
        "collector/otelcol-agent-phi.yaml is stale: regenerate it with the command in its header"
    )


def test_build_script_skips_when_binary_is_current(otelcol_bin):
    result = subprocess.run([str(COLLECTOR_DIR / "build.sh")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "up to date" in result.stderr

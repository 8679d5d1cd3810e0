"""Issue 12 item 8: what a newcomer meets first (warnings at install and start, missing documentation)."""

from __future__ import annotations

import json
import tomllib
import warnings
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def test_license_is_an_spdx_string_not_a_table() -> None:
    # setuptools >= 77 warns four times per install about project.license as a TOML table
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert isinstance(pyproject["project"]["license"], str)
    assert any(req.replace(" ", "").startswith("setuptools>=77") for req in pyproject["build-system"]["requires"])


def test_export_dir_is_documented_and_shown_by_doctor(monkeypatch, capsys) -> None:
    from otel_clinic.cli import main

    readme = (REPO / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| `OTEL_CLINIC_EXPORT_DIR`"))
    assert "`telemetry`" in row
    for var in ("OTEL_CLINIC_EXPORT_DIR", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(REPO / "examples")
    assert main(["doctor"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["export_dir"]["path"] == str(REPO / "examples" / "telemetry")
    assert summary["export_dir"]["used_by"] == ["traces", "metrics", "logs"]


def test_collector_telemetry_uses_current_formats() -> None:
    for name in ("otelcol-agent.yaml", "otelcol-gateway.yaml"):
        config = yaml.safe_load((REPO / "collector" / name).read_text())
        resource = config["service"]["telemetry"]["resource"]
        assert set(resource) == {"attributes"}, (name, resource)  # not the legacy inline map
        assert all(set(a) == {"name", "value"} for a in resource["attributes"])
    gateway = yaml.safe_load((REPO / "collector" / "otelcol-gateway.yaml").read_text())
    prw = gateway["exporters"]["prometheus_remote_write"]
    assert "num_consumers" not in prw["remote_write_queue"] and prw["max_batch_request_parallelism"] == 1


def test_sentry_init_prints_no_deprecation_warning() -> None:
    import sentry_sdk

    from otel_clinic.config import ClinicConfig
    from otel_clinic.integrations.sentry import init_sentry

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        init_sentry(ClinicConfig(sentry_dsn="http://public@127.0.0.1:9/1"))
    try:
        assert not sentry_sdk.get_client().should_send_default_pii()
        assert not [w for w in caught if issubclass(w.category, DeprecationWarning) and "sentry" in str(w.filename)]
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init()

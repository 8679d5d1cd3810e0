import json

from otel_clinic.cli import main


def test_doctor_prints_the_resolved_configuration(monkeypatch, capsys):
    monkeypatch.setenv("OTEL_CLINIC_RELEASE", "5.6.7")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert main(["doctor"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["release"] == "5.6.7" and summary["exporters"]["traces"] == ["otlp"]
    assert summary["service"] == "clinic/clinic-api"


def test_doctor_names_the_bad_variable_and_exits_2(monkeypatch, capsys):
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "sometimes")
    assert main(["doctor"]) == 2
    assert "OTEL_TRACES_SAMPLER='sometimes'" in capsys.readouterr().err


def test_track_deployment_command_records_the_deployment(monkeypatch, capsys):
    for var in ("OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER"):
        monkeypatch.setenv(var, "none")
    monkeypatch.setenv("OTEL_CLINIC_LOG_FORMAT", "none")
    try:
        assert main(["track-deployment", "--version", "8.8.8", "--environment", "staging"]) == 0
    finally:
        import otel_clinic

        handle = otel_clinic.get_telemetry()
        if handle:
            handle.shutdown()
    out = json.loads(capsys.readouterr().out)
    assert out["version"] == "8.8.8" and out["environment"] == "staging" and out["sentry_errors"] == []

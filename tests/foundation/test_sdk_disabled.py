"""OTEL_SDK_DISABLED=true: setup() (and the opentelemetry-instrument path) installs nothing and returns a handle."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.test import Client
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

import otel_clinic
from otel_clinic import ConfigError, testing
from otel_clinic.integrations.django.instrumentation import ClinicDjangoInstrumentor

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture
def disabled(monkeypatch):
    if otel_clinic.get_telemetry() is not None:
        otel_clinic.get_telemetry().shutdown()
    testing.reset_globals()
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    # Settings that would fail setup() or install something if they were read.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "smoke-signals")
    monkeypatch.setenv("SENTRY_DSN", "http://key@127.0.0.1:9/1")
    monkeypatch.setenv("OTEL_CLINIC_PROMETHEUS_PORT", "9")
    yield
    handle = otel_clinic.get_telemetry()
    if handle is not None:
        handle.shutdown()
    testing.reset_globals()


def test_setup_is_a_no_op_that_returns_a_working_handle(disabled):
    import sentry_sdk

    root_handlers = list(logging.getLogger().handlers)
    sentry_before = sentry_sdk.get_client()  # other tests may have left an (inactive or not) client behind
    handle = otel_clinic.setup(sentry_dsn="http://public@127.0.0.1:9/1")
    assert handle.disabled
    assert otel_clinic.setup() is handle and otel_clinic.get_telemetry() is handle
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)  # no SDK provider installed
    assert not ClinicDjangoInstrumentor().is_instrumented_by_opentelemetry
    assert logging.getLogger().handlers == root_handlers
    # Sentry was not initialised: an active client left by another test is untouched; without one,
    # get_client() returns a fresh inactive NonRecordingClient per call.
    sentry_after = sentry_sdk.get_client()
    assert sentry_after is sentry_before or not (sentry_before.is_active() or sentry_after.is_active())
    assert Client(raise_request_exception=False).get("/api/patients/").status_code == 200
    assert handle.force_flush() is True
    handle.shutdown()
    handle.shutdown()
    assert otel_clinic.get_telemetry() is None


def test_metrics_view_answers_disabled(disabled):
    otel_clinic.setup()
    from django.test import RequestFactory

    from otel_clinic.integrations.django.views import metrics_view

    assert metrics_view(RequestFactory().get("/metrics")).status_code == 404


@pytest.mark.parametrize("value", ["false", "False", "0", ""])
def test_false_or_empty_keeps_telemetry_on(monkeypatch, value):
    monkeypatch.setenv("OTEL_SDK_DISABLED", value)
    with testing.capture() as cap:
        assert not cap.handle.disabled
        assert ClinicDjangoInstrumentor().is_instrumented_by_opentelemetry


def test_a_bad_value_names_the_variable(monkeypatch):
    testing.reset_globals()
    monkeypatch.setenv("OTEL_SDK_DISABLED", "maybe")
    with pytest.raises(ConfigError, match="OTEL_SDK_DISABLED"):
        otel_clinic.setup()
    assert otel_clinic.get_telemetry() is None


def test_doctor_reports_it(monkeypatch, capsys):
    from otel_clinic.cli import main

    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "smoke-signals")
    assert main(["doctor"]) == 0
    assert '"sdk_disabled": true' in capsys.readouterr().out


def test_opentelemetry_instrument_launcher_installs_nothing(tmp_path):
    """The distro/configurator path: no provider, no library instrumentation, no exports."""
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(REPO / "examples" / "clinic")!r})
        import django
        django.setup()
        from django.core.management import call_command
        call_command("migrate", verbosity=0)
        from django.test import Client
        assert Client().get("/api/patients/").status_code == 200
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.instrumentation.django import DjangoInstrumentor
        from opentelemetry.instrumentation.redis import RedisInstrumentor
        import otel_clinic
        handle = otel_clinic.get_telemetry()
        print("DISABLED", handle is not None and handle.disabled)
        print("SDK", isinstance(trace.get_tracer_provider(), TracerProvider))
        print("PATCHED", DjangoInstrumentor().is_instrumented_by_opentelemetry,
              RedisInstrumentor().is_instrumented_by_opentelemetry)
        handle.force_flush()
        """
    ))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "DJANGO_SETTINGS"))}
    env.update(
        OTEL_SDK_DISABLED="true", OTEL_PYTHON_DISTRO="otel_clinic", OTEL_PYTHON_CONFIGURATOR="otel_clinic",
        OTEL_CLINIC_EXPORT_DIR=str(tmp_path / "telemetry"), CLINIC_SQLITE_PATH=str(tmp_path / "db.sqlite3"),
        DJANGO_SETTINGS_MODULE="clinic_site.settings", PYTHONPATH=str(REPO),
    )
    proc = subprocess.run([str(BIN / "opentelemetry-instrument"), sys.executable, str(script)], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "DISABLED True" in proc.stdout and "SDK False" in proc.stdout
    assert "PATCHED False False" in proc.stdout
    assert not (tmp_path / "telemetry").exists()

"""Root test configuration: the example clinic app is the Django project under test.

Django is configured once per session from examples/clinic (SQLite in a temp dir) so every suite (foundation,
scrubbing, health) can use the same test client; suites that need another settings module run it in a
subprocess.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "clinic"
_TMP = Path(tempfile.mkdtemp(prefix="otel-clinic-tests-"))

# Tests must not inherit an operator's telemetry settings.
for _var in list(os.environ):
    if _var.startswith(("OTEL_", "SENTRY_")):
        del os.environ[_var]
os.environ["DJANGO_SETTINGS_MODULE"] = "clinic_site.settings"
# The example app requires a SECRET_KEY outside DEBUG; tests (and the app processes they start) get a random one.
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
# The in-process /metrics view answers nobody by default; the test client (127.0.0.1, no proxy headers) may read it.
os.environ["OTEL_CLINIC_METRICS_ALLOWED_NETWORKS"] = "127.0.0.0/8"
os.environ["CLINIC_SQLITE_PATH"] = str(_TMP / "clinic.sqlite3")
os.environ.setdefault("OTEL_CLINIC_EXPORT_DIR", str(_TMP / "telemetry"))
if str(EXAMPLE) not in sys.path:
    sys.path.insert(0, str(EXAMPLE))

import django  # noqa: E402
from hypothesis import settings as _hypothesis_settings  # noqa: E402

django.setup()

# CI runs the property tests on a fixed seed so a landing never depends on luck; local runs explore new
# random examples every time (and found real scrubber gaps that way).
_hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    _hypothesis_settings.load_profile("ci")


@pytest.fixture(scope="session", autouse=True)
def _migrated_example_db() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


@pytest.fixture(scope="session")
def example_dir() -> Path:
    return EXAMPLE


@pytest.fixture(scope="session")
def repo_dir() -> Path:
    return REPO


def _reset_otel_globals() -> None:
    from opentelemetry.test.globals_test import reset_logging_globals, reset_metrics_globals, reset_trace_globals

    reset_trace_globals()
    reset_metrics_globals()
    reset_logging_globals()


@pytest.fixture(autouse=True)
def _fresh_otel_globals():
    """Every test starts and ends with OpenTelemetry's set-once global providers unset (opentelemetry-test-utils),
    so a test's ``setup()`` installs its own pipeline whatever ran before. Not while a module-scoped fixture keeps a
    live otel_clinic pipeline (its tests read that pipeline)."""
    from otel_clinic import _state

    if _state.handle is None:
        _reset_otel_globals()
    yield
    if _state.handle is None:
        _reset_otel_globals()

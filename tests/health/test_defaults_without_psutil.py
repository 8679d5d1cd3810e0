"""Out of the box /health/ is not "degraded" because an optional module is missing (issue 12, finding 6)."""

from __future__ import annotations

import sys

import pytest

from otel_clinic.errors import ConfigError
from otel_clinic.health import Status
from otel_clinic.health.state import configure, reset


@pytest.fixture
def no_psutil(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "psutil", None)  # import psutil -> ImportError
    yield
    reset()


def test_default_checks_skip_memory_without_psutil_and_stay_ok(no_psutil) -> None:
    runner = configure({"disk_warning": 99.9, "disk_critical": 100.0}, use_django=False)
    report = runner.report()
    assert "memory" not in report.results  # skipped, not "degraded"
    assert "disk" in report.results  # disk needs no psutil
    assert report.status is Status.OK, {n: (r.status, r.message) for n, r in report.results.items()}


def test_asking_for_the_memory_check_without_psutil_names_the_setting(no_psutil) -> None:
    with pytest.raises(ConfigError) as err:
        configure({"checks": ["memory"]}, use_django=False)
    assert "OTEL_CLINIC_HEALTH['checks']" in str(err.value) and "psutil" in str(err.value)


def test_psutil_is_a_dependency() -> None:
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())["project"]
    assert any(dep.replace(" ", "").startswith("psutil") for dep in project["dependencies"])

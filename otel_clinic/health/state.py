"""The process-wide runner: built from Django settings (when configured) + env, or by `configure()`."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from otel_clinic.health.config import SETTING, HealthSettings
from otel_clinic.health.plugins import plugins
from otel_clinic.health.registry import HealthRegistry, custom_checks
from otel_clinic.health.runner import HealthRunner

_lock = threading.Lock()
_runner: HealthRunner | None = None
_settings: HealthSettings | None = None
_custom_version = -1


def _django_settings() -> Any | None:
    """Django's settings object when Django is installed and configured, else None."""
    try:
        from django.conf import settings
    except ImportError:
        return None
    return settings if settings.configured else None


def build_registry(settings: HealthSettings, django_settings: Any | None = None) -> HealthRegistry:
    """The built-in checks the settings enable, from the plugin registry (custom checks are added by the runner
    owner)."""
    return plugins.build(settings, django_settings)


def _build(options: Mapping[str, Any] | None, environ: Mapping[str, str] | None,
           django_settings: Any | None) -> tuple[HealthRunner, HealthSettings]:
    settings = HealthSettings.load(options, environ)
    registry = build_registry(settings, django_settings)
    runner = HealthRunner(
        registry, timeout=settings.timeout, cache_interval=settings.cache_interval,
        # An explicit `critical` list decides for every check (HealthRunner.is_critical); otherwise each check's
        # own flag: its plugin's default for built-ins, the decorator's for custom checks.
        critical=set(settings.critical) if settings.critical is not None else None,
    )
    return runner, settings


def _add_custom(runner: HealthRunner) -> None:
    global _custom_version
    if custom_checks.version == _custom_version:
        return
    for check in custom_checks.checks():
        if check.name not in runner.registry or runner.registry.get(check.name) is not check:
            runner.registry.register(check, replace=True)
    _custom_version = custom_checks.version


def configure(options: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None,
              use_django: bool = True) -> HealthRunner:
    """Plain-Python API: (re)build the process-wide runner from a settings mapping (+ env overrides).

    Raises ConfigError on bad values. With `use_django` and configured Django settings, database/cache
    checks and CELERY_BROKER_URL come from Django.
    """
    global _runner, _settings, _custom_version
    runner, settings = _build(options, environ, _django_settings() if use_django else None)
    with _lock:
        _runner, _settings, _custom_version = runner, settings, -1
        _add_custom(runner)
    return runner


def get_runner() -> HealthRunner:
    """The process-wide runner, built on first use from Django's OTEL_CLINIC_HEALTH (if any) and env."""
    global _runner, _settings, _custom_version
    with _lock:
        if _runner is None:
            dj = _django_settings()
            options = getattr(dj, SETTING, None) if dj is not None else None
            _runner, _settings = _build(options, None, dj)
            _custom_version = -1
            _connect_setting_changed()
        _add_custom(_runner)
        return _runner


def get_settings() -> HealthSettings:
    get_runner()
    assert _settings is not None
    return _settings


def reset() -> None:
    """Forget the runner (the next get_runner() rebuilds it from current settings)."""
    global _runner, _settings
    with _lock:
        _runner, _settings = None, None


_signal_connected = False


def _connect_setting_changed() -> None:
    # override_settings(OTEL_CLINIC_HEALTH=...) / CACHES / DATABASES in tests: rebuild on next use.
    global _signal_connected
    if _signal_connected:
        return
    try:
        from django.core.signals import setting_changed
    except ImportError:
        return

    def _on_change(setting: str, **_: Any) -> None:
        if setting in (SETTING, "DATABASES", "CACHES", "CELERY_BROKER_URL"):
            reset()

    setting_changed.connect(_on_change, weak=False, dispatch_uid="otel_clinic.health.reset")
    _signal_connected = True


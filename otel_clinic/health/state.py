"""The process-wide runner: built from Django settings (when configured) + env, or by `configure()`."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from otel_clinic.health.checks import (
    BrokerCheck, CacheCheck, DatabaseCheck, DiskCheck, MemoryCheck, RedisCheck, TlsCertificateCheck,
)
from otel_clinic.errors import ConfigError
from otel_clinic.health.config import DEFAULT_CRITICAL, SETTING, HealthSettings
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
    """The built-in checks the settings enable (custom checks are added by the runner owner)."""
    enabled = settings.checks
    dj = django_settings
    broker_url = settings.broker_url or (getattr(dj, "CELERY_BROKER_URL", None) if dj is not None else None)

    def wanted(name: str, configured: bool) -> bool:
        if enabled is None:
            return configured
        if name in enabled and not configured:
            need = {"database": "Django DATABASES", "cache": "Django CACHES", "redis": "redis_url",
                    "broker": "broker_url or CELERY_BROKER_URL", "tls_certificate": "tls_hosts",
                    "memory": "psutil, pip install psutil"}[name]
            raise ConfigError(f"{SETTING}['checks']", name, f"checks whose configuration is present ({need} missing)")
        return name in enabled

    registry = HealthRegistry()
    t = settings.timeout
    if wanted("database", dj is not None and bool(getattr(dj, "DATABASES", None))):
        registry.register(DatabaseCheck(settings.databases, timeout=t))
    if wanted("cache", dj is not None and bool(getattr(dj, "CACHES", None))):
        registry.register(CacheCheck(settings.caches, timeout=t))
    if wanted("redis", bool(settings.redis_url or settings.redis_urls)):
        if settings.redis_url:
            registry.register(RedisCheck(settings.redis_url, timeout=t))
        for key, url in (settings.redis_urls or {}).items():
            registry.register(RedisCheck(url, name=f"redis.{key}", timeout=t))
    if wanted("broker", bool(broker_url)):
        registry.register(BrokerCheck(
            broker_url, queues=settings.broker_queues, worker_ping=settings.broker_worker_ping, timeout=t,
        ))
    if wanted("disk", True):
        registry.register(DiskCheck(settings.disk_paths, warning=settings.disk_warning,
                                    critical_pct=settings.disk_critical, timeout=t))
    # psutil is a dependency; an install without it skips the memory check instead of reporting "degraded"
    # out of the box (naming it in `checks` without psutil is a ConfigError).
    if wanted("memory", _psutil_available()):
        registry.register(MemoryCheck(warning=settings.memory_warning, critical_pct=settings.memory_critical,
                                      timeout=t))
    if wanted("tls_certificate", bool(settings.tls_hosts)):
        registry.register(TlsCertificateCheck(
            settings.tls_hosts, warning_days=settings.tls_warning_days, critical_days=settings.tls_critical_days,
            ca_file=settings.tls_ca_file, timeout=t,
        ))
    # Built-ins take their criticality from the settings; custom checks keep their own flag unless listed.
    critical = set(settings.critical if settings.critical is not None else DEFAULT_CRITICAL)
    for check in registry.checks():
        check.critical = check.name in critical or (check.name.startswith("redis.") and "redis" in critical)
    return registry


def _build(options: Mapping[str, Any] | None, environ: Mapping[str, str] | None,
           django_settings: Any | None) -> tuple[HealthRunner, HealthSettings]:
    settings = HealthSettings.load(options, environ)
    registry = build_registry(settings, django_settings)
    runner = HealthRunner(
        registry, timeout=settings.timeout, cache_interval=settings.cache_interval,
        # An explicit `critical` list is authoritative for custom checks too; otherwise each check's flag counts.
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


def _psutil_available() -> bool:
    try:
        import psutil  # noqa: F401
    except ImportError:
        return False
    return True

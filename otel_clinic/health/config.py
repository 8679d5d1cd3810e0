"""Health settings: Django `OTEL_CLINIC_HEALTH` dict (or a plain mapping) overridden by OTEL_CLINIC_HEALTH_* env.

Every key can be overridden by `OTEL_CLINIC_HEALTH_<KEY>` (lists comma-separated, booleans true/false), e.g.
`OTEL_CLINIC_HEALTH_TOKEN`, `OTEL_CLINIC_HEALTH_REDIS_URL`, `OTEL_CLINIC_HEALTH_TIMEOUT`; each key's parser,
default and documentation are its row of the parameter table (otel_clinic.settings). Bad values raise
`ConfigError` naming the setting.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from otel_clinic import settings as settings_table
from otel_clinic.errors import ConfigError

SETTING = "OTEL_CLINIC_HEALTH"
ENV_PREFIX = "OTEL_CLINIC_HEALTH_"

BUILTIN_CHECKS = ("database", "cache", "redis", "broker", "disk", "memory", "tls_certificate")
DEFAULT_CRITICAL = ("database", "cache", "redis", "broker")


@dataclass(frozen=True)
class HealthSettings:
    checks: tuple[str, ...] | None = None  # built-ins to enable; None: everything that is configured
    databases: tuple[str, ...] | None = None  # None: every alias in settings.DATABASES
    caches: tuple[str, ...] | None = None  # None: every alias in settings.CACHES
    redis_url: str | None = None
    redis_urls: Mapping[str, str] | None = None  # extra servers: {"sessions": url} -> check "redis.sessions"
    broker_url: str | None = None  # default: Django's CELERY_BROKER_URL
    broker_queues: tuple[str, ...] = ()
    broker_worker_ping: bool = False
    disk_paths: tuple[str, ...] = ("/",)
    disk_warning: float = 90.0
    disk_critical: float = 95.0
    memory_warning: float = 80.0
    memory_critical: float = 90.0
    tls_hosts: tuple[str, ...] = ()
    tls_warning_days: float = 30.0
    tls_critical_days: float = 0.0
    tls_ca_file: str | None = None
    timeout: float = 2.0
    cache_interval: float = 10.0
    critical: tuple[str, ...] | None = None  # None: DEFAULT_CRITICAL plus each custom check's own flag
    token: str | None = None
    # Loopback trust is opt-in, and never applies to proxied requests (otel_clinic.health.access).
    allow_loopback: bool = False

    @classmethod
    def load(cls, options: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> "HealthSettings":
        """Defaults < ``setup(health=HealthOptions(...))`` < the Django ``OTEL_CLINIC_HEALTH`` dict (``options``) <
        ``OTEL_CLINIC_HEALTH_<KEY>``; each key parsed by its row of the parameter table."""
        env = os.environ if environ is None else environ
        options = dict(options or {})
        known = {f.name for f in fields(cls)}
        for key in options:
            if key not in known:
                raise ConfigError(SETTING, key, "one of the keys " + ", ".join(sorted(known)))
        values: dict[str, Any] = {}
        for name, row in _rows().items():
            found = row.parse_env(env)
            if found is not None:
                values[name] = found[1]
            elif name in options:
                values[name] = row.parse_code(f"{SETTING}[{name!r}]", options[name])
            elif name in _setup_options:
                values[name] = row.parse_code(f"setup(health.{name}=...)", _setup_options[name])
        if "redis_urls" in options:  # a mapping: Django settings only, no env form
            values["redis_urls"] = _redis_urls(f"{SETTING}['redis_urls']", options["redis_urls"])
        settings = cls(**values)
        settings._validate()
        return settings

    def _validate(self) -> None:
        for name in ("disk_warning", "disk_critical", "memory_warning", "memory_critical"):
            value = getattr(self, name)
            if not 0.0 <= value <= 100.0:
                raise ConfigError(f"{SETTING}[{name!r}]", value, "a percentage between 0 and 100")
        if self.disk_warning > self.disk_critical:
            raise ConfigError(f"{SETTING}['disk_warning']", self.disk_warning, "<= disk_critical")
        if self.memory_warning > self.memory_critical:
            raise ConfigError(f"{SETTING}['memory_warning']", self.memory_warning, "<= memory_critical")
        if self.tls_critical_days > self.tls_warning_days:
            raise ConfigError(f"{SETTING}['tls_critical_days']", self.tls_critical_days, "<= tls_warning_days")
        if self.checks is not None:
            from otel_clinic.health.plugins import plugins  # the registry: built-ins plus third-party check_plugin()s

            known = plugins.names()
            for name in self.checks:
                if name not in known:
                    raise ConfigError(f"{SETTING}['checks']", name, "registered checks " + ", ".join(known))
        if self.redis_urls is not None:
            for key, url in self.redis_urls.items():
                _check_url(f"{SETTING}['redis_urls'][{key!r}]", url, ("redis", "rediss", "unix"))
        if self.redis_url:
            _check_url(f"{SETTING}['redis_url']", self.redis_url, ("redis", "rediss", "unix"))


def _rows() -> dict[str, settings_table.Param]:
    """HealthSettings key -> its parameter-table row (``OTEL_CLINIC_HEALTH_<KEY>``)."""
    return {row.keyword.partition(".")[2]: row for row in settings_table.group("health")
            if row.read_by == __name__ and row.keyword}


def _redis_urls(setting: str, raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise ConfigError(setting, raw, "a mapping of name -> redis URL")
    return dict(raw)


# Health settings given to setup(health=HealthOptions(...)): below the Django dict and the environment.
_setup_options: dict[str, Any] = {}


def set_setup_options(options: Mapping[str, Any]) -> None:
    """Called by ``setup()``; values are validated now so a bad one fails at ``setup()``."""
    rows = _rows()
    for name, value in options.items():
        if name not in rows:
            raise ConfigError(f"setup(health.{name}=...)", value, "one of " + ", ".join(sorted(rows)))
        rows[name].parse_code(f"setup(health.{name}=...)", value)
    _setup_options.clear()
    _setup_options.update(options)


def _check_url(setting: str, url: str, schemes: tuple[str, ...]) -> None:
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in schemes:
        from otel_clinic.health.redact import safe_url

        raise ConfigError(setting, safe_url(url), "a URL with scheme " + " or ".join(f"{s}://" for s in schemes))

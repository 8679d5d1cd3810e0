"""Typed option groups for ``setup()`` (logfire's ``ScrubbingOptions`` model).

Each field left at ``None`` keeps what the environment (or the default) says; each field maps to one row of the
parameter table (:mod:`otel_clinic.settings`, keyword ``<group>.<field>``), and a bad value raises ``ConfigError``
naming ``setup(<group>.<field>=...)``. Passing ``False`` instead of an options object turns the group off:

    setup(scrubbing=False)   # == OTEL_CLINIC_SCRUB=false
    setup(sentry=False)      # no Sentry, even with SENTRY_DSN set
    setup(health=False)      # == OTEL_CLINIC_HEALTH_METRICS=false
    setup(prometheus=False)  # == OTEL_CLINIC_PROMETHEUS=false
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal, Union

from otel_clinic.errors import ConfigError


@dataclass(frozen=True)
class ScrubbingOptions:
    """In-process PHI scrubbing of spans, logs, JSON stdout (and, with ``sentry.scrub``, Sentry events).

    ``policy`` replaces the policy built from the other fields and ``OTEL_CLINIC_SCRUB_*`` (a
    :class:`~otel_clinic.scrubbing.ScrubPolicy` from code, e.g. with custom detectors).
    """

    policy: Any = None
    mode: Literal["placeholder", "hmac"] | None = None
    #: at least 16 bytes when ``mode="hmac"``; prefer ``OTEL_CLINIC_SCRUB_HMAC_KEY`` (secrets belong in env/files)
    hmac_key: str | None = None
    max_value_bytes: int | None = None
    extra_keys: Iterable[str] | None = None
    allow_keys: Iterable[str] | None = None
    extra_patterns: Mapping[str, str] | None = None
    metric_allow_keys: Iterable[str] | None = None


@dataclass(frozen=True)
class SentryOptions:
    """Sentry errors (and deploy tracking). ``sdk_options`` go to ``sentry_sdk.init`` (e.g. ``before_send``,
    ``transport``); your ``before_send``/``before_breadcrumb``/``before_send_transaction`` run after our scrubbing."""

    dsn: str | None = None
    traces_sample_rate: float | None = None
    #: Sentry's own scrubbing switch; on even when ``scrubbing=False`` (Sentry events never pass the Collector)
    scrub: bool | None = None
    auth_token: str | None = None
    org: str | None = None
    project: str | None = None
    url: str | None = None
    sdk_options: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class HealthOptions:
    """Health checks. ``metrics`` publishes the ``clinic.health.*`` observables; the other fields are the health
    settings (``OTEL_CLINIC_HEALTH_<FIELD>``, documented in the README's settings table), used where the Django
    ``OTEL_CLINIC_HEALTH`` dict and the environment leave them unset."""

    metrics: bool | None = None
    checks: Iterable[str] | None = None
    critical: Iterable[str] | None = None
    databases: Iterable[str] | None = None
    caches: Iterable[str] | None = None
    redis_url: str | None = None
    broker_url: str | None = None
    broker_queues: Iterable[str] | None = None
    broker_worker_ping: bool | None = None
    disk_paths: Iterable[str] | None = None
    disk_warning: float | None = None
    disk_critical: float | None = None
    memory_warning: float | None = None
    memory_critical: float | None = None
    tls_hosts: Iterable[str] | None = None
    tls_warning_days: float | None = None
    tls_critical_days: float | None = None
    tls_ca_file: str | None = None
    timeout: float | None = None
    cache_interval: float | None = None
    #: prefer ``OTEL_CLINIC_HEALTH_TOKEN`` (secrets belong in env/files, not in code)
    token: str | None = None
    allow_loopback: bool | None = None


@dataclass(frozen=True)
class PrometheusOptions:
    """The in-process Prometheus endpoint (single-process deployments only): ``port`` alone turns it on."""

    enabled: bool | None = None
    port: int | None = None
    host: str | None = None


GroupOption = Union[ScrubbingOptions, SentryOptions, HealthOptions, PrometheusOptions]
# What ``False`` means for each group: the table keyword it sets.
_OFF = {"scrubbing": ("scrubbing.enabled", False), "sentry": ("sentry.dsn", None),
        "health": ("health.metrics", False), "prometheus": ("prometheus.enabled", False)}
_TYPES = {"scrubbing": ScrubbingOptions, "sentry": SentryOptions, "health": HealthOptions,
          "prometheus": PrometheusOptions}
# Fields that are code-only (objects, not settings): handed to setup() as they are.
CODE_ONLY = {"scrubbing": ("policy",), "sentry": ("sdk_options",)}


def flatten(group: str, value: GroupOption | bool | None) -> dict[str, Any]:
    """``{"prometheus.port": 9464, ...}`` for the fields that are set, or the group's off switch for ``False``."""
    if value is None or value is True:
        return {}
    if value is False:
        key, off = _OFF[group]
        return {key: off}
    if not isinstance(value, _TYPES[group]):
        raise ConfigError(f"setup({group}=...)", value, f"a {_TYPES[group].__name__}, False or None")
    skip = CODE_ONLY.get(group, ())
    return {f"{group}.{f.name}": getattr(value, f.name) for f in fields(value)
            if f.name not in skip and getattr(value, f.name) is not None}

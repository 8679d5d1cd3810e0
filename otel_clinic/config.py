"""One frozen configuration object, read from the standard ``OTEL_*`` variables, our ``OTEL_CLINIC_*``
variables and keyword overrides (keywords win), all through the parameter table in :mod:`otel_clinic.settings`.

Every parser raises :class:`~otel_clinic.errors.ConfigError` naming the variable (or ``setup(keyword=...)``), the
bad value and what is allowed, so a typo fails at ``setup()`` instead of silently producing no telemetry.
"""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Mapping

from otel_clinic import settings
from otel_clinic.errors import ConfigError
from otel_clinic.parsing import SeverityThresholds, parse_bool
from otel_clinic.parsing import thresholds as parse_thresholds
from otel_clinic.semantics.release import resolve_environment, resolve_release
from otel_clinic.settings import DEFAULT_EXCLUDED_PATHS

__all__ = ["DEFAULT_EXCLUDED_PATHS", "ClinicConfig", "SeverityThresholds", "load_config", "parse_bool",
           "parse_thresholds", "sdk_disabled"]


@dataclass(frozen=True)
class ClinicConfig:
    """The resolved configuration (one attribute per ``field`` of the parameter table, plus the release source).

    Built by :func:`load_config`; the defaults below equal the table's (a test checks it)."""

    service_name: str = "clinic-api"
    service_namespace: str = "clinic"
    release: str = "unknown"
    release_source: str = "unknown"
    environment: str = "development"

    traces_exporters: tuple[str, ...] = ("file",)
    metrics_exporters: tuple[str, ...] = ("file",)
    logs_exporters: tuple[str, ...] = ("file",)
    otlp_protocol: str = "http/protobuf"
    otlp_endpoint: str | None = None
    export_dir: str = "telemetry"
    # rotation of the file exporter's JSON-lines files (otel_clinic.export_files)
    export_max_bytes: int = 50 * 1024 * 1024
    export_backups: int = 5
    prometheus_enabled: bool = False
    prometheus_port: int | None = None
    prometheus_host: str = "127.0.0.1"

    sampler: str = "parentbased_always_on"
    sampler_arg: float | None = None
    metric_export_interval_ms: int = 60000
    # Exemplars link histogram buckets to traces but cost ~1/3 of every measurement; opt in.
    exemplar_filter: str = "always_off"
    bsp_max_queue_size: int = 16384
    bsp_max_export_batch_size: int = 1024
    bsp_schedule_delay_ms: int = 1000
    blrp_max_queue_size: int = 16384
    # Span/log batches that failed to export are retried from a bounded buffer (items per signal and process;
    # 0 disables it) for at most retry_max_age_s seconds (otel_clinic.retry).
    retry_buffer_size: int = 8192
    retry_max_age_s: float = 300.0
    # Exit flush (interpreter exit, SIGTERM, gunicorn/uWSGI worker exit): the whole flush + shutdown of every
    # signal, including the retry buffers, is bounded by this many seconds.
    shutdown_timeout_s: float = 5.0

    severity: SeverityThresholds = field(default_factory=SeverityThresholds)
    route_severity: Mapping[str, SeverityThresholds] = field(default_factory=dict)
    excluded_paths: tuple[str, ...] = DEFAULT_EXCLUDED_PATHS
    slow_query_ms: float = 1000.0

    instrument_django: bool = True
    instrumentations: tuple[str, ...] = ("psycopg", "redis", "celery")

    sentry_dsn: str | None = None
    sentry_traces_sample_rate: float = 0.0
    sentry_auth_token: str | None = None
    sentry_org: str | None = None
    # server.address on server spans: this setting, else the first non-wildcard ALLOWED_HOSTS entry; never the
    # Host header (client-controlled).
    server_address: str | None = None
    sentry_project: str | None = None
    sentry_url: str = "https://sentry.io/"

    log_format: str = "json"
    log_level: str = "INFO"
    logs_bridge: bool = True

    scrub_enabled: bool = True
    # Sentry events never pass the Collector: their scrubbing has its own switch, on even when in-process
    # span/log scrubbing is off (OTEL_CLINIC_SCRUB=false leaves those to the Collector).
    sentry_scrub: bool = True
    health_metrics: bool = True

    # Tenants (organisation-scoped metrics): "module:function" called with the request, returning a tenant id or
    # None; at most tenant_limit distinct tenants per process, the rest are folded into "_other".
    tenant_resolver: str | None = None
    tenant_limit: int = 100


def sdk_disabled(environ: Mapping[str, str] | None = None) -> bool:
    """``OTEL_SDK_DISABLED`` (the standard switch): true turns ``setup()`` into a no-op; unset/empty is false."""
    return bool(settings.read("OTEL_SDK_DISABLED", os.environ if environ is None else environ))


# OTEL_RESOURCE_ATTRIBUTES keys that feed config fields (below keywords and OTEL_SERVICE_NAME/OTEL_CLINIC_*,
# above our defaults), so the resource, Sentry and the health endpoint all report the same values.
_RESOURCE_KEYS = {
    "service.name": "service_name",
    "service.namespace": "service_namespace",
    "deployment.environment.name": "environment",
    "deployment.environment": "environment",
}
_CONFIG_PARAMS = tuple(x for x in settings.PARAMS if x.field)
_BY_FIELD = {x.field: x for x in _CONFIG_PARAMS}
_OTLP_ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_ENDPOINT", *(f"OTEL_EXPORTER_OTLP_{s}_ENDPOINT" for s in ("TRACES", "METRICS", "LOGS")))
# Keys load_config accepts: the setup() keyword (``prometheus.port``) or the flat field name (``prometheus_port``,
# the pre-option-group spelling, still accepted).
KEYWORDS: tuple[str, ...] = tuple(sorted({x.keyword for x in _CONFIG_PARAMS if x.keyword} | set(_BY_FIELD) | {"release"}))


def parse_resource_attributes(raw: str | None) -> dict[str, str]:
    """``OTEL_RESOURCE_ATTRIBUTES`` as the SDK reads it: comma-separated key=value, values percent-decoded."""
    attrs: dict[str, str] = {}
    for item in (raw or "").split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            attrs[key.strip()] = urllib.parse.unquote(value.strip())
    return attrs


def _config_param(key: str) -> settings.Param | None:
    found = settings.by_keyword(key)
    return found if found is not None and found.field else _BY_FIELD.get(key)


def load_config(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> ClinicConfig:
    """Build the config: table defaults < environment < keyword overrides.

    ``overrides`` keys are ``setup()`` keywords (``service_name``, ``prometheus.port``) or the flat field names
    (``prometheus_port``); errors name them as ``setup(prometheus.port=...)``.
    """
    env = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    for key in overrides:
        if key != "release" and _config_param(key) is None:
            raise ConfigError(f"setup({key}=...)", overrides[key], "one of the keywords: " + ", ".join(KEYWORDS))

    values: dict[str, Any] = {}
    for param in _CONFIG_PARAMS:
        found = param.parse_env(env)
        if found is not None:
            values[param.field] = found[1]
    for key, raw in overrides.items():
        if key == "release":
            continue
        param = _config_param(key)
        assert param is not None and param.field
        if raw is None:
            if not param.optional:
                allowed = sorted(x.keyword for x in _CONFIG_PARAMS if x.optional and x.keyword)
                raise ConfigError(f"setup({key}=...)", raw, "a value (None is only allowed for " + ", ".join(allowed) + ")")
            values[param.field] = None
            continue
        values[param.field] = param.parse_code(f"setup({key}=...)", raw)

    # Exporters: OTLP when an endpoint is configured, the embedded JSON-lines files otherwise.
    endpoint_set = bool(values.get("otlp_endpoint")) or any(env.get(v) for v in _OTLP_ENDPOINT_VARS)
    for key in ("traces_exporters", "metrics_exporters", "logs_exporters"):
        values.setdefault(key, ("otlp",) if endpoint_set else ("file",))
    if values.get("sampler", "").endswith("traceidratio") and "sampler_arg" not in values:
        values["sampler_arg"] = 1.0
    if values.get("prometheus_port") and "prometheus_enabled" not in values:
        # A port alone turns the endpoint on; an explicit OTEL_CLINIC_PROMETHEUS=false (or keyword) wins.
        values["prometheus_enabled"] = True
    # Read per scrape by the /metrics access check; validated here so a typo fails at setup().
    settings.read("OTEL_CLINIC_METRICS_ALLOWED_NETWORKS", env)

    resource_attrs = parse_resource_attributes(env.get("OTEL_RESOURCE_ATTRIBUTES"))
    for attr, key in _RESOURCE_KEYS.items():
        if key not in values and resource_attrs.get(attr, "").strip():
            values[key] = _BY_FIELD[key].parse("OTEL_RESOURCE_ATTRIBUTES", resource_attrs[attr])
    explicit_release = overrides.get("release")
    if explicit_release is not None and not str(explicit_release).strip():
        raise ConfigError("setup(release=...)", explicit_release, "a non-empty version string")
    release, source = resolve_release(str(explicit_release).strip() if explicit_release else None, env)
    if source in ("git", "package", "unknown") and resource_attrs.get("service.version", "").strip():
        release, source = resource_attrs["service.version"].strip(), "env:OTEL_RESOURCE_ATTRIBUTES"
    values["release"], values["release_source"] = release, source
    values["environment"] = values.get("environment") or resolve_environment(None, env)
    # dict(): a mutable default (route_severity) is never shared between configs
    defaults = {x.field: dict(x.default) if isinstance(x.default, dict) else x.default
                for x in _CONFIG_PARAMS if x.field not in values}
    return ClinicConfig(**{**defaults, **values})

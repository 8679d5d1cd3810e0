"""One frozen configuration object, read from the standard ``OTEL_*`` variables, our ``OTEL_CLINIC_*``
variables and keyword overrides (keywords win).

Every parser raises :class:`~otel_clinic.errors.ConfigError` naming the variable (or keyword), the bad value
and what is allowed, so a typo fails at ``setup()`` instead of silently producing no telemetry.
"""

from __future__ import annotations

import dataclasses
import math
import os
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Mapping

from otel_clinic.errors import ConfigError
from otel_clinic.semantics.release import resolve_environment, resolve_release

DEFAULT_EXCLUDED_PATHS = ("/health/", "/ping/", "/api/health/", "/static/", "/media/", "/admin/")
EXPORTER_CHOICES = ("otlp", "console", "file", "none")
PROTOCOL_CHOICES = ("grpc", "http/protobuf")
SAMPLER_CHOICES = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)
LOG_FORMAT_CHOICES = ("json", "text", "none")


@dataclass(frozen=True)
class SeverityThresholds:
    """Latency boundaries in milliseconds: below ``slow`` is normal, then slow, warning, critical."""

    slow_ms: float = 100.0
    warning_ms: float = 500.0
    critical_ms: float = 2000.0


@dataclass(frozen=True)
class ClinicConfig:
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

    def replace(self, **changes: Any) -> "ClinicConfig":
        return dataclasses.replace(self, **changes)


# --- small parsers: each names the setting in its error -------------------------------------------


def sdk_disabled(environ: Mapping[str, str] | None = None) -> bool:
    """``OTEL_SDK_DISABLED`` (the standard switch): true turns ``setup()`` into a no-op; unset/empty is false."""
    raw = (os.environ if environ is None else environ).get("OTEL_SDK_DISABLED", "")
    return bool(str(raw).strip()) and parse_bool("OTEL_SDK_DISABLED", raw)


def parse_bool(setting: str, raw: str | bool) -> bool:
    if isinstance(raw, bool):
        return raw
    value = str(raw).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(setting, raw, "one of true/false/1/0/yes/no/on/off")


def _int(setting: str, raw: Any, *, minimum: int = 0) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ConfigError(setting, raw, f"an integer >= {minimum}") from None
    if value < minimum:
        raise ConfigError(setting, raw, f"an integer >= {minimum}")
    return value


def _float(setting: str, raw: Any, *, minimum: float = 0.0, maximum: float | None = None) -> float:
    try:
        value = float(str(raw).strip())
    except ValueError:
        value = float("nan")
    bounds = f">= {minimum}" + (f" and <= {maximum}" if maximum is not None else "")
    if not math.isfinite(value) or value < minimum or (maximum is not None and value > maximum):
        raise ConfigError(setting, raw, f"a number {bounds}")
    return value


def _choices(setting: str, raw: Any, allowed: tuple[str, ...], *, multi: bool = False) -> tuple[str, ...]:
    items = [part.strip().lower() for part in str(raw).split(",") if part.strip()] if multi else [
        str(raw).strip().lower()
    ]
    if not items:
        raise ConfigError(setting, raw, "one or more of " + ", ".join(allowed))
    for item in items:
        if item not in allowed:
            raise ConfigError(setting, raw, ("a comma list of " if multi else "one of ") + ", ".join(allowed))
    if multi and "none" in items and len(items) > 1:
        raise ConfigError(setting, raw, "'none' alone, or a list without 'none'")
    return tuple(items)


def parse_thresholds(setting: str, raw: Any) -> SeverityThresholds:
    """``"100,500,2000"`` (ms) or a 3-sequence or a SeverityThresholds; must be strictly increasing."""
    if isinstance(raw, SeverityThresholds):
        return raw
    parts = raw.split(",") if isinstance(raw, str) else list(raw) if isinstance(raw, (list, tuple)) else None
    allowed = "three increasing millisecond values 'slow,warning,critical', e.g. 100,500,2000"
    if parts is None or len(parts) != 3:
        raise ConfigError(setting, raw, allowed)
    try:
        slow, warning, critical = (float(str(p).strip()) for p in parts)
    except ValueError:
        raise ConfigError(setting, raw, allowed) from None
    if not (0 <= slow < warning < critical and math.isfinite(critical)):
        raise ConfigError(setting, raw, allowed)
    return SeverityThresholds(slow, warning, critical)


def _route_thresholds(setting: str, raw: Any) -> dict[str, SeverityThresholds]:
    """``"api/reports/=1000,5000,10000;api/export/=..."`` or a mapping route -> thresholds."""
    if isinstance(raw, Mapping):
        return {str(route): parse_thresholds(f"{setting}[{route!r}]", value) for route, value in raw.items()}
    result: dict[str, SeverityThresholds] = {}
    for entry in str(raw).split(";"):
        if not entry.strip():
            continue
        route, sep, values = entry.partition("=")
        if not sep or not route.strip():
            raise ConfigError(setting, raw, "entries 'route=slow,warning,critical' separated by ';'")
        result[route.strip()] = parse_thresholds(setting, values)
    return result


def _paths(setting: str, raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, (str, list, tuple)):
        raise ConfigError(setting, raw, "a comma list of URL path prefixes starting with '/'")
    items = [str(p).strip() for p in (raw.split(",") if isinstance(raw, str) else raw) if str(p).strip()]
    for item in items:
        if not str(item).startswith("/"):
            raise ConfigError(setting, raw, "a comma list of URL path prefixes starting with '/'")
    return tuple(str(i) for i in items)


# --- the loader --------------------------------------------------------------------------------------

# keyword -> environment variable, for error messages and env lookup
ENV_NAMES: dict[str, str] = {
    "service_name": "OTEL_SERVICE_NAME",
    "service_namespace": "OTEL_CLINIC_SERVICE_NAMESPACE",
    "environment": "OTEL_CLINIC_ENVIRONMENT",
    "traces_exporters": "OTEL_TRACES_EXPORTER",
    "metrics_exporters": "OTEL_METRICS_EXPORTER",
    "logs_exporters": "OTEL_LOGS_EXPORTER",
    "otlp_protocol": "OTEL_EXPORTER_OTLP_PROTOCOL",
    "otlp_endpoint": "OTEL_EXPORTER_OTLP_ENDPOINT",
    "export_dir": "OTEL_CLINIC_EXPORT_DIR",
    "prometheus_enabled": "OTEL_CLINIC_PROMETHEUS",
    "prometheus_port": "OTEL_CLINIC_PROMETHEUS_PORT",
    "prometheus_host": "OTEL_CLINIC_PROMETHEUS_HOST",
    "sampler": "OTEL_TRACES_SAMPLER",
    "sampler_arg": "OTEL_TRACES_SAMPLER_ARG",
    "metric_export_interval_ms": "OTEL_METRIC_EXPORT_INTERVAL",
    "exemplar_filter": "OTEL_METRICS_EXEMPLAR_FILTER",
    "bsp_max_queue_size": "OTEL_BSP_MAX_QUEUE_SIZE",
    "bsp_max_export_batch_size": "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "bsp_schedule_delay_ms": "OTEL_BSP_SCHEDULE_DELAY",
    "blrp_max_queue_size": "OTEL_BLRP_MAX_QUEUE_SIZE",
    "retry_buffer_size": "OTEL_CLINIC_RETRY_BUFFER_SIZE",
    "retry_max_age_s": "OTEL_CLINIC_RETRY_MAX_AGE",
    "shutdown_timeout_s": "OTEL_CLINIC_SHUTDOWN_TIMEOUT",
    "severity": "OTEL_CLINIC_SEVERITY_THRESHOLDS",
    "route_severity": "OTEL_CLINIC_ROUTE_THRESHOLDS",
    "excluded_paths": "OTEL_CLINIC_EXCLUDED_PATHS",
    "slow_query_ms": "OTEL_CLINIC_SLOW_QUERY_MS",
    "instrument_django": "OTEL_CLINIC_INSTRUMENT_DJANGO",
    "instrumentations": "OTEL_CLINIC_INSTRUMENTATIONS",
    "sentry_dsn": "SENTRY_DSN",
    "sentry_traces_sample_rate": "OTEL_CLINIC_SENTRY_TRACES_SAMPLE_RATE",
    "sentry_auth_token": "SENTRY_AUTH_TOKEN",
    "sentry_org": "SENTRY_ORG",
    "server_address": "OTEL_CLINIC_SERVER_ADDRESS",
    "sentry_project": "SENTRY_PROJECT",
    "sentry_url": "SENTRY_URL",
    "log_format": "OTEL_CLINIC_LOG_FORMAT",
    "log_level": "OTEL_CLINIC_LOG_LEVEL",
    "logs_bridge": "OTEL_CLINIC_LOGS_BRIDGE",
    "scrub_enabled": "OTEL_CLINIC_SCRUB",
    "sentry_scrub": "OTEL_CLINIC_SENTRY_SCRUB",
    "health_metrics": "OTEL_CLINIC_HEALTH_METRICS",
    "tenant_resolver": "OTEL_CLINIC_TENANT_RESOLVER",
    "tenant_limit": "OTEL_CLINIC_TENANT_LIMIT",
}

_OTLP_ENDPOINT_VARS = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
)
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_OPTIONAL = frozenset({
    "otlp_endpoint", "prometheus_port", "sampler_arg", "sentry_dsn", "sentry_auth_token", "sentry_org", "sentry_project",
    "server_address", "tenant_resolver",
})
# OTEL_RESOURCE_ATTRIBUTES keys that feed config fields (below keywords and OTEL_SERVICE_NAME/OTEL_CLINIC_*,
# above our defaults), so the resource, Sentry and the health endpoint all report the same values.
_RESOURCE_KEYS = {
    "service.name": "service_name",
    "service.namespace": "service_namespace",
    "deployment.environment.name": "environment",
    "deployment.environment": "environment",
}


def parse_resource_attributes(raw: str | None) -> dict[str, str]:
    """``OTEL_RESOURCE_ATTRIBUTES`` as the SDK reads it: comma-separated key=value, values percent-decoded."""
    attrs: dict[str, str] = {}
    for item in (raw or "").split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            attrs[key.strip()] = urllib.parse.unquote(value.strip())
    return attrs


def _parse(key: str, setting: str, raw: Any) -> Any:
    if key in ("traces_exporters", "metrics_exporters", "logs_exporters"):
        if isinstance(raw, (list, tuple)):
            if not all(isinstance(item, str) for item in raw):
                raise ConfigError(setting, raw, "a comma list of " + ", ".join(EXPORTER_CHOICES))
            raw = ",".join(raw)
        return _choices(setting, raw, EXPORTER_CHOICES, multi=True)
    if key == "otlp_endpoint":
        value = str(raw).strip()
        if not value.startswith(("http://", "https://")) or len(value) <= len("https://"):
            raise ConfigError(setting, raw, "an http:// or https:// URL, e.g. http://127.0.0.1:4318")
        return value
    if key == "otlp_protocol":
        return _choices(setting, raw, PROTOCOL_CHOICES)[0]
    if key == "sampler":
        return _choices(setting, raw, SAMPLER_CHOICES)[0]
    if key == "exemplar_filter":
        return _choices(setting, raw, ("always_off", "always_on", "trace_based"))[0]
    if key == "sampler_arg":
        return _float(setting, raw, maximum=1.0)
    if key == "sentry_traces_sample_rate":
        return _float(setting, raw, maximum=1.0)
    if key == "prometheus_port":
        port = _int(setting, raw)
        if port > 65535:
            raise ConfigError(setting, raw, "a TCP port 0-65535 (0 disables)")
        return port or None
    if key in ("metric_export_interval_ms", "bsp_schedule_delay_ms"):
        return _int(setting, raw, minimum=1)
    if key in ("bsp_max_queue_size", "bsp_max_export_batch_size", "blrp_max_queue_size"):
        return _int(setting, raw, minimum=1)
    if key == "retry_buffer_size":
        return _int(setting, raw, minimum=0)
    if key == "retry_max_age_s":
        return _float(setting, raw, minimum=1.0)
    if key == "shutdown_timeout_s":
        value = _float(setting, raw, maximum=300.0)
        if value <= 0:
            raise ConfigError(setting, raw, "a number of seconds > 0 and <= 300")
        return value
    if key == "tenant_limit":
        return _int(setting, raw, minimum=1)
    if key == "tenant_resolver":
        value = str(raw).strip()
        module, _, func = value.partition(":")
        if not (module and func and all(p.isidentifier() for p in module.split(".")) and func.isidentifier()):
            raise ConfigError(setting, raw, "module:function, e.g. myapp.tenants:tenant_for_request")
        return value
    if key == "slow_query_ms":
        return _float(setting, raw)
    if key == "severity":
        return parse_thresholds(setting, raw)
    if key == "route_severity":
        return _route_thresholds(setting, raw)
    if key == "excluded_paths":
        return _paths(setting, raw)
    if key in ("prometheus_enabled", "instrument_django", "logs_bridge", "scrub_enabled", "sentry_scrub", "health_metrics"):
        return parse_bool(setting, raw)
    if key == "instrumentations":
        items = raw if isinstance(raw, (list, tuple)) else [p for p in str(raw).split(",")]
        return _choices(setting, ",".join(i.strip() for i in items if i.strip()) or "none",
                        ("psycopg", "redis", "celery", "none"), multi=True)
    if key == "log_format":
        return _choices(setting, raw, LOG_FORMAT_CHOICES)[0]
    if key == "log_level":
        level = str(raw).strip().upper()
        if level not in _LOG_LEVELS:
            raise ConfigError(setting, raw, "one of " + ", ".join(_LOG_LEVELS))
        return level
    if key in ("service_name", "service_namespace", "environment", "export_dir", "prometheus_host"):
        if not str(raw).strip():
            raise ConfigError(setting, raw, "a non-empty string")
        return str(raw).strip()
    return raw if raw is None else str(raw)


def load_config(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> ClinicConfig:
    """Build the config: defaults < environment < keyword overrides."""
    env = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    fields = {f.name for f in dataclasses.fields(ClinicConfig)}
    unknown = set(overrides) - fields - {"release"}
    if unknown:
        name = sorted(unknown)[0]
        raise ConfigError(f"setup({name}=...)", overrides[name], "one of the keywords: " + ", ".join(sorted(fields)))

    values: dict[str, Any] = {}
    for key, var in ENV_NAMES.items():
        raw = env.get(var)
        if key == "sentry_dsn" and not raw:
            raw = env.get("OTEL_CLINIC_SENTRY_DSN")
        if raw is not None and str(raw).strip() != "":
            values[key] = _parse(key, var, raw)
    for key, raw in overrides.items():
        if key == "release":
            continue
        if raw is None:
            if key not in _OPTIONAL:
                raise ConfigError(f"setup({key}=...)", raw, "a value (None is only allowed for " + ", ".join(sorted(_OPTIONAL)) + ")")
            values[key] = None
            continue
        values[key] = _parse(key, f"setup({key}=...)", raw)

    # Exporters: OTLP when an endpoint is configured, the embedded JSON-lines files otherwise.
    endpoint_set = bool(values.get("otlp_endpoint")) or any(env.get(v) for v in _OTLP_ENDPOINT_VARS)
    default_exporters = ("otlp",) if endpoint_set else ("file",)
    for key in ("traces_exporters", "metrics_exporters", "logs_exporters"):
        values.setdefault(key, default_exporters)
    if values.get("sampler", "").endswith("traceidratio") and "sampler_arg" not in values:
        values["sampler_arg"] = 1.0

    if values.get("prometheus_port") and "prometheus_enabled" not in values:
        # A port alone turns the endpoint on; an explicit OTEL_CLINIC_PROMETHEUS=false (or keyword) wins.
        values["prometheus_enabled"] = True
    if env.get("OTEL_CLINIC_METRICS_ALLOWED_NETWORKS"):  # read per scrape by the /metrics access check
        from otel_clinic.health.access import METRICS_NETWORKS_ENV, parse_networks

        parse_networks(METRICS_NETWORKS_ENV, env[METRICS_NETWORKS_ENV])
    resource_attrs = parse_resource_attributes(env.get("OTEL_RESOURCE_ATTRIBUTES"))
    for attr, key in _RESOURCE_KEYS.items():
        if key not in values and resource_attrs.get(attr, "").strip():
            values[key] = _parse(key, "OTEL_RESOURCE_ATTRIBUTES", resource_attrs[attr])
    explicit_release = overrides.get("release")
    if explicit_release is not None and not str(explicit_release).strip():
        raise ConfigError("setup(release=...)", explicit_release, "a non-empty version string")
    release, source = resolve_release(str(explicit_release).strip() if explicit_release else None, env)
    if source in ("git", "package", "unknown") and resource_attrs.get("service.version", "").strip():
        release, source = resource_attrs["service.version"].strip(), "env:OTEL_RESOURCE_ATTRIBUTES"
    values["release"], values["release_source"] = release, source
    values["environment"] = values.get("environment") or resolve_environment(None, env)
    return ClinicConfig(**values)

"""The one parameter table: every environment variable otel_clinic reads, with its ``setup()`` keyword, parser,
default, group and documentation (logfire's ``ConfigParam`` model).

All loading goes through it: :func:`otel_clinic.config.load_config` (the ``ClinicConfig`` fields),
:meth:`otel_clinic.scrubbing.ScrubPolicy.from_env` (``OTEL_CLINIC_SCRUB_*``), :meth:`HealthSettings.load
<otel_clinic.health.config.HealthSettings.load>` (``OTEL_CLINIC_HEALTH_*``) and ``otel-clinic doctor``. The README's
settings table is generated from it (``python -m otel_clinic.settingsdoc --write-readme``) and a test fails when
the two differ. Entries with ``field=None`` are read by the module named in ``read_by`` (the release resolver, the
``/metrics`` access check, the ops commands, the OpenTelemetry SDK itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from otel_clinic import parsing as p
from otel_clinic.parsing import Parser, SeverityThresholds

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
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
INSTRUMENTATION_CHOICES = ("psycopg", "redis", "celery", "none")

# Order of the groups in the README table and in `otel-clinic doctor`.
GROUPS = {
    "service": "Service and release",
    "export": "Export",
    "sampling": "Sampling",
    "pipeline": "Queues, retry and shutdown",
    "requests": "Requests and severity",
    "instrumentation": "Instrumentation",
    "logging": "Logging",
    "tenants": "Tenants",
    "prometheus": "In-process Prometheus (`setup(prometheus=PrometheusOptions(...))`)",
    "sentry": "Sentry (`setup(sentry=SentryOptions(...))`)",
    "scrubbing": "PHI scrubbing (`setup(scrubbing=ScrubbingOptions(...))`)",
    "health": "Health checks (Django `OTEL_CLINIC_HEALTH` dict, `setup(health=HealthOptions(...))`)",
    "ops": "Operations commands (`otel-clinic status/summary/...`)",
}


@dataclass(frozen=True)
class Param:
    """One setting. ``keyword`` is its ``setup()`` spelling (``prometheus.port`` is
    ``setup(prometheus=PrometheusOptions(port=...))``); ``field`` the ``ClinicConfig`` attribute load_config fills."""

    env: str
    parse: Parser
    default: Any
    group: str
    doc: str
    keyword: str | None = None
    field: str | None = None
    read_by: str = "otel_clinic.config"
    default_doc: str | None = None  # how the default reads in docs when it is computed or not a plain value
    secret: bool = False  # never printed (doctor shows only whether it is set) nor echoed in errors
    optional: bool = False  # setup(...=None) is allowed and means "unset"
    fallbacks: tuple[str, ...] = ()  # older/alternative variables read when ``env`` is unset
    code_parse: Parser | None = None  # stricter parser for values given in code (Django settings dicts)

    @property
    def group_keyword(self) -> str | None:
        return self.keyword.partition(".")[0] if self.keyword and "." in self.keyword else None

    def parse_env(self, environ: Mapping[str, str]) -> tuple[str, Any] | None:
        """``(variable, parsed value)`` from the environment (``env``, then ``fallbacks``), or None when unset/empty."""
        for var in (self.env, *self.fallbacks):
            raw = environ.get(var)
            if raw is not None and str(raw).strip() != "":
                return var, self.parse(var, raw)
        return None

    def parse_code(self, label: str, raw: Any) -> Any:
        return (self.code_parse or self.parse)(label, raw)

    def describe_default(self) -> str:
        if self.default_doc is not None:
            return self.default_doc
        return _render(self.default)


def _render(value: Any) -> str:
    if value is None or value == () or value == {}:
        return "—"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, SeverityThresholds):
        return f"`{value.slow_ms:g},{value.warning_ms:g},{value.critical_ms:g}`"
    if isinstance(value, tuple):
        return "`" + ",".join(str(v) for v in value) + "`"
    if isinstance(value, float):
        return f"`{value:g}`"
    return f"`{value}`"


def _health(name: str, parse: Parser, default: Any, doc: str, *, code_parse: Parser | None = None,
            secret: bool = False, default_doc: str | None = None) -> Param:
    """A HealthSettings key: Django ``OTEL_CLINIC_HEALTH[name]``, env ``OTEL_CLINIC_HEALTH_<NAME>``."""
    return Param(f"OTEL_CLINIC_HEALTH_{name.upper()}", parse, default, "health", doc, keyword=f"health.{name}",
                 read_by="otel_clinic.health.config", code_parse=code_parse, secret=secret, default_doc=default_doc)


def _scrub(name: str, parse: Parser, default: Any, doc: str, *, secret: bool = False,
           default_doc: str | None = None) -> Param:
    return Param(f"OTEL_CLINIC_SCRUB_{name.upper()}", parse, default, "scrubbing", doc, keyword=f"scrubbing.{name}",
                 read_by="otel_clinic.scrubbing.policy", secret=secret, default_doc=default_doc)


def _ops(env: str, parse: Parser, default: Any, doc: str, *, secret: bool = False, read_by: str = "otel_clinic.ops",
         default_doc: str | None = None) -> Param:
    return Param(env, parse, default, "ops", doc, read_by=read_by, secret=secret, default_doc=default_doc)


_sample_rate = p.number(0.0, 1.0)
_positive_int = p.integer(1)

PARAMS: tuple[Param, ...] = (
    # --- service and release
    Param("OTEL_SERVICE_NAME", p.non_empty, "clinic-api", "service", "`service.name` (also read from "
          "`OTEL_RESOURCE_ATTRIBUTES`)", keyword="service_name", field="service_name"),
    Param("OTEL_CLINIC_SERVICE_NAMESPACE", p.non_empty, "clinic", "service", "`service.namespace`; Prometheus "
          '`job="clinic/clinic-api"`', keyword="service_namespace", field="service_namespace"),
    Param("OTEL_CLINIC_ENVIRONMENT", p.non_empty, "development", "service", "`deployment.environment.name` "
          "(else `deployment.environment.name` in `OTEL_RESOURCE_ATTRIBUTES`, else `SENTRY_ENVIRONMENT`)",
          keyword="environment", field="environment"),
    Param("OTEL_RESOURCE_ATTRIBUTES", p.text, None, "service", "standard resource attributes; `service.name`, "
          "`service.namespace`, `deployment.environment.name` and `service.version` feed the settings above"),
    Param("OTEL_CLINIC_RELEASE", p.non_empty, None, "service", "`service.version` and Sentry's release; order: "
          "`setup(release=...)` > this > `SENTRY_RELEASE` > git SHA > `OTEL_CLINIC_RELEASE_PACKAGE` version",
          keyword="release", read_by="otel_clinic.semantics.release", default_doc="git SHA"),
    Param("SENTRY_RELEASE", p.non_empty, None, "service", "release when `OTEL_CLINIC_RELEASE` is unset",
          read_by="otel_clinic.semantics.release"),
    Param("OTEL_CLINIC_RELEASE_PACKAGE", p.non_empty, None, "service", "installed distribution whose version is "
          "the release when there is no git checkout", read_by="otel_clinic.semantics.release"),
    Param("SENTRY_ENVIRONMENT", p.non_empty, None, "service", "environment when `OTEL_CLINIC_ENVIRONMENT` is unset",
          read_by="otel_clinic.semantics.release"),
    # --- export
    Param("OTEL_EXPORTER_OTLP_ENDPOINT", p.http_url("http://127.0.0.1:4318"), None, "export", "OTLP endpoint; with "
          "an endpoint (this or a per-signal `OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT`) every signal goes OTLP",
          keyword="otlp_endpoint", field="otlp_endpoint", optional=True),
    Param("OTEL_EXPORTER_OTLP_PROTOCOL", p.choice(PROTOCOL_CHOICES), "http/protobuf", "export", "OTLP transport",
          keyword="otlp_protocol", field="otlp_protocol"),
    *(Param(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT", p.http_url("http://127.0.0.1:4318"), None, "export",
            f"{signal.lower()} only; read by the OTLP exporter", read_by="opentelemetry.exporter.otlp")
      for signal in ("TRACES", "METRICS", "LOGS")),
    *(Param(f"OTEL_{signal}_EXPORTER", p.choices(EXPORTER_CHOICES), ("file",), "export",
            "comma list of `otlp`, `console`, `file` (JSON lines in `OTEL_CLINIC_EXPORT_DIR`), `none`",
            keyword=f"{signal.lower()}_exporters", field=f"{signal.lower()}_exporters",
            default_doc="`otlp` with an endpoint, else `file`")
      for signal in ("TRACES", "METRICS", "LOGS")),
    Param("OTEL_CLINIC_EXPORT_DIR", p.non_empty, "telemetry", "export", "where the `file` exporters write "
          "`traces.jsonl`, `metrics.jsonl`, `logs.jsonl`; `otel-clinic doctor` prints the absolute path",
          keyword="export_dir", field="export_dir", default_doc="`telemetry` (relative to the working directory)"),
    Param("OTEL_CLINIC_EXPORT_MAX_BYTES", p.integer(0, allowed="a whole number >= 0"), 50 * 1024 * 1024, "export",
          "a `file` exporter file is rotated (`traces.jsonl.1`, …) before it would pass this size (0 = never)",
          keyword="export_max_bytes", field="export_max_bytes", default_doc="`52428800` (50 MiB)"),
    Param("OTEL_CLINIC_EXPORT_BACKUPS", p.integer(0, allowed="a whole number >= 0"), 5, "export",
          "rotated files kept per signal (0: a full file is started over)", keyword="export_backups",
          field="export_backups"),
    Param("OTEL_METRIC_EXPORT_INTERVAL", _positive_int, 60000, "export", "metric export interval (ms)",
          keyword="metric_export_interval_ms", field="metric_export_interval_ms"),
    Param("OTEL_METRICS_EXEMPLAR_FILTER", p.choice(("always_off", "always_on", "trace_based")), "always_off",
          "export", "exemplars are opt-in (they cost a third of each measurement)", keyword="exemplar_filter",
          field="exemplar_filter"),
    # --- sampling
    Param("OTEL_TRACES_SAMPLER", p.choice(SAMPLER_CHOICES), "parentbased_always_on", "sampling",
          "one of " + ", ".join(f"`{s}`" for s in SAMPLER_CHOICES), keyword="sampler", field="sampler"),
    Param("OTEL_TRACES_SAMPLER_ARG", _sample_rate, None, "sampling", "ratio 0..1 for the `traceidratio` samplers",
          keyword="sampler_arg", field="sampler_arg", optional=True, default_doc="`1.0` for `*traceidratio`"),
    # --- queues, retry, shutdown
    Param("OTEL_BSP_MAX_QUEUE_SIZE", _positive_int, 16384, "pipeline", "span queue; drops counted in "
          "`clinic.telemetry.dropped`", keyword="bsp_max_queue_size", field="bsp_max_queue_size"),
    Param("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", _positive_int, 1024, "pipeline", "spans per export",
          keyword="bsp_max_export_batch_size", field="bsp_max_export_batch_size"),
    Param("OTEL_BSP_SCHEDULE_DELAY", _positive_int, 1000, "pipeline", "span export delay (ms)",
          keyword="bsp_schedule_delay_ms", field="bsp_schedule_delay_ms"),
    Param("OTEL_BLRP_MAX_QUEUE_SIZE", _positive_int, 16384, "pipeline", "log record queue",
          keyword="blrp_max_queue_size", field="blrp_max_queue_size"),
    Param("OTEL_CLINIC_RETRY_BUFFER_SIZE", p.integer(0), 8192, "pipeline", "failed span/log batches retried, items "
          "per signal and process (0 = off)", keyword="retry_buffer_size", field="retry_buffer_size"),
    Param("OTEL_CLINIC_RETRY_MAX_AGE", p.number(1.0), 300.0, "pipeline", "seconds a failed batch is retried",
          keyword="retry_max_age_s", field="retry_max_age_s"),
    Param("OTEL_CLINIC_SHUTDOWN_TIMEOUT", p.number(0.0, 300.0, exclusive_minimum=True,
                                                   allowed="a number of seconds > 0 and <= 300"),
          5.0, "pipeline", "bound (s) of the exit flush / `shutdown()` (all signals and retry buffers)",
          keyword="shutdown_timeout_s", field="shutdown_timeout_s"),
    Param("OTEL_SDK_DISABLED", p.parse_bool, False, "pipeline", "`true`: `setup()` and the distro install nothing "
          "(incidents, bare-app benchmarks)"),
    # --- requests
    Param("OTEL_CLINIC_SEVERITY_THRESHOLDS", p.thresholds, SeverityThresholds(), "requests", "normal / slow / "
          "warning / critical latency (ms); 5xx is always critical", keyword="severity", field="severity"),
    Param("OTEL_CLINIC_ROUTE_THRESHOLDS", p.route_thresholds, {}, "requests", "per route template: "
          "`api/reports/=1000,5000,10000;…`", keyword="route_severity", field="route_severity"),
    Param("OTEL_CLINIC_EXCLUDED_PATHS", p.path_prefixes, DEFAULT_EXCLUDED_PATHS, "requests", "path prefixes not "
          "traced, not counted", keyword="excluded_paths", field="excluded_paths"),
    Param("OTEL_CLINIC_SLOW_QUERY_MS", p.number(0.0), 1000.0, "requests", "slow-query span event with literals "
          "replaced by `?`", keyword="slow_query_ms", field="slow_query_ms"),
    Param("OTEL_CLINIC_SERVER_ADDRESS", p.non_empty, None, "requests", "`server.address` on server spans; never "
          "taken from the Host header", keyword="server_address", field="server_address", optional=True,
          default_doc="first non-wildcard `ALLOWED_HOSTS` entry"),
    # --- instrumentation
    Param("OTEL_CLINIC_INSTRUMENT_DJANGO", p.parse_bool, True, "instrumentation", "instrument Django (our hooks)",
          keyword="instrument_django", field="instrument_django"),
    Param("OTEL_CLINIC_INSTRUMENTATIONS", p.choices(INSTRUMENTATION_CHOICES, empty_means="none"),
          ("psycopg", "redis", "celery"), "instrumentation", "contrib instrumentations used when installed",
          keyword="instrumentations", field="instrumentations"),
    # --- logging
    Param("OTEL_CLINIC_LOG_FORMAT", p.choice(LOG_FORMAT_CHOICES), "json", "logging", "stdout: JSON with "
          "trace_id/span_id/service/release, `text`, or `none`", keyword="log_format", field="log_format"),
    Param("OTEL_CLINIC_LOG_LEVEL", p.level(LOG_LEVELS), "INFO", "logging", "root level set by `setup()`",
          keyword="log_level", field="log_level"),
    Param("OTEL_CLINIC_LOGS_BRIDGE", p.parse_bool, True, "logging", "stdlib logging → OTel logs",
          keyword="logs_bridge", field="logs_bridge"),
    # --- tenants
    Param("OTEL_CLINIC_TENANT_RESOLVER", p.dotted_callable, None, "tenants", "`module:function` called with the "
          "request, returning a tenant id or None", keyword="tenant_resolver", field="tenant_resolver", optional=True),
    Param("OTEL_CLINIC_TENANT_LIMIT", _positive_int, 100, "tenants", "distinct tenants per process; the rest are "
          'folded into `"_other"`', keyword="tenant_limit", field="tenant_limit"),
    # --- in-process Prometheus
    Param("OTEL_CLINIC_PROMETHEUS", p.parse_bool, False, "prometheus", "in-process `/metrics` (single-process "
          "deployments only); a port alone turns it on, an explicit `false` wins", keyword="prometheus.enabled",
          field="prometheus_enabled"),
    Param("OTEL_CLINIC_PROMETHEUS_PORT", p.port, None, "prometheus", "port of a separate `/metrics` server, bound by "
          "the serving process only (not runserver's autoreloader parent, not a Celery worker); no token: keep it "
          "off public interfaces", keyword="prometheus.port", field="prometheus_port", optional=True),
    Param("OTEL_CLINIC_PROMETHEUS_HOST", p.non_empty, "127.0.0.1", "prometheus", "address that server binds",
          keyword="prometheus.host", field="prometheus_host"),
    Param("OTEL_CLINIC_METRICS_TOKEN", p.secret, None, "prometheus", "who may read the `/metrics` view: "
          "`Authorization: Bearer <token>` or `X-Metrics-Token`", read_by="otel_clinic.health.access", secret=True,
          default_doc="— (nobody)"),
    Param("OTEL_CLINIC_METRICS_ALLOWED_NETWORKS", p.networks, None, "prometheus", "or an unproxied client in these "
          "CIDRs (`127.0.0.1/32,10.0.0.0/8`)", read_by="otel_clinic.health.access", default_doc="— (nobody)"),
    # --- Sentry
    Param("SENTRY_DSN", p.non_empty, None, "sentry", "Sentry errors (unset: no Sentry)", keyword="sentry.dsn",
          field="sentry_dsn", optional=True, fallbacks=("OTEL_CLINIC_SENTRY_DSN",)),
    Param("OTEL_CLINIC_SENTRY_TRACES_SAMPLE_RATE", _sample_rate, 0.0, "sentry", "Sentry tracing (off: traces go "
          "through OpenTelemetry)", keyword="sentry.traces_sample_rate", field="sentry_traces_sample_rate"),
    Param("OTEL_CLINIC_SENTRY_SCRUB", p.parse_bool, True, "sentry", "Sentry's own scrubbing switch (Sentry events "
          "never pass the Collector)", keyword="sentry.scrub", field="sentry_scrub"),
    Param("SENTRY_AUTH_TOKEN", p.secret, None, "sentry", "release + deploy creation by `track_deployment`",
          keyword="sentry.auth_token", field="sentry_auth_token", optional=True, secret=True),
    Param("SENTRY_ORG", p.non_empty, None, "sentry", "organisation slug for `track_deployment`",
          keyword="sentry.org", field="sentry_org", optional=True),
    Param("SENTRY_PROJECT", p.non_empty, None, "sentry", "project slug for `track_deployment`",
          keyword="sentry.project", field="sentry_project", optional=True),
    Param("SENTRY_URL", p.sentry_url, "https://sentry.io/", "sentry", "Sentry API base URL (https; http only for loopback)",
          keyword="sentry.url", field="sentry_url"),
    # --- scrubbing
    Param("OTEL_CLINIC_SCRUB", p.parse_bool, True, "scrubbing", "in-process PHI scrubbing of spans, logs and JSON "
          "stdout (`false` leaves it to the Collector)", keyword="scrubbing.enabled", field="scrub_enabled"),
    _scrub("mode", p.choice(("placeholder", "hmac")), "placeholder", "`placeholder` (`[SSN]`) or `hmac` "
           "(`[SSN:3f9a0c2b1d]`, keyed pseudonyms)"),
    _scrub("hmac_key", p.secret, None, "secret of at least 16 bytes, required for `hmac`", secret=True),
    _scrub("max_value_bytes", p.integer(256, 1024 * 1024, "an integer in [256, 1048576]"), 16 * 1024,
           "values above it are truncated before scanning and marked `…[TRUNCATED]`"),
    _scrub("extra_keys", p.string_list, (), "key names redacted whole"),
    _scrub("allow_keys", p.string_list, (), "key names never touched (known not to be PHI)"),
    _scrub("extra_patterns", p.json_patterns, {}, "JSON object of name → RE2 regex (custom detectors)"),
    _scrub("metric_allow_keys", p.string_list, (), "extra metric attribute keys allowed as labels"),
    # --- health
    Param("OTEL_CLINIC_HEALTH_METRICS", p.parse_bool, True, "health", "publish `clinic.health.*` observables",
          keyword="health.metrics", field="health_metrics"),
    _health("checks", p.string_list, None, "built-in checks to enable", code_parse=p.strict_string_list,
            default_doc="everything configured"),
    _health("databases", p.string_list, None, "database aliases checked", code_parse=p.strict_string_list,
            default_doc="every `DATABASES` alias"),
    _health("caches", p.string_list, None, "cache aliases checked", code_parse=p.strict_string_list,
            default_doc="every `CACHES` alias"),
    _health("redis_url", p.text, None, "Redis server checked (`redis://`, `rediss://`, `unix://`)",
            code_parse=p.strict_text),
    _health("broker_url", p.text, None, "Celery broker checked", code_parse=p.strict_text,
            default_doc="Django's `CELERY_BROKER_URL`"),
    _health("broker_queues", p.string_list, (), "queues whose length is reported", code_parse=p.strict_string_list),
    _health("broker_worker_ping", p.parse_bool, False, "ping Celery workers"),
    _health("disk_paths", p.string_list, ("/",), "paths whose disk usage is checked", code_parse=p.strict_string_list),
    _health("disk_warning", p.finite_number, 90.0, "disk usage % for degraded"),
    _health("disk_critical", p.finite_number, 95.0, "disk usage % for down"),
    _health("memory_warning", p.finite_number, 80.0, "memory usage % for degraded"),
    _health("memory_critical", p.finite_number, 90.0, "memory usage % for down"),
    _health("tls_hosts", p.string_list, (), "`host:port` whose certificate expiry is checked",
            code_parse=p.strict_string_list),
    _health("tls_warning_days", p.finite_number, 30.0, "days before expiry for degraded"),
    _health("tls_critical_days", p.finite_number, 0.0, "days before expiry for down"),
    _health("tls_ca_file", p.text, None, "CA bundle for the TLS check", code_parse=p.strict_text),
    _health("timeout", p.number(0.0, exclusive_minimum=True, allowed="a number of seconds > 0"), 2.0,
            "per-check timeout (s)"),
    _health("cache_interval", p.number(0.0, allowed="a number of seconds >= 0"), 10.0, "results cached (s)"),
    _health("critical", p.string_list, None, "checks whose failure makes the report down",
            code_parse=p.strict_string_list, default_doc="`database,cache,redis,broker`"),
    _health("token", p.text, None, "token for detailed `/health/` output (`Authorization: Bearer` or "
            "`X-Health-Token`)", code_parse=p.strict_text, secret=True, default_doc="— (nobody)"),
    _health("allow_loopback", p.parse_bool, False, "unproxied loopback clients see details without the token"),
    # --- operations commands
    _ops("OTEL_CLINIC_PROMETHEUS_URL", p.http_url("http://127.0.0.1:9090"), "http://127.0.0.1:9090",
         "Prometheus queried by the ops commands (`--prometheus-url` wins)"),
    _ops("OTEL_CLINIC_ALERTMANAGER_URL", p.http_url("http://127.0.0.1:9093"), "http://127.0.0.1:9093",
         "Alertmanager queried by the ops commands (`--alertmanager-url` wins)"),
    *(_ops(f"OTEL_CLINIC_{backend}_TOKEN{suffix}", p.secret, None,
           f"bearer token for {backend.title()}" + (" read from this file (mounted secret; preferred)"
                                                    if suffix else ""), secret=not suffix)
      for backend in ("PROMETHEUS", "ALERTMANAGER") for suffix in ("_FILE", "")),
    _ops("OTEL_CLINIC_AMTOOL_BIN", p.non_empty, None, "`amtool` used for routing tests", default_doc="`amtool` on PATH"),
    _ops("OTEL_CLINIC_RULES_DIR", p.non_empty, None, "Prometheus alert rule files (`--rules-dir` wins)",
         default_doc="`collector/prometheus/rules` of the checkout"),
    _ops("OTEL_CLINIC_RUNBOOK_BASE_URL", p.non_empty, None, "base URL of the runbooks the alert rules link "
         "(`runbook_url`); expanded by Prometheus into the `runbook_base_url` external label",
         read_by="collector/prometheus/prometheus.yml", default_doc="`file://<checkout>/collector/runbooks` "
         "(quickstart)"),
)

_BY_ENV = {param.env: param for param in PARAMS}
_BY_KEYWORD = {param.keyword: param for param in PARAMS if param.keyword}
assert len(_BY_ENV) == len(PARAMS) and len(_BY_KEYWORD) == sum(1 for x in PARAMS if x.keyword), "duplicate setting"


def param(env: str) -> Param:
    return _BY_ENV[env]


def by_keyword(keyword: str) -> Param | None:
    return _BY_KEYWORD.get(keyword)


def group(name: str) -> tuple[Param, ...]:
    return tuple(x for x in PARAMS if x.group == name)


def read(env: str, environ: Mapping[str, str]) -> Any:
    """The parsed value of one variable, or its default when unset/empty."""
    setting = _BY_ENV[env]
    found = setting.parse_env(environ)
    return setting.default if found is None else found[1]

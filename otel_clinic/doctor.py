"""``otel-clinic doctor``: validate every setting of the parameter table from the environment and print what
``setup()`` would build, plus each setting's value and where it came from (secrets only as set/unset)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from otel_clinic import settings
from otel_clinic.errors import ConfigError
from otel_clinic.parsing import SeverityThresholds


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, SeverityThresholds):
        return [value.slow_ms, value.warning_ms, value.critical_ms]
    return str(value)


def table_report(environ: Mapping[str, str]) -> dict[str, dict[str, dict[str, Any]]]:
    """Every table row by group: value (parsed, or the default), source (the variable or ``default``), default.
    Raises ConfigError for the first bad value, naming its variable."""
    report: dict[str, dict[str, dict[str, Any]]] = {}
    for row in settings.PARAMS:
        found = row.parse_env(environ)
        source, value = found if found is not None else ("default", row.default)
        if row.secret:
            value = "<set>" if found is not None else None
        default = row.describe_default().replace("`", "")
        entry = {"value": _jsonable(value), "source": source, "default": None if default.startswith("—") else default}
        if row.keyword:
            entry["keyword"] = row.keyword
        report.setdefault(row.group, {})[row.env] = entry
    return report


def summary(environ: Mapping[str, str]) -> dict[str, Any]:
    """The resolved configuration as setup() would build it (ConfigError on a bad value)."""
    from otel_clinic.config import load_config

    config = load_config(environ=environ)
    export_dir = settings.param("OTEL_CLINIC_EXPORT_DIR")
    return {
        "service": f"{config.service_namespace}/{config.service_name}",
        "release": config.release,
        "release_source": config.release_source,
        "environment": config.environment,
        "exporters": {"traces": config.traces_exporters, "metrics": config.metrics_exporters, "logs": config.logs_exporters},
        "otlp_protocol": config.otlp_protocol,
        "otlp_endpoint": config.otlp_endpoint,
        # where the "file" exporters write (JSON lines), absolute, and whether the default was used
        "export_dir": {
            "path": str(Path(config.export_dir).resolve()),
            "setting": export_dir.env + ("" if export_dir.parse_env(environ) else f" (default: ./{export_dir.default})"),
            "used_by": [s for s, kinds in (("traces", config.traces_exporters), ("metrics", config.metrics_exporters),
                                           ("logs", config.logs_exporters)) if "file" in kinds],
        },
        "prometheus": {"enabled": config.prometheus_enabled, "port": config.prometheus_port},
        "sentry": bool(config.sentry_dsn),
        "scrubbing": config.scrub_enabled,
        "severity_ms": [config.severity.slow_ms, config.severity.warning_ms, config.severity.critical_ms],
        "excluded_paths": config.excluded_paths,
        "retry_buffer": {"items": config.retry_buffer_size, "max_age_s": config.retry_max_age_s},
        "shutdown_timeout_s": config.shutdown_timeout_s,
        # who may read details: tokens are never printed, only whether they are set
        "access": {
            "health_details": "token" if environ.get("OTEL_CLINIC_HEALTH_TOKEN") else
                              "nobody via env (OTEL_CLINIC_HEALTH_TOKEN unset; Django OTEL_CLINIC_HEALTH may set one)",
            "metrics_view": {
                "token": bool(environ.get("OTEL_CLINIC_METRICS_TOKEN")),
                "allowed_networks": [str(n) for n in
                                     settings.read("OTEL_CLINIC_METRICS_ALLOWED_NETWORKS", environ) or ()],
            },
        },
    }


def run(environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    try:
        if settings.read("OTEL_SDK_DISABLED", env):
            print(json.dumps({"sdk_disabled": True, "note": "OTEL_SDK_DISABLED=true: setup() installs nothing"}, indent=2))
            return 0
        table = table_report(env)
        result = summary(env)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    result["settings"] = table
    print(json.dumps(result, indent=2))
    return 0

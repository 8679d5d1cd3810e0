"""The ``otel-clinic`` console script. Feature modules add their sub-commands through ``register(subparsers)``."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Sequence

# Modules that contribute sub-commands; each exposes register(subparsers).
_COMMAND_MODULES = ("otel_clinic.scrubbing.cli", "otel_clinic.health.cli", "otel_clinic.audit", "otel_clinic.ops.cli")


def _doctor(args: argparse.Namespace) -> int:
    """Validate the configuration from the environment and print what setup() would build."""
    from otel_clinic.config import load_config, sdk_disabled
    from otel_clinic.errors import ConfigError

    try:
        if sdk_disabled():
            print(json.dumps({"sdk_disabled": True, "note": "OTEL_SDK_DISABLED=true: setup() installs nothing"}, indent=2))
            return 0
        config = load_config()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    summary = {
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
            "setting": "OTEL_CLINIC_EXPORT_DIR" + ("" if os.environ.get("OTEL_CLINIC_EXPORT_DIR") else " (default: ./telemetry)"),
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
            "health_details": "token" if os.environ.get("OTEL_CLINIC_HEALTH_TOKEN") else
                              "nobody via env (OTEL_CLINIC_HEALTH_TOKEN unset; Django OTEL_CLINIC_HEALTH may set one)",
            "metrics_view": {
                "token": bool(os.environ.get("OTEL_CLINIC_METRICS_TOKEN")),
                "allowed_networks": [n.strip() for n in os.environ.get("OTEL_CLINIC_METRICS_ALLOWED_NETWORKS", "").split(",")
                                     if n.strip()],
            },
        },
    }
    print(json.dumps(summary, indent=2))
    return 0


def _track_deployment(args: argparse.Namespace) -> int:
    from otel_clinic import setup, track_deployment

    handle = setup(instrument_django=False)
    result = track_deployment(args.version, args.environment, args.deployed_by, args.changes)
    handle.force_flush()
    print(json.dumps(result.__dict__, indent=2))
    return 1 if result.sentry_errors else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="otel-clinic", description="PHI-safe OpenTelemetry for Django clinics")
    sub = parser.add_subparsers(dest="command", required=True)
    doctor = sub.add_parser("doctor", help="validate configuration from the environment")
    doctor.set_defaults(func=_doctor)
    deploy = sub.add_parser("track-deployment", help="record a deployment (log, metric, Sentry release)")
    deploy.add_argument("--version", required=True)
    deploy.add_argument("--environment", required=True)
    deploy.add_argument("--deployed-by")
    deploy.add_argument("--changes")
    deploy.set_defaults(func=_track_deployment)
    for module_name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:  # the module exists but is broken: say so
                raise
            continue
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

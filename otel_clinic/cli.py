"""The ``otel-clinic`` console script. Feature modules add their sub-commands through ``register(subparsers)``."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Sequence

# Modules that contribute sub-commands; each exposes register(subparsers).
_COMMAND_MODULES = ("otel_clinic.scrubbing.cli", "otel_clinic.health.cli", "otel_clinic.audit", "otel_clinic.ops.cli")


def _doctor(args: argparse.Namespace) -> int:
    """Validate every setting from the environment and print what setup() would build (otel_clinic.doctor)."""
    from otel_clinic.doctor import run

    return run()


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

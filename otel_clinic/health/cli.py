"""`otel-clinic health`: the monitor_health command outside manage.py.

With DJANGO_SETTINGS_MODULE set, Django is set up first so database/cache checks and OTEL_CLINIC_HEALTH apply;
otherwise only OTEL_CLINIC_HEALTH_* env configures the checks (redis, broker, disk, memory, tls).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from otel_clinic.health.command import add_arguments, run_command


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "health", help="run health checks; exit 0 ok, 1 degraded, 2 down, 64 unknown check",
        description="Run the configured health checks once and print the results.",
    )
    add_arguments(parser)
    parser.set_defaults(func=main)
    return parser


def main(args: argparse.Namespace) -> int:
    if os.environ.get("DJANGO_SETTINGS_MODULE"):
        import django

        django.setup()
    return run_command(args.checks, verbose=args.verbose, output_format=args.output_format, timeout=args.timeout)


if __name__ == "__main__":  # python -m otel_clinic.health.cli ...
    root = argparse.ArgumentParser(prog="otel-clinic")
    sub = root.add_subparsers(dest="command", required=True)
    register(sub)
    parsed = root.parse_args()
    sys.exit(parsed.func(parsed))

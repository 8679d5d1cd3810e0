"""Registers the ops sub-commands on an argparse sub-parser set (the `otel-clinic` script and `manage_monitoring`)."""

from __future__ import annotations

import argparse
from typing import Any

from otel_clinic.ops import alerts, common, export, status, summary, test_alert

COMMANDS = {
    "status": (status, "health, firing alerts, last deployment, telemetry pipeline; exit 0 healthy, 1 degraded"),
    "summary": (summary, "request rate, errors, latency per route, DB and cache over the last N hours"),
    "alerts": (alerts, "current alerts (Alertmanager) and those that fired in the last N hours (Prometheus)"),
    "test-alert": (test_alert, "send a synthetic alert for one of our rules, show its receivers, resolve it"),
    "export-metrics": (export, "export our metrics over the last N hours to a JSON or CSV file"),
}
EPILOG = ("Exit codes: 0 ok, 1 degraded (status), 2 a backend is unreachable or refused the request, "
          "64 bad usage (e.g. unknown rule). Tokens: OTEL_CLINIC_{PROMETHEUS,ALERTMANAGER}_TOKEN_FILE or _TOKEN.")


def register(subparsers: Any, parser_class: Any = None) -> None:
    for name, (module, help_text) in COMMANDS.items():
        kwargs: dict[str, Any] = {"help": help_text, "description": (module.__doc__ or "").strip(),
                                  "epilog": EPILOG, "formatter_class": argparse.RawDescriptionHelpFormatter}
        parser = subparsers.add_parser(name, **kwargs)
        module.add_arguments(parser)
        parser.set_defaults(func=_runner(module))


def _runner(module: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        return common.run(module.command, args)
    return run

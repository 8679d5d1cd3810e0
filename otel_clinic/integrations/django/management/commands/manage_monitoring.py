"""python manage.py manage_monitoring status|summary|alerts|test-alert|export-metrics [options]

The seed's `manage_monitoring` command, as an alias of `otel-clinic <sub-command>` (same options, same exit codes:
0 ok, 1 degraded, 2 backend unreachable, 64 bad usage). See `otel_clinic.ops`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from otel_clinic.ops import common
from otel_clinic.ops.cli import COMMANDS, EPILOG


class Command(BaseCommand):
    help = "Monitoring operations over Prometheus and Alertmanager: " + ", ".join(COMMANDS) + "."
    requires_system_checks: list[str] = []  # status must work when the database is down

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
        for name, (module, help_text) in COMMANDS.items():
            module.add_arguments(sub.add_parser(name, help=help_text, epilog=EPILOG))

    def handle(self, *args: Any, **options: Any) -> None:
        module = COMMANDS[options["subcommand"]][0]
        code = common.run(module.command, argparse.Namespace(**options), stdout=self.stdout, stderr=self.stderr)
        sys.exit(code)

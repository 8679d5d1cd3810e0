"""python manage.py monitor_health [--check NAME ...] [--verbose] [--format text|json] [--timeout S]

Exit codes: 0 all ok, 1 degraded, 2 down, 64 unknown check (the valid names are listed).
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from otel_clinic.health.command import add_arguments, run_command


class Command(BaseCommand):
    help = "Run the otel_clinic health checks once. Exit 0 ok, 1 degraded, 2 down, 64 unknown check."
    requires_system_checks: list[str] = []  # must work when the database is down

    def add_arguments(self, parser: CommandParser) -> None:
        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        code = run_command(
            options["checks"], verbose=options["verbose"], output_format=options["output_format"],
            timeout=options["timeout"], stdout=self.stdout, stderr=self.stderr,
        )
        sys.exit(code)

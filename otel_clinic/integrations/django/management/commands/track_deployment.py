"""python manage.py track_deployment --release 1.4.2 --environment production [--deployed-by X] [--changes "..."]"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Record a deployment: log event, clinic.deployment metric, and Sentry release + deploy when configured."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--release", dest="release_version", required=True, help="release being deployed")
        parser.add_argument("--environment", required=True)
        parser.add_argument("--deployed-by", default=None)
        parser.add_argument("--changes", default=None)

    def handle(self, *args, **options) -> None:
        import otel_clinic

        handle = otel_clinic.setup()
        result = otel_clinic.track_deployment(
            options["release_version"], options["environment"], options["deployed_by"], options["changes"]
        )
        handle.force_flush()
        self.stdout.write(json.dumps(result.__dict__))
        if result.sentry_errors:
            raise CommandError("Sentry release tracking failed: " + "; ".join(result.sentry_errors))

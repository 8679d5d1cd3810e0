#!/usr/bin/env python
"""Django's command-line utility for the example clinic, with otel_clinic telemetry."""
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic_site.settings")
    if len(sys.argv) > 1 and sys.argv[1] in ("runserver", "track_deployment", "monitor_health"):
        import otel_clinic

        otel_clinic.setup()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

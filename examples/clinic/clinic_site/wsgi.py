"""WSGI entry point: telemetry is set up before Django builds its handler."""
import os

import otel_clinic

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic_site.settings")
otel_clinic.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()

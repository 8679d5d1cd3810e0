import os

import otel_clinic

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic_site.settings")
otel_clinic.setup()

from django.core.asgi import get_asgi_application  # noqa: E402

application = get_asgi_application()

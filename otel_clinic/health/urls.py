"""Include with `path("health/", include("otel_clinic.health.urls"))` -> /health/, /health/live, /health/ready.

The seeds' `/api/health/` alias: `path("api/health/", include("otel_clinic.health.urls"))` as well.
"""

from django.urls import path

from otel_clinic.health import views

app_name = "otel_clinic_health"

urlpatterns = [
    path("", views.health, name="health"),
    path("live", views.live, name="live"),
    path("ready", views.ready, name="ready"),
]

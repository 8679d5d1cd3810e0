from importlib.util import find_spec

from django.urls import include, path

from otel_clinic.integrations.django.views import metrics_view

urlpatterns = [
    path("api/", include("clinic.urls")),
    path("metrics", metrics_view, name="metrics"),
]
if find_spec("otel_clinic.health.urls"):
    urlpatterns.append(path("health/", include("otel_clinic.health.urls")))

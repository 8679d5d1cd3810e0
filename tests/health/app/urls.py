"""URLs of the health tests' app: the health URLs as the example app mounts them, a plain view, and a
test-only view exposing what an in-process metrics collection sees."""

from django.http import HttpResponse, JsonResponse
from django.urls import include, path


def ping(request):
    return HttpResponse("pong")


def collected_metrics(request):
    from tests.health.app.telemetry import collect_gauges

    return JsonResponse(collect_gauges())


urlpatterns = [
    path("health/", include("otel_clinic.health.urls")),
    path("api/health/", include("otel_clinic.health.urls")),
    path("ping", ping),
    path("_test/metrics", collected_metrics),
]

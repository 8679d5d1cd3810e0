from django.apps import AppConfig


class OtelClinicConfig(AppConfig):
    name = "otel_clinic.integrations.django"
    label = "otel_clinic"
    verbose_name = "otel_clinic telemetry"

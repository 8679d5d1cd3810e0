from django.apps import AppConfig


class OtelClinicConfig(AppConfig):
    name = "otel_clinic.integrations.django"
    label = "otel_clinic"
    verbose_name = "otel_clinic telemetry"

    def ready(self) -> None:
        # Django applied settings.LOGGING just before populating the apps: make sure our logging survived it
        # (configure_logging is wrapped too; this covers a LOGGING_CONFIG that bypasses it). Idempotent.
        try:
            from otel_clinic.integrations.logging import reattach

            reattach()
        except Exception:
            pass

"""Django integration: add ``"otel_clinic.integrations.django"`` to INSTALLED_APPS for the management
commands (``monitor_health``, ``track_deployment``) and the health views."""

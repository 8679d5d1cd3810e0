"""Operations commands over Prometheus and Alertmanager (seed 004's ``manage_monitoring``, OTel-native).

``otel-clinic status | summary | alerts | test-alert | export-metrics`` and the Django alias
``manage.py manage_monitoring <same sub-command>``. Backends come from ``--prometheus-url`` /
``--alertmanager-url`` or ``OTEL_CLINIC_PROMETHEUS_URL`` / ``OTEL_CLINIC_ALERTMANAGER_URL``.
"""

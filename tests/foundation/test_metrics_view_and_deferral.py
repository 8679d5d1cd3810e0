"""The in-process /metrics view enforces the access decision (token or allowlisted networks, never a proxied
request by address), and a deferred Django instrumentation patch is undone by shutdown even if no request came."""

from __future__ import annotations

from django.test import Client

from otel_clinic import testing


def test_metrics_view_needs_a_token_or_an_allowlisted_network(monkeypatch) -> None:
    monkeypatch.delenv("OTEL_CLINIC_METRICS_ALLOWED_NETWORKS", raising=False)
    monkeypatch.setenv("OTEL_CLINIC_METRICS_TOKEN", "scrape-me")
    with testing.capture(prometheus_enabled=True):
        client = Client()
        assert client.get("/metrics").status_code == 403
        assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
        ok = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me")
        assert ok.status_code == 200 and b"# TYPE" in ok.content
    monkeypatch.delenv("OTEL_CLINIC_METRICS_TOKEN")
    monkeypatch.setenv("OTEL_CLINIC_METRICS_ALLOWED_NETWORKS", "127.0.0.0/8")
    with testing.capture(prometheus_enabled=True):
        assert Client().get("/metrics").status_code == 200
        # behind a proxy every client looks local: proxied requests are never trusted by address
        assert Client().get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 403


def test_shutdown_undoes_a_deferred_django_patch() -> None:
    from django.core.handlers.base import BaseHandler

    from otel_clinic.config import load_config
    from otel_clinic.integrations.django.instrumentation import ClinicDjangoInstrumentor

    original = BaseHandler.__dict__["load_middleware"]
    instrumentor = ClinicDjangoInstrumentor()
    instrumentor._defer(load_config({}), None)
    assert BaseHandler.__dict__["load_middleware"] is not original  # patched until the first handler is built
    instrumentor._uninstrument()
    assert BaseHandler.__dict__["load_middleware"] is original

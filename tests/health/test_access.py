"""The access decision shared by /health/ and the in-process /metrics (otel_clinic.health.access)."""

from __future__ import annotations

import pytest

from otel_clinic.errors import ConfigError
from otel_clinic.health.access import metrics_access_allowed

PROXIED = [{"HTTP_X_FORWARDED_FOR": "203.0.113.7"}, {"HTTP_FORWARDED": "for=203.0.113.7"}, {"HTTP_X_REAL_IP": "203.0.113.7"}]


def test_metrics_are_closed_by_default_even_to_loopback() -> None:
    assert not metrics_access_allowed({"REMOTE_ADDR": "127.0.0.1"}, {})
    assert not metrics_access_allowed({"REMOTE_ADDR": "10.0.0.5"}, {})


def test_metrics_token_as_bearer_or_header() -> None:
    env = {"OTEL_CLINIC_METRICS_TOKEN": "scrape-me"}
    assert metrics_access_allowed({"REMOTE_ADDR": "198.51.100.1", "HTTP_AUTHORIZATION": "Bearer scrape-me"}, env)
    assert metrics_access_allowed({"REMOTE_ADDR": "198.51.100.1", "HTTP_X_METRICS_TOKEN": "scrape-me"}, env)
    assert not metrics_access_allowed({"REMOTE_ADDR": "198.51.100.1", "HTTP_AUTHORIZATION": "Bearer nope"}, env)
    assert metrics_access_allowed({"REMOTE_ADDR": "127.0.0.1", "HTTP_AUTHORIZATION": "Bearer scrape-me", **PROXIED[0]}, env)


@pytest.mark.parametrize("proxy", PROXIED)
def test_allowlisted_networks_only_for_unproxied_clients(proxy) -> None:
    env = {"OTEL_CLINIC_METRICS_ALLOWED_NETWORKS": "127.0.0.1/32, 10.0.0.0/8"}
    assert metrics_access_allowed({"REMOTE_ADDR": "10.1.2.3"}, env)
    assert metrics_access_allowed({"REMOTE_ADDR": "::ffff:127.0.0.1"}, env)  # dual-stack socket
    assert not metrics_access_allowed({"REMOTE_ADDR": "192.168.1.1"}, env)
    # nginx on the same host: REMOTE_ADDR is loopback for every internet client
    assert not metrics_access_allowed({"REMOTE_ADDR": "127.0.0.1", **proxy}, env)


def test_bad_network_list_names_the_variable() -> None:
    with pytest.raises(ConfigError) as err:
        metrics_access_allowed({"REMOTE_ADDR": "127.0.0.1"}, {"OTEL_CLINIC_METRICS_ALLOWED_NETWORKS": "10.0.0.0/8,intranet"})
    assert "OTEL_CLINIC_METRICS_ALLOWED_NETWORKS" in str(err.value) and "intranet" in str(err.value)

import pytest
from django.test import Client

from otel_clinic import testing


@pytest.fixture
def cap():
    with testing.capture() as capture:
        yield capture


@pytest.fixture
def client():
    return Client(raise_request_exception=False)


def span_by_route(spans, route):
    found = [s for s in spans if s.attributes.get("http.route") == route]
    assert found, f"no span for {route}: {[s.name for s in spans]}"
    return found[-1]


def points(cap, name, **attrs):
    return [p for p in cap.metric_points(name) if all(p.attributes.get(k) == v for k, v in attrs.items())]

"""Request shapes found by trying otel_clinic on a fresh third-party-style Django project: an unknown HTTP method
names the span ``HTTP {route}`` (not ``_OTHER {route}``), and a request cancelled by an ASGI client disconnect is
a 499, not a critical 5xx server error."""

from __future__ import annotations

import asyncio

import pytest
from django.test import Client, RequestFactory, override_settings
from opentelemetry import trace

from otel_clinic import testing
from otel_clinic.integrations.django.middleware import ClinicMiddleware

URLS = "tests.foundation.realapp_urls"


def _server_spans(cap):
    return [s for s in cap.spans() if s.kind == trace.SpanKind.SERVER]


@override_settings(ROOT_URLCONF=URLS)
def test_unknown_method_span_is_named_http_route():
    with testing.capture() as cap:
        Client(raise_request_exception=False).generic("PROPFIND", "/")
        (span,) = _server_spans(cap)
        assert span.attributes["http.request.method"] == "_OTHER"
        assert span.attributes["http.request.method_original"] == "PROPFIND"
        assert span.name == "HTTP /"


def test_cancelled_request_is_a_499_not_a_critical_server_error():
    def cancelled(request):  # what the view chain raises when Django's ASGI handler cancels it on disconnect
        raise asyncio.CancelledError()

    with testing.capture() as cap:
        middleware = ClinicMiddleware(cancelled)
        with pytest.raises(asyncio.CancelledError):
            middleware(RequestFactory().get("/slow/"))
        (span,) = _server_spans(cap)
        assert span.end_time is not None
        attrs = dict(span.attributes)
        assert attrs["http.response.status_code"] == 499
        assert attrs["clinic.severity"] != "critical"
        assert attrs.get("error.category") != "server_error"
        assert span.status.status_code is not trace.StatusCode.ERROR
        assert not trace.get_current_span().get_span_context().is_valid  # nothing left attached


def _raise_404(request):
    from django.http import Http404

    raise Http404("no chart")


def _raise_403(request):
    from django.core.exceptions import PermissionDenied

    raise PermissionDenied("not yours")


def _raise_500(request):
    raise RuntimeError("chart store down")


def _urls():
    from django.urls import path

    return [path("r404/", _raise_404), path("r403/", _raise_403), path("r500/", _raise_500)]


urlpatterns = _urls()


@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
@pytest.mark.parametrize("route, status, category", [("r404/", 404, "not_found"), ("r403/", 403, "authentication")])
def test_a_4xx_raised_in_a_view_leaves_the_span_status_unset(route, status, category):
    # HTTP semconv: a server span's status stays unset for 4xx (the client's error); the exception stays an event.
    with testing.capture() as cap:
        assert Client(raise_request_exception=False).get(f"/{route}").status_code == status
        (span,) = _server_spans(cap)
        assert span.attributes["http.response.status_code"] == status
        assert span.attributes["error.category"] == category
        assert span.status.status_code is trace.StatusCode.UNSET
        assert [e.name for e in span.events] == ["exception"]


@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
def test_a_5xx_from_a_view_exception_is_an_error():
    with testing.capture() as cap:
        assert Client(raise_request_exception=False).get("/r500/").status_code == 500
        (span,) = _server_spans(cap)
        assert span.status.status_code is trace.StatusCode.ERROR
        assert "RuntimeError" in span.status.description


def test_an_exception_escaping_django_is_still_a_500():
    def broken(request):
        raise RuntimeError("handler500 failed")

    with testing.capture() as cap:
        with pytest.raises(RuntimeError):
            ClinicMiddleware(broken)(RequestFactory().get("/x/"))
        (span,) = _server_spans(cap)
        assert span.attributes["http.response.status_code"] == 500
        assert span.attributes["clinic.severity"] == "critical"
        assert span.status.status_code is trace.StatusCode.ERROR

"""Sentry events from a real sentry-sdk with a capturing transport."""
import pytest
import sentry_sdk
from django.test import Client

from otel_clinic import testing
from tests.foundation.conftest import span_by_route
from tests.support.sentry import CapturingTransport


@pytest.fixture
def sentry_capture():
    transport = CapturingTransport()
    with testing.capture(
        sentry_dsn="http://public@127.0.0.1:9/1", release="4.5.6", environment="qa",
        sentry_options={"transport": transport, "send_default_pii": True, "include_local_variables": True},
    ) as cap:
        yield cap, transport
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # disable for later tests


def test_error_event_has_release_category_severity_and_trace_id(sentry_capture):
    cap, transport = sentry_capture
    Client(raise_request_exception=False).get("/api/timeout/")
    sentry_sdk.flush()
    events = transport.events()
    assert events, "no Sentry event captured"
    event = events[-1]
    assert event["release"] == "4.5.6" and event["environment"] == "qa"
    assert event["tags"]["error.category"] == "timeout"
    assert event["tags"]["clinic.severity"] == "critical"
    span = span_by_route(cap.spans(), "api/timeout/")
    trace_id = format(span.context.trace_id, "032x")
    assert event["tags"]["otel.trace_id"] == trace_id
    assert event["contexts"]["trace"]["trace_id"] == trace_id
    # the trace carries the event id, so the gateway's tail sampler keeps every trace that has a Sentry event
    stamped = {s.attributes.get("sentry.event_id") for s in cap.spans() if s.context.trace_id == span.context.trace_id}
    assert event["event_id"] in stamped


def test_pii_options_are_enforced_even_when_caller_asks_otherwise(sentry_capture):
    cap, transport = sentry_capture
    options = sentry_sdk.get_client().options
    assert not options.get("send_default_pii") and not sentry_sdk.get_client().should_send_default_pii()
    assert options["include_local_variables"] is False
    assert options["max_request_body_size"] == "never"
    assert not options.get("traces_sample_rate")  # OpenTelemetry does tracing
    Client(raise_request_exception=False).get("/api/boom/?patient=Jane", HTTP_COOKIE="sessionid=secret-cookie")
    sentry_sdk.flush()
    event = transport.events()[-1]
    frames = event["exception"]["values"][-1]["stacktrace"]["frames"]
    assert all("vars" not in f for f in frames)
    assert "secret-cookie" not in str(event.get("request", {}))


def test_handled_exceptions_are_categorised_but_not_called_critical(sentry_capture):
    cap, transport = sentry_capture
    try:
        raise TimeoutError("lab system timed out")
    except TimeoutError:
        sentry_sdk.capture_exception()
    sentry_sdk.flush()
    event = transport.events()[-1]
    assert event["tags"]["error.category"] == "timeout"
    assert "clinic.severity" not in event["tags"]

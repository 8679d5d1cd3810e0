"""Sentry hooks on real events produced by sentry_sdk (captured by a custom transport, no network)."""

from __future__ import annotations

import json
import logging

import pytest
import sentry_sdk
from sentry_sdk.integrations.logging import LoggingIntegration
from tests.support.sentry import CapturingTransport

from otel_clinic.scrubbing import ScrubPolicy, sentry_hooks
from otel_clinic.scrubbing.sentry import scrub_event

POLICY = ScrubPolicy.default()
CANARIES = ("123-45-6789", "jane.roe@example.com", "Jane Roe", "A7654321", "1980-02-03", "203.0.113.9", "s3cr3t-cookie", "555-867-5309")


@pytest.fixture()
def sentry_client():
    transport = CapturingTransport()
    # Worst-case SDK options (PII on, frame locals on): the hooks must make the output safe anyway.
    client = sentry_sdk.Client(
        dsn="http://public@127.0.0.1:9/1",
        transport=transport,
        send_default_pii=True,
        include_local_variables=True,
        traces_sample_rate=1.0,
        default_integrations=False,
        integrations=[LoggingIntegration(level=logging.INFO, event_level=None)],
        **sentry_hooks(POLICY),
    )
    with sentry_sdk.isolation_scope() as scope:
        scope.set_client(client)
        yield transport, scope
    client.close()


def _lookup(patient_email: str) -> None:
    patient_name = "Jane Roe"  # noqa: F841 - a frame local that must not be shipped
    raise ValueError(f"no patient {patient_email} (MRN: A7654321)")


def test_real_events_carry_no_phi(sentry_client) -> None:
    transport, scope = sentry_client
    scope.set_user({"id": 42, "email": "jane.roe@example.com", "ip_address": "203.0.113.9", "username": "jroe"})
    scope.set_extra("visit_info", {"name": "Jane Roe", "dob": "1980-02-03", "visits": 3})
    scope.set_extra("patient", {"anything": "goes"})
    scope.set_tag("lookup", "ssn 123-45-6789")
    scope.set_context("visit", {"reason": "MRN: A7654321", "ward": "B"})
    logging.getLogger("clinic.views").info("looking up patient: Jane Roe at 555-867-5309")
    sentry_sdk.add_breadcrumb(category="query", message="SELECT * FROM p WHERE ssn = '123-45-6789'")
    sentry_sdk.add_breadcrumb(category="httplib", type="http", data={"url": "https://x/p/99812?dob=1980-02-03", "method": "GET"})
    with sentry_sdk.start_transaction(name="/patients/123-45-6789/", op="http.server"):
        with sentry_sdk.start_span(op="db", name="SELECT * FROM p WHERE name = 'Jane Roe'"):
            pass
        try:
            _lookup("jane.roe@example.com")
        except ValueError:
            sentry_sdk.capture_exception()
    sentry_sdk.capture_event(
        {
            "message": "manual event for jane.roe@example.com",
            "request": {
                "url": "https://clinic.example/patients/123-45-6789/?dob=1980-02-03",
                "method": "POST",
                "query_string": "dob=1980-02-03",
                "data": {"first_name": "Jane", "ssn": "123-45-6789"},
                "cookies": {"sessionid": "s3cr3t-cookie"},
                "headers": {"Cookie": "sessionid=s3cr3t-cookie", "Authorization": "Bearer s3cr3t-cookie",
                            "X-Forwarded-For": "203.0.113.9", "Content-Type": "application/json", "X-Patient": "Jane Roe"},
                "env": {"REMOTE_ADDR": "203.0.113.9", "SERVER_NAME": "clinic"},
            },
        }
    )
    sentry_sdk.get_client().flush()
    payloads = transport.payloads
    kinds = sorted(p.get("type", "event") for p in payloads)
    assert kinds == ["event", "event", "transaction"]
    blob = json.dumps(payloads)
    for canary in CANARIES:
        assert canary not in blob, (canary, blob[max(0, blob.find(canary) - 300) : blob.find(canary) + 50])
    error = next(p for p in payloads if p.get("exception"))
    value = error["exception"]["values"][0]
    assert value["type"] == "ValueError" and "[EMAIL]" in value["value"] and "MRN: [MRN]" in value["value"]
    assert all("vars" not in f for f in value["stacktrace"]["frames"])
    assert "user" not in error  # placeholder mode: no user identity at all
    assert error["extra"]["visit_info"] == {"name": "[REDACTED]", "dob": "[REDACTED]", "visits": 3}
    assert error["extra"]["patient"] == "[REDACTED]"
    assert error["tags"]["lookup"] == "ssn [SSN]"
    crumbs = error["breadcrumbs"]["values"]
    assert any(c.get("message") == "SELECT * FROM p WHERE ssn = ?" for c in crumbs)
    assert any(c.get("data", {}).get("url") == "https://x/p/{id}" for c in crumbs)
    tx = next(p for p in payloads if p.get("type") == "transaction")
    assert tx["transaction"] == "/patients/{id}/"
    assert tx["spans"][0]["description"] == "SELECT * FROM p WHERE name = ?"
    manual = next(p for p in payloads if p.get("message", "").startswith("manual"))
    req = manual["request"]
    assert "data" not in req and "cookies" not in req and "query_string" not in req
    # no host (the client's Host header), no query; only transport headers, by name and value
    assert req["url"] == "/patients/{id}/"
    assert req["headers"] == {"Content-Type": "application/json"}
    assert req["env"] == {}


def test_hmac_mode_keeps_a_pseudonymous_user_id() -> None:
    policy = ScrubPolicy.default().with_hmac_key(b"x" * 32)
    event = scrub_event({"user": {"id": 42, "email": "jane.roe@example.com"}}, policy)
    assert event["user"] == {"id": policy.engine.pseudonym("[USER]", "42")}


def test_cyclic_and_deep_events_are_safe() -> None:
    extra: dict = {"note": "x"}
    extra["loop"] = extra
    deep: dict = {}
    node = deep
    for _ in range(5000):
        node["child"] = {}
        node = node["child"]
    node["email"] = "jane.roe@example.com"
    event = {"extra": extra, "contexts": {"deep": deep}, "exception": {"values": [{"value": "ssn 123-45-6789"}]}}
    out = sentry_hooks(POLICY)["before_send"](event, {})
    assert out is not None
    assert "jane.roe@example.com" not in repr(out) and "123-45-6789" not in repr(out)


def test_unscrubbable_event_is_dropped() -> None:
    class Hostile(dict):
        def get(self, *a, **k):
            raise RuntimeError("boom")

    assert sentry_hooks(POLICY)["before_send"](Hostile(request={}), {}) is None


def test_breadcrumb_hook_scrubs_message_and_data() -> None:
    crumb = sentry_hooks(POLICY)["before_breadcrumb"](
        {"category": "query", "message": "UPDATE p SET dob = '1980-02-03'", "data": {"patient_email": "a@b.org", "n": 1}}, {}
    )
    assert crumb == {"category": "query", "message": "UPDATE p SET dob = ?", "data": {"patient_email": "[REDACTED]", "n": 1}}

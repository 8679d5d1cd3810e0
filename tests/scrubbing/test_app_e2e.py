"""End to end: PHI pushed into the example clinic through every door never reaches any in-process sink.

Drives the real example app (Django test client, real setup(), SQLite) with canaries in paths, query
strings, headers, JSON bodies, exception messages, log calls and SQL, then reads the span exporter, the
log exporter, the metric reader, the Prometheus /metrics text, captured Sentry envelopes and the JSON
stdout log stream.
"""

from __future__ import annotations

import json

import pytest
import sentry_sdk
from django.test import Client
from tests.support.sentry import CapturingTransport

from otel_clinic import testing

SSN = "078-05-1120"
EMAIL = "canary.patient@example.org"
PHONE = "555-867-5309"
MRN = "MRN99812377"
DOB = "1961-04-12"
TOKEN = "Bearer canary-token-7781"
COOKIE = "canary-cookie-5521"
SURNAME = "Canaryson"
CANARIES = (SSN, EMAIL, PHONE, MRN, "99812377", DOB, "canary-token-7781", COOKIE, SURNAME)


@pytest.fixture(scope="module")
def sinks():
    transport = CapturingTransport()
    with testing.capture(
        prometheus_enabled=True,
        sentry_dsn="http://public@127.0.0.1:9/1",
        sentry_options={"transport": transport, "send_default_pii": True, "include_local_variables": True},
    ) as cap:
        client = Client(raise_request_exception=False)
        headers = {"HTTP_AUTHORIZATION": TOKEN, "HTTP_COOKIE": f"sessionid={COOKIE}", "HTTP_X_PATIENT_EMAIL": EMAIL}
        body = {"mrn": MRN, "first_name": "Jane", "last_name": SURNAME, "ssn": SSN, "email": EMAIL, "phone": PHONE, "dob": DOB}
        client.post("/api/patients/", data=json.dumps(body), content_type="application/json", **headers)
        client.post("/api/patients/", data=json.dumps({"first_name": "Jane", "email": EMAIL}), content_type="application/json")
        client.get(f"/api/patients/search/?name={SURNAME}&dob={DOB}&email={EMAIL}", **headers)
        client.get(f"/api/patients/by-mrn/{MRN}/?ssn={SSN}", **headers)
        client.get(f"/api/patients/by-mrn/{SSN}/")
        client.get(f"/no/such/page/{SSN}/{EMAIL}")
        client.post("/api/prescriptions/", data=json.dumps({"patient_name": f"Jane {SURNAME}"}), content_type="application/json")
        client.get(f"/api/boom/?patient=Jane {SURNAME} ({PHONE})", **headers)
        client.get(f"/api/records/1/?dob={DOB}", HTTP_AUTHORIZATION=TOKEN)
        metrics_text = client.get("/metrics").content.decode()
        cap.flush()
        sentry_sdk.flush()
        yield {
            "spans": cap.spans(),
            "logs": cap.logs(),
            "metric_data": cap.metric_reader.get_metrics_data(),
            "metrics_text": metrics_text,
            "sentry": list(transport.payloads),
            "stdout": cap.stdout.getvalue(),
        }
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # leave Sentry disabled for later tests


def _dump_spans(spans) -> str:
    return json.dumps(
        [
            {
                "name": s.name,
                "attributes": dict(s.attributes),
                "events": [(e.name, dict(e.attributes)) for e in s.events],
                "links": [dict(link.attributes) for link in s.links],
                "status": s.status.description,
            }
            for s in spans
        ],
        default=str,
    )


def _dump_logs(logs) -> str:
    return json.dumps([(r.log_record.body, dict(r.log_record.attributes or {})) for r in logs], default=str)


def _assert_clean(sink: str, text: str) -> None:
    leaked = [c for c in CANARIES if c in text]
    assert not leaked, f"{sink} leaked {leaked}: ...{text[max(0, text.find(leaked[0]) - 200):text.find(leaked[0]) + 80]}..."


def test_the_app_actually_saw_the_phi(sinks) -> None:
    # Guards against a vacuous pass: requests really happened, errors really were recorded.
    assert len(sinks["spans"]) >= 9
    assert any(e.name == "exception" for s in sinks["spans"] for e in s.events)
    assert sinks["logs"], "no log records exported"
    assert any(p.get("exception") for p in sinks["sentry"]), "no Sentry error event captured"
    assert "http_server_request_duration" in sinks["metrics_text"] or "http.server.request.duration" in sinks["metrics_text"]
    assert sinks["stdout"].strip(), "no JSON log lines"


def test_no_canary_in_spans(sinks) -> None:
    _assert_clean("spans", _dump_spans(sinks["spans"]))


def test_no_canary_in_otel_logs(sinks) -> None:
    _assert_clean("logs", _dump_logs(sinks["logs"]))


def test_no_canary_in_metrics(sinks) -> None:
    _assert_clean("metric reader", sinks["metric_data"].to_json())
    _assert_clean("/metrics", sinks["metrics_text"])


def test_no_canary_in_sentry_events(sinks) -> None:
    _assert_clean("sentry", json.dumps(sinks["sentry"]))


def test_no_canary_in_json_stdout(sinks) -> None:
    _assert_clean("stdout", sinks["stdout"])

"""Our Go PHI processor (collector/processor/phiprocessor) inside the built distribution: it is compiled in, it
refuses a policy document it cannot apply (fail closed at config validation), and a real agent with it in the
pipeline scrubs span names, attributes, events, status and log bodies before export. Also: the agent's
persistent queue directory is private (0700)."""

from __future__ import annotations

import json
import stat
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import requests
import yaml
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.support.collector import COLLECTOR_DIR, OtlpSink, collector, validate

pytestmark = pytest.mark.e2e

POLICY = COLLECTOR_DIR / "phi-policy.json"


def overlay(tmp_path: Path, sink_url: str, policy: Path = POLICY) -> Path:
    doc = {
        "processors": {"phi": {"policy_file": str(policy)}},
        "exporters": {"otlp_http/phi-sink": {"endpoint": sink_url, "compression": "none",
                                             "retry_on_failure": {"enabled": False}}},
        "service": {"pipelines": {
            signal: {"receivers": ["otlp"], "processors": ["memory_limiter", "phi"], "exporters": ["otlp_http/phi-sink"]}
            for signal in ("traces", "logs")
        }},
    }
    path = tmp_path / "phi-overlay.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_distribution_includes_the_phi_processor(otelcol_bin):
    out = subprocess.run([str(otelcol_bin), "components"], capture_output=True, text=True, timeout=60, check=True).stdout
    assert "github.com/otel-clinic/otelcol-clinic/processor/phiprocessor" in out


def test_an_unknown_policy_version_or_name_fails_validation(otelcol_bin, tmp_path):
    agent = [COLLECTOR_DIR / "otelcol-agent.yaml", COLLECTOR_DIR / "otelcol-agent-phi.yaml"]
    ok = validate(*agent, overlay(tmp_path, "http://127.0.0.1:9"))
    assert ok.returncode == 0, ok.stderr
    for field, value, message in [("format", "otel-clinic-policy/9", "unsupported policy document format"),
                                  ("validator", "crc32", "unknown validator")]:
        doc = json.loads(POLICY.read_text())
        if field == "format":
            doc["format"] = value
        else:
            doc["detectors"][0]["validator"] = value
        bad = tmp_path / f"bad-{field}.json"
        bad.write_text(json.dumps(doc))
        result = validate(*agent, overlay(tmp_path, "http://127.0.0.1:9", bad))
        assert result.returncode != 0
        assert message in result.stderr


def _post(url: str, message) -> None:
    req = urllib.request.Request(url, data=message.SerializeToString(), method="POST",
                                 headers={"Content-Type": "application/x-protobuf"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200


def _str_attr(key: str, value: str) -> dict:
    return {"key": key, "value": {"stringValue": value}}


def test_agent_with_phi_processor_scrubs_before_export_and_keeps_its_queue_private(otelcol_bin, tmp_path):
    from google.protobuf import json_format

    traces = json_format.ParseDict({"resourceSpans": [{
        "resource": {"attributes": [_str_attr("service.name", "clinic-web")]},
        "scopeSpans": [{"spans": [{
            "name": "GET /patients/00135799/",
            "kind": 2, "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000100000000",
            "attributes": [_str_attr("http.route", "patients/<int:pk>/"), _str_attr("server.address", "10.20.30.40"),
                           _str_attr("clinic.note", "call 555-867-5309 re DOB 1958-07-30"),
                           _str_attr("patient.first_name", "Amara")],
            "events": [{"name": "exception", "timeUnixNano": "1700000000050000000",
                        "attributes": [_str_attr("exception.message", "invalid SSN 078-05-1120")]}],
            "status": {"code": 2, "message": "lookup failed for jane.roe@example.org"},
        }]}],
    }]}, ExportTraceServiceRequest())
    sent = traces.resource_spans[0].scope_spans[0].spans[0]
    sent.trace_id, sent.span_id = bytes.fromhex("5b8efff798038103d269b633813fc60c"), bytes.fromhex("eee19b7ec3c1b174")
    logs = json_format.ParseDict({"resourceLogs": [{"scopeLogs": [{"logRecords": [
        {"timeUnixNano": "1700000000000000000", "body": {"stringValue": "reminder sent to MRN: A1234567 at 555-867-5309"}},
    ]}]}]}, ExportLogsServiceRequest())
    with OtlpSink() as sink:
        with collector("agent", {"OTELCOL_GATEWAYS": "[127.0.0.1:9]"},
                       extra_configs=[overlay(tmp_path, sink.base_url)]) as agent:
            queue_dir = agent.workdir / "queue"
            assert stat.S_IMODE(queue_dir.stat().st_mode) == 0o700
            _post(f"http://{agent.otlp_http}/v1/traces", traces)
            _post(f"http://{agent.otlp_http}/v1/logs", logs)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not (sink.spans() and sink.log_records()):
                time.sleep(0.2)
            exposition = requests.get(agent.metrics_url, timeout=5).text
    # Self-metrics: redactions per detector and items per signal; labels never carry values or key names.
    redactions = {}
    for line in exposition.splitlines():
        if line.startswith("otelcol_processor_phi_redactions_total{"):
            labels, _, value = line.rpartition(" ")
            detector = labels.split('detector="', 1)[1].split('"', 1)[0]
            redactions[detector] = redactions.get(detector, 0.0) + float(value)
    assert redactions.get("ssn", 0) >= 1 and redactions.get("phone", 0) >= 2 and redactions.get("key", 0) >= 1
    assert 'otelcol_processor_phi_items_total{' in exposition and 'signal="traces"' in exposition
    for secret in ("555-867", "078-05", "Amara", "first_name", "clinic.note"):
        assert secret not in exposition
    (_, span), = sink.spans()
    attrs = {a.key: a.value.string_value for a in span.attributes}
    assert span.name == "GET patients/<int:pk>/"
    assert attrs["server.address"] == "[IP]"  # on the contrib chain's ignored-keys list; scanned here
    assert attrs["clinic.note"] == "call [PHONE] re DOB [DATE]"
    assert attrs["patient.first_name"] == "[REDACTED]"
    assert span.events[0].attributes[0].value.string_value == "invalid SSN [SSN]"
    assert span.status.message == "lookup failed for [EMAIL]"
    (_, record), = sink.log_records()
    assert record.body.string_value == "reminder sent to MRN: [MRN] at [PHONE]"
    raw = sink.raw_bytes()
    for secret in (b"00135799", b"555-867-5309", b"078-05-1120", b"jane.roe@example.org", b"A1234567", b"Amara"):
        assert secret not in raw

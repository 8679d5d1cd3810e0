"""Red-team: realistic PHI pushed through the example clinic and the public API, read back from every sink.

``drive()`` runs each attack once inside one ``testing.capture()`` (spans, OTel logs, metric reader, /metrics,
Sentry envelopes, JSON stdout). Every canary here was a confirmed leak (fixed since) or an attack path; all are
blocked and must stay blocked.
"""

from __future__ import annotations

import contextlib
import json
import logging

import pytest
import sentry_sdk
from django.test import Client
from opentelemetry import metrics, trace
from tests.support.sentry import CapturingTransport

import otel_clinic
from otel_clinic import testing

from .conftest import Sinks, assert_no_leak, dump_logs, dump_spans

log = logging.getLogger("clinic.redteam")

# ------------------------------------------------------------------ canaries (one per door)
ACCENTED_SURNAME = "Peña"  # /api/boom/?patient=José Peña
LAST_FIRST_GIVEN = "Marguerite"  # /api/boom/?patient=Quist, Marguerite
PARTICLE_SURNAME = "la Cruz"  # /api/boom/?patient=Maria de la Cruz
LOWER_SEARCH = "okonkwo"  # /api/patients/search/?name=okonkwo
LOWER_CREATED = "okafor"  # POST /api/patients/ with lower-case names
UMLAUT_RX = "Thackeray"  # POST /api/prescriptions/ {"patient_name": "Zoë Thackeray"}
PARAM_SURNAME, PARAM_DOB = "Vantongeren", "1958-07-30"  # log.error("... %s %s, DOB %s", ...) → Sentry params
MAPPED_IP_TAIL = "51.100.77"  # "::ffff:198.51.100.77" (Django REMOTE_ADDR on a dual-stack socket)
DOB_NO_COLON = "30-Jul-1958"  # "date of birth 30-Jul-1958"
DOB_HL7 = "19580730"  # "DOB 19580730"
NOTES_TEXT = "suspected HIV exposure"  # "notes=suspected HIV exposure"
JSON_KEY_EMAIL = "tamsin.okoro@example.org"  # '{"tamsin.okoro@example.org": "bounced"}'
DICT_KEY_EMAIL = "ivo.brandt@example.org"  # Sentry extra / log extra {"bounces": {email: 1}}
PLURAL_MRN = "00987654"  # span attribute clinic.batch.mrns=[...], log extra patient_ids=[...]
ALLOWED_LABEL_NAME = "Brandvold"  # counter.add(1, {"reason": "duplicate MRN 00555111 for Hollis Brandvold"})
EXEMPLAR_EMAIL = "exemplar.patient@example.org"  # dropped metric attribute kept as exemplar filtered_attributes
SAFE_CONTEXT_EMAIL = "ctx.patient@example.org"  # sentry_sdk.set_context("app", {...})
KIN_NAME = "Fairweather"  # extra={"guarantor": "Ottoline Fairweather"}, {"emergency_contact": ...}
FNAME_KEY = "Winifred"  # extra={"fname": "Winifred", "lname": ...}
BIG_JSON_NOTES = "disclosed opioid relapse"  # > 16 KB JSON log line with "notes": ...
HL7_NAME = "ROE^JANE"  # an HL7 v2 PID segment logged by an interface engine
HEADER_PATIENT_ID = "00135799"  # "X-Patient: 00135799" with OTel's documented header capture switched on
PG_DETAIL_MRN, PG_ROW_SSN = "00246810", "219876543"  # PostgreSQL IntegrityError DETAIL / "Failing row contains"

# blocked canaries
SSN = "078-05-1120"
CHAINED_SSN = "219-09-9999"
NOTE_MRN = "77123450"
EMAIL = "blocked.patient@example.org"
CARD = "4111 1111 1111 1111"
PHONE = "(617) 555-0143"
IPV6 = "2001:db8:85a3::8a2e:370:7334"
CAP_SSN_TAIL = "123-45-6789"
BYTES_SSN = "536-22-8190"
HEADER_SSN = "501-44-2321"
SLOW_SQL_SURNAME = "Quarrington"
BIG_SSN = "611-23-4567"
DECORATOR_DOB = "1949-02-17"
HELPER_SSN = "404-55-1212"
SENTRY_USER_EMAIL = "sentry.user@example.org"
BREADCRUMB_MRN = "44556677"
RAW_SQL_SSN = "387-11-0042"


def _counter_app_code() -> None:
    """App code with its own instruments (the public OTel API), as the seeds show."""
    meter = metrics.get_meter("clinic.app")
    rejected = meter.create_counter("clinic.intake.rejected")
    rejected.add(1, {"reason": f"duplicate MRN 00555111 for Hollis {ALLOWED_LABEL_NAME}"})
    lookups = meter.create_counter("clinic.lookups")
    with trace.get_tracer("clinic.app").start_as_current_span("lookup"):
        lookups.add(1, {"clinic.operation": "read", "patient.email": EXEMPLAR_EMAIL})


def _span_app_code() -> None:
    tracer = trace.get_tracer("clinic.app")
    with tracer.start_as_current_span("reminders.send") as span:
        span.set_attribute("clinic.reminder.results", json.dumps({JSON_KEY_EMAIL: "bounced"}))
        span.set_attribute("clinic.batch.mrns", ["00123456", PLURAL_MRN])
        span.set_attribute("clinic.payload", json.dumps({"ssn": BYTES_SSN}).encode())
        span.add_event("contact", {"clinic.emergency_contact": f"Ottoline {KIN_NAME}", "phone": PHONE})
        try:
            try:
                raise KeyError(f"SSN {CHAINED_SSN} not on file")
            except KeyError as cause:
                err = ValueError("eligibility lookup failed")
                err.add_note(f"MRN {NOTE_MRN}, contact {EMAIL}")
                raise err from cause
        except ValueError as exc:
            span.record_exception(exc)


def _database_errors_app_code() -> None:
    """The messages psycopg raises on PostgreSQL (the production database): values of the violating row."""
    from django.db import IntegrityError

    for message in (
        'duplicate key value violates unique constraint "clinic_patient_mrn_key"\n'
        f"DETAIL:  Key (mrn)=({PG_DETAIL_MRN}) already exists.",
        'null value in column "email" of relation "clinic_patient" violates not-null constraint\n'
        f"DETAIL:  Failing row contains (7, MRN-00135, Ada, Lovelace, {PG_ROW_SSN}, null, null, null).",
    ):
        with trace.get_tracer("clinic.app").start_as_current_span("patients.import"):
            try:
                raise IntegrityError(message)
            except IntegrityError as exc:
                trace.get_current_span().record_exception(exc)
                log.exception("import failed")
                sentry_sdk.capture_exception(exc)


def _raw_sql_app_code() -> None:
    """A hand-written query with literals and a comment, slow by configuration: its text is recorded."""
    from django.db import connection

    with trace.get_tracer("clinic.app").start_as_current_span("report.raw"), connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM clinic_patient WHERE ssn = '{RAW_SQL_SSN}' /* for {EMAIL} */ AND id > 17")


def _log_app_code() -> None:
    log.error("claim rejected for patient %s %s, DOB %s", "Wilhelmina", PARAM_SURNAME, PARAM_DOB)
    log.warning("failed login from %s", "::ffff:198.51.100.77")
    log.info("intake form: date of birth %s, DOB %s", DOB_NO_COLON, DOB_HL7)
    log.info("appointment updated notes=%s", NOTES_TEXT)
    log.info(json.dumps({JSON_KEY_EMAIL: "bounced"}))
    log.info("reminder run", extra={"bounces": {DICT_KEY_EMAIL: 1}, "patient_ids": ["00123456", PLURAL_MRN]})
    log.info("guarantor on file", extra={"guarantor": f"Ottoline {KIN_NAME}", "fname": FNAME_KEY, "lname": "Abernathy"})
    log.info("contact: card %s, phone %s, from %s", CARD, PHONE, IPV6)
    filler = ("routine sync of appointment slots, nothing to see here. " * 300)[:16400]
    log.info(json.dumps({"notes": BIG_JSON_NOTES, "ssn": BIG_SSN, "filler": filler}))
    log.info("HL7 ADT^A04 received: PID|1||00123456^^^MRN||%s||%s|F", HL7_NAME, "19610412")


@otel_clinic.monitor_performance("intake.validate", threshold_ms=1)
def _decorated() -> None:
    raise ValueError(f"date of birth: {DECORATOR_DOB} is in the future")


def _sentry_app_code() -> None:
    sentry_sdk.set_context("app", {"current_patient": SAFE_CONTEXT_EMAIL})
    sentry_sdk.set_user({"email": SENTRY_USER_EMAIL, "id": "42"})
    sentry_sdk.add_breadcrumb(category="clinic", message=f"opened chart MRN {BREADCRUMB_MRN}", data={"ssn": SSN})
    with sentry_sdk.new_scope() as scope:
        scope.set_extra("bounces", {DICT_KEY_EMAIL: 1})
        scope.set_extra("fname", FNAME_KEY)
        scope.set_tag("patient_ssn", SSN)
        sentry_sdk.capture_message(f"manual review for {EMAIL} (SSN {SSN})")
    sentry_sdk.set_context("app", None)
    sentry_sdk.set_user(None)


@contextlib.contextmanager
def _capture_request_headers():
    """OpenTelemetry's documented switch for recording request headers as span attributes."""
    import os

    name = "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST"
    os.environ[name] = ".*"
    try:
        yield
    finally:
        del os.environ[name]


def drive() -> Sinks:
    transport = CapturingTransport()
    with _capture_request_headers(), testing.capture(
        prometheus_enabled=True,
        exemplar_filter="always_on",
        slow_query_ms=0,  # every query is "slow": its SQL text goes to span events and logs
        sentry_dsn="http://public@127.0.0.1:9/1",
        sentry_options={"transport": transport},
    ) as cap:
        client = Client(raise_request_exception=False)
        # --- the example app
        client.get("/api/boom/", {"patient": f"José {ACCENTED_SURNAME}"})
        client.get("/api/boom/", {"patient": f"Quist, {LAST_FIRST_GIVEN}"})
        client.get("/api/boom/", {"patient": f"Maria de {PARTICLE_SURNAME}"})
        client.get("/api/patients/search/", {"name": LOWER_SEARCH}, HTTP_X_PATIENT=HEADER_PATIENT_ID)
        client.post(
            "/api/patients/",
            data=json.dumps({"mrn": "RT-0001", "first_name": "amara", "last_name": LOWER_CREATED, "ssn": CAP_SSN_TAIL}),
            content_type="application/json",
        )
        client.post(
            "/api/patients/",
            data=json.dumps({"mrn": "RT-0002", "first_name": "Ewan", "last_name": SLOW_SQL_SURNAME, "ssn": SSN,
                             "email": EMAIL, "phone": PHONE, "dob": "1950-01-02"}),
            content_type="application/json",
        )
        client.get("/api/timeout/", HTTP_X_PATIENT_SSN=HEADER_SSN,
                   HTTP_REFERER=f"https://portal.example/patients?ssn={HEADER_SSN}")
        client.post("/api/prescriptions/", data=json.dumps({"patient_name": f"Zoë {UMLAUT_RX}"}),
                    content_type="application/json")
        client.get(f"/api/patients/by-mrn/{EMAIL.replace('@', '%40')}/")
        # --- app code using the public APIs
        _counter_app_code()
        _span_app_code()
        _log_app_code()
        _database_errors_app_code()
        _raw_sql_app_code()
        try:
            _decorated()
        except ValueError:
            pass
        otel_clinic.record_patient_operation(HELPER_SSN)
        otel_clinic.record_appointment_booked(f"follow-up for {HELPER_SSN}")
        _sentry_app_code()
        prometheus = client.get("/metrics").content.decode()
        # Collect before flush(): exemplars are reset by each collection, and a periodic exporter ships the first.
        data = cap.metric_reader.get_metrics_data()
        cap.flush()
        sentry_sdk.flush()
        sinks = Sinks(
            spans=dump_spans(cap.spans()),
            logs=dump_logs(cap.logs()),
            metrics=data.to_json() if data else "",
            prometheus=prometheus,
            sentry=json.dumps(transport.payloads, ensure_ascii=False),
            stdout=cap.stdout.getvalue(),
        )
        sinks.raw = {"spans": cap.spans(), "logs": cap.logs(), "sentry": list(transport.payloads), "metrics": data}
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # leave Sentry disabled for later tests
    return sinks


# ================================================================== the harness really ran


def test_every_door_was_exercised(sinks: Sinks) -> None:
    """Guards the blocked tests against a vacuous pass: each attack produced the telemetry it targets."""
    from clinic.models import Patient

    assert Patient.objects.filter(last_name=SLOW_SQL_SURNAME, ssn=SSN).exists()
    spans = sinks.raw["spans"]
    assert any(e.name == "db.slow_query" for s in spans for e in s.events), "no slow-query event recorded"
    assert any(e.name == "exception" for s in spans if s.name == "reminders.send" for e in s.events)
    assert any(s.name == "intake.validate" and any(e.name == "exception" for e in s.events) for s in spans)
    events = [p for p in sinks.raw["sentry"] if p.get("type", "event") == "event"]
    assert any(p.get("exception") for p in events) and any(p.get("logentry") or p.get("message") for p in events)
    assert "contact: card [TEXT], phone [TEXT], from [TEXT]" in sinks.logs  # the template, arguments as placeholders
    assert '"clinic.log.args": ["[CARD]", "[PHONE]", "[IP]"]' in sinks.logs  # the arguments, scrubbed
    assert "exemplars" in sinks.metrics and sinks.prometheus.strip()
    assert "SELECT id FROM clinic_patient WHERE ssn = ? AND id > ?" in sinks.spans
    assert '"http.request.header.x_patient_ssn": "[REDACTED]"' in sinks.spans


# ================================================================== blocked (must stay blocked)
# Each canary is one attack; the ids say which door it used. The first group were leaks the red team confirmed
# and fixed since; the second were attack paths that never leaked.

FIXED_LEAKS = [
    pytest.param(ACCENTED_SURNAME, id="accented-name-in-exception-message"),
    pytest.param(UMLAUT_RX, id="umlaut-name-in-exception-message"),
    pytest.param(LAST_FIRST_GIVEN, id="last-comma-first-name"),
    pytest.param(PARTICLE_SURNAME, id="name-with-particles"),
    pytest.param(LOWER_SEARCH, id="lower-case-name-search-param"),  # the whole-key "name=" detector
    pytest.param(LOWER_CREATED, id="lower-case-name-in-app-log"),  # the name lexicon and log templates
    pytest.param(MAPPED_IP_TAIL, id="ipv4-mapped-ipv6"),
    pytest.param(DOB_NO_COLON, id="dob-day-month-name-year"),
    pytest.param(DOB_HL7, id="dob-hl7-yyyymmdd"),
    pytest.param(HEADER_PATIENT_ID, id="captured-request-header"),
    pytest.param(PG_DETAIL_MRN, id="postgres-error-detail"),
    pytest.param(PG_ROW_SSN, id="postgres-failing-row"),
    pytest.param(HL7_NAME, id="hl7-segment"),
    pytest.param(NOTES_TEXT, id="notes-key-in-free-text"),
    pytest.param(JSON_KEY_EMAIL, id="phi-as-json-key"),
    pytest.param(DICT_KEY_EMAIL, id="phi-as-dict-key"),
    pytest.param(PLURAL_MRN, id="plural-identifier-keys"),
    pytest.param(KIN_NAME, id="kin-person-keys"),
    pytest.param(FNAME_KEY, id="fname-lname-keys"),
    pytest.param(BIG_JSON_NOTES, id="notes-in-16kb-json"),
    pytest.param("00555111", id="allowlisted-metric-label-value-identifier"),  # scanned at collection (scrub_reader)
    pytest.param(ALLOWED_LABEL_NAME, id="allowlisted-metric-label-value-name"),
    pytest.param(EXEMPLAR_EMAIL, id="exemplar-filtered-attributes"),
    pytest.param(SAFE_CONTEXT_EMAIL, id="sentry-app-context"),
]


@pytest.mark.parametrize("canary", [PARAM_SURNAME, PARAM_DOB])
def test_blocked_sentry_logentry_params(sinks: Sinks, canary: str) -> None:
    assert_no_leak(sinks, canary, only=("sentry",))


@pytest.mark.parametrize(
    "canary",
    FIXED_LEAKS + [
        pytest.param(SSN, id="ssn-in-body-log-sentry-tag-message"),
        pytest.param(EMAIL, id="email-in-path-body-note-message"),
        pytest.param(CHAINED_SSN, id="chained-cause-message"),
        pytest.param(NOTE_MRN, id="exception-add_note"),
        pytest.param(CARD, id="card-in-log"),
        pytest.param(PHONE, id="phone-in-body-event-log"),
        pytest.param(IPV6, id="ipv6-in-log"),
        pytest.param(CAP_SSN_TAIL, id="ssn-in-created-log"),
        pytest.param(BYTES_SSN, id="json-bytes-span-attribute"),
        pytest.param(HEADER_SSN, id="header-and-referer-query"),
        pytest.param(SLOW_SQL_SURNAME, id="slow-query-sql-text"),
        pytest.param(BIG_SSN, id="ssn-in-16kb-json"),
        pytest.param(DECORATOR_DOB, id="monitor_performance-exception"),
        pytest.param(HELPER_SSN, id="business-helper-attributes"),
        pytest.param(SENTRY_USER_EMAIL, id="sentry-set_user"),
        pytest.param(BREADCRUMB_MRN, id="sentry-breadcrumb"),
        pytest.param(RAW_SQL_SSN, id="raw-sql-literal-and-comment"),
    ],
)
def test_blocked(sinks: Sinks, canary: str) -> None:
    assert_no_leak(sinks, canary)


def test_business_helpers_bound_their_labels(sinks: Sinks) -> None:
    assert 'clinic_operation="other"' in sinks.prometheus
    assert 'clinic_appointment_type="other"' in sinks.prometheus

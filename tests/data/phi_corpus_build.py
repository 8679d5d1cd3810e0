"""Builds tests/data/phi_corpus.jsonl: labelled positive (PHI) and negative (ordinary telemetry) examples.

Positives combine hand-written message templates (log lines, exception messages, span events, notes)
with hand-picked fake identifiers of every pattern-detectable kind; ``secret`` is the part that must
not survive. Negatives are ordinary telemetry strings that must pass unchanged. Deterministic: rerun
``python tests/data/phi_corpus_build.py`` after editing and commit the JSONL.
"""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

OUT = Path(__file__).with_name("phi_corpus.jsonl")

VALUES: dict[str, list[str]] = {
    "ssn": ["123-45-6789", "078-05-1120", "219 09 9999", "457-55-5462", "536-22-8726", "001-01-0001"],
    "phone": ["555-867-5309", "(212) 555-0147", "415.555.0199", "+1 617 555 0123", "+44 20 7946 0958",
              "+4915123456789", "1-800-555-0175", "303 555 0142"],
    "email": ["jane.roe@example.com", "j.smith+clinic@mail.example.org", "PATIENT_77@hospital.health",
              "maria-lopez@sub.domain.co.uk", "bob@example.io"],
    "card": ["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005", "6011111111111117",
             "4012888888881881", "5105 1051 0510 5100"],
    "ipv4": ["203.0.113.42", "198.51.100.7", "192.168.1.23", "10.20.30.40", "172.16.254.1"],
    "ipv6": ["2001:db8:85a3::8a2e:370:7334", "fe80::1ff:fe23:4567:890a", "2001:0db8:0000:0000:0000:ff00:0042:8329"],
}
CONTEXT_VALUES: dict[str, list[tuple[str, str]]] = {
    "mrn": [("MRN: ", "A1234567"), ("MRN ", "00456789"), ("MR# ", "99812"), ("patient id: ", "P-778899"),
            ("medical record number ", "MR-2024-0042"), ("mrn=", "Z9988776")],
    "member_id": [("member id: ", "XYZ123456789"), ("Insurance ID ", "BCB99887766"), ("policy number: ", "PN-55667788"),
                  ("subscriber id=", "SUB00112233"), ("Medicare number ", "1EG4-TE5-MK73")],
    "account": [("account number: ", "0012345678"), ("acct # ", "99001122"), ("bank account ", "GB29-1234-5678")],
    "license": [("driver's license ", "D1234567"), ("license number: ", "CA-88776655"), ("passport ", "X12345678")],
    "dob": [("DOB: ", "1980-02-03"), ("date of birth ", "03/02/1980"), ("born on ", "March 3, 1980"),
            ("dob=", "1975-12-31"), ("Date of Birth: ", "12 Jan 1962")],
    "phi_date": [("admitted on ", "2024-01-15"), ("discharged ", "01/20/2024"), ("admission date: ", "2023-11-02"),
                 ("discharge date ", "5 Feb 2024")],
    "zip": [("zip code: ", "90210"), ("ZIP ", "10001-1234"), ("postal code ", "60614")],
    "address": [("", "1600 Pennsylvania Avenue"), ("", "42 North Elm St., Apt 5"), ("", "350 5th Avenue, New York, NY 10118"),
                ("", "77 Sunset Blvd"), ("", "Springfield, IL 62704")],
    "name": [("patient: ", "Jane Roe"), ("Dear Mr. ", "Smith"), ("name=", "Jane+Roe"), ("Patient name: ", "Maria Lopez"),
             ("seen by Mrs. ", "Alvarez"), ("patient ", "John Doe"), ("Dear ", "Ms. Okafor")],
    "keyed": [("first_name=", "jane"), ("last_name: ", "roe"), ('"email": ', '"someone@x.org"'), ("ssn=", "987654321"),
              ("password=", "hunter2!"), ("diagnosis: ", "E11.9")],
    "url": [("https://clinic.example/patients/search?", "dob=1980-02-03&name=roe"),
            ("https://", "admin:s3cr3t@db.example/clinic"), ("http://api.example/p/", "123-45-6789/notes")],
}
TEMPLATES = [
    "{v}",
    "lookup failed for {v}",
    "Patient record {v} not found",
    "ValueError: invalid value '{v}'",
    "sent reminder to {v} at 09:00",
    "note: caller gave {v}; verified",
    "[{v}] queued for billing",
    "{v} - request from front desk",
    "KeyError({v!r})",
    "retrying notification ({v}) attempt 2/5",
]

NEGATIVES = [
    # routes, span names, methods
    "GET /api/v1/patients/{id}/", "POST patients/<int:pk>/appointments/", "patients/<int:patient_id>/prescriptions/",
    "GET /health/", "/metrics", "PUT /api/v2/appointments/{appointment_id}/", "DELETE /api/v1/sessions/{id}",
    "GET patients/<slug:slug>/", "OPTIONS /", "HEAD /static/{path}",
    # status, durations, sizes
    "200", "201", "204", "301", "404", "500", "503", "HTTP 429 Too Many Requests", "12.5ms", "0.003", "1534 ms",
    "took 2.41s", "p95=812ms", "1048576 bytes", "rss=123456 KB", "latency_ms=87",
    # ids
    "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "a3ce929d0e0e4736", "550e8400-e29b-41d4-a716-446655440000",
    "f47ac10b-58cc-4372-a567-0e02b2c3d479", "celery-task-7f3e2c1a", "req_01HF3Z8X9Y2K", "sha256:9f86d081884c7d659a2feaa0c55ad015",
    "a1b2c3d4e5f6", "0xdeadbeef",
    # versions, release names
    "v5.2.19", "1.45.1", "0.66b1", "2026.11.0", "clinic-api@2026.11.23+g3f2a1b9", "Python 3.11.7", "Django/5.2.19",
    "gunicorn/22.0.0", "release 2026-11-23", "build 8812",
    # hostnames, pods, services
    "db-1.internal.clinic.local", "ip-10-0-0-5.ec2.internal", "clinic-api-7d9f8c6b5-x2k4q", "redis://cache:6379/0",
    "postgresql://db:5432/clinic", "otel-collector.observability.svc.cluster.local:4317", "localhost:8000",
    "127.0.0.1", "::1", "0.0.0.0:4318", "https://api.example.com/v1/status", "https://sentry.example.com/api/2/envelope/",
    # SQL with placeholders
    "SELECT * FROM patients WHERE id = %s", 'SELECT "clinic_patient"."id", "clinic_patient"."mrn" FROM "clinic_patient" WHERE "clinic_patient"."id" = %s LIMIT 21',
    "UPDATE patients SET first_name = %s, last_name = %s, dob = %s WHERE id = %s",
    "INSERT INTO appointments (patient_id, starts_at) VALUES ($1, $2)", "SELECT count(*) FROM prescriptions WHERE patient_id = ?",
    "DELETE FROM sessions WHERE expire_date < %(now)s", "SELECT email FROM auth_user WHERE id = :id",
    "BEGIN", "COMMIT", "SAVEPOINT s140234_x1", "SELECT 1",
    # timestamps
    "2026-11-23T10:37:50.123456Z", "2026-11-23 10:37:50,123", "1763893070", "1763893070123", "1763893070123456789",
    "Mon Nov 23 10:37:50 UTC 2026", "10:37:50", "2026-11-23",
    # log lines
    "Patient Created", "patient record updated", "appointment booked", "prescription created for patient",
    "Starting gunicorn 22.0.0", "Booting worker with pid: 4242", "Listening at: http://0.0.0.0:8000 (4240)",
    "Watching for file changes with StatReloader", "System check identified no issues (0 silenced).",
    "Task clinic.tasks.send_reminders[7f3e2c1a-0b1d-4e5f-9a8b-1c2d3e4f5a6b] succeeded in 0.0421s: None",
    "Connection to redis lost, retrying in 2.0s", "retry 3/5 after 250ms", "token expired", "account locked after 5 attempts",
    "license: MIT", "Name: GET /patients/{id}", "cache miss for key clinic:patient:list:v2", "queue length 12 above threshold 10",
    "slow query (1203 ms) on db.alias=default", "health check database ok in 3.2 ms", "hostname=db1 service_name=clinic-api",
    "user logged in", "session expired", "password reset email sent", "Invalid HTTP_HOST header",
    "Not Found: /favicon.ico", "Internal Server Error: /api/v1/patients/{id}/", "Broken pipe from ('127.0.0.1', 51234)",
    # exceptions and code
    "ValueError: invalid literal for int() with base 10", "KeyError: 'patient_id'", "DoesNotExist: Patient matching query does not exist.",
    "IntegrityError: duplicate key value violates unique constraint \"clinic_patient_mrn_key\"",
    "OperationalError: could not connect to server: Connection refused", "TimeoutError: timed out after 30s",
    "Traceback (most recent call last):\n  File \"/app/clinic/views.py\", line 42, in detail",
    "File \"/usr/lib/python3.11/site-packages/django/db/backends/utils.py\", line 89, in _execute",
    "std::vector", "clinic.views.PatientDetailView.get", "clinic/templates/patients/detail.html",
    # metrics and attributes
    "clinic.patient.operations", "http.server.request.duration", "db.client.operation.duration",
    "clinic_db_queries_per_request_bucket", "error.category=validation", "clinic.severity=slow", "le=\"0.005\"",
    # user agents and headers
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "python-requests/2.31.0", "kube-probe/1.29", "application/json; charset=utf-8", "gzip, deflate, br", "no-cache",
    # misc numbers that are not identifiers
    "42", "3.14159", "-1", "1e-05", "100%", "99.95", "order #1042", "page 3 of 12", "batch size 512", "port 5432",
]

SAFE_LOG_TEMPLATES = [
    "request finished in {ms} ms status={status}",
    "\"GET /api/v1/patients/ HTTP/1.1\" {status} {n}",
    "worker {pid} exited with code 0",
    "listening on 0.0.0.0:{port}",
    "exported {n} spans in {ms} ms",
    "trace_id={tid} span_id={sid}",
    "dropped {n} log records (queue_full)",
    "db pool usage {n}% on default",
    "upgraded to clinic-api {ver}",
    "celery queue default length {n}",
    "slow request GET patients/<int:pk>/ took {ms} ms",
    "health check redis degraded ({ms} ms)",
]


def build() -> list[dict]:
    rng = random.Random(20261123)
    rows: list[dict] = []
    for kind, values in VALUES.items():
        for value, template in itertools.product(values, rng.sample(TEMPLATES, 5)):
            text = template.replace("{v!r}", repr(value)).replace("{v}", value)
            rows.append({"label": "positive", "kind": kind, "text": text, "secret": value})
    for kind, pairs in CONTEXT_VALUES.items():
        for (context, value), template in itertools.product(pairs, rng.sample(TEMPLATES, 4)):
            embedded = context + value
            text = template.replace("{v!r}", repr(embedded)).replace("{v}", embedded)
            secret = value.strip('"')
            rows.append({"label": "positive", "kind": kind, "text": text, "secret": secret})
    negatives = list(NEGATIVES)
    for method, route in itertools.product(["GET", "POST", "PATCH"], ["patients/<int:pk>/", "/api/v1/appointments/{id}/", "/health/ready"]):
        negatives.append(f"{method} {route}")
    for _ in range(60):
        negatives.append(
            rng.choice(SAFE_LOG_TEMPLATES).format(
                ms=rng.randint(1, 30000), status=rng.choice([200, 201, 302, 400, 404, 500]), n=rng.randint(0, 500),
                pid=rng.randint(100, 65000), port=rng.choice([80, 443, 5432, 6379, 8000, 4317]),
                tid=format(rng.getrandbits(128), "032x"), sid=format(rng.getrandbits(64), "016x"),
                ver=f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}",
            )
        )
    for text in dict.fromkeys(negatives):
        rows.append({"label": "negative", "kind": "telemetry", "text": text})
    return rows


if __name__ == "__main__":
    rows = build()
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"wrote {len(rows)} rows to {OUT}")

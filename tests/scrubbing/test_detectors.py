"""Each detector: what it must replace and what ordinary telemetry it must leave alone."""

from __future__ import annotations

import pytest

from otel_clinic.scrubbing import ScrubPolicy

POLICY = ScrubPolicy.default()


def scrub(text: str) -> str:
    return POLICY.scrub_text(text)


@pytest.mark.parametrize(
    ("text", "secret", "token"),
    [
        ("ssn 123-45-6789 on file", "123-45-6789", "[SSN]"),
        ("SSN: 123 45 6789", "123 45 6789", "[SSN]"),
        ("social security number 078051120", "078051120", "[SSN]"),
        ("id=x123-45-6789", "123-45-6789", "[SSN]"),
        ("MRN: A1234567", "A1234567", "[MRN]"),
        ("MR# 99812", "99812", "[MRN]"),
        ("patient id 445566", "445566", "[MRN]"),
        ("medical record number: 00-123-456", "00-123-456", "[MRN]"),
        ("insurance member id: XYZ123456789", "XYZ123456789", "[MEMBER_ID]"),
        ("Medicare number 1EG4-TE5-MK73", "1EG4-TE5-MK73", "[MEMBER_ID]"),
        ("account no. 0012345678", "0012345678", "[ACCOUNT]"),
        ("driver's license D1234567", "D1234567", "[LICENSE]"),
        ("call 555-123-4567 now", "555-123-4567", "[PHONE]"),
        ("call (555) 123-4567", "(555) 123-4567", "[PHONE]"),
        ("cell +1 555 123 4567", "555 123 4567", "[PHONE]"),
        ("reach +442079460958 today", "+442079460958", "[PHONE]"),
        ("uk +44 20 7946 0958", "7946 0958", "[PHONE]"),
        ("phone: 5551234567", "5551234567", "[PHONE]"),
        ("mail jane.roe+clinic@example.co.uk please", "jane.roe+clinic@example.co.uk", "[EMAIL]"),
        ("from 203.0.113.42 via proxy", "203.0.113.42", "[IP]"),
        ("client 2001:db8:85a3::8a2e:370:7334 connected", "2001:db8:85a3::8a2e:370:7334", "[IP]"),
        ("peer fe80::1ff:fe23:4567:890a", "fe80::1ff:fe23:4567:890a", "[IP]"),
        ("card 4111 1111 1111 1111 charged", "4111 1111 1111 1111", "[CARD]"),
        ("card 5500-0000-0000-0004", "5500-0000-0000-0004", "[CARD]"),
        ("amex 378282246310005 ok", "378282246310005", "[CARD]"),
        ("card 4111111111111111 12/26", "4111111111111111", "[CARD]"),
        ("DOB: 1980-02-03", "1980-02-03", "[DATE]"),
        ("born on March 3, 1980", "March 3, 1980", "[DATE]"),
        ("date of birth 03/02/1980", "03/02/1980", "[DATE]"),
        ("admitted 2024-01-15 discharged 2024-01-20", "2024-01-15", "[DATE]"),
        ("discharged on 20 Jan 2024", "20 Jan 2024", "[DATE]"),
        ("lives at 1600 Pennsylvania Avenue", "1600 Pennsylvania Avenue", "[ADDRESS]"),
        ("addr 42 North Elm St., Apt 5", "42 North Elm St., Apt 5", "[ADDRESS]"),
        ("Springfield, IL 62704", "Springfield, IL 62704", "[ADDRESS]"),
        ("zip code: 90210", "90210", "[ZIP]"),
        ("patient: Jane Roe", "Jane Roe", "[NAME]"),
        ("Dear Mr. Smith,", "Smith", "[NAME]"),
        ("name=Jane+Roe&x=1", "Jane+Roe", "[NAME]"),
        ("seen by Mrs. Alvarez today", "Alvarez", "[NAME]"),
        ("first_name=jane", "jane", "[REDACTED]"),
        ('{"note": 1, "date_of_birth": "1980-02-03"}', "1980-02-03", "[REDACTED]"),
        ("Authorization: Bearer abc.def.ghi123", "abc.def.ghi123", "[REDACTED]"),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig_nature", "eyJhbGciOiJIUzI1NiJ9", "[TOKEN]"),
    ],
)
def test_positive(text: str, secret: str, token: str) -> None:
    out = scrub(text)
    assert secret not in out
    assert token in out


SAFE = [
    "GET /api/v1/patients/{id}/",
    "patients/<int:pk>/",
    "POST patients/<int:patient_id>/appointments/",
    "200",
    "HTTP 404",
    "12.5ms",
    "took 1534 ms",
    "0.003",
    "4bf92f3577b34da6a3ce929d0e0e4736",
    "00f067aa0ba902b7",
    "550e8400-e29b-41d4-a716-446655440000",
    "v5.2.19",
    "1.45.1",
    "2026.11.0",
    "db-1.internal.clinic.local",
    "ip-10-0-0-5.ec2.internal",
    "SELECT * FROM patients WHERE id = %s",
    'SELECT "patients"."id", "patients"."dob" FROM "patients" WHERE "patients"."mrn" = %s LIMIT 21',
    "UPDATE patients SET first_name = %s, dob = $1 WHERE id = ?",
    "INSERT INTO appointments (patient_id, starts_at) VALUES (:patient_id, :starts_at)",
    "2026-11-23T10:37:50.123456Z",
    "1763893070123",
    "1763893070123456789",
    "std::vector",
    "Patient Created",
    "patient record updated",
    "hostname=db1 service_name=clinic-api",
    "Traceback (most recent call last):\n  File \"/app/clinic/views.py\", line 42, in detail",
    "ValueError: invalid literal for int() with base 10",
    "clinic.patient.operations",
    "http.server.request.duration",
    "redis://cache:6379/0",
    "worker-3 pid=4242 rss=123456 KB",
    "retry 3/5 after 250ms",
    "token expired",
    "account locked after 5 attempts",
    "license: MIT",
    "Name: GET /patients/{id}",
    "127.0.0.1",
    "::1",
    "10:37:50",
    "a1b2c3d4e5f6",
]


@pytest.mark.parametrize("text", SAFE)
def test_negative_safe_telemetry_unchanged(text: str) -> None:
    assert scrub(text) == text


def test_rejected_card_candidate_does_not_hide_a_following_ssn() -> None:
    # 16 digits failing Luhn right before an SSN: the scan resumes inside the rejected candidate.
    out = scrub("ref 4111111111111112 123-45-6789")
    assert "123-45-6789" not in out
    assert "4111111111111112" in out


def test_context_prefix_is_kept_for_debugging() -> None:
    assert scrub("MRN: A1234567 not found") == "MRN: [MRN] not found"


def test_luhn_failure_is_not_a_card() -> None:
    assert scrub("order 4111111111111112") == "order 4111111111111112"


def test_invalid_ipv4_octets_are_not_an_address() -> None:
    assert scrub("build 999.300.1.2") == "build 999.300.1.2"


def test_escaped_newline_before_an_identifier_is_a_boundary() -> None:
    # JSON-encoded text: the "n" of "\n" must not glue onto the card number (found by hypothesis).
    out = scrub('"a\\n6011000000000004 001-01-0001 "')
    assert "6011000000000004" not in out and "001-01-0001" not in out
    assert scrub("tag\\t555-867-5309") == "tag\\t[PHONE]"


def test_free_text_url_hosts_are_masked_unless_infrastructure() -> None:
    policy = ScrubPolicy.default()
    assert policy.scrub_text("see https://mychart-okafor.example.org/c/1234567/summary") == "see https://[HOST]/c/{id}/summary"
    assert policy.scrub_text("GET http://otel-collector:4318/v1/traces") == "GET http://otel-collector:4318/v1/traces"
    assert policy.scrub_text("http://127.0.0.1:8000/x?dob=1958-07-30") == "http://127.0.0.1:8000/x"
    assert policy.scrub_text("http://redis.clinic.svc.cluster.local:6379/0") == "http://redis.clinic.svc.cluster.local:6379/0"
    doc = "See https://docs.djangoproject.com/en/5.2/ref/settings/#allowed-hosts"
    assert policy.scrub_text(doc) == doc
    # a URL attribute keeps the host it called (the server), its path is still scanned
    assert policy.scrub_attributes({"url.full": "https://api.stripe.com/v1/customers/9912345?email=a@b.org"}) == {
        "url.full": "https://api.stripe.com/v1/customers/{id}"
    }

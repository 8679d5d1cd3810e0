"""Key rules, configuration (env + extension), replacement styles, caps and odd input."""

from __future__ import annotations

import math
from collections import Counter

import pytest

import otel_clinic
from otel_clinic.errors import ConfigError
from otel_clinic.scrubbing import ScrubPolicy, get_active_policy, scrub, set_active_policy
from otel_clinic.scrubbing.keys import KeyAction

POLICY = ScrubPolicy.default()
HMAC_KEY = b"k" * 32


@pytest.mark.parametrize(
    "key",
    ["ssn", "SSN", "patient.first_name", "firstName", "First-Name", "clinic.patient.dob", "date_of_birth",
     "dateOfBirth", "http.request.header.authorization", "http.request.header.cookie", "user_email", "name",
     "member_id", "MemberID", "x-api-key", "insurance", "diagnosis_code", "password", "notes", "url.query"],
)
def test_sensitive_keys_replaced_whole(key: str) -> None:
    assert POLICY.scrub_attributes({key: "harmless looking value 42"}) == {key: "[REDACTED]"}


@pytest.mark.parametrize(
    "key", ["service.name", "db.name", "host.name", "queue_name", "http.route", "file_name", "display", "tokens", "author"]
)
def test_non_sensitive_keys_are_not_replaced(key: str) -> None:
    assert POLICY.scrub_attributes({key: "clinic-api"}) == {key: "clinic-api"}


def test_safe_semconv_keys_take_the_fast_path_even_with_odd_values() -> None:
    # Fast path means *no* scanning: a route template full of digits stays as the instrumentation set it.
    assert POLICY.engine.keys.classify("http.route") is KeyAction.SAFE
    assert POLICY.scrub_attributes({"http.route": "x/123-45-6789"}) == {"http.route": "x/123-45-6789"}
    assert POLICY.scrub_attributes({"other": "x/123-45-6789"}) == {"other": "x/[SSN]"}


def test_special_keys_url_path_sql() -> None:
    out = POLICY.scrub_attributes(
        {
            "url.full": "https://u:p@h/patients/77/?ssn=123-45-6789",
            "url.path": "/patients/77/",
            "http.target": "/patients/77/?dob=1980-01-01",
            "db.statement": "SELECT * FROM p WHERE mrn = 'A123456'",
            "http.route": "patients/<int:pk>/",
        },
        route="patients/<int:pk>/",
    )
    assert out["url.full"] == "https://h/patients/<int:pk>/"
    assert out["url.path"] == "/patients/<int:pk>/"
    assert out["http.target"] == "/patients/<int:pk>/"
    assert out["db.statement"] == "SELECT * FROM p WHERE mrn = ?"


def test_nested_structures_cycles_depth_and_odd_types() -> None:
    cyclic: dict = {"a": "ssn 123-45-6789"}
    cyclic["self"] = cyclic
    deep: list = []
    node = deep
    for _ in range(500):
        child: list = []
        node.append(child)
        node = child
    node.append("jane@example.com")

    class Weird:
        def __str__(self) -> str:
            raise RuntimeError("boom")

    class Patient:
        def __repr__(self) -> str:
            return "Patient(email=jane@example.com)"

        __str__ = __repr__

    value = {
        "cyclic": cyclic,
        "deep": deep,
        "bytes": b"\xff\xfe mail jane@example.com \x80",
        "weird": Weird(),
        "obj": Patient(),
        "nan": math.nan,
        "tuple": ("555-123-4567", 3),
        "set": {"jane@example.com"},
        7: "int key",
        "card_int": 4111111111111111,
        "plain_int": 1763893070123456789,
    }
    out = scrub(value)
    text = repr(out)
    assert "jane@example.com" not in text and "123-45-6789" not in text and "555-123-4567" not in text
    assert out["cyclic"]["self"] == "[CYCLE]"
    assert out["weird"] == "[UNSERIALIZABLE]"
    assert out["obj"] == "Patient(email=[REDACTED])"
    assert out["tuple"] == ("[PHONE]", 3)
    assert out["7"] == "int key"
    assert out["card_int"] == "[CARD]"
    assert out["plain_int"] == 1763893070123456789
    assert "[DEPTH_LIMIT]" in text


def test_bad_utf8_bytes_and_surrogates() -> None:
    assert POLICY.scrub(b"\xc3\x28 123-45-6789") == "\ufffd( [SSN]"
    assert POLICY.scrub("\udcff 123-45-6789") == "\udcff [SSN]"


def test_oversized_values_truncated_before_scanning_and_marked() -> None:
    policy = ScrubPolicy(max_value_bytes=1024)
    text = "x " * 600 + "ssn 123-45-6789"  # the SSN lies beyond the cap
    hits: Counter[str] = Counter()
    out = policy.scrub_text(text, hits)
    assert out.endswith("…[TRUNCATED]")
    assert len(out.encode()) <= 1024 + len("…[TRUNCATED]".encode())
    assert hits["truncated"] == 1


def test_truncation_does_not_leave_a_partial_identifier() -> None:
    policy = ScrubPolicy(max_value_bytes=256)
    text = "a" * 240 + " 123-45-6789 " + "b" * 100
    out = policy.scrub_text(text)
    assert "123-45" not in out


def test_hmac_pseudonyms_are_stable_and_keyed() -> None:
    p1 = ScrubPolicy.default().with_hmac_key(HMAC_KEY)
    p2 = ScrubPolicy.default().with_hmac_key(b"other-secret-key-000000")
    a = p1.scrub_text("mail jane@example.com")
    b = p1.scrub_text("again JANE@example.com")
    c = p2.scrub_text("mail jane@example.com")
    token = a.split(" ")[1]
    assert token.startswith("[EMAIL:") and len(token) == len("[EMAIL:]") + 10
    assert token in b  # same patient correlates across events
    assert token not in c  # ... but only under the same secret
    assert "jane" not in a


def test_with_detector_and_keys_extend_the_policy() -> None:
    policy = ScrubPolicy.default().with_detector("badge", r"BADGE-\d{6}").with_sensitive_keys(["clinic.ward"]).with_allowed_keys(["patient_count"])
    assert policy.scrub_text("scanned BADGE-123456") == "scanned [BADGE]"
    assert policy.scrub_attributes({"clinic.ward": "B2", "patient_count": 3, "patient_id": 7}) == {
        "clinic.ward": "[REDACTED]",
        "patient_count": 3,
        "patient_id": "[REDACTED]",
    }
    # without the custom detector, the free-text filter still masks the identifier shape (untyped)
    assert ScrubPolicy.default().scrub_text("scanned BADGE-123456") == "scanned [ID]"
    assert policy.without_detectors("email").scrub_text("a@b.org") == "a@b.org"


@pytest.mark.parametrize("regex", [r"a(?=b)", r"(a)\1", r"x*", r"(?P<n>x)", "["])
def test_with_detector_rejects_non_re2_or_empty_matching(regex: str) -> None:
    with pytest.raises(ConfigError) as exc:
        ScrubPolicy.default().with_detector("bad", regex)
    assert "detector bad" in exc.value.setting


def test_from_env_reads_every_setting() -> None:
    env = {
        "OTEL_CLINIC_SCRUB_MODE": "hmac",
        "OTEL_CLINIC_SCRUB_HMAC_KEY": "s" * 20,
        "OTEL_CLINIC_SCRUB_MAX_VALUE_BYTES": "4096",
        "OTEL_CLINIC_SCRUB_EXTRA_KEYS": "ward, bed_number",
        "OTEL_CLINIC_SCRUB_ALLOW_KEYS": "patient_count",
        "OTEL_CLINIC_SCRUB_EXTRA_PATTERNS": '{"badge": "BADGE-\\\\d{6}"}',
        "OTEL_CLINIC_SCRUB_METRIC_ALLOW_KEYS": "clinic.ward.type",
    }
    policy = ScrubPolicy.from_env(env)
    assert policy.replacement == "hmac" and policy.max_value_bytes == 4096
    assert policy.scrub_attributes({"bed_number": "12", "patient_count": 4}) == {
        "bed_number": policy.engine.pseudonym("[REDACTED]", "12"),
        "patient_count": 4,
    }
    assert policy.scrub_text("BADGE-123456").startswith("[BADGE:")
    assert "clinic.ward.type" in policy.metric_attribute_keys


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"OTEL_CLINIC_SCRUB_MODE": "mask"}, "OTEL_CLINIC_SCRUB_MODE"),
        ({"OTEL_CLINIC_SCRUB_MODE": "hmac"}, "OTEL_CLINIC_SCRUB_HMAC_KEY"),
        ({"OTEL_CLINIC_SCRUB_MODE": "hmac", "OTEL_CLINIC_SCRUB_HMAC_KEY": "short"}, "OTEL_CLINIC_SCRUB_HMAC_KEY"),
        ({"OTEL_CLINIC_SCRUB_MAX_VALUE_BYTES": "lots"}, "OTEL_CLINIC_SCRUB_MAX_VALUE_BYTES"),
        ({"OTEL_CLINIC_SCRUB_MAX_VALUE_BYTES": "10"}, "OTEL_CLINIC_SCRUB_MAX_VALUE_BYTES"),
        ({"OTEL_CLINIC_SCRUB_EXTRA_PATTERNS": "not json"}, "OTEL_CLINIC_SCRUB_EXTRA_PATTERNS"),
        ({"OTEL_CLINIC_SCRUB_EXTRA_PATTERNS": '{"x": "a(?=b)"}'}, "OTEL_CLINIC_SCRUB_EXTRA_PATTERNS"),
        ({"OTEL_CLINIC_SCRUB_EXTRA_PATTERNS": '["x"]'}, "OTEL_CLINIC_SCRUB_EXTRA_PATTERNS"),
    ],
)
def test_from_env_bad_values_name_the_setting(env: dict[str, str], setting: str) -> None:
    with pytest.raises(ConfigError) as exc:
        ScrubPolicy.from_env(env)
    assert exc.value.setting == setting
    assert "short" not in str(exc.value)  # a rejected secret is never echoed


def test_active_policy_drives_module_level_scrub() -> None:
    previous = get_active_policy()
    try:
        set_active_policy(ScrubPolicy.default().with_detector("badge", r"BADGE-\d{6}"))
        assert scrub("BADGE-123456") == "[BADGE]"
        assert otel_clinic.scrub("BADGE-123456") == "[BADGE]"
        with pytest.raises(ConfigError):
            set_active_policy("nope")  # type: ignore[arg-type]
    finally:
        set_active_policy(previous)


def test_json_strings_are_scrubbed_structurally() -> None:
    out = POLICY.scrub_text('{"first_name": "Jane", "visits": [{"dob": "1980-01-02"}], "status": "ok"}')
    assert out == '{"first_name": "[REDACTED]", "visits": [{"dob": "[REDACTED]"}], "status": "ok"}'
    assert POLICY.scrub_text('{"status": "ok", "n": 3}') == '{"status": "ok", "n": 3}'


def test_redaction_hits_are_counted_per_detector() -> None:
    hits: Counter[str] = Counter()
    POLICY.scrub({"a": "jane@example.com and bob@example.org", "ssn": "x", "b": "call 555-123-4567"}, hits)
    assert hits == Counter({"email": 2, "key": 1, "phone": 1})


def test_pathologically_dense_values_are_cut_not_scanned_forever() -> None:
    policy = ScrubPolicy(max_value_bytes=1024 * 1024)
    text = "MRN: " * 20_000 + " ssn 123-45-6789"
    hits: Counter[str] = Counter()
    out = policy.scrub_text(text, hits)
    assert "123-45-6789" not in out  # the rest is dropped (fail closed), never exported unscanned
    assert out.endswith("…[TRUNCATED]") and hits["truncated"] == 1

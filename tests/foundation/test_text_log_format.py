"""OTEL_CLINIC_LOG_FORMAT=text: scrubbed like the JSON format, one line per record (issue 15, log injection)."""

from __future__ import annotations

import json
import logging

from otel_clinic import testing
from otel_clinic.integrations.logging import escape_controls

PHI = ("Okafor", "078-05-1120", "amara.okafor@example.com")


def _log_everything() -> int:
    """Emits records carrying PHI and injection attempts; returns how many records were logged."""
    log = logging.getLogger("clinic.views")
    log.warning("visit for %s ssn %s", "Amara Okafor", "078-05-1120")
    log.warning(f"created patient Amara Okafor\n2026-01-01T00:00:00 INFO clinic.auth: admin login ok\r\x1b[2K")
    log.warning("contact", extra={"patient_email": "amara.okafor@example.com", "attempt": 2})
    value = "Amara Okafor"  # a traceback's source lines are code and stay readable; the data must not
    try:
        int(value)
    except ValueError:
        log.exception("conversion failed")
    return 4


def _run(log_format: str) -> str:
    with testing.capture(log_format=log_format) as cap:
        count = _log_everything()
        out = cap.stdout.getvalue()
    assert len(out.splitlines()) == count, out  # one physical line per record
    return out


def test_text_lines_are_scrubbed_and_one_line_per_record() -> None:
    out = _run("text")
    for value in PHI:
        assert value not in out
    lines = out.splitlines()
    assert lines[0].split(" ", 1)[1].startswith("WARNING clinic.views: visit for ")
    assert "\\n2026-01-01T00:00:00 INFO" in lines[1] and "\\r\\x1b[2K" in lines[1]  # the forged record stays inside
    assert "\x1b" not in out and "\r" not in out
    assert "attempt=2" in lines[2] and "patient_email=" in lines[2]
    assert "Traceback (most recent call last):\\n" in lines[3] and "int(value)" in lines[3]


def test_text_carries_what_the_json_format_carries() -> None:
    text_lines = _run("text").splitlines()
    json_lines = [json.loads(line) for line in _run("json").splitlines()]
    for text, record in zip(text_lines, json_lines):
        assert escape_controls(record["message"]) in text
        for key in ("args", "exc_info", "patient_email", "attempt"):
            if key in record:
                value = record[key]
                rendered = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                                           separators=(",", ":"))
                assert f"{key}={escape_controls(rendered)}" in text


def test_every_control_character_and_line_separator_is_escaped() -> None:
    raw = "".join(chr(i) for i in range(0x20)) + "\x7f\x85\u2028\u2029"
    escaped = escape_controls(raw)
    assert escaped.isprintable() and len(escaped.splitlines()) == 1
    assert escaped.startswith("\\x00") and "\\n" in escaped and "\\u2028" in escaped

"""ScrubbingFormatter: the text formatter an app names in its own LOGGING for consoles and files."""

from __future__ import annotations

import logging
import sys

from otel_clinic.integrations.logging import ScrubbingFormatter


def _record(msg, args=(), exc_info=None, name="clinic.views") -> logging.LogRecord:
    return logging.LogRecord(name, logging.WARNING, __file__, 1, msg, args, exc_info)


def test_templates_f_strings_and_tracebacks_are_scrubbed_one_record_per_line() -> None:
    fmt = ScrubbingFormatter()
    assert fmt.format(_record("visit for %s (MRN %s)", ("amara okafor", 12345678))) == \
        "WARNING clinic.views: visit for [TEXT] (MRN [NUM])"
    line = fmt.format(_record("created patient amara okafor ssn 078-05-1120\nFAKE 200 injected line"))
    assert "okafor" not in line and "078-05-1120" not in line and "\n" not in line and "\\n" in line
    value = "amara okafor"
    try:
        int(value)
    except ValueError:
        text = fmt.format(_record("conversion failed", exc_info=sys.exc_info()))
    # the message quoting the input is free text; the frame and its source line (code) stay readable
    assert "okafor" not in text and "Traceback (most recent call last):" in text and "int(value)" in text

"""Finding 2: under opentelemetry-instrument every log record is exported once, rewritten, without noise."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.lifecycle.support import BIN, EXAMPLE, clean_env, lines

DRIVER = textwrap.dedent(
    """
    import logging, os, sys
    sys.path.insert(0, {example!r})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic_site.settings")
    if {call_setup!r}:
        import otel_clinic
        otel_clinic.setup()
    import django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    from django.test import Client
    client = Client(raise_request_exception=False)
    for path in ("/api/patients/", "/api/no-such-page/?ssn=123-45-6789", "/api/boom/?patient=Jane",
                 "/api/timeout/"):
        client.get(path)
    logging.getLogger("clinic.lifecycle").warning("patient %s record opened", 424242)
    import otel_clinic
    otel_clinic.get_telemetry().force_flush()  # this test is about the records, not the exit flush
    print("DONE", flush=True)
    """
)


def _run(tmp_path: Path, launcher: bool) -> tuple[list[dict], str]:
    where = tmp_path / ("launcher" if launcher else "setup")
    where.mkdir()
    env = clean_env(where, OTEL_PYTHON_DISTRO="otel_clinic", OTEL_PYTHON_CONFIGURATOR="otel_clinic")
    script = where / "driver.py"
    script.write_text(DRIVER.format(example=str(EXAMPLE), call_setup=not launcher))
    cmd = [sys.executable, str(script)]
    if launcher:
        cmd = [str(BIN / "opentelemetry-instrument"), *cmd]
    proc = subprocess.run(cmd, env=env, cwd=where, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0 and "DONE" in proc.stdout, proc.stderr[-3000:]
    return lines(where, "logs"), proc.stderr


def _summary(records: list[dict]) -> list[tuple]:
    return sorted((str(r["severity_text"]), str(r["body"]), (r.get("attributes") or {}).get("clinic.log.template") or "") for r in records)


def test_launcher_exports_the_same_log_records_as_setup_and_no_noise(tmp_path: Path) -> None:
    via_setup, setup_err = _run(tmp_path, launcher=False)
    via_launcher, launcher_err = _run(tmp_path, launcher=True)
    assert via_setup, "setup() exported no log records"
    assert _summary(via_launcher) == _summary(via_setup)
    exported = repr(via_launcher)
    assert "WSGIRequest" not in exported and "123-45-6789" not in exported and "Jane" not in exported
    for noise in ("Invalid type", "detected recursive logging", "Attempting to instrument while already"):
        assert noise not in launcher_err, launcher_err[-3000:]

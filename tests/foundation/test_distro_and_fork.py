"""The opentelemetry-instrument launcher path and fork safety, each in a real subprocess."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

DRIVER = textwrap.dedent(
    """
    import os, sys
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
    for path in ("/api/patients/", "/api/patients/424242/?ssn=1", "/api/timeout/", "/api/rate-limited/", "/health/live"):
        client.get(path)
    import otel_clinic
    handle = otel_clinic.get_telemetry()
    print("HANDLE", handle is not None)
    handle.force_flush()
    """
)


def _run(tmp_path: Path, launcher: bool) -> list[dict]:
    out = tmp_path / ("instrument" if launcher else "setup")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "DJANGO_SETTINGS"))}
    env.update(
        OTEL_CLINIC_EXPORT_DIR=str(out), CLINIC_SQLITE_PATH=str(tmp_path / f"{out.name}.sqlite3"),
        OTEL_CLINIC_RELEASE="7.7.7", OTEL_PYTHON_DISTRO="otel_clinic", OTEL_PYTHON_CONFIGURATOR="otel_clinic",
        OTEL_CLINIC_LOG_FORMAT="none", PYTHONPATH=str(REPO),
    )
    script = tmp_path / f"driver_{out.name}.py"
    script.write_text(DRIVER.format(example=str(REPO / "examples" / "clinic"), call_setup=not launcher))
    cmd = [str(BIN / "opentelemetry-instrument"), sys.executable, str(script)] if launcher else [sys.executable, str(script)]
    proc = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "HANDLE True" in proc.stdout
    return [json.loads(line) for line in (out / "traces.jsonl").read_text().splitlines()]


def _summary(spans: list[dict]) -> list[tuple]:
    keys = ("http.route", "clinic.severity", "error.category", "error.type", "http.request.method", "http.response.status_code")
    return sorted((s["name"], tuple((k, s["attributes"].get(k)) for k in keys)) for s in spans if s["kind"] == "SpanKind.SERVER")


def test_opentelemetry_instrument_builds_the_same_pipeline_as_setup(tmp_path):
    via_setup = _run(tmp_path, launcher=False)
    via_launcher = _run(tmp_path, launcher=True)
    assert _summary(via_launcher) == _summary(via_setup)
    names = {s["name"] for s in via_launcher}
    assert "GET api/patients/<int:pk>/" in names and not any("424242" in n for n in names)
    assert via_launcher[0]["resource"]["attributes"]["service.version"] == "7.7.7"
    assert not any(s["attributes"].get("http.route", "").startswith("health") for s in via_launcher)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_worker_gets_its_own_instance_id_and_exports(tmp_path):
    script = tmp_path / "fork.py"
    script.write_text(textwrap.dedent(
        f"""
        import json, os, sys
        import otel_clinic
        from opentelemetry import trace
        handle = otel_clinic.setup(instrument_django=False, log_format="none")
        parent_id = handle.tracer_provider.resource.attributes["service.instance.id"]
        pid = os.fork()
        if pid == 0:
            with trace.get_tracer("t").start_as_current_span("in-child"):
                pass
            handle.force_flush()
            child_id = handle.tracer_provider.resource.attributes["service.instance.id"]
            print(json.dumps({{"parent": parent_id, "child": child_id}}), flush=True)
            os._exit(0)
        os.waitpid(pid, 0)
        """
    ))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(OTEL_CLINIC_EXPORT_DIR=str(tmp_path / "t"), PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ids = json.loads(proc.stdout.strip().splitlines()[-1])
    assert ids["parent"] != ids["child"]
    spans = [json.loads(l) for l in (tmp_path / "t" / "traces.jsonl").read_text().splitlines()]
    child = [s for s in spans if s["name"] == "in-child"]
    assert child and child[0]["resource"]["attributes"]["service.instance.id"] == ids["child"]

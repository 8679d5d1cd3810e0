"""Under gunicorn (one sync worker, the example's gunicorn.conf.py): an exception escaping Django (the 500
handler fails) ends its span and leaves the next requests as new root spans; gunicorn's own error and access
lines carry route templates, never the raw URI, query string or client address."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "clinic"
GUNICORN = Path(sys.executable).parent / "gunicorn"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def test_gunicorn_escaped_exception_and_rewritten_gunicorn_logs(tmp_path):
    (tmp_path / "realapp_gunicorn_settings.py").write_text(
        "from clinic_site.settings import *  # noqa\nROOT_URLCONF = 'tests.foundation.realapp_urls'\n"
    )
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRY_", "DJANGO_SETTINGS"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "realapp_gunicorn_settings",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO), str(EXAMPLE)]),
        "CLINIC_SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        "CLINIC_BIND": f"127.0.0.1:{port}", "CLINIC_WORKERS": "1", "CLINIC_ACCESS_LOG": "-",
        "OTEL_CLINIC_EXPORT_DIR": str(tmp_path / "telemetry"), "OTEL_BSP_SCHEDULE_DELAY": "100",
    })
    out = open(tmp_path / "gunicorn.log", "wb")
    proc = subprocess.Popen([str(GUNICORN), "-c", "clinic_site/gunicorn.conf.py", "clinic_site.wsgi:application"],
                            cwd=EXAMPLE, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(f"http://127.0.0.1:{port}/") == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
            time.sleep(0.2)
        assert _get(f"http://127.0.0.1:{port}/boom/?name=Jane+Doe&phone_number=5551234567") == 500
        assert _get(f"http://127.0.0.1:{port}/") == 200
        assert _get(f"http://127.0.0.1:{port}/api/v1/patient/ext-078051120/?phone_number=5551234567") == 200
        time.sleep(1.0)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        out.close()
    log = (tmp_path / "gunicorn.log").read_text()
    # gunicorn's own lines: route templates, no raw URI, query string or client address
    assert "Error handling request GET /boom/" in log, log
    assert '"GET /boom/ HTTP/1.1" 500' in log, log
    assert '"GET /api/v1/patient/{external_id}/ HTTP/1.1" 200' in log, log
    for raw in ("Jane", "5551234567", "078051120", "name=", "127.0.0.1 -"):
        assert raw not in log, raw

    spans = []
    for line in (tmp_path / "telemetry" / "traces.jsonl").read_text().splitlines():
        if line.strip():
            spans.append(json.loads(line))
    server = [s for s in spans if s.get("kind") in ("SpanKind.SERVER", "SERVER")]
    by_route = {s["attributes"].get("http.route"): s for s in server}
    failed = by_route["boom/"]
    assert failed["status"]["status_code"] == "ERROR"
    assert failed["attributes"]["error.category"] == "server_error"
    # every request after the escaped exception is a new root span (one sync worker: same thread)
    after = [s for s in spans if s["attributes"].get("http.route") in ("/", "api/v1/patient/{external_id}/")]
    assert len(after) >= 3
    assert all(s["parent_id"] is None for s in after)
    assert all(s["context"]["trace_id"] != failed["context"]["trace_id"] for s in after)

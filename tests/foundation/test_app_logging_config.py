"""Our logging survives the app's own settings.LOGGING, applied by django.setup() after otel_clinic.setup().

Each scenario runs in a subprocess: LOGGING is applied once per process and disable_existing_loggers would
disable loggers for the rest of this test session."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent('''
    import json, logging, os, sys
    from otel_clinic import testing

    with testing.capture(log_format="json") as cap:
        import django
        django.setup()  # applies settings.LOGGING after our setup, as in a real app
        from django.test import Client

        app = logging.getLogger("clinic.views")
        app.warning("appointment booked for %s", "Jane Q. Doe")
        client = Client()
        status = client.get("/no/such/page/?name=Jane+Doe").status_code
        root = logging.getLogger()
        result = {
            "status": status,
            "otel_bodies": [str(r.log_record.body) for r in cap.logs()],
            "json_messages": [line["message"] for line in cap.json_lines()],
            "otel_clinic_disabled": logging.getLogger("otel_clinic.django").disabled,
            "root_handler_classes": sorted(type(h).__name__ for h in root.handlers),
        }
        # someone removes our handlers later: one warning at the next request
        for handler in list(root.handlers):
            if type(handler).__name__ != "StreamHandler" or handler.stream is not sys.stderr:
                root.removeHandler(handler)
        client.get("/")
        client.get("/")
    print("RESULT " + json.dumps(result))
''')


def run(tmp_path, logging_dict):
    (tmp_path / "realapp_logging_settings.py").write_text(
        "from clinic_site.settings import *  # noqa\n"
        "ROOT_URLCONF = 'tests.foundation.realapp_urls'\n"
        f"LOGGING = {logging_dict!r}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRY_"))}
    env["DJANGO_SETTINGS_MODULE"] = "realapp_logging_settings"
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(REPO), str(REPO / "examples" / "clinic")])
    env["CLINIC_SQLITE_PATH"] = str(tmp_path / "db.sqlite3")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):]), proc.stderr


ROOT_STREAM = {
    "version": 1,
    "disable_existing_loggers": True,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
}


def test_root_logging_config_keeps_our_handlers_and_warns_about_what_it_disabled(tmp_path):
    result, stderr = run(tmp_path, ROOT_STREAM)
    assert result["status"] == 404
    # the app's own logger reaches our OTel bridge and JSON stdout, as a template
    assert any(b.startswith("appointment booked for") for b in result["otel_bodies"]), result
    assert any(m.startswith("appointment booked for") for m in result["json_messages"]), result
    assert "StreamHandler" in result["root_handler_classes"] and len(result["root_handler_classes"]) >= 3
    assert result["otel_clinic_disabled"] is False
    # disable_existing_loggers disabled Django's loggers (the app's choice): we say so instead of going quiet
    assert stderr.count("disabled the loggers django, django.request, django.server") == 1
    assert "name=Jane" not in stderr and "/no/such" not in stderr
    # our handlers removed later: warned once
    assert stderr.count("its logging handlers were removed") == 1


NAMED_HANDLER = {
    "version": 1,
    "disable_existing_loggers": True,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "plain"},
        "otel": {"class": "otel_clinic.integrations.logging.ClinicHandler"},
    },
    "loggers": {"django": {"handlers": ["console", "otel"], "level": "INFO", "propagate": False}},
    "root": {"handlers": ["console", "otel"], "level": "INFO"},
}


def test_documented_handler_class_in_the_apps_logging(tmp_path):
    result, stderr = run(tmp_path, NAMED_HANDLER)
    bodies = result["otel_bodies"]
    # Django's 404 line is rewritten at its source (route or [path], no query) in the app's console and ours
    assert "Not Found: [path]" in stderr and "name=Jane" not in stderr and "/no/such" not in stderr
    assert sum("Not Found" in b for b in bodies) == 1, bodies
    assert sum(b.startswith("appointment booked") for b in bodies) == 1, bodies  # named on root: not added twice
    assert "ClinicHandler" in result["root_handler_classes"]
    assert "disabled the loggers" not in stderr
    assert all("Jane" not in b for b in bodies)  # the app's own argument: a placeholder in our export

"""Finding 4: shutdown() undoes what setup() patched (library instrumentors, every Django patch through
``ClinicDjangoInstrumentor``), and only that; instrument -> uninstrument -> instrument works."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.lifecycle.support import REPO, clean_env

SCRIPT = textwrap.dedent(
    """
    import json, logging
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    import otel_clinic
    instrumentors = {{"psycopg": PsycopgInstrumentor(), "redis": RedisInstrumentor(), "celery": CeleryInstrumentor()}}
    if {preinstrumented!r}:
        RedisInstrumentor().instrument()  # someone else's patch: not ours to undo
    root_handlers = list(logging.getLogger().handlers)
    handle = otel_clinic.setup(instrument_django=False, log_format="json")
    during = {{k: i.is_instrumented_by_opentelemetry for k, i in instrumentors.items()}}
    handle.shutdown()
    after = {{k: i.is_instrumented_by_opentelemetry for k, i in instrumentors.items()}}
    print(json.dumps({{"during": during, "after": after,
                      "handlers_restored": logging.getLogger().handlers == root_handlers}}))
    """
)


def _run(tmp_path: Path, preinstrumented: bool) -> dict:
    script = tmp_path / "script.py"
    script.write_text(SCRIPT.format(preinstrumented=preinstrumented))
    proc = subprocess.run([sys.executable, str(script)], env=clean_env(tmp_path), cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_shutdown_uninstruments_the_libraries_setup_instrumented(tmp_path: Path) -> None:
    result = _run(tmp_path, preinstrumented=False)
    assert result["during"] == {"psycopg": True, "redis": True, "celery": True}
    assert result["after"] == {"psycopg": False, "redis": False, "celery": False}
    assert result["handlers_restored"]


def test_shutdown_leaves_instrumentations_it_did_not_make(tmp_path: Path) -> None:
    result = _run(tmp_path, preinstrumented=True)
    assert result["after"] == {"psycopg": False, "redis": True, "celery": False}


DJANGO_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    sys.path.insert(0, {example!r})
    import otel_clinic
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    def exporter():
        return InMemorySpanExporter()

    first = exporter()
    # Settings are not resolvable yet (as under opentelemetry-instrument before manage.py): setup() defers.
    handle = otel_clinic.setup(log_format="none", traces_exporters="none", metrics_exporters="none",
                               logs_exporters="none", instrumentations="none", extra_span_exporters=[first])
    from django.core.handlers.base import BaseHandler
    from django.core.cache.backends.locmem import LocMemCache
    from django.core.signals import got_request_exception
    from django.db.backends.signals import connection_created
    deferred = BaseHandler.__dict__["load_middleware"].__module__ == "otel_clinic.integrations.django.instrumentation"
    os.environ["DJANGO_SETTINGS_MODULE"] = "clinic_site.settings"
    import django
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    from django.db import connection
    from django.test import Client
    from django.urls import path, include
    from opentelemetry import trace
    from otel_clinic.integrations.django.instrumentation import ClinicDjangoInstrumentor, MIDDLEWARE_PATH
    from otel_clinic.integrations.django.request_state import current_request
    from django.http import JsonResponse

    def probe(request):  # what the instrumentation sees from inside a view
        return JsonResponse({{"span": trace.get_current_span().get_span_context().is_valid,
                             "state": current_request.get() is not None}})

    urlpatterns = [path("probe/", probe), path("", include("clinic_site.urls"))]
    settings.ROOT_URLCONF = "__main__"

    def receivers(signal):
        return sum(1 for entry in signal.receivers if "otel_clinic" in str(entry[0]))

    def patched():
        connection.ensure_connection()
        return {{"middleware": MIDDLEWARE_PATH in settings.MIDDLEWARE,
                "db_wrappers": len(connection.execute_wrappers),
                "cache_wrapped": hasattr(LocMemCache.get, "__wrapped__"),
                "exception_receivers": receivers(got_request_exception),
                "connection_receivers": receivers(connection_created),
                "deferral": BaseHandler.__dict__["load_middleware"].__module__ != "django.core.handlers.base",
                "patches": ClinicDjangoInstrumentor().patches,
                "instrumented": ClinicDjangoInstrumentor().is_instrumented_by_opentelemetry}}

    client = Client()  # its handler (and middleware chain) is built on the first request and kept
    served = [client.get("/probe/").json(), client.get("/api/patients/").status_code]
    during = patched()
    handle.tracer_provider.force_flush()
    spans_during = [s.name for s in first.get_finished_spans()]
    handle.shutdown()
    after = patched()
    after_probe = client.get("/probe/").json()  # a handler built while instrumented
    fresh_probe = Client().get("/probe/").json()

    second = exporter()
    handle2 = otel_clinic.setup(log_format="none", traces_exporters="none", metrics_exporters="none",
                                logs_exporters="none", instrumentations="none", extra_span_exporters=[second])
    again = Client().get("/api/patients/").status_code, patched()
    handle2.tracer_provider.force_flush()
    spans_again = [s.name for s in second.get_finished_spans()]
    handle2.shutdown()
    print(json.dumps({{"deferred": deferred, "served": served, "during": during, "spans_during": spans_during,
                      "after": after, "after_probe": after_probe, "fresh_probe": fresh_probe,
                      "again": again, "spans_again": spans_again, "final": patched()}}))
    """
)


def test_shutdown_removes_every_django_patch_and_instrument_again_works(tmp_path: Path) -> None:
    script = tmp_path / "django_script.py"
    script.write_text(DJANGO_SCRIPT.format(example=str(REPO / "examples" / "clinic")))
    proc = subprocess.run([sys.executable, str(script)], env=clean_env(tmp_path), cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["deferred"], "settings were not resolvable: setup() should have deferred to the first handler"
    assert result["served"] == [{"span": True, "state": True}, 200]
    during = result["during"]
    assert during["middleware"] and during["db_wrappers"] == 1 and during["cache_wrapped"]
    assert during["exception_receivers"] == 1 and during["connection_receivers"] == 1
    assert not during["deferral"] and during["patches"] > 0 and during["instrumented"]
    assert "GET probe/" in result["spans_during"] and "GET api/patients/" in result["spans_during"]
    assert result["after"] == {"middleware": False, "db_wrappers": 0, "cache_wrapped": False,
                               "exception_receivers": 0, "connection_receivers": 0, "deferral": False,
                               "patches": 0, "instrumented": False}
    # after shutdown a request makes no span and opens no request state (so records no request metrics)
    assert result["after_probe"] == {"span": False, "state": False}
    assert result["fresh_probe"] == {"span": False, "state": False}
    status, again = result["again"]
    assert status == 200 and again["middleware"] and again["db_wrappers"] == 1 and again["instrumented"]
    assert "GET api/patients/" in result["spans_again"]
    assert result["final"]["patches"] == 0 and not result["final"]["middleware"]

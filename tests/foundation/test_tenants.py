"""Issue 13, tenants: ``clinic.tenant`` from the resolver or ``set_tenant`` on server spans, request durations,
DB query metrics and business counters; at most ``tenant_limit`` tenants per process (the rest ``_other``,
counted); resolver failures never reach the request; PHI-looking tenant values are scrubbed."""

from __future__ import annotations

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import path
from opentelemetry import trace

import otel_clinic
from otel_clinic import ConfigError, testing
from otel_clinic.semantics.business import record_patient_operation
from tests.foundation.conftest import points

HERE = "tests.foundation.test_tenants"


# --- resolvers (OTEL_CLINIC_TENANT_RESOLVER=tests.foundation.test_tenants:<name>) ------------------------------

def tenant_from_header(request):
    return request.META.get("HTTP_X_ORG")


def failing_resolver(request):
    raise RuntimeError("directory service down")


# --- views ----------------------------------------------------------------------------------------------------

def query_view(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    record_patient_operation("read")
    return HttpResponse("ok")


def set_tenant_view(request):
    otel_clinic.set_tenant(request.GET.get("org"))
    return query_view(request)


urlpatterns = [path("q/", query_view), path("set/", set_tenant_view)]


def _server_span(cap):
    (span,) = [s for s in cap.spans() if s.kind == trace.SpanKind.SERVER]
    return span


@override_settings(ROOT_URLCONF=HERE)
def test_resolver_tenant_on_span_request_duration_db_metrics_and_business_counters():
    with testing.capture(tenant_resolver=f"{HERE}:tenant_from_header") as cap:
        assert Client().get("/q/", HTTP_X_ORG="org-7").status_code == 200
        assert _server_span(cap).attributes["clinic.tenant"] == "org-7"
        assert points(cap, "http.server.request.duration", **{"clinic.tenant": "org-7", "http.route": "q/"})
        assert points(cap, "db.client.operation.duration", **{"clinic.tenant": "org-7"})
        assert points(cap, "clinic.db.queries_per_request", **{"clinic.tenant": "org-7"})
        assert points(cap, "clinic.patient.operations", **{"clinic.tenant": "org-7", "clinic.operation": "read"})


@override_settings(ROOT_URLCONF=HERE)
def test_set_tenant_wins_and_does_not_leak_into_the_next_request():
    with testing.capture(tenant_resolver=f"{HERE}:tenant_from_header") as cap:
        client = Client()
        assert client.get("/set/?org=org-b", HTTP_X_ORG="org-a").status_code == 200
        assert client.get("/q/").status_code == 200  # same thread, no header, no set_tenant
        first, second = [s for s in cap.spans() if s.kind == trace.SpanKind.SERVER]
        assert first.attributes["clinic.tenant"] == "org-b"
        assert "clinic.tenant" not in second.attributes
        assert points(cap, "clinic.patient.operations", **{"clinic.tenant": "org-b"})
        tenants = {p.attributes.get("clinic.tenant") for p in cap.metric_points("http.server.request.duration")}
        assert tenants == {"org-b", None}


@override_settings(ROOT_URLCONF=HERE)
def test_a_thousand_tenants_stay_bounded_and_the_folds_are_counted():
    limit, requests = 100, 1_000
    with testing.capture(tenant_resolver=f"{HERE}:tenant_from_header", tenant_limit=limit) as cap:
        client = Client()
        for i in range(requests):
            assert client.get("/q/", HTTP_X_ORG=f"org-{i}").status_code == 200
        for name in ("http.server.request.duration", "db.client.operation.duration", "clinic.patient.operations"):
            # Tenant values only: a query outside any tenant's request (a health gauge's DB probe on the collection
            # thread, say) has no clinic.tenant and is not a tenant series.
            seen = {p.attributes.get("clinic.tenant") for p in cap.metric_points(name)} - {None}
            assert len(seen) <= limit + 1, (name, len(seen))
            assert "_other" in seen and "org-0" in seen and f"org-{requests - 1}" not in seen
        (folded,) = cap.metric_points("clinic.tenant.folded")
        assert folded.value == requests - limit
        other = points(cap, "http.server.request.duration", **{"clinic.tenant": "_other"})  # one per severity seen
        assert sum(p.count for p in other) == requests - limit
        spans = [s for s in cap.spans() if s.kind == trace.SpanKind.SERVER]
        assert spans[-1].attributes["clinic.tenant"] == "_other"


def test_a_resolver_that_cannot_be_imported_fails_setup_naming_the_setting():
    testing.reset_globals()
    with pytest.raises(ConfigError, match="OTEL_CLINIC_TENANT_RESOLVER"):
        otel_clinic.setup(tenant_resolver="no_such_module_for_tenants:resolve", traces_exporters="none",
                          metrics_exporters="none", logs_exporters="none")
    assert otel_clinic.get_telemetry() is None
    with pytest.raises(ConfigError, match="OTEL_CLINIC_TENANT_RESOLVER"):
        otel_clinic.setup(tenant_resolver=f"{HERE}:no_such_function", traces_exporters="none",
                          metrics_exporters="none", logs_exporters="none")
    assert otel_clinic.get_telemetry() is None


@override_settings(ROOT_URLCONF=HERE)
def test_a_failing_resolver_never_breaks_the_request_and_is_counted():
    with testing.capture(tenant_resolver=f"{HERE}:failing_resolver") as cap:
        assert Client().get("/q/").status_code == 200
        assert Client().get("/q/").status_code == 200
        span = [s for s in cap.spans() if s.kind == trace.SpanKind.SERVER][0]
        assert "clinic.tenant" not in span.attributes and span.attributes["clinic.severity"]
        (errors,) = cap.metric_points("clinic.tenant.resolver_errors")
        assert errors.value == 2


@override_settings(ROOT_URLCONF=HERE)
def test_a_tenant_value_that_looks_like_phi_is_scrubbed():
    ssn = "078-05-1120"
    with testing.capture(tenant_resolver=f"{HERE}:tenant_from_header") as cap:
        assert Client().get("/q/", HTTP_X_ORG=f"ssn {ssn}").status_code == 200
        span = _server_span(cap)
        assert "clinic.tenant" in span.attributes and ssn not in str(span.attributes["clinic.tenant"])
        values = [p.attributes.get("clinic.tenant") for p in cap.metric_points("http.server.request.duration")]
        assert values and all(v is not None and ssn not in v for v in values)


def test_celery_tasks_carry_the_publishers_tenant():
    from celery.signals import before_task_publish, task_postrun, task_prerun

    from otel_clinic import tenants

    class Request:
        clinic_tenant = None

    class Task:
        request = Request()

    with testing.capture():
        token = tenants.begin()
        try:
            otel_clinic.set_tenant("org-celery")
            headers: dict = {}
            before_task_publish.send(sender="clinic.tasks.remind", headers=headers, body=())
            assert headers[tenants.CELERY_HEADER] == "org-celery"
        finally:
            tenants.end(token)
        assert tenants.current_tenant() is None
        Task.request.clinic_tenant = headers[tenants.CELERY_HEADER]  # what the worker sees in task.request
        task_prerun.send(sender=Task, task_id="t-1", task=Task, args=(), kwargs={})
        assert tenants.current_tenant() == "org-celery"
        task_postrun.send(sender=Task, task_id="t-1", task=Task, args=(), kwargs={}, retval=None, state="SUCCESS")
        assert tenants.current_tenant() is None
    # after shutdown the signals are disconnected: a tenant set in this context no longer travels
    token = tenants.begin()
    try:
        otel_clinic.set_tenant("org-after")
        headers = {}
        before_task_publish.send(sender="clinic.tasks.remind", headers=headers, body=())
        assert headers == {}
    finally:
        tenants.end(token)


def test_a_real_celery_worker_runs_the_task_under_the_publishers_tenant():
    from celery import Celery
    from celery.contrib.testing.worker import start_worker

    from otel_clinic import tenants

    app = Celery("tenant_test", broker="memory://", backend="cache+memory://")
    app.conf.update(worker_hijack_root_logger=False)

    @app.task(name="tenant_test.probe")
    def probe():
        return tenants.current_tenant()

    with testing.capture():
        with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING", shutdown_timeout=10):
            token = tenants.begin()
            try:
                otel_clinic.set_tenant("org-celery")
                with_tenant = probe.delay()
            finally:
                tenants.end(token)
            without = probe.delay()
            assert with_tenant.get(timeout=30) == "org-celery"
            assert without.get(timeout=30) is None  # the worker thread's previous tenant did not stick


def test_setup_never_imports_celery_and_a_web_process_connects_on_its_first_tenant(tmp_path):
    import json
    import os
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import json, sys
        import otel_clinic
        from otel_clinic import tenants
        handle = otel_clinic.setup(instrument_django=False, log_format="none", traces_exporters="none",
                                   metrics_exporters="none", logs_exporters="none", instrumentations="none")
        imported_by_setup = "celery" in sys.modules
        from celery.signals import before_task_publish  # the app's task modules import Celery later
        token = tenants.begin()
        otel_clinic.set_tenant("org-web")
        headers = {}
        before_task_publish.send(sender="clinic.tasks.remind", headers=headers, body=())
        tenants.end(token)
        handle.shutdown()
        print(json.dumps({"imported_by_setup": imported_by_setup, "headers": headers}))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "DJANGO_SETTINGS"))}
    env["OTEL_CLINIC_EXPORT_DIR"] = str(tmp_path)
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"imported_by_setup": False, "headers": {"clinic_tenant": "org-web"}}

"""Endpoints the PHI leak audit (`otel-clinic audit`) drives: each turns its input into one of the ways real code
leaks it (exceptions that quote input, %-args and f-string logs, warnings, raw SQL, Django's own security and
request loggers). They do what careless application code does, on purpose; every one ends in a 4xx/5xx so the
trace is kept by tail sampling and the Sentry event carries the request and the log breadcrumbs.

The input value is `v` from the query string, the form body or a JSON body.
"""
import datetime
import json
import logging
import warnings

from django.core.cache import cache
from django.core.exceptions import DisallowedHost, PermissionDenied
from django.db import connection, models
from django.http import HttpRequest, JsonResponse
from django.http.request import split_domain_port, validate_host
from django.urls import path
from django.views.decorators.csrf import csrf_exempt, csrf_protect

log = logging.getLogger("clinic.audit")

CONVERSIONS = ("int", "float", "strptime", "keyerror", "datefield", "decimalfield", "repr")
LOG_STYLES = ("percent", "fstring", "exception")
WARNINGS = ("python", "cachekey")
SQL = ("literal", "param", "error")


class AuditProbeError(RuntimeError):
    """Raised with a fixed message at the end of a probe, so the request is a 500 whatever the probe did."""


def _value(request: HttpRequest) -> str:
    if "v" in request.GET:
        return request.GET["v"]
    if request.method == "POST":
        if request.content_type == "application/json":
            try:
                return str(json.loads(request.body or b"{}").get("v", ""))
            except ValueError:
                return ""
        return request.POST.get("v", "")
    return ""


def index(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"audit": 1, "convert": CONVERSIONS, "log": LOG_STYLES, "warn": WARNINGS, "sql": SQL})


@csrf_exempt
def echo(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Reads nothing it is sent; fails with a fixed message (the request itself is what is audited)."""
    raise AuditProbeError("audit probe")


def forbidden(request: HttpRequest, rest: str) -> JsonResponse:
    raise PermissionDenied  # Django logs "Forbidden (Permission denied): /raw/path"


@csrf_protect
def csrf(request: HttpRequest, rest: str) -> JsonResponse:
    return JsonResponse({"ok": True})  # never reached without a token: django.security.csrf logs the raw path


def strict_host(request: HttpRequest) -> JsonResponse:
    """What Django does with a Host header outside ALLOWED_HOSTS (the example allows every host)."""
    host = request.META.get("HTTP_HOST", "")
    domain, _ = split_domain_port(host)
    if not (domain and validate_host(domain, ["localhost", "127.0.0.1", "testserver"])):
        raise DisallowedHost(f"Invalid HTTP_HOST header: {host!r}. You may need to add {domain!r} to ALLOWED_HOSTS.")
    raise AuditProbeError("audit probe")


@csrf_exempt
def convert(request: HttpRequest, kind: str) -> JsonResponse:
    v = _value(request)
    if kind == "int":
        int(v)
    elif kind == "float":
        float(v)
    elif kind == "strptime":
        datetime.datetime.strptime(v, "%Y-%m-%d")
    elif kind == "keyerror":
        {"known": 1}[v]
    elif kind == "datefield":
        models.DateField().to_python(v)  # “…” value has an invalid date format
    elif kind == "decimalfield":
        models.DecimalField(max_digits=5, decimal_places=2).to_python(v)  # “…” value must be a decimal number
    elif kind == "repr":
        values = [v, v.upper()]
        raise ValueError(f"unexpected values {values!r}")
    raise AuditProbeError("audit probe")


@csrf_exempt
def log_probe(request: HttpRequest, style: str) -> JsonResponse:
    v = _value(request)
    if style == "percent":
        log.info("patient %s checked in", v)
        log.warning("no chart found for %s", v.upper())
        log.error("lookup failed for %s", [v, v.lower()])
    elif style == "fstring":
        log.info(f"patient {v} checked in")
        log.warning(f"NO CHART FOUND FOR {v.upper()}")
        log.error(f"lookup failed for {[v.lower()]}")
    elif style == "exception":
        try:
            int(v)
        except ValueError:
            log.exception("could not parse the visit number")
    raise AuditProbeError("audit probe")


@csrf_exempt
def warn(request: HttpRequest, kind: str) -> JsonResponse:
    v = _value(request)
    if kind == "python":
        warnings.warn(f"lookup by {v} is deprecated", UserWarning, stacklevel=1)
    elif kind == "cachekey":
        cache.get(f"lookup {v}")  # CacheKeyWarning quoting the key (spaces are not memcached-safe)
    raise AuditProbeError("audit probe")


@csrf_exempt
def sql(request: HttpRequest, kind: str) -> JsonResponse:
    v = _value(request)
    with connection.cursor() as cursor:
        if kind == "literal":
            quoted = v.replace("'", "''")
            cursor.execute(f"SELECT id FROM clinic_patient WHERE last_name = '{quoted}'")  # noqa: S608 (on purpose)
        elif kind == "param":
            cursor.execute("SELECT id FROM clinic_patient WHERE last_name = %s", [v])
        elif kind == "error":
            cursor.execute(f"SELECT id FROM clinic_patient WHERE last_name = {v}")  # noqa: S608 (syntax error)
    raise AuditProbeError("audit probe")


urlpatterns = [
    path("", index, name="audit-index"),
    path("echo/", echo, name="audit-echo"),
    path("echo/<path:rest>", echo, name="audit-echo-path"),
    path("forbidden/<path:rest>", forbidden, name="audit-forbidden"),
    path("csrf/<path:rest>", csrf, name="audit-csrf"),
    path("strict-host/", strict_host, name="audit-strict-host"),
    path("convert/<str:kind>/", convert, name="audit-convert"),
    path("log/<str:style>/", log_probe, name="audit-log"),
    path("warn/<str:kind>/", warn, name="audit-warn"),
    path("sql/<str:kind>/", sql, name="audit-sql"),
]

"""Test-only views: each one is a free-text channel that leaked in a real app (issue: free text default-deny).

Every view takes the canary from the request (never from this file), so the canaries stay fresh per run.
"""

from __future__ import annotations

import datetime
import json
import logging
import warnings
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_protect

log = logging.getLogger("clinic.freetext")


def _value(request) -> str:
    return json.loads(request.body or b"{}").get("v") or request.GET.get("v", "")


def convert(request, kind: str):
    value = _value(request)
    if kind == "int":
        int(value)
    elif kind == "float":
        float(value)
    elif kind == "date":
        datetime.datetime.strptime(value, "%Y-%m-%d")
    elif kind == "key":
        {}[value]
    elif kind == "list":
        raise ValueError(f"no match among {value.split('|')!r}")
    elif kind == "datefield":
        models.DateField().to_python(value)
    elif kind == "decimal":
        try:
            models.DecimalField(max_digits=5, decimal_places=2).to_python(value)
        except ValidationError:
            raise
        Decimal(value)
    return HttpResponse("ok")


def log_args(request):
    body = json.loads(request.body)
    log.info("created patient %s %s", body["first"], body["last"])
    log.info("PATIENT %s ADMITTED", body["upper"])
    log.warning("merging duplicate records %s", body["names"])
    log.info("updated notes=%s", body["notes"])
    log.info("intake: DOB %s", body["dob"])
    return HttpResponse("ok")


def log_fstrings(request):
    body = json.loads(request.body)
    log.info(f"created patient {body['first']} {body['last']} (ssn {body['ssn']})")  # noqa: G004
    log.info(f"lookup {body['ssn']} {body['mrn']} {body['member']} {body['mbi']} zip {body['zip']}")  # noqa: G004
    log.info(f"visit for {body['upper']} born {body['dob']}")  # noqa: G004
    log.info(f"chart MRN {body['mrn']} {body['card']}")  # noqa: G004
    return HttpResponse("ok")


def warn(request):
    warnings.warn(f"Cache key contains characters that will cause errors: ':1:patient:{_value(request)}'", RuntimeWarning)
    return HttpResponse("ok")


def forbidden(request, rest: str):
    raise PermissionDenied


@csrf_protect
def protected(request):
    return HttpResponse("ok")


def sentry_error(request):
    raise ValueError(f"invalid literal for int() with base 10: '{request.GET.get('v', '')}'")


def echo(request):
    return JsonResponse({"ok": True})


urlpatterns = [
    path("convert/<str:kind>/", convert),
    path("log/args/", log_args),
    path("log/fstrings/", log_fstrings),
    path("warn/", warn),
    path("forbidden/<path:rest>", forbidden),
    path("protected/", protected),
    path("sentry/", sentry_error),
    path("echo/", echo),
    path("", echo),
]

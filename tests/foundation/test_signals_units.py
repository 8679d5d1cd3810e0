import sqlite3

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, IntegrityError, OperationalError
from django.http import Http404

import otel_clinic
from otel_clinic.config import SeverityThresholds
from otel_clinic.semantics.errors import ErrorRuleRegistry, categorize_error, error_type, registry
from otel_clinic.semantics.severity import classify_severity, thresholds_for_route


@pytest.mark.parametrize(
    "ms,status,expected",
    [(0, 200, "normal"), (99.9, 200, "normal"), (100, 200, "slow"), (499, 201, "slow"), (500, 200, "warning"),
     (1999, 404, "warning"), (2000, 200, "critical"), (5, 500, "critical"), (5, 503, "critical"), (50, 404, "normal")],
)
def test_severity_bands_follow_the_seed(ms, status, expected):
    assert classify_severity(ms, status) == expected


def test_per_route_thresholds_override_the_default():
    per_route = {"api/reports/": SeverityThresholds(1000, 5000, 10000)}
    default = SeverityThresholds()
    assert classify_severity(600, 200, thresholds_for_route("api/reports/", default, per_route)) == "normal"
    assert classify_severity(600, 200, thresholds_for_route("api/patients/", default, per_route)) == "warning"
    assert thresholds_for_route("/api/reports/", default, per_route).slow_ms == 1000


class FakeRequestsTimeout(Exception):
    pass


FakeRequestsTimeout.__module__ = "requests.exceptions"
FakeRequestsTimeout.__qualname__ = "Timeout"


class FakeConnectionError(Exception):
    pass


FakeConnectionError.__module__ = "requests.exceptions"
FakeConnectionError.__qualname__ = "RequestException"


@pytest.mark.parametrize(
    "status,exc,expected",
    [
        (401, None, "authentication"), (403, None, "authentication"), (500, PermissionDenied(), "authentication"),
        (400, None, "validation"), (422, None, "validation"), (500, ValidationError("bad"), "validation"),
        (404, None, "not_found"), (500, Http404(), "not_found"),
        (409, None, "conflict"), (500, IntegrityError("dup"), "conflict"),
        (429, None, "rate_limit"),
        (504, None, "timeout"), (500, TimeoutError("x"), "timeout"), (500, FakeRequestsTimeout(), "timeout"),
        (500, OperationalError("canceling statement due to statement timeout"), "timeout"),
        (502, None, "external_service"), (503, None, "external_service"), (500, FakeConnectionError(), "external_service"),
        (500, DatabaseError("disk I/O"), "database"), (500, OperationalError("no such table"), "database"),
        (500, sqlite3.OperationalError("locked"), "database"),
        (500, None, "server_error"), (500, RuntimeError("boom"), "server_error"), (501, None, "server_error"),
        (200, None, None), (302, None, None),
    ],
)
def test_nine_categories(status, exc, expected):
    assert categorize_error(status, exc) == expected


def test_model_does_not_exist_is_not_found():
    from clinic.models import Patient

    assert categorize_error(500, Patient.DoesNotExist()) == "not_found"


def test_user_rules_run_first_and_can_be_removed():
    class PaymentGatewayDown(Exception):
        pass

    rule = otel_clinic.register_error_rule("external_service", exceptions=[PaymentGatewayDown], name="payments")
    try:
        assert categorize_error(500, PaymentGatewayDown()) == "external_service"
        otel_clinic.register_error_rule("rate_limit", status_codes=[420], name="enhance-your-calm")
        assert categorize_error(420) == "rate_limit"
    finally:
        registry.unregister(rule.name)
        registry.unregister("enhance-your-calm")
    assert categorize_error(500, PaymentGatewayDown()) == "server_error"
    assert categorize_error(420) is None


def test_a_failing_rule_is_skipped_not_raised():
    reg = ErrorRuleRegistry()

    def broken(status, exc):
        raise RuntimeError("rule bug")

    from otel_clinic.semantics.errors import ErrorRule

    reg.register(ErrorRule("broken", broken))
    assert reg.categorize(404) == "not_found"


def test_error_type_is_qualified_class_or_status():
    assert error_type(500, IntegrityError("x")) == "django.db.utils.IntegrityError"
    assert error_type(500, TimeoutError()) == "TimeoutError"
    assert error_type(404, None) == "404"
    assert error_type(200, None) is None


@pytest.mark.parametrize(
    "status,exc,expected",
    [
        (403, PermissionDenied("Session timed out"), "authentication"),
        (400, ValidationError("Appointment slot timed out"), "validation"),
        (404, Http404("read timeout while looking up"), "not_found"),
        (409, IntegrityError("duplicate key; statement timeout not reached"), "conflict"),
        (500, RuntimeError("lab system timed out"), "timeout"),
        (405, None, "not_found"), (413, None, "validation"), (499, None, "timeout"),
    ],
)
def test_timeout_wording_never_overrides_a_more_specific_category(status, exc, expected):
    assert categorize_error(status, exc) == expected

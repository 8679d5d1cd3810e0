"""The views in-process (RequestFactory): status codes, body shapes, authorisation, failure handling."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from django.test import RequestFactory

from otel_clinic.health import Status, health_check, views
from otel_clinic.health.state import configure, reset
from otel_clinic.semantics import release

rf = RequestFactory()


@pytest.fixture
def known_release() -> Iterator[None]:
    previous = release._current
    release.set_current_release(release.ReleaseInfo("9.9.9-test", "staging", "argument"))
    yield
    release._current = previous


def _get(view, path: str = "/health/", **meta):  # type: ignore[no-untyped-def]
    response = view(rf.get(path, **meta))
    return response.status_code, json.loads(response.content)


def _setup(states: dict[str, tuple[Status, bool]], **options) -> list[str]:  # type: ignore[no-untyped-def]
    calls: list[str] = []
    for name, (status, critical) in states.items():
        def check(name=name, status=status) -> Status:  # type: ignore[no-untyped-def]
            calls.append(name)
            return status

        health_check(check, name=name, critical=critical)
    configure({"checks": [], **options}, use_django=False)
    return calls


def test_live_is_ok_and_runs_no_checks() -> None:
    calls = _setup({"db": (Status.DOWN, True)})
    status, body = _get(views.live, "/health/live")
    assert (status, body) == (200, {"status": "ok"})
    assert calls == []


def test_ready_fails_only_on_critical_checks() -> None:
    _setup({"db": (Status.OK, True), "disk": (Status.DOWN, False), "cache": (Status.DEGRADED, True)}, token="t")
    status, body = _get(views.ready, "/health/ready", HTTP_AUTHORIZATION="Bearer t")
    assert status == 200 and body["status"] == "degraded"
    assert set(body["checks"]) == {"db", "cache"}  # readiness is about critical checks only
    reset()
    _setup({"db": (Status.DOWN, True)})
    assert _get(views.ready, "/health/ready")[0] == 503


def test_full_body_shape_for_an_authorised_caller(known_release: None) -> None:
    _setup({"database": (Status.OK, True), "memory": (Status.DEGRADED, False)}, allow_loopback=True)
    status, body = _get(views.health)  # RequestFactory's REMOTE_ADDR is 127.0.0.1: loopback trust opted in
    assert status == 200
    assert set(body) == {"status", "version", "environment", "checks", "timestamp", "uptime_s"}
    assert (body["status"], body["version"], body["environment"]) == ("degraded", "9.9.9-test", "staging")
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["memory"]["critical"] is False
    assert {"message", "latency_ms", "timestamp"} <= set(body["checks"]["database"])
    assert body["timestamp"].endswith("Z") and body["uptime_s"] >= 0


def test_full_is_503_when_a_critical_check_is_down() -> None:
    _setup({"database": (Status.DOWN, True), "memory": (Status.OK, False)})
    status, body = _get(views.health)
    assert status == 503 and body["status"] == "down"


def test_remote_caller_without_token_gets_only_the_status() -> None:
    _setup({"database": (Status.OK, True)}, token="s3cr3t-token")
    status, body = _get(views.health, REMOTE_ADDR="10.1.2.3")
    assert status == 200 and set(body) == {"status", "timestamp"}
    _, wrong = _get(views.health, REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer nope")
    assert "checks" not in wrong
    _, bearer = _get(views.health, REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer s3cr3t-token")
    _, header = _get(views.health, REMOTE_ADDR="10.1.2.3", HTTP_X_HEALTH_TOKEN="s3cr3t-token")
    assert "database" in bearer["checks"] and "database" in header["checks"]


def test_loopback_trust_can_be_switched_off() -> None:
    _setup({"database": (Status.OK, True)}, allow_loopback=False)
    _, body = _get(views.health)
    assert set(body) == {"status", "timestamp"}


def test_default_is_token_only_even_for_loopback_clients() -> None:
    _setup({"database": (Status.OK, True)}, token="s3cr3t-token")
    for view, path in ((views.health, "/health/"), (views.ready, "/health/ready")):
        _, body = _get(view, path)  # REMOTE_ADDR 127.0.0.1
        assert set(body) == {"status", "timestamp"}, body
        _, body = _get(view, path, REMOTE_ADDR="::1")
        assert set(body) == {"status", "timestamp"}, body
        _, body = _get(view, path, HTTP_AUTHORIZATION="Bearer s3cr3t-token")
        assert "database" in body["checks"]


@pytest.mark.parametrize("header", ["HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP"])
def test_loopback_trust_never_applies_to_proxied_requests(header: str) -> None:
    # nginx on the same host: REMOTE_ADDR is 127.0.0.1 for every internet client
    _setup({"database": (Status.OK, True)}, allow_loopback=True, token="s3cr3t-token")
    value = "for=203.0.113.7" if header == "HTTP_FORWARDED" else "203.0.113.7"
    for view, path in ((views.health, "/health/"), (views.ready, "/health/ready")):
        _, body = _get(view, path, **{header: value})
        assert set(body) == {"status", "timestamp"}, body
        _, spoofed = _get(view, path, **{header: "127.0.0.1"})  # a forged "I am loopback" is still proxied
        assert set(spoofed) == {"status", "timestamp"}, spoofed
        _, body = _get(view, path, **{header: value, "HTTP_X_HEALTH_TOKEN": "s3cr3t-token"})
        assert "database" in body["checks"]  # the token still works through the proxy
    _, direct = _get(views.health)
    assert "database" in direct["checks"]  # the same client without a proxy hop is trusted (opted in)


def test_results_are_cached_between_requests() -> None:
    calls = _setup({"database": (Status.OK, True)}, cache_interval=60)
    for _ in range(25):
        _get(views.health)
        _get(views.ready, "/health/ready")
    assert calls == ["database"]


def test_broken_configuration_yields_503_not_an_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_CLINIC_HEALTH_TIMEOUT", "not-a-number")
    reset()  # the next request builds the runner from settings + env and hits the ConfigError
    status, body = _get(views.health)
    assert status == 503 and body["status"] == "down"
    assert _get(views.ready, "/health/ready")[0] == 503
    assert _get(views.live, "/health/live")[0] == 200


def test_only_safe_methods() -> None:
    _setup({})
    assert views.health(rf.post("/health/")).status_code == 405
    assert views.live(rf.head("/health/live")).status_code == 200

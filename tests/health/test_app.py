"""The health endpoints of a real Django app process (tests/health/app) against live PostgreSQL and Redis:
all ok; Redis stopped -> down, 503 within the cache interval, gauge 0, other requests still served;
PostgreSQL restarted -> recovers without restarting the app."""

from __future__ import annotations

import time

import pytest

from tests.health.helpers import AppServer, wait_for
from tests.support.services import PostgresServer, RedisServer

ALL_CHECKS = {"database", "cache", "redis", "broker", "disk", "memory"}

pytestmark = pytest.mark.services  # real PostgreSQL/Redis servers (session-scoped)


def _status_gauge(app: AppServer) -> dict[str, float]:
    points = app.get("/_test/metrics").json().get("clinic.health.status", [])
    return {p["attributes"]["check"]: p["value"] for p in points}


def _ready_ok(app: AppServer) -> bool:
    return app.get("/health/ready").status_code == 200


def test_all_ok_against_live_servers(app_server: AppServer, pg_up: PostgresServer, redis_up: RedisServer) -> None:
    assert wait_for(lambda: _ready_ok(app_server), timeout=10)
    response = app_server.get("/health/")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok", body
    assert set(body["checks"]) == ALL_CHECKS
    assert all(c["status"] == "ok" for c in body["checks"].values()), body
    assert (body["version"], body["environment"]) == ("health-test-1.2.3", "ci")
    assert pg_up.password not in response.text
    assert app_server.get("/api/health/").json()["status"] == "ok"  # the seeds' alias
    assert wait_for(lambda: _status_gauge(app_server).get("redis") == 1.0, timeout=5)


def test_redis_stopped_turns_ready_503_within_the_cache_interval(
    app_server: AppServer, pg_up: PostgresServer, redis_up: RedisServer
) -> None:
    assert wait_for(lambda: _ready_ok(app_server), timeout=10)
    redis_up.stop()
    stopped = time.monotonic()
    became_503 = wait_for(lambda: app_server.get("/health/ready").status_code == 503, timeout=10, interval=0.05)
    elapsed = time.monotonic() - stopped
    assert became_503
    # cache interval (1 s) + one round bounded by the timeout (1 s) + slack for a loaded CI box
    assert elapsed < app_server.cache_interval + app_server.timeout + 1.5, elapsed
    body = app_server.get("/health/").json()
    assert body["checks"]["redis"]["status"] == "down"
    assert body["checks"]["cache"]["status"] == "down"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["status"] == "down"
    # the app keeps serving ordinary requests, promptly
    begun = time.monotonic()
    ping = app_server.get("/ping", timeout=5)
    assert ping.status_code == 200 and ping.text == "pong"
    assert time.monotonic() - begun < 1.0
    assert wait_for(lambda: _status_gauge(app_server).get("redis") == 0.0, timeout=5)
    redis_up.start()
    assert wait_for(lambda: _ready_ok(app_server), timeout=10)
    assert wait_for(lambda: _status_gauge(app_server).get("redis") == 1.0, timeout=5)


def test_postgres_restart_recovers_without_restarting_the_app(
    app_server: AppServer, pg_up: PostgresServer, redis_up: RedisServer
) -> None:
    pid = app_server.proc.pid
    assert wait_for(lambda: _ready_ok(app_server), timeout=10)
    pg_up.stop()
    assert wait_for(lambda: app_server.get("/health/ready").status_code == 503, timeout=10, interval=0.05)
    assert app_server.get("/health/").json()["checks"]["database"]["status"] == "down"
    pg_up.start()
    assert wait_for(lambda: _ready_ok(app_server), timeout=15)
    assert app_server.get("/health/").json()["checks"]["database"]["status"] == "ok"
    assert app_server.proc.poll() is None and app_server.proc.pid == pid

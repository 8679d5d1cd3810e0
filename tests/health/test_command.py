"""`manage.py monitor_health` and `otel-clinic health` as an operator runs them: subprocesses, real servers,
exit codes 0/1/2/64 and parseable JSON."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.health.conftest import REPO, app_env
from tests.health.helpers import silent_tcp_server
from tests.support.services import PostgresServer, RedisServer, free_port

pytestmark = pytest.mark.services  # real PostgreSQL/Redis servers (session-scoped)


def monitor_health(pg: PostgresServer, rd: RedisServer, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "django", "monitor_health", *args],
        cwd=REPO, env=app_env(pg, rd, **env), capture_output=True, text=True, timeout=60,
    )


def test_all_ok_exits_0_and_lists_every_check(pg_up: PostgresServer, redis_up: RedisServer) -> None:
    out = monitor_health(pg_up, redis_up, "--verbose")
    assert out.returncode == 0, out.stdout + out.stderr
    for name in ("database", "cache", "redis", "broker", "disk", "memory"):
        assert f"✓ {name}" in out.stdout
    assert "overall: ok" in out.stdout
    assert pg_up.password not in out.stdout


def test_json_output_parses(pg_up: PostgresServer, redis_up: RedisServer) -> None:
    out = monitor_health(pg_up, redis_up, "--format", "json", "--check", "database", "--check", "redis")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["status"] == "ok"
    assert list(body["checks"]) == ["database", "redis"]
    assert body["checks"]["redis"]["status"] == "ok"
    assert body["version"] == "health-test-1.2.3"


def test_degraded_exits_1(pg_up: PostgresServer, redis_up: RedisServer) -> None:
    out = monitor_health(pg_up, redis_up, "--check", "disk", OTEL_CLINIC_HEALTH_DISK_WARNING="0")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "degraded" in out.stdout


def test_down_exits_2(pg_up: PostgresServer, redis_up: RedisServer) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    out = monitor_health(pg_up, redis_up, "--check", "redis", "--format", "json", OTEL_CLINIC_HEALTH_REDIS_URL=closed)
    assert out.returncode == 2, out.stdout + out.stderr
    assert json.loads(out.stdout)["checks"]["redis"]["status"] == "down"


def test_timeout_flag_bounds_a_hung_dependency(pg_up: PostgresServer, redis_up: RedisServer) -> None:
    with silent_tcp_server() as port:
        begun = time.monotonic()
        out = monitor_health(pg_up, redis_up, "--check", "redis", "--timeout", "0.5", "--format", "json",
                             OTEL_CLINIC_HEALTH_REDIS_URL=f"redis://127.0.0.1:{port}/0", OTEL_CLINIC_HEALTH_TIMEOUT="30")
        elapsed = time.monotonic() - begun
    assert out.returncode == 2, out.stdout + out.stderr
    assert "timed out" in json.loads(out.stdout)["checks"]["redis"]["message"]
    assert elapsed < 15  # interpreter + Django start-up dominate; the configured 30 s timeout did not apply


def test_unknown_check_exits_64_listing_valid_names(pg_up: PostgresServer, redis_up: RedisServer) -> None:
    out = monitor_health(pg_up, redis_up, "--check", "kafka")
    assert out.returncode == 64
    assert "unknown check(s): kafka" in out.stderr
    for name in ("database", "cache", "redis", "broker", "disk", "memory"):
        assert name in out.stderr
    assert out.stdout == ""


def _otel_clinic_health(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # Exactly what the `otel-clinic` console script runs (otel_clinic.cli.main -> health.cli.register).
    return subprocess.run(
        [sys.executable, "-c", "import sys; from otel_clinic.cli import main; sys.exit(main())", "health", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize("use_django", [False, True], ids=["env-only", "django"])
def test_otel_clinic_health_cli(pg_up: PostgresServer, redis_up: RedisServer, use_django: bool) -> None:
    env = app_env(pg_up, redis_up, OTEL_CLINIC_HEALTH_REDIS_URL=redis_up.url,
                  OTEL_CLINIC_HEALTH_MEMORY_WARNING="99.9", OTEL_CLINIC_HEALTH_MEMORY_CRITICAL="100",
                  OTEL_CLINIC_HEALTH_DISK_WARNING="99.9", OTEL_CLINIC_HEALTH_DISK_CRITICAL="100")
    if not use_django:
        env.pop("DJANGO_SETTINGS_MODULE")
    ok = _otel_clinic_health("--format", "json", env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    names = set(json.loads(ok.stdout)["checks"])
    expected = {"redis", "disk", "memory"} | ({"database", "cache", "broker"} if use_django else set())
    assert names == expected
    unknown = _otel_clinic_health("--check", "nope", env=env)
    assert unknown.returncode == 64 and "Valid checks:" in unknown.stderr
    env["OTEL_CLINIC_HEALTH_REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    down = _otel_clinic_health("--check", "redis", env=env)
    assert down.returncode == 2 and "✗ redis" in down.stdout

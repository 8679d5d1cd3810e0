"""Fixtures for the health tests.

Real servers (PostgreSQL, Redis) start once per session on free loopback ports. Tests that stop a server use
the `*_up` fixtures, which restart it afterwards so later tests see it running.

Django: the views need configured settings. If the lead's root conftest already configured Django (the example
app via DJANGO_SETTINGS_MODULE/pytest-django) we use that, else we configure a minimal in-memory settings
object here. Tests needing PostgreSQL-backed Django run a separate app process (`app_server`) with its own
settings module (tests/health/app/settings.py): DATABASES can then point at the session PostgreSQL port
without overriding the in-process settings that other engineers' tests rely on.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.health.helpers import AppServer
from tests.support.services import PostgresServer, RedisServer, free_port, postgres_server, redis_server

REPO = Path(__file__).resolve().parents[2]


def _ensure_django() -> None:
    from django.conf import settings

    if settings.configured or os.environ.get("DJANGO_SETTINGS_MODULE"):
        return
    import django

    settings.configure(
        SECRET_KEY="health-tests",
        ALLOWED_HOSTS=["*"],
        INSTALLED_APPS=["otel_clinic.integrations.django"],
        DATABASES={},
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        USE_TZ=True,
    )
    django.setup()


_ensure_django()


@pytest.fixture(autouse=True)
def _isolated_health_state() -> Iterator[None]:
    """Each test starts without a process-wide runner and leaves no custom checks behind."""
    from otel_clinic.health import custom_checks, reset

    before = set(custom_checks.names())
    reset()
    yield
    for name in set(custom_checks.names()) - before:
        custom_checks.unregister(name)
    reset()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def redis_srv() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture
def redis_up(redis_srv: RedisServer) -> Iterator[RedisServer]:
    """The session Redis, running at the start of the test and again after it (tests may stop it)."""
    redis_srv.start()
    yield redis_srv
    redis_srv.start()


@pytest.fixture
def pg_up(pg_server: PostgresServer) -> Iterator[PostgresServer]:
    if not pg_server.is_running():
        pg_server.start()
    yield pg_server
    if not pg_server.is_running():
        pg_server.start()


def app_env(pg: PostgresServer, rd: RedisServer, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_CLINIC_HEALTH")}
    env.update(
        DJANGO_SETTINGS_MODULE="tests.health.app.settings",
        HEALTH_TEST_PG_PORT=str(pg.port),
        HEALTH_TEST_PG_PASSWORD=pg.password,
        HEALTH_TEST_REDIS_URL=rd.url,
        PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
        OTEL_CLINIC_RELEASE="health-test-1.2.3",
        OTEL_CLINIC_ENVIRONMENT="ci",
        **extra,
    )
    return env


@pytest.fixture(scope="session")
def app_server(pg_server: PostgresServer, redis_srv: RedisServer) -> Iterator[AppServer]:
    """The test Django app (tests/health/app) served in a subprocess against the session PG and Redis."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.health.app.wsgi", str(port)],
        cwd=REPO, env=app_env(pg_server, redis_srv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    server = AppServer(base=f"http://127.0.0.1:{port}", proc=proc)
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"health test app exited: {proc.stdout.read().decode(errors='replace')}")  # type: ignore[union-attr]
        try:
            if server.get("/health/live", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("health test app did not start")
        time.sleep(0.1)
    try:
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def db_access(request: pytest.FixtureRequest) -> Iterator[None]:
    """Lift pytest-django's database block if that plugin is active (the repo runs with -p no:django today):
    the database check opens its own connections to the session PostgreSQL, not to the test database."""
    try:
        blocker = request.getfixturevalue("django_db_blocker")
    except pytest.FixtureLookupError:
        blocker = None
    if blocker is None:
        yield
        return
    with blocker.unblock():
        yield

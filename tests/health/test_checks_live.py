"""Built-in checks against real servers: PostgreSQL, Redis (also as cache and Celery broker), a silent TCP
server, TLS servers with self-signed certificates, and the local disk and memory."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import redis as redis_lib
from django.core.cache import CacheHandler
from django.db.utils import ConnectionHandler

from otel_clinic.health import (
    BrokerCheck, CacheCheck, DatabaseCheck, DiskCheck, HealthRegistry, HealthRunner, MemoryCheck, RedisCheck,
    Status, TlsCertificateCheck,
)
from tests.health.helpers import make_cert, silent_tcp_server, tls_server
from tests.support.services import PostgresServer, RedisServer

pytestmark = pytest.mark.services  # real PostgreSQL/Redis servers (session-scoped)


def run_one(check, timeout: float = 1.0):  # type: ignore[no-untyped-def]
    return HealthRunner(HealthRegistry([check]), timeout=timeout).run([check.name])[check.name]


# -- redis ---------------------------------------------------------------------------------------------
def test_redis_ok_then_down_when_stopped(redis_up: RedisServer) -> None:
    check = RedisCheck(redis_up.url, timeout=1.0)
    ok = run_one(check)
    assert ok.status is Status.OK, ok.message
    assert f"127.0.0.1:{redis_up.port}" in ok.message and ok.details["latency_ms"] > 0
    redis_up.stop()
    down = run_one(check)
    assert down.status is Status.DOWN
    assert "ConnectionError" in down.message


def test_silent_server_is_down_timed_out_inside_the_bound() -> None:
    with silent_tcp_server() as port:
        check = RedisCheck(f"redis://127.0.0.1:{port}/0", timeout=0.5)
        # The runner's bound is what protects the request; give the driver a longer socket timeout to prove it.
        check.timeout = 5.0
        runner = HealthRunner(HealthRegistry([check]), timeout=0.5)
        begun = time.monotonic()
        result = runner.run(["redis"], timeout=0.5)["redis"]
        elapsed = time.monotonic() - begun
    assert result.status is Status.DOWN
    assert "timed out" in result.message
    assert elapsed < 0.5 + 1.0


def test_silent_server_with_driver_timeout_is_down_too() -> None:
    with silent_tcp_server() as port:
        check = RedisCheck(f"redis://127.0.0.1:{port}/0", timeout=0.4)
        result = HealthRunner(HealthRegistry([check])).run(["redis"], timeout=2.0)["redis"]
    assert result.status is Status.DOWN
    assert "Timeout" in result.message  # redis-py's own TimeoutError, raised by the socket timeout


def test_redis_password_never_appears_in_messages(redis_up: RedisServer) -> None:
    url = f"redis://nobody:Zq9-very-secret@127.0.0.1:{redis_up.port}/0"  # unknown ACL user: AUTH fails
    result = run_one(RedisCheck(url, timeout=1.0))
    assert result.status is Status.DOWN
    assert "AuthenticationError" in result.message
    assert "Zq9-very-secret" not in result.message


# -- database --------------------------------------------------------------------------------------------
def _pg_handler(pg: PostgresServer, password: str | None = None) -> ConnectionHandler:
    entry = pg.django_database()
    if password is not None:
        entry["PASSWORD"] = password
    return ConnectionHandler({"default": entry})


def test_database_ok_then_down_then_recovers_after_postgres_restart(pg_up: PostgresServer, db_access: None) -> None:
    check = DatabaseCheck(connections=_pg_handler(pg_up), timeout=2.0)
    ok = run_one(check, timeout=3.0)
    assert ok.status is Status.OK, ok.message
    assert ok.details["aliases"]["default"]["status"] == "ok"
    pg_up.stop()
    down = run_one(check, timeout=3.0)
    assert down.status is Status.DOWN
    assert "OperationalError" in down.message
    pg_up.start()
    again = run_one(check, timeout=3.0)
    assert again.status is Status.OK, again.message  # no app restart, no stale connection reused


def test_database_wrong_password_message_has_no_password(pg_up: PostgresServer, db_access: None) -> None:
    result = run_one(DatabaseCheck(connections=_pg_handler(pg_up, "Wr0ng-pass-xyz"), timeout=2.0), timeout=3.0)
    assert result.status is Status.DOWN
    assert "Wr0ng-pass-xyz" not in result.message and pg_up.password not in result.message
    assert "password authentication failed" in result.message


# -- cache -----------------------------------------------------------------------------------------------
def test_cache_round_trip_on_redis_cache(redis_up: RedisServer) -> None:
    caches = CacheHandler({
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_up.url,
                    "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}},
        "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "dummy": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    })
    check = CacheCheck(caches=caches)
    ok = run_one(check, timeout=2.0)
    assert ok.status is Status.OK, ok.message
    assert set(ok.details["aliases"]) == {"default", "local", "dummy"}
    assert redis_lib.Redis.from_url(redis_up.url).keys("*otel_clinic:health:*") == []  # key deleted again
    redis_up.stop()
    down = run_one(check, timeout=2.0)
    assert down.status is Status.DOWN
    assert down.details["aliases"]["default"]["status"] == "down"
    assert down.details["aliases"]["local"]["status"] == "ok"
    assert down.details["aliases"]["dummy"]["status"] == "ok"  # stores nothing by design; not a failure


# -- broker ----------------------------------------------------------------------------------------------
def test_broker_connects_and_reports_queue_lengths(redis_up: RedisServer) -> None:
    from kombu import Connection

    with Connection(redis_up.url) as conn:
        queue = conn.SimpleQueue("health_test_q")
        for i in range(3):
            queue.put({"n": i})
        queue.close()
    result = run_one(BrokerCheck(redis_up.url, queues=["health_test_q", "never_declared"], timeout=1.0), 2.0)
    assert result.status is Status.OK, result.message
    assert result.details["queues"] == {"health_test_q": 3, "never_declared": 0}


def test_broker_down_when_redis_stopped(redis_up: RedisServer) -> None:
    redis_up.stop()
    result = run_one(BrokerCheck(redis_up.url, timeout=1.0), timeout=3.0)
    assert result.status is Status.DOWN


# -- tls -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    if shutil.which("openssl") is None:
        pytest.fail("the openssl CLI is needed to make test certificates (apt-get install openssl)")
    d = tmp_path_factory.mktemp("certs")
    return {"long": make_cert(d, 400, "long"), "short": make_cert(d, 10, "short")}


def test_tls_certificate_days_left(certs: dict[str, tuple[Path, Path]]) -> None:
    long_cert, short_cert = certs["long"], certs["short"]
    with tls_server(*long_cert) as long_port, tls_server(*short_cert) as short_port:
        ok = run_one(TlsCertificateCheck([f"127.0.0.1:{long_port}"], ca_file=str(long_cert[0])), 3.0)
        soon = run_one(TlsCertificateCheck([f"127.0.0.1:{short_port}"], ca_file=str(short_cert[0])), 3.0)
        untrusted = run_one(TlsCertificateCheck([f"127.0.0.1:{long_port}"], ca_file=str(short_cert[0])), 3.0)
    assert ok.status is Status.OK, ok.message
    assert 398 < ok.details["days_left"][f"127.0.0.1:{long_port}"] <= 400
    assert soon.status is Status.DEGRADED and "expires in" in soon.message
    assert untrusted.status is Status.DOWN and "CERTIFICATE_VERIFY_FAILED" in untrusted.message


# -- disk and memory -------------------------------------------------------------------------------------
def _disk_used_pct(path: str) -> float:
    usage = shutil.disk_usage(path)
    return 100.0 * usage.used / usage.total


def test_disk_thresholds_against_actual_usage(tmp_path: Path) -> None:
    used = _disk_used_pct(str(tmp_path))
    assert run_one(DiskCheck([str(tmp_path)], warning=min(used + 2, 99), critical_pct=100)).status is Status.OK
    assert run_one(DiskCheck([str(tmp_path)], warning=max(used - 1, 0), critical_pct=100)).status is Status.DEGRADED
    assert run_one(DiskCheck([str(tmp_path)], warning=0, critical_pct=max(used - 1, 0))).status is Status.DOWN
    missing = run_one(DiskCheck([str(tmp_path / "nope")]))
    assert missing.status is Status.DOWN and "FileNotFoundError" in missing.message


def test_memory_thresholds_against_actual_usage() -> None:
    import psutil

    used = psutil.virtual_memory().percent
    ok = run_one(MemoryCheck(warning=min(used + 5, 100), critical_pct=100))
    assert ok.status is Status.OK and ok.details["process_rss_bytes"] > 0
    assert run_one(MemoryCheck(warning=max(used - 1, 0), critical_pct=100)).status is Status.DEGRADED
    assert run_one(MemoryCheck(warning=0, critical_pct=max(used - 1, 0))).status is Status.DOWN


def test_broker_worker_ping_degraded_without_workers_ok_with_one(redis_up: RedisServer) -> None:
    import os
    import subprocess
    import sys

    from tests.health.conftest import REPO

    check = BrokerCheck(redis_up.url, worker_ping=True, timeout=1.0)
    alone = run_one(check, timeout=3.0)
    assert alone.status is Status.DEGRADED and "no Celery worker answered" in alone.message
    # No DJANGO_SETTINGS_MODULE: Celery's Django fix-up would try to load the example app's settings.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(HEALTH_TEST_REDIS_URL=redis_up.url, PYTHONPATH=str(REPO))
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.health.app.celery_app", "worker", "--pool=solo",
         "-n", "health-w1@%h", "--without-gossip", "--without-mingle", "-l", "WARNING"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        result = alone
        deadline = time.monotonic() + 30
        while result.status is not Status.OK and time.monotonic() < deadline:
            time.sleep(0.5)
            result = run_one(check, timeout=3.0)
        assert result.status is Status.OK, result.message
        assert result.details["workers"] == 1
    finally:
        worker.terminate()
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()

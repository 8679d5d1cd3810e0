"""`redis`: PING a Redis server from a URL and report the round-trip latency."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from otel_clinic.health.checks.base import HealthCheck
from otel_clinic.health.plugins import check_plugin
from otel_clinic.health.result import Outcome, Status


class RedisCheck(HealthCheck):
    def __init__(
        self, url: str, *, name: str = "redis", critical: bool = True, timeout: float | None = None,
        slow_fraction: float = 0.5,
    ) -> None:
        self.url = url
        self.name = name
        self.critical = critical
        self.timeout = timeout
        self.slow_fraction = slow_fraction  # PING slower than this fraction of the timeout -> degraded
        parts = urlsplit(url)
        self.secrets = tuple(s for s in (parts.password,) if s)
        self.target = f"{parts.hostname or 'localhost'}:{parts.port or 6379}"

    def run(self) -> Outcome:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        timeout = self.timeout or 2.0
        client = redis.Redis.from_url(
            self.url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=Retry(NoBackoff(), 0)
        )
        try:
            client.ping()  # connect outside the timed PING
            begun = time.perf_counter()
            client.ping()
            latency = time.perf_counter() - begun
        finally:
            client.close()
        details = {"latency_ms": round(latency * 1000.0, 3)}
        if latency > timeout * self.slow_fraction:
            return Outcome(Status.DEGRADED, f"PING {self.target} slow: {latency * 1000:.1f} ms", details)
        return Outcome(Status.OK, f"PING {self.target} in {latency * 1000:.1f} ms", details)


@check_plugin("redis", critical=True, requires="redis_url",
              available=lambda settings, dj: bool(settings.redis_url or settings.redis_urls))
def _redis_checks(settings: Any, django_settings: Any) -> list[HealthCheck]:
    # `redis_url` is the check "redis"; each extra server of `redis_urls` is "redis.<name>".
    checks: list[HealthCheck] = [RedisCheck(settings.redis_url, timeout=settings.timeout)] if settings.redis_url else []
    checks += [RedisCheck(url, name=f"redis.{key}", timeout=settings.timeout)
               for key, url in (settings.redis_urls or {}).items()]
    return checks

"""`cache`: set/get/delete round trip on each Django cache alias."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from otel_clinic.health.checks.base import HealthCheck
from otel_clinic.health.plugins import check_plugin
from otel_clinic.health.redact import redact
from otel_clinic.health.result import Outcome, Status, worst


class CacheCheck(HealthCheck):
    def __init__(
        self, aliases: Sequence[str] | None = None, *, name: str = "cache", critical: bool = True,
        timeout: float | None = None, caches: Any | None = None,
    ) -> None:
        self.aliases = list(aliases) if aliases else None  # None: every alias in settings.CACHES
        self._caches = caches  # a django.core.cache.CacheHandler; default django.core.cache.caches
        self.name = name
        self.critical = critical
        self.timeout = timeout

    def run(self) -> Outcome:
        caches = self._caches
        if caches is None:
            from django.core.cache import caches
        aliases = self.aliases or list(caches.settings)
        per_alias = {alias: self._round_trip(caches, alias) for alias in aliases}
        status = worst(Status(v["status"]) for v in per_alias.values())
        message = "; ".join(
            f"{alias}: {v['status']}" + (f" ({v['error']})" if "error" in v else f" in {v['latency_ms']:.1f} ms")
            for alias, v in per_alias.items()
        )
        return Outcome(status, message, {"aliases": per_alias})

    @staticmethod
    def _round_trip(caches: Any, alias: str) -> dict[str, Any]:
        begun = time.perf_counter()
        entry: dict[str, Any] = {}
        # A private cache object per round: Django's per-thread cache objects would pile up in our worker threads.
        cache = caches.create_connection(alias)
        if type(cache).__name__ == "DummyCache":  # stores nothing by design: no round trip to verify
            return {"status": Status.OK.value, "latency_ms": 0.0, "note": "dummy cache"}
        key = f"otel_clinic:health:{uuid.uuid4().hex}"
        try:
            cache.set(key, "1", timeout=10)
            value = cache.get(key)
            cache.delete(key)
            if value == "1":
                entry["status"] = Status.OK.value
            else:
                entry["status"] = Status.DOWN.value
                entry["error"] = "value written was not read back"
        except Exception as exc:
            entry["status"] = Status.DOWN.value
            entry["error"] = redact(f"{type(exc).__name__}: {exc}")
        finally:
            try:
                cache.close()
            except Exception:
                pass
        entry["latency_ms"] = round((time.perf_counter() - begun) * 1000.0, 2)
        return entry


@check_plugin("cache", critical=True, requires="Django CACHES",
              available=lambda settings, dj: dj is not None and bool(getattr(dj, "CACHES", None)))
def _cache_checks(settings: Any, django_settings: Any) -> list[HealthCheck]:
    return [CacheCheck(settings.caches, timeout=settings.timeout)]

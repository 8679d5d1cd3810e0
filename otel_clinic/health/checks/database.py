"""`database`: SELECT 1 on each Django database alias, plus pool usage where the backend keeps a pool."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from typing import Any

from otel_clinic.health.checks.base import HealthCheck
from otel_clinic.health.plugins import check_plugin
from otel_clinic.health.redact import redact
from otel_clinic.health.result import Outcome, Status, worst


class DatabaseCheck(HealthCheck):
    def __init__(
        self, aliases: Sequence[str] | None = None, *, name: str = "database", critical: bool = True,
        timeout: float | None = None, connections: Any | None = None,
    ) -> None:
        self.aliases = list(aliases) if aliases else None  # None: every alias in settings.DATABASES
        self._connections = connections  # a django.db.utils.ConnectionHandler; default django.db.connections
        self.name = name
        self.critical = critical
        self.timeout = timeout

    def _handler(self) -> Any:
        if self._connections is not None:
            return self._connections
        from django.db import connections

        return connections

    @property
    def secrets(self) -> tuple[str, ...]:  # type: ignore[override]
        connections = self._handler()
        return tuple(str(cfg.get("PASSWORD") or "") for cfg in connections.settings.values())

    def run(self) -> Outcome:
        connections = self._handler()
        aliases = self.aliases or list(connections.settings)
        per_alias: dict[str, dict[str, Any]] = {}
        for alias in aliases:
            per_alias[alias] = self._check_alias(connections, alias)
        status = worst(Status(v["status"]) for v in per_alias.values())
        message = "; ".join(
            f"{alias}: {v['status']}" + (f" ({v['error']})" if "error" in v else f" in {v['latency_ms']:.1f} ms")
            for alias, v in per_alias.items()
        )
        return Outcome(status, message, {"aliases": per_alias})

    def _check_alias(self, connections: Any, alias: str) -> dict[str, Any]:
        begun = time.perf_counter()
        entry: dict[str, Any] = {}
        try:
            settings_dict = copy.deepcopy(connections.settings[alias])
            pooled = bool(settings_dict.get("OPTIONS", {}).get("pool"))
            if pooled:
                # The pool is shared per alias; borrow from it (close() returns the connection).
                wrapper = connections[alias]
            else:
                # A fresh wrapper: never disturbs the calling thread's connection state, and a restarted
                # server is noticed on the next round because nothing stale is reused.
                if "postgresql" in settings_dict.get("ENGINE", "") and self.timeout:
                    settings_dict.setdefault("OPTIONS", {}).setdefault("connect_timeout", max(1, math.ceil(self.timeout)))
                wrapper = _new_wrapper(connections, alias, settings_dict)
            try:
                with wrapper.cursor() as cursor:
                    cursor.execute("SELECT 1")
                    cursor.fetchone()
                usage = _pool_usage(wrapper, alias)
                if usage is not None:
                    entry["pool_usage"] = round(usage, 4)
            finally:
                wrapper.close()
            entry["status"] = Status.OK.value
        except Exception as exc:
            entry["status"] = Status.DOWN.value
            entry["error"] = redact(f"{type(exc).__name__}: {exc}", self.secrets)
        entry["latency_ms"] = round((time.perf_counter() - begun) * 1000.0, 2)
        return entry


def _new_wrapper(connections: Any, alias: str, settings_dict: dict[str, Any]) -> Any:
    from django.db.utils import load_backend

    backend = load_backend(settings_dict["ENGINE"])
    return backend.DatabaseWrapper(settings_dict, alias)


def _pool_usage(wrapper: Any, alias: str) -> float | None:
    """In-use fraction of a psycopg pool (Django >= 5.1 OPTIONS={"pool": ...}); None when there is no pool."""
    pools = getattr(type(wrapper), "_connection_pools", None)
    pool = pools.get(alias) if isinstance(pools, dict) else None
    if pool is None or not hasattr(pool, "get_stats"):
        return None
    stats = pool.get_stats()
    size, available, maximum = stats.get("pool_size", 0), stats.get("pool_available", 0), stats.get("pool_max", 0)
    return (size - available) / maximum if maximum else None


@check_plugin("database", critical=True, requires="Django DATABASES",
              available=lambda settings, dj: dj is not None and bool(getattr(dj, "DATABASES", None)))
def _database_checks(settings: Any, django_settings: Any) -> list[HealthCheck]:
    return [DatabaseCheck(settings.databases, timeout=settings.timeout)]

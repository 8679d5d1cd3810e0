"""Observable gauges fed from the cached health results: a metrics collection never waits on a dependency.

- `clinic.health.status` (1 ok / 0.5 degraded / 0 down) {check, clinic.health.critical}
- `clinic.health.check.duration` (s) {check}
- `clinic.db.connection.usage` (ratio) {db.alias} where the database check saw a connection pool
- `clinic.celery.queue.length` {queue} for the broker check's configured queues
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from otel_clinic.health.result import CheckResult
from otel_clinic.health.runner import HealthRunner

logger = logging.getLogger(__name__)

RunnerSource = Callable[[], HealthRunner]


def _default_source() -> HealthRunner:
    from otel_clinic.health.state import get_runner

    return get_runner()


class _HealthObserver:
    """Reads the runner's cache; a stale or empty cache triggers a background refresh, never a wait."""

    def __init__(self, source: RunnerSource) -> None:
        self._source = source

    def _results(self) -> list[CheckResult]:
        try:
            runner = self._source()
            runner.refresh_in_background()  # no-op while the cache is fresh or a round is running
            report = runner.cached()
        except Exception:  # telemetry never hurts the app: a broken config reports nothing
            logger.debug("health gauges: no runner", exc_info=True)
            return []
        return list(report.results.values()) if report is not None else []

    def status(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [
            Observation(r.status.gauge_value, {"check": r.name, "clinic.health.critical": "true" if r.critical else "false"})
            for r in self._results()
        ]

    def duration(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(r.latency_s, {"check": r.name}) for r in self._results()]

    def db_connection_usage(self, _options: CallbackOptions) -> Iterable[Observation]:
        out = []
        for r in self._results():
            if r.name != "database":
                continue
            for alias, entry in (r.details.get("aliases") or {}).items():
                if isinstance(entry, dict) and "pool_usage" in entry:
                    out.append(Observation(float(entry["pool_usage"]), {"db.alias": alias}))
        return out

    def celery_queue_length(self, _options: CallbackOptions) -> Iterable[Observation]:
        out = []
        for r in self._results():
            if r.name == "broker":
                for queue, length in (r.details.get("queues") or {}).items():
                    out.append(Observation(int(length), {"queue": queue}))
        return out


def register_instruments(meter: Meter, runner: HealthRunner | RunnerSource | None = None) -> None:
    """Register the health gauges on `meter`. `runner`: a runner or a callable returning one (default: the
    process-wide runner from Django settings/env, resolved at each collection so reconfiguration is seen)."""
    if runner is None:
        source: RunnerSource = _default_source
    elif isinstance(runner, HealthRunner):
        source = lambda: runner  # noqa: E731
    else:
        source = runner
    observer = _HealthObserver(source)
    meter.create_observable_gauge(
        "clinic.health.status", callbacks=[observer.status], unit="1",
        description="Health check status: 1 ok, 0.5 degraded, 0 down",
    )
    meter.create_observable_gauge(
        "clinic.health.check.duration", callbacks=[observer.duration], unit="s",
        description="Duration of the last run of each health check",
    )
    meter.create_observable_gauge(
        "clinic.db.connection.usage", callbacks=[observer.db_connection_usage], unit="1",
        description="Fraction of the database connection pool in use",
    )
    meter.create_observable_gauge(
        "clinic.celery.queue.length", callbacks=[observer.celery_queue_length], unit="{task}",
        description="Messages waiting in each Celery queue",
    )

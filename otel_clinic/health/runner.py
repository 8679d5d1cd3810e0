"""Run checks concurrently with per-check timeouts, cache the results, share one round between callers.

Why threads per check rather than a ThreadPoolExecutor: a hung dependency pins its thread until the driver's own
timeout fires; executor threads are joined at interpreter exit, so one stuck check would hang `manage.py
monitor_health` after it printed. Our threads are daemons, and a check whose previous run is still stuck is not
started again (it reports `down` at once), so there is never more than one thread per check.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Collection, Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from otel_clinic.health.checks.base import HealthCheck, to_outcome
from otel_clinic.health.redact import redact
from otel_clinic.health.registry import HealthRegistry
from otel_clinic.health.result import CheckResult, HealthReport, Outcome, Status

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 2.0
DEFAULT_CACHE_INTERVAL = 10.0


class _Round:
    """A round in flight: latecomers wait on `done` instead of starting their own (single-flight)."""

    def __init__(self) -> None:
        self.done = threading.Event()


class HealthRunner:
    """Owns the result cache for one registry.

    `report()` returns cached results while they are younger than `cache_interval`; otherwise exactly one
    caller runs a round and concurrent callers wait for it. A round never takes longer than the largest check
    timeout. `cached()` never waits at all (metrics callbacks use it).
    """

    def __init__(
        self,
        registry: HealthRegistry,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        cache_interval: float = DEFAULT_CACHE_INTERVAL,
        critical: Collection[str] | None = None,
    ) -> None:
        self.registry = registry
        self.critical = frozenset(critical) if critical is not None else None  # None: each check's own flag
        self.timeout = timeout
        self.cache_interval = cache_interval
        self._lock = threading.Lock()
        self._results: dict[str, CheckResult] = {}
        self._cached_at: float | None = None  # monotonic time of the last full round
        self._round: _Round | None = None
        self._inflight: dict[str, tuple[Future[tuple[Outcome, float]], float]] = {}
        self._background: threading.Thread | None = None
        self.rounds = 0  # full rounds completed (benchmarks/tests count these)
        self.executions = 0  # individual check runs started
        _reset_in_forked_children(self)

    # -- public API ----------------------------------------------------------------------------
    def names(self) -> list[str]:
        return self.registry.names()

    def report(self, max_age: float | None = None) -> HealthReport:
        """Results of all checks, at most `max_age` (default: cache interval) seconds old."""
        interval = self.cache_interval if max_age is None else max_age
        with self._lock:
            if self._is_fresh(interval):
                return self._snapshot()
            current = self._round
            owner = current is None
            if owner:
                current = self._round = _Round()
        assert current is not None
        if owner:
            results: dict[str, CheckResult] | None = None
            try:
                results = self.run(self.registry.names())
            finally:
                with self._lock:
                    if results is not None:
                        self._results = dict(results)
                        self._cached_at = time.monotonic()
                        self.rounds += 1
                    self._round = None
                current.done.set()
        else:
            current.done.wait(self.max_timeout() + 1.0)
        with self._lock:
            return self._snapshot()

    def cached(self) -> HealthReport | None:
        """The last results without waiting (None before the first round)."""
        with self._lock:
            return self._snapshot() if self._cached_at is not None else None

    def refresh_in_background(self) -> bool:
        """Start a round in a daemon thread if the cache is stale and nothing is running. Never blocks."""
        with self._lock:
            if self._is_fresh(self.cache_interval) or self._round is not None:
                return False
            if self._background is not None and self._background.is_alive():
                return False
            self._background = threading.Thread(target=self._background_round, name="health-refresh", daemon=True)
            self._background.start()
            return True

    def max_timeout(self) -> float:
        return max((c.effective_timeout(self.timeout) for c in self.registry.checks()), default=self.timeout)

    def run(self, names: Iterable[str], timeout: float | None = None) -> dict[str, CheckResult]:
        """Run the named checks now, concurrently, bypassing the cache. Unknown names raise KeyError."""
        checks: list[HealthCheck] = []
        for name in names:
            check = self.registry.get(name)
            if check is None:
                raise KeyError(name)
            checks.append(check)
        started: dict[str, tuple[HealthCheck, Future[tuple[Outcome, float]], float, float]] = {}
        results: dict[str, CheckResult] = {}
        for check in checks:
            limit = timeout if timeout is not None else check.effective_timeout(self.timeout)
            with self._lock:
                previous = self._inflight.get(check.name)
                if previous is not None and not previous[0].done():
                    stuck_for = time.monotonic() - previous[1]
                    results[check.name] = self._result(
                        check, Outcome(Status.DOWN, f"timed out (previous run still hanging after {stuck_for:.1f}s)"),
                        latency=0.0,
                    )
                    continue
                future: Future[tuple[Outcome, float]] = Future()
                begun = time.monotonic()
                self._inflight[check.name] = (future, begun)
                self.executions += 1
            threading.Thread(
                target=self._execute, args=(check, future), name=f"health-check-{check.name}", daemon=True
            ).start()
            started[check.name] = (check, future, limit, begun)
        for name, (check, future, limit, begun) in started.items():
            try:
                outcome, latency = future.result(timeout=max(0.0, begun + limit - time.monotonic()))
            except FutureTimeout:
                outcome, latency = Outcome(Status.DOWN, f"timed out after {limit:g}s"), time.monotonic() - begun
            results[name] = self._result(check, outcome, latency)
        return {c.name: results[c.name] for c in checks}

    # -- internals -----------------------------------------------------------------------------
    def _after_fork_in_child(self) -> None:
        # Threads do not survive fork: a round or check that was running in the parent would look in-flight
        # forever in a gunicorn worker (readiness stuck, checks never re-run). Start clean; keep the results.
        self._lock = threading.Lock()
        self._round = None
        self._inflight = {}
        self._background = None

    def _is_fresh(self, interval: float) -> bool:
        return self._cached_at is not None and time.monotonic() - self._cached_at < interval

    def _snapshot(self) -> HealthReport:
        current = set(self.registry.names())
        results = {n: r for n, r in self._results.items() if n in current}
        newest = max((r.timestamp for r in results.values()), default=time.time())
        return HealthReport(results, newest)

    def _background_round(self) -> None:
        try:
            self.report()
        except Exception:  # a background refresh must never take the process down
            logger.warning("background health refresh failed", exc_info=True)

    @staticmethod
    def _execute(check: HealthCheck, future: Future[tuple[Outcome, float]]) -> None:
        begun = time.perf_counter()
        try:
            outcome = to_outcome(check.run())
            outcome = Outcome(outcome.status, redact(outcome.message, check.secrets), outcome.details)
        except Exception as exc:  # any failure of the dependency is a `down` result, never an error
            outcome = Outcome(Status.DOWN, redact(f"{type(exc).__name__}: {exc}", check.secrets))
        future.set_result((outcome, time.perf_counter() - begun))

    def is_critical(self, check: HealthCheck) -> bool:
        """The one criticality rule: an explicit list decides for every check (a listed `redis` covers the
        `redis.<name>` servers); without one, the check's own flag (its plugin's default, or the decorator's)."""
        if self.critical is not None:
            return check.name in self.critical or check.name.partition(".")[0] in self.critical
        return check.critical

    def _result(self, check: HealthCheck, outcome: Outcome, latency: float) -> CheckResult:
        return CheckResult(
            name=check.name,
            status=outcome.status,
            message=outcome.message,
            latency_s=latency,
            timestamp=time.time(),
            critical=self.is_critical(check),
            details=outcome.details,
        )


def _reset_in_forked_children(runner: HealthRunner) -> None:
    if not hasattr(os, "register_at_fork"):
        return
    ref = weakref.ref(runner)

    def reset() -> None:
        alive = ref()
        if alive is not None:
            alive._after_fork_in_child()

    os.register_at_fork(after_in_child=reset)

"""Runner behaviour: concurrency, per-check timeouts, caching, single-flight, failure handling."""

from __future__ import annotations

import threading
import time

import pytest

from otel_clinic.health import (
    FunctionCheck, HealthCheck, HealthRegistry, HealthRunner, Outcome, Status, health_check, register_check,
)
from otel_clinic.health.state import configure


def _runner(*checks: HealthCheck, timeout: float = 0.5, cache_interval: float = 60.0) -> HealthRunner:
    return HealthRunner(HealthRegistry(checks), timeout=timeout, cache_interval=cache_interval)


def test_hung_check_is_down_within_its_timeout_and_does_not_delay_the_others() -> None:
    release = threading.Event()
    runner = _runner(
        FunctionCheck(lambda: release.wait(30), name="hung", timeout=0.3),
        FunctionCheck(lambda: Status.OK, name="quick"),
    )
    try:
        begun = time.monotonic()
        results = runner.run(["hung", "quick"])
        elapsed = time.monotonic() - begun
    finally:
        release.set()
    assert results["hung"].status is Status.DOWN
    assert "timed out" in results["hung"].message
    assert results["quick"].status is Status.OK
    assert elapsed < 0.3 + 1.0  # the bound plus scheduling slack on a busy 2-core box


def test_checks_run_concurrently() -> None:
    checks = [FunctionCheck(lambda: time.sleep(0.4), name=f"slow{i}") for i in range(4)]
    runner = _runner(*checks, timeout=2.0)
    begun = time.monotonic()
    results = runner.run([c.name for c in checks])
    assert all(r.status is Status.OK for r in results.values())
    assert time.monotonic() - begun < 1.4  # serial would be >= 1.6 s


def test_still_hanging_check_is_not_started_twice() -> None:
    calls: list[int] = []
    release = threading.Event()

    def hang() -> None:
        calls.append(1)
        release.wait(30)

    runner = _runner(FunctionCheck(hang, name="hung", timeout=0.2))
    try:
        first = runner.run(["hung"])["hung"]
        second = runner.run(["hung"])["hung"]
    finally:
        release.set()
    assert first.status is Status.DOWN and second.status is Status.DOWN
    assert "previous run still hanging" in second.message
    assert len(calls) == 1  # no thread pile-up behind a dead dependency


def test_exception_becomes_down_with_secrets_stripped() -> None:
    def boom() -> None:
        raise ConnectionError("could not connect to postgresql://clinic:hunter2pw@db:5432/x password=hunter2pw")

    result = _runner(FunctionCheck(boom, name="boom")).run(["boom"])["boom"]
    assert result.status is Status.DOWN
    assert result.message.startswith("ConnectionError:")
    assert "hunter2pw" not in result.message
    assert "postgresql://***@db:5432/x" in result.message


def test_results_are_cached_for_the_interval_then_refreshed() -> None:
    calls: list[int] = []
    runner = _runner(FunctionCheck(lambda: calls.append(1), name="counted"), cache_interval=0.5)
    first = runner.report()
    again = runner.report()
    assert len(calls) == 1 and runner.rounds == 1
    assert again.results["counted"] is first.results["counted"]
    time.sleep(0.6)
    runner.report()
    assert len(calls) == 2 and runner.rounds == 2


def test_concurrent_callers_share_one_round() -> None:
    calls: list[int] = []
    lock = threading.Lock()

    def slow() -> Status:
        with lock:
            calls.append(1)
        time.sleep(0.3)
        return Status.OK

    runner = _runner(FunctionCheck(slow, name="slow"), timeout=2.0)
    barrier = threading.Barrier(20)
    statuses: list[Status] = []

    def caller() -> None:
        barrier.wait()
        statuses.append(runner.report().results["slow"].status)

    threads = [threading.Thread(target=caller) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert statuses == [Status.OK] * 20  # every caller got the shared round's result
    assert len(calls) == 1
    assert runner.rounds == 1


def test_cached_never_waits_and_background_refresh_fills_it() -> None:
    release = threading.Event()
    runner = _runner(FunctionCheck(lambda: release.wait(5) and Status.OK, name="slow", timeout=3.0))
    try:
        begun = time.monotonic()
        assert runner.cached() is None
        assert runner.refresh_in_background() is True
        assert runner.refresh_in_background() is False  # one refresh at a time
        assert time.monotonic() - begun < 0.5
    finally:
        release.set()
    report = None
    deadline = time.monotonic() + 5
    while report is None and time.monotonic() < deadline:
        report = runner.cached()
        time.sleep(0.02)
    assert report is not None and report.results["slow"].status is Status.OK


def test_overall_status_respects_criticality() -> None:
    runner = _runner(
        FunctionCheck(lambda: Status.OK, name="db", critical=True),
        FunctionCheck(lambda: False, name="extra", critical=False),
    )
    report = runner.report()
    assert report.results["extra"].status is Status.DOWN
    assert report.status is Status.DEGRADED  # a non-critical down degrades, it does not fail
    assert report.worst_status is Status.DOWN


def test_return_value_forms() -> None:
    runner = _runner(
        FunctionCheck(lambda: None, name="none"),
        FunctionCheck(lambda: "all good", name="text"),
        FunctionCheck(lambda: ("degraded", "slow replica"), name="pair"),
        FunctionCheck(lambda: Outcome(Status.DOWN, "gone", {"k": 1}), name="outcome"),
        FunctionCheck(lambda: 42, name="bad"),
    )
    r = runner.report().results
    assert (r["none"].status, r["text"].message) == (Status.OK, "all good")
    assert (r["pair"].status, r["pair"].message) == (Status.DEGRADED, "slow replica")
    assert (r["outcome"].status, r["outcome"].details) == (Status.DOWN, {"k": 1})
    assert r["bad"].status is Status.DOWN and "unsupported" in r["bad"].message


def test_custom_checks_by_decorator_and_class_join_the_configured_runner() -> None:
    @health_check(name="pharmacy_api", critical=False)
    def pharmacy() -> Status:
        return Status.DEGRADED

    class Ledger(HealthCheck):
        name = "ledger"

        def run(self) -> Outcome:
            return Outcome(Status.OK, "balanced")

    register_check(Ledger())
    runner = configure({"checks": ["disk"]}, use_django=False)
    report = runner.report()
    assert set(report.results) == {"disk", "pharmacy_api", "ledger"}
    assert report.results["pharmacy_api"].status is Status.DEGRADED
    assert report.results["pharmacy_api"].critical is False
    assert report.results["ledger"].message == "balanced"
    assert pharmacy() is Status.DEGRADED  # the decorator returns the function unchanged


def test_explicit_critical_list_overrides_check_flags() -> None:
    @health_check(name="payments", critical=False)
    def payments() -> bool:
        return False

    runner = configure({"checks": ["disk"], "critical": ["payments"]}, use_django=False)
    report = runner.report()
    assert report.results["payments"].critical is True
    assert report.results["disk"].critical is False
    assert report.status is Status.DOWN


def test_unknown_check_name_raises_keyerror() -> None:
    with pytest.raises(KeyError):
        _runner(FunctionCheck(lambda: None, name="a")).run(["nope"])


def test_forked_child_does_not_inherit_a_hung_round() -> None:
    """gunicorn forks workers: a round in flight in the parent must not block the child's checks forever."""
    import os

    release = threading.Event()
    calls: list[int] = []

    def check() -> Status:
        calls.append(1)
        if len(calls) == 1:  # the parent's first run hangs
            release.wait(30)
        return Status.OK

    runner = _runner(FunctionCheck(check, name="dep", timeout=5.0), cache_interval=60)
    parent_round = threading.Thread(target=runner.report, daemon=True)
    parent_round.start()
    assert wait_until(lambda: len(calls) == 1)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: must run the check afresh and finish well inside the 5 s timeout
        try:
            begun = time.monotonic()
            result = runner.report().results["dep"]
            ok = result.status is Status.OK and time.monotonic() - begun < 3.0
            os.write(write_fd, b"1" if ok else result.message.encode()[:200] or b"0")
        finally:
            os._exit(0)
    os.close(write_fd)
    try:
        verdict = os.read(read_fd, 256)
        os.waitpid(pid, 0)
    finally:
        os.close(read_fd)
        release.set()
    assert verdict == b"1", verdict


def wait_until(predicate, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False

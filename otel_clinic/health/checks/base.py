"""The check interface: subclass `HealthCheck` or wrap a function with `FunctionCheck`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Union

from otel_clinic.health.result import Outcome, Status

# What a check (or a decorated function) may return.
CheckReturn = Union[Outcome, Status, bool, str, tuple, None]


class HealthCheck:
    """A named dependency check.

    `run()` may block (the runner calls it in a worker thread and abandons it at `timeout`), may raise (the
    runner turns the exception into `down` with a redacted message) and should apply its own I/O timeouts so a
    hung dependency does not pin a thread forever: use `self.timeout`, which the runner sets before a round.
    """

    name: str = ""
    critical: bool = True
    timeout: float | None = None  # None: the runner's default
    secrets: tuple[str, ...] = ()  # literal values redact() must remove from messages

    def run(self) -> CheckReturn:  # pragma: no cover - interface
        raise NotImplementedError

    def effective_timeout(self, default: float) -> float:
        return self.timeout if self.timeout is not None else default

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} critical={self.critical}>"


class FunctionCheck(HealthCheck):
    """A plain function as a check (what the `@health_check` decorator builds)."""

    def __init__(
        self, func: Callable[[], CheckReturn], *, name: str, critical: bool = True, timeout: float | None = None
    ) -> None:
        self.func = func
        self.name = name
        self.critical = critical
        self.timeout = timeout

    def run(self) -> CheckReturn:
        return self.func()


def to_outcome(value: Any) -> Outcome:
    """Normalise what a check returned: Outcome, Status, bool, message str (ok), (status, message), None (ok)."""
    if isinstance(value, Outcome):
        return value
    if value is None:
        return Outcome(Status.OK)
    if isinstance(value, Status):
        return Outcome(value)
    if isinstance(value, bool):
        return Outcome(Status.OK if value else Status.DOWN, "" if value else "check returned False")
    if isinstance(value, str):
        return Outcome(Status.OK, value)
    if isinstance(value, tuple) and 1 <= len(value) <= 3:
        status = value[0] if isinstance(value[0], Status) else Status(str(value[0]))
        message = str(value[1]) if len(value) > 1 else ""
        details = dict(value[2]) if len(value) > 2 else {}
        return Outcome(status, message, details)
    raise TypeError(f"unsupported health check return value of type {type(value).__name__}")


def classify(value: float, warning: float, critical: float) -> Status:
    """Threshold rule shared by disk and memory: >= critical is down, >= warning degraded."""
    if value >= critical:
        return Status.DOWN
    if value >= warning:
        return Status.DEGRADED
    return Status.OK

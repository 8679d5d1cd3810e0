"""Registry of checks, and the `@health_check` decorator for custom checks."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from typing import TypeVar, overload

from otel_clinic.errors import ConfigError
from otel_clinic.health.checks.base import CheckReturn, FunctionCheck, HealthCheck

_NAME = re.compile(r"^[a-z][a-z0-9_.:\-]{0,63}$")

F = TypeVar("F", bound=Callable[[], CheckReturn])


class HealthRegistry:
    """An ordered, thread-safe set of checks keyed by name."""

    def __init__(self, checks: Iterable[HealthCheck] = ()) -> None:
        self._checks: dict[str, HealthCheck] = {}
        self._lock = threading.Lock()
        self.version = 0  # bumped on every change so runners can notice
        for check in checks:
            self.register(check)

    def register(self, check: HealthCheck, *, replace: bool = False) -> HealthCheck:
        if not isinstance(check, HealthCheck):
            raise TypeError(f"expected a HealthCheck, got {type(check).__name__}")
        if not _NAME.match(check.name or ""):
            raise ConfigError("health check name", check.name, "lowercase letters, digits, _ . : - (max 64)")
        with self._lock:
            if check.name in self._checks and not replace:
                raise ConfigError("health check name", check.name, "a name not already registered")
            self._checks[check.name] = check
            self.version += 1
        return check

    def unregister(self, name: str) -> None:
        with self._lock:
            if self._checks.pop(name, None) is not None:
                self.version += 1

    def names(self) -> list[str]:
        with self._lock:
            return list(self._checks)

    def checks(self) -> list[HealthCheck]:
        with self._lock:
            return list(self._checks.values())

    def get(self, name: str) -> HealthCheck | None:
        with self._lock:
            return self._checks.get(name)

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._checks

    def __len__(self) -> int:
        with self._lock:
            return len(self._checks)

    @overload
    def check(self, func: F) -> F: ...
    @overload
    def check(
        self, func: None = None, *, name: str | None = None, critical: bool = True, timeout: float | None = None
    ) -> Callable[[F], F]: ...

    def check(self, func=None, *, name=None, critical=True, timeout=None):  # type: ignore[no-untyped-def]
        """Decorator registering a function as a check; the function is returned unchanged."""

        def decorate(fn: F) -> F:
            self.register(
                FunctionCheck(fn, name=name or fn.__name__, critical=critical, timeout=timeout), replace=True
            )
            return fn

        return decorate(func) if func is not None else decorate


# Custom checks declared with `@health_check` anywhere in the app land here; the configured runner includes
# them next to the built-ins.
custom_checks = HealthRegistry()


def health_check(
    func: F | None = None, *, name: str | None = None, critical: bool = True, timeout: float | None = None
):  # type: ignore[no-untyped-def]
    """Register a custom check::

        @health_check(name="pharmacy_api", critical=False, timeout=1.0)
        def pharmacy() -> Status | bool | Outcome | tuple[Status, str] | None: ...
    """
    return custom_checks.check(func, name=name, critical=critical, timeout=timeout)


def register_check(check: HealthCheck) -> HealthCheck:
    """Register a custom `HealthCheck` instance (class-based checks)."""
    return custom_checks.register(check, replace=True)

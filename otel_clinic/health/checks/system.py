"""`disk` and `memory`: local resource thresholds (percent used)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from typing import Any

from otel_clinic.health.checks.base import HealthCheck, classify
from otel_clinic.health.plugins import check_plugin
from otel_clinic.health.result import Outcome, Status, worst


class DiskCheck(HealthCheck):
    def __init__(
        self, paths: Sequence[str] = ("/",), *, warning: float = 90.0, critical_pct: float = 95.0,
        name: str = "disk", critical: bool = False, timeout: float | None = None,
    ) -> None:
        self.paths = list(paths)
        self.warning = warning
        self.critical_pct = critical_pct
        self.name = name
        self.critical = critical
        self.timeout = timeout

    def run(self) -> Outcome:
        used: dict[str, float] = {}
        statuses = []
        parts = []
        for path in self.paths:
            usage = shutil.disk_usage(path)
            pct = 100.0 * usage.used / usage.total if usage.total else 0.0
            used[path] = round(pct, 2)
            status = classify(pct, self.warning, self.critical_pct)
            statuses.append(status)
            parts.append(f"{path}: {pct:.1f}% used, {usage.free / 2**30:.1f} GiB free")
        return Outcome(worst(statuses), "; ".join(parts), {"used_percent": used})


class MemoryCheck(HealthCheck):
    def __init__(
        self, *, warning: float = 80.0, critical_pct: float = 90.0, name: str = "memory", critical: bool = False,
        timeout: float | None = None,
    ) -> None:
        self.warning = warning
        self.critical_pct = critical_pct
        self.name = name
        self.critical = critical
        self.timeout = timeout

    def run(self) -> Outcome:
        try:
            import psutil
        except ImportError:
            return Outcome(Status.DEGRADED, "psutil is not installed (pip install psutil)")
        system = psutil.virtual_memory()
        rss = psutil.Process(os.getpid()).memory_info().rss
        status = classify(system.percent, self.warning, self.critical_pct)
        return Outcome(
            status,
            f"system memory {system.percent:.1f}% used; process RSS {rss / 2**20:.0f} MiB",
            {"system_used_percent": system.percent, "process_rss_bytes": rss},
        )


def _psutil_available(settings: Any = None, django_settings: Any = None) -> bool:
    try:
        import psutil  # noqa: F401
    except ImportError:
        return False
    return True


@check_plugin("disk", critical=False)
def _disk_checks(settings: Any, django_settings: Any) -> list[HealthCheck]:
    return [DiskCheck(settings.disk_paths, warning=settings.disk_warning, critical_pct=settings.disk_critical,
                      timeout=settings.timeout)]


# psutil is a dependency; an install without it skips the memory check instead of reporting "degraded" out of
# the box (naming it in `checks` without psutil is a ConfigError).
@check_plugin("memory", critical=False, requires="psutil, pip install psutil", available=_psutil_available)
def _memory_checks(settings: Any, django_settings: Any) -> list[HealthCheck]:
    return [MemoryCheck(warning=settings.memory_warning, critical_pct=settings.memory_critical,
                        timeout=settings.timeout)]

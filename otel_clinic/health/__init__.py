"""Health-check instrument: checks, registry, runner (timeouts + cache), gauges, views, command.

Plain Python::

    from otel_clinic import health
    runner = health.configure({"redis_url": "redis://127.0.0.1:6379/0", "timeout": 1.0})
    report = runner.report()          # cached for cache_interval seconds; one round shared by callers
    report.status, report.results["redis"].message

Custom checks::

    @health.health_check(name="pharmacy_api", critical=False)
    def pharmacy() -> health.Status: ...

New kinds of check (selected by name in `checks`, like the built-ins): `health.check_plugin` (see
`health/plugins.py`).

Gauges: `health.register_instruments(meter)` (setup() calls it).
"""

from otel_clinic.health.checks import (
    BrokerCheck, CacheCheck, DatabaseCheck, DiskCheck, FunctionCheck, HealthCheck, MemoryCheck, RedisCheck,
    TlsCertificateCheck,
)
from otel_clinic.health.config import HealthSettings
from otel_clinic.health.instrument import register_instruments
from otel_clinic.health.plugins import CheckPlugin, check_plugin, plugins
from otel_clinic.health.registry import HealthRegistry, custom_checks, health_check, register_check
from otel_clinic.health.result import CheckResult, HealthReport, Outcome, Status
from otel_clinic.health.runner import HealthRunner
from otel_clinic.health.state import configure, get_runner, reset

__all__ = [
    "BrokerCheck", "CacheCheck", "CheckPlugin", "CheckResult", "DatabaseCheck", "DiskCheck", "FunctionCheck", "HealthCheck",
    "HealthRegistry", "HealthReport", "HealthRunner", "HealthSettings", "MemoryCheck", "Outcome", "RedisCheck",
    "Status", "TlsCertificateCheck", "check_plugin", "configure", "custom_checks", "get_runner", "health_check",
    "plugins", "register_check", "register_instruments", "reset",
]

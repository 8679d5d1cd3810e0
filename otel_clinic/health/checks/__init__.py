"""Built-in health checks. Each module registers its factory in `health.plugins` on import; the imports below
are in report order (database, cache, redis, broker, disk, memory, tls_certificate)."""

from otel_clinic.health.checks.base import FunctionCheck, HealthCheck
from otel_clinic.health.checks.database import DatabaseCheck
from otel_clinic.health.checks.cache import CacheCheck
from otel_clinic.health.checks.redis import RedisCheck
from otel_clinic.health.checks.broker import BrokerCheck
from otel_clinic.health.checks.system import DiskCheck, MemoryCheck
from otel_clinic.health.checks.tls import TlsCertificateCheck

__all__ = [
    "BrokerCheck", "CacheCheck", "DatabaseCheck", "DiskCheck", "FunctionCheck", "HealthCheck", "MemoryCheck",
    "RedisCheck", "TlsCertificateCheck",
]

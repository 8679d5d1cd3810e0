"""`tls_certificate`: days until the certificate of each configured host expires (verified handshake)."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Sequence
from typing import Any

from otel_clinic.health.checks.base import HealthCheck
from otel_clinic.health.plugins import check_plugin
from otel_clinic.health.redact import redact
from otel_clinic.health.result import Outcome, Status, worst


def parse_host(spec: str) -> tuple[str, int]:
    """'host', 'host:port' or '[v6]:port' -> (host, port); 443 by default."""
    spec = spec.strip()
    if spec.startswith("["):
        host, _, rest = spec[1:].partition("]")
        return host, int(rest.lstrip(":") or 443)
    host, sep, port = spec.rpartition(":")
    if sep and port.isdigit():
        return host, int(port)
    return spec, 443


class TlsCertificateCheck(HealthCheck):
    def __init__(
        self, hosts: Sequence[str], *, warning_days: float = 30.0, critical_days: float = 0.0,
        ca_file: str | None = None, name: str = "tls_certificate", critical: bool = False,
        timeout: float | None = None,
    ) -> None:
        self.hosts = [parse_host(h) for h in hosts]
        self.warning_days = warning_days
        self.critical_days = critical_days
        self.ca_file = ca_file
        self.name = name
        self.critical = critical
        self.timeout = timeout

    def run(self) -> Outcome:
        statuses = []
        parts = []
        days_left: dict[str, float] = {}
        for host, port in self.hosts:
            label = f"{host}:{port}"
            try:
                days = self._days_left(host, port)
            except Exception as exc:  # handshake or verification failure: the cert is not usable
                statuses.append(Status.DOWN)
                parts.append(f"{label}: {redact(f'{type(exc).__name__}: {exc}')}")
                continue
            days_left[label] = round(days, 2)
            if days <= self.critical_days:
                statuses.append(Status.DOWN)
                parts.append(f"{label}: expired" if days <= 0 else f"{label}: expires in {days:.1f} days")
            elif days < self.warning_days:
                statuses.append(Status.DEGRADED)
                parts.append(f"{label}: expires in {days:.1f} days")
            else:
                statuses.append(Status.OK)
                parts.append(f"{label}: {days:.0f} days left")
        return Outcome(worst(statuses), "; ".join(parts), {"days_left": days_left})

    def _days_left(self, host: str, port: int) -> float:
        timeout = self.timeout or 2.0
        context = ssl.create_default_context(cafile=self.ca_file)
        with socket.create_connection((host, port), timeout=timeout) as raw:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                cert = tls.getpeercert()
        not_after = ssl.cert_time_to_seconds(cert["notAfter"])
        return (not_after - time.time()) / 86400.0


@check_plugin("tls_certificate", critical=False, requires="tls_hosts",
              available=lambda settings, dj: bool(settings.tls_hosts))
def _tls_checks(settings: Any, django_settings: Any) -> list[HealthCheck]:
    return [TlsCertificateCheck(settings.tls_hosts, warning_days=settings.tls_warning_days,
                                critical_days=settings.tls_critical_days, ca_file=settings.tls_ca_file,
                                timeout=settings.timeout)]

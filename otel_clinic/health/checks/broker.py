"""`broker`: connect to the Celery broker with kombu; optional queue lengths and worker ping."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from otel_clinic.health.checks.base import HealthCheck
from otel_clinic.health.plugins import check_plugin
from otel_clinic.health.redact import safe_url
from otel_clinic.health.result import Outcome, Status


class BrokerCheck(HealthCheck):
    def __init__(
        self, url: str, *, name: str = "broker", critical: bool = True, timeout: float | None = None,
        queues: Sequence[str] = (), worker_ping: bool = False,
    ) -> None:
        self.url = url
        self.name = name
        self.critical = critical
        self.timeout = timeout
        self.queues = list(queues)
        self.worker_ping = worker_ping
        password = urlsplit(url).password
        self.secrets = (password,) if password else ()

    def run(self) -> Outcome:
        from kombu import Connection

        timeout = self.timeout or 2.0
        details: dict[str, Any] = {}
        with Connection(self.url, connect_timeout=timeout, transport_options={"socket_timeout": timeout}) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
            if self.queues:
                details["queues"] = _queue_lengths(conn, self.queues)
        message = f"connected to {safe_url(self.url)}"
        if not self.worker_ping:
            return Outcome(Status.OK, message, details)
        workers = self._ping_workers(timeout)
        details["workers"] = workers
        if workers == 0:
            return Outcome(Status.DEGRADED, message + "; no Celery worker answered ping", details)
        return Outcome(Status.OK, message + f"; {workers} worker(s) answered ping", details)

    def _ping_workers(self, timeout: float) -> int:
        from celery import Celery

        app = Celery("otel_clinic_health", broker=self.url, set_as_current=False)
        app.conf.broker_connection_retry = False
        app.conf.broker_connection_retry_on_startup = False
        try:
            replies = app.control.ping(timeout=max(0.2, timeout / 2))
        finally:
            app.close()
        return len(replies or [])


def _queue_lengths(conn: Any, queues: Sequence[str]) -> dict[str, int]:
    lengths: dict[str, int] = {}
    channel = conn.default_channel
    for queue in queues:
        try:
            declared = channel.queue_declare(queue=queue, passive=True)
            lengths[queue] = int(declared.message_count)
        except Exception:
            # kombu's redis transport raises for a queue that has never been declared: nothing is waiting.
            lengths[queue] = 0
    return lengths


def _broker_url(settings: Any, django_settings: Any) -> str | None:
    return settings.broker_url or getattr(django_settings, "CELERY_BROKER_URL", None)


@check_plugin("broker", critical=True, requires="broker_url or CELERY_BROKER_URL",
              available=lambda settings, dj: bool(_broker_url(settings, dj)))
def _broker_checks(settings: Any, django_settings: Any) -> list[HealthCheck]:
    return [BrokerCheck(_broker_url(settings, django_settings), queues=settings.broker_queues,  # type: ignore[arg-type]
                        worker_ping=settings.broker_worker_ping, timeout=settings.timeout)]

"""Deployment markers: a log event, the ``clinic.deployment`` info gauge, and Sentry release + deploy.

``clinic.deployment`` (value 1, labelled by version and environment) and ``clinic.deployment.timestamp``
(seconds since the epoch) are observable gauges, so Prometheus/Grafana can draw a deployment annotation
(``changes(clinic_deployment_timestamp_seconds[5m]) > 0``) and join errors to the running release.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Iterable

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from otel_clinic.integrations.sentry_releases import SentryReleaseAPI
from otel_clinic.scrubbing.logtemplates import SafeArg
from otel_clinic.semantics.release import current_release

_logger = logging.getLogger("otel_clinic.deployment")


@dataclass
class DeploymentResult:
    version: str
    environment: str
    timestamp: float
    sentry_release_created: bool = False
    sentry_deploy_created: bool = False
    sentry_errors: list[str] = field(default_factory=list)


class DeploymentRegistry:
    """Deployments seen by this process; the startup release is always present."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deployments: dict[tuple[str, str], float] = {}
        self._started = time.time()

    def record(self, version: str, environment: str, timestamp: float) -> None:
        with self._lock:
            self._deployments[(version, environment)] = timestamp

    def snapshot(self) -> dict[tuple[str, str], float]:
        release = current_release()
        with self._lock:
            data = dict(self._deployments)
        data.setdefault((release.version, release.environment), self._started)
        return data

    def observe_info(self, options: CallbackOptions) -> Iterable[Observation]:
        for (version, env), _ in self.snapshot().items():
            yield Observation(1, {"service.version": version, "deployment.environment.name": env})

    def observe_timestamp(self, options: CallbackOptions) -> Iterable[Observation]:
        for (version, env), ts in self.snapshot().items():
            yield Observation(ts, {"service.version": version, "deployment.environment.name": env})


registry = DeploymentRegistry()


def register_deployment_instruments(meter: Meter) -> None:
    meter.create_observable_gauge(
        "clinic.deployment", callbacks=[registry.observe_info], unit="1",
        description="Info-style gauge (1) per deployed version and environment.",
    )
    meter.create_observable_gauge(
        "clinic.deployment.timestamp", callbacks=[registry.observe_timestamp], unit="s",
        description="When each version was deployed (Unix seconds).",
    )


def track_deployment(
    version: str,
    environment: str,
    deployed_by: str | None = None,
    changes: str | None = None,
    *,
    sentry: SentryReleaseAPI | None = None,
) -> DeploymentResult:
    """Record a deployment: log event + gauges, and Sentry release/deploy when Sentry API settings exist.

    Sentry settings default to the active config (``SENTRY_AUTH_TOKEN``, ``SENTRY_ORG``, ``SENTRY_PROJECT``,
    ``SENTRY_URL``). Failures of the Sentry API are logged and returned, never raised; a ``SENTRY_URL`` that is
    not https (plain http only for a loopback host) raises ConfigError before the token is sent anywhere.
    """
    if not version or not environment:
        raise ValueError("track_deployment needs a version and an environment")
    now = time.time()
    registry.record(version, environment, now)
    result = DeploymentResult(version=version, environment=environment, timestamp=now)
    _logger.info(
        # release and environment are the operator's settings, not data: written into the body as they are
        "deployment %s to %s", SafeArg(version), SafeArg(environment),
        extra={"event.name": "clinic.deployment", "service.version": version,
               "deployment.environment.name": environment, "clinic.deployed_by": deployed_by or "unknown",
               "clinic.changes": (changes or "")[:2000]},
    )
    if sentry is None:
        sentry = _sentry_from_config()
    if sentry is not None:
        for step, call in (("release", lambda: sentry.create_release(version, changes)),
                           ("deploy", lambda: sentry.create_deploy(version, environment, deployed_by))):
            try:
                status, body = call()
            except Exception as exc:  # network down: report, don't raise
                status, body = 0, str(exc)
            ok = 200 <= status < 300 or (step == "release" and status == 208)
            if step == "release":
                result.sentry_release_created = ok
            else:
                result.sentry_deploy_created = ok
            if not ok:
                result.sentry_errors.append(f"{step}: HTTP {status} {body[:200]}")
                _logger.warning("Sentry %s creation failed: HTTP %s", step, status)
    return result


def _sentry_from_config() -> SentryReleaseAPI | None:
    from otel_clinic import _state

    config = _state.active_config()
    if config is None or not (config.sentry_auth_token and config.sentry_org and config.sentry_project):
        return None
    return SentryReleaseAPI(config.sentry_url, config.sentry_auth_token, config.sentry_org, config.sentry_project)

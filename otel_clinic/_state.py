"""Process-wide state: the active telemetry handle (setup() is idempotent through it)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from otel_clinic.config import ClinicConfig
    from otel_clinic.telemetry import ClinicTelemetry

lock = threading.RLock()
handle: "ClinicTelemetry | None" = None


def active_config() -> "ClinicConfig | None":
    return handle.config if handle is not None else None

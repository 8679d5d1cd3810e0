"""The request being served in this context: started by the request hook, counted into by the DB wrapper.

Its own module so the DB and cache wrappers read it without importing the request instrumentation.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any


@dataclass
class RequestState:
    started: float
    method: str
    queries: int = 0
    db_seconds: float = 0.0
    token: Any = None  # current_request's reset token
    tenant_token: Any = None  # the tenant scope's reset token (tenants.begin)
    tenant_resolved: bool = False


current_request: contextvars.ContextVar[RequestState | None] = contextvars.ContextVar("otel_clinic_request", default=None)

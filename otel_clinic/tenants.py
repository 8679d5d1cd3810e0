"""Tenants (organisation-scoped telemetry): ``clinic.tenant`` on server spans, request durations, DB query metrics
and business counters, with a cardinality guard.

Where the tenant comes from, per request or task:

* ``OTEL_CLINIC_TENANT_RESOLVER=module:function``: called with the Django request once the middleware chain has
  run (``request.user`` is there), before the view; returns a tenant id or None. Loaded at ``setup()`` (an import
  error is a :class:`ConfigError` naming the setting); an exception it raises is counted
  (``clinic.tenant.resolver_errors``) and never reaches the request.
* :func:`set_tenant` from application code (a view, a Celery task): wins over the resolver for the rest of the
  request or task.
* Celery: the publishing context's tenant travels in a ``clinic_tenant`` task header (``before_task_publish``)
  and is set for the task's run (``task_prerun``/``task_postrun``). The signals are connected once the app has
  imported Celery (at ``setup()`` in a worker, at the first tenant in a web process); we never import it.

The guard: at most ``OTEL_CLINIC_TENANT_LIMIT`` distinct tenants per process (first come, first kept); any other
tenant is reported as ``_other`` and counted in ``clinic.tenant.folded``. Values are attributes like any other:
the exporters' scrubber replaces one that looks like PHI.
"""

from __future__ import annotations

import contextvars
import importlib
import logging
import sys
import threading
from typing import Any, Callable

from otel_clinic.errors import ConfigError
from otel_clinic.instruments import get_instruments

_logger = logging.getLogger("otel_clinic.tenants")

ATTRIBUTE = "clinic.tenant"
OTHER = "_other"
SETTING = "OTEL_CLINIC_TENANT_RESOLVER"
CELERY_HEADER = "clinic_tenant"
_MAX_CHARS = 128  # a tenant id, not a document

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("otel_clinic_tenant", default=None)


class TenantGuard:
    """At most ``limit`` distinct tenants per process; the rest fold into ``_other`` (and are counted)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def admit(self, tenant: str) -> str:
        if tenant in self._seen:  # the common case, lock-free (set membership is atomic)
            return tenant
        with self._lock:
            if tenant in self._seen or len(self._seen) < self.limit:
                self._seen.add(tenant)
                return tenant
        try:
            get_instruments().tenant_folded.add(1)
        except Exception:
            pass
        return OTHER

    @property
    def tenants(self) -> int:
        return len(self._seen)


_guard = TenantGuard(100)
_resolver: Callable[[Any], Any] | None = None
_configured = False
_celery_connected = False


def load_resolver(spec: str) -> Callable[[Any], Any]:
    """``module:function`` → the function; anything wrong is a ConfigError naming the setting."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(SETTING, spec, "module:function, e.g. myapp.tenants:tenant_for_request")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except Exception as exc:
        raise ConfigError(SETTING, spec, f"an importable callable (import failed: {type(exc).__name__}: {exc})") from None
    if not callable(target):
        raise ConfigError(SETTING, spec, "a callable taking the request")
    return target


def configure(config: Any) -> None:
    """At ``setup()``: load the resolver (may raise ConfigError before anything is installed), reset the guard
    to ``tenant_limit`` and connect the Celery header signals when Celery is installed."""
    global _resolver, _guard, _configured
    spec = getattr(config, "tenant_resolver", None)
    resolver = load_resolver(spec) if spec else None
    _resolver = resolver
    _guard = TenantGuard(int(getattr(config, "tenant_limit", 100) or 100))
    _configured = True
    _maybe_connect_celery()


def unconfigure() -> None:
    """At ``shutdown()``: forget the resolver and the admitted tenants, disconnect the Celery signals."""
    global _resolver, _guard, _configured
    _configured = False
    _resolver = None
    _guard = TenantGuard(_guard.limit)
    _disconnect_celery()


def _normalise(tenant: Any) -> str | None:
    if tenant is None:
        return None
    value = str(tenant).strip()[:_MAX_CHARS]
    return value or None


def set_tenant(tenant_id: Any) -> None:
    """Tenant of the current request or task (``None`` clears it). Beyond the per-process limit it is ``_other``."""
    value = _normalise(tenant_id)
    _current.set(_guard.admit(value) if value is not None else None)
    if not _celery_connected and value is not None:
        _maybe_connect_celery()  # a web process may import Celery (its task modules) after setup()


def current_tenant() -> str | None:
    """The current request's or task's (guarded) tenant, or None."""
    return _current.get()


def begin() -> contextvars.Token:
    """Start of a request or task: no tenant inherited from the previous one on this thread."""
    return _current.set(None)


def end(token: contextvars.Token | None) -> None:
    if token is None:
        return
    try:
        _current.reset(token)
    except ValueError:  # another context (ASGI thread hop): just clear it
        _current.set(None)


def resolve(request: Any) -> None:
    """Call the configured resolver once for ``request`` unless the tenant is already set."""
    if _resolver is None or _current.get() is not None:
        return
    try:
        tenant = _resolver(request)
    except Exception:  # the app's resolver must never break the request
        _logger.debug("tenant resolver failed", exc_info=True)
        try:
            get_instruments().tenant_resolver_errors.add(1)
        except Exception:
            pass
        return
    if tenant is not None:
        try:
            set_tenant(tenant)
        except Exception:  # e.g. an id whose str() fails: counted like a resolver failure
            _logger.debug("tenant id rejected", exc_info=True)
            try:
                get_instruments().tenant_resolver_errors.add(1)
            except Exception:
                pass


# --- Celery: the publisher's tenant rides along in a task header --------------------------------------------

def _on_publish(headers: dict | None = None, **kwargs: Any) -> None:
    tenant = _current.get()
    if tenant is not None and isinstance(headers, dict):
        headers.setdefault(CELERY_HEADER, tenant)


_task_tokens: dict[str, contextvars.Token] = {}


def _on_prerun(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    try:
        token = begin()
        if task_id is not None:
            _task_tokens[task_id] = token
        set_tenant(getattr(getattr(task, "request", None), CELERY_HEADER, None))
    except Exception:
        _logger.debug("could not set the task's tenant", exc_info=True)


def _on_postrun(task_id: str | None = None, **kwargs: Any) -> None:
    end(_task_tokens.pop(task_id, None) if task_id is not None else None)


def _maybe_connect_celery() -> None:
    # Only once Celery is imported by the app: importing it ourselves would cost every process ~17 MB and 0.7 s.
    if _configured and not _celery_connected and "celery" in sys.modules:
        _connect_celery()


def _connect_celery() -> None:
    global _celery_connected
    if _celery_connected:
        return
    try:
        from celery.signals import before_task_publish, task_postrun, task_prerun

        before_task_publish.connect(_on_publish, weak=False, dispatch_uid="otel_clinic.tenant.publish")
        task_prerun.connect(_on_prerun, weak=False, dispatch_uid="otel_clinic.tenant.prerun")
        task_postrun.connect(_on_postrun, weak=False, dispatch_uid="otel_clinic.tenant.postrun")
        _celery_connected = True
    except Exception:
        _logger.debug("could not connect Celery's task signals", exc_info=True)


def _disconnect_celery() -> None:
    global _celery_connected
    if not _celery_connected:
        return
    from celery.signals import before_task_publish, task_postrun, task_prerun

    before_task_publish.disconnect(_on_publish, dispatch_uid="otel_clinic.tenant.publish")
    task_prerun.disconnect(_on_prerun, dispatch_uid="otel_clinic.tenant.prerun")
    task_postrun.disconnect(_on_postrun, dispatch_uid="otel_clinic.tenant.postrun")
    _celery_connected = False

"""sentry-sdk initialisation: same release/environment as the OTel resource, PHI-safe, linked to OTel traces.

- ``send_default_pii=False`` and ``include_local_variables=False`` are enforced, whatever the caller passes.
- Events carry the current OpenTelemetry trace id (sentry-sdk's ``OTLPIntegration`` registers OTel as the
  external propagation context, so ``contexts.trace.trace_id`` is the OTel trace id) and the tags
  ``error.category``, ``clinic.severity`` and ``otel.trace_id``.
- Sentry's own tracing stays off unless ``OTEL_CLINIC_SENTRY_TRACES_SAMPLE_RATE`` > 0: OpenTelemetry traces.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from opentelemetry import trace

from otel_clinic.config import ClinicConfig
from otel_clinic.signals.errors import categorize_error

_logger = logging.getLogger("otel_clinic.sentry")


def _unhandled(event: dict) -> bool:
    values = (event.get("exception") or {}).get("values") or []
    return any((v.get("mechanism") or {}).get("handled") is False for v in values if isinstance(v, dict))


def tag_event(event: dict, hint: dict) -> dict:
    """Add category, severity and OTel ids to an error event (runs synchronously on the capturing thread)."""
    tags = event.setdefault("tags", {})
    exc_info = hint.get("exc_info") if isinstance(hint, dict) else None
    exception = exc_info[1] if exc_info and len(exc_info) > 1 else None
    if exception is not None:
        status = getattr(getattr(exception, "response", None), "status_code", None)
        category = categorize_error(status if isinstance(status, int) else 500, exception)
        if category:
            tags.setdefault("error.category", category)
        if _unhandled(event):  # an exception that escaped a request is a 5xx: critical (handled ones: no claim)
            tags.setdefault("clinic.severity", "critical")
    span = trace.get_current_span()
    ctx = span.get_span_context()
    if isinstance(event.get("event_id"), str) and span.is_recording():
        # The gateway's tail sampler keeps every trace that has a Sentry event, so the link always resolves.
        span.set_attribute("sentry.event_id", event["event_id"])
    if ctx.is_valid:
        trace_id, span_id = format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")
        tags.setdefault("otel.trace_id", trace_id)
        trace_ctx = event.setdefault("contexts", {}).setdefault("trace", {})
        trace_ctx.setdefault("trace_id", trace_id)
        trace_ctx.setdefault("span_id", span_id)
    return event


def _chain(first: Callable, second: Callable | None) -> Callable:
    def hook(event, hint):
        try:
            event = first(event, hint)
        except Exception:
            _logger.debug("event tagging failed", exc_info=True)
        if event is None or second is None:
            return event
        return second(event, hint)

    return hook


def init_sentry(config: ClinicConfig, scrub_policy: Any = None, **sentry_options: Any) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    integrations: list[Any] = [DjangoIntegration(transaction_style="url")]
    try:
        from sentry_sdk.integrations.otlp import OTLPIntegration

        # We own the TracerProvider and the propagators; only take OTel's trace ids into Sentry events.
        integrations.append(OTLPIntegration(setup_otlp_traces_exporter=False, setup_propagator=False))
    except Exception:  # older sentry-sdk: tag_event still copies the trace id
        pass
    hooks: dict[str, Callable] = {}
    if config.sentry_scrub:
        import os

        from otel_clinic.scrubbing import ScrubPolicy, sentry_hooks

        # Sentry events never pass the Collector: scrub them here even when in-process span/log scrubbing is off.
        policy = scrub_policy if scrub_policy is not None else ScrubPolicy.from_env(os.environ)
        hooks = dict(sentry_hooks(policy))
    options: dict[str, Any] = {
        "integrations": integrations,
        "traces_sample_rate": config.sentry_traces_sample_rate or None,
        **sentry_options,
        "dsn": config.sentry_dsn,
        "release": config.release,
        "environment": config.environment,
        "send_default_pii": False,
        "include_local_variables": False,
        "max_request_body_size": "never",
        "before_send": _chain(tag_event, hooks.get("before_send")),
    }
    if "before_send_transaction" in hooks:
        options["before_send_transaction"] = hooks["before_send_transaction"]
    if "before_breadcrumb" in hooks:
        options["before_breadcrumb"] = hooks["before_breadcrumb"]
    sentry_sdk.init(**options)

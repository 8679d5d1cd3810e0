"""sentry-sdk initialisation: same release/environment as the OTel resource, PHI-safe, linked to OTel traces.

- No default PII (``send_default_pii``/``data_collection`` left at the SDK's no-PII default, or
  ``send_default_pii=False`` on SDKs without ``data_collection``) and ``include_local_variables=False`` are
  enforced, whatever the caller passes.
- The caller's ``before_send``/``before_send_transaction``/``before_breadcrumb`` (in ``sentry_options``) are
  chained after ours: ours tags and scrubs, then theirs runs on the scrubbed event.
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
from otel_clinic.semantics.errors import categorize_error

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


def _chain(first: Callable | None, second: Callable | None, *, name: str) -> Callable | None:
    """One sentry-sdk hook out of ours (``first``: tags and scrubs) and the caller's (``second``), in that order.

    Ours runs first so the caller's hook never sees unscrubbed PHI; ours failing never stops the event reaching
    the caller's hook (and a failing hook of ours is logged, not raised); the caller's hook may drop the event
    (return None) or raise exactly as it would without us.
    """
    if first is None:
        return second

    def hook(event, hint):
        try:
            result = first(event, hint)
        except Exception:
            _logger.debug("otel_clinic %s hook failed", name, exc_info=True)
            result = event
        if result is None or second is None:
            return result
        return second(result, hint)

    hook.__name__ = f"otel_clinic_{name}"
    return hook


def _tag_then_scrub(scrub: Callable | None) -> Callable:
    if scrub is None:
        return tag_event

    def before_send(event, hint):
        try:
            event = tag_event(event, hint)
        except Exception:
            _logger.debug("event tagging failed", exc_info=True)
        return scrub(event, hint)

    return before_send


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

        from otel_clinic.scrubbing import ScrubPolicy, scrubber_for

        # Sentry events never pass the Collector: scrub them here even when in-process span/log scrubbing is off.
        policy = scrub_policy if scrub_policy is not None else ScrubPolicy.from_env(os.environ)
        hooks = scrubber_for(True, policy).sentry_hooks()
    user_hooks = {name: sentry_options.pop(name, None) for name in _HOOKS}
    options: dict[str, Any] = {
        "integrations": integrations,
        "traces_sample_rate": config.sentry_traces_sample_rate or None,
        **sentry_options,
        "dsn": config.sentry_dsn,
        "release": config.release,
        "environment": config.environment,
        "include_local_variables": False,
        "max_request_body_size": "never",
    }
    options.update(_no_default_pii())
    ours = {
        "before_send": _tag_then_scrub(hooks.get("before_send")),
        "before_send_transaction": hooks.get("before_send_transaction"),
        "before_breadcrumb": hooks.get("before_breadcrumb"),
    }
    for name in _HOOKS:
        chained = _chain(ours[name], user_hooks[name], name=name)
        if chained is not None:
            options[name] = chained
    sentry_sdk.init(**options)


# sentry-sdk hooks a caller may pass in sentry_options; each is chained after ours, never replaced by it.
_HOOKS = ("before_send", "before_send_transaction", "before_breadcrumb")


def _no_default_pii() -> dict[str, Any]:
    """Request data without personal information, in the form this sentry-sdk understands.

    sentry-sdk >= 2.7x deprecates ``send_default_pii`` in favour of ``data_collection``; passing the old option
    prints a DeprecationWarning at every init. Use the new option when the SDK has it.
    """
    try:
        from sentry_sdk.consts import DEFAULT_OPTIONS  # type: ignore[attr-defined]
    except Exception:  # pragma: no cover - very old SDK
        DEFAULT_OPTIONS = {}
    if "data_collection" in DEFAULT_OPTIONS:
        # Neither option set = the SDK's no-PII default (and its EventScrubber); a caller's data_collection or
        # send_default_pii=True is overridden like before.
        return {"data_collection": None, "send_default_pii": None}
    return {"send_default_pii": False}

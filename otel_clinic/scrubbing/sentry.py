"""Sentry ``before_send`` / ``before_send_transaction`` / ``before_breadcrumb`` hooks applying the PHI policy.

Request bodies, cookies, query strings and frame locals are removed outright (never recorded);
headers, messages, exception values, extra/contexts/tags, breadcrumbs and transaction spans are
scrubbed with the same engine as OTel data. Any failure drops the event (fail closed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping
from typing import Any

from otel_clinic.scrubbing.policy import ScrubPolicy
from otel_clinic.scrubbing.sql import obfuscate_sql
from otel_clinic.scrubbing.url import scrub_path, scrub_url

_logger = logging.getLogger(__name__)

# SDK-produced contexts describing our runtime, not the patient: left as they are.
_SAFE_CONTEXTS = frozenset({"runtime", "os", "device", "app", "browser", "gpu", "culture", "cloud_resource"})
# sentry-python never fills these on a server; when present the application set them, so scrub them.
_APP_SETTABLE_CONTEXTS = frozenset({"app", "device", "browser"})
_KEEP_HEADERS = frozenset({"content-type", "content-length", "accept", "host", "user-agent", "x-request-id", "traceparent"})
_DROP_HEADERS = frozenset({"cookie", "authorization", "proxy-authorization", "x-forwarded-for", "x-real-ip", "forwarded", "x-api-key"})
_ENV_KEEP = frozenset({"SERVER_NAME", "SERVER_PORT"})


def sentry_hooks(policy: ScrubPolicy) -> dict[str, Callable[..., Any]]:
    """Keyword arguments for ``sentry_sdk.init(**sentry_hooks(policy))``."""

    def before_send(event: dict[str, Any], hint: Any = None) -> dict[str, Any] | None:
        return _guarded(scrub_event, event, policy)

    def before_send_transaction(event: dict[str, Any], hint: Any = None) -> dict[str, Any] | None:
        return _guarded(scrub_event, event, policy)

    def before_breadcrumb(crumb: dict[str, Any], hint: Any = None) -> dict[str, Any] | None:
        return _guarded(scrub_breadcrumb, crumb, policy)

    return {
        "before_send": before_send,
        "before_send_transaction": before_send_transaction,
        "before_breadcrumb": before_breadcrumb,
    }


def _guarded(fn: Callable[[Any, ScrubPolicy], Any], item: Any, policy: ScrubPolicy) -> Any:
    try:
        return fn(item, policy)
    except Exception:  # an event we cannot scrub is not sent
        _logger.debug("otel_clinic: Sentry item dropped, scrubbing failed", exc_info=True)
        return None


def scrub_event(event: dict[str, Any], policy: ScrubPolicy) -> dict[str, Any]:
    if not isinstance(event, MutableMapping):
        return None  # type: ignore[return-value]
    request = event.get("request")
    if isinstance(request, MutableMapping):
        _scrub_request(request, policy)
    if "user" in event:
        user = event.get("user")
        ident = user.get("id") if isinstance(user, MutableMapping) else None
        if ident is not None and policy.replacement == "hmac":
            event["user"] = {"id": policy.engine.pseudonym("[USER]", str(ident))}
        else:
            event.pop("user")
    for section in ("extra", "tags", "fingerprint"):
        if section in event:
            event[section] = policy.scrub(event[section])
    _scrub_contexts(event, policy)
    for section in ("exception", "threads"):
        container = event.get(section)
        values = container.get("values") if isinstance(container, MutableMapping) else None
        for item in values if isinstance(values, list) else ():
            if not isinstance(item, MutableMapping):
                continue
            if isinstance(item.get("value"), str):
                item["value"] = policy.scrub_text(item["value"])
            _scrub_frames(item.get("stacktrace"), policy)
            mechanism = item.get("mechanism")
            if isinstance(mechanism, MutableMapping) and "data" in mechanism:
                mechanism["data"] = policy.scrub(mechanism["data"])
    _scrub_frames(event.get("stacktrace"), policy)
    logentry = event.get("logentry")
    if isinstance(logentry, MutableMapping):
        for key in ("message", "formatted"):
            if isinstance(logentry.get(key), str):
                logentry[key] = policy.scrub_text(logentry[key])
        # The scrubbed "formatted" text is enough; params scrubbed one by one lose their context ("DOB %s").
        logentry.pop("params", None)
    if isinstance(event.get("message"), str):
        event["message"] = policy.scrub_text(event["message"])
    if isinstance(event.get("transaction"), str):
        name = event["transaction"]
        event["transaction"] = policy.scrub_text(scrub_path(name) if name.startswith("/") else name)
    crumbs = event.get("breadcrumbs")
    values = crumbs.get("values") if isinstance(crumbs, MutableMapping) else crumbs
    if isinstance(values, list):
        values[:] = [c for c in (scrub_breadcrumb(c, policy) for c in values) if c is not None]
    spans = event.get("spans")
    if isinstance(spans, list):
        for span in spans:
            if isinstance(span, MutableMapping):
                _scrub_sentry_span(span, policy)
    return event


def _scrub_request(request: MutableMapping[str, Any], policy: ScrubPolicy) -> None:
    for never in ("data", "cookies", "query_string"):
        request.pop(never, None)
    if isinstance(request.get("url"), str):
        request["url"] = scrub_url(request["url"])
    headers = request.get("headers")
    if isinstance(headers, MutableMapping):
        # Fail closed: known-harmless headers are scrubbed and kept, credentials and client addresses are
        # dropped, anything else keeps its name (useful for debugging) but not its value.
        kept: dict[str, Any] = {}
        for k, v in headers.items():
            if not isinstance(k, str) or k.lower() in _DROP_HEADERS or policy.is_sensitive_key(k):
                continue
            kept[k] = policy.scrub(v) if k.lower() in _KEEP_HEADERS else "[REDACTED]"
        request["headers"] = kept
    env = request.get("env")
    if isinstance(env, MutableMapping):
        request["env"] = {k: v for k, v in env.items() if k in _ENV_KEEP}


def _scrub_contexts(event: MutableMapping[str, Any], policy: ScrubPolicy) -> None:
    contexts = event.get("contexts")
    if not isinstance(contexts, MutableMapping):
        return
    for name, ctx in list(contexts.items()):
        if name in _SAFE_CONTEXTS and name not in _APP_SETTABLE_CONTEXTS:
            continue
        if name == "trace" and isinstance(ctx, MutableMapping):
            if isinstance(ctx.get("description"), str):
                ctx["description"] = policy.scrub_text(ctx["description"])
            if isinstance(ctx.get("data"), MutableMapping):
                ctx["data"] = policy.scrub_attributes(ctx["data"])
            continue
        contexts[name] = policy.scrub(ctx)


def _scrub_frames(stacktrace: Any, policy: ScrubPolicy) -> None:
    """Frame locals are dropped outright; source context lines are scrubbed (literals in code can be PHI)."""
    frames = stacktrace.get("frames") if isinstance(stacktrace, MutableMapping) else None
    for frame in frames if isinstance(frames, list) else ():
        if isinstance(frame, MutableMapping):
            frame.pop("vars", None)
            if isinstance(frame.get("context_line"), str):
                frame["context_line"] = policy.scrub_text(frame["context_line"])
            for key in ("pre_context", "post_context"):
                if isinstance(frame.get(key), list):
                    frame[key] = [policy.scrub_text(line) if isinstance(line, str) else "" for line in frame[key]]


def _scrub_sentry_span(span: MutableMapping[str, Any], policy: ScrubPolicy) -> None:
    desc = span.get("description")
    if isinstance(desc, str):
        op = str(span.get("op") or "")
        if op.startswith("db"):
            desc = obfuscate_sql(desc)
        span["description"] = policy.scrub_text(desc)
    if isinstance(span.get("data"), MutableMapping):
        span["data"] = policy.scrub_attributes(span["data"])
    if "tags" in span:
        span["tags"] = policy.scrub(span["tags"])


def scrub_breadcrumb(crumb: dict[str, Any], policy: ScrubPolicy) -> dict[str, Any] | None:
    if not isinstance(crumb, MutableMapping):
        return None
    message = crumb.get("message")
    if isinstance(message, str):
        if crumb.get("category") in ("query", "db", "django.db.backends") or crumb.get("type") == "query":
            message = obfuscate_sql(message)
        crumb["message"] = policy.scrub_text(message)
    data = crumb.get("data")
    if isinstance(data, MutableMapping):
        crumb["data"] = policy.scrub_attributes(data)
    elif data is not None:
        crumb["data"] = policy.scrub(data)
    return crumb

"""Sentry ``before_send`` / ``before_send_transaction`` / ``before_breadcrumb`` hooks applying the PHI policy.

Request bodies, cookies, query strings and frame locals are removed outright (never recorded);
headers, messages, exception values, extra/contexts/tags, breadcrumbs and transaction spans are
scrubbed with the same engine as OTel data. Any failure drops the event (fail closed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping
from typing import Any

from otel_clinic.scrubbing.headers import header_kept
from otel_clinic.scrubbing.logtemplates import record_message, render
from otel_clinic.scrubbing.policy import ScrubPolicy
from otel_clinic.scrubbing.sql import obfuscate_sql
from otel_clinic.scrubbing.url import scrub_path

_logger = logging.getLogger(__name__)

# SDK-produced contexts describing our runtime, not the patient: left as they are.
_SAFE_CONTEXTS = frozenset({"runtime", "os", "device", "app", "browser", "gpu", "culture", "cloud_resource"})
# sentry-python never fills these on a server; when present the application set them, so scrub them.
_APP_SETTABLE_CONTEXTS = frozenset({"app", "device", "browser"})
_ENV_KEEP = frozenset({"SERVER_PORT"})


def sentry_hooks(policy: ScrubPolicy) -> dict[str, Callable[..., Any]]:
    """Keyword arguments for ``sentry_sdk.init(**sentry_hooks(policy))``."""

    def before_send(event: dict[str, Any], hint: Any = None) -> dict[str, Any] | None:
        return _guarded(scrub_event, event, policy)

    def before_send_transaction(event: dict[str, Any], hint: Any = None) -> dict[str, Any] | None:
        return _guarded(scrub_event, event, policy)

    def before_breadcrumb(crumb: dict[str, Any], hint: Any = None) -> dict[str, Any] | None:
        record = hint.get("log_record") if isinstance(hint, dict) else None
        if record is not None and isinstance(crumb, MutableMapping):
            # A logging breadcrumb's message was formatted with the raw arguments: use the template instead.
            crumb["message"] = record_message(record)
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
        _scrub_request(request, policy, event.get("transaction"))
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
                # Exception messages quote input ("invalid literal for int() with base 10: '…'"): free text.
                item["value"] = policy.scrub_text(item["value"])
            _scrub_frames(item.get("stacktrace"), policy)
            mechanism = item.get("mechanism")
            if isinstance(mechanism, MutableMapping) and "data" in mechanism:
                mechanism["data"] = policy.scrub(mechanism["data"])
    _scrub_frames(event.get("stacktrace"), policy)
    logentry = event.get("logentry")
    if isinstance(logentry, MutableMapping):
        _scrub_logentry(logentry, policy)
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


def _scrub_logentry(logentry: MutableMapping[str, Any], policy: ScrubPolicy) -> None:
    """The template stays (``message``), ``formatted`` is the template with typed placeholders, and the
    parameters are scrubbed one by one like log arguments (never the raw formatted text)."""
    template = logentry.get("message")
    params = logentry.get("params")
    if isinstance(template, str):
        args = tuple(params) if isinstance(params, (list, tuple)) else params if isinstance(params, dict) else ()
        logentry["message"] = policy.scrub_text(template)
        logentry["formatted"] = policy.scrub_text(render(template, args))
    elif isinstance(logentry.get("formatted"), str):
        logentry["formatted"] = policy.scrub_text(logentry["formatted"])
    if isinstance(params, (list, tuple)):
        logentry["params"] = policy.engine.scrub_arguments(template, list(params))
    elif isinstance(params, dict):
        logentry["params"] = {k: policy.engine.scrub_argument(v) for k, v in params.items()}
    else:
        logentry.pop("params", None)


def _scrub_request(request: MutableMapping[str, Any], policy: ScrubPolicy, transaction: Any = None) -> None:
    for never in ("data", "cookies", "query_string"):
        request.pop(never, None)
    url = request.get("url")
    if isinstance(url, str):
        # Method and route template only: the host is the client's Host header, the query is user input.
        if isinstance(transaction, str) and transaction.startswith("/"):
            request["url"] = policy.scrub_text(scrub_path(transaction))  # the route template (transaction_style="url")
        else:
            path = url.split("://", 1)[-1]
            path = "/" + path.split("/", 1)[1] if "/" in path else "/"
            request["url"] = policy.scrub_text(scrub_path(path.split("?", 1)[0].split("#", 1)[0]))
    headers = request.get("headers")
    if isinstance(headers, MutableMapping):
        # The SDK sends every header: only transport headers are kept (scrubbed), the rest dropped, name and value
        # (Host, User-Agent, Referer, Cookie, Authorization, X-Forwarded-For, custom headers: client-controlled).
        request["headers"] = {
            k: policy.scrub(v) for k, v in headers.items() if isinstance(k, str) and header_kept(k, operator_listed=False)
        }
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
    """Frame locals are dropped outright; source context lines are code: pattern detectors only."""
    frames = stacktrace.get("frames") if isinstance(stacktrace, MutableMapping) else None
    for frame in frames if isinstance(frames, list) else ():
        if isinstance(frame, MutableMapping):
            frame.pop("vars", None)
            if isinstance(frame.get("context_line"), str):
                frame["context_line"] = policy.engine.scrub_code(frame["context_line"])
            for key in ("pre_context", "post_context"):
                if isinstance(frame.get(key), list):
                    frame[key] = [policy.engine.scrub_code(line) if isinstance(line, str) else "" for line in frame[key]]


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

"""stdlib logging → OpenTelemetry logs, and JSON (or text) stdout formatters carrying trace context and release.

Both keep the record's template (``scrubbing/logtemplates.py``): the body is the format string with typed
placeholders for its arguments, and the arguments go to ``clinic.log.args`` scrubbed. The OTel bridge
(opentelemetry-instrumentation-logging's ``LoggingHandler``) sends records through the same exporters as
spans, so their scrubbing runs in the export thread. The JSON formatter writes one object per line with
``trace_id``, ``span_id``, ``service`` and ``release``; it scrubs only what can carry data (the message,
arguments, exception text, ``extra`` fields), with the engine's memo, since templates repeat. The text format
(``OTEL_CLINIC_LOG_FORMAT=text``) renders the same scrubbed fields as one escaped line.

Django's own loggers and Python warnings are rewritten at their source by a logger filter (``django_logs.py``),
so Django's console handlers and runserver's access lines are covered too.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

from otel_clinic.config import ClinicConfig
from otel_clinic.integrations.django_logs import SourceFilters
from otel_clinic.scrubbing.logtemplates import ARGS_ATTRIBUTE, TEMPLATE_ATTRIBUTE, SafeArg, record_args, record_message

_SAFE_FIELDS = ("timestamp", "level", "logger", "service", "release", "environment", "trace_id", "span_id")
# LogRecord attributes that are not user ``extra`` fields (logging's own plus what Django/OTel add).
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {
    "message", "asctime", "request", "otelSpanID", "otelTraceID", "otelTraceSampled", "otelServiceName",
    "color_message", "server_time", "taskName",
}
_PRIMITIVES = (str, bool, int, float, bytes, type(None))


# Line breaks and other control characters in a text log line are escaped (log injection: a message carrying
# "\n" must not forge a second record); Unicode line/paragraph separators and NEL too, which some viewers break on.
_ESCAPES = {i: f"\\x{i:02x}" for i in (*range(0x20), 0x7F)}
_ESCAPES.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t", 0x85: "\\x85", 0x2028: "\\u2028",
                 0x2029: "\\u2029"})


def escape_controls(text: str) -> str:
    """One physical line: control characters and line separators as backslash escapes."""
    return text.translate(_ESCAPES)


class TemplateFormatter(logging.Formatter):
    """Formats a record as its template with typed placeholders (never with its raw arguments)."""

    def format(self, record: logging.LogRecord) -> str:
        return record_message(record)


class ScrubbingFormatter(TemplateFormatter):
    """A text formatter for consoles and files an app names in its own ``LOGGING``: ``LEVEL logger: message``,
    the message being the template with typed placeholders, scrubbed as free text (a pre-formatted f-string or a
    warning text can carry anything) with the active policy, exception text scrubbed as a traceback, newlines
    escaped so one record is one line (no log injection). It never raises: a record it cannot scrub is withheld."""

    def format(self, record: logging.LogRecord) -> str:
        try:
            from otel_clinic.scrubbing.policy import get_active_policy

            engine = get_active_policy().engine
            text = f"{record.levelname} {record.name}: {engine.scrub_text(record_message(record))}"
            if record.exc_info:
                text += "\n" + engine.scrub_stacktrace(self.formatException(record.exc_info))
            return escape_controls(text)
        except Exception:
            return f"{record.levelname} {record.name}: [UNSCRUBBABLE]"


class ClinicJsonFormatter(JsonFormatter):
    """One JSON object per line; PHI-scrubbed when given a policy (fails closed to our own fields)."""

    def __init__(self, *args: Any, service: str = "", release: str = "", environment: str = "", scrub_policy: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("timestamp", True)
        super().__init__(*args, **kwargs)
        self._static = {"service": service, "release": release, "environment": environment}
        self._policy = scrub_policy

    def format(self, record: logging.LogRecord) -> str:
        try:
            data = self._fields(record)
        except Exception:
            # Fail closed: keep the line (so the event is visible) but only the fields we wrote ourselves.
            data = {k: v for k, v in self._base(record).items() if k in _SAFE_FIELDS}
            data["message"] = "[UNSCRUBBABLE]"
        return self.serialize_log_record(data)

    def _base(self, record: logging.LogRecord) -> dict[str, Any]:
        data: dict[str, Any] = {
            "timestamp": _iso(record.created),
            "level": record.levelname,
            "logger": record.name,
        }
        data.update(self._static)
        ctx = trace.get_current_span().get_span_context()
        if not ctx.is_valid:
            ctx = _request_span_context(record) or ctx
        if ctx.is_valid:
            data["trace_id"] = format(ctx.trace_id, "032x")
            data["span_id"] = format(ctx.span_id, "016x")
        return data

    def _fields(self, record: logging.LogRecord) -> dict[str, Any]:
        data = self._base(record)
        policy = self._policy
        message = record_message(record)
        args = record_args(record)
        exc_text = self.formatException(record.exc_info) if record.exc_info else record.exc_text
        stack = self.formatStack(record.stack_info) if record.stack_info else None
        extra = {
            k: v for k, v in record.__dict__.items()
            if k not in _RECORD_FIELDS and not k.startswith("_") and isinstance(v, _PRIMITIVES)
        }
        if policy is not None:
            engine = policy.engine
            message = engine.scrub_text(message)
            if args:
                args = engine.scrub_arguments(record.msg, args)
            if exc_text:
                exc_text = engine.scrub_stacktrace(exc_text)
            if stack:
                stack = engine.scrub_stacktrace(stack)
            if extra:
                extra = policy.scrub_attributes(extra)
        data["message"] = message
        if args:
            data["args"] = args
        if exc_text:
            data["exc_info"] = exc_text
        if stack:
            data["stack_info"] = stack
        for key, value in extra.items():
            data.setdefault(key, value)
        return data


class ClinicTextFormatter(ClinicJsonFormatter):
    """``OTEL_CLINIC_LOG_FORMAT=text``: the JSON formatter's fields (same scrubbing, same fail-closed fallback),
    written as one human-readable line: ``<timestamp> <LEVEL> <logger>: <message> key=value ...`` with trace
    context, arguments, exception text and ``extra`` fields as ``key=value`` (non-strings JSON-encoded), every
    control character escaped so a record is exactly one line."""

    _HEAD = ("timestamp", "level", "logger", "message")

    def serialize_log_record(self, log_record: dict[str, Any]) -> str:  # type: ignore[override]
        head = f"{log_record.get('timestamp', '')} {log_record.get('level', '')} {log_record.get('logger', '')}: "
        parts = [head + str(log_record.get("message", ""))]
        for key, value in log_record.items():
            if key in self._HEAD or value in ("", None):
                continue
            parts.append(f"{key}={value if isinstance(value, str) else _json(value)}")
        return escape_controls(" ".join(parts))


def _json(value: Any) -> str:
    import json

    return json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))


def _iso(created: float) -> str:
    seconds = int(created)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int((created - seconds) * 1e6):06d}+00:00"


# The server span's context, stored on the request by the Django request hook: Django logs 4xx/5xx responses
# (``django.request``) after the outermost middleware returned, when the span has ended and is no longer current.
REQUEST_SPAN_CONTEXT_ATTR = "_otel_clinic_span_context"


def _request_span_context(record: logging.LogRecord) -> Any:
    ctx = getattr(getattr(record, "request", None), REQUEST_SPAN_CONTEXT_ATTR, None)
    return ctx if ctx is not None and getattr(ctx, "is_valid", False) else None


def _make_bridge(level: int, logger_provider: Any, with_args: bool = True) -> logging.Handler:
    """opentelemetry-instrumentation-logging's handler with our body (the template) and attributes (the
    arguments as ``clinic.log.args``; no non-primitive ``extra`` values: Django attaches the whole request
    object, whose repr carries the raw path)."""
    from opentelemetry.instrumentation.logging.handler import LoggingHandler

    class ClinicLoggingHandler(LoggingHandler):
        def emit(self, record: logging.LogRecord) -> None:
            # A logging call must never raise into the app (stdlib handlers report through handleError; we
            # drop the record instead, as its text may be what failed to format).
            try:
                ctx = None
                if not trace.get_current_span().get_span_context().is_valid:
                    ctx = _request_span_context(record)
                if ctx is None:
                    super().emit(record)
                    return
                from opentelemetry import context as otel_context

                token = otel_context.attach(trace.set_span_in_context(trace.NonRecordingSpan(ctx)))
                try:
                    super().emit(record)
                finally:
                    otel_context.detach(token)
            except Exception:
                pass

        def _get_attributes(self, record: logging.LogRecord):  # type: ignore[override]
            attributes, event_name = super()._get_attributes(record)
            kept = {
                k: v for k, v in attributes.items()
                if isinstance(v, _PRIMITIVES) or (isinstance(v, (list, tuple)) and all(isinstance(i, _PRIMITIVES) for i in v))
            }
            args = record_args(record) if with_args else None
            if args:
                kept[ARGS_ATTRIBUTE] = args
                if isinstance(record.msg, str):
                    kept[TEMPLATE_ATTRIBUTE] = record.msg  # lets the scrubber judge each argument in context
            return kept, event_name

    handler = ClinicLoggingHandler(level=level, logger_provider=logger_provider)
    handler.setFormatter(TemplateFormatter())
    return handler


_logger = logging.getLogger("otel_clinic.logging")
# The LoggingSetup of this process's telemetry (one at a time), for ClinicHandler and the re-attach hooks.
_active: "LoggingSetup | None" = None
_EMITTED_ATTR = "_otel_clinic_emitted"


class ClinicHandler(logging.Handler):
    """Our logging, as a handler an app can name in its own ``LOGGING`` dict::

        LOGGING = {
            "version": 1,
            "handlers": {"otel": {"class": "otel_clinic.integrations.logging.ClinicHandler"}},
            "root": {"handlers": ["console", "otel"], "level": "INFO"},
        }

    It forwards each record to the handlers ``otel_clinic.setup()`` configured (the OTel log bridge and the JSON
    stdout handler, with their rewriting and scrubbing); before setup, or with telemetry off, it drops records.
    Naming it on the root logger tells us where the app wants our logging, and we do not add our handlers to the
    root logger a second time; a record reaching it twice (through two loggers) is emitted once."""

    def emit(self, record: logging.LogRecord) -> None:
        setup = _active
        if setup is None:
            return
        for handler in setup.handlers:
            try:
                if record.levelno >= handler.level:
                    handler.handle(record)
            except Exception:
                pass


class _EmitOnce(logging.Filter):
    """A record reaches each of our handlers once, however many routes (root, ClinicHandler) lead there."""

    def filter(self, record: logging.LogRecord) -> bool:
        seen = record.__dict__.get(_EMITTED_ATTR)
        if seen is None:
            seen = set()
            try:
                setattr(record, _EMITTED_ATTR, seen)
            except Exception:
                return True
        key = id(self)
        if key in seen:
            return False
        seen.add(key)
        return True


# Loggers outside otel_clinic.* we route ourselves (gunicorn's, with our logger class).
_OWN_LOGGERS: set[str] = set()


def register_own_logger(name: str) -> None:
    """Keep ``name`` enabled through the app's ``LOGGING`` (``disable_existing_loggers: True`` would silence it)."""
    _OWN_LOGGERS.add(name)


def _enable_own_loggers(warnings_too: bool = False) -> None:
    """``disable_existing_loggers: True`` disables our own loggers (they exist before the app's LOGGING is
    applied): our warnings are not the app's to silence that way, nor gunicorn's logs with our logger class."""
    for name, logger in list(logging.root.manager.loggerDict.items()):
        ours = (name == "otel_clinic" or name.startswith("otel_clinic.") or name in _OWN_LOGGERS
                or (warnings_too and name == "py.warnings"))
        if ours and isinstance(logger, logging.Logger) and logger.disabled:
            logger.disabled = False


def reattach() -> None:
    """Called after Django applied ``settings.LOGGING`` (wrapped ``configure_logging``, our AppConfig.ready)."""
    setup = _active
    if setup is None:
        _enable_own_loggers()
    if setup is not None:
        try:
            setup.reattach()
        except Exception:
            _logger.debug("re-attaching otel_clinic logging failed", exc_info=True)


def check_attached() -> None:
    """Cheap per-request check: warn once if our handlers were removed after setup (a later ``dictConfig``,
    ``root.handlers.clear()``...)."""
    setup = _active
    if setup is not None and not setup.warned_detached and setup.handlers and not setup.attached():
        setup.warned_detached = True
        _logger.warning(
            "otel_clinic: its logging handlers were removed from the root logger after setup (a later "
            "logging.config.dictConfig?): no OTel log records or JSON stdout from now on. Name "
            "'otel_clinic.integrations.logging.ClinicHandler' in your LOGGING dict, or configure logging before "
            "otel_clinic.setup()."
        )


def _wrap_configure_logging() -> Any:
    """Wrap ``django.utils.log.configure_logging`` (``django.setup()`` imports it at call time) so our handlers
    are re-attached right after Django applies ``settings.LOGGING``. Returns the original, or None."""
    try:
        import django.utils.log as django_log
    except Exception:
        return None
    original = django_log.configure_logging
    if getattr(original, "_otel_clinic_wrapped", False):
        return None

    def configure_logging(logging_config: Any, logging_settings: Any) -> Any:
        result = original(logging_config, logging_settings)
        reattach()
        return result

    configure_logging._otel_clinic_wrapped = True  # type: ignore[attr-defined]
    configure_logging.__wrapped__ = original  # type: ignore[attr-defined]
    django_log.configure_logging = configure_logging
    return original


class LoggingSetup:
    """Attaches our handlers to the root logger, our source filters to Django's loggers and Python warnings,
    and removes exactly them on shutdown. Django's ``settings.LOGGING`` (applied during ``django.setup()``,
    usually after ``otel_clinic.setup()``) may replace the root handlers and disable existing loggers: we
    re-attach after it (:meth:`reattach`)."""

    def __init__(self) -> None:
        self.handlers: list[logging.Handler] = []
        self._previous_level: int | None = None
        self._sources: SourceFilters | None = None
        self._captured_warnings = False
        self._original_configure_logging: Any = None
        self.warned_detached = False
        self._warned_disabled: set[str] = set()

    def install(self, config: ClinicConfig, logger_provider: Any, scrub_policy: Any = None, stream: Any = None) -> None:
        root = logging.getLogger()
        self._previous_level = root.level
        _enable_own_loggers()
        root.setLevel(getattr(logging, config.log_level))
        # Django's loggers (raw paths, the Host header) and warnings (cache keys) are fixed where they are
        # logged, so every handler sees the rewritten record, ours and Django's console handlers alike.
        from otel_clinic.scrubbing.scrubber import scrubber_for

        # One decision for every handler: the policy when this process scrubs, else None (NoScrubber's).
        policy = scrubber_for(config.scrub_enabled, scrub_policy).policy
        self._sources = SourceFilters(policy)
        self._sources.install()
        if config.logs_bridge:
            # Arguments are data: exported (scrubbed in their template context) only when this process scrubs;
            # with OTEL_CLINIC_SCRUB=false the body keeps its placeholders and the arguments stay here.
            bridge = _make_bridge(getattr(logging, config.log_level), logger_provider, with_args=config.scrub_enabled)
            # Our own exporters' warnings must not loop back into the log pipeline.
            bridge.addFilter(lambda record: not record.name.startswith(("opentelemetry", "otel_clinic.exporters")))
            self.handlers.append(bridge)
        if config.log_format != "none":
            handler = logging.StreamHandler(stream or sys.stdout)
            # text and json share the fields and their scrubbing; only the rendering differs.
            formatter_cls = ClinicJsonFormatter if config.log_format == "json" else ClinicTextFormatter
            handler.setFormatter(
                formatter_cls(
                    service=config.service_name, release=config.release, environment=config.environment,
                    scrub_policy=policy,
                )
            )
            self.handlers.append(handler)
        for handler in self.handlers:
            # ...and again on our handlers, for records propagated from loggers we did not know by name.
            handler.addFilter(self._sources.filter)
            handler.addFilter(_EmitOnce())
            root.addHandler(handler)
        if not logging.getLogger("py.warnings").handlers and not _warnings_captured():
            logging.captureWarnings(True)
            self._captured_warnings = True
        global _active
        _active = self
        self._original_configure_logging = _wrap_configure_logging()

    def attached(self) -> bool:
        """Our handlers are on the root logger, or the app routes the root logger to :class:`ClinicHandler`."""
        root = logging.getLogger()
        if any(isinstance(h, ClinicHandler) for h in root.handlers):
            return True
        return all(h in root.handlers for h in self.handlers)

    def reattach(self) -> None:
        """After the app's logging configuration: our handlers back on the root logger (unless the app named
        :class:`ClinicHandler` there), our source filters back on Django's loggers, our own loggers enabled
        again; a warning for the source loggers the configuration disabled."""
        root = logging.getLogger()
        if not any(isinstance(h, ClinicHandler) for h in root.handlers):
            for handler in self.handlers:
                if handler not in root.handlers:
                    root.addHandler(handler)
        if self._sources is not None:
            self._sources.install()
        _enable_own_loggers(self._captured_warnings)
        disabled = sorted(
            name for name in ("django", "django.request", "django.server", "django.security", "py.warnings")
            if isinstance(logging.root.manager.loggerDict.get(name), logging.Logger) and logging.getLogger(name).disabled
        )
        disabled = [name for name in disabled if name not in self._warned_disabled]
        if disabled:
            self._warned_disabled.update(disabled)
            _logger.warning(
                "otel_clinic: settings.LOGGING disabled the loggers %s (disable_existing_loggers: True without "
                "configuring them): their records reach no handler, ours included. Configure them in LOGGING, or "
                "set disable_existing_loggers to False.", SafeArg(", ".join(disabled)),
            )
        self.warned_detached = False

    def uninstall(self) -> None:
        global _active
        if _active is self:
            _active = None
        if self._original_configure_logging is not None:
            try:
                import django.utils.log as django_log

                if getattr(django_log.configure_logging, "__wrapped__", None) is self._original_configure_logging:
                    django_log.configure_logging = self._original_configure_logging
            except Exception:
                pass
            self._original_configure_logging = None
        root = logging.getLogger()
        for handler in self.handlers:
            root.removeHandler(handler)
            try:
                handler.flush()
            except Exception:
                pass
        self.handlers.clear()
        if self._sources is not None:
            self._sources.uninstall()
            self._sources = None
        if self._captured_warnings:
            logging.captureWarnings(False)
            self._captured_warnings = False
        if self._previous_level is not None:
            root.setLevel(self._previous_level)


def _warnings_captured() -> bool:
    return getattr(logging, "_warnings_showwarning", None) is not None

"""Rewrite records at their source: Django's loggers (raw paths, query strings, the Host header), uvicorn's
access and error loggers, and Python warnings (a cache key quoting a patient's name).

A filter on the logger itself runs before any handler sees the record, so Django's own console handlers and
runserver's access lines on stderr get the rewritten record too, and ``settings.LOGGING`` applied later keeps
it (``dictConfig`` adds filters, it does not remove existing ones). The rewritten arguments are
:class:`SafeArg` (route templates, ``[path]``, scrubbed text) so the template renderer writes them as they are.
Importing this module does not import Django.
"""

from __future__ import annotations

import logging
from typing import Any

from otel_clinic.scrubbing.logtemplates import SafeArg

PATH = "[path]"
# django.request / django.server and the django.security.<ExceptionName> loggers Django logs to.
_DJANGO_LOGGERS = (
    "django.request", "django.server", "django.security.csrf", "django.security.DisallowedHost",
    "django.security.DisallowedRedirect", "django.security.SuspiciousOperation",
    "django.security.SuspiciousFileOperation", "django.security.SuspiciousMultipartForm",
    "django.security.SuspiciousSession", "django.security.InvalidSessionKey", "django.security.RequestDataTooBig",
    "django.security.TooManyFieldsSent", "django.security.TooManyFilesSent", "django.security.PermissionDenied",
)
_WARNINGS_LOGGER = "py.warnings"
# uvicorn's access lines carry the client address and the raw path with its query string; its error logger quotes
# exceptions (with tracebacks) that escaped the ASGI app, printed by uvicorn's own stderr handler.
_UVICORN_ACCESS, _UVICORN_ERROR = "uvicorn.access", "uvicorn.error"
_HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})


class SourceRewriter(logging.Filter):
    """Rewrites Django and warning records in place; never drops a record, never raises."""

    def __init__(self, policy: Any = None) -> None:
        super().__init__()
        self._policy = policy

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            rewrite_record(record, self._policy)
        except Exception:  # a record we cannot rewrite loses its arguments, never gains raw data
            record.args = ()
            record.msg = "[UNSCRUBBABLE]"
        return True


def rewrite_record(record: logging.LogRecord, policy: Any = None) -> logging.LogRecord:
    """Rewrite ``record`` in place (idempotent): raw request paths become the route template or ``[path]``,
    Django's free-text arguments and warning texts are scrubbed and marked safe."""
    name = record.name
    if name == _WARNINGS_LOGGER:
        record.args = tuple(_scrubbed(a, policy) for a in _as_tuple(record.args))
        return record
    if name == _UVICORN_ACCESS:
        record.args = _uvicorn_access_args(record.args, policy)
        return record
    if name == _UVICORN_ERROR:
        record.args = tuple(_scrubbed(a, policy) for a in _as_tuple(record.args))
        _scrub_traceback(record, policy)
        return record
    if name == "django.security.DisallowedHost":
        # str(DisallowedHost) quotes the Host header twice; the header is whatever the client sent.
        record.msg, record.args = "Invalid HTTP_HOST header (value withheld); see ALLOWED_HOSTS", ()
        return record
    if not name.startswith(("django.request", "django.server", "django.security")):
        return record
    request = getattr(record, "request", None)
    raw_paths = _raw_paths(request)
    route = _route(request)
    if name == "django.server":
        record.args = _server_args(record.args, policy)
        return record
    args = []
    for arg in _as_tuple(record.args):
        if isinstance(arg, SafeArg):
            args.append(arg)
        elif isinstance(arg, str) and (arg in raw_paths or arg.startswith("/")):
            args.append(SafeArg(route))
        else:
            args.append(_scrubbed(arg, policy))
    record.args = tuple(args)
    return record


def _server_args(args: Any, policy: Any) -> tuple[Any, ...]:
    """runserver: ``'"%s" %s %s'`` with the request line ``GET /raw/path?query HTTP/1.1``, status, size."""
    out: list[Any] = []
    for i, arg in enumerate(_as_tuple(args)):
        if i == 0 and isinstance(arg, str) and not isinstance(arg, SafeArg):
            parts = arg.split(" ")
            if len(parts) == 3 and parts[0] in _HTTP_METHODS:
                out.append(SafeArg(f"{parts[0]} {_route_for_path(parts[1])} {parts[2][:16]}"))
            else:
                out.append(SafeArg("[request line]"))
        elif isinstance(arg, str) and arg.isdigit() and len(arg) <= 12:
            out.append(SafeArg(arg))  # status code, response size
        else:
            out.append(_scrubbed(arg, policy))
    return tuple(out)


def _uvicorn_access_args(args: Any, policy: Any) -> tuple[Any, ...]:
    """uvicorn: ``'%s - "%s %s HTTP/%s" %d'`` with client address, method, raw path + query, version, status."""
    values = _as_tuple(args)
    if len(values) != 5:
        return tuple(_scrubbed(a, policy) for a in values)
    _client, method, path, version, status = values
    return (
        SafeArg("-"),  # the client address is personal data; the server span does not record it either
        SafeArg(method if method in _HTTP_METHODS else "_OTHER"),
        SafeArg(_route_for_path(str(path))),
        SafeArg(str(version)[:8]),
        status if isinstance(status, int) else 0,  # the template formats it with %d
    )


def _scrub_traceback(record: logging.LogRecord, policy: Any) -> None:
    """Pre-format the traceback, scrubbed: stdlib formatters print ``record.exc_text`` when it is set, so a third
    party's own handler (uvicorn's stderr) shows the scrubbed text; our formatters scrub ``exc_info`` themselves."""
    if not record.exc_info or policy is None:
        return
    import traceback

    text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
    record.exc_text = policy.engine.scrub_stacktrace(text)


def _route_for_path(raw: str) -> str:
    """runserver's access line has no request object: resolve the path (no query) to its route template."""
    path = raw.split("?", 1)[0].split("#", 1)[0]
    try:
        from django.urls import Resolver404, resolve

        try:
            match = resolve(path)
        except Resolver404:
            return PATH
        return _slashed(_template(match))
    except Exception:
        return PATH


def _raw_paths(request: Any) -> set[str]:
    if request is None:
        return set()
    paths = set()
    for attr in ("path", "path_info"):
        value = getattr(request, attr, None)
        if isinstance(value, str):
            paths.add(value)
    try:
        paths.add(request.get_full_path())
    except Exception:
        pass
    return paths


def _route(request: Any) -> str:
    return _slashed(_template(getattr(request, "resolver_match", None)))


def _template(match: Any) -> str | None:
    from otel_clinic.integrations.django.routes import route_template

    return route_template(match)


def _slashed(template: str | None) -> str:
    return "/" + template.lstrip("/") if template else PATH


def _scrubbed(arg: Any, policy: Any) -> Any:
    if isinstance(arg, SafeArg) or arg is None or isinstance(arg, (bool, int, float)):
        return arg
    if policy is None:
        return arg  # scrubbing is off in-process: the template still hides it, the Collector scrubs the rest
    return SafeArg(policy.engine.scrub_text(arg if isinstance(arg, str) else str(arg)))


def _as_tuple(args: Any) -> tuple[Any, ...]:
    if not args:
        return ()
    return args if isinstance(args, tuple) else (args,)


class SourceFilters:
    """Installs one :class:`SourceRewriter` on each source logger; ``uninstall`` removes exactly it."""

    def __init__(self, policy: Any = None) -> None:
        self.filter = self._filter = SourceRewriter(policy)
        self._loggers: list[logging.Logger] = []

    def install(self) -> None:
        for name in (*_DJANGO_LOGGERS, _WARNINGS_LOGGER, _UVICORN_ACCESS, _UVICORN_ERROR):
            logger = logging.getLogger(name)
            if self._filter not in logger.filters:
                logger.addFilter(self._filter)
                self._loggers.append(logger)

    def uninstall(self) -> None:
        for logger in self._loggers:
            logger.removeFilter(self._filter)
        self._loggers.clear()

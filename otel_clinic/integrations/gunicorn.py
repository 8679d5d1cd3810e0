"""gunicorn's own logs through the same rewriting as Django's loggers.

gunicorn writes ``gunicorn.error`` (``Error handling request /api/v1/patient/search/?phone_number=…``, with the
traceback) and ``gunicorn.access`` (the full request line, query string, client address, user agent, any
request header) straight to its own handlers. Use our logger class in the gunicorn config::

    # gunicorn.conf.py
    logger_class = "otel_clinic.integrations.gunicorn.ClinicGunicornLogger"
    accesslog = "-"        # optional: access lines, rewritten

Then:

* access lines carry the route template or ``[path]`` instead of the raw URI (``%(r)s`` is
  ``GET /api/v1/patient/{external_id}/ HTTP/1.1``, ``%(U)s`` the template, ``%(q)s`` empty); the client address,
  remote user, referer and user agent are ``-``; request/response header and environ atoms are ``-`` except a
  short allowlist (request id, content type/length);
* ``gunicorn.error`` records have request URIs replaced the same way, ``ip=…`` masked, and, when this process
  scrubs (``otel_clinic.setup()`` ran in the worker), their message and traceback scrubbed; they also go to our
  handlers (OTel log bridge, JSON stdout) once ``otel_clinic.setup()`` ran in the worker.

Importing this module imports gunicorn.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger

from otel_clinic.integrations.django_logs import PATH, _route_for_path
from otel_clinic.scrubbing.logtemplates import SafeArg

MASK = "-"
# Header/environ atoms kept as they are (anything else a request carries may be data).
_KEPT_ATOMS = frozenset({
    "{x-request-id}i", "{content-type}i", "{content-length}i", "{content-type}o", "{content-length}o",
    "{traceparent}i", "{request_method}e", "{server_protocol}e",
})
_MASKED_ATOMS = ("h", "u", "f", "a")
_IP = re.compile(r"\bip=\S+")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})


def safe_route(raw: Any) -> str:
    """The route template (``/api/v1/patient/{external_id}/``) of a raw URI, else ``[path]``; never the raw URI."""
    if not isinstance(raw, str) or not raw:
        return PATH
    path = raw
    if "://" in path:  # absolute-form request target
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    try:
        return _route_for_path(path)
    except Exception:
        return PATH


def _policy() -> Any:
    try:
        from otel_clinic.integrations import logging as ours

        setup = ours._active
        sources = getattr(setup, "_sources", None) if setup is not None else None
        return getattr(sources, "_filter", None)._policy if sources is not None else None
    except Exception:
        return None


class GunicornRewriter(logging.Filter):
    """Logger filter on ``gunicorn.error``: URIs → route template or ``[path]``, ``ip=`` masked, free text and
    tracebacks scrubbed when this process scrubs. Never drops a record, never raises."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            policy = _policy()
            args = record.args
            # Only request-handling messages carry request URIs ("Listening at: http://…", socket paths stay).
            about_request = isinstance(record.msg, str) and "request" in record.msg.lower()
            if args and not isinstance(args, dict) and about_request:
                tup = args if isinstance(args, tuple) else (args,)
                out: list[Any] = []
                for arg in tup:
                    if isinstance(arg, SafeArg):
                        out.append(arg)
                    elif isinstance(arg, str) and arg in _METHODS:
                        out.append(SafeArg(arg))
                    elif isinstance(arg, str) and (arg.startswith("/") or "://" in arg or "?" in arg):
                        out.append(SafeArg(safe_route(arg)))
                    elif isinstance(arg, str) and policy is not None:
                        out.append(SafeArg(policy.engine.scrub_text(arg)))
                    else:
                        out.append(arg)
                record.args = tuple(out)
            if isinstance(record.msg, str) and about_request:
                msg = _IP.sub("ip=" + MASK, record.msg)
                if policy is not None and not record.args:
                    msg = policy.engine.scrub_text(msg)
                record.msg = msg
            if record.exc_info and not record.exc_text and policy is not None:
                # gunicorn's own formatter prints record.exc_text when set: the scrubbed traceback
                record.exc_text = policy.engine.scrub_stacktrace(logging.Formatter().formatException(record.exc_info))
        except Exception:
            record.msg, record.args = "[UNSCRUBBABLE]", ()
        return True


_REWRITER = GunicornRewriter()


class ClinicGunicornLogger(Logger):
    """gunicorn ``logger_class``: gunicorn's handlers and formats, our rewriting (see the module docstring)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        if _REWRITER not in self.error_log.filters:
            self.error_log.addFilter(_REWRITER)
        from otel_clinic.integrations.logging import ClinicHandler, register_own_logger

        # an app LOGGING with disable_existing_loggers: True (applied in the worker) would silence gunicorn
        register_own_logger(self.error_log.name)
        register_own_logger(self.access_log.name)

        if not any(isinstance(h, ClinicHandler) for h in self.error_log.handlers):
            # forwards to our handlers once otel_clinic.setup() ran in this process (the workers); a no-op before
            self.error_log.addHandler(ClinicHandler())

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        try:
            # the access line gunicorn writes after a failed request has a minimal environ: use the parsed request
            route = safe_route(environ.get("PATH_INFO") or getattr(req, "path", None) or "")
            method = environ.get("REQUEST_METHOD") or getattr(req, "method", None) or "-"
            method = method if method in _METHODS else "_OTHER"
            protocol = str(environ.get("SERVER_PROTOCOL") or "-")[:16]
            safe = {key: value for key, value in atoms.items() if not key.startswith("{") or key in _KEPT_ATOMS}
            safe.update({"r": f"{method} {route} {protocol}", "U": route, "q": "", "m": method})
            for key in _MASKED_ATOMS:
                safe[key] = MASK
            return safe
        except Exception:
            return {key: value for key, value in atoms.items() if key in ("s", "b", "B", "T", "D", "M", "L", "p", "t")}

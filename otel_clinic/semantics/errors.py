"""Error categories: an ordered, extensible rule registry.

A rule looks at the status code, the exception (if any) and its message and returns a category or None.
The first rule that answers wins; rules registered by users run before the built-ins unless told otherwise.
The nine built-in categories come from the seeds; users may add their own names.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Iterable

AUTHENTICATION = "authentication"
VALIDATION = "validation"
NOT_FOUND = "not_found"
CONFLICT = "conflict"
RATE_LIMIT = "rate_limit"
TIMEOUT = "timeout"
EXTERNAL_SERVICE = "external_service"
DATABASE = "database"
SERVER_ERROR = "server_error"
CATEGORIES = (
    AUTHENTICATION, VALIDATION, NOT_FOUND, CONFLICT, RATE_LIMIT, TIMEOUT, EXTERNAL_SERVICE, DATABASE, SERVER_ERROR,
)

RuleFn = Callable[[int | None, BaseException | None], str | None]


@dataclass(frozen=True)
class ErrorRule:
    name: str
    match: RuleFn


def _mro_names(exc: BaseException) -> set[str]:
    """Qualified and bare class names of the exception's MRO, so rules need not import optional libraries."""
    names: set[str] = set()
    for cls in type(exc).__mro__:
        names.add(cls.__name__)
        names.add(f"{cls.__module__}.{cls.__qualname__}")
    return names


def exception_rule(name: str, category: str, class_names: Iterable[str], message_words: Iterable[str] = ()) -> ErrorRule:
    """A rule matching exception classes by (qualified) name anywhere in the MRO, or words in the message."""
    classes = frozenset(class_names)
    words = tuple(w.lower() for w in message_words)

    def match(status: int | None, exc: BaseException | None) -> str | None:
        if exc is None:
            return None
        if classes & _mro_names(exc):
            return category
        if words:
            try:
                message = str(exc).lower()
            except Exception:  # a broken __str__ must not break categorisation
                return None
            if any(w in message for w in words):
                return category
        return None

    return ErrorRule(name, match)


def status_rule(name: str, category: str, statuses: Iterable[int]) -> ErrorRule:
    codes = frozenset(statuses)
    return ErrorRule(name, lambda status, exc: category if status in codes else None)


_TIMEOUT_WORDS = ("timed out", "timeout expired", "statement timeout", "read timeout", "connect timeout")
_TIMEOUT_CLASSES = {
    "TimeoutError", "socket.timeout", "requests.exceptions.Timeout", "httpx.TimeoutException",
    "urllib3.exceptions.TimeoutError", "concurrent.futures._base.TimeoutError", "QueryCanceled",
}
_EXTERNAL_CLASSES = {
    "requests.exceptions.RequestException", "httpx.HTTPError", "urllib3.exceptions.HTTPError",
    "urllib.error.URLError", "http.client.HTTPException", "ConnectionError", "ConnectionRefusedError",
    "grpc.RpcError", "redis.exceptions.ConnectionError", "kombu.exceptions.OperationalError", "UpstreamError",
}
_DATABASE_CLASSES = {
    "django.db.utils.DatabaseError", "django.db.utils.OperationalError", "DatabaseError",
    "OperationalError", "InterfaceError", "psycopg.Error", "psycopg2.Error", "sqlite3.Error",
}


def _message_says_timeout(exc: BaseException) -> bool:
    try:
        message = str(exc).lower()
    except Exception:  # a broken __str__ must not break categorisation
        return False
    return any(word in message for word in _TIMEOUT_WORDS)


def _infrastructure_timeout(status: int | None, exc: BaseException | None) -> str | None:
    """A database or upstream error whose message says it timed out is a timeout, not a generic failure."""
    if exc is None:
        return None
    names = _mro_names(exc)
    if "IntegrityError" in names:  # a constraint violation is a conflict whatever its message says
        return None
    if (_EXTERNAL_CLASSES | _DATABASE_CLASSES) & names and _message_says_timeout(exc):
        return TIMEOUT
    return None


def _server_side_timeout_message(status: int | None, exc: BaseException | None) -> str | None:
    """Any other exception saying "timed out" on a server error; a 4xx (expired session, stale slot) keeps its
    status category, which the status rules before this one already gave it."""
    if exc is not None and (status is None or status >= 500) and _message_says_timeout(exc):
        return TIMEOUT
    return None


# Order matters: exception classes first (infrastructure timeouts before their generic class), then status
# codes, then message wording, then the catch-all.
BUILTIN_RULES: tuple[ErrorRule, ...] = (
    ErrorRule("infrastructure-timeout", _infrastructure_timeout),
    exception_rule("timeout-exceptions", TIMEOUT, _TIMEOUT_CLASSES),
    exception_rule(
        "auth-exceptions", AUTHENTICATION,
        {"django.core.exceptions.PermissionDenied", "PermissionDenied", "NotAuthenticated",
         "AuthenticationFailed", "rest_framework.exceptions.NotAuthenticated"},
    ),
    exception_rule(
        "validation-exceptions", VALIDATION,
        {"django.core.exceptions.ValidationError", "ValidationError", "django.core.exceptions.BadRequest",
         "SuspiciousOperation", "ParseError"},
    ),
    exception_rule(
        "not-found-exceptions", NOT_FOUND,
        {"django.http.response.Http404", "Http404", "ObjectDoesNotExist", "DoesNotExist", "NotFound"},
    ),
    exception_rule("integrity-exceptions", CONFLICT, {"django.db.utils.IntegrityError", "IntegrityError"}),
    exception_rule("external-exceptions", EXTERNAL_SERVICE, _EXTERNAL_CLASSES),
    exception_rule("database-exceptions", DATABASE, _DATABASE_CLASSES),
    status_rule("auth-status", AUTHENTICATION, (401, 403, 407)),
    status_rule("validation-status", VALIDATION, (400, 411, 413, 414, 415, 422)),
    # 405 is a routing miss, not a validation error: no view logic ran and no input was judged; the route exists
    # but serves no handler for that method (scanners, a client calling a method the API does not offer). It is
    # grouped with 404/410 ("nothing here serves this request") so validation rates keep meaning "bad input".
    status_rule("not-found-status", NOT_FOUND, (404, 405, 410)),
    status_rule("conflict-status", CONFLICT, (409, 412)),
    status_rule("rate-limit-status", RATE_LIMIT, (429,)),
    status_rule("timeout-status", TIMEOUT, (504, 408, 499)),
    status_rule("upstream-status", EXTERNAL_SERVICE, (502, 503)),
    ErrorRule("timeout-message", _server_side_timeout_message),
    ErrorRule("server-error", lambda status, exc: SERVER_ERROR if (status or 0) >= 500 or exc is not None else None),
)


class ErrorRuleRegistry:
    """Thread-safe ordered rules. Reads take a snapshot tuple, so categorisation never locks."""

    def __init__(self, builtins: Iterable[ErrorRule] = BUILTIN_RULES) -> None:
        self._lock = threading.Lock()
        self._user: tuple[ErrorRule, ...] = ()
        self._builtins = tuple(builtins)
        self._rules = self._builtins

    def register(self, rule: ErrorRule, *, first: bool = True) -> None:
        with self._lock:
            self._user = (rule, *self._user) if first else (*self._user, rule)
            self._rules = self._user + self._builtins

    def unregister(self, name: str) -> None:
        with self._lock:
            self._user = tuple(r for r in self._user if r.name != name)
            self._rules = self._user + self._builtins

    @property
    def rules(self) -> tuple[ErrorRule, ...]:
        return self._rules

    def categorize(self, status_code: int | None = None, exception: BaseException | None = None) -> str | None:
        """The category of a failed request, or None for a success (status < 400 and no exception)."""
        if exception is None and (status_code is None or status_code < 400):
            return None
        for rule in self._rules:
            try:
                category = rule.match(status_code, exception)
            except Exception:  # a faulty user rule must never break a request
                continue
            if category:
                return category
        return None


registry = ErrorRuleRegistry()


def register_error_rule(
    category: str,
    *,
    exceptions: Iterable[type[BaseException] | str] = (),
    status_codes: Iterable[int] = (),
    message_contains: Iterable[str] = (),
    match: RuleFn | None = None,
    name: str | None = None,
    first: bool = True,
) -> ErrorRule:
    """Register a rule. Either give ``match(status, exc) -> category|None`` or declarative criteria.

    Example: ``register_error_rule("external_service", exceptions=[StripeError])``.
    """
    if not category or not isinstance(category, str):
        raise ValueError("category must be a non-empty string")
    if match is None:
        class_names = {c if isinstance(c, str) else f"{c.__module__}.{c.__qualname__}" for c in exceptions}
        exc_rule = exception_rule("", category, class_names, message_contains) if (class_names or message_contains) else None
        codes = frozenset(status_codes)

        def match(status: int | None, exc: BaseException | None) -> str | None:
            if codes and status in codes:
                return category
            return exc_rule.match(status, exc) if exc_rule else None

    rule = ErrorRule(name or f"user:{category}:{id(match)}", match)
    registry.register(rule, first=first)
    return rule


def categorize_error(status_code: int | None = None, exception: BaseException | None = None) -> str | None:
    return registry.categorize(status_code, exception)


def error_type(status_code: int | None, exception: BaseException | None) -> str | None:
    """semconv ``error.type``: the exception's qualified class name, else the status code for 5xx/4xx."""
    if exception is not None:
        cls = type(exception)
        return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    if status_code is not None and status_code >= 400:
        return str(status_code)
    return None

"""URL scrubbing: credentials, query strings and fragments removed; id-like path segments replaced.

When the route template is known (Django's ``http.route``) the path is replaced by it; otherwise each
path segment that looks like an identifier (digits, UUIDs, long hex, SSN/MRN shapes, e-mails, anything
with a digit run) becomes ``{id}`` — the same shape the Collector's url sanitizer produces.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

ID_SEGMENT = "{id}"
# A segment is an identifier if it contains a run of >= 2 digits, is a UUID / long hex, or an e-mail.
# Words like "v1", "api", "patients", "2fa" stay.
_ID_LIKE = re.compile(
    r"^\d{2,}$|\d{4,}|\d[^/]*\d[^/]*\d|^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$|^[0-9a-fA-F]{16,}$|@"
)
_ROUTE_PARAM = re.compile(r"[<{:]")
_LONG_DIGITS = re.compile(r"\d{4,}")


HOST = "[HOST]"
# Hosts that name our own infrastructure, not a person or a patient-specific page: kept in free-text URLs.
_SAFE_HOST_SUFFIXES = (".svc", ".cluster.local", ".internal", ".local", ".localdomain")
# Public documentation and software hosts that libraries cite in their warnings ("See https://docs.djangoproject.com/...").
_PUBLIC_DOC_DOMAINS = (
    "djangoproject.com", "python.org", "readthedocs.io", "pypa.io", "github.com", "sentry.io", "opentelemetry.io",
    "postgresql.org", "redis.io", "celeryq.dev", "gunicorn.org", "kubernetes.io", "prometheus.io", "grafana.com",
)
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


def scrub_text_url(url: str) -> str:
    """A URL inside free text (a log line, an exception message): like ``scrub_url``, and its host is masked
    unless it is loopback, a single-label service name (redis, otel-collector) or cluster-internal. URLs are a
    Safe Harbor identifier; a patient portal link names its patient in the host or the path."""
    out = scrub_url(url)
    try:
        parts = urlsplit(out)
        host = parts.hostname or ""
    except ValueError:
        return "[URL]"
    if not host or _safe_host(host):
        if _public_docs(host) and "@" not in url:
            return url.split("?", 1)[0]  # a documentation link, fragment ("#allowed-hosts") and all
        return out
    netloc = parts.netloc.replace(host if ":" not in host else f"[{host}]", "[IP]" if _IPV4.fullmatch(host) or ":" in host else HOST, 1)
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _public_docs(host: str) -> bool:
    host = host.lower()
    return any(host == d or host.endswith("." + d) for d in _PUBLIC_DOC_DOMAINS)


def _safe_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    if host in _LOOPBACK or host.startswith("127."):
        return True
    if _IPV4.fullmatch(host) or ":" in host:
        return False
    if _public_docs(host):
        return True
    return "." not in host or host.endswith(_SAFE_HOST_SUFFIXES)


def scrub_text_path(path: str) -> str:
    """A path found inside free text (log messages, stack traces): like ``scrub_path`` but file-like segments
    (``python3.11``, ``exception.py``) are kept unless they carry an e-mail or a 4+ digit run."""
    out = []
    for seg in path.split("/"):
        decoded = unquote(seg)
        if "." in decoded and "@" not in decoded and not _LONG_DIGITS.search(decoded):
            out.append(seg)
        else:
            out.append(scrub_path(seg) if seg else seg)
    return "/".join(out)


def scrub_path(path: str, route: str | None = None) -> str:
    """Return ``route`` (as an absolute path) when known, else ``path`` with id-like segments replaced."""
    if route:
        return route if route.startswith("/") else "/" + route
    if not path:
        return path
    segments = path.split("/")
    out = []
    for seg in segments:
        if not seg:
            out.append(seg)
            continue
        decoded = unquote(seg)
        if _ROUTE_PARAM.search(decoded) and ("}" in decoded or ">" in decoded):
            out.append(seg)  # already a template segment: {id}, <int:pk>
        elif _ID_LIKE.search(decoded) or _looks_like_name_slug(decoded):
            out.append(ID_SEGMENT)
        else:
            out.append(seg)
    return "/".join(out)


def _looks_like_name_slug(segment: str) -> bool:
    # "Jane Roe" / "Jane+Roe" (percent-decoded): capitalised words separated by spaces are names, not routes.
    words = segment.replace("+", " ").split(" ")
    return len(words) >= 2 and all(w[:1].isupper() for w in words if w)


def scrub_url(url: str, route: str | None = None) -> str:
    """Scrub a full URL or a path (with optional query/fragment). Never raises."""
    try:
        if not isinstance(url, str):
            url = str(url)
        parts = urlsplit(url)
        netloc = parts.hostname or ""
        if ":" in netloc:  # IPv6 literal
            netloc = f"[{netloc}]"
        try:
            port = parts.port
        except ValueError:
            port = None
        if port is not None:
            netloc = f"{netloc}:{port}"
        path = scrub_path(parts.path, route)
        return urlunsplit((parts.scheme, netloc, path, "", ""))
    except Exception:  # malformed (e.g. "http://[::1"): nothing of it is trusted
        return "[URL]"

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

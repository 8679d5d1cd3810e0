"""One header policy for every sink: which HTTP headers may leave the process, by name.

* ``TRANSPORT_HEADERS`` describe the message itself (type, size, ids of the request and trace): kept everywhere.
* ``DESCRIPTIVE_HEADERS`` describe the client software, caches and proxies, not the person. OTel records a header
  only when the operator listed it (``OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_*``), so a listed descriptive header
  is kept (its value scanned like any text). Sentry sends every request header on its own, so it keeps transport
  headers only.
* Any other header (Cookie, Authorization, Referer, X-Forwarded-For, custom ``X-Patient``) is client-controlled and
  may carry data: dropped by Sentry, redacted whole by OTel (the attribute name stays).
"""

from __future__ import annotations

# Attribute name prefixes of headers captured by the OTel HTTP instrumentations.
OTEL_HEADER_PREFIXES = ("http.request.header.", "http.response.header.")

TRANSPORT_HEADERS: frozenset[str] = frozenset({"content-type", "content-length", "accept", "x-request-id", "traceparent"})
DESCRIPTIVE_HEADERS: frozenset[str] = frozenset({
    "accept-encoding", "accept-language", "cache-control", "connection", "content-encoding",
    "content-language", "host", "if-modified-since", "if-none-match", "origin",
    "pragma", "retry-after", "server", "tracestate", "baggage", "user-agent", "vary", "via",
    "x-correlation-id", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "etag",
    "last-modified", "expires", "age", "date", "sec-fetch-mode", "sec-fetch-site", "sec-fetch-dest",
    "upgrade-insecure-requests", "dnt", "sentry-trace",
})
# Headers whose values describe the transport, not the person (the policy document's "harmless_headers").
HARMLESS_HEADERS: frozenset[str] = TRANSPORT_HEADERS | DESCRIPTIVE_HEADERS


def normalise_header(name: str) -> str:
    """``Content-Type`` and ``content_type`` (the OTel attribute form) -> ``content-type``."""
    return name.lower().replace("_", "-")


def header_kept(name: str, *, operator_listed: bool) -> bool:
    """Whether a header's value may be exported (scrubbed). ``operator_listed``: the operator chose this header
    (OTel capture lists); False for a sink that sends every header by itself (Sentry)."""
    header = normalise_header(name)
    return header in HARMLESS_HEADERS if operator_listed else header in TRANSPORT_HEADERS

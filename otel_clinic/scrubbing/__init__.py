"""PHI scrubbing: one policy for spans, logs, metrics, Sentry events, SQL and URLs, rendered into the Collector too.

Public names (docs/CONTRACTS.md): ``ScrubPolicy``, ``scrub()``, ``obfuscate_sql()``, ``scrub_url()``,
``ScrubbingSpanExporter``, ``ScrubbingLogExporter``, ``metric_views()``, ``sentry_hooks()``,
``render_collector_processors()``.

Where each piece is applied:

* spans / logs: ``ScrubbingSpanExporter`` / ``ScrubbingLogExporter`` wrap the real exporter inside the batch
  processors, so scrubbing runs in the export thread; pass ``meter=`` to export
  ``clinic.scrub.redactions{detector}`` and ``clinic.telemetry.dropped{signal,reason=scrub_error}``;
* metrics: ``MeterProvider(views=metric_views(policy))`` keeps only allowlisted attribute keys, and
  ``scrub_reader(reader, policy)`` scans the values of those keys at each collection;
* Sentry: ``sentry_sdk.init(**sentry_hooks(policy), ...)``; which request headers Sentry and OTel's header capture may
  export is one policy (``headers.py``);
* the pipeline asks one ``Scrubber`` for all of the above (``scrubber_for(enabled, policy)``; ``NoScrubber`` passes
  everything through when scrubbing is off);
* Collector: ``otel-clinic collector-config [--output FILE]`` / ``render_collector_processors(policy)``.

Configuration (``ScrubPolicy.from_env``; bad values raise ``ConfigError`` naming the variable):

* ``OTEL_CLINIC_SCRUB_MODE`` = ``placeholder`` (default, ``[SSN]``) | ``hmac`` (``[SSN:3f9a0c2b1d]``, keyed, stable)
* ``OTEL_CLINIC_SCRUB_HMAC_KEY``: secret of >= 16 bytes, required for ``hmac``
* ``OTEL_CLINIC_SCRUB_MAX_VALUE_BYTES``: values above it are truncated before scanning (default 16384)
* ``OTEL_CLINIC_SCRUB_EXTRA_KEYS`` / ``OTEL_CLINIC_SCRUB_ALLOW_KEYS``: comma-separated key names
* ``OTEL_CLINIC_SCRUB_EXTRA_PATTERNS``: JSON object ``{"badge": "BADGE-[0-9]{6}"}`` (RE2 syntax)
* ``OTEL_CLINIC_SCRUB_METRIC_ALLOW_KEYS``: extra metric attribute keys allowed as labels

In code: ``ScrubPolicy.default().with_detector(name, regex, placeholder)``, ``.with_sensitive_keys([...])``,
``.with_allowed_keys([...])``, ``.with_hmac_key(b"...")``, ``.without_detectors(...)``.
"""

from __future__ import annotations

import importlib
from typing import Any

# Loaded on first use (PEP 562): importing a light submodule (logtemplates, used by every log call site) must not
# load RE2, the engine, the Collector renderer or the OTel exporter types in a process that never scrubs.
_LAZY = {
    "render_collector_processors": "collector",
    "ScrubbingExporter": "exporters",
    "ScrubbingLogExporter": "exporters",
    "ScrubbingSpanExporter": "exporters",
    "metric_views": "metrics",
    "scrub_metrics_data": "metrics",
    "scrub_reader": "metrics",
    "ScrubPolicy": "policy",
    "get_active_policy": "policy",
    "scrub": "policy",
    "set_active_policy": "policy",
    "NoScrubber": "scrubber",
    "Scrubber": "scrubber",
    "scrubber_for": "scrubber",
    "sentry_hooks": "sentry",
    "obfuscate_sql": "sql",
    "scrub_url": "url",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "NoScrubber",
    "ScrubPolicy",
    "Scrubber",
    "ScrubbingExporter",
    "ScrubbingLogExporter",
    "ScrubbingSpanExporter",
    "get_active_policy",
    "metric_views",
    "obfuscate_sql",
    "render_collector_processors",
    "scrub",
    "scrub_metrics_data",
    "scrub_reader",
    "scrub_url",
    "scrubber_for",
    "sentry_hooks",
    "set_active_policy",
]

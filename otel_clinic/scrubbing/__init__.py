"""PHI scrubbing: one policy for spans, logs, metrics, Sentry events, SQL and URLs, rendered into the Collector too.

Public names (docs/CONTRACTS.md): ``ScrubPolicy``, ``scrub()``, ``obfuscate_sql()``, ``scrub_url()``,
``ScrubbingSpanExporter``, ``ScrubbingLogExporter``, ``metric_views()``, ``sentry_hooks()``,
``render_collector_processors()``.
"""

from otel_clinic.scrubbing.collector import render_collector_processors
from otel_clinic.scrubbing.exporters import ScrubbingLogExporter, ScrubbingSpanExporter
from otel_clinic.scrubbing.metrics import metric_views
from otel_clinic.scrubbing.policy import ScrubPolicy, get_active_policy, scrub, set_active_policy
from otel_clinic.scrubbing.sentry import sentry_hooks
from otel_clinic.scrubbing.sql import obfuscate_sql
from otel_clinic.scrubbing.url import scrub_url

__all__ = [
    "ScrubPolicy",
    "ScrubbingLogExporter",
    "ScrubbingSpanExporter",
    "get_active_policy",
    "metric_views",
    "obfuscate_sql",
    "render_collector_processors",
    "scrub",
    "scrub_url",
    "sentry_hooks",
    "set_active_policy",
]

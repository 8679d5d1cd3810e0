"""PHI scrubbing: one policy for spans, logs, metrics, Sentry events, SQL and URLs, rendered into the Collector."""

from otel_clinic.scrubbing.policy import ScrubPolicy, get_active_policy, scrub, set_active_policy
from otel_clinic.scrubbing.sql import obfuscate_sql
from otel_clinic.scrubbing.url import scrub_url

__all__ = [
    "ScrubPolicy",
    "get_active_policy",
    "obfuscate_sql",
    "scrub",
    "scrub_url",
    "set_active_policy",
]

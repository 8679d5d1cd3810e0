"""Key rules: which attribute / JSON / header / form keys are sensitive, safe, or need a special scrubber.

Keys are compared case- and separator-insensitively: ``firstName``, ``first_name``, ``First-Name`` and
``patient.first_name`` all contain the token run ``first name``.
"""

from __future__ import annotations

import enum
import re

from otel_clinic.scrubbing.headers import OTEL_HEADER_PREFIXES, header_kept

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[^A-Za-z0-9]+")


class KeyAction(enum.Enum):
    SAFE = "safe"  # exported unchanged, no value scan (fast path)
    SENSITIVE = "sensitive"  # value replaced whole
    URL = "url"  # full URL: credentials, query, fragment dropped; id-like path segments replaced
    PATH = "path"  # URL path / target: route template when known, else id-like segments replaced
    SQL = "sql"  # literals -> ?
    TEXT = "text"  # value detectors
    ARGUMENT = "argument"  # log/message arguments: free text, and a value that is wholly a name is a name
    STACKTRACE = "stacktrace"  # a traceback: frames kept, message lines scanned as free text


def key_tokens(key: str) -> list[str]:
    """``patient.firstName`` -> ``['patient', 'first', 'name']``."""
    return [t.lower() for t in _SEPARATORS.split(_CAMEL.sub("_", key)) if t]


def normalise_key(key: str) -> str:
    return "".join(key_tokens(key))


# Token runs that mark a key as sensitive wherever they appear in it (spelled with separators so the
# free-text "key=value" detector can be generated from the same list).
DEFAULT_SENSITIVE_KEYS: tuple[str, ...] = (
    # identity
    "ssn", "social_security", "social_security_number", "tax_id", "national_id",
    "dob", "date_of_birth", "birth_date", "birthdate", "birthday", "date_of_death",
    "mrn", "medical_record", "medical_record_number", "patient_id", "patient_name", "patient_email",
    "first_name", "last_name", "full_name", "given_name", "family_name", "middle_name", "maiden_name",
    "fname", "lname", "pt_name", "contact_name", "guarantor", "emergency_contact", "next_of_kin",
    "surname", "username", "user_name", "display_name", "nickname", "enduser_id",
    # contact / location
    "email", "email_address", "phone", "phone_number", "telephone", "mobile", "fax",
    "address", "street", "street_address", "zip", "zipcode", "zip_code", "postal_code", "postcode",
    "client_ip", "ip_address", "remote_addr", "x_forwarded_for", "x_real_ip", "forwarded",
    # health / insurance / money
    "insurance", "insurance_id", "member_id", "subscriber_id", "policy_number", "health_plan",
    "medicaid", "medicare", "diagnosis", "diagnoses", "icd10", "clinical_notes", "symptoms",
    "allergies", "medications", "treatment", "lab_result", "lab_results",
    "credit_card", "card_number", "cvv", "iban", "account_number", "bank_account", "routing_number",
    "license_number", "licence_number", "drivers_license", "passport",
    # credentials
    "password", "passwd", "pwd", "secret", "client_secret", "token", "access_token", "refresh_token",
    "id_token", "api_key", "apikey", "x_api_key", "authorization", "proxy_authorization", "auth",
    "cookie", "set_cookie", "session", "sessionid", "session_id", "csrf", "csrftoken", "xsrf", "jwt",
    "private_key",
)

# Plural forms that are counts, not collections of the singular ("tokens" = LLM token usage).
_PLURAL_EXEMPT = frozenset({"tokens"})

# Sensitive only as the whole key (``name`` alone is PHI-ish; ``service.name`` is not).
DEFAULT_EXACT_SENSITIVE_KEYS: tuple[str, ...] = (
    "name", "fullname", "note", "notes", "comment", "comments", "user", "patient", "body", "content",
)

# Semantic-convention keys whose values are never PHI: exported as-is without scanning (the fast path).
SAFE_KEYS: frozenset[str] = frozenset(
    {
        "http.route", "http.request.method", "http.method", "http.request.method_original",
        "http.response.status_code", "http.status_code", "http.scheme", "url.scheme", "http.flavor",
        "network.protocol.name", "network.protocol.version", "network.transport", "network.type",
        "server.port", "client.port", "network.peer.port", "network.local.port", "net.host.port",
        "net.peer.port", "http.request.body.size", "http.response.body.size",
        "http.request_content_length", "http.response_content_length",
        "service.name", "service.namespace", "service.version", "service.instance.id",
        "deployment.environment", "deployment.environment.name", "telemetry.sdk.name",
        "telemetry.sdk.language", "telemetry.sdk.version", "otel.scope.name", "otel.scope.version",
        "otel.status_code", "otel.library.name",
        "db.system", "db.system.name", "db.operation", "db.operation.name", "db.operation.batch.size",
        "db.name", "db.namespace", "db.collection.name", "db.sql.table", "db.redis.database_index",
        "db.response.status_code", "db.alias",
        "code.function", "code.namespace", "code.filepath", "code.lineno", "code.function.name",
        "code.file.path", "code.line.number", "code.column.number",
        "thread.id", "thread.name", "process.pid", "exception.type", "exception.escaped",
        "error.type", "error.category", "clinic.severity", "clinic.operation", "clinic.appointment.type", "sentry.event_id",
        "clinic.health.critical", "clinic.scrubbed", "cache.alias",
        "messaging.system", "messaging.operation", "messaging.operation.name", "messaging.destination.name",
        "celery.action", "celery.state", "celery.task_name", "rpc.system", "rpc.service", "rpc.method",
        "http.server_name",
    }
)

# Keys whose names contain a sensitive token but whose values are our own infrastructure
# (scanned by the value detectors, not replaced whole).
KEY_RULE_EXEMPT: frozenset[str] = frozenset(
    {
        "server.address", "network.local.address", "net.host.name", "net.host.ip", "host.name",
        "host.ip", "server.socket.address", "db.user", "messaging.client_id", "http.user_agent",
        "user_agent.original", "db.client.connection.pool.name",
    }
)

URL_KEYS: frozenset[str] = frozenset({"url.full", "http.url", "url.original", "http.request.url", "url"})
PATH_KEYS: frozenset[str] = frozenset({"url.path", "http.target", "url.template"})
SQL_KEYS: frozenset[str] = frozenset({"db.statement", "db.query.text", "db.query.summary"})
ARGUMENT_KEYS: frozenset[str] = frozenset({"clinic.log.args"})
STACKTRACE_KEYS: frozenset[str] = frozenset({"exception.stacktrace", "exc_info", "stack_info"})
# Query strings are never exported: replaced whole.
QUERY_KEYS: frozenset[str] = frozenset(
    {"url.query", "url.fragment", "http.query", "http.fragment", "query_string", "querystring"}
)

class KeyRules:
    """Classifies keys. Instances are immutable; results are memoised (bounded)."""

    def __init__(
        self,
        sensitive_keys: frozenset[str],
        exact_keys: frozenset[str],
        allowed_keys: frozenset[str],
    ) -> None:
        self._runs = frozenset(normalise_key(k) for k in sensitive_keys)
        self._exact = frozenset(normalise_key(k) for k in exact_keys)
        self._allowed = frozenset(normalise_key(k) for k in allowed_keys)
        self._max_run = max((len(key_tokens(k)) for k in sensitive_keys), default=1)
        self._cache: dict[str, KeyAction] = {}

    def classify(self, key: str) -> KeyAction:
        action = self._cache.get(key)
        if action is None:
            action = self._classify(key)
            if len(self._cache) > 8192:  # bounded: keys are low-cardinality, but never trust that
                self._cache.clear()
            self._cache[key] = action
        return action

    def is_sensitive_name(self, key: str) -> bool:
        """True when a key *name* (header, form field, JSON key) marks its value as sensitive."""
        tokens = key_tokens(key)
        if not tokens:
            return False
        if "".join(tokens) in self._exact:
            return True
        last = tokens[-1]
        if len(last) >= 3 and last.endswith("s") and last not in _PLURAL_EXEMPT:  # patient_ids, mrns, emails
            singular = tokens[:-1] + [last[:-2] if last.endswith("es") and last[:-2] in self._runs else last[:-1]]
            if singular != tokens and self.is_sensitive_name("_".join(singular)):
                return True
        n = len(tokens)
        for i in range(n):
            acc = ""
            for j in range(i, min(n, i + self._max_run)):
                acc += tokens[j]
                if acc in self._runs:
                    return True
        return False

    def _classify(self, key: str) -> KeyAction:
        lowered = key.lower()
        if normalise_key(key) in self._allowed:
            return KeyAction.SAFE
        if lowered in SAFE_KEYS:
            return KeyAction.SAFE
        if lowered in URL_KEYS:
            return KeyAction.URL
        if lowered in PATH_KEYS:
            return KeyAction.PATH
        if lowered in SQL_KEYS:
            return KeyAction.SQL
        if lowered in ARGUMENT_KEYS:
            return KeyAction.ARGUMENT
        if lowered in STACKTRACE_KEYS:
            return KeyAction.STACKTRACE
        if lowered in QUERY_KEYS:
            return KeyAction.SENSITIVE
        if lowered in KEY_RULE_EXEMPT:
            return KeyAction.TEXT
        for prefix in OTEL_HEADER_PREFIXES:
            if lowered.startswith(prefix):
                # A header the operator listed for capture: kept (scanned) when the shared header policy allows it,
                # else redacted whole ("X-Patient: 00135799").
                header_ok = header_kept(lowered[len(prefix):], operator_listed=True)
                return KeyAction.TEXT if header_ok else KeyAction.SENSITIVE
        return KeyAction.SENSITIVE if self.is_sensitive_name(key) else KeyAction.TEXT

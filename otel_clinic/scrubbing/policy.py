"""ScrubPolicy: the one PHI policy applied to spans, logs, metrics, Sentry events and the Collector."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from otel_clinic import settings
from otel_clinic.errors import ConfigError
from otel_clinic.scrubbing.detectors import Detector, default_detectors, exact_key_detector, keyed_value_detector
from otel_clinic.scrubbing.engine import Engine, compile_re2
from otel_clinic.scrubbing.keys import DEFAULT_EXACT_SENSITIVE_KEYS, DEFAULT_SENSITIVE_KEYS, KeyRules

ReplacementStyle = Literal["placeholder", "hmac"]

# Their parsers, defaults and docs are rows of the parameter table (otel_clinic.settings).
ENV_MODE = "OTEL_CLINIC_SCRUB_MODE"
ENV_HMAC_KEY = "OTEL_CLINIC_SCRUB_HMAC_KEY"
ENV_MAX_VALUE_BYTES = "OTEL_CLINIC_SCRUB_MAX_VALUE_BYTES"
ENV_EXTRA_KEYS = "OTEL_CLINIC_SCRUB_EXTRA_KEYS"
ENV_ALLOW_KEYS = "OTEL_CLINIC_SCRUB_ALLOW_KEYS"
ENV_EXTRA_PATTERNS = "OTEL_CLINIC_SCRUB_EXTRA_PATTERNS"
ENV_METRIC_KEYS = "OTEL_CLINIC_SCRUB_METRIC_ALLOW_KEYS"

DEFAULT_MAX_VALUE_BYTES = 16 * 1024
MIN_MAX_VALUE_BYTES = 256
MAX_MAX_VALUE_BYTES = 1024 * 1024
MIN_HMAC_KEY_BYTES = 16

# Metric attribute keys that may become labels (docs/CONTRACTS.md + semconv http/db keys).
DEFAULT_METRIC_ATTRIBUTE_KEYS: frozenset[str] = frozenset(
    {
        # http (stable and old semconv, as emitted by the instrumentations)
        "http.route", "http.request.method", "http.response.status_code", "url.scheme",
        "network.protocol.name", "network.protocol.version", "server.port", "error.type",
        "http.method", "http.status_code", "http.scheme", "http.flavor", "http.server_name", "net.host.port",
        # db / cache
        "db.system", "db.system.name", "db.operation.name", "db.operation", "db.namespace",
        "db.collection.name", "db.response.status_code", "db.alias", "cache.alias",
        # ours
        "clinic.severity", "error.category", "clinic.operation", "clinic.appointment.type",
        "service.version", "deployment.environment.name", "signal", "reason", "detector",
        "check", "clinic.health.critical", "queue",
        "clinic.tenant",  # bounded by OTEL_CLINIC_TENANT_LIMIT (otel_clinic.tenants); values are still scanned
    }
)


@dataclass(frozen=True)
class ScrubPolicy:
    """What is PHI and how it is replaced. Immutable: ``with_*`` methods return a new policy.

    The compiled engine (one combined RE2 pattern, key rules, LRU cache) is built lazily once per policy.
    """

    detectors: tuple[Detector, ...] = field(default_factory=default_detectors)
    sensitive_keys: frozenset[str] = frozenset(DEFAULT_SENSITIVE_KEYS)
    exact_sensitive_keys: frozenset[str] = frozenset(DEFAULT_EXACT_SENSITIVE_KEYS)
    allowed_keys: frozenset[str] = frozenset()
    replacement: ReplacementStyle = "placeholder"
    hmac_key: bytes | None = field(default=None, repr=False)
    max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES
    metric_attribute_keys: frozenset[str] = DEFAULT_METRIC_ATTRIBUTE_KEYS
    detect_keyed_values: bool = True  # the free-text "ssn=…" detector built from sensitive_keys
    # Free text is default-deny: quoted literals, dates, identifier shapes and lexicon names are masked by shape
    # after the context detectors (freetext.py, names.py).
    free_text: bool = True

    def __post_init__(self) -> None:
        if self.replacement not in ("placeholder", "hmac"):
            raise ConfigError("replacement", self.replacement, "'placeholder' or 'hmac'")
        if self.replacement == "hmac" and (not self.hmac_key or len(self.hmac_key) < MIN_HMAC_KEY_BYTES):
            raise ConfigError(ENV_HMAC_KEY, "<hidden>", f"a secret of at least {MIN_HMAC_KEY_BYTES} bytes when mode is hmac")
        if not MIN_MAX_VALUE_BYTES <= self.max_value_bytes <= MAX_MAX_VALUE_BYTES:
            raise ConfigError("max_value_bytes", self.max_value_bytes, f"an integer in [{MIN_MAX_VALUE_BYTES}, {MAX_MAX_VALUE_BYTES}]")
        object.__setattr__(self, "_engine_lock", threading.Lock())
        object.__setattr__(self, "_engine", None)

    # ----------------------------------------------------------------- construction

    @classmethod
    def default(cls) -> ScrubPolicy:
        return cls()

    @classmethod
    def from_env(cls, environ: Mapping[str, str], overrides: Mapping[str, Any] | None = None) -> ScrubPolicy:
        """The default policy adjusted by the ``OTEL_CLINIC_SCRUB_*`` settings of the parameter table, read from
        ``environ`` and then ``overrides`` (``setup(scrubbing=ScrubbingOptions(...))`` fields, which win).
        Bad values raise ConfigError naming the variable or ``setup(scrubbing.<field>=...)``; secrets are never
        echoed."""
        values, origin = _scrub_settings(environ, overrides or {})
        policy = cls()
        if values["mode"] == "hmac":
            key = values["hmac_key"] or ""
            if len(key.encode()) < MIN_HMAC_KEY_BYTES:
                raise ConfigError(origin["hmac_key"], "<hidden>" if key else "",
                                  f"a secret of at least {MIN_HMAC_KEY_BYTES} bytes when {origin['mode']}=hmac")
            policy = policy.with_hmac_key(key.encode())
        if values["max_value_bytes"] != DEFAULT_MAX_VALUE_BYTES:
            policy = replace(policy, max_value_bytes=values["max_value_bytes"])
        if values["extra_keys"]:
            policy = policy.with_sensitive_keys(values["extra_keys"])
        if values["allow_keys"]:
            policy = policy.with_allowed_keys(values["allow_keys"])
        if values["metric_allow_keys"]:
            policy = policy.with_metric_attribute_keys(values["metric_allow_keys"])
        for name, regex in values["extra_patterns"].items():
            try:
                policy = policy.with_detector(name, regex)
            except ConfigError as exc:
                raise ConfigError(origin["extra_patterns"], _shown(overrides, environ, origin["extra_patterns"]),
                                  'a JSON object {"name": "RE2 regex", ...} with names of letters, digits and _; '
                                  + exc.allowed) from None
        return policy

    def with_detector(self, name: str, regex: str, placeholder: str | None = None) -> ScrubPolicy:
        """Add a custom value detector (RE2 syntax: no lookaround, no backreferences)."""
        if not name or not name.replace("_", "").isalnum():
            raise ConfigError("detector name", name, "letters, digits and _")
        if any(d.name == name for d in self.detectors):
            raise ConfigError("detector name", name, "a name not already used by another detector")
        if not regex or "(?P<" in regex or "(?<" in regex:
            raise ConfigError(f"detector {name} regex", regex, "a non-empty RE2 regex without named groups")
        try:
            compiled = compile_re2(regex)
        except Exception as exc:
            raise ConfigError(f"detector {name} regex", regex, f"an RE2/Go-compatible regex ({exc})") from None
        if compiled.search("") is not None:
            raise ConfigError(f"detector {name} regex", regex, "a regex that does not match the empty string")
        token = placeholder or f"[{name.upper()}]"
        if not (token.startswith("[") and token.endswith("]")):
            raise ConfigError(f"detector {name} placeholder", token, "a bracketed token such as [BADGE]")
        # Custom detectors go first: the user knows their identifiers better than our generic shapes.
        return replace(self, detectors=(Detector(name, regex, token),) + self.detectors)

    def without_detectors(self, *names: str) -> ScrubPolicy:
        known = {d.name for d in self.detectors}
        for name in names:
            if name not in known:
                raise ConfigError("detector name", name, f"one of {sorted(known)}")
        return replace(self, detectors=tuple(d for d in self.detectors if d.name not in names))

    def with_sensitive_keys(self, keys: Iterable[str]) -> ScrubPolicy:
        cleaned = _clean_keys(keys, "sensitive key")
        return replace(self, sensitive_keys=self.sensitive_keys | cleaned)

    def with_allowed_keys(self, keys: Iterable[str]) -> ScrubPolicy:
        """Keys exported unchanged (no key rule, no value scan): for values you know are not PHI."""
        return replace(self, allowed_keys=self.allowed_keys | _clean_keys(keys, "allowed key"))

    def with_hmac_key(self, key: bytes) -> ScrubPolicy:
        return replace(self, replacement="hmac", hmac_key=key)

    def with_metric_attribute_keys(self, keys: Iterable[str]) -> ScrubPolicy:
        return replace(self, metric_attribute_keys=self.metric_attribute_keys | frozenset(keys))

    # ----------------------------------------------------------------- use

    @property
    def engine(self) -> Engine:
        engine = self._engine  # type: ignore[attr-defined]
        if engine is None:
            with self._engine_lock:  # type: ignore[attr-defined]
                engine = self._engine  # type: ignore[attr-defined]
                if engine is None:
                    detectors = self.detectors
                    if self.detect_keyed_values:
                        detectors = detectors + (keyed_value_detector(self.sensitive_keys), exact_key_detector(self.exact_sensitive_keys))
                    engine = Engine(
                        detectors,
                        KeyRules(self.sensitive_keys, self.exact_sensitive_keys, self.allowed_keys),
                        hmac_key=self.hmac_key if self.replacement == "hmac" else None,
                        max_value_bytes=self.max_value_bytes,
                        free_text=self.free_text,
                        **(_lexicon() if self.free_text else {}),
                    )
                    object.__setattr__(self, "_engine", engine)
        return engine

    def scrub(self, value: Any, hits: Counter[str] | None = None) -> Any:
        """Scrubbed copy of a str, bytes, number, mapping or sequence (nested). Never raises."""
        return self.engine.scrub_value(value, hits=hits)

    def scrub_text(self, text: str, hits: Counter[str] | None = None) -> str:
        return self.engine.scrub_text(text, hits)

    def scrub_attributes(
        self, attributes: Mapping[str, Any] | None, hits: Counter[str] | None = None, route: str | None = None
    ) -> dict[str, Any]:
        """Scrub an OTel attribute mapping: key rules, URL/SQL handling, value detectors."""
        if not attributes:
            return {}
        try:
            return self.engine.scrub_attributes(attributes, hits, route)
        except Exception:  # e.g. a mapping that fails to iterate: nothing of it is exported
            if hits is not None:
                hits["scrub_error"] += 1
            return {}

    def is_sensitive_key(self, key: str) -> bool:
        return self.engine.keys.is_sensitive_name(key)


def _lexicon() -> dict[str, Any]:
    """The shipped name lexicon (loaded once per process) for the free-text filter."""
    from otel_clinic.scrubbing.names import AMB, TECH, WORD, default_name_finder

    finder = default_name_finder()

    def is_common_word(word: str) -> bool:
        """Vocabulary, not a name: dictionary and technical words; a word that is also a common name ("grace",
        "page") only in lower case (a Title-case "Grace" on its own is treated as a name)."""
        flags = finder.lookup(word)
        return bool(flags & (WORD | TECH)) or bool(flags & AMB and word.islower())

    return {"names": finder, "is_common_word": is_common_word}


def _scrub_settings(environ: Mapping[str, str], overrides: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """``(values, where each came from)`` for the scrubbing rows of the parameter table: default < env < code."""
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    rows = {p.keyword.partition(".")[2]: p for p in settings.group("scrubbing") if p.field is None and p.keyword}
    for name in overrides:
        if name not in rows:
            raise ConfigError(f"setup(scrubbing.{name}=...)", overrides[name], "one of " + ", ".join(sorted(rows)))
    for name, row in rows.items():
        origin[name] = row.env
        values[name] = row.default
        found = row.parse_env(environ)
        if found is not None:
            origin[name], values[name] = found
        if overrides.get(name) is not None:
            origin[name] = f"setup(scrubbing.{name}=...)"
            values[name] = row.parse_code(origin[name], overrides[name])
    return values, origin


def _shown(overrides: Mapping[str, Any] | None, environ: Mapping[str, str], setting: str) -> Any:
    if setting.startswith("setup("):
        return (overrides or {}).get("extra_patterns")
    return environ.get(setting)


def _clean_keys(keys: Iterable[str], what: str) -> frozenset[str]:
    if isinstance(keys, str):
        keys = [keys]
    out = set()
    for key in keys:
        if not isinstance(key, str) or not any(c.isalnum() for c in key):
            raise ConfigError(what, key, "a non-empty key name")
        out.add(key.strip().lower())
    return frozenset(out)


_active_lock = threading.Lock()
_active: ScrubPolicy | None = None


def get_active_policy() -> ScrubPolicy:
    global _active
    policy = _active
    if policy is None:
        with _active_lock:
            if _active is None:
                _active = ScrubPolicy.default()
            policy = _active
    return policy


def set_active_policy(policy: ScrubPolicy) -> None:
    global _active
    if not isinstance(policy, ScrubPolicy):
        raise ConfigError("scrub_policy", policy, "a ScrubPolicy instance")
    with _active_lock:
        _active = policy


def scrub(value: Any) -> Any:
    """Scrub ``value`` with the active policy (the one ``setup()`` installed, else the default)."""
    return get_active_policy().scrub(value)

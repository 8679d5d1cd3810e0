"""Value parsers for settings: raw text (environment) or Python values (keywords) to typed values.

Every parser takes ``(setting, raw)`` and raises :class:`~otel_clinic.errors.ConfigError` naming the setting (an
environment variable, ``setup(group.field=...)`` or a Django setting key), the bad value and what is allowed. The
parameter table (:mod:`otel_clinic.settings`) attaches one parser to each setting.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable

from otel_clinic.errors import ConfigError

Parser = Callable[[str, Any], Any]


@dataclass(frozen=True)
class SeverityThresholds:
    """Latency boundaries in milliseconds: below ``slow`` is normal, then slow, warning, critical."""

    slow_ms: float = 100.0
    warning_ms: float = 500.0
    critical_ms: float = 2000.0


def parse_bool(setting: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    value = str(raw).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(setting, raw, "one of true/false/1/0/yes/no/on/off")


def integer(minimum: int = 0, maximum: int | None = None, allowed: str | None = None) -> Parser:
    def parse(setting: str, raw: Any) -> int:
        what = allowed or f"an integer >= {minimum}" + (f" and <= {maximum}" if maximum is not None else "")
        if isinstance(raw, bool) or isinstance(raw, float):
            raise ConfigError(setting, raw, what)
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise ConfigError(setting, raw, what) from None
        if value < minimum or (maximum is not None and value > maximum):
            raise ConfigError(setting, raw, what)
        return value

    return parse


def number(minimum: float = 0.0, maximum: float | None = None, *, exclusive_minimum: bool = False,
           allowed: str | None = None) -> Parser:
    def parse(setting: str, raw: Any) -> float:
        bounds = (f"> {minimum}" if exclusive_minimum else f">= {minimum}") + (
            f" and <= {maximum}" if maximum is not None else "")
        what = allowed or f"a number {bounds}"
        if isinstance(raw, bool):
            raise ConfigError(setting, raw, what)
        try:
            value = float(str(raw).strip())
        except ValueError:
            value = float("nan")
        too_low = value <= minimum if exclusive_minimum else value < minimum
        if not math.isfinite(value) or too_low or (maximum is not None and value > maximum):
            raise ConfigError(setting, raw, what)
        return value

    return parse


def finite_number(setting: str, raw: Any) -> float:
    """Any finite number (range checks that involve other settings happen after loading)."""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(setting, raw, "a number") from None
    if not math.isfinite(value):
        raise ConfigError(setting, raw, "a finite number")
    return value


def choice(allowed: tuple[str, ...], *, upper: bool = False) -> Parser:
    """One of `allowed`, compared in lower case (upper case for log levels)."""

    def parse(setting: str, raw: Any) -> str:
        value = str(raw).strip()
        value = value.upper() if upper else value.lower()
        if value not in allowed:
            raise ConfigError(setting, raw, "one of " + ", ".join(allowed))
        return value

    return parse


def choices(allowed: tuple[str, ...], *, empty_means: str | None = None) -> Parser:
    """A comma list (or a list of strings) of ``allowed`` names; ``none`` only alone."""

    def parse(setting: str, raw: Any) -> tuple[str, ...]:
        if isinstance(raw, (list, tuple)):
            if not all(isinstance(item, str) for item in raw):
                raise ConfigError(setting, raw, "a comma list of " + ", ".join(allowed))
            text = ",".join(raw)
        else:
            text = str(raw)
        items = [part.strip().lower() for part in text.split(",") if part.strip()]
        if not items and empty_means is not None:
            items = [empty_means]
        if not items:
            raise ConfigError(setting, raw, "one or more of " + ", ".join(allowed))
        for item in items:
            if item not in allowed:
                raise ConfigError(setting, raw, "a comma list of " + ", ".join(allowed))
        if "none" in items and len(items) > 1:
            raise ConfigError(setting, raw, "'none' alone, or a list without 'none'")
        return tuple(items)

    return parse


def non_empty(setting: str, raw: Any) -> str:
    if not str(raw).strip():
        raise ConfigError(setting, raw, "a non-empty string")
    return str(raw).strip()


def text(setting: str, raw: Any) -> str:
    return str(raw)


def strict_text(setting: str, raw: Any) -> str | None:
    """A str (or None: unset) given in code (a Django setting): other types are errors, never echoed."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ConfigError(setting, "<non-string>", "a string")
    return raw


def secret(setting: str, raw: Any) -> str:
    """A credential: any non-empty string; errors never echo it."""
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(setting, "<hidden>", "a non-empty string")
    return raw


def http_url(example: str) -> Parser:
    def parse(setting: str, raw: Any) -> str:
        value = str(raw).strip()
        if not value.startswith(("http://", "https://")) or len(value) <= len("https://"):
            raise ConfigError(setting, raw, f"an http:// or https:// URL, e.g. {example}")
        return value

    return parse


def sentry_url(setting: str, raw: Any) -> str:
    """The Sentry API base URL carries the release token: https only (http for a loopback host), checked at setup()."""
    from otel_clinic.integrations.sentry_releases import validate_sentry_url

    return validate_sentry_url(str(raw).strip(), setting)


def level(allowed: tuple[str, ...]) -> Parser:
    return choice(allowed, upper=True)


def port(setting: str, raw: Any) -> int | None:
    value = integer(0, 65535, "a TCP port 0-65535 (0 disables)")(setting, raw)
    return value or None


def dotted_callable(setting: str, raw: Any) -> str:
    value = str(raw).strip()
    module, _, func = value.partition(":")
    if not (module and func and all(p.isidentifier() for p in module.split(".")) and func.isidentifier()):
        raise ConfigError(setting, raw, "module:function, e.g. myapp.tenants:tenant_for_request")
    return value


def thresholds(setting: str, raw: Any) -> SeverityThresholds:
    """``"100,500,2000"`` (ms) or a 3-sequence or a SeverityThresholds; must be strictly increasing."""
    if isinstance(raw, SeverityThresholds):
        return raw
    parts = raw.split(",") if isinstance(raw, str) else list(raw) if isinstance(raw, (list, tuple)) else None
    allowed = "three increasing millisecond values 'slow,warning,critical', e.g. 100,500,2000"
    if parts is None or len(parts) != 3:
        raise ConfigError(setting, raw, allowed)
    try:
        slow, warning, critical = (float(str(p).strip()) for p in parts)
    except ValueError:
        raise ConfigError(setting, raw, allowed) from None
    if not (0 <= slow < warning < critical and math.isfinite(critical)):
        raise ConfigError(setting, raw, allowed)
    return SeverityThresholds(slow, warning, critical)


def route_thresholds(setting: str, raw: Any) -> dict[str, SeverityThresholds]:
    """``"api/reports/=1000,5000,10000;api/export/=..."`` or a mapping route -> thresholds."""
    if isinstance(raw, Mapping):
        return {str(route): thresholds(f"{setting}[{route!r}]", value) for route, value in raw.items()}
    result: dict[str, SeverityThresholds] = {}
    for entry in str(raw).split(";"):
        if not entry.strip():
            continue
        route, sep, values = entry.partition("=")
        if not sep or not route.strip():
            raise ConfigError(setting, raw, "entries 'route=slow,warning,critical' separated by ';'")
        result[route.strip()] = thresholds(setting, values)
    return result


def path_prefixes(setting: str, raw: Any) -> tuple[str, ...]:
    allowed = "a comma list of URL path prefixes starting with '/'"
    if not isinstance(raw, (str, list, tuple)):
        raise ConfigError(setting, raw, allowed)
    items = [str(p).strip() for p in (raw.split(",") if isinstance(raw, str) else raw) if str(p).strip()]
    if not all(item.startswith("/") for item in items):
        raise ConfigError(setting, raw, allowed)
    return tuple(items)


def string_list(setting: str, raw: Any) -> tuple[str, ...]:
    """A comma list in text, or a list/tuple of strings in code."""
    if isinstance(raw, str):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return strict_string_list(setting, raw)


def strict_string_list(setting: str, raw: Any) -> tuple[str, ...]:
    """Only a list/tuple of strings (a Django setting where a bare string is a likely mistake)."""
    if isinstance(raw, (list, tuple, frozenset, set)) and all(isinstance(item, str) for item in raw):
        return tuple(raw)
    raise ConfigError(setting, raw, "a list of strings")


def json_patterns(setting: str, raw: Any) -> dict[str, str]:
    """``{"name": "RE2 regex"}`` as JSON text or a mapping (the regexes are compiled by the scrub policy)."""
    allowed = 'a JSON object {"name": "RE2 regex", ...} with names of letters, digits and _'
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            raise ConfigError(setting, raw, allowed) from None
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ConfigError(setting, raw, allowed)
    return dict(value)


def networks(setting: str, raw: Any) -> tuple[Any, ...]:
    from otel_clinic.health.access import parse_networks  # lazy: health imports this module

    return parse_networks(setting, raw)

"""Which receivers an alert reaches: `amtool config routes test` when amtool is installed, else the route tree
of the running Alertmanager's configuration (`/api/v2/status` → config.original) evaluated here.

The evaluation follows Alertmanager's dispatcher: a route matches when all its matchers do; children are tried in
order, and the first matching child stops the search unless it has `continue: true`; a route none of whose
children match delivers to its own receiver (inherited from the parent when unset).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from typing import Any

import yaml

from otel_clinic.ops.backends import Alertmanager

_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$')


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return bytes(value[1:-1], "utf-8").decode("unicode_escape")
    return value


def _matcher(text: str) -> tuple[str, str, str]:
    m = _MATCHER.match(text)
    if not m:
        raise ValueError(f"cannot parse Alertmanager matcher {text!r}")
    return m.group(1), m.group(2), _unquote(m.group(3))


def _matches(route: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    checks: list[tuple[str, str, str]] = [_matcher(t) for t in route.get("matchers") or []]
    checks += [(k, "=", str(v)) for k, v in (route.get("match") or {}).items()]
    checks += [(k, "=~", str(v)) for k, v in (route.get("match_re") or {}).items()]
    for name, op, value in checks:
        actual = labels.get(name, "")
        if op == "=":
            ok = actual == value
        elif op == "!=":
            ok = actual != value
        else:  # regex matchers are anchored in Alertmanager
            ok = re.fullmatch(value, actual) is not None
            ok = ok if op == "=~" else not ok
        if not ok:
            return False
    return True


def _walk(route: Mapping[str, Any], labels: Mapping[str, str], inherited: str) -> list[str]:
    receiver = route.get("receiver") or inherited
    found: list[str] = []
    for child in route.get("routes") or []:
        if _matches(child, labels):
            found += _walk(child, labels, receiver)
            if not child.get("continue"):
                break
    return found or [receiver]


def evaluate(config: Mapping[str, Any], labels: Mapping[str, str]) -> list[str]:
    """Receivers for `labels` under an Alertmanager config (dict), in route-tree order, without duplicates."""
    root = config.get("route") or {}
    return list(dict.fromkeys(_walk(root, labels, root.get("receiver", ""))))


def receivers(am: Alertmanager, labels: Mapping[str, str]) -> tuple[list[str], str]:
    """(receivers, how) for `labels` against the running Alertmanager; `how` says which method answered."""
    amtool = os.environ.get("OTEL_CLINIC_AMTOOL_BIN") or shutil.which("amtool")
    # amtool cannot take our bearer token without a config file; then the route tree is evaluated here.
    if amtool and not _has_token():
        argv = [amtool, "config", "routes", "test", f"--alertmanager.url={am.url}/"]
        argv += [f"{k}={v}" for k, v in sorted(labels.items())]  # alert labels only; never secrets
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            done = None
        if done is not None and done.returncode == 0 and done.stdout.strip():
            names = [n.strip() for n in done.stdout.strip().split(",") if n.strip()]
            return list(dict.fromkeys(names)), "amtool config routes test"
    original = am.status().get("config", {}).get("original", "")
    return evaluate(yaml.safe_load(original) or {}, labels), "route tree from /api/v2/status"


def _has_token() -> bool:
    return any(os.environ.get(f"OTEL_CLINIC_ALERTMANAGER_{s}") for s in ("TOKEN", "TOKEN_FILE"))

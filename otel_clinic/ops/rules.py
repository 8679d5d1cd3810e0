"""Our Prometheus alert rules (collector/prometheus/rules/*.yml), read for `test-alert`.

The rule files are not package data: they live in the repository's `collector/` tree, next to the Collector
distribution, and deployments mount them into Prometheus. So they are found, in order, at
``--rules-dir``, ``OTEL_CLINIC_RULES_DIR``, or ``collector/prometheus/rules`` of the source checkout this module
runs from. An installed wheel without a checkout must point at them with one of the first two.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from otel_clinic.ops.common import UsageError

CHECKOUT_RULES_DIR = Path(__file__).resolve().parents[2] / "collector" / "prometheus" / "rules"


@dataclass(frozen=True)
class AlertRule:
    """One `alert:` entry; several may share a name (one per severity tier)."""

    name: str
    expr: str
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    file: str = ""
    group: str = ""

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "")


def rules_dir(explicit: str | None = None) -> Path:
    """Where the rule files are; UsageError naming the setting when none of the places has them."""
    for source, value in (("--rules-dir", explicit), ("OTEL_CLINIC_RULES_DIR", os.environ.get("OTEL_CLINIC_RULES_DIR"))):
        if value:
            path = Path(value)
            if not path.is_dir():
                raise UsageError(f"{source}: {value} is not a directory")
            return path
    if CHECKOUT_RULES_DIR.is_dir():
        return CHECKOUT_RULES_DIR
    raise UsageError("alert rule files not found: set OTEL_CLINIC_RULES_DIR (or --rules-dir) to the directory "
                      "holding collector/prometheus/rules/*.yml (they are not shipped inside the Python package)")


def load_rules(directory: Path) -> list[AlertRule]:
    rules: list[AlertRule] = []
    for path in sorted(directory.glob("*.y*ml")):
        doc: Any = yaml.safe_load(path.read_text()) or {}
        for group in doc.get("groups") or []:
            for rule in group.get("rules") or []:
                if "alert" in rule:
                    rules.append(AlertRule(
                        name=str(rule["alert"]), expr=str(rule.get("expr", "")),
                        labels={k: str(v) for k, v in (rule.get("labels") or {}).items()},
                        annotations={k: str(v) for k, v in (rule.get("annotations") or {}).items()},
                        file=path.name, group=str(group.get("name", "")),
                    ))
    return rules


def _key(name: str) -> str:
    # The seed's names are snake_case (high_error_rate); ours are CamelCase: compare without case or separators.
    return re.sub(r"[^a-z0-9]", "", name.lower())


def find_rule(rules: list[AlertRule], name: str, severity: str | None = None) -> list[AlertRule]:
    """Rules named `name` (exact, else case/separator-insensitive), optionally of one severity tier."""
    matches = [r for r in rules if r.name == name] or [r for r in rules if _key(r.name) == _key(name)]
    if severity:
        matches = [r for r in matches if r.severity == severity]
    return matches


_LABEL_REF = re.compile(r"\{\{\s*\$labels\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_VALUE_REF = re.compile(r"\{\{\s*(?:printf\s+\"[^\"]*\"\s+)?\$value\b[^}]*\}\}")


_EXTERNAL_REF = re.compile(r"\{\{\s*\$externalLabels\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def external_labels(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The external labels our Prometheus config sets from the environment (collector/prometheus/prometheus.yml)."""
    env = os.environ if environ is None else environ
    return {"runbook_base_url": env.get("OTEL_CLINIC_RUNBOOK_BASE_URL", "").rstrip("/")}


def render_annotation(text: str, labels: dict[str, str], value: str = "(test)",
                      externals: dict[str, str] | None = None) -> str:
    """Fill `{{ $labels.x }}`, `{{ $externalLabels.x }}` and `{{ $value ... }}` the way Prometheus would, for a
    synthetic alert (`runbook_url` uses OTEL_CLINIC_RUNBOOK_BASE_URL, as the Prometheus config does).

    Only these forms occur in our rules; anything else is left as written.
    """
    externals = external_labels() if externals is None else externals
    text = _LABEL_REF.sub(lambda m: labels.get(m.group(1), f"<{m.group(1)}>"), text)
    text = _EXTERNAL_REF.sub(lambda m: externals.get(m.group(1), ""), text)
    return _VALUE_REF.sub(value, text)

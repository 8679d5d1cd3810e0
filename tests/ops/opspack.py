"""Shared helpers for the operations-pack tests: paths, rule/test loading, PromQL metric-name extraction."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import promql_parser
import yaml

REPO = Path(__file__).resolve().parents[2]
COLLECTOR = REPO / "collector"
RULES_DIR = COLLECTOR / "prometheus" / "rules"
RULE_TESTS_DIR = COLLECTOR / "prometheus" / "tests"
RUNBOOKS_DIR = COLLECTOR / "runbooks"
ALERTMANAGER_DIR = COLLECTOR / "alertmanager"
GRAFANA_DIR = COLLECTOR / "grafana"
K8S_DIR = COLLECTOR / "k8s"
CONTRACTS = REPO / "docs" / "CONTRACTS.md"

SEVERITIES = ("critical", "high", "warning", "info")
# Rules render runbook links from Prometheus's external label `runbook_base_url` (prometheus.yml: expanded from
# OTEL_CLINIC_RUNBOOK_BASE_URL), so no repository path is baked into the rules.
RUNBOOK_URL_TEMPLATE = "{{ $externalLabels.runbook_base_url }}/"
PROMETHEUS_YML = COLLECTOR / "prometheus" / "prometheus.yml"
# Metric families the product itself emits (must match docs/CONTRACTS.md); everything else is external.
OWN_PREFIXES = ("clinic_", "http_server_", "db_client_")


@dataclass(frozen=True)
class AlertRule:
    name: str
    file: Path
    group: str
    rule: dict[str, Any]

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.rule.get("labels") or {})

    @property
    def annotations(self) -> dict[str, str]:
        return dict(self.rule.get("annotations") or {})


def rule_files() -> list[Path]:
    return sorted(RULES_DIR.glob("*.yml"))


def rule_test_files() -> list[Path]:
    return sorted(RULE_TESTS_DIR.glob("*.test.yml"))


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def iter_rules(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for group in load_yaml(path)["groups"]:
        for rule in group["rules"]:
            yield group["name"], rule


def alert_rules() -> list[AlertRule]:
    return [AlertRule(r["alert"], f, g, r) for f in rule_files() for g, r in iter_rules(f) if "alert" in r]


def all_exprs() -> list[str]:
    return [r["expr"] for f in rule_files() for _, r in iter_rules(f)]


def selectors(expr: str) -> Iterator[Any]:
    """Every VectorSelector in a PromQL expression (raises ValueError if it does not parse)."""
    stack = [promql_parser.parse(expr)]
    skip = {"parse", "prettify", "matchers", "modifier", "op", "at", "offset"}
    while stack:
        node = stack.pop()
        if type(node).__name__ == "VectorSelector":
            yield node
        for attr in dir(node):
            if attr.startswith("_") or attr in skip:
                continue
            value = getattr(node, attr)
            for child in value if isinstance(value, (list, tuple)) else [value]:
                if hasattr(child, "prettify"):
                    stack.append(child)


def metric_names(expr: str) -> set[str]:
    """Metric names an expression reads (by name or by an exact __name__ matcher)."""
    names: set[str] = set()
    for sel in selectors(expr):
        if sel.name:
            names.add(sel.name)
        for m in sel.matchers.matchers:
            if m.name == "__name__" and str(m.op).endswith("Equal"):
                names.add(m.value)
    return names


def contract_metric_names() -> set[str]:
    """Prometheus names from the metrics table of docs/CONTRACTS.md, with {a,b} and _* expanded."""
    names: set[str] = set()
    for line in CONTRACTS.read_text().splitlines():
        if not line.startswith("| `") or line.count("|") < 5:
            continue
        prom_col = line.rstrip("|").rsplit("|", 1)[-1]
        for token in re.findall(r"`([^`]+)`", prom_col):
            brace = re.fullmatch(r"(\w+)_\{([\w,]+)\}", token)
            if brace:
                names.update(f"{brace[1]}_{s}" for s in brace[2].split(","))
            elif token.endswith("_*"):
                names.update(f"{token[:-2]}_{s}" for s in ("bucket", "sum", "count"))
            else:
                names.add(token)
    return names


def run(argv: list[str], cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)

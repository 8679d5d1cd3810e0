"""Reading Grafana dashboards: every PromQL expression (panel targets, template variables, annotations)
and Grafana's variable syntax, so tests can run them against a real Prometheus."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LABEL_VALUES = re.compile(r"^\s*label_values\((?:(?P<selector>.+),\s*)?(?P<label>[a-zA-Z_]\w*)\)\s*$", re.S)
QUERY_RESULT = re.compile(r"^\s*query_result\((?P<expr>.+)\)\s*$", re.S)
# Grafana built-ins, replaced by what Grafana would send for a short time range.
BUILTINS = {"__rate_interval": "1m", "__interval": "1m", "__range": "1h", "__range_s": "3600"}


@dataclass(frozen=True)
class Query:
    dashboard: str
    where: str        # "panel:<title>:<refId>", "variable:<name>", "annotation:<name>"
    expr: str
    panel: dict[str, Any] | None = None
    ref_id: str = ""


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """All panels, including those nested in (collapsed) rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def variable_query(var: Mapping[str, Any]) -> str:
    query = var.get("query", "")
    return query.get("query", "") if isinstance(query, dict) else str(query)


def queries(dashboard: Mapping[str, Any]) -> Iterator[Query]:
    uid = dashboard["uid"]
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield Query(uid, f"panel:{panel['title']}:{target['refId']}", target["expr"], panel, target["refId"])
    for var in dashboard.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            yield Query(uid, f"variable:{var['name']}", variable_query(var))
    for ann in dashboard.get("annotations", {}).get("list", []):
        if ann.get("expr"):
            yield Query(uid, f"annotation:{ann['name']}", ann["expr"])


def substitute(expr: str, values: Mapping[str, str]) -> str:
    """Replace $var, ${var} and ${var:fmt} like Grafana does (values are already regex-ready)."""
    merged = {**BUILTINS, **values}

    def repl(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        if name not in merged:
            raise KeyError(f"unknown variable ${name} in {expr!r}")
        return merged[name]

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", repl, expr)


def as_promql(query: str) -> tuple[str, str | None]:
    """(PromQL to run, label to collect or None) for a panel expr or a variable query."""
    m = LABEL_VALUES.match(query)
    if m:
        return (m.group("selector") or "{__name__=~\".+\"}"), m.group("label")
    m = QUERY_RESULT.match(query)
    if m:
        return m.group("expr"), None
    return query, None


def resolve_variables(prom: Any, dashboard: Mapping[str, Any], optional: frozenset[str] = frozenset()) -> dict[str, str]:
    """Evaluate the dashboard's query variables in order, like Grafana on load; All -> allValue.

    A variable in `optional` may have no values (its label is not emitted by this data): it then takes its
    allValue, like Grafana's All with nothing to list."""
    import time  # local: only the e2e callers need it

    values: dict[str, str] = {}
    for var in dashboard["templating"]["list"]:
        if var["type"] != "query":
            continue
        selector, label = as_promql(variable_query(var))
        assert label, f"{dashboard['uid']}: variable {var['name']} is not label_values()"
        series = prom.series(substitute(selector, values), start=time.time() - 3600)
        found = sorted({s.get(label) for s in series} - {None})
        assert found or var["name"] in optional, f"{dashboard['uid']}: variable {var['name']} has no values"
        if var.get("includeAll"):
            values[var["name"]] = var.get("allValue") or ".*"
        else:
            values[var["name"]] = "clinic/clinic-api" if "clinic/clinic-api" in found else re.escape(found[0])
        values[f"{var['name']}__values"] = ",".join(found)
    return values


def empty_panels(prom: Any, dashboard: Mapping[str, Any], core_titles: set[str],
                 optional: frozenset[str] = frozenset()) -> list[str]:
    """Run every expression of `dashboard` (raises on a PromQL error); return the core panels (target A) and
    annotations that returned no series."""
    values = resolve_variables(prom, dashboard, optional)
    empty = []
    for query in queries(dashboard):
        promql, _ = as_promql(query.expr)
        expr = substitute(promql, values)
        result = prom.query(expr)
        core = query.panel is not None and query.panel["title"] in core_titles and query.ref_id == "A"
        if (core or query.where.startswith("annotation:")) and not result:
            empty.append(f"{dashboard['uid']} {query.where}: {expr}")
    return empty

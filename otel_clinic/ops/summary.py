"""`otel-clinic summary --hours N`: the API performance dashboard's numbers for one window, as a table or JSON.

The queries are the ones the shipped dashboards and rules use (collector/grafana/dashboards/*.json,
collector/prometheus/rules/*.yml) with `increase`/`rate` over the whole window instead of `$__rate_interval`,
so a summary and the dashboard over the same range agree.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime, timezone
from typing import Any, TextIO

from otel_clinic.ops import common
from otel_clinic.ops.backends import Prometheus
from otel_clinic.ops.table import as_float, count, num, pct, seconds, table

TOP = 10
# ClinicDbNPlusOneQueries (clinic-db-cache.rules.yml) fires above this many queries per request.
N_PLUS_ONE_THRESHOLD = 50.0

REQUESTS = "http_server_request_duration_seconds"


def selector(job: str | None, environment: str | None, *extra: str) -> str:
    matchers = list(extra)
    if job:
        matchers.insert(0, f'job="{_escape(job)}"')
    if environment:
        matchers.insert(1 if job else 0, f'deployment_environment_name="{_escape(environment)}"')
    return "{" + ", ".join(matchers) + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _by(prom: Prometheus, expr: str, label: str, at: float) -> dict[str, float | None]:
    return {r["metric"].get(label, ""): as_float(r["value"][1]) for r in prom.query(expr, at)}


def _one(prom: Prometheus, expr: str, at: float) -> float | None:
    result = prom.query(expr, at)
    return as_float(result[0]["value"][1]) if result else None


def _ratio(part: float | None, whole: float | None) -> float | None:
    if part is None or not whole:
        return None
    return part / whole


def collect(prom: Prometheus, hours: float, *, job: str | None = None, environment: str | None = None,
            at: float | None = None) -> dict[str, Any]:
    """Run the summary queries at `at` (default now) over the last `hours`; returns the JSON-able summary."""
    at = time.time() if at is None else at
    w = common.window(hours)
    sel = selector(job, environment)
    sel_5xx = selector(job, environment, 'http_response_status_code=~"5.."')
    sel_cat = selector(job, environment, 'error_category!=""')

    total = _one(prom, f"sum(increase({REQUESTS}_count{sel}[{w}]))", at)
    errors = _one(prom, f"sum(increase({REQUESTS}_count{sel_5xx}[{w}]))", at) or 0.0
    overall_q = {q: _one(prom, f"histogram_quantile({q}, sum by (le) (rate({REQUESTS}_bucket{sel}[{w}])))", at)
                 for q in (0.5, 0.95, 0.99)}

    per_route = _by(prom, f"sum by (http_route) (increase({REQUESTS}_count{sel}[{w}]))", "http_route", at)
    route_errors = _by(prom, f"sum by (http_route) (increase({REQUESTS}_count{sel_5xx}[{w}]))", "http_route", at)
    route_q = {q: _by(prom, f"histogram_quantile({q}, sum by (le, http_route) (rate({REQUESTS}_bucket{sel}[{w}])))",
                      "http_route", at) for q in (0.5, 0.95, 0.99)}
    seconds_in_window = hours * 3600
    routes = [
        {"route": route, "requests": count, "rate_per_s": (count or 0.0) / seconds_in_window,
         "error_ratio": _ratio(route_errors.get(route, 0.0), count),
         "p50_s": route_q[0.5].get(route), "p95_s": route_q[0.95].get(route), "p99_s": route_q[0.99].get(route)}
        for route, count in per_route.items() if count
    ]
    by_traffic = sorted(routes, key=lambda r: (-(r["requests"] or 0), r["route"]))[:TOP]
    by_latency = sorted((r for r in routes if r["p95_s"] is not None),
                        key=lambda r: (-r["p95_s"], r["route"]))[:TOP]

    categories = _by(prom, f"sum by (error_category) (increase({REQUESTS}_count{sel_cat}[{w}]))", "error_category", at)
    cat_total = sum(v or 0.0 for v in categories.values())
    error_categories = sorted(
        ({"category": c, "requests": v, "share": _ratio(v, cat_total)} for c, v in categories.items() if v),
        key=lambda c: (-(c["requests"] or 0), c["category"]))

    queries = _one(prom, f"sum(increase(db_client_operation_duration_seconds_count{sel}[{w}]))", at)
    slow = _one(prom, f"sum(increase(clinic_db_slow_queries_total{sel}[{w}]))", at)
    if queries is not None and slow is None:
        slow = 0.0  # the slow-query counter appears with the first slow query: none yet means none slow
    qpr_sum = _by(prom, f"sum by (http_route) (increase(clinic_db_queries_per_request_sum{sel}[{w}]))", "http_route", at)
    qpr_count = _by(prom, f"sum by (http_route) (increase(clinic_db_queries_per_request_count{sel}[{w}]))",
                    "http_route", at)
    qpr = [{"route": r, "queries_per_request": _ratio(s, qpr_count.get(r))} for r, s in qpr_sum.items()]
    qpr = [r for r in qpr if r["queries_per_request"] is not None]
    n_plus_one = sorted((r for r in qpr if r["queries_per_request"] > N_PLUS_ONE_THRESHOLD),
                        key=lambda r: (-r["queries_per_request"], r["route"]))[:TOP]

    hits = _by(prom, f"sum by (cache_alias) (increase(clinic_cache_hits_total{sel}[{w}]))", "cache_alias", at)
    misses = _by(prom, f"sum by (cache_alias) (increase(clinic_cache_misses_total{sel}[{w}]))", "cache_alias", at)
    aliases = sorted(set(hits) | set(misses))
    by_alias = [{"alias": a, "hits": hits.get(a) or 0.0, "misses": misses.get(a) or 0.0,
                 "hit_ratio": _ratio(hits.get(a) or 0.0, (hits.get(a) or 0.0) + (misses.get(a) or 0.0))}
                for a in aliases]
    all_hits = sum(a["hits"] for a in by_alias)
    all_lookups = all_hits + sum(a["misses"] for a in by_alias)

    return {
        "window": {"hours": hours, "end": datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="seconds")},
        "filters": {"job": job, "environment": environment},
        "requests": {
            "total": total, "rate_per_s": (total or 0.0) / seconds_in_window if total is not None else None,
            "errors_5xx": errors if total is not None else None, "error_ratio": _ratio(errors, total),
            "p50_s": overall_q[0.5], "p95_s": overall_q[0.95], "p99_s": overall_q[0.99],
        },
        "routes_by_traffic": by_traffic,
        "routes_by_latency": by_latency,
        "error_categories": error_categories,
        "database": {"queries": queries, "slow_queries": slow, "slow_query_ratio": _ratio(slow, queries),
                     "slow_query_rate_per_s": (slow / seconds_in_window) if slow is not None else None},
        "n_plus_one": {"threshold_queries_per_request": N_PLUS_ONE_THRESHOLD, "routes": n_plus_one},
        "cache": {"hit_ratio": _ratio(all_hits, all_lookups), "by_alias": by_alias},
    }


def render_text(s: dict[str, Any]) -> str:
    req = s["requests"]
    filters = ", ".join(f"{k}={v}" for k, v in s["filters"].items() if v) or "all jobs and environments"
    out = [f"Summary of the last {num(s['window']['hours'])} h (until {s['window']['end']}; {filters})", ""]
    out.append(f"Requests: {count(req['total']) or 0} ({num(req['rate_per_s'], 3) or 0}/s), "
               f"5xx errors: {pct(req['error_ratio'], 2) or '-'}, "
               f"p50 {seconds(req['p50_s']) or '-'}, p95 {seconds(req['p95_s']) or '-'}, "
               f"p99 {seconds(req['p99_s']) or '-'}")
    heads = ("route", "requests", "req/s", "5xx", "p50", "p95", "p99")

    def rows(routes: list[dict[str, Any]]) -> list[list[object]]:
        return [[r["route"], count(r["requests"]), num(r["rate_per_s"], 3), pct(r["error_ratio"]),
                 seconds(r["p50_s"]), seconds(r["p95_s"]), seconds(r["p99_s"])] for r in routes]

    out += ["", f"Top {TOP} routes by traffic", table(heads, rows(s["routes_by_traffic"]))]
    out += ["", f"Top {TOP} routes by p95 latency", table(heads, rows(s["routes_by_latency"]))]
    out += ["", "Error categories", table(("category", "requests", "share"),
                                          [[c["category"], count(c["requests"]), pct(c["share"])]
                                           for c in s["error_categories"]])]
    db = s["database"]
    out += ["", f"Database: {count(db['queries']) or 0} queries, {count(db['slow_queries']) or 0} slow "
                f"({pct(db['slow_query_ratio']) or '-'}; alert at 15%/30%)"]
    npo = s["n_plus_one"]
    out += [f"N+1 routes (> {num(npo['threshold_queries_per_request'])} queries/request): "
            + (", ".join(f"{r['route']} ({r['queries_per_request']:.1f})" for r in npo["routes"]) or "none")]
    cache = s["cache"]
    out += ["", f"Cache hit ratio: {pct(cache['hit_ratio']) or '-'} (alert below 70%)",
            table(("alias", "hits", "misses", "hit ratio"),
                  [[a["alias"], count(a["hits"]), count(a["misses"]), pct(a["hit_ratio"])] for a in cache["by_alias"]])]
    return "\n".join(out)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hours", type=common.hours_type, default=24.0, help="window length (default 24)")
    parser.add_argument("--end", type=common.time_type, default=None, metavar="TIME",
                        help="window end, unix seconds or RFC 3339 (default: now)")
    parser.add_argument("--job", help='only this Prometheus job (e.g. "clinic/clinic-api")')
    parser.add_argument("--environment", help="only this deployment_environment_name")
    parser.add_argument("--format", choices=("text", "json"), default="text", dest="output_format")
    common.add_backend_arguments(parser, alertmanager=False)


def command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    summary = collect(common.prometheus(args), args.hours, job=args.job, environment=args.environment,
                      at=args.end)
    out.write((json.dumps(summary, indent=2) if args.output_format == "json" else render_text(summary)) + "\n")
    return common.EXIT_OK

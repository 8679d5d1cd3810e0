"""`otel-clinic export-metrics --hours N --output FILE [--format json|csv]`: a range export of our metrics.

Which metrics: every name Prometheus has in the window matching our families (docs/CONTRACTS.md: `clinic_*`,
`http_server_*`, `db_client_*`, plus `target_info`), or `--match` selectors. Each metric is queried with
`query_range` in time chunks (`--chunk-hours`, and never more than 10,000 points per series, under Prometheus'
11,000 limit), so a long export neither hits that limit nor builds one huge response. Progress goes to stderr
when the export takes more than a few queries. The file is written next to FILE and renamed at the end, so a
failed export never leaves half a file behind.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from otel_clinic.ops import common
from otel_clinic.ops.backends import Prometheus

OWN_METRICS = '{__name__=~"clinic_.+|http_server_.+|db_client_.+|target_info"}'
MAX_POINTS = 10_000
PROGRESS_MIN_QUERIES = 5


def chunks(start: float, end: float, step: float, chunk_seconds: float) -> list[tuple[float, float]]:
    """[start, end] split into query ranges on the step grid, none longer than chunk_seconds or MAX_POINTS steps."""
    span = max(step, min(chunk_seconds, step * (MAX_POINTS - 1)))
    span = step * max(1, int(span // step))
    out: list[tuple[float, float]] = []
    t = start
    while t <= end:
        stop = min(t + span, end)
        out.append((t, stop))
        t = stop + step  # query_range includes both ends: start the next chunk one step later
    return out


def metric_names(prom: Prometheus, matchers: list[str], start: float, end: float) -> list[str]:
    return sorted(prom.label_values("__name__", matchers, start=start, end=end))


def _samples(prom: Prometheus, name: str, ranges: list[tuple[float, float]], step: float,
             tick: Any) -> Iterator[tuple[dict[str, str], list[list[Any]]]]:
    """(labels, [[ts, value], ...]) per series and chunk."""
    for start, end in ranges:
        for series in prom.query_range(f'{{__name__="{name}"}}', start, end, step):
            labels = {k: v for k, v in series["metric"].items() if k != "__name__"}
            yield labels, [[float(t), v] for t, v in series["values"]]
        tick(name)


def export(prom: Prometheus, output: Path, *, hours: float, step: float, output_format: str,
           matchers: list[str], chunk_hours: float, err: TextIO, progress: bool | None = None,
           end: float | None = None) -> dict[str, Any]:
    end = time.time() if end is None else end
    start = end - hours * 3600
    names = metric_names(prom, matchers, start, end)
    ranges = chunks(start, end, step, chunk_hours * 3600)
    total_queries = len(names) * len(ranges)
    show = progress if progress is not None else total_queries >= PROGRESS_MIN_QUERIES
    done = {"queries": 0, "samples": 0, "series": 0}

    def tick(name: str) -> None:
        done["queries"] += 1
        if show:
            err.write(f"export-metrics: {done['queries']}/{total_queries} queries ({name}), "
                      f"{done['samples']} samples\n")
            err.flush()

    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    meta = {"start": _iso(start), "end": _iso(end), "step_seconds": step, "prometheus": prom.url}
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            if output_format == "csv":
                writer = csv.writer(fh)
                writer.writerow(["metric", "labels", "timestamp", "value"])
                for name in names:
                    seen: set[str] = set()
                    for labels, values in _samples(prom, name, ranges, step, tick):
                        label_text = json.dumps(labels, sort_keys=True, separators=(",", ":"))
                        writer.writerows([name, label_text, f"{t:.3f}", v] for t, v in values)
                        done["samples"] += len(values)
                        seen.add(label_text)
                    done["series"] += len(seen)
            else:
                # One metric in memory at a time: series split over chunks are joined per label set.
                fh.write(json.dumps(meta)[:-1] + ', "metrics": {')
                for i, name in enumerate(names):
                    merged: dict[str, dict[str, Any]] = {}
                    for labels, values in _samples(prom, name, ranges, step, tick):
                        key = json.dumps(labels, sort_keys=True)
                        merged.setdefault(key, {"labels": labels, "values": []})["values"].extend(values)
                        done["samples"] += len(values)
                    done["series"] += len(merged)
                    fh.write(("," if i else "") + json.dumps(name) + ": " + json.dumps(list(merged.values())))
                fh.write("}}\n")
        os.replace(tmp_name, output)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return {**meta, "output": str(output), "format": output_format, "metrics": len(names),
            "series": done["series"], "samples": done["samples"], "queries": done["queries"]}


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hours", type=common.hours_type, default=24.0, help="window length (default 24)")
    parser.add_argument("--end", type=common.time_type, default=None, metavar="TIME",
                        help="window end, unix seconds or RFC 3339 (default: now)")
    parser.add_argument("--output", "--output-file", required=True, dest="output", metavar="FILE")
    parser.add_argument("--format", choices=("json", "csv"), default=None, dest="output_format",
                        help="default: from the file extension (.csv), else json")
    parser.add_argument("--step", type=common.positive_number, default=None, metavar="S",
                        help="seconds between points (default: 60, or finer for windows under 4 h)")
    parser.add_argument("--match", action="append", default=None, metavar="SELECTOR",
                        help=f"series selector of metrics to export, repeatable (default {OWN_METRICS})")
    parser.add_argument("--chunk-hours", type=common.positive_number, default=6.0, help="time span per query (default 6)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress on stderr (default: when more than a few queries)")
    common.add_backend_arguments(parser, alertmanager=False)


def command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    output = Path(args.output)
    fmt = args.output_format or ("csv" if output.suffix.lower() == ".csv" else "json")
    step = args.step or (60.0 if args.hours >= 4 else max(1.0, round(args.hours * 3600 / 240)))
    result = export(common.prometheus(args), output, hours=args.hours, step=step, output_format=fmt,
                    matchers=args.match or [OWN_METRICS], chunk_hours=args.chunk_hours, err=err,
                    progress=args.progress, end=args.end)
    out.write(f"exported {result['metrics']} metrics, {result['series']} series, {result['samples']} samples "
              f"({result['start']} .. {result['end']}, step {step:g}s) to {output} [{fmt}]\n")
    return common.EXIT_OK

"""The command behind `manage.py monitor_health` and `otel-clinic health` (one implementation, two front ends)."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from otel_clinic.errors import ConfigError
from otel_clinic.health.report import EXIT_UNKNOWN_CHECK, render_json, render_text
from otel_clinic.health.result import worst


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="append", dest="checks", metavar="NAME",
                        help="run only this check (repeatable); default: all")
    parser.add_argument("--verbose", action="store_true", help="show messages and details of every check")
    parser.add_argument("--format", choices=("text", "json"), default="text", dest="output_format")
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="per-check timeout in seconds (default: the configured timeout)")


def run_command(checks: list[str] | None, *, verbose: bool, output_format: str, timeout: float | None,
                stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run checks now (no cache) and print them. Exit: 0 ok, 1 degraded, 2 down, 64 bad usage/config."""
    from otel_clinic.health.state import get_runner

    out = stdout or sys.stdout
    err = stderr or sys.stderr
    if timeout is not None and not timeout > 0:
        err.write(f"error: --timeout must be > 0 (got {timeout})\n")
        return EXIT_UNKNOWN_CHECK
    try:
        runner = get_runner()
    except ConfigError as exc:
        err.write(f"error: {exc}\n")
        return EXIT_UNKNOWN_CHECK
    valid = runner.names()
    selected = list(dict.fromkeys(checks)) if checks else valid
    unknown = [name for name in selected if name not in valid]
    if unknown:
        err.write(f"error: unknown check(s): {', '.join(unknown)}. Valid checks: {', '.join(valid) or '(none)'}\n")
        return EXIT_UNKNOWN_CHECK
    results = runner.run(selected, timeout=timeout)
    # Operators asking about a check want its own verdict, so criticality does not soften the exit code.
    overall = worst(r.status for r in results.values())
    if output_format == "json":
        out.write(render_json(results, overall) + "\n")
    else:
        out.write(render_text(results, verbose=verbose) + "\n")
        out.write(f"overall: {overall.value}\n")
    return overall.exit_code

"""What every ops command shares: backend options, exit codes, and the wrapper that turns errors into one line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TextIO

from otel_clinic.ops.backends import Alertmanager, BackendError, Prometheus, alertmanager_from, prometheus_from

EXIT_OK = 0
EXIT_DEGRADED = 1
EXIT_BACKEND = 2  # a backend is unreachable or refused us
EXIT_USAGE = 64  # EX_USAGE: unknown rule, bad option value


class UsageError(Exception):
    """Bad input from the operator (unknown rule, bad value); the message says what is valid."""


def add_backend_arguments(parser: argparse.ArgumentParser, *, prometheus: bool = True,
                          alertmanager: bool = True) -> None:
    if prometheus:
        parser.add_argument("--prometheus-url", metavar="URL",
                            help="Prometheus base URL (default: $OTEL_CLINIC_PROMETHEUS_URL or http://127.0.0.1:9090)")
    if alertmanager:
        parser.add_argument("--alertmanager-url", metavar="URL",
                            help="Alertmanager base URL (default: $OTEL_CLINIC_ALERTMANAGER_URL or "
                                 "http://127.0.0.1:9093)")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="S", help="per-request timeout (default 30)")


def positive_number(text: str, option: str = "") -> float:
    """argparse type: a number > 0; the message names `option` when given (argparse adds the option otherwise)."""
    subject = f"{option} must be" if option else "expected"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{subject} a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{option + ' ' if option else ''}must be > 0, got {text!r}")
    return value


def hours_type(text: str) -> float:
    return positive_number(text, "--hours")


def time_type(text: str) -> float:
    """A point in time: unix seconds or RFC 3339 (2026-12-01T08:00:00Z)."""
    from datetime import datetime, timezone

    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected unix seconds or RFC 3339, got {text!r}") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()


def prometheus(args: argparse.Namespace) -> Prometheus:
    return prometheus_from(getattr(args, "prometheus_url", None), args.timeout)


def alertmanager(args: argparse.Namespace) -> Alertmanager:
    return alertmanager_from(getattr(args, "alertmanager_url", None), args.timeout)


def window(hours: float) -> str:
    """A PromQL range for `hours` (whole seconds, so fractional hours work)."""
    return f"{max(1, round(hours * 3600))}s"


def run(command: Callable[[argparse.Namespace, TextIO, TextIO], int], args: argparse.Namespace,
        stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run a command; a backend failure or usage error is one line on stderr and an exit code, never a traceback."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    try:
        return command(args, out, err)
    except BackendError as exc:
        err.write(f"error: {exc}\n")
        return EXIT_BACKEND
    except UsageError as exc:
        err.write(f"error: {exc}\n")
        return EXIT_USAGE

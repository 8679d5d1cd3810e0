"""Subprocess helpers for the lifecycle tests: a clean environment, the example app, exported JSON lines."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "clinic"
BIN = Path(sys.executable).parent


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "DJANGO_SETTINGS", "SENTRY_", "RUN_MAIN"))}
    env.update(
        PYTHONPATH=str(REPO),
        OTEL_CLINIC_EXPORT_DIR=str(tmp_path / "out"),
        OTEL_CLINIC_LOG_FORMAT="none",
        # Nothing leaves on the batch timers during a test: what is exported was flushed at exit.
        OTEL_BSP_SCHEDULE_DELAY="600000",
        OTEL_METRIC_EXPORT_INTERVAL="600000",
        CLINIC_SQLITE_PATH=str(tmp_path / "clinic.sqlite3"),
        OTEL_CLINIC_RELEASE="9.9.9-lifecycle",
    )
    env.update(extra)
    return env


def lines(tmp_path: Path, signal_name: str) -> list[dict]:
    path = tmp_path / "out" / f"{signal_name}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def server_spans(tmp_path: Path) -> list[dict]:
    return [s for s in lines(tmp_path, "traces") if s.get("kind") == "SpanKind.SERVER"]


def metric_points(tmp_path: Path, name: str) -> list[tuple[str, dict]]:
    """(service.instance.id, data point) of every exported point of ``name``."""
    found = []
    for doc in lines(tmp_path, "metrics"):
        for rm in doc.get("resource_metrics", []):
            instance = rm["resource"]["attributes"].get("service.instance.id")
            for sm in rm.get("scope_metrics", []):
                for metric in sm.get("metrics", []):
                    if metric["name"] == name:
                        found.extend((instance, p) for p in metric["data"]["data_points"])
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 5.0, headers: dict | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"process exited early ({proc.returncode}): {out[-3000:]}")
        try:
            get(url, timeout=1)
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def migrate(env: dict[str, str]) -> None:
    proc = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=EXAMPLE,
        env={**env, "OTEL_SDK_DISABLED": "true"}, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 60.0, *, group: bool = False) -> str:
    """Send ``sig`` (to the process, or its whole session with ``group``) and wait (bounded); kill the whole group
    if it does not exit. Returns the output. Popen must use ``start_new_session=True``."""
    if group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate(timeout=10)
        raise AssertionError(f"process did not exit within {timeout} s after signal {sig}: {out[-3000:]}")
    return out

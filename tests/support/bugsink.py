"""Bugsink (a real Sentry-protocol server, PyPI `bugsink`) for tests, in its own venv.

    with bugsink_server() as bs:
        sentry_sdk.init(dsn=bs.dsn, ...)
        bs.wait_for_events(1)
        bs.events()   # full event JSON (tags, release, environment, contexts.trace, exception)

The venv lives at <repo>/.bugsink-venv (git-ignored) and is created on first use (`pip install bugsink`),
or pointed to by OTEL_CLINIC_BUGSINK_VENV. The server runs on a free loopback port with a temp SQLite DB,
snappea in eager mode (events are digested inside the ingest request), and is stopped on exit.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.support.promstack import LOOPBACK, free_port

REPO = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("OTEL_CLINIC_BUGSINK_VENV", REPO / ".bugsink-venv"))
BUGSINK_REQUIREMENT = os.environ.get("OTEL_CLINIC_BUGSINK_REQUIREMENT", "bugsink==2.6.1")


class BugsinkError(RuntimeError):
    pass


def ensure_venv() -> Path:
    """The bugsink venv's bin dir; creates the venv and installs bugsink if missing (needs PyPI)."""
    bin_dir = VENV / "bin"
    if not (bin_dir / "bugsink-manage").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=300)
        subprocess.run(
            [str(bin_dir / "pip"), "install", "-q", BUGSINK_REQUIREMENT], check=True, timeout=900, capture_output=True
        )
    return bin_dir


_SETUP_SCRIPT = """
import json
from projects.models import Project
from teams.models import Team
team = Team.objects.create(name="clinic")
project = Project.objects.create(team=team, name="clinic-api")
print("RESULT " + json.dumps({"id": project.id, "dsn": project.dsn}))
"""


@dataclass
class BugsinkServer:
    url: str
    dsn: str
    project_id: int
    token: str
    workdir: Path
    proc: subprocess.Popen[bytes] = field(repr=False)

    def _get(self, path: str, **params: Any) -> Any:
        resp = requests.get(
            f"{self.url}/api/canonical/0/{path}", params=params, timeout=30,
            headers={"Authorization": f"Bearer {self.token}"},
        )
        if resp.status_code != 200:
            raise BugsinkError(f"GET {path} {params}: {resp.status_code} {resp.text[:500]}")
        return resp.json()

    def _paged(self, path: str, **params: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        page = self._get(path, **params)
        while True:
            out.extend(page["results"])
            if not page.get("next"):
                return out
            resp = requests.get(page["next"], timeout=30, headers={"Authorization": f"Bearer {self.token}"})
            resp.raise_for_status()
            page = resp.json()

    def issues(self) -> list[dict[str, Any]]:
        return self._paged("issues/", project=self.project_id)

    def events(self) -> list[dict[str, Any]]:
        """Every stored event of the project, with its full `data` payload (as sent by the SDK, after digest)."""
        events = []
        for issue in self.issues():
            for summary in self._paged("events/", issue=issue["id"]):
                events.append(self._get(f"events/{summary['id']}/"))
        return events

    def wait_for_events(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            events = self.events()
            if len(events) >= count:
                return events
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(events)} Bugsink events after {timeout}s, wanted {count}")
            time.sleep(0.5)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return (self.workdir / "bugsink.log").read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def _manage(bin_dir: Path, workdir: Path, *args: str, timeout: float = 300) -> str:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bugsink_conf", "PYTHONPATH": str(workdir)}
    env.pop("OTEL_SERVICE_NAME", None)
    result = subprocess.run(
        [str(bin_dir / "bugsink-manage"), *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise BugsinkError(f"bugsink-manage {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    return result.stdout


@contextlib.contextmanager
def bugsink_server(ready_timeout: float = 60.0) -> Iterator[BugsinkServer]:
    """Configure, migrate and run Bugsink on a free loopback port; one project whose DSN tests use."""
    bin_dir = ensure_venv()
    workdir = Path(tempfile.mkdtemp(prefix="otel-clinic-bugsink-"))
    port = free_port()
    proc = None
    try:
        subprocess.run(
            [str(bin_dir / "bugsink-create-conf"), "--template=local", f"--port={port}", f"--host={LOOPBACK}",
             "--output-file", str(workdir / "bugsink_conf.py")],
            cwd=workdir, check=True, capture_output=True, timeout=60,
        )
        with open(workdir / "bugsink_conf.py", "a") as conf:
            # Keep everything inside the temp dir and accept the SDK's events without rate limits.
            conf.write(f"\nDATABASES['default']['NAME'] = {str(workdir / 'db.sqlite3')!r}\n")
            conf.write("ALLOWED_HOSTS = ['127.0.0.1', 'localhost']\n")
        _manage(bin_dir, workdir, "migrate", "-v0")
        token = _manage(bin_dir, workdir, "create_auth_token").strip().splitlines()[-1]
        out = _manage(bin_dir, workdir, "shell", "-c", _SETUP_SCRIPT)
        info = json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:])
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bugsink_conf", "PYTHONPATH": str(workdir)}
        with open(workdir / "bugsink.log", "wb") as log:
            proc = subprocess.Popen(
                [str(bin_dir / "bugsink-manage"), "runserver", f"{LOOPBACK}:{port}", "--noreload", "--nothreading"],
                cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        server = BugsinkServer(f"http://{LOOPBACK}:{port}", info["dsn"], int(info["id"]), token, workdir, proc)
        deadline = time.monotonic() + ready_timeout
        while True:
            if proc.poll() is not None:
                raise BugsinkError(f"bugsink exited with {proc.returncode}:\n{server.log_tail()}")
            try:
                if requests.get(f"{server.url}/health/ready", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise BugsinkError(f"bugsink not ready after {ready_timeout}s:\n{server.log_tail()}")
            time.sleep(0.2)
        yield server
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if not os.environ.get("OTEL_CLINIC_KEEP_TMP"):
            shutil.rmtree(workdir, ignore_errors=True)

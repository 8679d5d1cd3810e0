"""Real PostgreSQL and Redis servers for tests, from the Debian binaries, on free loopback ports in temp dirs.

Usage::

    with postgres_server() as pg:          # PostgresServer
        pg.dsn, pg.django_database()       # psycopg DSN / a Django DATABASES entry
        pg.stop(); pg.start()              # stop/restart mid-test (same port, same data)

    with redis_server() as rd:             # RedisServer
        rd.url                             # redis://127.0.0.1:PORT/0
        rd.stop(); rd.start()

PostgreSQL refuses to run as root, so when the tests run as root the data directory is handed to the
`postgres` OS user (override with OTEL_CLINIC_PG_OS_USER) and the server is started through `runuser`.
Everything binds to 127.0.0.1 only; `stop()` waits for the process to exit so ports are reusable at once.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"
PG_BIN = Path(os.environ.get("OTEL_CLINIC_PG_BIN", "/usr/lib/postgresql/15/bin"))
REDIS_BIN = os.environ.get("OTEL_CLINIC_REDIS_BIN", shutil.which("redis-server") or "/usr/bin/redis-server")


class ServiceError(RuntimeError):
    """A test server failed to start or stop; the message carries its log tail."""


def free_port() -> int:
    """A currently free TCP port on loopback (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def postgres_available() -> bool:
    return (PG_BIN / "initdb").exists() and (PG_BIN / "pg_ctl").exists()


def redis_available() -> bool:
    return Path(REDIS_BIN).exists()


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((LOOPBACK, port)) == 0


def _tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


class PostgresServer:
    """A throwaway PostgreSQL cluster (initdb) with password auth over TCP on loopback."""

    def __init__(self, *, user: str = "clinic", password: str = "s3cret-pg-pass", database: str = "clinic") -> None:
        self.user = user
        self.password = password
        self.database = database
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="otel-clinic-pg-"))
        self.datadir = self.workdir / "data"
        self.logfile = self.workdir / "postgres.log"
        self._os_user = os.environ.get("OTEL_CLINIC_PG_OS_USER", "postgres") if os.geteuid() == 0 else None
        self._initdb()

    # -- process helpers -------------------------------------------------------------------------
    def _run(self, args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        if self._os_user:
            args = ["runuser", "-u", self._os_user, "--", *args]
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)

    def _initdb(self) -> None:
        pwfile = self.workdir / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self._os_user:
            entry = pwd.getpwnam(self._os_user)
            for path in (self.workdir, pwfile):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self.workdir.chmod(0o700)
        out = self._run(
            [
                str(PG_BIN / "initdb"),
                "-D", str(self.datadir),
                "-U", self.user,
                f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
                "-E", "UTF8",
                "--no-sync",
            ]
        )
        if out.returncode != 0:
            raise ServiceError(f"initdb failed: {out.stdout}\n{out.stderr}")
        self._started_once = False

    def start(self, timeout: float = 30) -> None:
        opts = f"-p {self.port} -k {self.workdir} -c listen_addresses={LOOPBACK} -c fsync=off -c max_connections=50"
        out = self._run(
            [str(PG_BIN / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.logfile), "-o", opts, "-w",
             "-t", str(int(timeout)), "start"],
            timeout=timeout + 10,
        )
        if out.returncode != 0:
            raise ServiceError(f"pg_ctl start failed: {out.stderr}\n{_tail(self.logfile)}")
        if not self._started_once:
            self._started_once = True
            created = self._run(
                [str(PG_BIN / "createdb"), "-h", str(self.workdir), "-p", str(self.port),
                 "-U", self.user, self.database]
            )
            if created.returncode != 0:
                raise ServiceError(f"createdb failed: {created.stderr}")

    def stop(self, mode: str = "fast") -> None:
        out = self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop"])
        if out.returncode != 0 and "Is server running?" not in out.stderr:
            raise ServiceError(f"pg_ctl stop failed: {out.stderr}\n{_tail(self.logfile)}")

    def restart(self) -> None:
        self.stop()
        self.start()

    def is_running(self) -> bool:
        return _port_open(self.port)

    def cleanup(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- connection details ----------------------------------------------------------------------
    @property
    def dsn(self) -> str:
        return f"postgresql://{self.user}:{self.password}@{LOOPBACK}:{self.port}/{self.database}"

    def django_database(self, **options: Any) -> dict[str, Any]:
        """A Django DATABASES entry for this server."""
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": self.database,
            "USER": self.user,
            "PASSWORD": self.password,
            "HOST": LOOPBACK,
            "PORT": str(self.port),
            "OPTIONS": {"connect_timeout": 2, **options},
        }


class RedisServer:
    """A redis-server with persistence off, bound to loopback."""

    def __init__(self) -> None:
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="otel-clinic-redis-"))
        self.logfile = self.workdir / "redis.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def start(self, timeout: float = 15) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        with open(self.logfile, "ab") as log:
            self.proc = subprocess.Popen(
                [REDIS_BIN, "--port", str(self.port), "--bind", LOOPBACK, "--save", "", "--appendonly", "no",
                 "--dir", str(self.workdir)],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServiceError(f"redis-server exited with {self.proc.returncode}:\n{_tail(self.logfile)}")
            if _port_open(self.port):
                return
            time.sleep(0.05)
        raise ServiceError(f"redis-server did not listen on {self.port}:\n{_tail(self.logfile)}")

    def stop(self, timeout: float = 10) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout)

    def restart(self) -> None:
        self.stop()
        self.start()

    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and _port_open(self.port)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


@contextlib.contextmanager
def postgres_server(**kwargs: Any) -> Iterator[PostgresServer]:
    """A started PostgreSQL server, stopped and deleted on exit."""
    server = PostgresServer(**kwargs)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    """A started Redis server, stopped and deleted on exit."""
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()

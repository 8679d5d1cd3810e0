"""The JSON-lines files of the in-process file exporter: private permissions, size/count rotation, many writers.

* **Permissions**: files are 0640 and the directories we create 0750 whatever the umask (telemetry is scrubbed,
  but it still describes patients' visits: not for every local account). A file left wider by an older version
  is narrowed on open. Directories that already existed are left alone (the export dir may be a shared parent).
* **Rotation** (`OTEL_CLINIC_EXPORT_MAX_BYTES`, default 50 MiB, 0 = never; `OTEL_CLINIC_EXPORT_BACKUPS`,
  default 5): when the next batch would take `traces.jsonl` past the limit it becomes `traces.jsonl.1`, the
  older backups shift up to `.N` and the oldest goes; a line is never split across files.
* **Several processes** (gunicorn/uWSGI workers, Celery) share one file per signal. Every batch is appended under
  an exclusive `flock` on a sibling lock file (`.traces.jsonl.lock`, a stable name: the data file itself is
  renamed by rotation), and the data file is re-opened by name under that lock, so the size check, the rotation
  and the append are one step for all processes and nobody keeps writing into a file another has rotated away.
  Without `fcntl` (Windows) only the threads of one process are serialised.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

FILE_MODE = 0o640
DIR_MODE = 0o750
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_BACKUPS = 5
_FLUSH_AT = 1 << 20  # write a pending batch early once this many characters are waiting


@dataclass(frozen=True)
class Rotation:
    """Parsed and validated with every other setting (``otel_clinic.settings``: ConfigError naming the variable)."""

    max_bytes: int = DEFAULT_MAX_BYTES  # 0: never rotate
    backups: int = DEFAULT_BACKUPS  # 0: a full file is started over

    @classmethod
    def from_config(cls, config: Any) -> "Rotation":
        return cls(config.export_max_bytes, config.export_backups)


def ensure_private_dir(path: Path) -> None:
    """Create `path` and its missing parents as 0750 (umask ignored); existing directories are not touched."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, DIR_MODE)
        except FileExistsError:
            continue  # another process made it: its mode is its creator's business (ours: 0750)
        os.chmod(directory, DIR_MODE)


class RotatingJsonLinesFile:
    """A text stream for the SDK console exporters: `write()` collects a batch, `flush()` appends it (the
    exporters call flush at the end of every export). Safe across threads, forks and processes."""

    def __init__(self, path: Path, rotation: Rotation = Rotation()) -> None:
        self.path = Path(path)
        self.rotation = rotation
        self._lock_path = self.path.with_name(f".{self.path.name}.lock")
        self._pending: list[str] = []
        self._pending_chars = 0
        self._lock = threading.Lock()
        self._lock_handle: tuple[int | None, int] = (None, 0)  # (lock file fd, pid that opened it)
        self._checked = False  # the data file's mode was checked (narrowed) in this process

    def write(self, text: str) -> int:
        with self._lock:
            self._pending.append(text)
            self._pending_chars += len(text)
            if self._pending_chars >= _FLUSH_AT:
                self._write_pending()
        return len(text)

    def flush(self) -> None:
        with self._lock:
            self._write_pending()

    def _write_pending(self) -> None:
        if not self._pending:
            return
        data = "".join(self._pending).encode("utf-8")
        self._pending, self._pending_chars = [], 0
        lock_fd = self._lock_fd()
        if fcntl is not None:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
        try:
            self._rotate_if_needed(len(data))
            fd = self._open_data()
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
        finally:
            if fcntl is not None:
                fcntl.flock(lock_fd, fcntl.LOCK_UN)

    def _lock_fd(self) -> int:
        # Kept open between batches, but never across a fork: a flock belongs to the open file description, which
        # a child shares with its parent, so the child opens its own. Re-opened if someone deleted the file.
        fd, pid = self._lock_handle
        if fd is not None and pid == os.getpid():
            try:
                if os.fstat(fd).st_nlink > 0:
                    return fd
            except OSError:
                pass
            os.close(fd)
        ensure_private_dir(self.path.parent)
        fd = _open_private(self._lock_path, os.O_RDWR)
        self._lock_handle = (fd, os.getpid())
        return fd

    def _open_data(self) -> int:
        if self._checked:
            try:
                return os.open(self.path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_CLOEXEC", 0))
            except FileNotFoundError:
                pass  # rotated away (we create the next one) or the directory was removed
        ensure_private_dir(self.path.parent)
        fd = _open_private(self.path, os.O_WRONLY | os.O_APPEND)
        self._checked = True  # a file we created, or narrowed once: later opens need no check
        return fd

    def _rotate_if_needed(self, incoming: int) -> None:
        limit = self.rotation.max_bytes
        if not limit:
            return
        try:
            size = os.stat(self.path).st_size
        except FileNotFoundError:
            return
        if size == 0 or size + incoming <= limit:
            return  # (a single batch larger than the limit still goes whole into an empty file)
        backups = self.rotation.backups
        if backups == 0:
            os.truncate(self.path, 0)
            return
        base = str(self.path)
        for index in range(backups - 1, 0, -1):
            source = f"{base}.{index}"
            if os.path.exists(source):
                os.replace(source, f"{base}.{index + 1}")
        os.replace(base, f"{base}.1")


def _open_private(path: Path, flags: int) -> int:
    """Open, creating as exactly 0640 whatever the umask; an existing file of ours wider than 0640 is narrowed
    (never widened: an operator's 0600 stays)."""
    flags |= getattr(os, "O_CLOEXEC", 0)
    while True:
        try:
            fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, FILE_MODE)
            created = True
        except FileExistsError:
            try:
                fd = os.open(path, flags)
            except FileNotFoundError:
                continue  # rotated away between the two opens: create it
            created = False
        break
    try:
        mode = os.fstat(fd).st_mode & 0o7777
        if created and mode != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
        elif not created and mode & ~FILE_MODE and os.fstat(fd).st_uid == os.geteuid():
            os.fchmod(fd, mode & FILE_MODE)
    except Exception:
        os.close(fd)
        raise
    return fd

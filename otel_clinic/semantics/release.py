"""Release resolution: one order for service.version, deployment.environment.name and Sentry's release.

Order: explicit argument > OTEL_CLINIC_RELEASE / SENTRY_RELEASE > git SHA of the working directory >
installed package version of the app (OTEL_CLINIC_RELEASE_PACKAGE) > "unknown".
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from importlib import metadata
from typing import Mapping


@dataclass(frozen=True)
class ReleaseInfo:
    version: str
    environment: str
    source: str  # where the version came from: argument, env, git, package, unknown


_current: ReleaseInfo | None = None


def _git_sha(cwd: str | None = None) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=cwd or os.getcwd(),
            capture_output=True,
            text=True,
            timeout=2,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and sha else None


def resolve_release(
    explicit: str | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    package: str | None = None,
    cwd: str | None = None,
) -> tuple[str, str]:
    """Return (version, source) following the documented order."""
    env = os.environ if environ is None else environ
    if explicit:
        return explicit, "argument"
    for var in ("OTEL_CLINIC_RELEASE", "SENTRY_RELEASE"):
        if env.get(var, "").strip():
            return env[var].strip(), "env:" + var
    sha = _git_sha(cwd)
    if sha:
        return sha, "git"
    package = package or env.get("OTEL_CLINIC_RELEASE_PACKAGE")
    if package:
        try:
            return metadata.version(package), "package"
        except metadata.PackageNotFoundError:
            pass
    return "unknown", "unknown"


def resolve_environment(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return (
        explicit
        or env.get("OTEL_CLINIC_ENVIRONMENT")
        or env.get("SENTRY_ENVIRONMENT")
        or "development"
    )


def set_current_release(info: ReleaseInfo) -> None:
    global _current
    _current = info


def current_release() -> ReleaseInfo:
    """The release the running process reports (set by setup(); resolved lazily otherwise)."""
    global _current
    if _current is None:
        version, source = resolve_release()
        _current = ReleaseInfo(version=version, environment=resolve_environment(), source=source)
    return _current

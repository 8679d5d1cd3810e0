"""Sentry's release API: creates a release and a deploy for a deployment marker (see ``semantics/deployment``)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class SentryReleaseAPI:
    """Creates a release and a deploy through Sentry's web API (``/api/0/organizations/{org}/releases/``)."""

    def __init__(self, base_url: str, token: str, org: str, project: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.token, self.org, self.project, self.timeout = token, org, project, timeout

    def _post(self, path: str, payload: dict[str, Any]) -> tuple[int, str]:
        request = urllib.request.Request(
            urllib.parse.urljoin(self.base_url, path),
            data=json.dumps(payload).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.read(2048).decode(errors="replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(2048).decode(errors="replace")

    def create_release(self, version: str, changes: str | None = None) -> tuple[int, str]:
        org = urllib.parse.quote(self.org, safe="")
        payload: dict[str, Any] = {"version": version, "projects": [self.project]}
        if changes:
            payload["commits"] = [{"id": version, "message": changes[:1000]}]
        return self._post(f"api/0/organizations/{org}/releases/", payload)

    def create_deploy(self, version: str, environment: str, name: str | None = None) -> tuple[int, str]:
        org = urllib.parse.quote(self.org, safe="")
        ver = urllib.parse.quote(version, safe="")
        payload = {"environment": environment, **({"name": name} if name else {})}
        return self._post(f"api/0/organizations/{org}/releases/{ver}/deploys/", payload)

"""Sentry's release API: creates a release and a deploy for a deployment marker (see ``semantics/deployment``).

The API token travels in an ``Authorization`` header, so ``SENTRY_URL`` must be https (plain http only for a
loopback host: local Bugsink/Sentry and tests), and redirects are not followed (urllib's default opener would
re-send the header to wherever a 3xx points); a redirect is reported like any other failed status.
"""

from __future__ import annotations

import ipaddress
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from otel_clinic.errors import ConfigError

SETTING = "SENTRY_URL"


def validate_sentry_url(url: str, setting: str = SETTING) -> str:
    """Return `url` if it is https, or http to a loopback host; else raise ConfigError naming `setting`."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        raise ConfigError(setting, url, "an https:// URL") from None
    if parts.username or parts.password:
        raise ConfigError(setting, f"{parts.scheme}://***@{host}", "a URL without credentials (the token is "
                          "SENTRY_AUTH_TOKEN)")
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and _is_loopback(host):
        return url
    raise ConfigError(setting, url, "an https:// URL (http:// only for a loopback host such as 127.0.0.1)")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None  # urllib then raises HTTPError(code): the Authorization header goes nowhere else


_opener = urllib.request.build_opener(_RefuseRedirects)


class SentryReleaseAPI:
    """Creates a release and a deploy through Sentry's web API (``/api/0/organizations/{org}/releases/``)."""

    def __init__(self, base_url: str, token: str, org: str, project: str, timeout: float = 10.0) -> None:
        self.base_url = validate_sentry_url(base_url).rstrip("/") + "/"
        self.token, self.org, self.project, self.timeout = token, org, project, timeout

    def _post(self, path: str, payload: dict[str, Any]) -> tuple[int, str]:
        request = urllib.request.Request(
            urllib.parse.urljoin(self.base_url, path),
            data=json.dumps(payload).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with _opener.open(request, timeout=self.timeout) as response:
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

"""Small clients for the Prometheus HTTP API (v1) and the Alertmanager API (v2), on urllib.

Why urllib: the ops commands ship with the runtime package, whose dependencies do not include an HTTP client.
Every failure becomes a `BackendError` whose message names the backend and its URL in one line; the command
layer prints that line and exits 2, so an operator never sees a traceback for a backend that is down.

Credentials: a bearer token from ``OTEL_CLINIC_<BACKEND>_TOKEN_FILE`` (preferred) or ``OTEL_CLINIC_<BACKEND>_TOKEN``
— never from argv, where ``ps`` and shell history would show it.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

DEFAULT_PROMETHEUS_URL = "http://127.0.0.1:9090"
DEFAULT_ALERTMANAGER_URL = "http://127.0.0.1:9093"
DEFAULT_TIMEOUT = 30.0

Params = Mapping[str, Any] | Sequence[tuple[str, Any]]


class BackendError(RuntimeError):
    """A backend could not be reached or refused the request; str() is the one line to print."""


def _token(backend: str) -> str | None:
    """Bearer token for PROMETHEUS / ALERTMANAGER from a file (mounted secret) or the environment."""
    path = os.environ.get(f"OTEL_CLINIC_{backend}_TOKEN_FILE")
    if path:
        try:
            return Path(path).read_text().strip() or None
        except OSError as exc:
            raise BackendError(f"OTEL_CLINIC_{backend}_TOKEN_FILE: cannot read {path}: {exc.strerror}") from None
    return os.environ.get(f"OTEL_CLINIC_{backend}_TOKEN") or None


class _Http:
    """JSON over HTTP against one base URL; `name` is used in error messages (\"Prometheus\")."""

    def __init__(self, name: str, url: str, token: str | None, timeout: float) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise BackendError(f"{name} URL {url!r} is not an http(s) URL")
        self.name = name
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._headers = {"Accept": "application/json", "User-Agent": "otel-clinic-ops"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, params: Params | None = None, body: Any = None) -> Any:
        url = f"{self.url}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        data = None
        headers = dict(self._headers)
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            detail = _error_detail(exc)
            raise BackendError(f"{self.name} at {self.url} answered {exc.code} to {method} {path}: {detail}") from None
        except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise BackendError(f"cannot reach {self.name} at {self.url}: {reason}") from None
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise BackendError(f"{self.name} at {self.url} returned non-JSON for {path}") from None


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        body = exc.read().decode(errors="replace")
        payload = json.loads(body)
        return str(payload.get("error") or payload.get("message") or body)[:300]
    except Exception:  # noqa: BLE001 - the status line is enough when the body is not JSON
        return exc.reason if isinstance(exc.reason, str) else "error"


class Prometheus:
    """The subset of the Prometheus HTTP API the ops commands use."""

    def __init__(self, url: str, *, token: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._http = _Http("Prometheus", url, token, timeout)
        self.url = self._http.url

    def _get(self, path: str, params: Params) -> Any:
        body = self._http.request("GET", path, params)
        if not isinstance(body, dict) or body.get("status") != "success":
            raise BackendError(f"Prometheus at {self.url}: {path} failed: {body}")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """Instant query; vector results as a list of {metric, value}; scalars as one unlabelled sample."""
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        data = self._get("/api/v1/query", params)
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        return list(data["result"])

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        return list(self._get("/api/v1/query_range", params)["result"])

    def label_values(self, label: str, matchers: Sequence[str] = (), start: float | None = None,
                     end: float | None = None) -> list[str]:
        params: list[tuple[str, Any]] = [("match[]", m) for m in matchers]
        if start is not None:
            params.append(("start", f"{start:.3f}"))
        if end is not None:
            params.append(("end", f"{end:.3f}"))
        return list(self._get(f"/api/v1/label/{urllib.parse.quote(label)}/values", params))

    def ping(self) -> None:
        """Raise BackendError unless the query API answers."""
        self.query("1")


class Alertmanager:
    """The subset of the Alertmanager API v2 the ops commands use."""

    def __init__(self, url: str, *, token: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._http = _Http("Alertmanager", url, token, timeout)
        self.url = self._http.url

    def alerts(self, filters: Sequence[str] = (), *, active: bool = True, silenced: bool = True,
               inhibited: bool = True) -> list[dict[str, Any]]:
        params: list[tuple[str, Any]] = [("filter", f) for f in filters]
        params += [("active", str(active).lower()), ("silenced", str(silenced).lower()),
                   ("inhibited", str(inhibited).lower())]
        return list(self._http.request("GET", "/api/v2/alerts", params) or [])

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        self._http.request("POST", "/api/v2/alerts", body=alerts)

    def status(self) -> dict[str, Any]:
        return dict(self._http.request("GET", "/api/v2/status") or {})


def prometheus_from(url: str | None, timeout: float = DEFAULT_TIMEOUT) -> Prometheus:
    """--prometheus-url, else OTEL_CLINIC_PROMETHEUS_URL, else the local default."""
    chosen = url or os.environ.get("OTEL_CLINIC_PROMETHEUS_URL") or DEFAULT_PROMETHEUS_URL
    return Prometheus(chosen, token=_token("PROMETHEUS"), timeout=timeout)


def alertmanager_from(url: str | None, timeout: float = DEFAULT_TIMEOUT) -> Alertmanager:
    """--alertmanager-url, else OTEL_CLINIC_ALERTMANAGER_URL, else the local default."""
    chosen = url or os.environ.get("OTEL_CLINIC_ALERTMANAGER_URL") or DEFAULT_ALERTMANAGER_URL
    return Alertmanager(chosen, token=_token("ALERTMANAGER"), timeout=timeout)

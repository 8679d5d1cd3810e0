"""Who may see operational detail: the health endpoints' full body and the in-process ``/metrics``.

One decision for both, made from the request's WSGI/ASGI ``META``:

1. A matching **token** (``Authorization: Bearer <token>``, or the endpoint's own header) is always enough.
2. **Network trust** (a loopback client for ``/health/``, an allowlisted network for ``/metrics``) applies only
   to a request that did **not** pass through a proxy. ``REMOTE_ADDR`` is the proxy's address when nginx (or any
   reverse proxy) on the same host forwards internet traffic, so every internet client would look "loopback".
   A request carrying any of ``Forwarded``, ``X-Forwarded-For`` or ``X-Real-IP`` is treated as proxied and gets
   no network trust, whatever ``REMOTE_ADDR`` says (we never believe the address *in* those headers either:
   they are client-controlled unless a trusted proxy rewrote them).

Defaults are token-only: ``/health/`` shows details only with ``OTEL_CLINIC_HEALTH_TOKEN`` (loopback trust is
opt-in with ``allow_loopback``); ``/metrics`` answers 403 unless ``OTEL_CLINIC_METRICS_TOKEN`` or
``OTEL_CLINIC_METRICS_ALLOWED_NETWORKS`` (comma-separated CIDRs, e.g. ``127.0.0.1/32,10.0.0.0/8``) allow it.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Iterable, Mapping
from typing import Any

from otel_clinic.errors import ConfigError

PROXY_HEADERS = ("HTTP_FORWARDED", "HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP")
METRICS_TOKEN_ENV = "OTEL_CLINIC_METRICS_TOKEN"
METRICS_NETWORKS_ENV = "OTEL_CLINIC_METRICS_ALLOWED_NETWORKS"


def is_proxied(meta: Mapping[str, Any]) -> bool:
    """True when any proxy header is present (even empty: a proxy that clears it still marks the hop)."""
    return any(name in meta for name in PROXY_HEADERS)


def supplied_token(meta: Mapping[str, Any], header: str | None = None) -> str | None:
    auth = str(meta.get("HTTP_AUTHORIZATION", "") or "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    if header:
        value = meta.get(header)
        return str(value) if value else None
    return None


def token_matches(meta: Mapping[str, Any], token: str | None, header: str | None = None) -> bool:
    supplied = supplied_token(meta, header)
    return bool(token and supplied and hmac.compare_digest(supplied.encode(), token.encode()))


def _client(meta: Mapping[str, Any]) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(str(meta.get("REMOTE_ADDR", "") or "").split("%", 1)[0])
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 on a dual-stack socket
    return mapped if mapped is not None else address


def direct_client_in(meta: Mapping[str, Any], networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    """The unproxied client address lies in one of ``networks``."""
    if is_proxied(meta):
        return False
    client = _client(meta)
    return client is not None and any(client.version == net.version and client in net for net in networks)


def direct_loopback(meta: Mapping[str, Any]) -> bool:
    if is_proxied(meta):
        return False
    client = _client(meta)
    return client is not None and client.is_loopback


def allowed(
    meta: Mapping[str, Any],
    *,
    token: str | None,
    token_header: str | None = None,
    allow_loopback: bool = False,
    networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network] = (),
) -> bool:
    """The one access decision (see the module docstring)."""
    if token_matches(meta, token, token_header):
        return True
    if allow_loopback and direct_loopback(meta):
        return True
    return direct_client_in(meta, networks)


def parse_networks(setting: str, raw: str | Iterable[str] | None) -> tuple:
    """Comma-separated CIDRs (or a list of them); a bad entry raises ConfigError naming the setting."""
    if raw is None:
        return ()
    items = [p.strip() for p in raw.split(",")] if isinstance(raw, str) else [str(p).strip() for p in raw]
    networks = []
    for item in items:
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(setting, item, "comma-separated IP networks, e.g. 127.0.0.1/32,10.0.0.0/8") from None
    return tuple(networks)


def metrics_access_allowed(meta: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> bool:
    """Access to the in-process ``/metrics`` view: ``OTEL_CLINIC_METRICS_TOKEN`` (Bearer or ``X-Metrics-Token``)
    or an unproxied client in ``OTEL_CLINIC_METRICS_ALLOWED_NETWORKS``. Nothing configured: nobody.

    Settings are read per call (cheap; a scrape every few seconds) so tests and reloads see changes. A bad network
    list raises ConfigError naming the variable (``setup()`` validates it first through the config).
    """
    env = os.environ if environ is None else environ
    return allowed(
        meta,
        token=env.get(METRICS_TOKEN_ENV) or None,
        token_header="HTTP_X_METRICS_TOKEN",
        networks=parse_networks(METRICS_NETWORKS_ENV, env.get(METRICS_NETWORKS_ENV)),
    )


def metrics_forbidden_response():
    """The response the ``/metrics`` view returns when :func:`metrics_access_allowed` says no."""
    from django.http import HttpResponse

    return HttpResponse(
        f"forbidden: set {METRICS_TOKEN_ENV} (send it as Authorization: Bearer) or {METRICS_NETWORKS_ENV}\n",
        status=403, content_type="text/plain",
    )

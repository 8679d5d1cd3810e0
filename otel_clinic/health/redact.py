"""Keep secrets out of health messages: credentials in URLs/DSNs and password-like key=value pairs."""

from __future__ import annotations

import re

_MAX_LEN = 300

# scheme://user:password@host  and  scheme://:password@host  -> scheme://***@host
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://)[^/\s@]*@")
# password=..., pwd: ..., token=..., secret=... (libpq conninfo, exception reprs)
_KEY_VALUE = re.compile(
    r"(?P<key>\b(?:password|passwd|pwd|pass|token|secret|api[_-]?key)\b\s*[=:]\s*)(?P<q>['\"]?)[^\s'\",;&]*(?P=q)",
    re.IGNORECASE,
)


def redact(message: str, secrets: tuple[str, ...] = ()) -> str:
    """Strip credentials from a message and bound its length.

    `secrets` are literal values known to the caller (e.g. the configured password), removed wherever they
    appear, since a driver may echo them in forms no pattern anticipates.
    """
    text = str(message)
    for secret in secrets:
        if secret and len(secret) >= 3:
            text = text.replace(secret, "***")
    text = _URL_USERINFO.sub(r"\g<scheme>***@", text)
    text = _KEY_VALUE.sub(r"\g<key>***", text)
    text = " ".join(text.split())  # one line: drivers put hints on later lines
    if len(text) > _MAX_LEN:
        text = text[: _MAX_LEN - 1] + "…"
    return text


def safe_url(url: str) -> str:
    """A URL fit for a message: credentials removed."""
    return _URL_USERINFO.sub(r"\g<scheme>***@", url)

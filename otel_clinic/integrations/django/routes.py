"""Readable, bounded route templates from Django's resolver match.

``path()`` routes are kept as Django writes them (``api/patients/<int:pk>/``). Regex routes (``re_path``, DRF's
routers) become templates: ``^api/v1/patient/(?P<external_id>[^/.]+)/$`` → ``api/v1/patient/{external_id}/``;
DRF's format-suffix variants (``\\.(?P<format>[a-z0-9]+)/?$``) fold into the template of the router's default
trailing-slash route (with ``trailing_slash=False`` they keep a trailing ``/`` the base route does not have); unnamed groups
become ``{}``. The template is built from the pattern, never from the matched value, so cardinality stays that
of the URLconf. The root route ``''`` is ``/`` (an unmatched request has no route at all). Importing this module
does not import Django.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

ROOT = "/"
_REGEX_MARKERS = frozenset("^$\\()[]?*+|{}")
_FORMAT_SUFFIX = re.compile(r"\\?\.\(\?P<format>[^)]*\)/?\??")
_ESCAPED = re.compile(r"\\(.)")


def route_template(match: Any) -> str | None:
    """The template of a ``ResolverMatch`` (None when nothing matched)."""
    if match is None:
        return None
    route = getattr(match, "route", None)
    if route is None:
        return None
    return normalise_route(str(route))


@lru_cache(maxsize=2048)
def normalise_route(route: str) -> str:
    if not route:
        return ROOT
    if not any(c in _REGEX_MARKERS for c in route):
        return route
    try:
        text, suffixes = _FORMAT_SUFFIX.subn("", route)
        out: list[str] = []
        i, n = 0, len(text)
        while i < n:
            c = text[i]
            if c == "\\" and i + 1 < n:
                nxt = text[i + 1]
                out.append(nxt if not nxt.isalnum() else "{}")  # \d, \w ... outside a group: a value
                i += 2
            elif c == "(":
                end = _group_end(text, i)
                group = text[i:end + 1]
                named = re.match(r"\(\?P<(\w+)>", group)
                if named:
                    out.append("{" + named.group(1) + "}")
                elif group.startswith("(?:") or group.startswith("(?="):
                    out.append(_literal_or_value(group[3:-1]))
                else:
                    out.append("{}")
                i = end + 1
                # a quantifier after a group belongs to it
                while i < n and text[i] in "?*+":
                    i += 1
            elif c in "^$":
                i += 1
            elif c in "?*+" and out:
                # optional/repeated previous character: keep it once (``/?`` → ``/``)
                i += 1
            elif c == "[":
                end = text.find("]", i + 1)
                out.append("{}")
                i = (end + 1) if end != -1 else n
                while i < n and text[i] in "?*+":
                    i += 1
            elif c == "{":
                end = text.find("}", i)
                i = (end + 1) if end != -1 else n  # a repeat count
            elif c == "|":
                return "{}"  # alternation at top level: not a readable template
            elif c == ".":
                out.append("{}")
                i += 1
            else:
                out.append(c)
                i += 1
        result = "".join(out)
        result = re.sub(r"(\{\})+", "{}", result)
        if suffixes and result and not result.endswith("/"):
            # DRF's format-suffix variant of a trailing-slash route (the router default): fold it into that route
            result += "/"
        return result or ROOT
    except Exception:
        return "{}"


def _group_end(text: str, start: int) -> int:
    depth, i = 0, start
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            close = text.find("]", i + 1)
            i = (close + 1) if close != -1 else len(text)
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return len(text) - 1


def _literal_or_value(body: str) -> str:
    """A non-capturing group: its text when it is a plain literal, else a value placeholder."""
    plain = _ESCAPED.sub(r"\1", body)
    if body and not any(c in _REGEX_MARKERS | {"."} for c in _ESCAPED.sub("", body)):
        return plain
    return "{}"

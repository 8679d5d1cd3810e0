"""Red-team harness: drive the example clinic and the public API with PHI, read back every in-process sink.

One module-scoped capture (``drive``) runs every attack once and returns the text each sink would ship, so the
tests are plain "canary not in sink" assertions. Each attack uses its own canary, so a leak points at its door.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest


@dataclass
class Sinks:
    """What each in-process sink would export, as searchable text."""

    spans: str = ""
    logs: str = ""
    metrics: str = ""
    prometheus: str = ""
    sentry: str = ""
    stdout: str = ""
    raw: dict = field(default_factory=dict)

    NAMES = ("spans", "logs", "metrics", "prometheus", "sentry", "stdout")

    def leaking(self, canary: str) -> list[str]:
        forms = {canary, json.dumps(canary)[1:-1]}  # JSON writers may escape non-ASCII letters
        return [name for name in self.NAMES if any(form in getattr(self, name) for form in forms)]


def dump_spans(spans) -> str:
    return json.dumps(
        [
            {
                "name": s.name,
                "attributes": dict(s.attributes or {}),
                "events": [(e.name, dict(e.attributes or {})) for e in s.events],
                "links": [dict(link.attributes or {}) for link in s.links],
                "status": s.status.description,
            }
            for s in spans
        ],
        default=str,
        ensure_ascii=False,
    )


def dump_logs(logs) -> str:
    return json.dumps(
        [(str(r.log_record.body), dict(r.log_record.attributes or {})) for r in logs], default=str, ensure_ascii=False
    )


def assert_no_leak(sinks: Sinks, canary: str, only: tuple[str, ...] = Sinks.NAMES) -> None:
    leaked = [name for name in sinks.leaking(canary) if name in only]
    if leaked:
        text = getattr(sinks, leaked[0])
        at = max(text.find(canary), text.find(json.dumps(canary)[1:-1]))
        raise AssertionError(f"{canary!r} reached {leaked}: ...{text[max(0, at - 160):at + 60]}...")


@pytest.fixture(scope="module")
def sinks(request) -> Sinks:
    drive = getattr(request.module, "drive")
    return drive()

"""A sentry-sdk transport that keeps envelopes in memory, for tests that read real Sentry events."""

from __future__ import annotations

from sentry_sdk.transport import Transport


class CapturingTransport(Transport):
    def __init__(self, options=None) -> None:
        super().__init__(options)
        self.payloads: list[dict] = []

    def capture_envelope(self, envelope) -> None:
        for item in envelope.items:
            if item.type in ("event", "transaction"):
                self.payloads.append(item.payload.json)

    def events(self) -> list[dict]:
        return [p for p in self.payloads if p.get("type", "event") == "event"]

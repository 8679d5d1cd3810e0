"""Exceptions raised by otel_clinic's public API."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value is invalid.

    The message always names the setting (environment variable or keyword), the bad value
    and what is allowed, so an operator can fix it without reading our source.
    """

    def __init__(self, setting: str, value: object, allowed: str) -> None:
        self.setting = setting
        self.value = value
        self.allowed = allowed
        super().__init__(f"{setting}={value!r} is invalid: expected {allowed}")

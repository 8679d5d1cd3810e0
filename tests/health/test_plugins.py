"""The check plugin registry: built-ins register their own factories, settings select them by name, and one
rule decides criticality (issue 12, Structure -> Health)."""

from __future__ import annotations

import pytest

from otel_clinic.errors import ConfigError
from otel_clinic.health import HealthCheck, Status, health_check
from otel_clinic.health.config import BUILTIN_CHECKS, DEFAULT_CRITICAL, HealthSettings
from otel_clinic.health.plugins import CheckPlugin, PluginRegistry, plugins
from otel_clinic.health.state import configure


def test_every_builtin_registers_itself_in_report_order_with_its_default_criticality() -> None:
    # BUILTIN_CHECKS (documented defaults) lists exactly the built-ins that register themselves.
    assert plugins.names() == list(BUILTIN_CHECKS)
    assert plugins.default_critical() == frozenset(DEFAULT_CRITICAL)


class _Probe(HealthCheck):
    def __init__(self, name: str) -> None:
        self.name = name

    def run(self) -> Status:
        return Status.OK


def _registry() -> PluginRegistry:
    registry = PluginRegistry()
    registry.register(CheckPlugin("search", lambda s, dj: [_Probe("search"), _Probe("search.replica")],
                                  critical=True))
    registry.register(CheckPlugin("ldap", lambda s, dj: [_Probe("ldap")], requires="ldap_url",
                                  available=lambda s, dj: getattr(dj, "LDAP_URL", None) is not None))
    return registry


def test_a_plugin_is_selected_by_name_and_stamps_its_criticality() -> None:
    built = _registry().build(HealthSettings(checks=("search",)))
    assert built.names() == ["search", "search.replica"]
    assert all(check.critical for check in built.checks())


def test_unavailable_plugins_are_skipped_by_default_and_an_error_when_named() -> None:
    assert _registry().build(HealthSettings()).names() == ["search", "search.replica"]  # ldap not configured
    with pytest.raises(ConfigError) as info:
        _registry().build(HealthSettings(checks=("ldap",)))
    assert info.value.setting == "OTEL_CLINIC_HEALTH['checks']" and "ldap_url" in str(info.value)


def test_naming_an_unregistered_plugin_lists_the_registered_ones() -> None:
    with pytest.raises(ConfigError) as info:
        _registry().build(HealthSettings(checks=("kafka",)))
    assert "search" in str(info.value) and "ldap" in str(info.value)


def test_a_name_registers_once_unless_replaced() -> None:
    registry = _registry()
    with pytest.raises(ConfigError):
        registry.register(CheckPlugin("search", lambda s, dj: []))
    registry.register(CheckPlugin("search", lambda s, dj: [_Probe("other")]), replace=True)
    assert registry.build(HealthSettings(checks=("search",))).names() == ["other"]


def test_an_explicit_critical_list_decides_for_every_check_including_extra_redis_servers() -> None:
    @health_check(name="pharmacy_api", critical=True)
    def pharmacy() -> bool:
        return True

    runner = configure({"redis_urls": {"sessions": "redis://127.0.0.1:1/0"}, "critical": ["redis"]},
                       environ={}, use_django=False)
    critical = {c.name: runner.is_critical(c) for c in runner.registry.checks()}
    # A listed "redis" covers "redis.sessions"; the custom check's own flag yields to the explicit list.
    assert critical["redis.sessions"] is True
    assert critical["pharmacy_api"] is False and critical["disk"] is False


def test_without_a_list_builtins_keep_their_plugin_default_and_custom_checks_their_own_flag() -> None:
    @health_check(name="billing_api", critical=False)
    def billing() -> bool:
        return True

    runner = configure({"redis_urls": {"sessions": "redis://127.0.0.1:1/0"}}, environ={}, use_django=False)
    critical = {c.name: runner.is_critical(c) for c in runner.registry.checks()}
    assert critical["redis.sessions"] is True and critical["disk"] is False and critical["billing_api"] is False


def test_a_third_party_plugin_can_be_selected_by_name_in_settings() -> None:
    # `checks` is validated against the registry, not a fixed list of built-ins.
    from otel_clinic.health.plugins import check_plugin

    with pytest.raises(ConfigError, match="checks"):
        HealthSettings.load({"checks": ["pharmacy_feed"]}, environ={})

    @check_plugin("pharmacy_feed")
    def _pharmacy(settings, django_settings):  # type: ignore[no-untyped-def]
        return [_Probe("pharmacy_feed")]

    try:
        settings = HealthSettings.load({"checks": ["database", "pharmacy_feed"]}, environ={})
        assert settings.checks == ("database", "pharmacy_feed")
    finally:
        plugins._plugins.pop("pharmacy_feed", None)

"""The check plugin registry (django-health-check's `plugin_dir` model).

Every kind of check registers one factory here under the name settings select it by (`OTEL_CLINIC_HEALTH
['checks']`); the built-ins do it at the bottom of their own module in `health/checks/`. A plugin says what it
needs (`available`, and `requires` for the error when it is selected without it) and how critical its checks
are by default. `build()` turns settings into the checks of one runner; nothing else knows the list of kinds.

Criticality has one rule, applied by `HealthRunner.is_critical`: an explicit `critical` list in the settings
decides for every check (a listed `redis` covers `redis.<name>`); otherwise each check's own flag counts, which
for built-ins is the plugin's `critical` stamped here and for custom checks the one given to `@health_check`.

Third-party kinds register the same way::

    @check_plugin("search", critical=False, requires="OPENSEARCH_URL",
                  available=lambda settings, dj: bool(getattr(dj, "OPENSEARCH_URL", None)))
    def search_checks(settings, django_settings):
        return [OpenSearchCheck(django_settings.OPENSEARCH_URL, timeout=settings.timeout)]
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from otel_clinic.errors import ConfigError
from otel_clinic.health.checks.base import HealthCheck
from otel_clinic.health.registry import HealthRegistry

if TYPE_CHECKING:
    from otel_clinic.health.config import HealthSettings

SETTING = "OTEL_CLINIC_HEALTH"  # same as health.config.SETTING (not imported: config imports nothing of ours)

Factory = Callable[["HealthSettings", Any], Iterable[HealthCheck]]
Availability = Callable[["HealthSettings", Any], bool]


def _always(settings: "HealthSettings", django_settings: Any) -> bool:
    return True


@dataclass(frozen=True)
class CheckPlugin:
    """One kind of check: `factory(settings, django_settings)` builds its checks (one or several)."""

    name: str
    factory: Factory
    critical: bool = False  # default criticality of the checks it builds
    available: Availability = _always  # configured (and its library importable) in this process
    requires: str = ""  # what is missing when selected but not available (named in the ConfigError)


class PluginRegistry:
    """Ordered, thread-safe plugins keyed by name (registration order is report order)."""

    def __init__(self) -> None:
        self._plugins: dict[str, CheckPlugin] = {}
        self._lock = threading.Lock()

    def register(self, plugin: CheckPlugin, *, replace: bool = False) -> CheckPlugin:
        with self._lock:
            if plugin.name in self._plugins and not replace:
                raise ConfigError("health check plugin", plugin.name, "a name not already registered")
            self._plugins[plugin.name] = plugin
        return plugin

    def names(self) -> list[str]:
        _load_builtins()
        with self._lock:
            return list(self._plugins)

    def get(self, name: str) -> CheckPlugin | None:
        _load_builtins()
        with self._lock:
            return self._plugins.get(name)

    def plugins(self) -> list[CheckPlugin]:
        _load_builtins()
        with self._lock:
            return list(self._plugins.values())

    def default_critical(self) -> frozenset[str]:
        """Names of the plugins whose checks are critical unless the settings list `critical` themselves."""
        return frozenset(p.name for p in self.plugins() if p.critical)

    def build(self, settings: "HealthSettings", django_settings: Any | None = None) -> HealthRegistry:
        """The checks `settings` enable: those named in `checks`, or every available plugin's when it is unset.

        Naming an unknown plugin, or one whose configuration is missing, raises ConfigError.
        """
        selected = settings.checks
        plugins = self.plugins()
        known = [p.name for p in plugins]
        for name in selected or ():
            if name not in known:
                raise ConfigError(f"{SETTING}['checks']", name, "registered checks " + ", ".join(known))
        registry = HealthRegistry()
        for plugin in plugins:
            if selected is not None and plugin.name not in selected:
                continue
            if not plugin.available(settings, django_settings):
                if selected is None:
                    continue  # not configured here: silently off by default
                raise ConfigError(f"{SETTING}['checks']", plugin.name,
                                  f"checks whose configuration is present ({plugin.requires} missing)")
            for check in plugin.factory(settings, django_settings):
                check.critical = plugin.critical
                registry.register(check)
        return registry


plugins = PluginRegistry()


def check_plugin(
    name: str, *, critical: bool = False, available: Availability = _always, requires: str = "",
    replace: bool = False,
) -> Callable[[Factory], Factory]:
    """Decorator registering a check factory under `name` in the process-wide plugin registry."""

    def decorate(factory: Factory) -> Factory:
        plugins.register(CheckPlugin(name, factory, critical, available, requires), replace=replace)
        return factory

    return decorate


_loaded = False


def _load_builtins() -> None:
    # The built-ins register on import of their modules; importing the package loads them in report order.
    global _loaded
    if not _loaded:
        _loaded = True
        importlib.import_module("otel_clinic.health.checks")

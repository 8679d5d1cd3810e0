"""Settings parsing (dict + env overrides), ConfigError naming the setting, and message redaction."""

from __future__ import annotations

import pytest

from otel_clinic.errors import ConfigError
from otel_clinic.health.config import HealthSettings
from otel_clinic.health.redact import redact
from otel_clinic.health.state import build_registry, configure


def test_env_overrides_the_settings_dict() -> None:
    s = HealthSettings.load(
        {"timeout": 5, "redis_url": "redis://a:6379/0", "disk_paths": ["/data"]},
        {"OTEL_CLINIC_HEALTH_TIMEOUT": "0.75", "OTEL_CLINIC_HEALTH_REDIS_URL": "redis://b:6380/1",
         "OTEL_CLINIC_HEALTH_DISK_PATHS": "/, /tmp", "OTEL_CLINIC_HEALTH_TOKEN": "tok",
         "OTEL_CLINIC_HEALTH_ALLOW_LOOPBACK": "false"},
    )
    assert s.timeout == 0.75
    assert s.redis_url == "redis://b:6380/1"
    assert s.disk_paths == ("/", "/tmp")
    assert s.token == "tok" and s.allow_loopback is False


@pytest.mark.parametrize(
    ("options", "env", "setting"),
    [
        ({"timeout": 0}, {}, "OTEL_CLINIC_HEALTH['timeout']"),
        ({}, {"OTEL_CLINIC_HEALTH_TIMEOUT": "soon"}, "OTEL_CLINIC_HEALTH_TIMEOUT"),
        ({"cache_interval": -1}, {}, "OTEL_CLINIC_HEALTH['cache_interval']"),
        ({"disk_warning": 120}, {}, "OTEL_CLINIC_HEALTH['disk_warning']"),
        ({"memory_warning": 95, "memory_critical": 90}, {}, "OTEL_CLINIC_HEALTH['memory_warning']"),
        ({"checks": ["database", "kafka"]}, {}, "OTEL_CLINIC_HEALTH['checks']"),
        ({"redis_url": "http://x"}, {}, "OTEL_CLINIC_HEALTH['redis_url']"),
        ({"disk_paths": "/"}, {}, "OTEL_CLINIC_HEALTH['disk_paths']"),
        ({"allow_loopback": "maybe"}, {}, "OTEL_CLINIC_HEALTH['allow_loopback']"),
        ({"timout": 1}, {}, "OTEL_CLINIC_HEALTH"),
    ],
)
def test_bad_values_raise_config_error_naming_the_setting(options: dict, env: dict, setting: str) -> None:
    with pytest.raises(ConfigError) as info:
        HealthSettings.load(options, env)
    assert info.value.setting == setting


def test_enabling_a_check_without_its_configuration_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        configure({"checks": ["redis"]}, environ={}, use_django=False)
    assert "redis_url" in info.value.allowed


def test_default_registry_enables_what_is_configured() -> None:
    s = HealthSettings.load({"redis_url": "redis://127.0.0.1:1/0", "tls_hosts": ["example.test:8443"]}, {})
    registry = build_registry(s, None)
    assert registry.names() == ["redis", "disk", "memory", "tls_certificate"]
    assert registry.get("redis").critical is True  # type: ignore[union-attr]
    assert registry.get("disk").critical is False  # type: ignore[union-attr]


def test_redis_url_with_password_in_a_config_error_is_masked() -> None:
    with pytest.raises(ConfigError) as info:
        HealthSettings.load({"redis_url": "http://user:pw-123456@h/0"}, {})
    assert "pw-123456" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("connect failed: redis://:sup3rsecret@10.0.0.1:6379/0", "sup3rsecret"),
        ("FATAL: password authentication failed; dsn host=db user=u password=sup3rsecret", "sup3rsecret"),
        ("amqp://guest:sup3rsecret@rabbit//", "sup3rsecret"),
        ("token: 'sup3rsecret' rejected", "sup3rsecret"),
    ],
)
def test_redact_strips_credentials(text: str, secret: str) -> None:
    assert secret not in redact(text)


def test_redact_removes_known_literal_secrets_and_bounds_length() -> None:
    message = redact("server said: bad login for Xy7-literal\n" + "x" * 1000, secrets=("Xy7-literal",))
    assert "Xy7-literal" not in message
    assert "\n" not in message and len(message) <= 300

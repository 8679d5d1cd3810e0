import pytest

from otel_clinic import ConfigError
from otel_clinic.config import DEFAULT_EXCLUDED_PATHS, SeverityThresholds, load_config


def test_defaults_use_embedded_file_exporters_without_endpoint():
    config = load_config({}, {"OTEL_CLINIC_RELEASE": "1.0"})
    assert config.traces_exporters == ("file",)
    assert config.metrics_exporters == ("file",)
    assert config.service_name == "clinic-api" and config.service_namespace == "clinic"
    assert config.severity == SeverityThresholds(100, 500, 2000)
    assert config.excluded_paths == DEFAULT_EXCLUDED_PATHS
    assert config.release == "1.0" and config.release_source == "env:OTEL_CLINIC_RELEASE"


def test_endpoint_switches_default_exporters_to_otlp():
    config = load_config({}, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert config.traces_exporters == config.metrics_exporters == config.logs_exporters == ("otlp",)
    # a signal-specific endpoint counts too
    assert load_config({}, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://x:4318/v1/traces"}).traces_exporters == ("otlp",)


def test_keyword_overrides_win_over_environment():
    env = {"OTEL_SERVICE_NAME": "from-env", "OTEL_CLINIC_SEVERITY_THRESHOLDS": "10,20,30"}
    config = load_config({"service_name": "from-kw", "severity": (1, 2, 3)}, env)
    assert config.service_name == "from-kw"
    assert config.severity == SeverityThresholds(1, 2, 3)
    assert load_config({}, env).severity == SeverityThresholds(10, 20, 30)


@pytest.mark.parametrize(
    "var,value,allowed",
    [
        ("OTEL_TRACES_EXPORTER", "zipkin", "otlp, console, file, none"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", "grpc, http/protobuf"),
        ("OTEL_TRACES_SAMPLER", "sometimes", "traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "1.5", "<= 1.0"),
        ("OTEL_CLINIC_SEVERITY_THRESHOLDS", "500,100,2000", "increasing"),
        ("OTEL_CLINIC_PROMETHEUS_PORT", "99999", "0-65535"),
        ("OTEL_CLINIC_SCRUB", "maybe", "true/false"),
        ("OTEL_CLINIC_EXCLUDED_PATHS", "health", "starting with '/'"),
        ("OTEL_CLINIC_ROUTE_THRESHOLDS", "api/reports/", "route=slow,warning,critical"),
        ("OTEL_CLINIC_LOG_LEVEL", "LOUD", "DEBUG"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "-1", "integer >= 1"),
    ],
)
def test_bad_values_raise_config_error_naming_variable_value_and_choices(var, value, allowed):
    with pytest.raises(ConfigError) as info:
        load_config({}, {var: value})
    message = str(info.value)
    assert var in message and repr(value) in message and allowed in message
    assert info.value.setting == var


@pytest.mark.parametrize(
    "kwargs,named",
    [
        ({"traces_exporters": ("bogus",)}, "setup(traces_exporters=...)"),
        ({"traces_exporters": ["otlp", 3]}, "setup(traces_exporters=...)"),
        ({"service_name": None}, "setup(service_name=...)"),
        ({"sampler": None}, "setup(sampler=...)"),
        ({"excluded_paths": 5}, "setup(excluded_paths=...)"),
        ({"otlp_endpoint": "collector:4317"}, "setup(otlp_endpoint=...)"),
        ({"slow_query_ms": float("inf")}, "setup(slow_query_ms=...)"),
        ({"severity": "100,500,inf"}, "setup(severity=...)"),
        ({"release": "   "}, "setup(release=...)"),
    ],
)
def test_bad_keyword_values_are_config_errors(kwargs, named):
    with pytest.raises(ConfigError) as info:
        load_config(kwargs, {})
    assert info.value.setting == named


def test_endpoint_variable_must_be_a_url():
    with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_ENDPOINT"):
        load_config({}, {"OTEL_EXPORTER_OTLP_ENDPOINT": "not a url"})


def test_unknown_keyword_is_a_config_error():
    with pytest.raises(ConfigError, match="servce_name"):
        load_config({"servce_name": "x"}, {})


def test_bad_keyword_value_names_the_keyword():
    with pytest.raises(ConfigError, match=r"setup\(otlp_protocol=...\)"):
        load_config({"otlp_protocol": "carrier-pigeon"}, {})


def test_route_thresholds_parse():
    config = load_config({}, {"OTEL_CLINIC_ROUTE_THRESHOLDS": "api/reports/=1000,5000,10000; api/slow/=50,60,70"})
    assert config.route_severity["api/reports/"] == SeverityThresholds(1000, 5000, 10000)
    assert config.route_severity["api/slow/"].critical_ms == 70


def test_config_is_frozen():
    config = load_config({}, {})
    with pytest.raises(Exception):
        config.service_name = "x"  # type: ignore[misc]

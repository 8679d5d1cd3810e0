"""The parameter table (otel_clinic.settings) is the single source: every variable the package reads is a row,
the README table and `otel-clinic doctor` come from it, setup()'s keywords and option groups match it, and the
typed option groups reach the pipeline (False turns a group off)."""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
from pathlib import Path

import pytest

import otel_clinic
from otel_clinic import ConfigError, HealthOptions, PrometheusOptions, ScrubbingOptions, SentryOptions, settings, testing
from otel_clinic.config import ClinicConfig, load_config
from otel_clinic.health.config import HealthSettings, set_setup_options
from otel_clinic.options import CODE_ONLY
from otel_clinic.settingsdoc import README, render_readme

PACKAGE = Path(otel_clinic.__file__).parent
# Names that look like variables but are not environment settings.
NOT_VARIABLES = {"OTEL_CLINIC_HEALTH"}  # the Django settings dict (its keys are the OTEL_CLINIC_HEALTH_* rows)


def test_readme_settings_table_is_generated_from_the_table() -> None:
    readme = README.read_text()
    assert readme == render_readme(readme), "README settings table is stale: python -m otel_clinic.settingsdoc --write-readme"
    # the default export directory is in both (issue 12 rough edge)
    row = next(line for line in readme.splitlines() if line.startswith("| `OTEL_CLINIC_EXPORT_DIR`"))
    assert "`telemetry`" in row and settings.param("OTEL_CLINIC_EXPORT_DIR").default == "telemetry"


def test_every_variable_the_package_reads_is_a_row_of_the_table() -> None:
    known = {row.env for row in settings.PARAMS} | {f for row in settings.PARAMS for f in row.fallbacks}
    missing: dict[str, str] = {}
    for path in PACKAGE.rglob("*.py"):
        for name in re.findall(r"\b(?:OTEL_CLINIC_[A-Z0-9_]*|SENTRY_[A-Z][A-Z0-9_]*)", path.read_text()):
            if name.endswith("_"):  # a prefix (OTEL_CLINIC_HEALTH_<KEY>, f"OTEL_CLINIC_{backend}_TOKEN"): rows exist
                assert any(env.startswith(name) for env in known), (name, path)
            elif name not in known and name not in NOT_VARIABLES:
                missing[name] = str(path.relative_to(PACKAGE))
    assert not missing, f"variables read but not in otel_clinic/settings.py: {missing}"


def test_table_defaults_are_the_dataclass_defaults() -> None:
    config_defaults = {f.name: (f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default)
                       for f in dataclasses.fields(ClinicConfig)}
    health_defaults = {f.name: f.default for f in dataclasses.fields(HealthSettings)}
    for row in settings.PARAMS:
        if row.field:
            assert config_defaults[row.field] == row.default, row.env
        elif row.read_by == "otel_clinic.health.config":
            assert health_defaults[row.keyword.partition(".")[2]] == row.default, row.env
    # every ClinicConfig field but the resolved release is a row
    assert set(config_defaults) - {row.field for row in settings.PARAMS} == {"release", "release_source"}


def test_setup_keywords_and_option_groups_match_the_table() -> None:
    params = inspect.signature(otel_clinic.setup).parameters
    keyword_only = {name for name, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    flat = {row.keyword for row in settings.PARAMS if row.keyword and "." not in row.keyword}
    groups = {
        "scrubbing": ScrubbingOptions, "sentry": SentryOptions, "health": HealthOptions, "prometheus": PrometheusOptions,
    }
    code_only = {"extra_span_exporters", "extra_log_exporters", "extra_metric_readers", "log_stream"}
    assert keyword_only == flat | set(groups) | code_only
    assert all(p.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params.values())
    for group, options in groups.items():
        fields = {f.name for f in dataclasses.fields(options)} - set(CODE_ONLY.get(group, ()))
        rows = {row.keyword.partition(".")[2] for row in settings.PARAMS if row.group_keyword == group}
        assert fields - {"enabled"} == rows - {"enabled"}, group  # "enabled" may also be set by group=False
    assert otel_clinic.setup.__doc__ and "scrubbing" in otel_clinic.setup.__doc__


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        ({"prometheus.port": 99999}, "setup(prometheus.port=...)"),
        ({"sentry.traces_sample_rate": 2}, "setup(sentry.traces_sample_rate=...)"),
        ({"scrubbing.enabled": "maybe"}, "setup(scrubbing.enabled=...)"),
        ({"prometheus.nope": 1}, "setup(prometheus.nope=...)"),
    ],
)
def test_group_keywords_are_named_in_errors(overrides: dict, setting: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(overrides, {})
    assert info.value.setting == setting


def test_pre_group_flat_spellings_still_work() -> None:
    config = load_config({"prometheus_port": 9464, "sentry_dsn": "http://k@127.0.0.1:9/1", "scrub_enabled": False}, {})
    assert config.prometheus_enabled and config.prometheus_port == 9464
    assert config.sentry_dsn == "http://k@127.0.0.1:9/1" and config.scrub_enabled is False


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch):
    for row in settings.PARAMS:
        for var in (row.env, *row.fallbacks):
            monkeypatch.delenv(var, raising=False)
    yield monkeypatch
    set_setup_options({})


def test_false_turns_each_group_off_over_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("SENTRY_DSN", "http://public@127.0.0.1:9/1")
    clean_env.setenv("OTEL_CLINIC_PROMETHEUS", "true")
    with testing.capture(scrubbing=False, sentry=False, health=False, prometheus=False) as cap:
        config = cap.handle.config
        assert config.scrub_enabled is False and cap.handle.scrub_policy is None
        assert config.sentry_dsn is None and cap.handle.sentry_client is None
        assert config.health_metrics is False and config.prometheus_enabled is False


def test_option_groups_reach_the_pipeline(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OTEL_CLINIC_HEALTH_CACHE_INTERVAL", "7")
    with testing.capture(
        scrubbing=ScrubbingOptions(extra_keys=["ward"], allow_keys=["bed_count"]),
        sentry=SentryOptions(traces_sample_rate=0.25),
        health=HealthOptions(metrics=False, timeout=0.5, cache_interval=3),
        prometheus=PrometheusOptions(enabled=False, host="127.0.0.2"),
    ) as cap:
        config = cap.handle.config
        assert config.sentry_traces_sample_rate == 0.25 and config.health_metrics is False
        assert config.prometheus_host == "127.0.0.2"
        scrubbed = cap.handle.scrub_policy.scrub_attributes({"ward": "3B", "bed_count": 12})
        assert scrubbed["ward"] != "3B" and scrubbed["bed_count"] == 12
        # health settings: setup() < Django dict < environment
        assert HealthSettings.load({}, {}).timeout == 0.5
        assert HealthSettings.load({"timeout": 4}, {}).timeout == 4
        assert HealthSettings.load({}, {"OTEL_CLINIC_HEALTH_CACHE_INTERVAL": "7"}).cache_interval == 7


@pytest.mark.parametrize(
    ("kwargs", "setting"),
    [
        ({"health": HealthOptions(timeout="soon")}, "setup(health.timeout=...)"),
        ({"scrubbing": ScrubbingOptions(max_value_bytes=10)}, "setup(scrubbing.max_value_bytes=...)"),
        ({"scrubbing": ScrubbingOptions(extra_patterns={"x": "a(?=b)"})}, "setup(scrubbing.extra_patterns=...)"),
        ({"sentry": SentryOptions(url="sentry.io")}, "setup(sentry.url=...)"),
        ({"prometheus": {"port": 1}}, "setup(prometheus=...)"),
        ({"servce_name": "x"}, "setup(servce_name=...)"),
    ],
)
def test_bad_option_values_fail_setup_naming_the_keyword(clean_env: pytest.MonkeyPatch, kwargs: dict,
                                                         setting: str) -> None:
    with pytest.raises(ConfigError) as info:
        with testing.capture(**kwargs):
            pass
    assert info.value.setting == setting


def test_hmac_key_from_code_is_never_echoed(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as info:
        with testing.capture(scrubbing=ScrubbingOptions(mode="hmac", hmac_key="short-key")):
            pass
    assert info.value.setting == "setup(scrubbing.hmac_key=...)" and "short-key" not in str(info.value)


def test_doctor_validates_and_reports_every_row(clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from otel_clinic.cli import main

    clean_env.setenv("OTEL_CLINIC_SCRUB_HMAC_KEY", "a-very-secret-hmac-key-0123")
    clean_env.setenv("OTEL_CLINIC_HEALTH_TIMEOUT", "1.5")
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "a-very-secret-hmac-key-0123" not in out
    report = json.loads(out)["settings"]
    rows = {env: entry for group in report.values() for env, entry in group.items()}
    assert set(rows) == {row.env for row in settings.PARAMS}
    assert rows["OTEL_CLINIC_SCRUB_HMAC_KEY"]["value"] == "<set>"
    assert rows["OTEL_CLINIC_HEALTH_TIMEOUT"] == {"value": 1.5, "source": "OTEL_CLINIC_HEALTH_TIMEOUT", "default": "2",
                                                  "keyword": "health.timeout"}
    assert rows["OTEL_CLINIC_EXPORT_DIR"]["default"].startswith("telemetry")


@pytest.mark.parametrize(("var", "value"), [("OTEL_CLINIC_HEALTH_TIMEOUT", "soon"), ("OTEL_CLINIC_SCRUB_MODE", "mask"),
                                            ("OTEL_CLINIC_PROMETHEUS_URL", "prometheus:9090")])
def test_doctor_names_a_bad_variable_of_any_group(clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                                  var: str, value: str) -> None:
    from otel_clinic.cli import main

    clean_env.setenv(var, value)
    assert main(["doctor"]) == 2
    assert f"{var}={value!r}" in capsys.readouterr().err


def test_code_only_group_fields_reach_their_targets(clean_env: pytest.MonkeyPatch) -> None:
    from otel_clinic.scrubbing import ScrubPolicy

    policy = ScrubPolicy.default().with_detector("badge", r"BADGE-[0-9]{6}")
    sentry = SentryOptions(dsn="http://public@127.0.0.1:9/1", sdk_options={"server_name": "options-test"})
    with testing.capture(scrubbing=ScrubbingOptions(policy=policy), sentry=sentry) as cap:
        assert cap.handle.scrub_policy is policy
        assert cap.handle.sentry_client.options["server_name"] == "options-test"
        assert cap.handle.config.sentry_dsn == "http://public@127.0.0.1:9/1"

"""Collector rendering: valid RE2 / Go regexp, YAML the Collector can load, same detections as in-process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import re2
import yaml

from otel_clinic.cli import main as cli_main
from otel_clinic.scrubbing import ScrubPolicy, render_collector_processors
from otel_clinic.scrubbing.collector import REDACTION_NAME, TRANSFORM_NAME, all_regexes, render_phi_processor

POLICY = ScrubPolicy.default().with_detector("badge", r"BADGE-\d{6}").with_sensitive_keys(["ward"])
GO_SRC = Path(__file__).parent / "go_regexp_check" / "main.go"


@pytest.fixture(scope="session")
def go_regexp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go")
    if go is None:
        pytest.fail("Go toolchain not installed: cannot check patterns with Go's regexp (scripts/bootstrap.sh needs go)")
    binary = tmp_path_factory.mktemp("go") / "regexp_check"
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", "GO111MODULE": "auto"}
    subprocess.run([go, "build", "-o", str(binary), str(GO_SRC)], check=True, env=env, timeout=300, capture_output=True)
    return binary


def _rendered() -> dict:
    return render_collector_processors(POLICY)


def test_structure_and_no_dollar_signs() -> None:
    rendered = _rendered()
    red = rendered["processors"][REDACTION_NAME]
    assert red["allow_all_keys"] is True and red["summary"] == "silent"
    assert "http.route" in red["ignored_keys"]
    assert any("BADGE" in v for v in red["blocked_values"])
    text = yaml.safe_dump(rendered)
    assert "$" not in text  # the Collector's config loader would expand or unescape it
    assert yaml.safe_load(text) == rendered
    stmts = rendered["processors"][TRANSFORM_NAME]["trace_statements"][0]["statements"]
    assert any('attributes["db.statement"]' in s for s in stmts)


def test_every_regex_compiles_with_re2_and_has_no_lookaround() -> None:
    for pattern in all_regexes(_rendered()):
        assert "(?=" not in pattern and "(?!" not in pattern and "(?<" not in pattern, pattern
        re2.compile(pattern)


def test_every_regex_compiles_with_go_regexp(go_regexp: Path) -> None:
    patterns = all_regexes(_rendered())
    proc = subprocess.run([str(go_regexp)], input=json.dumps(patterns), capture_output=True, text=True, check=True, timeout=60)
    errors = {p: e for p, e in zip(patterns, json.loads(proc.stdout)) if e}
    assert errors == {}


def test_go_masks_what_python_detects(go_regexp: Path) -> None:
    # The same value patterns find the same identifiers in Go as in the in-process engine.
    samples = ["ssn 123-45-6789", "mail jane.roe@example.com", "MRN: A7654321", "call 555-867-5309", "BADGE-123456",
               "DOB: 1980-02-03", "first_name=Jane"]
    values = _rendered()["processors"][REDACTION_NAME]["blocked_values"]
    probes = [{"pattern": "|".join(f"(?:{v})" for v in values), "text": s} for s in samples]
    proc = subprocess.run([str(go_regexp), "-match"], input=json.dumps(probes), capture_output=True, text=True, check=True, timeout=60)
    spans = json.loads(proc.stdout)
    for sample, (start, end) in zip(samples, spans):
        assert start >= 0, sample
        assert POLICY.scrub_text(sample) != sample


def test_sensitive_key_pattern_matches_like_the_key_rules() -> None:
    red = _rendered()["processors"][REDACTION_NAME]
    key_res = [re2.compile(p) for p in red["blocked_key_patterns"]]
    for key in ["patient.first_name", "ssn", "user_email", "http.request.header.authorization", "ward", "name", "DOB"]:
        assert any(r.search(key) for r in key_res), key
    for key in ["service.name", "http.route", "db.name", "host.name", "tokens", "author"]:
        assert not any(r.search(key) for r in key_res), key


def test_cli_writes_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OTEL_CLINIC_SCRUB_EXTRA_KEYS", "ward")
    out = tmp_path / "phi.yaml"
    assert cli_main(["collector-config", "--contrib", "--output", str(out)]) == 0
    loaded = yaml.safe_load(out.read_text())
    assert REDACTION_NAME in loaded["processors"] and TRANSFORM_NAME in loaded["processors"]
    assert any("ward" in p for p in loaded["processors"][REDACTION_NAME]["blocked_key_patterns"])
    # the default output: our phi processor with the custom policy inline and the package's lexicon
    assert cli_main(["collector-config", "--output", str(out)]) == 0
    phi = yaml.safe_load(out.read_text())["processors"]["phi"]
    assert "ward" in json.loads(phi["policy"])["keys"]["sensitive_runs"] and Path(phi["name_lexicon_file"]).is_file()
    monkeypatch.delenv("OTEL_CLINIC_SCRUB_EXTRA_KEYS")
    assert cli_main(["collector-config", "--output", str(out)]) == 0
    assert yaml.safe_load(out.read_text()) == {"processors": {"phi": {}}}  # default policy: the embedded one
    monkeypatch.setenv("OTEL_CLINIC_SCRUB_MODE", "bogus")
    assert cli_main(["collector-config"]) == 2
    assert "OTEL_CLINIC_SCRUB_MODE" in capsys.readouterr().err


def test_custom_policy_render_loads_into_the_real_collector(tmp_path: Path) -> None:
    """A policy extended through env (extra keys + a custom detector) renders a config the built
    Collector distribution accepts (``otelcol validate`` parses every regex with Go's regexp)."""
    from tests.support.collector import build_collector, validate

    build_collector()
    env = {
        "OTEL_CLINIC_SCRUB_EXTRA_KEYS": "ward,bed_number",
        "OTEL_CLINIC_SCRUB_EXTRA_PATTERNS": '{"badge": "BADGE-[0-9]{6}", "locker": "^LOCKER [0-9]{3}$"}',
    }
    rendered = render_collector_processors(ScrubPolicy.from_env(env))
    config = {
        "receivers": {"otlp": {"protocols": {"http": {"endpoint": "127.0.0.1:0"}}}},
        "exporters": {"debug": {}},
        **rendered,
        "service": {
            "pipelines": {
                signal: {"receivers": ["otlp"], "processors": [TRANSFORM_NAME, REDACTION_NAME], "exporters": ["debug"]}
                for signal in ("traces", "logs", "metrics")
            },
        },
    }
    path = tmp_path / "phi.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    result = validate(path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "(?:^LOCKER [0-9]{3}$$)" in config["processors"][REDACTION_NAME]["blocked_values"]  # "$" escaped for confmap
    # Our phi processor takes the same custom policy inline (it compiles every pattern and refuses what it can't apply).
    phi_config = {**config, **render_phi_processor(ScrubPolicy.from_env(env)),
                  "service": {"pipelines": {s: {"receivers": ["otlp"], "processors": ["phi"], "exporters": ["debug"]}
                                            for s in ("traces", "logs", "metrics")}}}
    path.write_text(yaml.safe_dump(phi_config, sort_keys=False))
    result = validate(path)
    assert result.returncode == 0, result.stderr[-3000:]
    # Guard: the same check rejects a regex Go cannot compile.
    config["processors"][REDACTION_NAME]["blocked_values"] = ["a(?=b)"]
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    assert validate(path).returncode != 0

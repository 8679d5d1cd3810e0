"""Alert/recording rules: promtool validity, promtool unit tests, and the pack's conventions.

The promtool unit tests live in collector/prometheus/tests/*.test.yml. Here we also check that every alert
has a firing case and a silent case there, and that each alert's firing test really depends on the rule
(neutralising the rule's expression must make promtool fail).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from tests.support.promstack import PROMTOOL_BIN

from .opspack import (
    OWN_PREFIXES,
    RULE_TESTS_DIR,
    RULES_DIR,
    RUNBOOK_URL_TEMPLATE,
    RUNBOOKS_DIR,
    SEVERITIES,
    alert_rules,
    all_exprs,
    contract_metric_names,
    iter_rules,
    load_yaml,
    metric_names,
    rule_files,
    rule_test_files,
    run,
)



ALERTS = alert_rules()
ALERT_NAMES = sorted({a.name for a in ALERTS})


def test_pack_is_not_empty() -> None:
    assert len(rule_files()) >= 4 and len(ALERT_NAMES) >= 20 and rule_test_files()


def test_promtool_check_rules_with_lint() -> None:
    res = run([PROMTOOL_BIN, "check", "rules", "--lint=all", "--lint-fatal", *map(str, rule_files())])
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("test_file", rule_test_files(), ids=lambda p: p.name)
def test_promtool_unit_tests_pass(test_file: Path) -> None:
    res = run([PROMTOOL_BIN, "test", "rules", test_file.name], cwd=test_file.parent)
    assert res.returncode == 0, res.stdout + res.stderr


def _alert_tests() -> dict[str, dict[str, int]]:
    """alertname -> {'firing': n, 'silent': n} over all promtool test files."""
    seen: dict[str, dict[str, int]] = {}
    for path in rule_test_files():
        for group in load_yaml(path)["tests"]:
            for case in group.get("alert_rule_test") or []:
                kind = "firing" if case.get("exp_alerts") else "silent"
                seen.setdefault(case["alertname"], {"firing": 0, "silent": 0})[kind] += 1
    return seen


def test_every_alert_has_firing_and_silent_unit_test() -> None:
    seen = _alert_tests()
    missing = [n for n in ALERT_NAMES if not seen.get(n, {}).get("firing") or not seen.get(n, {}).get("silent")]
    assert not missing, f"alerts without both a firing and a silent promtool case: {missing}"
    unknown = sorted(set(seen) - set(ALERT_NAMES))
    assert not unknown, f"tests for alerts that do not exist: {unknown}"


def test_every_severity_variant_fires_in_some_test() -> None:
    """Alerts with several severities (warning/critical tiers) need each tier exercised."""
    fired: set[tuple[str, str]] = set()
    for path in rule_test_files():
        for group in load_yaml(path)["tests"]:
            for case in group.get("alert_rule_test") or []:
                for exp in case.get("exp_alerts") or []:
                    fired.add((case["alertname"], exp["exp_labels"]["severity"]))
    wanted = {(a.name, a.labels["severity"]) for a in ALERTS}
    assert wanted <= fired, f"never fired in tests: {sorted(wanted - fired)}"


@pytest.mark.parametrize("alert", ALERTS, ids=lambda a: f"{a.name}-{a.labels.get('severity')}")
def test_alert_labels_and_annotations(alert) -> None:  # type: ignore[no-untyped-def]
    assert alert.labels.get("severity") in SEVERITIES
    assert alert.labels.get("service"), "every alert names the service it is about (routing, grouping)"
    ann = alert.annotations
    assert ann.get("summary") and ann.get("description")
    assert ann.get("runbook_url") == f"{RUNBOOK_URL_TEMPLATE}{alert.name}.md"
    # Flapping guard: only the release marker (info) and burn-rate pairs may fire without 'for'.
    assert alert.rule.get("for") or alert.labels["severity"] == "info"


@pytest.mark.parametrize("name", ALERT_NAMES)
def test_runbook_exists_with_sections(name: str) -> None:
    path = RUNBOOKS_DIR / f"{name}.md"
    assert path.is_file(), f"missing runbook {path}"
    text = path.read_text()
    assert text.startswith(f"# {name}\n")
    for section in ("## What it means", "## First checks", "## Mitigation"):
        assert section in text, f"{path.name} lacks {section!r}"


def test_no_orphan_runbooks() -> None:
    assert sorted(p.stem for p in RUNBOOKS_DIR.glob("*.md")) == ALERT_NAMES


def test_rules_only_use_contract_metric_names() -> None:
    """Our own metric names in rules must be the ones docs/CONTRACTS.md says the product emits."""
    contract = contract_metric_names()
    used = set().union(*(metric_names(e) for e in all_exprs()))
    ours = {n for n in used if n.startswith(OWN_PREFIXES)}
    assert ours, "rules reference none of our metrics"
    assert ours <= contract, f"not in CONTRACTS.md: {sorted(ours - contract)}"


def test_recording_rules_follow_naming_and_are_used() -> None:
    records = [r["record"] for f in rule_files() for _, r in iter_rules(f) if "record" in r]
    assert records
    for name in records:
        assert re.fullmatch(r"[a-z_]+:[a-z_]+:[a-z0-9_]+", name), name  # level:metric:operations
    used = set().union(*(metric_names(a.rule["expr"]) for a in ALERTS))
    unused = set(records) - used - {"job:clinic_http_requests:rate5m"}  # rate5m feeds dashboards
    assert not unused, f"recording rules no alert uses: {sorted(unused)}"


def _neutralised_copy(tmp_path: Path, alertname: str) -> Path:
    """Copy rules + tests, replacing every expr of `alertname` with one that never fires."""
    rules = tmp_path / "rules"
    tests = tmp_path / "tests"
    shutil.copytree(RULES_DIR, rules)
    shutil.copytree(RULE_TESTS_DIR, tests)
    for path in rules.glob("*.yml"):
        doc = yaml.safe_load(path.read_text())
        for group in doc["groups"]:
            for rule in group["rules"]:
                if rule.get("alert") == alertname:
                    rule["expr"] = "vector(1) == 0"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return tests


@pytest.mark.parametrize("name", ALERT_NAMES)
def test_unit_tests_fail_when_the_alert_is_broken(name: str, tmp_path: Path) -> None:
    tests = _neutralised_copy(tmp_path, name)
    test_files = [p for p in tests.glob("*.test.yml") if re.search(rf"alertname: {name}\b", p.read_text())]
    assert test_files, f"no promtool test mentions {name}"
    res = run([PROMTOOL_BIN, "test", "rules", *[p.name for p in test_files]], cwd=tests)
    assert res.returncode != 0, f"promtool tests still pass with {name} neutralised"
    assert name in res.stdout + res.stderr

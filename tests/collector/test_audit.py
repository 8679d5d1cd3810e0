"""`otel-clinic audit` without servers: canaries, the scanner, the CLI's exit codes, injection coverage."""

from __future__ import annotations

import subprocess
import sys
import urllib.parse

from otel_clinic.audit import Canaries, injection_requests, scan_files, scan_text
from tests.support.collector import sentry_otlp_from_dsn


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "otel_clinic.cli", "audit", *args], capture_output=True, text=True,
                          timeout=60)


def test_canaries_are_unique_per_run_and_reproducible_by_seed():
    assert Canaries.generate(3) == Canaries.generate(3)
    assert Canaries.generate(3).ssn != Canaries.generate(4).ssn or Canaries.generate(3).email != Canaries.generate(4).email
    card = Canaries.generate(9).card
    digits = [int(c) for c in card][::-1]
    assert sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits)) % 10 == 0


def test_scan_finds_each_canary_also_reformatted_or_percent_encoded():
    c = Canaries.generate(11)
    for _, value in c.items():
        assert scan_text(f"x {value} y", c, "b", "w"), value
    assert scan_text("ssn=" + c.ssn.replace("-", ""), c, "b", "w")[0].kind == "ssn"
    assert scan_text(urllib.parse.quote(c.email), c, "b", "w")[0].kind == "email"


def test_scan_ignores_digit_runs_inside_longer_numbers_and_masked_values():
    c = Canaries.generate(12)
    ts = f"17{c.ssn.replace('-', '')}42"  # e.g. inside a nanosecond timestamp
    assert scan_text(f'"timeUnixNano":"{ts}"', c, "b", "w") == []
    assert scan_text("patient [NAME] ssn: [SSN] email [EMAIL] ****", c, "b", "w") == []


def test_cli_exits_1_naming_the_file_that_leaks_and_0_when_clean(tmp_path):
    leak_dir, clean_dir = tmp_path / "leak", tmp_path / "clean"
    leak_dir.mkdir()
    clean_dir.mkdir()
    (leak_dir / "logs.jsonl").write_text('{"body": "hello %s"}\n' % Canaries.generate(5).mrn)
    (clean_dir / "logs.jsonl").write_text('{"body": "hello [MRN]"}\n')
    leak = _cli("--seed", "5", "--files", str(leak_dir))
    assert leak.returncode == 1
    assert "LEAK mrn" in leak.stdout and str(leak_dir / "logs.jsonl") in leak.stdout
    assert _cli("--seed", "5", "--files", str(clean_dir)).returncode == 0
    assert scan_files([leak_dir], Canaries.generate(6)) == []


def test_cli_exits_2_without_a_backend_or_when_one_is_unreachable(tmp_path):
    assert _cli("--seed", "1").returncode == 2
    assert _cli("--seed", "1", "--prometheus", "http://127.0.0.1:9").returncode == 2
    assert _cli("--seed", "1", "--files", str(tmp_path / "missing")).returncode == 2


def test_injection_covers_every_input_kind():
    c = Canaries.generate(2)
    reqs = list(injection_requests("http://127.0.0.1:1", c))
    methods = {m for m, _, _ in reqs}
    assert methods == {"GET", "POST"}
    assert any(c.ssn in url or urllib.parse.quote(c.ssn) in url for _, url, _ in reqs)  # paths
    assert any("params" in kw for _, _, kw in reqs)  # query strings
    assert any("json" in kw for _, _, kw in reqs) and any("data" in kw for _, _, kw in reqs)  # bodies
    assert any(kw["headers"].get("Authorization", "").endswith(c.ssn) for _, _, kw in reqs if "headers" in kw)
    assert any("Cookie" in kw.get("headers", {}) for _, _, kw in reqs)
    assert any("/api/boom/" in url for _, url, _ in reqs)  # exception message


def test_sentry_otlp_endpoint_and_key_derive_from_the_dsn():
    endpoint, key = sentry_otlp_from_dsn("https://abc123@o42.ingest.us.sentry.io/4507")
    assert endpoint == "https://o42.ingest.us.sentry.io/api/4507/integration/otlp"
    assert key == "abc123"

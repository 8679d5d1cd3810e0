"""Tokens are read from the environment or files, never from the command line (issue 15, small ones)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _audit(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "BUGSINK_TOKEN"}
    return subprocess.run([sys.executable, "-m", "otel_clinic.cli", "audit", "--seed", "1", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120, env={**base, **env})


def test_a_token_on_the_command_line_is_refused_with_the_reason() -> None:
    result = _audit("--bugsink", "http://127.0.0.1:9", "--bugsink-token", "s3cr3t")
    assert result.returncode == 2
    assert "refused" in result.stderr and "BUGSINK_TOKEN" in result.stderr and "--bugsink-token-file" in result.stderr


def test_without_a_token_the_audit_names_both_sources(tmp_path: Path) -> None:
    result = _audit("--bugsink", "http://127.0.0.1:9", "--bugsink-token-file", str(tmp_path / "absent"))
    assert result.returncode == 2 and "needs a token" in result.stderr and "BUGSINK_TOKEN" in result.stderr


def test_the_token_from_the_environment_or_a_file_is_what_bugsink_receives(tmp_path: Path) -> None:
    seen: list[str] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen.append(self.headers.get("Authorization", ""))
            self.send_response(503)  # the audit then stops: a sink it cannot read
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    token = tmp_path / "token"
    token.write_text("t-from-file\n")
    try:
        from_env = _audit("--bugsink", url, BUGSINK_TOKEN="t-from-env")
        from_file = _audit("--bugsink", url, "--bugsink-token-file", str(token))
    finally:
        server.shutdown()
        server.server_close()
    assert from_env.returncode == 2 and from_file.returncode == 2  # unreadable sink, not a missing token
    assert "Bearer t-from-env" in seen and "Bearer t-from-file" in seen


def test_no_command_line_option_takes_a_secret_value() -> None:
    option = re.compile(r"""add_argument\(\s*["'](--[a-z0-9-]*(?:token|password|secret|api-key)[a-z0-9-]*)["']"""
                        r"""(?P<rest>[^)]*)""")
    offenders = []
    for path in [*(REPO / "otel_clinic").rglob("*.py"), *(REPO / "scripts").rglob("*.py"),
                 *(REPO / "examples").rglob("*.py")]:
        for match in option.finditer(path.read_text()):
            name, rest = match.group(1), match.group("rest")
            if name.endswith("-file") or "SUPPRESS" in rest:  # a path, or the refused legacy flag
                continue
            offenders.append(f"{path.relative_to(REPO)}: {name}")
    assert offenders == []

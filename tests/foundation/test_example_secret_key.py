"""The example app's SECRET_KEY: required outside DEBUG, from the environment or a file (issue 15, small ones)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PRINT_KEY = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"


def _settings(**env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "OTEL_"))}
    return subprocess.run([sys.executable, "-c", PRINT_KEY], cwd=REPO / "examples" / "clinic", text=True,
                          capture_output=True, timeout=60,
                          env={**base, "DJANGO_SETTINGS_MODULE": "clinic_site.settings", **env})


def test_without_a_key_outside_debug_the_app_refuses_to_start_naming_the_setting() -> None:
    proc = _settings()
    assert proc.returncode != 0
    assert "ImproperlyConfigured" in proc.stderr and "DJANGO_SECRET_KEY" in proc.stderr


def test_the_dev_default_exists_only_under_debug() -> None:
    proc = _settings(DJANGO_DEBUG="1")
    assert proc.returncode == 0 and proc.stdout.strip() == "example-clinic-dev-only-not-secret"


def test_the_key_comes_from_the_environment_or_a_mounted_file(tmp_path: Path) -> None:
    assert _settings(DJANGO_SECRET_KEY="k-from-env").stdout.strip() == "k-from-env"
    secret = tmp_path / "secret_key"
    secret.write_text("k-from-file\n")
    assert _settings(DJANGO_SECRET_KEY_FILE=str(secret)).stdout.strip() == "k-from-file"
    missing = _settings(DJANGO_SECRET_KEY_FILE=str(tmp_path / "absent"))
    assert missing.returncode != 0 and "DJANGO_SECRET_KEY_FILE" in missing.stderr

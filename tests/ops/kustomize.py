"""Render the kustomize base with the real kustomize (installed from the Go module proxy when missing)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

KUSTOMIZE_MODULE = "sigs.k8s.io/kustomize/kustomize/v5@v5.5.0"
TOOLS_BIN = Path(os.environ.get("OTEL_CLINIC_TOOLS_BIN", Path.home() / ".cache" / "otel-clinic" / "bin"))


def kustomize_binary() -> Path:
    """kustomize from PATH, GOPATH/bin or our tools dir; `go install` it into the tools dir otherwise."""
    candidates = [shutil.which("kustomize"), TOOLS_BIN / "kustomize", Path.home() / "go" / "bin" / "kustomize"]
    for c in candidates:
        if c and Path(c).is_file():
            return Path(c)
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("kustomize missing and no Go toolchain to install it (go install " + KUSTOMIZE_MODULE + ")")
    TOOLS_BIN.mkdir(parents=True, exist_ok=True)
    subprocess.run([go, "install", KUSTOMIZE_MODULE], check=True, capture_output=True, timeout=900,
                   env={**os.environ, "GOBIN": str(TOOLS_BIN)})
    return TOOLS_BIN / "kustomize"


def build(kustomization_dir: Path) -> list[dict[str, Any]]:
    """`kustomize build` (files outside the base are allowed: the ConfigMaps come from collector/)."""
    res = subprocess.run([str(kustomize_binary()), "build", "--load-restrictor", "LoadRestrictionsNone",
                          str(kustomization_dir)], capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        raise RuntimeError(f"kustomize build failed: {res.stderr}")
    return [d for d in yaml.safe_load_all(res.stdout) if d]

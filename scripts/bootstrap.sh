#!/usr/bin/env bash
# Install everything the product and its tests need, idempotently:
#   scripts/bootstrap.sh python     the .venv with otel_clinic and its dev dependencies
#   scripts/bootstrap.sh all        + Debian servers (PostgreSQL, Redis, Prometheus, Alertmanager) + the Collector build
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
what="${1:-all}"
PY="${PYTHON:-python3}"

need_python() {
  # Every third-party package (and the build backend) comes from requirements/dev.lock, pinned with hashes:
  # pip refuses anything whose hash differs. Regenerate after changing pyproject.toml's dependencies with
  #   pip-compile --generate-hashes --allow-unsafe --extra dev --strip-extras --no-emit-index-url \
  #     --no-emit-find-links -o requirements/dev.lock pyproject.toml requirements/build.in
  # (pip-tools, from PyPI). The venv is reused while neither file changed.
  if [[ ! -x .venv/bin/python ]]; then
    "$PY" -m venv .venv
  fi
  local stamp=.venv/.otel-clinic-installed
  if [[ ! -f "$stamp" || pyproject.toml -nt "$stamp" || requirements/dev.lock -nt "$stamp" ]]; then
    .venv/bin/pip install -q --require-hashes -r requirements/dev.lock
    # Offline: the package itself, its dependencies satisfied from what the lock installed. A dependency
    # added to pyproject.toml but missing from the lock fails here, by name.
    .venv/bin/pip install -q --no-index --no-build-isolation -e '.[dev]' \
      || { echo "bootstrap.sh: requirements/dev.lock does not cover pyproject.toml; regenerate it (see need_python)" >&2; exit 1; }
    touch "$stamp"
  fi
}

need_debian() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  [[ -x /usr/lib/postgresql/15/bin/initdb ]] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  command -v prometheus >/dev/null && command -v promtool >/dev/null || missing+=(prometheus)
  command -v prometheus-alertmanager >/dev/null && command -v amtool >/dev/null || missing+=(prometheus-alertmanager)
  command -v openssl >/dev/null || missing+=(openssl)
  # Exporters the agent's infrastructure overlays scrape (tests/collector/test_infra_receivers.py).
  command -v prometheus-postgres-exporter >/dev/null || missing+=(prometheus-postgres-exporter)
  command -v prometheus-blackbox-exporter >/dev/null || missing+=(prometheus-blackbox-exporter)
  if (( ${#missing[@]} )); then
    local sudo=""
    [[ $(id -u) -ne 0 ]] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

need_go_tools() {
  # kustomize renders the Kubernetes base in tests/ops (tests/ops/kustomize.py looks here first).
  local bin="${OTEL_CLINIC_TOOLS_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/otel-clinic/bin}"
  if [[ ! -x "$bin/kustomize" ]] && ! command -v kustomize >/dev/null; then
    mkdir -p "$bin"
    GOBIN="$bin" CGO_ENABLED=0 go install sigs.k8s.io/kustomize/kustomize/v5@v5.5.0
  fi
}

need_bugsink() {
  # Bugsink (a real Sentry-protocol server) in its own venv, for the e2e tests (tests/support/bugsink.py).
  if [[ ! -x .bugsink-venv/bin/bugsink-manage ]]; then
    .venv/bin/python -c "from tests.support.bugsink import ensure_venv; ensure_venv()"
  fi
}

need_python
if [[ "$what" == "all" ]]; then
  need_debian
  need_go_tools
  need_bugsink
  TELEMETRYGEN=1 collector/build.sh   # the Collector and telemetrygen (benchmarks/collector.py), Go-cached
fi

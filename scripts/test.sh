#!/usr/bin/env bash
# The test command: install what is missing, then run the whole suite (unit, integration with real
# PostgreSQL/Redis, e2e with the real Collector, Prometheus, Alertmanager and Bugsink).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/bootstrap.sh all
# The Collector's PHI processor (Go): vet, unit + parity tests, and a bounded fuzz run. Go's build and module
# caches (GOCACHE / GOMODCACHE defaults) stay warm between runs; PHI_FUZZTIME=0 skips the fuzz run locally.
command -v go >/dev/null || { echo "test.sh: Go is required (collector/processor/phiprocessor)" >&2; exit 2; }
(
  cd collector/processor/phiprocessor
  go vet ./...
  go test -count=1 ./...
  if [[ "${PHI_FUZZTIME:-20s}" != "0" ]]; then
    go test -run '^$' -fuzz '^FuzzScrubText$' -fuzztime "${PHI_FUZZTIME:-20s}" -fuzzminimizetime 2s . >/dev/null
  fi
)
set +e
.venv/bin/python -m pytest -q "$@"
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
  echo "test.sh: pytest collected no tests: the suite is broken" >&2
fi
exit $rc

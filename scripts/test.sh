#!/usr/bin/env bash
# The test command: install what is missing, then run the whole suite (unit, integration with real
# PostgreSQL/Redis, e2e with the real Collector, Prometheus, Alertmanager and Bugsink).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/bootstrap.sh all
set +e
.venv/bin/python -m pytest -q "$@"
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
  echo "test.sh: pytest collected no tests: the suite is broken" >&2
fi
exit $rc

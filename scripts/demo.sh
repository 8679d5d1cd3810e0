#!/usr/bin/env bash
# The demo: the example clinic app with otel_clinic on the embedded default (JSON-lines files + /metrics),
# driven by the load generator (including fake PHI), then a summary of what was recorded.
#   DEMO_PORT=8000  DEMO_SERVE=1 keeps the app running after the traffic (Ctrl-C to stop)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/bootstrap.sh python
root="$PWD"
port="${DEMO_PORT:-8000}"
out="$root/examples/clinic/telemetry"
rm -rf "$out"
export OTEL_CLINIC_EXPORT_DIR="$out" OTEL_CLINIC_PROMETHEUS=true OTEL_METRIC_EXPORT_INTERVAL=2000 \
       OTEL_CLINIC_RELEASE="${OTEL_CLINIC_RELEASE:-demo-1.0.0}" OTEL_CLINIC_ENVIRONMENT=demo \
       OTEL_CLINIC_LOG_FORMAT=json CLINIC_SQLITE_PATH="$root/examples/clinic/db.sqlite3"
# /health/ details and /metrics are token-only (no trust in loopback clients: a proxy on the same host is loopback too)
health_token="${OTEL_CLINIC_HEALTH_TOKEN:-demo-health-token}"
metrics_token="${OTEL_CLINIC_METRICS_TOKEN:-demo-metrics-token}"
export OTEL_CLINIC_HEALTH_TOKEN="$health_token" OTEL_CLINIC_METRICS_TOKEN="$metrics_token"
# The example app needs a SECRET_KEY outside DEBUG: a random one per run, through the environment.
DJANGO_SECRET_KEY="${DJANGO_SECRET_KEY:-$("$root/.venv/bin/python" -c 'import secrets; print(secrets.token_urlsafe(50))')}"
export DJANGO_SECRET_KEY
cd examples/clinic
"$root/.venv/bin/python" manage.py migrate -v 0
"$root/.venv/bin/python" manage.py runserver --noreload "127.0.0.1:$port" > "$out.stdout.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/health/live" >/dev/null 2>&1 && break
  sleep 0.2
done
echo "== traffic (300 requests, errors of every category, slow and N+1 requests, fake PHI canaries)"
"$root/.venv/bin/python" "$root/examples/loadgen.py" --base-url "http://127.0.0.1:$port" --requests 300 --concurrency 4 --phi-canaries
sleep 3   # one metric export interval
echo
echo "== /health/"
curl -sS -H "Host: 127.0.0.1" -H "Authorization: Bearer $health_token" "http://127.0.0.1:$port/health/" ; echo
echo
series="$(curl -sS -H "Authorization: Bearer $metrics_token" "http://127.0.0.1:$port/metrics" \
          | grep '^http_server_request_duration_seconds_count' || true)"
total="$(printf '%s\n' "$series" | grep -c . || true)"
shown=20
echo "== /metrics: request duration count by route, severity and error category ($((total < shown ? total : shown)) of $total series shown)"
printf '%s\n' "$series" | head -n "$shown"
echo
if [[ "${DEMO_SERVE:-0}" != "1" ]]; then
  # A graceful stop (SIGTERM) flushes what is still queued into the files before we read them.
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  trap - EXIT
fi
echo "== what was recorded"
"$root/.venv/bin/python" - "$out" <<'PY'
import collections, json, pathlib, sys
out = pathlib.Path(sys.argv[1])
spans = [json.loads(l) for l in (out / "traces.jsonl").read_text().splitlines()] if (out / "traces.jsonl").exists() else []
logs = (out / "logs.jsonl").read_text().splitlines() if (out / "logs.jsonl").exists() else []
cats = collections.Counter(s["attributes"].get("error.category", "-") for s in spans if s["kind"] == "SpanKind.SERVER")
sev = collections.Counter(s["attributes"].get("clinic.severity") for s in spans if s["kind"] == "SpanKind.SERVER")
print(f"spans: {len(spans)}  log records: {len(logs)}")
print("error categories:", dict(cats))
print("severities:", dict(sev))
canaries = ["078-05-1120", "MRN-48213377", "jane.canary@example.org", "867-5309", "Canaryfield"]
leaks = [c for c in canaries for f in out.glob("*.jsonl") if c in f.read_text()]
print("PHI canaries found in exported telemetry:", leaks or "none")
PY
echo
echo "Look at: $out/traces.jsonl, $out/metrics.jsonl, $out/logs.jsonl (OTLP JSON per line),"
echo "         $out.stdout.log (JSON stdout logs)"
if [[ "${DEMO_SERVE:-0}" == "1" ]]; then
  echo "Serving on http://127.0.0.1:$port (Ctrl-C to stop):"
  echo "  curl -H 'Authorization: Bearer $metrics_token' http://127.0.0.1:$port/metrics"
  echo "  curl -H 'Authorization: Bearer $health_token' http://127.0.0.1:$port/health/"
  wait $server
else
  echo "The app has been stopped; DEMO_SERVE=1 make demo keeps it running."
fi

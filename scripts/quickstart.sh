#!/usr/bin/env bash
# Single-host quick start, everything on loopback:
#   Prometheus (+ alert rules) and Alertmanager (Debian packages), gateway and agent Collectors,
#   the example clinic under gunicorn (2 workers) exporting OTLP to the agent, and one load-generator run.
# Prints the URLs, then keeps running until Ctrl-C (or for QUICKSTART_SECONDS seconds when set).
# Every port can be moved with an env var (PROMETHEUS_PORT, ALERTMANAGER_PORT, APP_PORT, AGENT_GRPC_PORT, ...
# see below); the Collector self-telemetry scrape targets in collector/prometheus/prometheus.yml assume the
# default 8888/8889.
#
#   scripts/quickstart.sh
#   SENTRY_DSN=https://KEY@o1.ingest.sentry.io/2 scripts/quickstart.sh   # real Sentry: events + OTLP traces/logs
#
# Without SENTRY_DSN the gateway's Sentry OTLP route goes to a local recording stand-in, which appends what it
# receives to var/quickstart/sentry-otlp.jsonl. QUICKSTART_SENTRY_OTLP=local keeps the stand-in even with a
# SENTRY_DSN (e.g. a local Bugsink, which takes the SDK's events but has no OTLP route).
# QUICKSTART_DEBUG_EXPORTER=1 adds the Collector's debug exporter (verbosity detailed) to every pipeline of
# both collectors, so agent.log/gateway.log show every item that left them (for the PHI audit; noisy).
# The app's stdout and stderr go to app.stdout.log and app.stderr.log (separately: the audit reads both).
# State (Prometheus TSDB, collector queues, JSON-lines logs, SQLite) lives in var/quickstart/ (git-ignored).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="${QUICKSTART_DIR:-$repo/var/quickstart}"
python="${PYTHON:-$repo/.venv/bin/python}"
host=127.0.0.1
prom_port=${PROMETHEUS_PORT:-9090}
am_port=${ALERTMANAGER_PORT:-9093}
app_port=${APP_PORT:-8000}
sink_port=${SENTRY_SINK_PORT:-4999}
agent_grpc=${AGENT_GRPC_PORT:-4317}
agent_http=${AGENT_HTTP_PORT:-4318}
agent_health=${AGENT_HEALTH_PORT:-13133}
agent_metrics=${AGENT_METRICS_PORT:-8888}
gw_grpc=${GATEWAY_GRPC_PORT:-4417}
gw_http=${GATEWAY_HTTP_PORT:-4418}
gw_health=${GATEWAY_HEALTH_PORT:-13134}
gw_metrics=${GATEWAY_METRICS_PORT:-8889}

mkdir -p "$state"/{prometheus,alertmanager,agent,gateway,logs,app}
"$repo/collector/build.sh"
bin="$repo/collector/_build/otelcol-clinic"

pids=()
cleanup() {  # stop in reverse start order (load, app, agent, gateway, then backends); SIGKILL after 10 s
  local i pid
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[i]}
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM   # exit runs the EXIT trap

wait_http() {  # wait_http URL NAME
  for _ in $(seq 1 120); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.5
  done
  echo "quickstart: $2 did not come up ($1); logs in $state" >&2
  exit 1
}

# Prometheus: remote-write receiver for the gateway, rules from collector/prometheus/rules.
# Runbook links: prometheus.yml expands OTEL_CLINIC_RUNBOOK_BASE_URL into the runbook_base_url external label.
OTEL_CLINIC_RUNBOOK_BASE_URL="${OTEL_CLINIC_RUNBOOK_BASE_URL:-file://$repo/collector/runbooks}" \
prometheus --config.file="$repo/collector/prometheus/prometheus.yml" --storage.tsdb.path="$state/prometheus" \
  --web.listen-address="$host:$prom_port" --web.enable-remote-write-receiver --web.enable-lifecycle \
  --enable-feature=expand-external-labels >"$state/prometheus.log" 2>&1 &
pids+=($!)

# Alertmanager: the production routing needs secrets, so the quick start uses a local no-op receiver.
cat >"$state/alertmanager.yml" <<EOF
route: {receiver: local, group_by: [alertname, job]}
receivers: [{name: local}]
EOF
prometheus-alertmanager --config.file="$state/alertmanager.yml" --storage.path="$state/alertmanager" \
  --web.listen-address="$host:$am_port" --cluster.listen-address= >"$state/alertmanager.log" 2>&1 &
pids+=($!)

# Sentry route: derive the OTLP endpoint and public key from the DSN (scheme://KEY@HOST/PROJECT).
if [[ -n "${SENTRY_DSN:-}" && "${QUICKSTART_SENTRY_OTLP:-}" != local ]]; then
  scheme="${SENTRY_DSN%%://*}"; rest="${SENTRY_DSN#*://}"
  key="${rest%%@*}"; key="${key%%:*}"; hostpath="${rest#*@}"
  export SENTRY_OTLP_ENDPOINT="$scheme://${hostpath%/*}/api/${hostpath##*/}/integration/otlp"
  export SENTRY_PUBLIC_KEY="$key"
  sentry_url="Sentry project of SENTRY_DSN"
else
  : >"$state/sentry-otlp.jsonl"
  (cd "$repo" && exec "$python" -m tests.support.collector "$sink_port" /api/1/integration/otlp "$state/sentry-otlp.jsonl") \
    >"$state/sentry-sink.log" 2>&1 &
  pids+=($!)
  export SENTRY_OTLP_ENDPOINT="http://$host:$sink_port/api/1/integration/otlp" SENTRY_PUBLIC_KEY=quickstart
  sentry_url="local stand-in http://$host:$sink_port (received data: $state/sentry-otlp.jsonl)"
fi

agent_debug=() gateway_debug=()
if [[ "${QUICKSTART_DEBUG_EXPORTER:-}" == 1 ]]; then
  cat >"$state/agent-debug.yaml" <<EOF
exporters: {debug: {verbosity: detailed}}
service:
  pipelines:
    traces: {exporters: [load_balancing, debug]}
    metrics: {exporters: [load_balancing, debug]}
    logs: {exporters: [load_balancing, debug]}
EOF
  cat >"$state/gateway-debug.yaml" <<EOF
exporters: {debug: {verbosity: detailed}}
service:
  pipelines:
    traces: {exporters: [otlp_http/sentry, debug]}
    metrics: {exporters: [prometheus_remote_write, debug]}
    logs: {exporters: [file/logs, otlp_http/sentry, debug]}
EOF
  agent_debug=(--config "$state/agent-debug.yaml") gateway_debug=(--config "$state/gateway-debug.yaml")
fi

# GOMEMLIMIT ~75% of memory_limiter's limit_mib keeps the Go heap from overshooting between its checks.
GOMEMLIMIT=768MiB OTELCOL_STORAGE_DIR="$state/gateway" OTELCOL_LOG_DIR="$state/logs" OTELCOL_TAIL_DECISION_WAIT=5s \
OTELCOL_OTLP_GRPC_ENDPOINT="$host:$gw_grpc" OTELCOL_OTLP_HTTP_ENDPOINT="$host:$gw_http" \
OTELCOL_HEALTH_ENDPOINT="$host:$gw_health" OTELCOL_METRICS_PORT="$gw_metrics" \
PROMETHEUS_REMOTE_WRITE_URL="http://$host:$prom_port/api/v1/write" \
  "$bin" --config "$repo/collector/otelcol-gateway.yaml" ${gateway_debug[@]+"${gateway_debug[@]}"} >"$state/gateway.log" 2>&1 &
pids+=($!)
GOMEMLIMIT=384MiB OTELCOL_STORAGE_DIR="$state/agent" OTELCOL_GATEWAYS="[$host:$gw_grpc]" \
OTELCOL_OTLP_GRPC_ENDPOINT="$host:$agent_grpc" OTELCOL_OTLP_HTTP_ENDPOINT="$host:$agent_http" \
OTELCOL_HEALTH_ENDPOINT="$host:$agent_health" OTELCOL_METRICS_PORT="$agent_metrics" \
  "$bin" --config "$repo/collector/otelcol-agent.yaml" --config "$repo/collector/otelcol-agent-phi.yaml" \
  ${agent_debug[@]+"${agent_debug[@]}"} >"$state/agent.log" 2>&1 &
pids+=($!)
wait_http "http://$host:$gw_health/" "gateway collector"
wait_http "http://$host:$agent_health/" "agent collector"
wait_http "http://$host:$prom_port/-/ready" "Prometheus"
wait_http "http://$host:$am_port/-/ready" "Alertmanager"

# The example app: 2 gunicorn workers, OTLP/gRPC to the agent, metrics every 5s. Its Django SECRET_KEY is random
# per state directory, in a 0600 file (the example refuses to start without one outside DEBUG).
mkdir -p "$state/app"
[[ -s "$state/app/django-secret-key" ]] ||
  (umask 077 && "$python" -c 'import secrets; print(secrets.token_urlsafe(50))' >"$state/app/django-secret-key")
export DJANGO_SECRET_KEY_FILE="$state/app/django-secret-key"
export DJANGO_SETTINGS_MODULE=clinic_site.settings CLINIC_SQLITE_PATH="$state/app/clinic.sqlite3" \
  OTEL_EXPORTER_OTLP_ENDPOINT="http://$host:$agent_grpc" OTEL_EXPORTER_OTLP_PROTOCOL=grpc OTEL_SERVICE_NAME=clinic-api \
  OTEL_CLINIC_ENVIRONMENT="${OTEL_CLINIC_ENVIRONMENT:-quickstart}" OTEL_CLINIC_RELEASE="${OTEL_CLINIC_RELEASE:-quickstart}" \
  OTEL_METRIC_EXPORT_INTERVAL=5000 CLINIC_BIND="$host:$app_port" CLINIC_WORKERS=2
(cd "$repo/examples/clinic" && "$python" manage.py migrate -v0)
(cd "$repo/examples/clinic" && exec "$(dirname "$python")/gunicorn" -c clinic_site/gunicorn.conf.py clinic_site.wsgi:application) \
  >"$state/app.stdout.log" 2>"$state/app.stderr.log" &
pids+=($!)
wait_http "http://$host:$app_port/health/live" "example app"

"$python" "$repo/examples/loadgen.py" --base-url "http://$host:$app_port" --requests 300 --concurrency 4 --phi-canaries \
  >"$state/loadgen.json" 2>&1 &
pids+=($!)

sink_audit="" bugsink_audit=""
if [[ -f "$state/sentry-otlp.jsonl" ]]; then sink_audit=" --sentry-otlp $state/sentry-otlp.jsonl"; fi
if [[ -n "${SENTRY_DSN:-}" ]]; then bugsink_audit=" --bugsink URL --bugsink-token-file FILE (or BUGSINK_TOKEN; a Bugsink behind SENTRY_DSN)"; fi
cat <<EOF

otel_clinic quick start is up (state and logs: $state)
  example app         http://$host:$app_port/api/patients/      health: http://$host:$app_port/health/
  Prometheus          http://$host:$prom_port/graph?g0.expr=sum%20by%20(http_route)%20(rate(http_server_request_duration_seconds_count%5B1m%5D))
  Alertmanager        http://$host:$am_port/
  agent collector     OTLP grpc $host:$agent_grpc http $host:$agent_http, health http://$host:$agent_health/, metrics http://$host:$agent_metrics/metrics
  gateway collector   OTLP grpc $host:$gw_grpc http $host:$gw_http, health http://$host:$gw_health/, metrics http://$host:$gw_metrics/metrics
  log files (JSONL)   $state/logs/logs.jsonl
  Sentry OTLP route   $sentry_url
  load generator      300 requests with errors, slow requests and PHI canaries -> $state/loadgen.json
  PHI audit           $python -m otel_clinic.cli audit --base-url http://$host:$app_port --prometheus http://$host:$prom_port \\
                        --files $state/logs --stdout-file $state/app.stdout.log --stderr-file $state/app.stderr.log \\
                        --collector-output $state/agent.log $state/gateway.log${sink_audit}${bugsink_audit}
Ctrl-C stops everything.
EOF

if [[ -n "${QUICKSTART_SECONDS:-}" ]]; then
  sleep "$QUICKSTART_SECONDS" & wait $!   # backgrounded so a signal runs the cleanup trap at once
else
  wait
fi

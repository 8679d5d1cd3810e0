#!/usr/bin/env bash
# Development only: a self-signed CA and a gateway certificate for the Kubernetes base's TLS hop
# (agent -> gateway), plus a random bearer token, written to files (never printed, never on a command line).
#   scripts/dev-ca.sh [OUT_DIR]          default OUT_DIR: ~/.cache/otel-clinic/dev-ca (outside the repository)
# Produces in OUT_DIR (mode 0700, files 0600):
#   ca.crt ca.key            the CA (ECDSA P-256, 30 days)
#   tls.crt tls.key          the gateway certificate, signed by the CA, for the gateway Service names and
#                            localhost/127.0.0.1 (30 days)
#   token                    the agents' bearer token (32 random bytes, hex)
# and prints the kubectl commands that load them as the base's Secrets (from files). Production: cert-manager
# (collector/k8s/cert-manager) or your organisation's CA, and the token from your secret store.
# DEV_CA_NAMES (space-separated) adds DNS names; DEV_CA_DAYS changes the validity.
set -euo pipefail
out="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/otel-clinic/dev-ca}"
days="${DEV_CA_DAYS:-30}"
command -v openssl >/dev/null || { echo "dev-ca.sh: openssl is required" >&2; exit 2; }
umask 077
mkdir -p "$out"
chmod 0700 "$out"

names=(otel-gateway.observability.svc otel-gateway.observability.svc.cluster.local
       otel-gateway-headless.observability.svc otel-gateway-headless.observability.svc.cluster.local localhost)
read -r -a extra <<< "${DEV_CA_NAMES:-}"
names+=("${extra[@]}")
san=""
for n in "${names[@]}"; do san+="DNS:$n,"; done
san+="IP:127.0.0.1"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$days" \
  -subj "/CN=otel-clinic dev telemetry CA" -keyout "$out/ca.key" -out "$out/ca.crt" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=otel-gateway.observability.svc" \
  -keyout "$out/tls.key" -out "$out/tls.csr" 2>/dev/null
openssl x509 -req -in "$out/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial -days "$days" \
  -out "$out/tls.crt" -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$san") 2>/dev/null
rm -f "$out/tls.csr" "$out/ca.srl"
# No trailing newline: kubectl --from-file keeps it, and the token would not match.
[[ -s "$out/token" ]] || printf '%s' "$(openssl rand -hex 32)" > "$out/token"

cat <<MSG
dev-ca.sh: wrote $out/{ca.crt,ca.key,tls.crt,tls.key,token}. Load them as the base's Secrets:
  kubectl -n observability create secret tls otel-gateway-tls --cert=$out/tls.crt --key=$out/tls.key
  kubectl -n observability create secret generic otel-gateway-token --from-file=token=$out/token
  kubectl -n observability-agent create secret generic otel-gateway-token --from-file=token=$out/token
  kubectl -n observability-agent create secret generic otel-gateway-ca --from-file=ca.crt=$out/ca.crt
MSG

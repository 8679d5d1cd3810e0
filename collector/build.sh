#!/usr/bin/env bash
# Build our Collector distribution `otelcol-clinic` from builder-config.yaml with the pinned OCB.
#   collector/build.sh            build if missing or stale (manifest or processor/ sources changed), else do nothing
#   collector/build.sh --force    rebuild
#   collector/build.sh --update-lock   rebuild and accept new resolved modules into distribution/go.{mod,sum}
# Output: collector/_build/otelcol-clinic (git-ignored), with our PHI processor (processor/phiprocessor). Go's module
# cache (GOMODCACHE) and build cache (GOCACHE) are reused, so a rebuild only compiles what changed.
# Supply chain: distribution/go.mod and go.sum are the committed, resolved module graph of the distribution. The
# build resolves the manifest against the committed go.sum (Go refuses any module whose hash differs), fails when
# the result differs from the committed files (a manifest change must come with --update-lock and a reviewed
# diff), checks the module cache with `go mod verify`, and compiles with -mod=readonly.
# TELEMETRYGEN=1 also installs telemetrygen (used by benchmarks/collector.py) next to the binary.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
manifest="$here/builder-config.yaml"
build_dir="$here/_build"
binary="$build_dir/otelcol-clinic"
stamp="$build_dir/otelcol-clinic.manifest-sha256"
lock_dir="$here/distribution"
src_dir="$build_dir/src"
# One release line for the builder, the manifest and telemetrygen (see builder-config.yaml).
OCB_VERSION="v0.161.0"
TELEMETRYGEN_VERSION="v0.161.0"
tools_bin="${OTEL_CLINIC_TOOLS_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/otel-clinic/bin}"

command -v go >/dev/null || { echo "build.sh: the Go toolchain (go) is required" >&2; exit 2; }
mkdir -p "$build_dir" "$tools_bin"
# One build at a time per checkout: concurrent builders would rewrite _build/src under each other. A second caller
# waits here, then finds the binary up to date (the stamp check below).
if command -v flock >/dev/null; then
  exec 9>"$build_dir/.build.lock"
  flock 9
fi

# The stamp covers the manifest, the builder version and the sources of our own components (processor/): a
# change to any of them rebuilds (Go's build cache keeps the rebuild to what changed).
own_sources() {
  # embedded/: the policy document and name lexicon compiled into the phi processor (go:embed)
  (cd "$here" && find processor -type f \( -name '*.go' -o -name go.mod -o -name go.sum -o -path '*/embedded/*' \) ! -name '*_test.go' | LC_ALL=C sort | xargs -r sha256sum)
}
want_hash="$( (cat "$manifest"; echo "ocb=$OCB_VERSION"; cat "$lock_dir/go.mod" "$lock_dir/go.sum" 2>/dev/null; own_sources) | sha256sum | cut -d' ' -f1)"
force=0
update_lock=0
case "${1:-}" in
  --force) force=1 ;;
  --update-lock) force=1; update_lock=1 ;;
esac

install_tool() {  # install_tool <module@version> <binary-name> <version-tag>
  local target="$tools_bin/$2-$3"
  if [[ ! -x "$target" ]]; then
    echo "build.sh: installing $1" >&2
    GOBIN="$tools_bin" CGO_ENABLED=0 go install "$1"
    mv "$tools_bin/$2" "$target"
  fi
  echo "$target"
}

if [[ "${TELEMETRYGEN:-0}" == "1" ]]; then
  tg="$(install_tool "github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@$TELEMETRYGEN_VERSION" telemetrygen "$TELEMETRYGEN_VERSION")"
  ln -sf "$tg" "$build_dir/telemetrygen"
fi

if [[ $force == 0 && -x "$binary" && -f "$stamp" && "$(cat "$stamp")" == "$want_hash" ]]; then
  echo "build.sh: $binary is up to date" >&2
  exit 0
fi

builder="$(install_tool "go.opentelemetry.io/collector/cmd/builder@$OCB_VERSION" builder "$OCB_VERSION")"
echo "build.sh: building otelcol-clinic (first build takes several minutes)" >&2
cd "$here"
# 1. Generate the sources and resolve the modules (go mod tidy + download) against the committed hashes: the
#    builder keeps a go.sum already in its output directory, and Go refuses a module whose hash differs.
rm -f "$src_dir/go.sum"
mkdir -p "$src_dir"
if [[ -f "$lock_dir/go.sum" ]]; then cp "$lock_dir/go.sum" "$src_dir/go.sum"; fi
"$builder" --config="$manifest" --skip-compilation
# 2. The resolved graph must be the committed one.
if [[ $update_lock == 1 ]]; then
  mkdir -p "$lock_dir"
  cp "$src_dir/go.mod" "$src_dir/go.sum" "$lock_dir/"
  echo "build.sh: updated $lock_dir/go.mod and go.sum: review and commit the diff" >&2
  want_hash="$( (cat "$manifest"; echo "ocb=$OCB_VERSION"; cat "$lock_dir/go.mod" "$lock_dir/go.sum"; own_sources) | sha256sum | cut -d' ' -f1)"
elif ! cmp -s "$src_dir/go.mod" "$lock_dir/go.mod" || ! cmp -s "$src_dir/go.sum" "$lock_dir/go.sum"; then
  diff -u "$lock_dir/go.mod" "$src_dir/go.mod" >&2 || true
  diff -u "$lock_dir/go.sum" "$src_dir/go.sum" | head -40 >&2 || true
  echo "build.sh: the modules resolved from builder-config.yaml differ from the committed collector/distribution/go.mod/go.sum (diff above); after reviewing, accept them with: collector/build.sh --update-lock" >&2
  exit 3
fi
(cd "$src_dir" && go mod verify >/dev/null)
# 3. Compile exactly that graph.
GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=readonly" "$builder" --config="$manifest" --skip-generate --skip-get-modules
mv -f "$src_dir/otelcol-clinic" "$binary"
echo "$want_hash" > "$stamp"
"$binary" --version >&2

#!/usr/bin/env bash
# Build the oras CLI (the OCI registry client that a registry artifact store uses, see
# README) from Go modules at a pinned version into .cache/oras/bin/oras (run: npm run
# oras:toolchain). An `oras` already on PATH is used by kmod-fleet as it is; this is for
# machines with Go and the module proxy but no oras package.
# Cold: about 70 s on 2 cores (37 MB of modules); warm (same version built): a no-op.
set -euo pipefail

version=1.3.6
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="$repo/.cache/oras"
bin="$cache/bin/oras"
log() { echo "oras-toolchain: $*" >&2; }

if [ -x "$bin" ] && "$bin" version 2>/dev/null | grep -q "^Version: *$version\$"; then
  log "warm: oras $version in $bin"
  exit 0
fi
command -v go >/dev/null || { log "error: go is not installed (needed to build oras $version)"; exit 1; }
mkdir -p "$cache"
start=$(date +%s)
log "building oras $version from Go modules (cold: about 70 s; log: $cache/build.log)"
export CGO_ENABLED=0 GOFLAGS="-buildvcs=false -p=${ORAS_TOOLCHAIN_JOBS:-2}" GOTOOLCHAIN=local GOBIN="$cache/bin.tmp"
rm -rf "$GOBIN"
if ! nice -n 10 go install -trimpath -ldflags "-s -w" "oras.land/oras/cmd/oras@v$version" >"$cache/build.log" 2>&1; then
  tail -20 "$cache/build.log" >&2
  log "error: building oras $version failed"
  exit 1
fi
mkdir -p "$cache/bin"
mv -f "$GOBIN/oras" "$bin"
rm -rf "$GOBIN"
"$bin" version | grep -q "^Version: *$version\$" || { log "error: the built oras does not report version $version"; exit 1; }
log "built oras $version in $(( $(date +%s) - start )) s: $bin"

#!/usr/bin/env bash
# Make the Pulumi CLI available offline for this project (run: npm run pulumi:toolchain).
#
# 1. If a real `pulumi` CLI is already on PATH (not the npm wrapper), use it.
#    Otherwise build, from Go modules at the pinned version, into .cache/pulumi/bin:
#      pulumi                         github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
#      pulumi-language-nodejs         dev/toolchain/langhost (this repo's own small language host)
#      pulumi-language-python         dev/toolchain/langhost-python (ours too: Python programs and
#                                     `pulumi package add` of the Fleet component package)
#      pulumi-resource-pulumi-nodejs  copied from node_modules/@pulumi/pulumi (dynamic providers)
# 2. Seed the cache of the npm package `pulumi` (a devDependency, same version), so that
#    `npx pulumi` runs these binaries instead of downloading:
#      $PULUMI_HOME/versions/<version>/bin/{pulumi,pulumi-language-nodejs,pulumi-language-python,pulumi-resource-pulumi-nodejs}
#    PULUMI_HOME defaults to <repo>/.cache/pulumi/home (see dev/toolchain/env.sh).
#
# Warm (binaries present and built from the same inputs): a no-op taking well under a second.
# Options: --force rebuilds; --check only reports whether the toolchain is ready (exit 1 if not);
#   --seed-default-home also links the binaries into ~/.pulumi/versions/<version>/bin (the npm
#   wrapper's default cache) so that a bare `npx pulumi` works without dev/toolchain/env.sh;
#   an existing CLI there (e.g. an official download) is left alone.
# Environment: PULUMI_TOOLCHAIN_JOBS (go build -p, default 2), PULUMI_TOOLCHAIN_NO_PATH=1
# (ignore a pulumi on PATH and use/build the pinned one).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=dev/toolchain/env.sh
source "$here/env.sh"

force=0
check=0
default_home=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --check) check=1 ;;
    --seed-default-home) default_home=1 ;;
    -h|--help) awk 'NR>1 && /^#/ {sub(/^# ?/, ""); print; next} NR>1 {exit}' "$0"; exit 0 ;;
    *) echo "pulumi.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

cache="$KMOD_PULUMI_CACHE"
bin="$KMOD_PULUMI_BUILD_BIN"
seed="$KMOD_PULUMI_SEED_BIN"
version="$KMOD_PULUMI_VERSION"
sdk_provider="$KMOD_REPO/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs"

log() { echo "pulumi-toolchain: $*" >&2; }

# A real CLI on PATH, skipping the npm wrapper (node_modules/.bin, which `npm run` puts
# first) and this toolchain's own folders.
find_path_pulumi() {
  local dir IFS=:
  for dir in $PATH; do
    [ -n "$dir" ] || continue
    case "$dir" in
      */node_modules/.bin|"$bin"|"$seed"|"$here") continue ;;
    esac
    if [ -x "$dir/pulumi" ] && [ ! -d "$dir/pulumi" ]; then
      # The npm wrapper is a node script; the real CLI is an ELF binary.
      if head -c 4 "$dir/pulumi" 2>/dev/null | grep -q 'ELF'; then
        echo "$dir/pulumi"
        return 0
      fi
    fi
  done
  return 1
}

# Fingerprint of everything the build depends on: a change rebuilds.
inputs_hash() {
  (
    cd "$here"
    echo "$version"
    go version 2>/dev/null || echo "no-go"
    cat go.mod go.sum langhost/*.go langhost-python/*.go langhost-python/*.py
  ) | sha256sum | cut -d' ' -f1
}

# Points $seed/<name> at $target (absolute symlink; re-run after moving the repo).
link_into_seed() {
  local name="$1" target="$2"
  mkdir -p "$seed"
  ln -sfn "$target" "$seed/$name"
}

seed_from() {
  local pulumi="$1" langhost="$2"
  if [ "$default_home" = 1 ]; then seed_default_home "$pulumi" "$langhost"; fi
  link_into_seed pulumi "$pulumi"
  if [ -n "$langhost" ]; then link_into_seed pulumi-language-nodejs "$langhost"; fi
  if [ -x "$bin/pulumi-language-python" ]; then
    link_into_seed pulumi-language-python "$bin/pulumi-language-python"
  fi
  if [ -x "$bin/pulumi-resource-pulumi-nodejs" ]; then
    link_into_seed pulumi-resource-pulumi-nodejs "$bin/pulumi-resource-pulumi-nodejs"
  fi
}

seed_default_home() {
  local dir="$HOME/.pulumi/versions/$version/bin" name target
  if [ -x "$dir/pulumi" ] && [ ! -L "$dir/pulumi" ]; then
    log "$dir/pulumi exists (not ours): left alone"
    return 0
  fi
  mkdir -p "$dir"
  for name in pulumi pulumi-language-nodejs pulumi-language-python pulumi-resource-pulumi-nodejs; do
    case "$name" in
      pulumi) target="$1" ;;
      pulumi-language-nodejs) target="$2" ;;
      *) target="$bin/$name" ;;
    esac
    if [ -n "$target" ] && [ -x "$target" ]; then ln -sfn "$target" "$dir/$name"; fi
  done
  log "also seeded $dir (bare \`npx pulumi\` now works without env.sh)"
}

copy_dynamic_provider() {
  mkdir -p "$bin"
  if [ -x "$sdk_provider" ]; then
    if ! cmp -s "$sdk_provider" "$bin/pulumi-resource-pulumi-nodejs" 2>/dev/null; then
      cp "$sdk_provider" "$bin/pulumi-resource-pulumi-nodejs.tmp"
      chmod 755 "$bin/pulumi-resource-pulumi-nodejs.tmp"
      mv -f "$bin/pulumi-resource-pulumi-nodejs.tmp" "$bin/pulumi-resource-pulumi-nodejs"
    fi
  else
    log "warning: $sdk_provider missing (run npm ci): dynamic providers will not start"
  fi
}

warm() {
  [ -x "$bin/pulumi" ] && [ -x "$bin/pulumi-language-nodejs" ] && [ -x "$bin/pulumi-language-python" ] &&
    [ -f "$bin/.inputs" ] && [ "$(cat "$bin/.inputs")" = "$(inputs_hash)" ]
}

seeded_ok() {
  [ -x "$seed/pulumi" ] && [ -x "$seed/pulumi-language-nodejs" ]
}

if [ "$check" = 1 ]; then
  if seeded_ok; then
    log "ready: $seed"
    exit 0
  fi
  log "not ready: no executable $seed/pulumi (run: npm run pulumi:toolchain)"
  exit 1
fi

# 1. A CLI already on PATH.
if [ "${PULUMI_TOOLCHAIN_NO_PATH:-0}" != 1 ] && [ "$force" = 0 ] && existing="$(find_path_pulumi)"; then
  langhost="$(dirname "$existing")/pulumi-language-nodejs"
  [ -x "$langhost" ] || langhost="$(command -v pulumi-language-nodejs || true)"
  copy_dynamic_provider
  seed_from "$existing" "$langhost"
  log "using $existing ($("$existing" version 2>/dev/null || echo 'version unknown')); seeded $seed"
  if [ -z "$langhost" ]; then
    log "warning: no pulumi-language-nodejs next to it or on PATH; set PULUMI_TOOLCHAIN_NO_PATH=1 to build one"
  fi
  exit 0
fi

# 2. Warm cache: nothing to build.
if [ "$force" = 0 ] && warm; then
  copy_dynamic_provider
  seed_from "$bin/pulumi" "$bin/pulumi-language-nodejs"
  log "warm: pulumi v$version in $bin; seeded $seed"
  exit 0
fi

# 3. Cold: build from the Go module proxy.
command -v go >/dev/null || { log "error: go is not installed (Go >= 1.25 needed to build pulumi)"; exit 1; }
mkdir -p "$cache"
exec 9>"$cache/.build.lock"
if command -v flock >/dev/null; then
  flock 9
  # Another run may have finished the build while we waited.
  if [ "$force" = 0 ] && warm; then
    copy_dynamic_provider
    seed_from "$bin/pulumi" "$bin/pulumi-language-nodejs"
    log "warm (built by a concurrent run); seeded $seed"
    exit 0
  fi
fi

jobs="${PULUMI_TOOLCHAIN_JOBS:-2}"
export CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=readonly -p=$jobs" GOTOOLCHAIN=local
ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version"
start=$(date +%s)
cd "$here"

log "building pulumi v$version from Go modules (cold: about 15 minutes on 2 cores; log: $cache/build.log)"
if ! nice -n 10 go mod download >"$cache/build.log" 2>&1; then
  log "go mod download failed; retrying once in 10 s"
  sleep 10
  nice -n 10 go mod download >>"$cache/build.log" 2>&1 ||
    { tail -20 "$cache/build.log" >&2; log "error: go mod download failed twice"; exit 1; }
fi

mkdir -p "$bin"
build() {
  local out="$1" pkg="$2"
  nice -n 10 go build -trimpath -tags osusergo,grpcnotrace -ldflags "$ldflags" \
    -o "$bin/$out.tmp" "$pkg" >>"$cache/build.log" 2>&1 ||
    { tail -30 "$cache/build.log" >&2; log "error: building $out failed"; exit 1; }
  mv -f "$bin/$out.tmp" "$bin/$out"
}
build pulumi-language-nodejs ./langhost
build pulumi-language-python ./langhost-python
build pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi

got="$("$bin/pulumi" version)"
[ "$got" = "v$version" ] || { log "error: built CLI reports $got, expected v$version"; exit 1; }
inputs_hash >"$bin/.inputs"
copy_dynamic_provider
seed_from "$bin/pulumi" "$bin/pulumi-language-nodejs"
log "built pulumi $got in $(( $(date +%s) - start )) s; seeded $seed"

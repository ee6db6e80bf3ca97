#!/usr/bin/env bash
# npm run demo: the whole recipe of the seed on the built-in test fleet, as one `pulumi up`.
# Sets up what it needs first (Debian packages as root, npm packages, the Pulumi toolchain,
# the fleet's images), so it works on a fresh clone.
#   npm run demo            boot 2 hosts, pulumi preview, pulumi up, show what was loaded
#   npm run demo -- --hosts 3   the same on 3 hosts (still one build per kernel)
#   npm run demo -- down    pulumi destroy, then stop the fleet
set -euo pipefail
cd "$(dirname "$0")/.."

missing=$(grep -Ev '^\s*(#|$)' .ci/apt-packages | while read -r p; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done | tr '\n' ' ')
if [ -n "${missing// /}" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "demo: these Debian packages are missing; install them as root: $missing" >&2
    exit 1
  fi
  echo "demo: installing Debian packages: $missing"
  apt-get update -q
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi
[ -x node_modules/.bin/tsx ] || npm ci --no-audit --no-fund
npm run -s pulumi:toolchain
exec node_modules/.bin/tsx demo/demo.ts "$@"

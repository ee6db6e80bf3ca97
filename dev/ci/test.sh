#!/usr/bin/env bash
# `npm test`: every suite of the README's table. The QEMU guests need the machine to
# themselves, so the suites on VMs run last and alone. Before them, two jobs that keep the
# CPU busy but check nothing against a clock run in the background, niced, while the
# loopback suites run in the foreground:
#   - the test fleet's images (cold: several minutes of downloads, debootstrap and
#     compression); the fleet tests would otherwise build them first, and wait for this
#     build if it still runs (a lock in dev/testbed/images.ts);
#   - the kernel suite (cold: it fetches and unpacks Debian's kernel trees).
# Their output is shown when they end. The first failing suite stops the run before the VMs.
set -uo pipefail
cd "$(dirname "$0")/../.."
logs=.cache/test-logs
mkdir -p "$logs"

nice npm run -s testbed -- build >"$logs/images-build.log" 2>&1 &
images=$!
nice npm run test:kernel >"$logs/kernel.log" 2>&1 &
kernel=$!

status=0
foreground() {
    [ "$status" -eq 0 ] || return 0
    "$@" || status=$?
}
foreground npm run test:unit
foreground npm run test:provider
foreground npm run test:registry
foreground npm run test:package
foreground npm run test:scale
# The e2e project's tests on loopback hosts (the engine, kmod-fleet watch, the program):
# every e2e file but the lifecycle, the only one on VMs.
foreground npx vitest run --project e2e --exclude test/e2e/lifecycle.test.ts

# Never leave the background jobs behind (debootstrap mounts into its chroot): wait for both.
kernel_status=0
wait "$kernel" || kernel_status=$?
echo "=== npm run test:kernel (ran in the background; its output, $logs/kernel.log)"
cat "$logs/kernel.log"
[ "$status" -ne 0 ] || status=$kernel_status
if wait "$images"; then
    echo "=== the fleet's images (built in the background; $logs/images-build.log)"
    grep '^testbed: ' "$logs/images-build.log" || true
else
    echo "=== the background build of the fleet's images failed; the fleet tests build again and say why. The end of $logs/images-build.log:"
    tail -n 30 "$logs/images-build.log"
fi
[ "$status" -eq 0 ] || exit "$status"

npx vitest run --project fleet && npx vitest run --project e2e test/e2e/lifecycle.test.ts

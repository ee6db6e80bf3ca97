#!/usr/bin/env bash
# `npm test`: every suite, in the order of the README's table. The test fleet's images are
# built in the background meanwhile (cold, several minutes of downloads, debootstrap and
# compression, niced), so that the fleet tests find them ready instead of building them
# first; they wait for that build if it still runs (a lock in dev/testbed/images.ts). A
# failing image build is not fatal here: the fleet tests build again and say what failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .cache/testbed
images_log=.cache/testbed/images-build.log
npm run -s testbed -- build >"$images_log" 2>&1 &
images=$!

status=0
for suite in unit provider registry kernel package scale; do
    npm run "test:$suite" || { status=$?; break; }
done

# Never leave the build half done behind us (debootstrap mounts into its chroot): wait.
if ! wait "$images"; then
    echo "test: the background build of the fleet's images failed (log: $images_log); the fleet tests try again"
fi
[ "$status" -eq 0 ] || exit "$status"
npm run test:e2e

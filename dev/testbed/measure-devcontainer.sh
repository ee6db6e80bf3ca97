#!/bin/bash
# Runs INSIDE a test host (piped through `npm run testbed -- ssh h1 -- bash -s < ...`):
# times the developer container download, signature check and decompression, then a
# build of the fixture and of the in-tree option, the way kmod-fleet's build step does it.
# Usage: bash -s BASE_URL IN_TREE_OPTION IN_TREE_DIR < measure-devcontainer.sh
# Expects /root/signing-key.asc (from stack-config) and /root/kmod-pair (the fixture):
#   npm run -s testbed -- stack-config | jq -r .profile.signingKey | npm run -s testbed -- ssh h1 -- 'cat > /root/signing-key.asc'
#   tar -C dev/testbed/fixtures -c kmod-pair | npm run -s testbed -- ssh h1 -- tar -x -C /root
#   npm run -s testbed -- ssh h1 -- bash -s http://10.0.2.2:22180 BFS_FS fs/bfs < dev/testbed/measure-devcontainer.sh
set -eu
base="$1"; opt="$2"; dir="$3"
. /usr/share/flatcar/release
. /usr/share/flatcar/update.conf
url="$base/${GROUP}/${FLATCAR_RELEASE_BOARD}/${FLATCAR_RELEASE_VERSION}/flatcar_developer_container.bin.bz2"
work=/var/lib/testbed/measure
rm -rf "$work"; mkdir -p "$work/src" "$work/job"
cd "$work"
elapsed() { awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $1}"; }
s=$(date +%s.%N)
[ -n "${SKIP_DOWNLOAD:-}" ] && [ -f /var/lib/testbed/image.bin.bz2 ] && mv /var/lib/testbed/image.bin.bz2 image.bin.bz2 || curl -fsS -o image.bin.bz2 "$url"
curl -fsS -o image.bin.bz2.sig "$url.sig"
echo "download_s=$(elapsed "$s") bytes=$(stat -c %s image.bin.bz2)"
s=$(date +%s.%N)
export GNUPGHOME="$work/gnupg"; mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --import /root/signing-key.asc
gpg --batch --verify image.bin.bz2.sig image.bin.bz2 2>&1 | grep -E 'Good signature|BAD' >&2
echo "verify_s=$(elapsed "$s")"
s=$(date +%s.%N)
bunzip2 image.bin.bz2
echo "decompress_s=$(elapsed "$s") image_bytes=$(stat -c %s image.bin)"
cp -r /root/kmod-pair "$work/job/src"
nspawn() { systemd-nspawn --quiet --register=no --read-only --image="$work/image.bin" --bind="$work/src:/usr/src" --bind="$work/job:/mnt/kmod-fleet" --bind-ro=/boot "$@"; }
s=$(date +%s.%N)
nspawn kmod-fleet-sources
echo "sources_first_s=$(elapsed "$s")"
s=$(date +%s.%N)
nspawn kmod-fleet-sources
echo "sources_again_s=$(elapsed "$s")"
s=$(date +%s.%N)
nspawn sh -c "cd /usr/src/linux && make -s M=/mnt/kmod-fleet/src modules" >&2
echo "fixture_build_s=$(elapsed "$s")"
ls "$work/job/src/"*.ko >&2
s=$(date +%s.%N)
nspawn sh -c "cd /usr/src/linux && cp /boot/config-\$(uname -r) .config && scripts/config -m $opt && make -s olddefconfig && make -s modules_prepare && make -s M=$dir modules" >&2
echo "intree_build_s=$(elapsed "$s")"
ls "$work/src/linux/$dir/"*.ko >&2
modinfo -F vermagic "$work/src/linux/$dir/"*.ko >&2

#!/bin/sh
# Flatcar's /usr is read-only from the initrd on; a staged update is applied once its
# release runs (partition.sh has switched to the booted release already).
set -eu
status=/var/lib/testbed/update-status
. /usr/share/flatcar/release
if [ -f "$status" ] && grep -qx "NEW_VERSION=$FLATCAR_RELEASE_VERSION" "$status"; then
    rm -f "$status"
fi
# Private: as a peer of / (systemd makes / shared) every mount under /usr would also
# appear on the hidden /usr below, where it can never be unmounted ("target is busy").
if ! findmnt -n -o OPTIONS /usr | grep -qw ro; then
    mount --bind /usr /usr
    mount --make-private /usr
    mount -o remount,bind,ro /usr
fi
# The passive partition is not part of the running system.
parts=/usr/lib/testbed/partitions
mountpoint -q "$parts" || mount -t tmpfs -o ro,mode=0755,size=4k testbed-passive "$parts"

#!/bin/sh
# Copy the per-host identity from the small seed disk QEMU attaches (label tbseed).
set -eu
mnt=/run/testbed-seed
mkdir -p "$mnt"
mount -o ro /dev/disk/by-label/tbseed "$mnt"
trap 'umount "$mnt"' EXIT
install -m 0600 "$mnt/ssh_host_ed25519_key" /etc/ssh/ssh_host_ed25519_key
install -m 0644 "$mnt/ssh_host_ed25519_key.pub" /etc/ssh/ssh_host_ed25519_key.pub
install -d -m 0700 /root/.ssh
install -m 0600 "$mnt/authorized_keys" /root/.ssh/authorized_keys
name=$(cat "$mnt/hostname")
echo "$name" >/etc/hostname
hostname "$name"

#!/bin/sh
# Copy the per-host identity from the small seed disk QEMU attaches (label tbseed), and
# at the first boot the update settings a user of this fleet starts with.
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
# The user's update.conf, written once: the release server as the update SERVER, and
# REBOOT_STRATEGY=off so that only a test that sets a strategy has its host reboot by itself.
mkdir -p /etc/flatcar
[ -e /etc/flatcar/update.conf ] || install -m 0644 "$mnt/update.conf" /etc/flatcar/update.conf

#!/bin/bash
# Build the host image: Debian bookworm dressed as Flatcar, with every test kernel's
# modules in a read-only /usr/lib/modules. Output (in OUT):
#   base.qcow2             root file system (ext4), shared read-only by all hosts
#   vmlinuz-<kver>, initrd.img-<kver>   for QEMU direct kernel boot
# Usage: build-host.sh OUT DEBS_DIR GROUP KVER=OSVERSION...
#   DEBS_DIR/KVER/: that kernel's packages (linux-image-KVER is installed).
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/common.sh"

[ "$#" -ge 4 ] || die "usage: build-host.sh OUT DEBS_DIR GROUP KVER=OSVERSION..."
out="$1"; debs="$2"; group="$3"; shift 3
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot)"

work="$out.work"
root="$work/rootfs"
rm -rf "$work"
mkdir -p "$work" "$out"
trap 'chroot_release' EXIT

# gpg-agent: `gpg --import` wants an agent even for public keys (Flatcar has one).
# bzip2 and lbzip2: Flatcar's image has both (coreos-base/coreos).
pkgs=systemd,systemd-sysv,openssh-server,kmod,udev,iproute2,systemd-container,dbus,gpg,gpg-agent,gpgv,curl,ca-certificates,bzip2,lbzip2,initramfs-tools,linux-base,procps
echo "== debootstrap host rootfs" >&2
debootstrap --variant=minbase --include="$pkgs" "$SUITE" "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed (log: $work/debootstrap.log)"; }

# Small initrd: only what finds a virtio root disk (ext4 is built into the cloud kernel).
sed -i 's/^MODULES=.*/MODULES=list/' "$root/etc/initramfs-tools/initramfs.conf"
printf '%s\n' virtio_pci virtio_blk >>"$root/etc/initramfs-tools/modules"

echo "== install kernels" >&2
chroot_prepare "$root"
mkdir -p "$root/tmp/debs"
for spec in "$@"; do
    kver="${spec%%=*}"
    cp "$(one_deb "$debs/$kver" "linux-image-$kver")" "$root/tmp/debs/"
done
chroot "$root" sh -c 'dpkg -i /tmp/debs/*.deb' >"$work/kernels.log" 2>&1 \
    || { tail -20 "$work/kernels.log" >&2; die "kernel install failed"; }
rm -rf "$root/tmp/debs"
chroot_release

echo "== dress as Flatcar" >&2
cp -a "$here/host-files/." "$root/"
chmod 0755 "$root/usr/bin/update_engine_client" "$root/usr/lib/testbed/"*.sh
# One "USR partition" per release, as on Flatcar's A/B update: its release files and its
# kernel's modules. At boot, partition.sh shows the booted release's partition as /usr's
# modules and release files and dress.sh hides the others, so a staged release's modules
# are not visible before the reboot (Flatcar writes them to the passive partition).
parts="$root/usr/lib/testbed/partitions"
mkdir -p "$root/usr/share/flatcar"
for spec in "$@"; do
    kver="${spec%%=*}"; osv="${spec#*=}"
    d="$parts/$kver"
    mkdir -p "$d/modules"
    mv "$root/usr/lib/modules/$kver" "$d/modules/$kver"
    cat >"$d/release" <<REL
FLATCAR_RELEASE_VERSION=$osv
FLATCAR_RELEASE_BOARD=amd64-usr
FLATCAR_RELEASE_APPID={e96281a6-d1af-4bde-9a0a-97b76e56dc57}
REL
    cat >"$d/os-release" <<REL
NAME="Flatcar Container Linux by Kinvolk"
ID=flatcar
ID_LIKE=coreos
VERSION=$osv
VERSION_ID=$osv
BUILD_ID=testbed
PRETTY_NAME="Flatcar Container Linux by Kinvolk $osv (testbed, Debian $(cat "$root/etc/debian_version") inside)"
ANSI_COLOR="38;5;75"
HOME_URL="https://flatcar.org/"
REL
done
[ -z "$(ls -A "$root/usr/lib/modules")" ] || die "modules of unknown kernels in /usr/lib/modules: $(ls "$root/usr/lib/modules")"
first="${1%%=*}"
cp "$parts/$first/release" "$root/usr/share/flatcar/release"
cp "$parts/$first/os-release" "$root/usr/lib/os-release"
printf 'GROUP=%s\n' "$group" >"$root/usr/share/flatcar/update.conf"
ln -sfn ../usr/lib/os-release "$root/etc/os-release"
mkdir -p "$root/opt" "$root/var/lib/testbed" "$root/etc/flatcar" "$root/root/.ssh"
chmod 0700 "$root/root/.ssh"

# Every host gets its own identity from its seed disk, so the base holds none.
rm -f "$root"/etc/ssh/ssh_host_*
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
echo testbed >"$root/etc/hostname"
chroot "$root" systemctl enable systemd-networkd.service testbed-seed.service testbed-partition.service flatcar-dress.service locksmithd.service >/dev/null 2>&1
chroot "$root" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
    systemd-networkd-wait-online.service getty@tty1.service >/dev/null 2>&1 || true

# QEMU boots the kernels directly. In the guest, each release's kernel image is the update
# payload `testbed update-kernel` writes to the passive slot of the ESP (/boot/flatcar/
# vmlinuz-a or -b, as Flatcar's postinstall step does); /boot keeps only the configs.
mkdir -p "$root/usr/lib/testbed/payloads" "$root/boot/flatcar"
for spec in "$@"; do
    kver="${spec%%=*}"
    cp "$root/boot/vmlinuz-$kver" "$out/vmlinuz-$kver"
    cp "$root/boot/initrd.img-$kver" "$out/initrd.img-$kver"
    mv "$root/boot/vmlinuz-$kver" "$root/usr/lib/testbed/payloads/vmlinuz-$kver"
done
rm -f "$root"/boot/initrd.img-* "$root"/boot/System.map-*
slim_rootfs "$root"

echo "== make image" >&2
# A sparse 4 GiB file system: room for developer containers and builds in each overlay.
# Its inode tables and journal are written here, once (lazy_*_init=0). Left lazy, every
# fresh host's kernel zeroes them in the background after its first boot (ext4lazyinit):
# tens of MiB written through qcow2 while three TCG guests boot at once, which is when a
# guest of CI's run stalled (soft lockup in ext4lazyinit) and never answered SSH.
rm -f "$work/base.raw"
truncate -s 4G "$work/base.raw"
mkfs.ext4 -q -F -L tbroot -m 0 -E root_owner=0:0,lazy_itable_init=0,lazy_journal_init=0 -d "$root" "$work/base.raw"
qemu-img convert -O qcow2 "$work/base.raw" "$out/base.qcow2"
rm -rf "$work"
echo "== host image ready in $out" >&2

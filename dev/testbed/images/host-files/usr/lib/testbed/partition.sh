#!/bin/sh
# On Flatcar an OS update writes a new /usr (kernel, modules, release files) to the passive
# USR partition, and the reboot switches partitions. Here every release's "partition" is a
# folder in the image (/usr/lib/testbed/partitions/<kernel>/); at boot the booted kernel's
# one becomes /usr/lib/modules/<kernel> and the release files, and the others stay in
# their folder (dress.sh hides it), so a staged release's modules are not visible before
# the reboot, as on Flatcar. The root file system is writable this early (root=... rw).
set -eu
kver=$(uname -r)
parts=/usr/lib/testbed/partitions
[ -d "$parts/$kver" ] || { echo "testbed-partition: no partition for kernel $kver" >&2; exit 1; }
# Put back what an earlier boot showed, then show this boot's release.
for d in /usr/lib/modules/*; do
    [ -d "$d" ] || continue
    k=$(basename "$d")
    if [ "$k" != "$kver" ] && [ -d "$parts/$k/modules" ] && [ ! -e "$parts/$k/modules/$k" ]; then
        mv "$d" "$parts/$k/modules/$k"
    fi
done
[ -d "/usr/lib/modules/$kver" ] || mv "$parts/$kver/modules/$kver" "/usr/lib/modules/$kver"
cmp -s "$parts/$kver/release" /usr/share/flatcar/release || cp "$parts/$kver/release" /usr/share/flatcar/release
cmp -s "$parts/$kver/os-release" /usr/lib/os-release || cp "$parts/$kver/os-release" /usr/lib/os-release
# The ESP's A/B kernel images: the booted kernel is in one slot (the first boot puts it in
# slot a); an update writes the other (testbed update-kernel), as Flatcar's does.
esp=/boot/flatcar
payload=/usr/lib/testbed/payloads/vmlinuz-$kver
mkdir -p "$esp"
if ! cmp -s "$payload" "$esp/vmlinuz-a" && ! cmp -s "$payload" "$esp/vmlinuz-b"; then
    if [ ! -e "$esp/vmlinuz-a" ]; then slot=a; elif [ ! -e "$esp/vmlinuz-b" ]; then slot=b; else slot=a; fi
    cp "$payload" "$esp/vmlinuz-$slot"
fi

#!/bin/bash
# Build one developer container per test kernel: a Debian rootfs with a kernel build
# toolchain and that kernel's source tree, prepared natively (so a guest under TCG only
# compiles what its own config change and module directory need).
# Output (in OUT/<kver>/): flatcar_developer_container.bin.bz2 and .bin (ext4 image).
# Usage: build-devcontainer.sh OUT DEBS_DIR INTREE_DIR KVER...
#   INTREE_DIR: the in-tree directory whose C sources are kept (e.g. fs/bfs).
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/common.sh"

[ "$#" -ge 4 ] || die "usage: build-devcontainer.sh OUT DEBS_DIR INTREE_DIR KVER..."
out="$1"; debs="$2"; intree="$3"; shift 3
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot)"
jobs="${TESTBED_JOBS:-2}"

work="$out.work"
base="$work/base"
rm -rf "$work"
mkdir -p "$work" "$out"
trap 'chroot_release' EXIT

pkgs=gcc,make,libc6-dev,binutils,kmod,bc,flex,bison,libelf-dev,libssl-dev,perl,cpio,xz-utils,bzip2
echo "== debootstrap developer rootfs" >&2
debootstrap --variant=minbase --include="$pkgs" "$SUITE" "$base" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed (log: $work/debootstrap.log)"; }
slim_rootfs "$base"
install -m 0755 "$here/kmod-fleet-sources" "$base/usr/bin/kmod-fleet-sources"
# Bind targets must exist in a read-only image.
mkdir -p "$base/usr/src" "$base/mnt/kmod-fleet" "$base/usr/lib/modules" "$base/usr/share/kmod-fleet"

for kver in "$@"; do
    img_deb=$(ls "$debs"/linux-image-"$kver"_*.deb 2>/dev/null | head -1)
    hdr_deb=$(ls "$debs"/linux-headers-"$kver"_*.deb 2>/dev/null | head -1)
    [ -n "$img_deb" ] && [ -n "$hdr_deb" ] || die "missing linux-image/linux-headers package for $kver in $debs"
    debver=$(dpkg-deb -f "$img_deb" Version)
    src_deb=$(ls "$debs"/linux-source-6.1_"$debver"_all.deb 2>/dev/null | head -1)
    [ -n "$src_deb" ] || die "missing linux-source-6.1_${debver}_all.deb in $debs (needed for $kver)"

    echo "== $kver: rootfs and sources ($debver)" >&2
    root="$work/rootfs-$kver"
    cp -a "$base" "$root"
    tree="$root/usr/src/linux-$kver"
    dpkg-deb --fsys-tarfile "$src_deb" | tar -xO ./usr/src/linux-source-6.1.tar.xz \
        | tar -xJ -C "$root/usr/src" --wildcards --exclude="linux-source-6.1/Documentation/[!K]*" \
            --exclude=linux-source-6.1/tools/testing --exclude=linux-source-6.1/tools/perf
    mv "$root/usr/src/linux-source-6.1" "$tree"
    hdr="./usr/src/linux-headers-$kver"
    dpkg-deb --fsys-tarfile "$hdr_deb" | tar -xO "$hdr/.config" >"$tree/.config"
    # The Debian release string, not 6.1.NNN, so that vermagic matches the running kernel.
    sed -i '/^filechk_kernel.release = \\$/{n;s/.*/\techo "'"$kver"'"/}' "$tree/Makefile"
    grep -q "echo \"$kver\"" "$tree/Makefile" || die "could not pin kernel.release in $tree/Makefile"

    echo "== $kver: make olddefconfig modules_prepare (native)" >&2
    chroot_prepare "$root"
    chroot "$root" sh -c "cd /usr/src/linux-$kver && make -s olddefconfig && make -s -j$jobs modules_prepare" \
        >"$work/prepare-$kver.log" 2>&1 || { tail -30 "$work/prepare-$kver.log" >&2; die "modules_prepare failed for $kver"; }
    chroot_release
    [ "$(cat "$tree/include/config/kernel.release")" = "$kver" ] || die "kernel.release is not $kver"
    # The real symbol CRCs of the Debian build (CONFIG_MODVERSIONS=y).
    dpkg-deb --fsys-tarfile "$hdr_deb" | tar -xO "$hdr/Module.symvers" >"$tree/Module.symvers"
    [ -s "$tree/Module.symvers" ] || die "no Module.symvers in $hdr_deb"

    echo "== $kver: trim" >&2
    # Keep every Kconfig, Makefile, Kbuild and header; drop C and assembler sources of
    # drivers, file systems, networking and sound except the in-tree test directory.
    for d in drivers fs net sound; do
        find "$tree/$d" -type f \( -name '*.c' -o -name '*.S' \) ! -path "$tree/$intree/*" -delete
    done
    rm -rf "$tree/samples" "$tree/.tmp_versions"
    printf '%s %s\n' "$kver" "$debver" >"$tree/.kmod-fleet-sources"
    mkdir -p "$root/usr/share/kmod-fleet"
    mv "$tree" "$root/usr/share/kmod-fleet/linux-$kver"

    echo "== $kver: image" >&2
    mkdir -p "$out/$kver"
    make_ext4 "$root" "$out/$kver/flatcar_developer_container.bin" 32 kmodfleetdev
    rm -rf "$root"
done

echo "== compress" >&2
# Compress the images in parallel (one bzip2 per image).
pids=""
for kver in "$@"; do
    ( bzip2 -9 -c "$out/$kver/flatcar_developer_container.bin" >"$out/$kver/flatcar_developer_container.bin.bz2.tmp" \
        && mv "$out/$kver/flatcar_developer_container.bin.bz2.tmp" "$out/$kver/flatcar_developer_container.bin.bz2" ) &
    pids="$pids $!"
done
for p in $pids; do wait "$p" || die "bzip2 failed"; done
rm -rf "$work"
echo "== developer containers ready in $out" >&2

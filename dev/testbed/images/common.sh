# Shared helpers for the image build scripts (sourced, not run).
# Expects: set -eu in the caller.

die() { echo "testbed image build: $*" >&2; exit 1; }

# The one package file of NAME in DIR (a kernel's own download folder); two or none is an
# error, never a silent pick.
one_deb() {
    dir="$1"; name="$2"
    set -- "$dir/${name}_"*.deb
    [ "$#" = 1 ] && [ -f "$1" ] || die "expected exactly one ${name}_*.deb in $dir, found: $*"
    printf '%s\n' "$1"
}

# Debian mirror used by debootstrap; the registry is the only network we may use.
MIRROR="${TESTBED_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm

# Bind the pseudo file systems a chroot needs and undo them on exit.
CHROOT_MOUNTS=""
chroot_prepare() {
    root="$1"
    for fs in proc sys dev dev/pts; do
        mkdir -p "$root/$fs"
        mount --bind "/$fs" "$root/$fs"
        CHROOT_MOUNTS="$root/$fs $CHROOT_MOUNTS"
    done
}
chroot_release() {
    for m in $CHROOT_MOUNTS; do umount -l "$m" 2>/dev/null || true; done
    CHROOT_MOUNTS=""
}

# Drop what a guest never reads: documentation, locales, apt caches.
slim_rootfs() {
    root="$1"
    rm -rf "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/info" \
        "$root/usr/share/locale" "$root/usr/share/lintian" \
        "$root/var/cache/apt/"*.bin "$root/var/cache/apt/archives/"*.deb \
        "$root/var/lib/apt/lists/"* "$root/var/log/"*.log
    mkdir -p "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/locale"
}

# Make an ext4 image of a directory, sized to its content plus some slack (MiB), with
# enough inodes for a kernel tree's many small files.
make_ext4() {
    dir="$1"; img="$2"; slack_mb="$3"; label="$4"
    used_mb=$(du -sm "$dir" | cut -f1)
    files=$(find "$dir" | wc -l)
    inodes=$(( files + files / 8 + 1024 ))
    size_mb=$(( used_mb + used_mb / 8 + inodes / 4096 + slack_mb ))
    rm -f "$img"
    truncate -s "${size_mb}M" "$img"
    mkfs.ext4 -q -F -L "$label" -N "$inodes" -m 0 -E root_owner=0:0 -d "$dir" "$img"
}

#!/bin/sh
# Fetch the real kernel data the `kernel` test project needs, from Debian's packages,
# into the gitignored cache .cache/kernel-data/ (or $KERNEL_DATA). Idempotent: a stamp
# file records a finished fetch, so a second run costs nothing.
#
# What it leaves (paths relative to the cache):
#   src/            the linux-source-6.1 tree, where olddefconfig runs (always with O=)
#   config/cloud-amd64.config  config/amd64.config   Debian's configs (linux-config-6.1)
#   cloud/Module.symvers  cloud/config                from linux-headers-<abi>-cloud-amd64
#   VERSIONS        the package versions used
#
# Needs: apt-get (with a fresh `apt-get update`), dpkg-deb, tar, xz.
# Versions can be overridden: KERNEL_DEB_VERSION=6.1.192-2 KERNEL_ABI=6.1.0-56.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
data=${KERNEL_DATA:-$root/.cache/kernel-data}
version=${KERNEL_DEB_VERSION:-6.1.192-2}
abi=${KERNEL_ABI:-6.1.0-56}
stamp="$data/.complete-$version"

if [ -f "$stamp" ]; then
  echo "kernel data already in $data ($version)"
  exit 0
fi

for tool in apt-get dpkg-deb tar xz; do
  command -v "$tool" >/dev/null 2>&1 || { echo "fetch-kernel-data: missing tool '$tool'" >&2; exit 1; }
done

mkdir -p "$data/debs"
cd "$data/debs"

fetch() { # package version
  if ! ls "$1"_"$(echo "$2" | sed 's/:/%3a/')"_*.deb >/dev/null 2>&1; then
    apt-get download "$1=$2" || {
      echo "fetch-kernel-data: cannot download $1=$2; run 'apt-get update' or set KERNEL_DEB_VERSION to one 'apt-cache policy $1' lists" >&2
      exit 1
    }
  fi
}
fetch linux-source-6.1 "$version"
fetch linux-config-6.1 "$version"
fetch "linux-headers-$abi-cloud-amd64" "$version"
fetch "linux-headers-$abi-common" "$version"

tmp="$data/tmp"
rm -rf "$tmp" && mkdir -p "$tmp"

# Source tree: the package holds one .tar.xz (Documentation/ is kept: Kconfig sources Documentation/Kconfig).
dpkg-deb -x linux-source-6.1_*.deb "$tmp/source"
rm -rf "$data/src"
mkdir -p "$data/src"
xz -dc -T2 "$tmp"/source/usr/src/linux-source-6.1.tar.xz \
  | tar -x -C "$data/src" --strip-components=1

# Configs.
dpkg-deb -x linux-config-6.1_*.deb "$tmp/config"
mkdir -p "$data/config"
xz -dc "$tmp"/config/usr/src/linux-config-6.1/config.amd64_none_cloud-amd64.xz > "$data/config/cloud-amd64.config"
xz -dc "$tmp"/config/usr/src/linux-config-6.1/config.amd64_none_amd64.xz > "$data/config/amd64.config"

# The running cloud kernel's Module.symvers and .config.
dpkg-deb -x "linux-headers-$abi-cloud-amd64"_*.deb "$tmp/headers"
mkdir -p "$data/cloud"
cp "$tmp/headers/usr/src/linux-headers-$abi-cloud-amd64/Module.symvers" "$data/cloud/Module.symvers"
cp "$tmp/headers/usr/src/linux-headers-$abi-cloud-amd64/.config" "$data/cloud/config"

rm -rf "$tmp"
printf 'linux-source-6.1 %s\nlinux-config-6.1 %s\nlinux-headers-%s-cloud-amd64 %s\n' \
  "$version" "$version" "$abi" "$version" > "$data/VERSIONS"
touch "$stamp"
echo "kernel data ready in $data ($version)"

#!/bin/sh
# Fetch the real kernel data the `kernel` test project needs, from Debian's packages, into
# the gitignored cache .cache/kernel-data/ (or $KERNEL_DATA).
#
#   fetch-kernel-data.sh [resolve|fetch] [GENERATION...]     (default: fetch 5.10 6.1 6.12)
#
# Which packages: for each kernel generation, the newest Debian version that the package
# index lists for all of linux-source-X, linux-config-X (amd64 and arm64: each
# architecture's package carries only its own configs) and one
# linux-headers-<abi>-cloud-amd64 (the ABI is whatever that upload's headers carry). When
# no version has cloud headers, the newest version with source and configs is taken and
# the set says "headers: none". Nothing names a version: what Debian serves today decides.
#   5.10 bullseye, 6.1 bookworm, 6.12 trixie: each from a private apt configuration under
#   .cache/apt/<suite>/ (amd64 and arm64 indexes, updated when older than a day). The
#   system's sources are never touched; its index has no arm64 and may be stale.
# Override per generation: KERNEL_DEB_VERSION_5_10=5.10.262-1 (or _6_1, _6_12).
#
# `resolve` prints one line per generation, "GEN VERSION SOURCE CONFIG HEADERS|none", and
# exits 1 naming the missing packages when a generation has no usable set.
#
# What `fetch` leaves, per generation, in $data/<gen>/<version>/ (built in a temporary
# folder and renamed at the end, so a half-finished fetch never looks finished), with
# $data/<gen>/current a symlink to the newest finished one:
#   src/                  the linux-source tree (olddefconfig runs there, always with O=)
#   config/<flavour>.config   Debian's configs: amd64, cloud-amd64, arm64, cloud-arm64 ...
#   cloud/Module.symvers cloud/config   from linux-headers-<abi>-cloud-amd64, when it exists
#   PACKAGES              the packages and versions used
#
# Needs: apt-get, apt-cache, dpkg-deb, tar, xz.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
data=${KERNEL_DATA:-$root/.cache/kernel-data}
apt_root=${KERNEL_APT_CACHE:-$root/.cache/apt}

mode=fetch
case "${1:-}" in resolve|fetch) mode=$1; shift ;; esac
[ $# -gt 0 ] || set -- 5.10 6.1 6.12

apt_opts=""
die() { echo "fetch-kernel-data: $*" >&2; exit 1; }

for tool in apt-get apt-cache dpkg-deb tar xz; do
  command -v "$tool" >/dev/null 2>&1 || die "missing tool '$tool'"
done

suite_of() {
  case "$1" in
    5.10) echo bullseye ;;
    6.1) echo bookworm ;;
    6.12) echo trixie ;;
    *) die "unknown generation '$1' (known: 5.10 6.1 6.12)" ;;
  esac
}

# Sets $apt_opts for the generation's suite; a private configuration is created and
# updated when its lists are missing or older than a day. The system's sources are never touched.
apt_setup() {
  suite=$(suite_of "$1")
  d="$apt_root/$suite"
  mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
  # The full keyring: the per-release ones lack the security archive's keys.
  key=/usr/share/keyrings/debian-archive-keyring.gpg
  cat > "$d/sources.list.new" <<EOF
deb [arch=amd64,arm64 signed-by=$key] http://deb.debian.org/debian $suite main
deb [arch=amd64,arm64 signed-by=$key] http://deb.debian.org/debian-security $suite-security main
EOF
  # Fresh: updated less than a day ago from exactly these sources.
  fresh=$(find "$d/lists" -maxdepth 1 -name .updated-from -mtime -1 2>/dev/null)
  cmp -s "$d/sources.list.new" "$d/lists/.updated-from" 2>/dev/null || fresh=""
  mv "$d/sources.list.new" "$d/sources.list"
  apt_opts="-o Dir::Etc::SourceList=$d/sources.list -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=$d/lists -o Dir::Cache=$d/cache -o APT::Architectures::=amd64 -o APT::Architectures::=arm64"
  if [ -z "$fresh" ]; then
    # shellcheck disable=SC2086
    # apt-get update exits 0 when one source fails (e.g. an unknown signing key); an index
    # without the security archive would silently resolve to an old version.
    log=$(apt-get -q $apt_opts update 2>&1) || die "apt-get update of the private $suite index failed: $log"
    echo "$log" | grep -E '^(Err|E):' >&2 && die "apt-get update of the private $suite index had errors (above); check $key"
    cp "$d/sources.list" "$d/lists/.updated-from"
  fi
}

# Versions of a package the index lists, newest first.
versions() {
  # shellcheck disable=SC2086
  apt-cache $apt_opts madison "$1" 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print $2}' | sort -u | sort -rV
}

# "package version" lines of the packages a resolution looks at, from one apt-cache call.
listing=""
list_versions() { # package...
  # shellcheck disable=SC2086
  listing=$(apt-cache $apt_opts madison "$@" 2>/dev/null | awk -F'|' '{gsub(/ /, "", $1); gsub(/ /, "", $2); print $1, $2}' | sort -u)
}
has_version() { echo "$listing" | grep -qxF "$1 $2"; }

# The cloud-amd64 headers package (linux-headers-<abi>-cloud-amd64) built at exactly this
# version; one apt-cache call for all of them.
cloud_headers() { # version
  # Cheap first: the linux-headers-cloud-amd64 metapackage of that upload names its ABI.
  # shellcheck disable=SC2086
  meta=$(apt-cache $apt_opts show "linux-headers-cloud-amd64=$1" 2>/dev/null | sed -n 's/^Depends: *\(linux-headers-[^ ,]*-cloud-amd64\) (= \([^)]*\)).*/\1 \2/p' | head -n1)
  if [ -n "$meta" ] && [ "${meta#* }" = "$1" ]; then echo "${meta% *}"; return 0; fi
  # shellcheck disable=SC2086
  names=$(apt-cache $apt_opts pkgnames linux-headers- | grep -E '^linux-headers-[0-9].*-cloud-amd64$' || true)
  [ -n "$names" ] || return 1
  # shellcheck disable=SC2086
  apt-cache $apt_opts madison $names 2>/dev/null \
    | awk -F'|' -v v="$1" '{gsub(/ /, "", $1); gsub(/ /, "", $2); if ($2 == v) print $1}' | sort -rV | head -n1 | grep .
}

# Prints every usable set, newest first, one per line: "GEN VERSION SOURCE CONFIG HEADERS|none".
candidates() { # gen
  gen=$1
  apt_setup "$gen"
  src_pkg="linux-source-$gen"
  cfg_pkg="linux-config-$gen"
  override=$(eval "echo \${KERNEL_DEB_VERSION_$(echo "$gen" | tr . _):-}")
  if [ -n "$override" ]; then
    versions_to_try=$override
  else
    versions_to_try=$(versions "$cfg_pkg")
  fi
  list_versions "$cfg_pkg" "$cfg_pkg:arm64" "$src_pkg"
  found=""
  headerless=""
  missing=""
  for v in $versions_to_try; do
    if ! has_version "$cfg_pkg" "$v"; then missing="$missing $cfg_pkg=$v"; continue; fi
    if ! has_version "$cfg_pkg:arm64" "$v"; then missing="$missing $cfg_pkg:arm64=$v"; continue; fi
    if ! has_version "$src_pkg" "$v"; then missing="$missing $src_pkg=$v"; continue; fi
    if h=$(cloud_headers "$v"); then
      echo "$gen $v $src_pkg $cfg_pkg $h"
      found=1
    else
      missing="$missing linux-headers-<abi>-cloud-amd64=$v"
      headerless="$headerless $v"
    fi
  done
  if [ -z "$found" ] && [ -n "$headerless" ]; then
    echo "fetch-kernel-data: $gen: no linux-headers-<abi>-cloud-amd64 at any version of $cfg_pkg; sets without headers:$headerless" >&2
    for v in $headerless; do echo "$gen $v $src_pkg $cfg_pkg none"; done
    return 0
  fi
  [ -n "$found" ] && return 0
  [ -n "$versions_to_try" ] || missing=" $cfg_pkg (any version)"
  die "$gen ($(suite_of "$gen")): no usable package set; missing:$missing"
}

# Downloads one package into an empty folder of its own and prints the .deb's path: never
# a glob that could match a file left by another version. Fails (without exiting) when the
# archive does not serve what its index lists (it happens: bullseye-security listed an
# arm64 linux-config whose file was 404).
download() { # dir package version
  d="$1/$2"
  rm -rf "$d" && mkdir -p "$d"
  # shellcheck disable=SC2086
  if ! (cd "$d" && apt-get -q $apt_opts download "$2=$3" >&2); then
    echo "fetch-kernel-data: the index lists $2=$3 but it could not be downloaded" >&2
    return 1
  fi
  set -- "$d"/*.deb
  [ $# = 1 ] && [ -f "$1" ] || die "apt-get download left $# files in $d"
  echo "$1"
}

publish() { # gen version
  ln -sfn "$2" "$data/$1/current.new" && mv -T "$data/$1/current.new" "$data/$1/current"
}

# Tries the sets newest first: the small packages first, so a set the archive does not
# fully serve costs little; then the source. Builds in $data/<gen>/.partial-*, renamed to
# $data/<gen>/<version> only when complete.
fetch() { # gen
  list=$(candidates "$1") || exit 1
  apt_setup "$1" # candidates ran in a subshell
  set +e
  echo "$list" | while read -r gen version src_pkg cfg_pkg headers; do
    set -e
    final="$data/$gen/$version"
    if [ -f "$final/PACKAGES" ]; then
      publish "$gen" "$version"
      echo "kernel data $gen already in $final" >&2
      exit 10
    fi
    mkdir -p "$data/$gen"
    rm -rf "$data/$gen"/.partial-*
    tmp=$(mktemp -d "$data/$gen/.partial-$version.XXXXXX")
    mkdir -p "$tmp/debs" "$tmp/x" "$tmp/src" "$tmp/config"
    ok=1
    cfg=$(download "$tmp/debs" "$cfg_pkg" "$version") || ok=""
    cfg_arm=""
    [ -z "$ok" ] || cfg_arm=$(download "$tmp/debs" "$cfg_pkg:arm64" "$version") || ok=""
    hdr=""
    [ -z "$ok" ] || [ "$headers" = none ] || hdr=$(download "$tmp/debs" "$headers" "$version") || ok=""
    src_deb=""
    [ -z "$ok" ] || src_deb=$(download "$tmp/debs" "$src_pkg" "$version") || ok=""
    if [ -z "$ok" ]; then
      echo "fetch-kernel-data: $gen $version is not fully served; trying the next set" >&2
      rm -rf "$tmp"
      continue
    fi

    dpkg-deb -x "$cfg" "$tmp/x"
    dpkg-deb -x "$cfg_arm" "$tmp/x"
    for f in "$tmp/x/usr/src/$cfg_pkg"/config.amd64_none_*.xz "$tmp/x/usr/src/$cfg_pkg"/config.arm64_none_*.xz; do
      [ -f "$f" ] || continue
      flavour=${f##*_none_}
      xz -dc "$f" > "$tmp/config/${flavour%.xz}.config"
    done
    [ -f "$tmp/config/amd64.config" ] && [ -f "$tmp/config/arm64.config" ] || die "$cfg_pkg=$version has no amd64 or arm64 config"
    rm -rf "$tmp/x" && mkdir -p "$tmp/x"

    if [ -n "$hdr" ]; then
      mkdir -p "$tmp/cloud"
      dpkg-deb -x "$hdr" "$tmp/x"
      hdir="$tmp/x/usr/src/$headers"
      cp "$hdir/Module.symvers" "$tmp/cloud/Module.symvers"
      cp "$hdir/.config" "$tmp/cloud/config"
      rm -rf "$tmp/x" && mkdir -p "$tmp/x"
    fi

    dpkg-deb --fsys-tarfile "$src_deb" | tar -x -C "$tmp/x" --wildcards './usr/src/linux-source-*.tar.xz'
    rm -rf "$tmp/debs"
    set -- "$tmp"/x/usr/src/linux-source-*.tar.xz
    [ $# = 1 ] && [ -f "$1" ] || die "$src_pkg=$version: expected one tarball, found: $*"
    # Documentation/ is kept: Kconfig sources Documentation/Kconfig.
    xz -dc "$1" | tar -x -C "$tmp/src" --strip-components=1
    rm -rf "$tmp/x"

    printf '%s %s\n%s %s\n%s:arm64 %s\n%s %s\n' "$src_pkg" "$version" "$cfg_pkg" "$version" "$cfg_pkg" "$version" "$headers" "$version" > "$tmp/PACKAGES"
    rm -rf "$final"
    mv -T "$tmp" "$final"
    publish "$gen" "$version"
    echo "kernel data $gen ready in $final" >&2
    exit 10
  done
  st=$?
  set -e
  [ "$st" = 10 ] || die "$1: no listed set could be fetched (see above)"
}

if [ "$mode" = resolve ]; then
  status=0
  for gen in "$@"; do
    if list=$(candidates "$gen"); then echo "$list" | head -n1; else status=1; fi
  done
  exit $status
fi

# Two generations at a time: unpacking a source tree is one xz stream, one core each.
pids=""
failed=0
for gen in "$@"; do
  fetch "$gen" &
  pids="$pids $!"
  set -- $pids
  if [ $# -ge 2 ]; then
    wait "$1" || failed=1
    shift
    pids="$*"
  fi
done
for pid in $pids; do wait "$pid" || failed=1; done
[ "$failed" = 0 ] || die "some generations could not be fetched (see above)"

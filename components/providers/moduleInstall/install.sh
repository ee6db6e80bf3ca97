#!/bin/bash
# Installs a built artifact (a module set's .ko files) on a host: under the host lock, the
# files this run uploaded are copied into a staging folder next to the live folder
# <modules dir>/<kernel>/extra/<set>/ and the copies checked (sha256 of every file,
# vermagic against the kernel), then swapped in, and depmod runs. The previous modules
# stay in place until the new ones are verified, staged and indexed: a failure at any
# point leaves them installed (and loaded).
# ACTION: pull | install | probe | inventory | fetch | delete
# KERNEL, SET, MODULES_DIR, WORK_DIR; install: UPLOAD (folder holding <name>.ko), ARTIFACT
# (the artifact's id), EXPECT (lines "<name> <sha256>"); pull: UPLOAD, PULL (lines
# "<name> <sha256> <size> <url>"), fills UPLOAD for install; fetch: ARTIFACT.
# inventory (read by the program when it runs): every set installed for KERNEL whose files
# still match what was installed, as "artifact=<set> <id>".
# The install a new artifact replaced is kept in $WORK_DIR/previous/<kernel>/<set>, outside
# the modules tree (depmod must not see two copies), until the new modules have loaded:
# load.sh puts it back when the kernel refuses them, and removes it once they load.
# A kernel the host does not run (an update has staged it for the next boot) has no tree
# here yet: its release's /usr is on the passive partition. Its modules go into the
# overlay's folder for it all the same, and depmod runs at that kernel's first boot, in
# systemd-modules-load before it loads them (a drop-in, and a marker per kernel), against
# the tree the host really boots.
# Which verb gets which variable: host/scripts/verbs.ts; the prelude has checked
# KERNEL, SET, the paths and ARTIFACT.
set -eu

ext=$MODULES_DIR/$KERNEL/extra
# The set's folders: inventory reads every set's.
if [ -n "${SET+set}" ]; then
  dest=$ext/$SET
  stage=$ext/.$SET.new
  old=$ext/.$SET.old
fi
# kmod-fleet's own folders for the set: inventory and fetch read only the modules tree.
if [ -n "${WORK_DIR+set}" ]; then
  previous=$WORK_DIR/previous/$KERNEL/$SET
  # The replaced folder while depmod indexes the new one: outside the modules tree, where
  # depmod cannot see a second copy of a module (it indexes hidden folders too, and may pick
  # the copy that is about to go).
  aside=$WORK_DIR/swap/$KERNEL/$SET
  # Kernels whose modules depmod indexes at their first boot.
  at_boot=$WORK_DIR/depmod-at-boot
fi
# Written into the install folder with the modules (depmod and modprobe ignore them).
marker=.kmod-fleet-artifact
sums=.kmod-fleet-sha256
boot_dropin=$HOST_MODULES_LOAD_DROPIN_DIR/kmod-fleet-depmod.conf
running() { [ "$(uname -r)" = "$KERNEL" ]; }

probe() {
  if [ ! -d "$dest" ]; then echo "installed=false"; return; fi
  echo "installed=true"
  echo "artifact=$(cat "$dest/$marker" 2>/dev/null || true)"
  for ko in "$dest"/*.ko; do
    [ -f "$ko" ] || continue
    name=$(basename "$ko" .ko)
    known=false
    grep -q "extra/$SET/$name.ko:" "$MODULES_DIR/$KERNEL/modules.dep" 2>/dev/null && known=true
    # Not running yet: indexed at its first boot.
    if ! running && [ -e "$at_boot/$KERNEL" ]; then known=true; fi
    echo "module=$name $(sha256sum "$ko" | cut -d' ' -f1) $(modinfo -F vermagic "$ko" | cut -d' ' -f1) $known"
  done
}

# An earlier install stopped during the swap: the previous folder goes back.
recover() {
  if [ ! -d "$dest" ] && [ -d "$old" ]; then mv -- "$old" "$dest"; fi
  if [ ! -d "$dest" ] && [ -d "$aside" ]; then mv -- "$aside" "$dest"; fi
  rm -rf -- "$stage" "$old" "$aside"
}

# A kernel the host does not run (staged): depmod indexes its modules at its first boot.
# The drop-in's path is quoted for systemd's command line: the work dir is a plain path
# (the prelude checked it), which needs no quoting. Part of install (uses its refuse).
index_at_first_boot() {
  if [ -e "$boot_dropin" ] && ! written_by_kmod_fleet "$boot_dropin"; then
    refuse 3 "refusing: $boot_dropin, which kmod-fleet did not write, is in the way of the boot-time depmod for $KERNEL; nothing was installed"
  fi
  say "$KERNEL is staged for the next boot: depmod runs at its first boot, before its modules load"
  mkdir -p "$ext" "$at_boot" "$(dirname "$boot_dropin")"
  : > "$at_boot/$KERNEL"
  if [ ! -f "$boot_dropin" ]; then
    printf '%s\n' "$KMOD_FLEET_MARK: at the first boot of a kernel whose modules were installed before it ran, depmod indexes them before they load." \
      '[Unit]' "RequiresMountsFor=$WORK_DIR" '[Service]' \
      "ExecStartPre=/bin/sh -c 'k=\$\$(uname -r); if [ -e $at_boot/\$\$k ]; then depmod -a \$\$k && rm -f $at_boot/\$\$k; fi; exit 0'" > "$boot_dropin"
    systemctl daemon-reload
  fi
}

# This run's own folder for the artifact's files (see install and pull).
check_upload_folder() {
  case "$UPLOAD" in
  "$WORK_DIR"/uploads/[!./]*) ;;
  *) die 2 "refusing the upload folder '$UPLOAD': expected a folder under $WORK_DIR/uploads" ;;
  esac
}

case "$ACTION" in
pull)
  # With a shared store on an OCI registry the host fetches the artifact's files itself,
  # so the operator sends a list of blobs instead of the bytes to every host. Like an
  # upload, into this run's own folder and outside the lock; each file is checked against
  # its sha256 here, and install checks its copies again under the lock. A login comes as
  # a curl config file (mode 0600) that the operator uploaded into the folder: it never
  # appears on a command line, and it goes as soon as the files are here.
  check_upload_folder
  login=$UPLOAD/.registry.curl
  pulled=false
  trap 'rm -f -- "$login"; [ "$pulled" = true ] || rm -rf -- "$UPLOAD"' EXIT
  mkdir -p -- "$UPLOAD"
  while read -r name sha size url; do
    [ -n "$name" ] || continue
    check_value module "module name" PULL "$name"
    [[ $sha =~ ^[0-9a-f]{64}$ ]] || die 2 "refusing the digest '$sha' of $name.ko (PULL): expected 64 hex digits"
    [[ $size =~ ^[0-9]{1,10}$ ]] || die 2 "refusing the size '$size' of $name.ko (PULL): expected a number of bytes"
    case "$url" in
    http://*/blobs/sha256:"$sha" | https://*/blobs/sha256:"$sha") ;;
    *) die 2 "refusing the url '$url' of $name.ko (PULL): expected an http(s) registry blob url ending in sha256:$sha" ;;
    esac
    say "pulling $name.ko ($size bytes) from the artifact store"
    opts=(--fail --silent --show-error --location --proto =http,https --connect-timeout 30 --retry 2 --max-filesize "$size" --output "$UPLOAD/$name.ko")
    if [ -f "$login" ]; then opts+=(--config "$login"); fi
    curl "${opts[@]}" --url "$url" || die 4 "could not pull $name.ko from $url; nothing was installed"
    actual=$(sha256sum -- "$UPLOAD/$name.ko" | cut -d' ' -f1)
    [ "$actual" = "$sha" ] || die 4 "$name.ko pulled from $url has sha256 $actual, not $sha; nothing was installed"
  done <<< "$PULL"
  pulled=true
  echo "pulled=true"
  ;;
install)
  check_upload_folder
  trap 'rm -rf -- "$UPLOAD"; rmdir -- "$WORK_DIR/uploads" "$WORK_DIR" 2>/dev/null || true' EXIT
  if running && [ ! -d "$MODULES_DIR/$KERNEL" ]; then
    echo "this host runs $KERNEL but has no $MODULES_DIR/$KERNEL; nothing was installed" >&2
    exit 4
  fi

  # The files are copied into the staging folder first, under the host lock, and the
  # copies are checked: what is verified is what is installed, whatever another run
  # uploads meanwhile. A check that fails leaves the host as it was: the staging folder
  # goes, and the folders made for it.
  fresh_ext=false; [ -d "$ext" ] || fresh_ext=true
  fresh_tree=false; [ -d "$MODULES_DIR/$KERNEL" ] || fresh_tree=true
  refuse() { # $1 = exit code, $2 = why
    rm -rf -- "$stage"
    if $fresh_ext; then rmdir -- "$ext" 2>/dev/null || true; fi
    if $fresh_tree; then rmdir -- "$MODULES_DIR/$KERNEL" 2>/dev/null || true; fi
    echo "$2" >&2
    exit "$1"
  }
  recover
  mkdir -p "$stage"
  say "verifying the artifact's files (sha256, vermagic $KERNEL)"
  names=""
  while read -r name sha; do
    [ -n "$name" ] || continue
    check_value module "module name" EXPECT "$name"
    [ -f "$UPLOAD/$name.ko" ] || refuse 4 "$name.ko did not arrive; nothing was installed"
    cp -- "$UPLOAD/$name.ko" "$stage/"
    f=$stage/$name.ko
    actual=$(sha256sum "$f" | cut -d' ' -f1)
    [ "$actual" = "$sha" ] || refuse 4 "$name.ko: sha256 $actual, but the artifact says $sha; nothing was installed"
    magic=$(modinfo -F vermagic "$f" | cut -d' ' -f1)
    [ "$magic" = "$KERNEL" ] || refuse 4 "$name.ko has vermagic '$magic', but this host's kernel is $KERNEL; nothing was installed"
    names="$names $name"
  done <<< "$EXPECT"
  [ -n "$names" ] || refuse 4 "the artifact has no modules; nothing was installed"

  if ! running; then index_at_first_boot; fi
  chmod 0644 "$stage"/*.ko
  (cd "$stage" && sha256sum -- *.ko > "$sums")
  echo "$ARTIFACT" > "$stage/$marker"

  # The swap, two renames in the set's folder; then the previous folder leaves the modules
  # tree and is kept aside until depmod has indexed the new one.
  [ -d "$dest" ] && mv -- "$dest" "$old"
  if ! mv -- "$stage" "$dest"; then
    [ -d "$old" ] && mv -- "$old" "$dest"
    echo "could not move the new modules into $dest; the previous ones are in place" >&2
    exit 4
  fi
  if [ -d "$old" ]; then mkdir -p -- "$(dirname "$aside")" && mv -- "$old" "$aside"; fi
  if running; then say "depmod $KERNEL"; fi
  if running && ! depmod -a "$KERNEL"; then
    rm -rf -- "$dest"
    [ -d "$aside" ] && mv -- "$aside" "$dest"
    depmod -a "$KERNEL" || true
    echo "depmod failed for the new modules; the previous ones are back in place" >&2
    exit 4
  fi
  # Another artifact was installed: it is kept until the new modules load (see above). The
  # same artifact again (a repair) keeps what was kept before, if anything.
  if [ -d "$aside" ] && [ "$(cat "$aside/$marker" 2>/dev/null || true)" != "$ARTIFACT" ]; then
    rm -rf -- "$previous"
    mkdir -p -- "$(dirname "$previous")"
    mv -- "$aside" "$previous"
  fi
  rm -rf -- "$aside"
  rmdir -- "$WORK_DIR/swap/$KERNEL" "$WORK_DIR/swap" 2>/dev/null || true
  echo "installDir=$dest"
  probe
  ;;
probe)
  probe
  ;;
inventory)
  for d in "$ext"/*/; do
    [ -f "$d$marker" ] && [ -f "$d$sums" ] || continue
    if (cd "$d" && sha256sum --quiet --status -c "$sums") 2>/dev/null; then
      echo "artifact=$(basename "$d") $(cat "$d$marker")"
    fi
  done
  ;;
fetch)
  # Taking an artifact back into the store: only the install of that artifact.
  [ "$(cat "$dest/$marker" 2>/dev/null || true)" = "$ARTIFACT" ] || { echo "$dest does not hold the artifact $ARTIFACT" >&2; exit 4; }
  for ko in "$dest"/*.ko; do
    [ -f "$ko" ] || continue
    echo "file=$(basename "$ko" .ko) $(base64 -w 0 "$ko")"
  done
  ;;
delete)
  # The uploads of runs that stopped before their install (each run uploads into a folder of its own).
  rm -rf -- "$dest" "$stage" "$old" "$aside" "$previous" "$WORK_DIR/uploads/$SET-$KERNEL" "$WORK_DIR/uploads/$SET-$KERNEL".*/
  rmdir -- "$ext" 2>/dev/null || true
  if [ -d "$MODULES_DIR/$KERNEL/kernel" ]; then
    depmod -a "$KERNEL"
  elif [ -d "$MODULES_DIR/$KERNEL" ] && ! ls -A "$ext" 2>/dev/null | grep -q .; then
    # No tree of this kernel here (not running, or the host has moved on from it): what
    # is left in its folder are the indexes depmod wrote for kmod-fleet's modules.
    rm -f -- "$MODULES_DIR/$KERNEL"/modules.*.bin "$MODULES_DIR/$KERNEL"/modules.dep "$MODULES_DIR/$KERNEL"/modules.alias \
      "$MODULES_DIR/$KERNEL"/modules.softdep "$MODULES_DIR/$KERNEL"/modules.symbols "$MODULES_DIR/$KERNEL"/modules.devname \
      "$MODULES_DIR/$KERNEL"/modules.weakdep
    rmdir -- "$MODULES_DIR/$KERNEL" 2>/dev/null || true
  fi
  # The boot-time depmod is for kernels that still have an install.
  if [ -e "$at_boot/$KERNEL" ] && ! ls -A "$ext" 2>/dev/null | grep -q .; then rm -f -- "$at_boot/$KERNEL"; fi
  if ! ls -A "$at_boot" 2>/dev/null | grep -q .; then
    rmdir -- "$at_boot" 2>/dev/null || true
    if written_by_kmod_fleet "$boot_dropin"; then rm -f -- "$boot_dropin"; fi
  fi
  rmdir -- "$WORK_DIR/previous/$KERNEL" "$WORK_DIR/previous" "$WORK_DIR/swap/$KERNEL" "$WORK_DIR/swap" "$WORK_DIR/uploads" "$WORK_DIR" 2>/dev/null || true
  ;;
*)
  echo "usage: ACTION=pull|install|probe|inventory|fetch|delete $0" >&2
  exit 2
  ;;
esac

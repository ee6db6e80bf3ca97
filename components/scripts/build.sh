#!/bin/bash
# Builds one module set for the running kernel inside the verified developer container
# (systemd-nspawn), installs it under <modules dir>/<kernel>/extra/<set>/ through a
# staging folder, and runs depmod.
# ACTION: sources | kconfig-files | build | probe | delete
# (kconfig-files: a base64 tar.gz of what the preflight and the doctor read; SYMBOLS adds
# the C files that export those symbols.)
# KERNEL, SET, IMAGE, WORK_DIR, MODULES_DIR, KERNEL_CONFIG (path on the host), SOURCES_COMMAND,
# OPTIONS and DIRECTORIES (in-tree sets, space-separated), SOURCE_KIND (dir|git|inTree),
# GIT_URL, GIT_REF, SOURCE_ARCHIVE (uploaded tar of a local folder).
set -eu
set -o pipefail

# KERNEL comes from the host (uname -r) and SET from the config; both become parts of
# paths that are removed below: one plain name each.
plain_name() { # $1 = what, $2 = value
  case "$2" in
  '' | .* | -* | *[!A-Za-z0-9._+~-]*)
    echo "refusing the $1 '$2': expected one plain name (letters, digits, '.', '_', '+', '-')" >&2
    exit 2
    ;;
  esac
}
plain_name "kernel release" "$KERNEL"
plain_name "module set name" "$SET"
for p in "$WORK_DIR" "$MODULES_DIR"; do
  case "$p" in
  /[!/]*) ;;
  *) echo "refusing the path '$p': expected an absolute path" >&2; exit 2 ;;
  esac
done

src_root=$WORK_DIR/src/$KERNEL          # bound to /usr/src in the container (the seed's Problem #3)
job=$WORK_DIR/jobs/$KERNEL/$SET          # bound to /mnt in the container
log=$WORK_DIR/logs/$SET-$KERNEL.log
dest=$MODULES_DIR/$KERNEL/extra/$SET

say() { echo "progress: $*"; }

# Lines worth showing while a slow build runs; everything goes to the log.
show_progress() { grep --line-buffered -E '^progress: |^  (CC|LD) \[M\] ' || true; }

in_container() { # $1 = phase
  mkdir -p "$src_root" "$job" "$(dirname "$log")"
  write_container_script > "$job/inside.sh"
  systemd-nspawn --quiet --register=no --console=pipe --volatile=overlay \
    --image="$IMAGE" \
    --bind="$src_root:/usr/src" --bind="$job:/mnt" --bind-ro="$MODULES_DIR:/usr/lib/modules" \
    --setenv=PHASE="$1" --setenv=KERNEL="$KERNEL" --setenv=SOURCES_COMMAND="$SOURCES_COMMAND" \
    --setenv=OPTIONS="${OPTIONS:-}" --setenv=DIRECTORIES="${DIRECTORIES:-}" --setenv=SOURCE_KIND="$SOURCE_KIND" \
    --setenv=GIT_URL="${GIT_URL:-}" --setenv=GIT_REF="${GIT_REF:-}" \
    /bin/bash /mnt/inside.sh < /dev/null 2>&1 | tee -a "$log" | show_progress
}

fail_with_log() {
  echo "build of $SET for $KERNEL failed; the end of the log:" >&2
  tail -n 40 "$log" | sed 's/^/  | /' >&2
  echo "full log on the host: $log" >&2
  exit 4
}

# The tree's path on the host (/usr/src/linux may be a link into /usr/src).
tree_on_host() {
  local t
  t=$(readlink "$src_root/linux" || echo linux)
  case "$t" in /usr/src/*) t=${t#/usr/src/} ;; esac
  echo "$src_root/$t"
}

write_container_script() {
  cat <<'INSIDE'
set -eu
set -o pipefail
set -f # OPTIONS and DIRECTORIES are split into words, never globbed
say() { echo "progress: $*"; }
if [ ! -f /usr/src/linux/Makefile ] || [ "$(cat /usr/src/.kmod-fleet-kernel 2>/dev/null)" != "$KERNEL" ]; then
  say "fetching kernel sources for $KERNEL: $SOURCES_COMMAND"
  (cd /usr/src && bash -c "$SOURCES_COMMAND")
  [ -f /usr/src/linux/Makefile ] || { echo "the sources command left no kernel tree at /usr/src/linux" >&2; exit 5; }
  echo "$KERNEL" > /usr/src/.kmod-fleet-kernel
fi
[ "$PHASE" = sources ] && exit 0

cd /usr/src/linux
# KERNELRELEASE pins vermagic to the running kernel whatever the tree's own version says.
mk() { make -j"$(nproc)" KERNELRELEASE="$KERNEL" "$@"; }
if [ ! -s Module.symvers ] && [ -s "/usr/lib/modules/$KERNEL/build/Module.symvers" ]; then
  cp "/usr/lib/modules/$KERNEL/build/Module.symvers" .
fi
[ -s Module.symvers ] || say "warning: no Module.symvers for $KERNEL; modpost cannot check symbols"
# Kconfig runs (minutes on a small host) only when the wanted config is new to this tree:
# the tree remembers the running config it was last prepared for, and a wanted config
# that resolves to the tree's own .config is not copied, so make finds the tree prepared.
if [ -n "$OPTIONS" ] || ! cmp -s /mnt/kernel.config .kmod-fleet-config || [ ! -f include/config/auto.conf ]; then
  rm -f .kmod-fleet-config
  cp /mnt/kernel.config /mnt/wanted.config
  # OPTION builds as m; OPTION=n keeps an optional feature off (a preflight's "Would work" variant).
  for o in $OPTIONS; do
    case "$o" in
    *=n) scripts/config --file /mnt/wanted.config --disable "${o%=n}" ;;
    *) scripts/config --file /mnt/wanted.config --module "$o" ;;
    esac
  done
  say "make olddefconfig"
  KCONFIG_CONFIG=/mnt/wanted.config mk olddefconfig > /dev/null
  for o in $OPTIONS; do
    case "$o" in
    *=n) if grep -q "^CONFIG_${o%=n}=" /mnt/wanted.config; then echo "make olddefconfig turned CONFIG_${o%=n} on again: another option selects it" >&2; exit 5; fi ;;
    *) grep -qx "CONFIG_$o=m" /mnt/wanted.config || { echo "make olddefconfig did not keep CONFIG_$o=m: its dependencies are not met in this kernel" >&2; exit 5; } ;;
    esac
  done
  cmp -s /mnt/wanted.config .config || cp /mnt/wanted.config .config
fi
say "make modules_prepare"
mk modules_prepare
[ -n "$OPTIONS" ] || cp /mnt/kernel.config .kmod-fleet-config

rm -rf /mnt/out && mkdir -p /mnt/out
case "$SOURCE_KIND" in
inTree)
  for d in $DIRECTORIES; do
    say "make M=$d modules"
    # ./ before the directory: a name can never be read as find's option or expression.
    case "$d" in -* | /* | *..*) echo "refusing the directory '$d': expected a path inside the kernel tree" >&2; exit 5 ;; esac
    find "./$d" -name '*.ko' -delete
    mk M="$d" modules
    find "./$d" -name '*.ko' -exec cp {} /mnt/out/ \;
  done
  ;;
dir|git)
  if [ "$SOURCE_KIND" = git ]; then
    say "cloning $GIT_URL at $GIT_REF"
    rm -rf /mnt/src && git clone --quiet -- "$GIT_URL" /mnt/src && git -C /mnt/src checkout --quiet --detach "$GIT_REF"
  fi
  say "make M=<module set> modules"
  mk M=/mnt/src modules
  find /mnt/src -name '*.ko' -exec cp {} /mnt/out/ \;
  ;;
esac
# find, not a glob: this script runs with globbing off (set -f above).
[ -n "$(find /mnt/out -maxdepth 1 -name '*.ko' -print -quit)" ] || { echo "the build produced no .ko files" >&2; exit 5; }
INSIDE
}

probe() {
  if [ ! -d "$dest" ]; then echo "installed=false"; return; fi
  echo "installed=true"
  for ko in "$dest"/*.ko; do
    [ -f "$ko" ] || continue
    name=$(basename "$ko" .ko)
    known=false
    grep -q "extra/$SET/$name.ko:" "$MODULES_DIR/$KERNEL/modules.dep" 2>/dev/null && known=true
    echo "module=$name $(sha256sum "$ko" | cut -d' ' -f1) $(modinfo -F vermagic "$ko" | cut -d' ' -f1) $known"
  done
}

case "$ACTION" in
sources)
  in_container sources || fail_with_log
  echo "tree=$(tree_on_host)"
  ;;
kconfig-files)
  # What the preflight reads: every Kconfig, Makefile and Kbuild of the tree.
  cd "$(tree_on_host)"
  {
    find . \( -name 'Kconfig*' -o -name 'Makefile*' -o -name 'Kbuild*' \) -type f -not -path './Documentation/*' -print0
    [ -f Module.symvers ] && printf './Module.symvers\0'
    # The doctor also reads the files that export the symbols it is asked about.
    if [ -n "${SYMBOLS:-}" ]; then
      grep -rlZE --include='*.c' --include='*.S' "EXPORT_SYMBOL[A-Z_]*\(($(echo "$SYMBOLS" | tr ' ' '|'))\)" . 2>/dev/null || true
    fi
  } | tar -c --null -T - -z | base64 -w 0
  ;;
build)
  mkdir -p "$(dirname "$log")" && : > "$log"
  rm -rf "$job" && mkdir -p "$job"
  case "$KERNEL_CONFIG" in
  *.gz) zcat "$KERNEL_CONFIG" > "$job/kernel.config" ;;
  *) cp "$KERNEL_CONFIG" "$job/kernel.config" ;;
  esac
  if [ "$SOURCE_KIND" = dir ]; then
    mkdir -p "$job/src" && tar -x -C "$job/src" -f "$SOURCE_ARCHIVE" && rm -f "$SOURCE_ARCHIVE"
  fi
  say "building $SET for $KERNEL in the developer container (log: $log)"
  in_container build || fail_with_log
  for ko in "$job"/out/*.ko; do
    magic=$(modinfo -F vermagic "$ko" | cut -d' ' -f1)
    [ "$magic" = "$KERNEL" ] || { echo "$(basename "$ko") has vermagic '$magic', but the running kernel is $KERNEL; not installing" >&2; exit 4; }
  done
  # Never a half-written .ko in place: stage next to the destination, then swap.
  stage=$MODULES_DIR/$KERNEL/extra/.$SET.staging
  rm -rf "$stage" "$dest.old" && mkdir -p "$stage"
  cp "$job"/out/*.ko "$stage/"
  [ -d "$dest" ] && mv "$dest" "$dest.old"
  mv "$stage" "$dest"
  rm -rf "$dest.old"
  say "depmod $KERNEL"
  depmod -a "$KERNEL"
  echo "installDir=$dest"
  echo "logPath=$log"
  probe
  ;;
probe)
  probe
  ;;
delete)
  rm -rf -- "$dest" "$job"
  rmdir "$MODULES_DIR/$KERNEL/extra" 2>/dev/null || true
  [ -d "$MODULES_DIR/$KERNEL/kernel" ] && depmod -a "$KERNEL"
  rm -f "$log"
  # The kernel's sources are shared by the sets built for it: remove them with the last set.
  if ! ls -A "$WORK_DIR/jobs/$KERNEL" 2>/dev/null | grep -q .; then
    rm -rf -- "$src_root" "$WORK_DIR/jobs/$KERNEL"
  fi
  for d in "$WORK_DIR/jobs" "$WORK_DIR/src" "$WORK_DIR/logs" "$WORK_DIR/uploads" "$WORK_DIR"; do rmdir "$d" 2>/dev/null || true; done
  ;;
*)
  echo "usage: ACTION=sources|kconfig-files|build|probe|delete $0" >&2
  exit 2
  ;;
esac

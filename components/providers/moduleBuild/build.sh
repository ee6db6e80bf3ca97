#!/bin/bash
# Builds one module set for a kernel inside the verified developer container of its
# release (systemd-nspawn): the builder's running kernel, or with KERNEL_FROM_IMAGE=true a
# kernel the builder has staged for its next boot, whose config, Module.symvers and modules
# come from the developer container (as on Flatcar: /usr/lib/modules/<kernel>/build). The result stays in the job folder until the provider has
# fetched it into the artifact store; installing it on hosts is install.sh's job.
# ACTION: sources | kconfig-files | build | fetch | delete
# (kconfig-files: a base64 tar.gz of what the preflight and the doctor read; SYMBOLS adds
# the C files that export those symbols. fetch: each built .ko as one base64 line.)
# KERNEL, SET, IMAGE, WORK_DIR, MODULES_DIR, KERNEL_CONFIG (path on the host; with
# KERNEL_FROM_IMAGE the sources action prints where it put the image's), SOURCES_COMMAND,
# OPTIONS (in-tree sets: NAME=m, NAME=y or NAME=n, as the preflight's report gives them) and
# DIRECTORIES (M= directories, in any order: built in the order of their symbols),
# space-separated, SOURCE_KIND (dir|git|inTree),
# GIT_URL, GIT_REF, SOURCE_ARCHIVE (uploaded tar of a local folder), BUILD_HOST (the
# fleet's name for this host, in messages). Which verb gets which: host/scripts/verbs.ts;
# the prelude has checked KERNEL, SET and the paths.
set -eu
set -o pipefail

src_root=$WORK_DIR/src/$KERNEL          # bound to /usr/src in the container (the seed's Problem #3)
# A set's job folder and log: kconfig-files reads the kernel's tree for no set.
if [ -n "${SET+set}" ]; then
  job=$WORK_DIR/jobs/$KERNEL/$SET        # bound to /mnt in the container
  log=$WORK_DIR/logs/$SET-$KERNEL.log
fi

# Lines worth showing while a slow build runs; everything goes to the log.
show_progress() { grep --line-buffered -E '^progress: |^  (CC|LD) \[M\] ' || true; }

in_container() { # $1 = phase
  # The running kernel's modules are the host's; a staged kernel's are the image's own.
  local host_modules=(--bind-ro="$MODULES_DIR:/usr/lib/modules")
  [ "${KERNEL_FROM_IMAGE:-false}" = true ] && host_modules=()
  mkdir -p "$src_root" "$job" "$(dirname "$log")"
  # The container's script has the prelude's say().
  { declare -f say; write_container_script; } > "$job/inside.sh"
  systemd-nspawn --quiet --register=no --console=pipe --volatile=overlay \
    --image="$IMAGE" \
    --bind="$src_root:/usr/src" --bind="$job:/mnt" "${host_modules[@]}" \
    --setenv=PHASE="$1" --setenv=KERNEL="$KERNEL" --setenv=SOURCES_COMMAND="$SOURCES_COMMAND" \
    --setenv=OPTIONS="${OPTIONS:-}" --setenv=DIRECTORIES="${DIRECTORIES:-}" --setenv=SOURCE_KIND="$SOURCE_KIND" \
    --setenv=GIT_URL="${GIT_URL:-}" --setenv=GIT_REF="${GIT_REF:-}" --setenv=KERNEL_FROM_IMAGE="${KERNEL_FROM_IMAGE:-false}" \
    /bin/bash /mnt/inside.sh < /dev/null 2>&1 | tee -a "$log" | show_progress
}

fail_with_log() {
  echo "build of $SET for $KERNEL failed; the end of the log:" >&2
  tail -n 40 "$log" | sed 's/^/  | /' >&2
  echo "full log on ${BUILD_HOST:-the build host}: $log" >&2
  exit 4
}

# The tree's path on the host (/usr/src/linux may be a link into /usr/src).
tree_on_host() {
  local t
  t=$(readlink "$src_root/linux" || echo linux)
  case "$t" in /usr/src/*) t=${t#/usr/src/} ;; esac
  echo "$src_root/$t"
}

# The script the build runs inside the developer container, in three parts: each a heredoc,
# so nothing in it is expanded on the host.
write_container_script() {
  container_fetch_sources
  echo
  container_prepare_kernel
  echo
  container_build_modules
}

# The kernel sources for $KERNEL in /usr/src/linux (and the staged kernel's config); the
# sources phase stops here.
container_fetch_sources() {
  cat <<'INSIDE'
set -eu
set -o pipefail
set -f # OPTIONS and DIRECTORIES are split into words, never globbed
if [ ! -f /usr/src/linux/Makefile ] || [ "$(cat /usr/src/.kmod-fleet-kernel 2>/dev/null)" != "$KERNEL" ]; then
  rm -f /usr/src/.kmod-fleet-prepared
  say "fetching kernel sources for $KERNEL: $SOURCES_COMMAND"
  (cd /usr/src && bash -c "$SOURCES_COMMAND")
  [ -f /usr/src/linux/Makefile ] || { echo "the sources command left no kernel tree at /usr/src/linux" >&2; exit 5; }
  echo "$KERNEL" > /usr/src/.kmod-fleet-kernel
fi
if [ "$KERNEL_FROM_IMAGE" = true ]; then
  # The staged kernel's own config, beside its sources: what the preflight and the build read.
  [ -s "/usr/lib/modules/$KERNEL/build/.config" ] || { echo "this developer container has no /usr/lib/modules/$KERNEL/build/.config: it is not the release of $KERNEL" >&2; exit 5; }
  cp "/usr/lib/modules/$KERNEL/build/.config" /usr/src/.kmod-fleet-image.config
fi
[ "$PHASE" = sources ] && exit 0
INSIDE
}

# The kernel tree configured with the wanted options and prepared for external modules.
container_prepare_kernel() {
  cat <<'INSIDE'
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
  rm -f .kmod-fleet-config /usr/src/.kmod-fleet-prepared
  cp /mnt/kernel.config /mnt/wanted.config
  # OPTIONS: NAME=m or NAME=y (a bare NAME means =m); NAME=n keeps an optional feature off
  # (a preflight's "Would work" variant).
  for o in $OPTIONS; do
    case "$o" in
    *=n) scripts/config --file /mnt/wanted.config --disable "${o%=n}" ;;
    *=y) scripts/config --file /mnt/wanted.config --enable "${o%=y}" ;;
    *) scripts/config --file /mnt/wanted.config --module "${o%=m}" ;;
    esac
  done
  # A tree whose .config is already the wanted one (a release's own tree, built for the
  # config its developer container ships) needs no Kconfig run: that .config is Kconfig's
  # own output. modules_prepare below still runs, and syncs it if the compiler changed.
  if cmp -s /mnt/wanted.config .config; then
    say "make olddefconfig: the tree's .config is already this config"
  else
    say "make olddefconfig"
    KCONFIG_CONFIG=/mnt/wanted.config mk olddefconfig > /dev/null
  fi
  for o in $OPTIONS; do
    case "$o" in
    *=n)
      if grep -q "^CONFIG_${o%=n}=" /mnt/wanted.config; then echo "make olddefconfig turned CONFIG_${o%=n} on again: another option selects it" >&2; exit 5; fi
      continue
      ;;
    *=*) want=$o ;;
    *) want=$o=m ;;
    esac
    grep -qx "CONFIG_$want" /mnt/wanted.config || { echo "make olddefconfig did not keep CONFIG_$want: its dependencies are not met in this kernel" >&2; exit 5; }
  done
  cmp -s /mnt/wanted.config .config || cp /mnt/wanted.config .config
fi
# modules_prepare builds nothing on a tree it prepared before, but reading the tree's
# makefiles to find that out takes most of a minute under emulation. So it runs only when
# .config, the compiler or the kernel differ from its last success here; every change of
# .config above (taken as well when auto.conf is missing) forgets that stamp first, so an
# interrupted prepare is never skipped.
prepared_for=$( { cat .config; gcc --version | head -n 1; echo "$KERNEL"; } | sha256sum | cut -d' ' -f1)
if [ "$(cat /usr/src/.kmod-fleet-prepared 2>/dev/null)" = "$prepared_for" ]; then
  say "make modules_prepare: already done for this config"
else
  say "make modules_prepare"
  mk modules_prepare
  echo "$prepared_for" > /usr/src/.kmod-fleet-prepared
fi
[ -n "$OPTIONS" ] || cp /mnt/kernel.config .kmod-fleet-config
INSIDE
}

# The modules built (in-tree directories, or the module set's own source) into /mnt/out.
container_build_modules() {
  cat <<'INSIDE'
rm -rf /mnt/out && mkdir -p /mnt/out
case "$SOURCE_KIND" in
inTree)
  # A directory's modules may use symbols another directory's modules export (sound/core
  # for a sound driver). Each finished directory's Module.symvers goes to the later ones
  # (KBUILD_EXTRA_SYMBOLS, as the seed does by hand); a directory whose modpost finds
  # symbols undefined waits for the others, until a round makes no progress.
  for d in $DIRECTORIES; do
    case "$d" in -* | /* | *..*) echo "refusing the directory '$d': expected a path inside the kernel tree" >&2; exit 5 ;; esac
  done
  pending=$DIRECTORIES
  extra_symbols=""
  while [ -n "$pending" ]; do
    waiting=""
    for d in $pending; do
      say "make M=$d modules"
      # ./ before the directory: a name can never be read as find's option or expression.
      find "./$d" -name '*.ko' -delete
      if mk M="$d" KBUILD_EXTRA_SYMBOLS="$extra_symbols" modules; then
        extra_symbols="$extra_symbols $PWD/$d/Module.symvers"
        find "./$d" -name '*.ko' -exec cp {} /mnt/out/ \;
      else
        waiting="$waiting $d"
      fi
    done
    # echo joins the words with single spaces (globbing is off).
    if [ "$(echo $waiting)" = "$(echo $pending)" ]; then
      echo "make M=<dir> modules failed for:$waiting (see the log above)" >&2
      exit 5
    fi
    [ -n "$waiting" ] && say "again, with the symbols of the directories built since:$waiting"
    pending=$(echo $waiting)
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

# One line per built module: name, sha256, size, srcversion ("-" when it has none) and the
# whole vermagic string (it has spaces, so it comes last).
describe_built() {
  for ko in "$job"/out/*.ko; do
    [ -f "$ko" ] || continue
    srcversion=$(modinfo -F srcversion "$ko" 2>/dev/null || true)
    echo "module=$(basename "$ko" .ko) $(sha256sum "$ko" | cut -d' ' -f1) $(stat -c %s "$ko") ${srcversion:--} $(modinfo -F vermagic "$ko")"
  done
}

case "$ACTION" in
sources)
  in_container sources || fail_with_log
  echo "tree=$(tree_on_host)"
  if [ "${KERNEL_FROM_IMAGE:-false}" = true ]; then echo "kernelConfig=$src_root/.kmod-fleet-image.config"; fi
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
    [ "$magic" = "$KERNEL" ] || { echo "$(basename "$ko") has vermagic '$magic', but the kernel built for is $KERNEL; the build is refused" >&2; exit 4; }
  done
  echo "logPath=$log"
  describe_built
  ;;
fetch)
  for ko in "$job"/out/*.ko; do
    [ -f "$ko" ] || continue
    echo "file=$(basename "$ko" .ko) $(base64 -w 0 "$ko")"
  done
  ;;
delete)
  # What a build leaves on its builder; the installed modules are install.sh's.
  rm -rf -- "$job"
  rm -f "$log"
  # The kernel's sources are shared by the sets built for it: remove them with the last set.
  if ! ls -A "$WORK_DIR/jobs/$KERNEL" 2>/dev/null | grep -q .; then
    rm -rf -- "$src_root" "$WORK_DIR/jobs/$KERNEL"
  fi
  for d in "$WORK_DIR/jobs" "$WORK_DIR/src" "$WORK_DIR/logs" "$WORK_DIR/uploads" "$WORK_DIR"; do rmdir "$d" 2>/dev/null || true; done
  ;;
*)
  echo "usage: ACTION=sources|kconfig-files|build|fetch|delete $0" >&2
  exit 2
  ;;
esac

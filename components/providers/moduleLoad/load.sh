#!/bin/bash
# Loads a module set in order and makes it come back at boot.
# ACTION: load | probe | unload | unload-modules
# SET, MODULES (load order, space-separated), PARAMETERS (lines "module k=v ..."),
# RELOAD (true: the set was rebuilt or its parameters changed: the loaded modules are
# replaced, once every new one resolves), OLD_MODULES and OLD_PARAMETERS (a reload: what
# was loaded before, loaded again if the new set fails), KERNEL, MODULES_DIR, WORK_DIR
# (where install.sh installed the set and kept the install it replaced). Which verb gets
# which: host/scripts/verbs.ts; the prelude has checked SET, the module names
# (they become file names and modprobe arguments), KERNEL and the paths.
set -eu
set -f # MODULES is split into words below, never globbed

load_conf=$HOST_MODULES_LOAD_DIR/kmod-fleet-$SET.conf
options_conf=$HOST_MODPROBE_DIR/kmod-fleet-$SET.conf

sysfs_name() { echo "/sys/module/${1//-/_}"; }
reverse() { printf '%s\n' "$@" | tac; }

expected_load_conf() {
  echo "$KMOD_FLEET_MARK (module set $SET): loaded at boot, in this order."
  printf '%s\n' $MODULES
}
expected_options_conf() {
  echo "$KMOD_FLEET_MARK (module set $SET)."
  printf '%s\n' "$PARAMETERS" | sed -n 's/^\([^ ]\+\) \(.\+\)$/options \1 \2/p'
}

params_of() { printf '%s\n' "$PARAMETERS" | sed -n "s/^$1 \(.\+\)\$/\1/p"; }
old_params_of() { printf '%s\n' "${OLD_PARAMETERS:-}" | sed -n "s/^$1 \(.\+\)\$/\1/p"; }

# The install a new artifact replaced, kept until the new modules load (see install.sh).
previous_build() { echo "$WORK_DIR/previous/$KERNEL/$SET"; }
installed_build() { echo "$MODULES_DIR/$KERNEL/extra/$SET"; }

# Empty folders the kept install leaves; the work dir too on a host that does not build.
forget_previous_dirs() { rmdir -- "$WORK_DIR/previous/$KERNEL" "$WORK_DIR/previous" "$WORK_DIR" 2>/dev/null || true; }

# A reload that failed after the previous modules were unloaded: the previous build goes
# back in its folder (when a new build replaced it) and the previous modules are loaded
# again with their previous parameters, so the host runs what worked before.
restore_previous() {
  local prev dest m
  prev=$(previous_build)
  dest=$(installed_build)
  if [ -d "$prev" ]; then
    rm -rf -- "$dest.restore" && cp -a -- "$prev" "$dest.restore"
    mv -- "$dest" "$dest.refused" && mv -- "$dest.restore" "$dest" && rm -rf -- "$dest.refused" "$prev"
    forget_previous_dirs
    depmod -a "$KERNEL"
    echo "the previous build of $SET is back in $dest" >&2
  fi
  for m in ${OLD_MODULES:-$MODULES}; do
    is_loaded "$m" && continue
    if modprobe -- "$m" $(old_params_of "$m") > /dev/null 2>&1; then
      echo "the previous $m is loaded again" >&2
    else
      echo "the previous $m could not be loaded again" >&2
    fi
  done
}

# "Loaded" means the installed file is what is loaded: the srcversion the kernel shows
# for the module equals the one of the file modprobe would load. (Modules without a
# srcversion, built without MODULE_VERSION or CONFIG_MODULE_SRCVERSION_ALL, compare by name.)
loaded_srcversion() { cat "$(sysfs_name "$1")/srcversion" 2>/dev/null || true; }
installed_srcversion() { modinfo -F srcversion -- "$1" 2>/dev/null || true; }
is_loaded() { [ -d "$(sysfs_name "$1")" ]; }
is_ours_loaded() { is_loaded "$1" && [ "$(loaded_srcversion "$1")" = "$(installed_srcversion "$1")" ]; }

# Unloads the set's modules that are the installed files, last first; a module of the
# same name that kmod-fleet did not install is left alone. ALL=true: every module of the
# set, whatever its srcversion (a reload replaces kmod-fleet's own previous build).
unload_set() {
  for m in $(reverse $MODULES); do
    is_loaded "$m" || continue
    if [ "${ALL:-false}" != true ] && ! is_ours_loaded "$m"; then
      echo "progress: leaving $m loaded: it is not the module kmod-fleet installed (srcversion '$(loaded_srcversion "$m")')"
      continue
    fi
    modprobe -r -- "$m" || { echo "cannot unload $m (in use? see lsmod)" >&2; exit 3; }
  done
}

# Writes a boot-time file whole (never half-written), then moves it in place.
write_file() { # $1 = path; content on stdin
  cat > "$1.kmod-fleet-new"
  mv -f -- "$1.kmod-fleet-new" "$1"
}

# Removes a boot-time file only if kmod-fleet wrote it.
remove_ours() {
  if written_by_kmod_fleet "$1"; then rm -f -- "$1"; fi
}

case "$ACTION" in
load)
  if [ "${RELOAD:-false}" = true ]; then
    # The rebuilt set replaces the loaded one: first make sure every new module resolves,
    # so that a set that cannot load leaves the previous modules loaded.
    for m in $MODULES; do
      if ! err=$(modprobe --dry-run -- "$m" 2>&1); then
        echo "modprobe cannot load the new $m ($err); the modules loaded now stay loaded" >&2
        restore_previous
        exit 3
      fi
    done
    ALL=true unload_set
  else
    # Never replace a module kmod-fleet did not load.
    for m in $MODULES; do
      if is_loaded "$m" && ! is_ours_loaded "$m"; then
        echo "$m is already loaded, but it is not the file kmod-fleet installed (loaded srcversion '$(loaded_srcversion "$m")', installed '$(installed_srcversion "$m")'); kmod-fleet does not replace a module it did not load: unload it (modprobe -r $m) or reboot, then run pulumi up again" >&2
        exit 3
      fi
    done
  fi
  loaded_now=""
  for m in $MODULES; do
    is_loaded "$m" && continue
    before=$(dmesg 2>/dev/null | wc -l)
    echo "progress: modprobe $m"
    # Parameters on the command line: the modprobe.d file is written only after success.
    if ! err=$(modprobe -- "$m" $(params_of "$m") 2>&1); then
      echo "modprobe $m failed: $err" >&2
      messages=$(dmesg 2>/dev/null | tail -n +"$((before + 1))")
      # As before this step: what it loaded is unloaded, the boot-time files are untouched,
      # and a reload puts back what was loaded before.
      for u in $(reverse $loaded_now); do modprobe -r -- "$u" > /dev/null 2>&1 || true; done
      [ "${RELOAD:-false}" = true ] && restore_previous
      echo "--- new kernel messages ---" >&2
      printf '%s\n' "$messages" >&2
      exit 3
    fi
    loaded_now="$loaded_now $m"
  done
  # Every module is loaded: only now do the boot-time files name them.
  mkdir -p "$HOST_MODULES_LOAD_DIR" "$HOST_MODPROBE_DIR"
  expected_options_conf | write_file "$options_conf"
  expected_load_conf | write_file "$load_conf"
  # The new build works: the one it replaced is no longer needed.
  if [ "${RELOAD:-false}" = true ]; then
    rm -rf -- "$(previous_build)"
    forget_previous_dirs
  fi
  echo "loaded=true"
  ;;
probe)
  for m in $MODULES; do
    if is_ours_loaded "$m"; then echo "loaded=$m"; else echo "missing=$m"; fi
  done
  if [ -f "$load_conf" ] && [ "$(cat "$load_conf")" = "$(expected_load_conf)" ] \
    && [ -f "$options_conf" ] && [ "$(cat "$options_conf")" = "$(expected_options_conf)" ]; then
    echo "persisted=true"
  else
    echo "persisted=false"
  fi
  ;;
unload-modules)
  # Modules dropped from the set: unloaded, the set's files stay (they list the new set).
  unload_set
  ;;
unload)
  unload_set
  remove_ours "$load_conf"
  remove_ours "$options_conf"
  ;;
*)
  echo "usage: ACTION=load|probe|unload|unload-modules $0" >&2
  exit 2
  ;;
esac

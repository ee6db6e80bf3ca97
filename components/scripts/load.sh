#!/bin/bash
# Loads a module set in order and makes it come back at boot.
# ACTION: load | probe | unload
# SET, MODULES (load order, space-separated), PARAMETERS (lines "module k=v ..."),
# RELOAD (true: unload first, because the modules were rebuilt)
set -eu

load_conf=/etc/modules-load.d/kmod-fleet-$SET.conf
options_conf=/etc/modprobe.d/kmod-fleet-$SET.conf

sysfs_name() { echo "/sys/module/${1//-/_}"; }
reverse() { printf '%s\n' "$@" | tac; }

expected_load_conf() {
  echo "# Written by kmod-fleet (module set $SET): loaded at boot, in this order."
  printf '%s\n' $MODULES
}
expected_options_conf() {
  echo "# Written by kmod-fleet (module set $SET)."
  printf '%s\n' "$PARAMETERS" | sed -n 's/^\([^ ]\+\) \(.\+\)$/options \1 \2/p'
}

unload_all() {
  for m in $(reverse $MODULES); do
    if [ -d "$(sysfs_name "$m")" ]; then
      modprobe -r "$m" || { echo "cannot unload $m (in use? see lsmod)" >&2; exit 3; }
    fi
  done
}

case "$ACTION" in
load)
  mkdir -p /etc/modules-load.d /etc/modprobe.d
  expected_options_conf > "$options_conf"
  expected_load_conf > "$load_conf"
  [ "${RELOAD:-false}" = true ] && unload_all
  for m in $MODULES; do
    [ -d "$(sysfs_name "$m")" ] && continue
    before=$(dmesg | wc -l)
    echo "progress: modprobe $m"
    if ! err=$(modprobe "$m" 2>&1); then
      echo "modprobe $m failed: $err" >&2
      echo "--- new kernel messages ---" >&2
      dmesg | tail -n +"$((before + 1))" >&2
      exit 3
    fi
  done
  echo "loaded=true"
  ;;
probe)
  for m in $MODULES; do
    if [ -d "$(sysfs_name "$m")" ]; then echo "loaded=$m"; else echo "missing=$m"; fi
  done
  if [ -f "$load_conf" ] && [ "$(cat "$load_conf")" = "$(expected_load_conf)" ] \
    && [ -f "$options_conf" ] && [ "$(cat "$options_conf")" = "$(expected_options_conf)" ]; then
    echo "persisted=true"
  else
    echo "persisted=false"
  fi
  ;;
unload)
  unload_all
  rm -f "$load_conf" "$options_conf"
  ;;
*)
  echo "usage: ACTION=load|probe|unload $0" >&2
  exit 2
  ;;
esac

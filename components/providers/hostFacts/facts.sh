#!/bin/bash
# Prints what kmod-fleet needs to know about a host, as key=value lines, each value in
# base64: a value read from a host file may hold a line break, and must not be able to
# print a line of its own (components/providers/hostFacts/hostFacts.ts refuses a key seen twice).
# Environment (from the profile): RELEASE_FILES, VERSION_VARIABLE, BOARD_VARIABLE,
# UPDATE_CONF_FILES (newline-separated; later files win), DEFAULT_GROUP,
# CONFIG_SOURCES (newline-separated, ${KERNEL} stands for `uname -r`), KERNEL_IMAGES (the
# A/B slots' kernel images, newline-separated), REBOOT_GATE_DIR (the reboot gate's folder,
# gate.sh). Its one verb: ACTION=probe.
set -eu

emit() { # $1 = key, $2 = value
  printf '%s=%s\n' "$1" "$(printf '%s' "$2" | base64 -w 0)"
}

kernel=$(uname -r)
emit kernelRelease "$kernel"
emit arch "$(uname -m)"
emit bootId "$(cat /proc/sys/kernel/random/boot_id)"

# Release files and update.conf are shell assignments; read them in a subshell so that
# nothing they set leaks into this script, and whatever they print goes to stderr.
release_value() { # $1 = variable name; files on stdin
  ( while IFS= read -r f; do [ -r "$f" ] && . "$f" >&2; done; eval "printf '%s' \"\${$1:-}\"" )
}
emit osVersion "$(printf '%s\n' "$RELEASE_FILES" | release_value "$VERSION_VARIABLE")"
emit board "$(printf '%s\n' "$RELEASE_FILES" | release_value "$BOARD_VARIABLE")"
group=$(printf '%s\n' "$UPDATE_CONF_FILES" | release_value GROUP)
emit group "${group:-$DEFAULT_GROUP}"
os_id=$(printf '%s\n' /etc/os-release | release_value ID)
emit osId "${os_id:-unknown}"

config=""
while IFS= read -r candidate; do
  path=${candidate//'${KERNEL}'/$kernel}
  if [ -n "$path" ] && [ -r "$path" ]; then config=$path; break; fi
done <<< "$CONFIG_SOURCES"
emit kernelConfig "$config"

# The A/B boot slots (Flatcar: USR-A and USR-B, each with its kernel image on the ESP):
# which one runs, and after the update engine has written a release to the other one and
# waits for the reboot (a staged update), that release's version and its kernel's release,
# read from the slot's image header (kernel_image_release, in the prelude). Slots are named
# a, b, ... in the order of KERNEL_IMAGES.
letters=(a b c d)
boot_slot=""
other_slot=""
other_kernel=""
i=0
while IFS= read -r image; do
  [ -n "$image" ] || continue
  r=$(kernel_image_release "$image")
  if [ -z "$boot_slot" ] && [ "$r" = "$kernel" ]; then
    boot_slot=${letters[$i]}
  elif [ -n "$r" ]; then
    other_slot=${letters[$i]}; other_kernel=$r
  fi
  i=$((i + 1))
done <<< "${KERNEL_IMAGES:-}"
# No image holds the running kernel: the running slot is one the other kernel is not in.
if [ -z "$boot_slot" ]; then
  if [ "$other_slot" = a ]; then boot_slot=b; else boot_slot=a; fi
fi
emit bootSlot "$boot_slot"
# The other slot's kernel, staged or not: after a reboot into an update it holds the release
# that ran before, the target of a fallback or a manual rollback, whose modules stay.
emit otherSlot "$other_slot"
emit otherKernelRelease "$other_kernel"

staged_version=""
staged_kernel=""
staged_slot=""
status=$(update_engine_client -status 2>/dev/null || true)
if printf '%s\n' "$status" | grep -qx 'CURRENT_OP=UPDATE_STATUS_UPDATED_NEED_REBOOT'; then
  staged_version=$(printf '%s\n' "$status" | sed -n 's/^NEW_VERSION=//p' | head -n 1)
  # The other slot's kernel (the running one again when the release keeps it); unknown
  # when its image cannot be read: then nothing is built for it before the reboot.
  staged_kernel=$other_kernel; staged_slot=$other_slot
fi
emit stagedOsVersion "$staged_version"
emit stagedKernelRelease "$staged_kernel"
emit stagedSlot "$staged_slot"
# What the reboot gate (gate.sh) does with a staged update: its state file, as it is.
gate_state=""
if [ -n "${REBOOT_GATE_DIR:-}" ] && [ -f "$REBOOT_GATE_DIR/state" ]; then gate_state=$(head -c 4096 -- "$REBOOT_GATE_DIR/state"); fi
emit rebootGate "$gate_state"

# Whether the kernel refuses unsigned modules. Raw values, one line each; kmod-fleet checks
# their shapes (components/providers/hostFacts/signing.ts).
config_line() { # $1 = option name: its line in the running config, "absent", or nothing without a config
  [ -n "$config" ] || return 0
  line=$(zcat -f -- "$config" 2>/dev/null | grep -E "^(CONFIG_$1=|# CONFIG_$1 is not set)" | head -n 1 || true)
  echo "${line:-absent}"
}
emit moduleSigForce "$(config_line MODULE_SIG_FORCE)"
emit machineKeyring "$(config_line INTEGRITY_MACHINE_KEYRING)"
first_line() { if [ -r "$1" ]; then head -n 1 -- "$1"; fi; }
emit sigEnforce "$(first_line /sys/module/module/parameters/sig_enforce)"
emit lockdown "$(first_line /sys/kernel/security/lockdown)"
# The EFI variable: 4 bytes of attributes, then 1 when Secure Boot is on.
secure_boot=not-efi
if [ -d /sys/firmware/efi ]; then
  var=/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e98c0a2c9a4e
  secure_boot=$(if [ -r "$var" ]; then od -An -t u1 -j 4 -N 1 -- "$var" | tr -d ' \n'; fi)
fi
emit secureBoot "$secure_boot"

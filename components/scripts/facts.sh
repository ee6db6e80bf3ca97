#!/bin/bash
# Prints what kmod-fleet needs to know about a host, as key=value lines.
# Environment (from the profile): RELEASE_FILES, VERSION_VARIABLE, BOARD_VARIABLE,
# UPDATE_CONF_FILES (newline-separated; later files win), DEFAULT_GROUP,
# CONFIG_SOURCES (newline-separated, ${KERNEL} stands for `uname -r`).
set -eu

kernel=$(uname -r)
echo "kernelRelease=$kernel"
echo "arch=$(uname -m)"
echo "bootId=$(cat /proc/sys/kernel/random/boot_id)"

# Release files and update.conf are shell assignments; read them in a subshell so that
# nothing they set leaks into this script.
release_value() { # $1 = variable name; files on stdin
  ( while IFS= read -r f; do [ -r "$f" ] && . "$f"; done; eval "printf '%s' \"\${$1:-}\"" )
}
echo "osVersion=$(printf '%s\n' "$RELEASE_FILES" | release_value "$VERSION_VARIABLE")"
echo "board=$(printf '%s\n' "$RELEASE_FILES" | release_value "$BOARD_VARIABLE")"
group=$(printf '%s\n' "$UPDATE_CONF_FILES" | release_value GROUP)
echo "group=${group:-$DEFAULT_GROUP}"
( . /etc/os-release 2>/dev/null; echo "osId=${ID:-unknown}"; echo "osVersionId=${VERSION_ID:-}" )

config=""
while IFS= read -r candidate; do
  path=${candidate//'${KERNEL}'/$kernel}
  if [ -n "$path" ] && [ -r "$path" ]; then config=$path; break; fi
done <<< "$CONFIG_SOURCES"
echo "kernelConfig=$config"

# Whether the kernel refuses unsigned modules. Raw values, one line each; kmod-fleet checks
# their shapes (components/signing.ts).
config_line() { # $1 = option name: its line in the running config, "absent", or nothing without a config
  [ -n "$config" ] || return 0
  line=$(zcat -f -- "$config" 2>/dev/null | grep -E "^(CONFIG_$1=|# CONFIG_$1 is not set)" | head -n 1 || true)
  echo "${line:-absent}"
}
echo "moduleSigForce=$(config_line MODULE_SIG_FORCE)"
echo "machineKeyring=$(config_line INTEGRITY_MACHINE_KEYRING)"
first_line() { if [ -r "$1" ]; then head -n 1 -- "$1"; fi; }
echo "sigEnforce=$(first_line /sys/module/module/parameters/sig_enforce)"
echo "lockdown=$(first_line /sys/kernel/security/lockdown)"
# The EFI variable: 4 bytes of attributes, then 1 when Secure Boot is on.
secure_boot=not-efi
if [ -d /sys/firmware/efi ]; then
  var=/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e98c0a2c9a4e
  secure_boot=$(if [ -r "$var" ]; then od -An -t u1 -j 4 -N 1 -- "$var" | tr -d ' \n'; fi)
fi
echo "secureBoot=$secure_boot"

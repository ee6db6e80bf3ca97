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

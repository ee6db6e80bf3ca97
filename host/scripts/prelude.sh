# kmod-fleet's host prelude (host/scripts/prelude.sh). hostStep sends it before every
# host script: after the value rules generated from the TypeScript side, before the checks
# of the verb's environment, the host lock and the script itself (docs/host-contract.md).

# A progress line: kmod-fleet shows it in Pulumi's log with the host's name.
say() { echo "progress: $*"; }

# Refuses: the message on stderr (it ends the step's error), and the exit code.
die() { # $1 = exit code, then the message
  local code=$1
  shift
  echo "$*" >&2
  exit "$code"
}

# The first line of every file kmod-fleet writes outside its own folders. A file that does
# not start with it is someone else's: never replaced, adopted or removed.
KMOD_FLEET_MARK='# Written by kmod-fleet'
written_by_kmod_fleet() { [ -f "$1" ] && head -n 1 -- "$1" | grep -q "^$KMOD_FLEET_MARK"; }

# The kernel release in a kernel image, from Linux's x86 boot header: "HdrS" at 0x202, and
# at 0x20E the offset, from 0x200, of the version string. Nothing for another image (arm64's
# has no such header): the facts and the reboot gate then do not know the staged kernel.
kernel_image_release() { # $1 = kernel image
  [ -r "$1" ] || return 0
  [ "$(dd if="$1" bs=1 skip=514 count=4 2>/dev/null)" = HdrS ] || return 0
  local at
  at=$(od -An -tu2 -j526 -N2 "$1" | tr -d ' ')
  [ -n "$at" ] && [ "$at" -gt 0 ] || return 0
  dd if="$1" bs=1 skip=$((at + 512)) count=160 2>/dev/null | tr '\0' '\n' | head -n 1 | cut -d' ' -f1
}

# A value from the config or from a host, before it becomes part of a path, a file name or
# a command: refused (exit 2, nothing done yet) unless the rule of its kind passes it.
# In the C locale, where [A-Z] means those 26 letters and a character is a byte.
check_value() { # $1 = kind, $2 = what it is, $3 = its variable, $4 = the value
  local LC_ALL=C rule_re rule_max rule_expected
  kmod_fleet_rule "$1"
  if [ "${#4}" -gt "$rule_max" ] || ! [[ $4 =~ $rule_re ]]; then
    die 2 "refusing the $2 '$4' ($3): expected $rule_expected"
  fi
}

# The same for each word of a space-separated list (words are never globbed).
check_words() { # $1 = kind, $2 = what each word is, $3 = the variable, $4 = the list
  local - word
  set -f
  for word in $4; do check_value "$1" "$2" "$3" "$word"; done
}

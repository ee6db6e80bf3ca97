#!/bin/bash
# The reboot gate: a condition in front of the host's reboot manager (Flatcar's locksmithd).
# While an update is staged and a module set assigned to the host has no verified install
# for the staged kernel, the host does not reboot into it. kmod-fleet does not reboot and
# has no reboot policy of its own: it keeps the user's update.conf, and writes in its place
# the same lines with REBOOT_STRATEGY=off while the gate is closed; it puts the user's file
# back, exactly, when the gate opens, and locksmithd then reboots as that file says.
# ACTION: create | check | probe | delete
# GATE_DIR (the gate's own folder: the user's update.conf kept as it was, the state, the
# installed check), UPDATE_CONF (the user's update.conf, e.g. /etc/flatcar/update.conf);
# create and check: SETS (the sets assigned to the host), MODULES_DIR, KERNEL_IMAGES (the
# A/B slots' kernel images), MAX_HOLD (seconds), POLICY (proceed | hold, after MAX_HOLD);
# create: CHECK_SCRIPT (this script with the prelude, installed as $GATE_DIR/gate.sh and
# run by kmod-fleet-reboot-gate.timer every 30 s and at boot with ACTION=check).
# Which verb gets which: host/scripts/verbs.ts.
set -eu

unit_dir=$HOST_UNIT_DIR
service=kmod-fleet-reboot-gate.service
timer=kmod-fleet-reboot-gate.timer
kept=$GATE_DIR/update.conf.user
absent=$GATE_DIR/update.conf.absent
state=$GATE_DIR/state
# Present when the gate made update.conf's folder (delete removes it again, if empty).
made_conf_dir=$GATE_DIR/update.conf.dir-made
# Not in GATE_DIR: delete removes that folder while holding it.
gate_lock=/run/lock/kmod-fleet-reboot-gate.lock

# One writer of update.conf and the state at a time: the timer's check, create, delete.
# Not the host lock: a check must never make a kmod-fleet run find the host busy.
lock_gate() {
  mkdir -p "$(dirname "$gate_lock")"
  exec 8>>"$gate_lock"
  flock -w 60 8 || die 75 "the reboot gate is busy: $gate_lock is held for more than 60 s"
}

check_settings() {
  [[ $MAX_HOLD =~ ^[0-9]{1,9}$ ]] || die 2 "refusing MAX_HOLD '$MAX_HOLD': expected a number of seconds"
  case "$POLICY" in proceed | hold) ;; *) die 2 "refusing POLICY '$POLICY': expected proceed or hold" ;; esac
}

ours() { written_by_kmod_fleet "$UPDATE_CONF"; }

# What update.conf holds that kmod-fleet could not put back as it was, or rewrite line by
# line: a symlink or another kind of file, a value continued on the next line.
cannot_keep() {
  if [ -L "$UPDATE_CONF" ] || { [ -e "$UPDATE_CONF" ] && [ ! -f "$UPDATE_CONF" ]; }; then
    echo "$UPDATE_CONF is not a regular file ($(stat -c %F -- "$UPDATE_CONF")); kmod-fleet keeps and restores only a plain file"
  elif [ -f "$UPDATE_CONF" ] && grep -q '\\$' -- "$UPDATE_CONF"; then
    echo "$UPDATE_CONF has a line ending in '\\' (a value continued on the next line); kmod-fleet cannot tell which lines set REBOOT_STRATEGY: join the lines"
  elif ours && [ ! -f "$kept" ] && [ ! -f "$absent" ]; then
    echo "$UPDATE_CONF starts with kmod-fleet's mark, but kmod-fleet has no copy of the file it replaced ($kept); remove the first line to make it yours again"
  fi
}

replace_file() { # $1 = file, $2 = the new content's temporary file: one rename, never half a file
  sync -- "$2" 2>/dev/null || true
  mv -f -- "$2" "$1"
}

# The gate closes: the user's file (if update.conf is theirs now, it is the one to keep)
# is kept, and update.conf becomes the same lines with REBOOT_STRATEGY=off.
close_gate() {
  # In this order, so that a crash between two steps leaves either the record of the file
  # the user has now, or update.conf still theirs (the next check does it again).
  if ! ours; then
    if [ -f "$UPDATE_CONF" ]; then
      cp -p -- "$UPDATE_CONF" "$kept.new" && replace_file "$kept" "$kept.new"
      rm -f -- "$absent"
    else
      rm -f -- "$kept"
      : > "$absent"
    fi
  fi
  local new
  if [ ! -d "$(dirname "$UPDATE_CONF")" ]; then
    mkdir -p -- "$(dirname "$UPDATE_CONF")"
    : > "$made_conf_dir"
  fi
  new=$(mktemp "$UPDATE_CONF.kmod-fleet.XXXXXX")
  {
    echo "$KMOD_FLEET_MARK: your file with REBOOT_STRATEGY=off while an update waits for its modules; yours is $kept (or $absent: none)."
    if [ -f "$kept" ]; then grep -v '^[[:space:]]*REBOOT_STRATEGY=' -- "$kept" || true; fi
    echo "REBOOT_STRATEGY=off"
  } > "$new"
  chmod 0644 "$new"
  if [ -f "$UPDATE_CONF" ] && cmp -s -- "$new" "$UPDATE_CONF"; then rm -f -- "$new"; return; fi
  replace_file "$UPDATE_CONF" "$new"
  # A running locksmithd reads off, and exits.
  systemctl try-restart locksmithd.service >/dev/null 2>&1 || true
}

# The gate opens: the user's update.conf exactly as it was (or none, if there was none).
open_gate() {
  ours || return 0
  if [ -f "$kept" ]; then
    cp -p -- "$kept" "$UPDATE_CONF.kmod-fleet.new" && replace_file "$UPDATE_CONF" "$UPDATE_CONF.kmod-fleet.new"
  else
    rm -f -- "$UPDATE_CONF"
  fi
  start_reboot_manager
}

# locksmithd reads update.conf when it starts, and with REBOOT_STRATEGY=off it exits: once
# the user's file is back, it is started again if the host starts it at boot (enabled); one
# the user disabled or masked stays as it is.
start_reboot_manager() {
  if systemctl is-enabled --quiet locksmithd.service 2>/dev/null; then
    systemctl restart locksmithd.service >/dev/null 2>&1 || true
  else
    systemctl try-restart locksmithd.service >/dev/null 2>&1 || true
  fi
}

# The staged release's kernel: the slot's image that is not the one running (the running
# kernel again when the release keeps it), as facts.sh finds it; empty when unreadable.
staged_kernel() {
  local image r running skipped=false found=""
  running=$(uname -r)
  for image in $KERNEL_IMAGES; do
    r=$(kernel_image_release "$image")
    if ! $skipped && [ "$r" = "$running" ]; then skipped=true; elif [ -n "$r" ]; then found=$r; fi
  done
  printf '%s' "$found"
}

# A set is ready for kernel $1 when install.sh's folder for it holds its modules, each one
# listed in the sha256 sums install.sh recorded, and every sum still matches.
set_ready() { # $1 = kernel, $2 = set
  local d=$MODULES_DIR/$1/extra/$2 ko
  [ -f "$d/.kmod-fleet-artifact" ] && [ -f "$d/.kmod-fleet-sha256" ] || return 1
  ls -- "$d"/*.ko >/dev/null 2>&1 || return 1
  for ko in "$d"/*.ko; do grep -q " $(basename -- "$ko")\$" "$d/.kmod-fleet-sha256" || return 1; done
  (cd -- "$d" && sha256sum --quiet --status -c .kmod-fleet-sha256) 2>/dev/null
}

state_value() { # $1 = key
  sed -n "s/^$1=//p" "$state" 2>/dev/null | head -n 1
}

write_state() { # key=value lines
  mkdir -p -- "$GATE_DIR"
  printf '%s\n' "$@" "checked=$(date +%s)" > "$state.new"
  replace_file "$state" "$state.new"
}

at() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# The check's one line: the journal's under the timer ("<4>" and "<2>" are journald's
# priorities, warning and critical), a progress line when create runs it.
report() {
  if [ "$ACTION" = check ]; then echo "$1"; else echo "progress: ${1#<[0-9]>}"; fi
}

# One check: the state, and one line saying it.
check() {
  local status version kernel since now waiting="" s
  status=$(update_engine_client -status 2>/dev/null || true)
  # No answer (update_engine starting, or restarting): nothing is known, nothing changes;
  # taking it for "idle" would start a held release's hold again.
  if ! printf '%s\n' "$status" | grep -q '^CURRENT_OP='; then
    report "<4>WARNING: update_engine_client -status did not answer; the gate stays as it was ($(state_value state || true))"
    return
  fi
  if ! printf '%s\n' "$status" | grep -qx 'CURRENT_OP=UPDATE_STATUS_UPDATED_NEED_REBOOT'; then
    close_gate
    write_state "state=idle"
    report "no update staged: the gate is closed (REBOOT_STRATEGY=off in $UPDATE_CONF until an update's modules are ready)"
    return
  fi
  version=$(printf '%s\n' "$status" | sed -n 's/^NEW_VERSION=//p' | head -n 1)
  kernel=$(staged_kernel)
  for s in $SETS; do
    if [ -z "$kernel" ] || ! set_ready "$kernel" "$s"; then waiting="$waiting $s"; fi
  done
  waiting=${waiting# }
  now=$(date +%s)
  since=$(state_value since)
  if [ "$(state_value version)" != "$version" ] || ! [[ $since =~ ^[0-9]+$ ]]; then since=$now; fi
  local about="$version (kernel $kernel)"
  if [ -z "$kernel" ] && [ -n "$waiting" ]; then
    # Nothing can be built for a kernel nobody knows (an arm64 image has no x86 boot
    # header): holding would only delay the update by maxRebootHold.
    open_gate
    write_state "state=proceeded" "version=$version" "kernel=" "since=$since" "waiting=$waiting"
    report "<4>WARNING: the kernel of $version cannot be read from $KERNEL_IMAGES, so its modules cannot be checked: the reboot is not held, and $waiting will be installed after it"
  elif [ -z "$waiting" ]; then
    open_gate
    write_state "state=released" "version=$version" "kernel=$kernel" "since=$since" "waiting="
    report "released: every module set is installed for $about; the reboot is up to the reboot manager and $UPDATE_CONF"
  elif [ $((now - since)) -ge "$MAX_HOLD" ] && [ "$POLICY" = proceed ]; then
    open_gate
    write_state "state=proceeded" "version=$version" "kernel=$kernel" "since=$since" "waiting=$waiting"
    report "<2>WARNING: the reboot into $about was held since $(at "$since") for $waiting, longer than maxRebootHold ($MAX_HOLD s); policy proceed: the reboot is allowed, and $waiting will be missing after it"
  else
    close_gate
    write_state "state=held" "version=$version" "kernel=$kernel" "since=$since" "waiting=$waiting"
    if [ $((now - since)) -ge "$MAX_HOLD" ]; then
      report "<4>WARNING: reboot into $about held since $(at "$since"), longer than maxRebootHold ($MAX_HOLD s): waiting for $waiting; policy hold: the host stays on its release until they are installed"
    else
      report "held since $(at "$since"): reboot into $about waits for $waiting"
    fi
  fi
}

# What read reports: the units, whether update.conf is as the gate's state says it should
# be, and the state.
probe() {
  local st
  st=$(state_value state)
  if [ -f "$unit_dir/$service" ] && [ -f "$unit_dir/$timer" ] && [ -f "$GATE_DIR/gate.sh" ] && [ -f "$GATE_DIR/gate.env" ] && systemctl is-enabled --quiet "$timer"; then
    echo "units=true"
  else
    echo "units=false"
  fi
  case "$st" in
  released | proceeded) if ours; then echo "updateConf=false"; else echo "updateConf=true"; fi ;;
  *) if ours && grep -qx 'REBOOT_STRATEGY=off' -- "$UPDATE_CONF"; then echo "updateConf=true"; else echo "updateConf=false"; fi ;;
  esac
  if [ -f "$state" ]; then sed -n 's/^\(state\|version\|kernel\|since\|waiting\)=/\1=/p' "$state"; fi
}

install_units() {
  printf '%s\n' "$CHECK_SCRIPT" > "$GATE_DIR/gate.sh.new" && replace_file "$GATE_DIR/gate.sh" "$GATE_DIR/gate.sh.new"
  # Every value here passed the prelude's checks: plain words, no quotes or line breaks.
  printf '%s\n' "$KMOD_FLEET_MARK: the reboot gate's settings." "ACTION=check" "GATE_DIR=$GATE_DIR" "UPDATE_CONF=$UPDATE_CONF" \
    "SETS=\"$SETS\"" "MODULES_DIR=$MODULES_DIR" "KERNEL_IMAGES=\"$KERNEL_IMAGES\"" "MAX_HOLD=$MAX_HOLD" "POLICY=$POLICY" > "$GATE_DIR/gate.env"
  cat > "$unit_dir/$service" <<UNIT
$KMOD_FLEET_MARK: the reboot gate's check (see $GATE_DIR).
[Unit]
Description=kmod-fleet reboot gate: no reboot into a staged update before its modules are installed
After=local-fs.target update-engine.service
RequiresMountsFor=$GATE_DIR

[Service]
Type=oneshot
EnvironmentFile=$GATE_DIR/gate.env
ExecStart=/bin/bash $GATE_DIR/gate.sh
UNIT
  cat > "$unit_dir/$timer" <<UNIT
$KMOD_FLEET_MARK: runs the reboot gate's check at boot and every 30 s.
[Unit]
Description=kmod-fleet reboot gate, every 30 s

[Timer]
OnBootSec=0
OnUnitActiveSec=30s
AccuracySec=5s

[Install]
WantedBy=timers.target
UNIT
  systemctl daemon-reload
  systemctl enable --now "$timer" >/dev/null 2>&1
}

foreign_units() {
  local f
  for f in "$unit_dir/$service" "$unit_dir/$timer"; do
    if [ -e "$f" ] && ! written_by_kmod_fleet "$f"; then echo "$f is there and kmod-fleet did not write it"; fi
  done
}

case "$ACTION" in
create)
  check_settings
  lock_gate
  problems=$( (cannot_keep; foreign_units) || true)
  [ -z "$problems" ] || die 3 "refusing to set up the reboot gate; nothing was changed:
$problems"
  mkdir -p -- "$GATE_DIR"
  close_gate
  install_units
  check
  probe
  ;;
check)
  check_settings
  lock_gate
  # Removed meanwhile (delete held the lock): nothing of the gate is left to act for.
  [ -f "$GATE_DIR/gate.env" ] || exit 0
  problem=$(cannot_keep)
  if [ -n "$problem" ]; then
    echo "<4>WARNING: the gate cannot act, reboots are not held: $problem"
    exit 0
  fi
  check
  ;;
probe)
  probe
  ;;
delete)
  lock_gate
  systemctl disable --now "$timer" >/dev/null 2>&1 || true
  systemctl stop "$service" >/dev/null 2>&1 || true
  for f in "$unit_dir/$service" "$unit_dir/$timer"; do
    if written_by_kmod_fleet "$f"; then rm -f -- "$f"; fi
  done
  # disable leaves the folder of the timer's link behind.
  rmdir -- "$unit_dir/timers.target.wants" 2>/dev/null || true
  systemctl daemon-reload
  # The user's update.conf exactly as it was, or none if there was none.
  open_gate
  if [ -f "$made_conf_dir" ]; then rmdir -- "$(dirname "$UPDATE_CONF")" 2>/dev/null || true; fi
  rm -rf -- "$GATE_DIR"
  # kmod-fleet's work dir, if nothing else of it is left.
  rmdir -- "$(dirname "$GATE_DIR")" 2>/dev/null || true
  ;;
*)
  echo "usage: ACTION=create|check|probe|delete $0" >&2
  exit 2
  ;;
esac

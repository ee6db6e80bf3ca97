#!/bin/bash
# The writable overlay over the read-only modules directory (the seed's Problem #2), and
# what brings it back after a reboot.
# ACTION: create | probe | move | delete
# MODULES_DIR (lower and mount point), UPPER_DIR, WORK_DIR, PERSISTENCE (mount-unit|fstab),
# OLD_UPPER_DIR, OLD_WORK_DIR, OLD_PERSISTENCE (move: the layout being left),
# CREATED_DIRS (delete: the folders create made, one per line), OWNED (what an earlier
# create recorded as kmod-fleet's, one per line: unit, fstab, dropin, mount; empty for
# state written before this was recorded). Which verb gets which: host/scripts/verbs.ts.
# The prelude has checked every path: plain absolute paths, so no ',' ':' or '=' changes
# the overlay's mount options.
set -eu

unit=$(systemd-escape --path --suffix=mount "$MODULES_DIR")
unit_file=$HOST_UNIT_DIR/$unit
options="lowerdir=$MODULES_DIR,upperdir=$UPPER_DIR,workdir=$WORK_DIR"
fstab_line="overlay $MODULES_DIR overlay $options,nofail 0 0"
# systemd-modules-load must wait for the overlay, or modules built here are not found at boot.
dropin_dir=$HOST_MODULES_LOAD_DROPIN_DIR
dropin=$dropin_dir/kmod-fleet-overlay.conf

# Mounted with our upper dir, and what the path shows (a mount made later on a parent,
# such as a read-only bind of /usr, would hide it while findmnt still lists it).
is_mounted() {
  findmnt -n -t overlay -M "$MODULES_DIR" -o OPTIONS 2>/dev/null | grep -q "upperdir=$UPPER_DIR" &&
    [ "$(stat -f -c %T "$MODULES_DIR/")" = overlayfs ]
}

owned() { printf '%s\n' "${OWNED:-}" | grep -qx "$1"; }

# What is in the way that kmod-fleet did not write: refused before anything is written,
# never adopted, overwritten or later deleted.
check_conflicts() {
  local f foreign
  for f in "$HOST_UNIT_DIR/$unit" "/run/systemd/system/$unit" "/usr/lib/systemd/system/$unit" "/lib/systemd/system/$unit"; do
    if [ -e "$f" ] && ! written_by_kmod_fleet "$f"; then
      echo "refusing: $f, a mount unit for $MODULES_DIR that kmod-fleet did not write, is already there:" >&2
      sed 's/^/  | /' "$f" >&2
      echo "remove it (and its mount) or point kmod-fleet elsewhere; kmod-fleet never adopts or replaces it" >&2
      exit 3
    fi
  done
  foreign=$(awk -v mp="$MODULES_DIR" '$1 !~ /^#/ && $2 == mp' /etc/fstab 2>/dev/null | grep -vxF "$fstab_line" || true)
  if [ -n "$foreign" ]; then
    echo "refusing: /etc/fstab already mounts $MODULES_DIR with a line kmod-fleet did not write:" >&2
    echo "  | $foreign" >&2
    exit 3
  fi
  if findmnt -n -M "$MODULES_DIR" >/dev/null 2>&1 && ! is_mounted; then
    echo "refusing: $MODULES_DIR already has another mount on it:" >&2
    findmnt -M "$MODULES_DIR" >&2
    exit 3
  fi
  if is_mounted && ! owned mount && ! written_by_kmod_fleet "$unit_file" && ! grep -qxF "$fstab_line" /etc/fstab 2>/dev/null; then
    echo "refusing: $MODULES_DIR is already mounted with the upper dir $UPPER_DIR, but not by kmod-fleet (no mount unit or fstab line of its own); kmod-fleet does not adopt it" >&2
    exit 3
  fi
}

is_persisted() {
  [ -f "$dropin" ] || return 1
  if [ "$PERSISTENCE" = mount-unit ]; then
    [ -f "$unit_file" ] && systemctl is-enabled --quiet "$unit"
  else
    grep -qxF "$fstab_line" /etc/fstab
  fi
}

# The mount unit, written to a temporary name and renamed: a boot at any moment finds
# either the old unit or the new one, never half of one.
write_unit() {
  cat > "$unit_file.kmod-fleet-new" <<UNIT
$KMOD_FLEET_MARK: a writable overlay over $MODULES_DIR for extra kernel modules.
[Unit]
Description=kmod-fleet overlay over $MODULES_DIR
Before=local-fs.target systemd-modules-load.service
RequiresMountsFor=$UPPER_DIR $WORK_DIR
ConditionPathExists=$UPPER_DIR

[Mount]
Type=overlay
What=overlay
Where=$MODULES_DIR
Options=$options

[Install]
WantedBy=local-fs.target
UNIT
  mv -f -- "$unit_file.kmod-fleet-new" "$unit_file"
  systemctl daemon-reload
  systemctl enable "$unit" >/dev/null 2>&1
}

remove_unit() {
  systemctl disable "$unit" >/dev/null 2>&1 || true
  rm -f -- "$unit_file"
  rmdir "$HOST_UNIT_DIR/local-fs.target.wants" 2>/dev/null || true
}

# /etc/fstab is rewritten in place (it may be a bind mount), keeping every other line.
remove_fstab_line() { # $1 = the exact line
  grep -qxF "$1" /etc/fstab 2>/dev/null || return 0
  grep -vxF "$1" /etc/fstab > /etc/fstab.kmod-fleet || true
  cat /etc/fstab.kmod-fleet > /etc/fstab && rm -f /etc/fstab.kmod-fleet
}

mount_now() {
  if [ "$PERSISTENCE" = mount-unit ]; then systemctl start "$unit"; else mount "$MODULES_DIR"; fi
}

moved() { [ "$1" != "$2" ]; } # new, old

# Everything in the way of a move (below), refused before anything is written.
refuse_move_conflicts() { # $1 = the current overlay's fstab line
  local old_fstab_line=$1 a b d
  # A new folder inside an old one (or around it) would be copied into itself or removed
  # with it.
  for a in "$UPPER_DIR" "$WORK_DIR"; do
    { [ "$a" = "$UPPER_DIR" ] && ! moved "$UPPER_DIR" "$OLD_UPPER_DIR"; } && continue
    { [ "$a" = "$WORK_DIR" ] && ! moved "$WORK_DIR" "$OLD_WORK_DIR"; } && continue
    for b in "$OLD_UPPER_DIR" "$OLD_WORK_DIR"; do
      case "$a/" in "$b/"*) echo "refusing to move the overlay to $a: it is inside $b, a folder of the current overlay" >&2; exit 3 ;; esac
      case "$b/" in "$a/"*) echo "refusing to move the overlay to $a: the current overlay's $b is inside it" >&2; exit 3 ;; esac
    done
  done
  # What is in the way that kmod-fleet did not write.
  for d in "$HOST_UNIT_DIR/$unit" "/run/systemd/system/$unit"; do
    if [ -e "$d" ] && ! written_by_kmod_fleet "$d"; then
      echo "refusing: $d, a mount unit for $MODULES_DIR that kmod-fleet did not write, is there; kmod-fleet never replaces it" >&2
      exit 3
    fi
  done
  a=$(awk -v mp="$MODULES_DIR" '$1 !~ /^#/ && $2 == mp' /etc/fstab 2>/dev/null | grep -vxF -e "$fstab_line" -e "$old_fstab_line" || true)
  if [ -n "$a" ]; then
    echo "refusing: /etc/fstab mounts $MODULES_DIR with a line kmod-fleet did not write:" >&2
    echo "  | $a" >&2
    exit 3
  fi
  if findmnt -n -M "$MODULES_DIR" >/dev/null 2>&1 && ! is_mounted &&
    ! findmnt -n -t overlay -M "$MODULES_DIR" -o OPTIONS | grep -q "upperdir=$OLD_UPPER_DIR"; then
    echo "refusing: $MODULES_DIR has a mount that is neither the current nor the new overlay:" >&2
    findmnt -M "$MODULES_DIR" >&2
    exit 3
  fi
  if moved "$UPPER_DIR" "$OLD_UPPER_DIR" && ! is_mounted && [ -d "$UPPER_DIR" ] && [ -n "$(ls -A -- "$UPPER_DIR")" ]; then
    echo "refusing to move the modules into $UPPER_DIR: it exists and is not empty; kmod-fleet moves them only into a new or empty folder" >&2
    exit 3
  fi
}

# Moves the overlay to another upper/work dir or persistence on the same mount point
# (a new storage.modulesRoot or storage.persistence). The order keeps a complete set of
# modules behind every boot: the modules are copied into the new upper dir before anything
# points at it; the boot-time config then switches in one rename (a unit) or with the new
# line added before the old one goes (fstab); only then is the live mount switched, and
# the old folders go last. Before the switch a failure leaves the old layout as it was;
# a new mount that fails puts the old layout back.
move_overlay() {
  local old_options old_fstab_line d
  old_options="lowerdir=$MODULES_DIR,upperdir=$OLD_UPPER_DIR,workdir=$OLD_WORK_DIR"
  old_fstab_line="overlay $MODULES_DIR overlay $old_options,nofail 0 0"
  refuse_move_conflicts "$old_fstab_line"

  local made=()
  for d in "$UPPER_DIR" "$WORK_DIR"; do
    if [ ! -d "$d" ]; then mkdir -p -- "$d"; made+=("$d"); echo "createdDir=$d"; fi
  done
  undo_folders() { local m; for m in "${made[@]}"; do rm -rf -- "$m"; echo "removedDir=$m"; done; }
  if moved "$UPPER_DIR" "$OLD_UPPER_DIR" && ! is_mounted; then
    echo "progress: copying the installed modules from $OLD_UPPER_DIR to $UPPER_DIR"
    # -a keeps the overlay's whiteouts (device files) and its trusted.overlay.* attributes.
    cp -a -- "$OLD_UPPER_DIR/." "$UPPER_DIR/" || { undo_folders; echo "copying the modules to $UPPER_DIR failed; the overlay stays in $OLD_UPPER_DIR" >&2; exit 3; }
    sync
  fi

  # The boot-time config: the new one is complete before the old one goes.
  persist_new() {
    if [ "$PERSISTENCE" = mount-unit ]; then
      write_unit
      if [ "$OLD_PERSISTENCE" = fstab ]; then remove_fstab_line "$old_fstab_line"; fi
    else
      grep -qxF "$fstab_line" /etc/fstab || echo "$fstab_line" >> /etc/fstab
      [ "$old_fstab_line" = "$fstab_line" ] || remove_fstab_line "$old_fstab_line"
      if [ "$OLD_PERSISTENCE" = mount-unit ] && written_by_kmod_fleet "$unit_file"; then remove_unit; fi
      systemctl daemon-reload
    fi
  }
  persist_old() { # the same, back to the old layout
    local new_upper=$UPPER_DIR new_work=$WORK_DIR new_persistence=$PERSISTENCE new_options=$options new_line=$fstab_line
    UPPER_DIR=$OLD_UPPER_DIR WORK_DIR=$OLD_WORK_DIR PERSISTENCE=$OLD_PERSISTENCE options=$old_options fstab_line=$old_fstab_line
    OLD_PERSISTENCE=$new_persistence old_fstab_line=$new_line
    persist_new
    mount_again || true
    UPPER_DIR=$new_upper WORK_DIR=$new_work PERSISTENCE=$new_persistence options=$new_options fstab_line=$new_line
  }
  # Modules already loaded stay loaded: only the view of the folder changes.
  mount_again() {
    if findmnt -n -M "$MODULES_DIR" >/dev/null 2>&1; then umount -- "$MODULES_DIR" 2>/dev/null || umount -l -- "$MODULES_DIR"; fi
    mount_now
  }
  persist_new
  echo "owns=$([ "$PERSISTENCE" = mount-unit ] && echo unit || echo fstab)"
  if ! is_mounted; then mount_again || true; fi
  if ! is_mounted; then
    echo "the overlay did not mount with $UPPER_DIR; putting the previous overlay back" >&2
    persist_old
    undo_folders
    exit 3
  fi
  echo "owns=mount"
  echo "mounted=true"
  # The old folders go last, and only those kmod-fleet made.
  for d in "$OLD_UPPER_DIR" "$OLD_WORK_DIR"; do
    [ "$d" = "$UPPER_DIR" ] || [ "$d" = "$WORK_DIR" ] && continue
    if printf '%s\n' "${CREATED_DIRS:-}" | grep -qxF -- "$d"; then
      rm -rf -- "$d"
      echo "removedDir=$d"
    else
      echo "progress: leaving $d in place: kmod-fleet did not create it"
    fi
  done
}

case "$ACTION" in
create)
  check_conflicts
  for d in "$UPPER_DIR" "$WORK_DIR"; do
    if [ ! -d "$d" ]; then mkdir -p -- "$d"; echo "createdDir=$d"; fi
  done
  mkdir -p "$dropin_dir"
  printf '%s: systemd-modules-load waits for the modules overlay.\n[Unit]\nWants=%s\nAfter=%s\n' "$KMOD_FLEET_MARK" "$unit" "$unit" > "$dropin"
  echo "owns=dropin"
  if [ "$PERSISTENCE" = mount-unit ]; then
    write_unit
    echo "owns=unit"
  else
    grep -qxF "$fstab_line" /etc/fstab || echo "$fstab_line" >> /etc/fstab
    echo "owns=fstab"
    systemctl daemon-reload
  fi
  is_mounted || mount_now
  is_mounted || { echo "overlay did not mount on $MODULES_DIR" >&2; exit 3; }
  echo "owns=mount"
  echo "mounted=true"
  ;;
move)
  move_overlay
  ;;
probe)
  if is_mounted; then echo "mounted=true"; else echo "mounted=false"; fi
  if is_persisted; then echo "persisted=true"; else echo "persisted=false"; fi
  ;;
delete)
  # Only what kmod-fleet wrote: what create recorded (state from before the record: what
  # carries kmod-fleet's mark), and never a unit or line someone else wrote.
  mine() { if [ -n "${OWNED:-}" ]; then owned "$1"; else true; fi; }
  if is_mounted && mine mount; then
    if [ "$PERSISTENCE" = mount-unit ] && written_by_kmod_fleet "$unit_file"; then systemctl stop "$unit"; else umount "$MODULES_DIR"; fi
  fi
  if [ "$PERSISTENCE" = mount-unit ]; then
    if mine unit && written_by_kmod_fleet "$unit_file"; then remove_unit; fi
  elif mine fstab; then
    remove_fstab_line "$fstab_line"
  fi
  if mine dropin && [ -f "$dropin" ]; then rm -f -- "$dropin"; fi
  rmdir "$dropin_dir" 2>/dev/null || true
  systemctl daemon-reload
  # Only the folders create made (a pre-existing modules root is the user's and stays), and
  # only if they are this overlay's upper or work dir: a recorded name is never a pattern.
  # By now the builds are deleted, so they hold nothing but depmod's regenerated indexes.
  printf '%s\n' "${CREATED_DIRS:-}" | while IFS= read -r d; do
    [ -n "$d" ] || continue
    if [ "$d" = "$UPPER_DIR" ] || [ "$d" = "$WORK_DIR" ]; then
      rm -rf -- "$d"
    else
      echo "not removing $d: it is not this overlay's upper or work dir" >&2
    fi
  done
  ;;
*)
  echo "usage: ACTION=create|probe|move|delete $0" >&2
  exit 2
  ;;
esac

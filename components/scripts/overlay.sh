#!/bin/bash
# The writable overlay over the read-only modules directory (the seed's Problem #2), and
# what brings it back after a reboot.
# ACTION: create | probe | delete
# MODULES_DIR (lower and mount point), UPPER_DIR, WORK_DIR, PERSISTENCE (mount-unit|fstab),
# CREATED_DIRS (delete: the folders create made, one per line), OWNED (what an earlier
# create recorded as kmod-fleet's, one per line: unit, fstab, dropin, mount; empty for
# state written before this was recorded)
set -eu

for p in "$MODULES_DIR" "$UPPER_DIR" "$WORK_DIR"; do
  case "$p" in
  /*/* | /[!/]*) ;;
  *) echo "refusing the path '$p': expected an absolute path" >&2; exit 2 ;;
  esac
  case "$p" in
  *[!A-Za-z0-9._+~/-]* | */../* | */.. | */./* | */. | */)
    # ',' ':' '=' would change the overlay's mount options.
    echo "refusing the path '$p': expected a plain absolute path (no spaces, globs, ',', ':', '=', '.' or '..')" >&2
    exit 2
    ;;
  esac
done

unit=$(systemd-escape --path --suffix=mount "$MODULES_DIR")
unit_file=/etc/systemd/system/$unit
options="lowerdir=$MODULES_DIR,upperdir=$UPPER_DIR,workdir=$WORK_DIR"
fstab_line="overlay $MODULES_DIR overlay $options,nofail 0 0"
# systemd-modules-load must wait for the overlay, or modules built here are not found at boot.
dropin_dir=/etc/systemd/system/systemd-modules-load.service.d
dropin=$dropin_dir/kmod-fleet-overlay.conf

# Mounted with our upper dir, and what the path shows (a mount made later on a parent,
# such as a read-only bind of /usr, would hide it while findmnt still lists it).
is_mounted() {
  findmnt -n -t overlay -M "$MODULES_DIR" -o OPTIONS 2>/dev/null | grep -q "upperdir=$UPPER_DIR" &&
    [ "$(stat -f -c %T "$MODULES_DIR/")" = overlayfs ]
}

# A file kmod-fleet wrote starts with this line.
ours_file() { [ -f "$1" ] && head -n 1 "$1" | grep -q '^# Written by kmod-fleet'; }
owned() { printf '%s\n' "${OWNED:-}" | grep -qx "$1"; }

# What is in the way that kmod-fleet did not write: refused before anything is written,
# never adopted, overwritten or later deleted.
check_conflicts() {
  local f foreign
  for f in "/etc/systemd/system/$unit" "/run/systemd/system/$unit" "/usr/lib/systemd/system/$unit" "/lib/systemd/system/$unit"; do
    if [ -e "$f" ] && ! ours_file "$f"; then
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
  if is_mounted && ! owned mount && ! ours_file "$unit_file" && ! grep -qxF "$fstab_line" /etc/fstab 2>/dev/null; then
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

case "$ACTION" in
create)
  check_conflicts
  for d in "$UPPER_DIR" "$WORK_DIR"; do
    if [ ! -d "$d" ]; then mkdir -p -- "$d"; echo "createdDir=$d"; fi
  done
  mkdir -p "$dropin_dir"
  printf '# Written by kmod-fleet: systemd-modules-load waits for the modules overlay.\n[Unit]\nWants=%s\nAfter=%s\n' "$unit" "$unit" > "$dropin"
  echo "owns=dropin"
  if [ "$PERSISTENCE" = mount-unit ]; then
    cat > "$unit_file" <<UNIT
# Written by kmod-fleet: a writable overlay over $MODULES_DIR for extra kernel modules.
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
    echo "owns=unit"
    systemctl daemon-reload
    systemctl enable "$unit" >/dev/null 2>&1
  else
    grep -qxF "$fstab_line" /etc/fstab || echo "$fstab_line" >> /etc/fstab
    echo "owns=fstab"
    systemctl daemon-reload
  fi
  if ! is_mounted; then
    if [ "$PERSISTENCE" = mount-unit ]; then systemctl start "$unit"; else mount "$MODULES_DIR"; fi
  fi
  is_mounted || { echo "overlay did not mount on $MODULES_DIR" >&2; exit 3; }
  echo "owns=mount"
  echo "mounted=true"
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
    if [ "$PERSISTENCE" = mount-unit ] && ours_file "$unit_file"; then systemctl stop "$unit"; else umount "$MODULES_DIR"; fi
  fi
  if [ "$PERSISTENCE" = mount-unit ]; then
    if mine unit && ours_file "$unit_file"; then
      systemctl disable "$unit" >/dev/null 2>&1 || true
      rm -f -- "$unit_file"
      rmdir /etc/systemd/system/local-fs.target.wants 2>/dev/null || true
    fi
  elif mine fstab && grep -qxF "$fstab_line" /etc/fstab; then
    grep -vxF "$fstab_line" /etc/fstab > /etc/fstab.kmod-fleet || true
    cat /etc/fstab.kmod-fleet > /etc/fstab && rm -f /etc/fstab.kmod-fleet
  fi
  if mine dropin && [ -f "$dropin" ]; then rm -f -- "$dropin"; fi
  rmdir "$dropin_dir" 2>/dev/null || true
  systemctl daemon-reload
  # Only the folders create made (a pre-existing /opt/modules is the user's and stays), and
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
  echo "usage: ACTION=create|probe|delete $0" >&2
  exit 2
  ;;
esac

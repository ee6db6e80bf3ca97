#!/bin/bash
# The writable overlay over the read-only modules directory (the seed's Problem #2), and
# what brings it back after a reboot.
# ACTION: create | probe | delete
# MODULES_DIR (lower and mount point), UPPER_DIR, WORK_DIR, PERSISTENCE (mount-unit|fstab)
set -eu

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
  for d in "$UPPER_DIR" "$WORK_DIR"; do
    if [ ! -d "$d" ]; then mkdir -p "$d"; echo "createdDir=$d"; fi
  done
  mkdir -p "$dropin_dir"
  printf '[Unit]\nWants=%s\nAfter=%s\n' "$unit" "$unit" > "$dropin"
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
    systemctl daemon-reload
    systemctl enable "$unit" >/dev/null 2>&1
  else
    grep -qxF "$fstab_line" /etc/fstab || echo "$fstab_line" >> /etc/fstab
    systemctl daemon-reload
  fi
  if ! is_mounted; then
    if findmnt -n -M "$MODULES_DIR" >/dev/null; then
      echo "$MODULES_DIR already has another mount on it:" >&2
      findmnt -M "$MODULES_DIR" >&2
      exit 3
    fi
    if [ "$PERSISTENCE" = mount-unit ]; then systemctl start "$unit"; else mount "$MODULES_DIR"; fi
  fi
  is_mounted || { echo "overlay did not mount on $MODULES_DIR" >&2; exit 3; }
  echo "mounted=true"
  ;;
probe)
  if is_mounted; then echo "mounted=true"; else echo "mounted=false"; fi
  if is_persisted; then echo "persisted=true"; else echo "persisted=false"; fi
  ;;
delete)
  if is_mounted; then
    if [ "$PERSISTENCE" = mount-unit ]; then systemctl stop "$unit"; else umount "$MODULES_DIR"; fi
  fi
  if [ "$PERSISTENCE" = mount-unit ]; then
    systemctl disable "$unit" >/dev/null 2>&1 || true
    rm -f "$unit_file"
    rmdir /etc/systemd/system/local-fs.target.wants 2>/dev/null || true
  else
    grep -vxF "$fstab_line" /etc/fstab > /etc/fstab.kmod-fleet || true
    cat /etc/fstab.kmod-fleet > /etc/fstab && rm -f /etc/fstab.kmod-fleet
  fi
  rm -f "$dropin"
  rmdir "$dropin_dir" 2>/dev/null || true
  systemctl daemon-reload
  # Only the folders create made (a pre-existing /opt/modules is the user's and stays).
  # By now the builds are deleted, so they hold nothing but depmod's regenerated indexes.
  for d in ${CREATED_DIRS:-}; do rm -rf "$d"; done
  ;;
*)
  echo "usage: ACTION=create|probe|delete $0" >&2
  exit 2
  ;;
esac

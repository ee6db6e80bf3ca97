#!/bin/bash
# Keeps one test host running: boots QEMU with the host's current kernel and boots it
# again whenever the guest reboots (QEMU runs with -no-reboot, so a guest reboot ends the
# QEMU process). A staged kernel (file "pending") becomes current at the next boot, like
# Flatcar's A/B update, and the one it replaces stays as "previous" (the other partition).
# Stops when the file "stop" exists.
# Usage: host-loop.sh HOST_DIR IMAGE_DIR SSH_PORT MEMORY_MB CPUS
set -eu
[ "$#" -eq 5 ] || { echo "usage: host-loop.sh HOST_DIR IMAGE_DIR SSH_PORT MEMORY_MB CPUS" >&2; exit 2; }
hostdir="$1"; imagedir="$2"; port="$3"; mem="$4"; cpus="$5"
log="$hostdir/serial.log"
quick_failures=0
while [ ! -e "$hostdir/stop" ]; do
    if [ -f "$hostdir/pending" ]; then
        # The other partition keeps the release that ran until now: a rollback's target.
        cp "$hostdir/kernel" "$hostdir/previous"
        mv "$hostdir/pending" "$hostdir/kernel"
    fi
    kver=$(cat "$hostdir/kernel")
    echo "=== testbed: boot $(date -u +%FT%TZ) kernel $kver" >>"$log"
    started=$(date +%s)
    # The CPU model: "max" unless TESTBED_CPU names another, to measure (docs/testbed.md
    # compares them: none is faster at the hosts' work; Intel models add Meltdown's PTI).
    qemu-system-x86_64 -accel tcg -machine q35 -cpu "${TESTBED_CPU:-max}" -m "$mem" -smp "$cpus" \
        -name "testbed-$(basename "$hostdir")" -display none -no-reboot \
        -chardev "file,id=ser0,path=$log,append=on" -serial chardev:ser0 -monitor none \
        -kernel "$imagedir/vmlinuz-$kver" -initrd "$imagedir/initrd.img-$kver" \
        -append "console=ttyS0 root=/dev/vda rw" \
        -drive "file=$hostdir/disk.qcow2,if=virtio,format=qcow2" \
        -drive "file=$hostdir/seed.img,if=virtio,format=raw,readonly=on" \
        -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22" -device virtio-net-pci,netdev=n0 &
    qpid=$!
    echo "$qpid" >"$hostdir/qemu.pid"
    rc=0
    wait "$qpid" || rc=$?
    rm -f "$hostdir/qemu.pid"
    echo "=== testbed: qemu exited with $rc" >>"$log"
    # QEMU failing right away (bad arguments, port taken) would loop forever.
    if [ $(( $(date +%s) - started )) -lt 10 ]; then
        quick_failures=$((quick_failures + 1))
        if [ "$quick_failures" -ge 3 ]; then
            echo "testbed: QEMU for $hostdir failed 3 times in a row; see $log" >&2
            echo "qemu failed 3 times in a row (exit $rc)" >"$hostdir/failed"
            exit 1
        fi
    else
        quick_failures=0
    fi
done

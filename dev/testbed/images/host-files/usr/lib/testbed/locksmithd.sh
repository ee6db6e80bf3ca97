#!/bin/bash
# Testbed stand-in for Flatcar's locksmithd, the reboot manager: once update_engine reports
# UPDATE_STATUS_UPDATED_NEED_REBOOT, it reboots as update.conf says (the user's
# /etc/flatcar/update.conf over the vendor's /usr/share/flatcar/update.conf). Like
# locksmithd, it reads them when it starts (a change needs `systemctl restart locksmithd`):
#   REBOOT_STRATEGY=reboot  reboot, inside the window when LOCKSMITHD_REBOOT_WINDOW_START
#                           ("[Day ]HH:MM", local time) and _LENGTH ("1h30m") are set
#   REBOOT_STRATEGY=off     exits at once, as locksmithd does (someone else reboots)
#   etcd-lock               needs etcd, which the test fleet does not run: never reboots
# `locksmithd.sh in-window START LENGTH EPOCH` answers by its exit code whether EPOCH is in
# that window (for tests).
set -u

log() { echo "locksmithd: $*"; }

setting() {
    local value="" f line
    for f in /usr/share/flatcar/update.conf /etc/flatcar/update.conf; do
        [ -f "$f" ] || continue
        # The pipeline's status is tail's: an absent key is an empty line, not a failure.
        line=$(grep -E "^$1=" "$f" | tail -n 1)
        [ -n "$line" ] || continue
        value=${line#*=}
    done
    value=${value#\"}
    printf '%s' "${value%\"}"
}

# A Go duration as locksmithd takes it (1h30m, 45m, 90s) in seconds.
duration_seconds() {
    [[ -n $1 && $1 =~ ^([0-9]+h)?([0-9]+m)?([0-9]+s)?$ ]] || return 1
    local h=${BASH_REMATCH[1]%h} m=${BASH_REMATCH[2]%m} s=${BASH_REMATCH[3]%s}
    echo $(( 10#${h:-0} * 3600 + 10#${m:-0} * 60 + 10#${s:-0} ))
}

# Whether EPOCH is inside the window that starts at START ("[Day ]HH:MM") and lasts LENGTH:
# the latest start at or before EPOCH decides. No START: any time is in the window.
in_window() {
    local start=$1 length=$2 now=$3 len day="" hh mm back t
    [ -z "$start" ] && return 0
    len=$(duration_seconds "$length") || { log "LOCKSMITHD_REBOOT_WINDOW_LENGTH=$length is not a duration like 1h30m"; return 1; }
    if [[ $start =~ ^(([A-Za-z]{3})[A-Za-z]*[[:space:]]+)?([0-9]{1,2}):([0-9]{2})$ ]]; then
        day=${BASH_REMATCH[2],,}; hh=${BASH_REMATCH[3]}; mm=${BASH_REMATCH[4]}
    else
        log "LOCKSMITHD_REBOOT_WINDOW_START=$start is not like 'Thu 23:00' or '23:00'"
        return 1
    fi
    for back in 0 1 2 3 4 5 6 7; do
        t=$(date -d "$(date -d "@$((now - back * 86400))" +%F) $hh:$mm" +%s)
        [ "$t" -le "$now" ] || continue
        if [ -n "$day" ]; then [ "$(date -d "@$t" +%a)" = "${day^}" ] || continue; fi
        [ $((now - t)) -lt "$len" ]
        return
    done
    return 1
}

if [ "${1:-}" = in-window ]; then
    in_window "$2" "$3" "$4"
    exit
fi

said=""
say_once() { [ "$1" = "$said" ] || log "$1"; said=$1; }

strategy=$(setting REBOOT_STRATEGY)
strategy=${strategy:-reboot}
start=$(setting LOCKSMITHD_REBOOT_WINDOW_START)
length=$(setting LOCKSMITHD_REBOOT_WINDOW_LENGTH)
if [ "$strategy" = off ]; then
    log "REBOOT_STRATEGY=off: shutting down"
    exit 0
fi
log "REBOOT_STRATEGY=$strategy${start:+, reboot window $start for $length}"

while :; do
    status=$(update_engine_client -status 2>/dev/null || true)
    if grep -qx 'CURRENT_OP=UPDATE_STATUS_UPDATED_NEED_REBOOT' <<<"$status"; then
        new=$(sed -n 's/^NEW_VERSION=//p' <<<"$status")
        case $strategy in
            reboot)
                if in_window "$start" "$length" "$(date +%s)"; then
                    log "update $new is staged; rebooting"
                    systemctl reboot
                    sleep infinity
                fi
                say_once "update $new is staged; waiting for the reboot window ($start for $length)" ;;
            etcd-lock) say_once "update $new is staged; REBOOT_STRATEGY=etcd-lock needs etcd, which the test fleet does not run: not rebooting" ;;
            *) say_once "update $new is staged; unknown REBOOT_STRATEGY=$strategy: not rebooting" ;;
        esac
    fi
    sleep "${LOCKSMITHD_POLL_SECONDS:-5}"
done

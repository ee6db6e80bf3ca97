// One mutating step per host at a time, across runs: two `pulumi up` (two stacks, two
// operators) must not build, mount or unload on one host together, and a rerun after a
// dropped connection must not delete a job folder under a build that still runs there.
// Every verb that changes the host (`lock: true` in host/scripts/verbs.ts) starts
// with this preamble: it takes an flock on a file in /run/lock (per boot, outside the
// folders `destroy` empties) and records who holds it. A step of the same run waits for
// the lock; a step of another run fails at once, naming it.
import { HOST_PATHS } from "../config/hostPaths";

export const LOCK_FILE = HOST_PATHS.lockFile;

/** Who this provider process is: the stack, and when the run started (the process did). */
export function runIdentity(stack: string | undefined): { id: string; info: string } {
  const g = globalThis as any;
  g.__kmodFleetRunStarted ??= new Date().toISOString();
  g.__kmodFleetRunToken ??= Math.random().toString(36).slice(2, 10);
  const info = `stack=${stack ?? "unknown"} started=${g.__kmodFleetRunStarted} pid=${process.pid}`;
  return { id: `${stack ?? "unknown"}@${g.__kmodFleetRunToken}`, info };
}

/** The bash lines a mutating script starts with (KMOD_FLEET_RUN and KMOD_FLEET_RUN_INFO in its environment). */
export function lockPreamble(lockFile: string = LOCK_FILE): string {
  return `# kmod-fleet: one mutating step per host at a time (host/hostLock.ts).
kmod_fleet_lock() {
  local lock=${lockFile} owner
  mkdir -p "$(dirname "$lock")"
  exec 9>>"$lock"
  flock -w 1 9 && { printf 'run=%s %s\\n' "$KMOD_FLEET_RUN" "$KMOD_FLEET_RUN_INFO" > "$lock.owner"; return; }
  owner=$(cat "$lock.owner" 2>/dev/null || true)
  case "$owner" in
  "run=$KMOD_FLEET_RUN "*) flock 9 ;; # another step of this run: wait for it
  *)
    echo "the host is busy: another kmod-fleet run holds its lock ($lock): \${owner#run=* }" >&2
    echo "wait for that run to finish; if it was interrupted, check that none of its steps still runs on the host" >&2
    exit 75
    ;;
  esac
  printf 'run=%s %s\\n' "$KMOD_FLEET_RUN" "$KMOD_FLEET_RUN_INFO" > "$lock.owner"
}
kmod_fleet_lock
`;
}

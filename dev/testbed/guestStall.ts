// Under TCG on a loaded machine a guest now and then stalls for good while it boots: CI saw
// one whose kernel reported "soft lockup - CPU#0 stuck for 261s" and whose SSH never
// answered. The emulator is at fault there, not what a test checks, so the fleet
// power-cycles such a guest once (fleet.ts) instead of failing the run.

/** The kernel's own reports of a CPU that made no progress. */
const STALL_REPORT = /watchdog: BUG: soft lockup[^\n]*|rcu: INFO: rcu_\w+ detected stalls[^\n]*/;

/** host-loop.sh writes this line to the serial console before each boot. */
export const BOOT_MARKER = "=== testbed: boot ";

/** The first stall report of the serial console's latest boot, or null. */
export function guestStall(serialConsole: string): string | null {
  const latestBoot = serialConsole.slice(Math.max(0, serialConsole.lastIndexOf(BOOT_MARKER)));
  return STALL_REPORT.exec(latestBoot)?.[0].trim() ?? null;
}

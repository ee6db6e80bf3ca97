import { describe, expect, it } from "vitest";
import { BOOT_MARKER, guestStall } from "../../dev/testbed/guestStall";

// Lines of the serial console of CI's h1 that never answered SSH (7 Dec 2026).
const stalledBoot = [
  `${BOOT_MARKER}2026-12-07T00:03:05Z kernel 6.1.0-56-cloud-amd64`,
  "[    0.000000] Linux version 6.1.0-56-cloud-amd64",
  "[  292.801051] watchdog: BUG: soft lockup - CPU#0 stuck for 261s! [ext4lazyinit:142]",
  "[  292.801051] Modules linked in: virtio_blk virtio_pci",
].join("\n");

describe("a guest's stall, from its serial console", () => {
  it("finds the kernel's soft lockup report in the latest boot", () => {
    expect(guestStall(stalledBoot)).toBe("watchdog: BUG: soft lockup - CPU#0 stuck for 261s! [ext4lazyinit:142]");
  });

  it("finds an RCU stall report", () => {
    expect(guestStall(`${BOOT_MARKER}x\n[   60.1] rcu: INFO: rcu_sched detected stalls on CPUs/tasks:\n`)).toBe("rcu: INFO: rcu_sched detected stalls on CPUs/tasks:");
  });

  it("ignores a stall of an earlier boot: after a power cycle only the new boot counts", () => {
    expect(guestStall(`${stalledBoot}\n=== testbed: qemu exited with 137\n${BOOT_MARKER}2026-12-07T00:05:00Z kernel 6.1.0-56-cloud-amd64\n[    1.0] Run /init as init process\n`)).toBeNull();
  });

  it("finds nothing on a healthy boot or an empty console", () => {
    expect(guestStall(`${BOOT_MARKER}x\n[    1.0] Run /init as init process\n`)).toBeNull();
    expect(guestStall("")).toBeNull();
  });
});

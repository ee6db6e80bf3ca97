import { describe, expect, it } from "vitest";
import { busyPercent, cpuTimes, measureSpan } from "../e2e/machineLoad";

describe("the machine's CPU load over a span (the VM tests' per-scenario figure)", () => {
  it("is the busy share of the CPU time between two readings", () => {
    expect(busyPercent({ busy: 100, total: 400 }, { busy: 250, total: 600 })).toBe(75);
    expect(busyPercent({ busy: 100, total: 400 }, { busy: 100, total: 600 })).toBe(0);
  });

  it("is left out when a reading is missing or no time passed", () => {
    expect(busyPercent(undefined, { busy: 1, total: 2 })).toBeUndefined();
    expect(busyPercent({ busy: 1, total: 2 }, { busy: 1, total: 2 })).toBeUndefined();
  });

  it("reads /proc/stat: busy never exceeds the whole, and both only grow", async () => {
    const a = cpuTimes()!;
    await new Promise((r) => setTimeout(r, 50));
    const b = cpuTimes()!;
    expect(a.busy).toBeLessThanOrEqual(a.total);
    expect(b.total).toBeGreaterThanOrEqual(a.total);
    expect(b.busy).toBeGreaterThanOrEqual(a.busy);
  });

  it("a span says its seconds and its busy share", async () => {
    const end = measureSpan();
    // 200 ms: tens of clock ticks on any machine, so the CPU time surely moved on.
    await new Promise((r) => setTimeout(r, 200));
    const span = end();
    expect(span.seconds).toBe(0);
    expect(span.busyPercent).toBeGreaterThanOrEqual(0);
    expect(span.busyPercent).toBeLessThanOrEqual(100);
  });
});

// How busy this machine's CPUs were over a span of a test: the share of CPU time that was
// not idle, from /proc/stat. The VM tests report it per scenario, to tell the time the
// guests spend emulating (the machine at 100%) from the time everything waits (reboots'
// timers, poll intervals, the watcher's sleep): what running other suites beside the VMs
// could use. Linux only; elsewhere the figure is left out.
import * as fs from "fs";

export interface CpuTimes {
  busy: number;
  total: number;
}

/** The machine's CPU time so far (all CPUs, in clock ticks); undefined without /proc/stat. */
export function cpuTimes(): CpuTimes | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync("/proc/stat", "utf8");
  } catch {
    return undefined;
  }
  // "cpu  user nice system idle iowait irq softirq steal guest guest_nice": guest time is
  // counted in user already, so the first eight fields are the whole.
  const fields = stat.split("\n")[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = fields[3] + fields[4];
  return { busy: total - idle, total };
}

/** Percentage of CPU time that was busy between two readings (undefined when either is missing). */
export function busyPercent(from: CpuTimes | undefined, to: CpuTimes | undefined): number | undefined {
  if (!from || !to || to.total <= from.total) return undefined;
  return Math.round((100 * (to.busy - from.busy)) / (to.total - from.total));
}

/** What a span of a test took: its seconds, and how busy the CPUs were (when known). */
export interface SpanLoad {
  seconds: number;
  busyPercent?: number;
}

/** Starts a span now; the function it returns ends it and says what it took. */
export function measureSpan(): () => SpanLoad {
  const at = Date.now();
  const cpu = cpuTimes();
  return () => ({ seconds: Math.round((Date.now() - at) / 1000), busyPercent: busyPercent(cpu, cpuTimes()) });
}

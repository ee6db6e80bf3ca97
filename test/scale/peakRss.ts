// Peak memory of a Pulumi run's Node processes, measured from outside: every 200 ms, each
// process whose environment holds `marker` (e.g. the run's PULUMI_BACKEND_URL, which the CLI
// passes to the language host and it to the program) is read from /proc; its VmHWM (the
// kernel's high-water mark of its resident memory) is its peak so far, so a sample just
// before it exits is enough. Only Linux.
import * as fs from "fs";

export type NodeRole = "program" | "provider";

/** Which Node process of a run this is, from its command line. */
function roleOf(cmdline: string): NodeRole | undefined {
  if (!/(^|\/)node\0/.test(cmdline)) return undefined;
  if (cmdline.includes("@pulumi/pulumi/cmd/run")) return "program";
  if (cmdline.includes("@pulumi/pulumi/cmd/dynamic-provider")) return "provider";
  return undefined;
}

function read(file: string): string {
  try {
    return fs.readFileSync(file, "latin1");
  } catch {
    return ""; // gone, or not ours to read
  }
}

/** Starts sampling; stop() returns the peak of each role in MiB (0 if none was seen). */
export function samplePeakRss(marker: string): { stop(): Record<NodeRole, number> } {
  const peakKiB: Record<NodeRole, number> = { program: 0, provider: 0 };
  const sample = () => {
    for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
      const role = roleOf(read(`/proc/${pid}/cmdline`));
      if (!role || !read(`/proc/${pid}/environ`).includes(marker)) continue;
      const hwm = /VmHWM:\s+(\d+) kB/.exec(read(`/proc/${pid}/status`));
      if (hwm) peakKiB[role] = Math.max(peakKiB[role], Number(hwm[1]));
    }
  };
  const timer = setInterval(sample, 200);
  return {
    stop() {
      clearInterval(timer);
      return { program: Math.round(peakKiB.program / 1024), provider: Math.round(peakKiB.provider / 1024) };
    },
  };
}

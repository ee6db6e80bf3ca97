// Peak memory and CPU time of a Pulumi run's processes (the program's Node process, the
// dynamic providers' one, the CLI and its language host), measured from outside: every 200 ms, each process whose environment holds
// `marker` (e.g. the run's PULUMI_BACKEND_URL, which the CLI passes to the language host and
// it to the program) is read from /proc; its VmHWM (the kernel's high-water mark of its
// resident memory) is its peak so far, so a sample just before it exits is enough. CPU time
// (user + system) does not depend on how busy the machine is, unlike wall time. Only Linux.
import * as fs from "fs";

export type NodeRole = "program" | "provider" | "engine";

/** Which process of a run this is, from its command line: "engine" is the Pulumi CLI and its language host. */
function roleOf(cmdline: string): NodeRole | undefined {
  if (/^(\S*\/)?pulumi(-language-nodejs)?\0/.test(cmdline)) return "engine";
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

export interface NodeFigures {
  /** Peak resident memory, MiB (0 if no such process was seen). */
  peakRssMB: number;
  /** CPU seconds, user and system, as last seen. */
  cpuSeconds: number;
}

const TICKS_PER_SECOND = 100;

/** Starts sampling; stop() returns the figures of each role. */
export function sampleNodeProcesses(marker: string): { stop(): Record<NodeRole, NodeFigures> } {
  const peakKiB: Record<NodeRole, number> = { program: 0, provider: 0, engine: 0 };
  const ticks: Record<NodeRole, Map<string, number>> = { program: new Map(), provider: new Map(), engine: new Map() };
  const sample = () => {
    for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
      const role = roleOf(read(`/proc/${pid}/cmdline`));
      if (!role || !read(`/proc/${pid}/environ`).includes(marker)) continue;
      const hwm = /VmHWM:\s+(\d+) kB/.exec(read(`/proc/${pid}/status`));
      if (hwm) peakKiB[role] = Math.max(peakKiB[role], Number(hwm[1]));
      // Fields 14 and 15 of /proc/<pid>/stat (after the command name in parentheses).
      const stat = read(`/proc/${pid}/stat`).split(") ")[1]?.split(" ");
      if (stat) ticks[role].set(pid, Number(stat[11]) + Number(stat[12]));
    }
  };
  const timer = setInterval(sample, 200);
  return {
    stop() {
      clearInterval(timer);
      const figures = (role: NodeRole): NodeFigures => ({
        peakRssMB: Math.round(peakKiB[role] / 1024),
        cpuSeconds: Number(([...ticks[role].values()].reduce((a, b) => a + b, 0) / TICKS_PER_SECOND).toFixed(1)),
      });
      return { program: figures("program"), provider: figures("provider"), engine: figures("engine") };
    },
  };
}

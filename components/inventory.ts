// What a host has that the plan must know when the program runs, read over SSH right after
// its facts: which artifacts are installed whole (a missing artifact can be taken back from
// such a host), and whether the developer container for its OS version is there (a
// builder that has it keeps it; one that does not downloads it only when it must build);
// the same for the kernel and release of an update staged for the next boot.
import type { ConnectionSpec } from "../host/ssh/session";
import { hostStep } from "../host/hostStep";
import { devContainerScript, installScript } from "./providers/scripts";
import type { PlanInventory } from "./plan/fleetPlan";

/** What the plan reads of it (plan/fleetPlan.ts). */
export type HostInventory = PlanInventory;

export interface InventoryQuery {
  kernelRelease: string;
  osVersion: string;
  /** An update staged for the next boot (both set, or neither). */
  stagedKernelRelease?: string;
  stagedOsVersion?: string;
  modulesDir: string;
  workDir: string;
  cacheDir: string;
  timeoutSeconds?: number;
}

export type InventoryProber = (spec: ConnectionSpec, query: InventoryQuery) => Promise<HostInventory>;

export async function probeInventory(conn: ConnectionSpec, q: InventoryQuery): Promise<HostInventory> {
  const running = await probeRelease(conn, q, q.kernelRelease, q.osVersion);
  if (!q.stagedKernelRelease || !q.stagedOsVersion || q.stagedKernelRelease === q.kernelRelease) return running;
  return { ...running, staged: await probeRelease(conn, q, q.stagedKernelRelease, q.stagedOsVersion) };
}

/** The artifacts installed for one kernel, and whether the developer container of one release is there. */
async function probeRelease(conn: ConnectionSpec, q: InventoryQuery, kernelRelease: string, osVersion: string): Promise<{ artifacts: Record<string, string>; developerContainer: boolean }> {
  const timeout = q.timeoutSeconds ?? 60;
  const installed = await hostStep(conn, `reading installed artifacts for ${kernelRelease}`, installScript, "inventory", { KERNEL: kernelRelease, MODULES_DIR: q.modulesDir }, timeout);
  const artifacts: Record<string, string> = {};
  for (const line of installed.lists.artifact ?? []) {
    const [set, id] = line.split(" ");
    if (set && id) artifacts[set] = id;
  }
  const image = await hostStep(
    conn,
    `looking for the developer container of ${osVersion}`,
    devContainerScript,
    "probe",
    { CACHE_DIR: q.cacheDir, VERSION: osVersion },
    timeout,
  );
  return { artifacts, developerContainer: image.values.present === "true" };
}

// What a host has that the plan must know when the program runs, read over SSH right after
// its facts: which artifacts are installed whole (a missing artifact can be taken back from
// such a host), and whether the developer container for its OS version is there (a
// builder that has it keeps it; one that does not downloads it only when it must build);
// the same for the other boot slot's kernel: an update staged for the next boot, or the
// release that ran before an update (a rollback's target, whose installs stay).
import type { ConnectionSpec } from "../host/ssh/session";
import { hostStep } from "../host/hostStep";
import { devContainerScript, installScript } from "./providers/scripts";
import type { PlanInventory } from "./plan/fleetPlan";

/** What the plan reads of it (plan/fleetPlan.ts). */
export type HostInventory = PlanInventory;

export interface InventoryQuery {
  kernelRelease: string;
  osVersion: string;
  /** The other slot's kernel, staged for the next boot or kept from before an update. */
  otherKernelRelease?: string;
  /** The release staged for the next boot ("" or absent when nothing is: the kept release is not known on the host). */
  stagedOsVersion?: string;
  modulesDir: string;
  workDir: string;
  cacheDir: string;
  timeoutSeconds?: number;
}

export type InventoryProber = (spec: ConnectionSpec, query: InventoryQuery) => Promise<HostInventory>;

export async function probeInventory(conn: ConnectionSpec, q: InventoryQuery): Promise<HostInventory> {
  const running = await probeRelease(conn, q, q.kernelRelease, q.osVersion);
  if (!q.otherKernelRelease || q.otherKernelRelease === q.kernelRelease) return running;
  return { ...running, other: await probeRelease(conn, q, q.otherKernelRelease, q.stagedOsVersion ?? "") };
}

/** The artifacts installed for one kernel, and whether the developer container of one release ("": none asked) is there. */
async function probeRelease(conn: ConnectionSpec, q: InventoryQuery, kernelRelease: string, osVersion: string): Promise<{ artifacts: Record<string, string>; developerContainer: boolean }> {
  const timeout = q.timeoutSeconds ?? 60;
  const installed = await hostStep(conn, `reading installed artifacts for ${kernelRelease}`, installScript, "inventory", { KERNEL: kernelRelease, MODULES_DIR: q.modulesDir }, timeout);
  const artifacts: Record<string, string> = {};
  for (const line of installed.lists.artifact ?? []) {
    const [set, id] = line.split(" ");
    if (set && id) artifacts[set] = id;
  }
  if (!osVersion) return { artifacts, developerContainer: false };
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

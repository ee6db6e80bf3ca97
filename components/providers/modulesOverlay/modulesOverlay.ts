// The writable overlay over the read-only modules directory (the seed's Problem #2),
// mounted now and brought back at boot by a systemd mount unit or an /etc/fstab line.
import * as pulumi from "@pulumi/pulumi";
import type { ConnectionSpec } from "../../../host/ssh/session";
import { hostStep } from "../../../host/hostStep";
import { diffFor, updateFor, type LifecycleContract } from "../lifecycle";
import { overlayScript } from "../scripts";

export interface ModulesOverlayInputs {
  /** How to reach the host over SSH (address, user, pinned host keys, credentials as Pulumi secrets), from `hosts[]` and the secret config. Recorded: a new one is stored, nothing runs. */
  connection: ConnectionSpec;
  /** The OS's read-only modules directory the overlay is mounted on, from `profile.modulesDir`. Exclusive: a new one removes the old overlay first (see the contract). */
  modulesDir: string;
  /** The overlay's upper dir, where installed modules live: `storage.modulesRoot`. In place: a "move" update. */
  upperDir: string;
  /** overlayfs's work dir, `<modulesRoot>.wd`. In place: a "move" update. */
  workDir: string;
  /** How the boot mounts it again, `storage.persistence`: a systemd mount unit or an /etc/fstab line. In place: a "move" update. */
  persistence: "mount-unit" | "fstab";
  /** Bound of each step on the host, from `hosts[].commandTimeoutSeconds`. Recorded. */
  commandTimeoutSeconds: number;
}

export interface ModulesOverlayOutputs extends ModulesOverlayInputs {
  /** Observed: the overlay is mounted with our upper dir. */
  mounted: boolean;
  /** Observed: the mount unit (or fstab line) and the modules-load ordering are in place. */
  persisted: boolean;
  /** Folders create made, and delete removes. */
  createdDirs: string[];
  /** What create wrote and delete may remove: "unit" or "fstab", "dropin", "mount" (absent in state from before it was recorded). */
  owned?: string[];
}

/**
 * Where the installed modules live and how the boot mounts them (upper and work dir,
 * persistence) change in place: the overlay moves, copying the modules before anything
 * points at the new folder, so that no moment exists where a boot finds them missing (a
 * replace would delete the old upper dir, and every installed module with it, first).
 */
export const modulesOverlayLifecycle: LifecycleContract<ModulesOverlayInputs, "move"> = {
  resource: "ModulesOverlay",
  recorded: ["connection", "commandTimeoutSeconds"],
  inPlace: ["upperDir", "workDir", "persistence"],
  updateKinds: [{ kind: "move", fields: ["upperDir", "workDir", "persistence"], what: "the modules are copied to the new layout, mounted there, and the old folders go after" }],
  elsewhere: [],
  exclusive: {
    fields: ["modulesDir"],
    why: "the OS moved its modules directory: the drop-in that orders systemd-modules-load after the overlay is one file, and builds install through the mount point",
  },
  drifted: (olds: ModulesOverlayOutputs) => olds.mounted === false || olds.persisted === false,
};

/** Another mount point is another overlay (old one first); a new layout is a move; a lost mount or unit is drift (update repairs it). */
export function diffOverlay(olds: ModulesOverlayOutputs, news: ModulesOverlayInputs): pulumi.dynamic.DiffResult {
  return diffFor(modulesOverlayLifecycle, olds, news);
}

function env(p: ModulesOverlayInputs, createdDirs: string[] = [], owned: string[] = []) {
  return { MODULES_DIR: p.modulesDir, UPPER_DIR: p.upperDir, WORK_DIR: p.workDir, PERSISTENCE: p.persistence, CREATED_DIRS: createdDirs.join("\n"), OWNED: owned.join("\n") };
}

/** Moves a mounted overlay to the new layout; the old folders go only after the new mount works. */
async function move(olds: ModulesOverlayOutputs, news: ModulesOverlayInputs): Promise<ModulesOverlayOutputs> {
  const r = await hostStep(
    news.connection,
    `moving the modules overlay to ${news.upperDir} (${news.persistence})`,
    overlayScript,
    "move",
    { ...env(news, olds.createdDirs ?? [], olds.owned ?? []), OLD_UPPER_DIR: olds.upperDir, OLD_WORK_DIR: olds.workDir, OLD_PERSISTENCE: olds.persistence },
    news.commandTimeoutSeconds,
  );
  const removed = r.lists.removedDir ?? [];
  const createdDirs = [...new Set([...(olds.createdDirs ?? []), ...(r.lists.createdDir ?? [])])].filter((d) => !removed.includes(d));
  // The boot-time config is now the new persistence's only.
  const owned = [...new Set([...(olds.owned ?? []).filter((o) => o !== "unit" && o !== "fstab"), ...(r.lists.owns ?? [])])];
  return { ...news, mounted: true, persisted: true, createdDirs, owned };
}

async function apply(p: ModulesOverlayInputs, createdBefore: string[], ownedBefore: string[]): Promise<ModulesOverlayOutputs> {
  const r = await hostStep(p.connection, `mounting the modules overlay on ${p.modulesDir}`, overlayScript, "create", env(p, [], ownedBefore), p.commandTimeoutSeconds);
  const createdDirs = [...new Set([...createdBefore, ...(r.lists.createdDir ?? [])])];
  const owned = [...new Set([...ownedBefore, ...(r.lists.owns ?? [])])];
  return { ...p, mounted: true, persisted: true, createdDirs, owned };
}

/** Exported for the provider tests, which call it directly against real hosts. */
export const modulesOverlayProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: ModulesOverlayInputs) {
    return { id: `${inputs.connection.host}:${inputs.modulesDir}`, outs: await apply(inputs, [], []) };
  },
  async read(id: string, props: ModulesOverlayOutputs) {
    const r = await hostStep(props.connection, "checking the modules overlay", overlayScript, "probe", env(props), props.commandTimeoutSeconds);
    return { id, props: { ...props, mounted: r.values.mounted === "true", persisted: r.values.persisted === "true" } };
  },
  async diff(_id: string, olds: ModulesOverlayOutputs, news: ModulesOverlayInputs) {
    return diffOverlay(olds, news);
  },
  async update(_id: string, olds: ModulesOverlayOutputs, news: ModulesOverlayInputs) {
    return updateFor(modulesOverlayLifecycle, olds, news, {
      move: () => move(olds, news),
      // A lost mount or unit (drift): mounted and persisted again where it is.
      remake: () => apply(news, olds.createdDirs ?? [], olds.owned ?? []),
    });
  },
  async delete(_id: string, props: ModulesOverlayOutputs) {
    await hostStep(props.connection, `removing the modules overlay from ${props.modulesDir}`, overlayScript, "delete", env(props, props.createdDirs, props.owned ?? []), props.commandTimeoutSeconds);
  },
};

export type ModulesOverlayArgs = { [K in keyof ModulesOverlayInputs]: pulumi.Input<ModulesOverlayInputs[K]> };

export class ModulesOverlay extends pulumi.dynamic.Resource {
  public declare readonly mounted: pulumi.Output<boolean>;
  public declare readonly persisted: pulumi.Output<boolean>;

  constructor(name: string, args: ModulesOverlayArgs, opts?: pulumi.CustomResourceOptions) {
    super(modulesOverlayProvider, name, { ...args, mounted: undefined, persisted: undefined, createdDirs: undefined, owned: undefined }, { ...opts, additionalSecretOutputs: ["connection"] }, "kmod-fleet", "ModulesOverlay");
  }
}

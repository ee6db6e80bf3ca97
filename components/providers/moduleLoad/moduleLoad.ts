// A module set loaded with modprobe in the configured order, and brought back at boot by
// /etc/modules-load.d and /etc/modprobe.d files. A failed modprobe reports the kernel
// messages it caused and the doctor's reading of them.
import * as pulumi from "@pulumi/pulumi";
import type { ConnectionSpec } from "../../../host/ssh/session";
import { hostStep } from "../../../host/hostStep";
import { diffFor, updateFor, type LifecycleContract } from "../lifecycle";
import { explainDmesg } from "../preflightOnHost";
import { loadScript } from "../scripts";

export interface ModuleLoadInputs {
  /** How to reach the host over SSH (address, user, pinned host keys, credentials as Pulumi secrets), from `hosts[]` and the secret config. Recorded: a new one is stored, nothing runs. */
  connection: ConnectionSpec;
  /** The module set's name, `moduleSets[].name`; the boot-time files are named after it. Elsewhere. */
  set: string;
  /** The modules to modprobe, in order, `moduleSets[].load`. In place. */
  modules: string[];
  /** module -> "k=v ..." for the modprobe command line and /etc/modprobe.d, from `moduleSets[].parameters`. In place: a "reload" on the same kernel. */
  parameters: Record<string, string>;
  /** The kernel the host runs, from its facts ("" when it could not be probed: nothing is decided). In place. */
  kernelRelease: string;
  /** The artifact's id, set by the program: it changes whenever the set's modules change, so that the new ones get loaded. In place: a "reload" on the same kernel. */
  buildDigest: string;
  /** Where the set is installed (<modulesDir>/<kernel>/extra/<set>), `profile.modulesDir`, for putting a previous build back. Recorded. */
  modulesDir: string;
  /** `storage.workDir`: for the doctor, where the kernel's sources and config are on the host; install.sh keeps a replaced install there. Recorded. */
  workDir: string;
  /** The host's kernel config path, from its facts, for the doctor. Recorded. */
  kernelConfig: string;
  /**
   * For the doctor: the host that has this kernel's sources (the group's builder) and its
   * config's path there, set by the program when another host builds; without it, this
   * host's own. Recorded.
   */
  doctorOn?: { connection: ConnectionSpec; kernelConfig: string };
  /** Bound of each step on the host, from `hosts[].commandTimeoutSeconds`. Recorded. */
  commandTimeoutSeconds: number;
}

export interface ModuleLoadOutputs extends ModuleLoadInputs {
  /** Observed: modules of the set that are not loaded. */
  notLoaded: string[];
  /** Observed: the boot-time files are present with the expected content. */
  persisted: boolean;
}

/**
 * A load changes in place: new modules are loaded before dropped ones are unloaded, a
 * reload puts the previous build back if the kernel refuses the new one, and the boot-time
 * files follow only a successful load. It has no place of its own to move.
 */
export const moduleLoadLifecycle: LifecycleContract<ModuleLoadInputs, "reload"> = {
  resource: "ModuleLoad",
  recorded: ["connection", "modulesDir", "workDir", "kernelConfig", "doctorOn", "commandTimeoutSeconds"],
  inPlace: ["modules", "parameters", "kernelRelease", "buildDigest"],
  updateKinds: [
    {
      kind: "reload",
      fields: ["buildDigest", "parameters"],
      sameIn: ["kernelRelease"],
      what: "a rebuilt set or new parameters replace the code in the running kernel: the new modules must resolve before the old ones are unloaded, and the old ones (the previous build put back) are loaded again if the new ones fail",
    },
  ],
  // The boot-time files are named after the set.
  elsewhere: ["set"],
  drifted: (olds: ModuleLoadOutputs) => (olds.notLoaded ?? []).length > 0 || olds.persisted === false,
  undecidable: (news) => !news.kernelRelease,
};

export function diffModuleLoad(olds: ModuleLoadOutputs, news: ModuleLoadInputs): pulumi.dynamic.DiffResult {
  return diffFor(moduleLoadLifecycle, olds, news);
}

function parameterLines(parameters: Record<string, string> | undefined): string {
  return Object.entries(parameters ?? {})
    .map(([m, v]) => `${m} ${v}`)
    .join("\n");
}

/** `previous`: on a reload, what is loaded now, loaded again if the new set fails. */
function env(p: ModuleLoadInputs, previous?: ModuleLoadInputs) {
  return {
    SET: p.set,
    MODULES: p.modules.join(" "),
    PARAMETERS: parameterLines(p.parameters),
    RELOAD: String(previous !== undefined),
    ...(previous ? { OLD_MODULES: previous.modules.join(" "), OLD_PARAMETERS: parameterLines(previous.parameters), KERNEL: p.kernelRelease, MODULES_DIR: p.modulesDir, WORK_DIR: p.workDir } : {}),
  };
}

const MARK = "--- new kernel messages ---";

async function load(p: ModuleLoadInputs, previous?: ModuleLoadInputs): Promise<ModuleLoadOutputs> {
  try {
    await hostStep(p.connection, `loading ${p.modules.join(", ")}`, loadScript, "load", env(p, previous), p.commandTimeoutSeconds);
  } catch (e: any) {
    const message = String(e?.message ?? e);
    const at = message.indexOf(MARK);
    const dmesg = at >= 0 ? message.slice(at + MARK.length).trim() : "";
    if (!dmesg) throw e;
    const sources = p.doctorOn ?? { connection: p.connection, kernelConfig: p.kernelConfig };
    const reading = await explainDmesg(sources.connection, { workDir: p.workDir, kernelRelease: p.kernelRelease, kernelConfig: sources.kernelConfig, timeoutSeconds: p.commandTimeoutSeconds }, dmesg);
    throw new Error(`${message}\n--- what they mean ---\n${reading}`);
  }
  return { ...p, notLoaded: [], persisted: true };
}

/** The new set is loaded first; modules it no longer has are unloaded only after that. */
async function loadThenUnloadDropped(olds: ModuleLoadOutputs, news: ModuleLoadInputs, previous?: ModuleLoadInputs): Promise<ModuleLoadOutputs> {
  const outs = await load(news, previous);
  const dropped = (olds.modules ?? []).filter((m) => !news.modules.includes(m));
  if (dropped.length > 0) {
    await hostStep(olds.connection, `unloading ${dropped.join(", ")} (no longer in ${olds.set})`, loadScript, "unload-modules", { ...env(olds), MODULES: dropped.join(" ") }, olds.commandTimeoutSeconds);
  }
  return outs;
}

/** Exported for the provider tests, which call it directly against real hosts. */
export const moduleLoadProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: ModuleLoadInputs) {
    return { id: `${inputs.connection.host}:${inputs.set}:load`, outs: await load(inputs) };
  },
  async read(id: string, props: ModuleLoadOutputs) {
    const r = await hostStep(props.connection, `checking that ${props.set} is loaded`, loadScript, "probe", env(props), props.commandTimeoutSeconds);
    return { id, props: { ...props, notLoaded: r.lists.missing ?? [], persisted: r.values.persisted === "true" } };
  },
  async diff(_id: string, olds: ModuleLoadOutputs, news: ModuleLoadInputs) {
    return diffModuleLoad(olds, news);
  },
  async update(_id: string, olds: ModuleLoadOutputs, news: ModuleLoadInputs) {
    return updateFor(moduleLoadLifecycle, olds, news, {
      reload: () => loadThenUnloadDropped(olds, news, { ...olds, modulesDir: olds.modulesDir ?? news.modulesDir }),
      remake: () => loadThenUnloadDropped(olds, news),
    });
  },
  async delete(_id: string, props: ModuleLoadOutputs) {
    await hostStep(props.connection, `unloading ${props.modules.join(", ")}`, loadScript, "unload", env(props), props.commandTimeoutSeconds);
  },
};

export type ModuleLoadArgs = { [K in keyof ModuleLoadInputs]: pulumi.Input<ModuleLoadInputs[K]> };

export class ModuleLoad extends pulumi.dynamic.Resource {
  public declare readonly notLoaded: pulumi.Output<string[]>;
  public declare readonly persisted: pulumi.Output<boolean>;

  constructor(name: string, args: ModuleLoadArgs, opts?: pulumi.CustomResourceOptions) {
    super(moduleLoadProvider, name, { ...args, notLoaded: undefined, persisted: undefined }, { ...opts, additionalSecretOutputs: ["connection", "doctorOn"] }, "kmod-fleet", "ModuleLoad");
  }
}

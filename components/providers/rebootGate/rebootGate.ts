// The reboot gate of one host (components/providers/rebootGate/gate.sh): while an update is staged and a
// module set of the host has no verified install for the staged kernel, the host's reboot
// manager is kept from rebooting (REBOOT_STRATEGY=off in the user's update.conf, whose own
// content kmod-fleet keeps and puts back exactly). A timer on the host checks every 30 s
// and at boot, so the hold needs no operator; this resource installs it, reads its state
// and removes it, giving the user's update.conf back as it was.
import * as pulumi from "@pulumi/pulumi";
import type { ConnectionSpec } from "../../../host/ssh/session";
import { hostStep } from "../../../host/hostStep";
import { diffFor, updateFor, type LifecycleContract } from "../lifecycle";
import { gateScript } from "../scripts";
import { verbText } from "../../../host/scripts/verbScript";
import { parseRebootHold, type RebootHold } from "./rebootHold";

export interface RebootGateInputs {
  /** How to reach the host over SSH, from `hosts[]` and the secret config. Recorded: a new one is stored, nothing runs. */
  connection: ConnectionSpec;
  /** The module sets assigned to the host (`moduleSets[].hosts`): each must be installed for the staged kernel. In place: the check's settings are written again. */
  sets: string[];
  /** Where install.sh puts them (<modulesDir>/<kernel>/extra/<set>), `profile.modulesDir`. In place. */
  modulesDir: string;
  /** The A/B slots' kernel images, `profile.kernelImages`: the staged kernel is read from the other slot's. In place. */
  kernelImages: string[];
  /** The user's update.conf, which the reboot manager reads (the last of `profile.updateConfFiles`). Exclusive: the old gate gives it back first. */
  updateConf: string;
  /** The gate's own folder under `storage.workDir`: the user's update.conf as it was, the state, the installed check. Exclusive. */
  gateDir: string;
  /** How long a staged update may wait for its modules, `updates.maxRebootHold` in seconds. In place. */
  maxRebootHoldSeconds: number;
  /** What happens after that, `updates.afterMaxHold`: the reboot may proceed (with a warning) or the hold stays. In place. */
  afterMaxHold: "proceed" | "hold";
  /** Bound of each step on the host, from `hosts[].commandTimeoutSeconds`. Recorded. */
  commandTimeoutSeconds: number;
}

export interface RebootGateOutputs extends RebootGateInputs {
  /** Observed: the timer, its service and the installed check are in place. */
  units: boolean;
  /** Observed: update.conf is as the gate's state says (ours with REBOOT_STRATEGY=off, or the user's while released). */
  updateConfKept: boolean;
  /** Observed: what the gate does with a staged update (absent when it never ran). */
  hold?: RebootHold;
}

/**
 * New sets, limits or images only rewrite the check's settings, in place. The gate's
 * folder and the update.conf it keeps are one place that two gates cannot share: the old
 * gate gives the user's file back before a new one takes it.
 */
export const rebootGateLifecycle: LifecycleContract<RebootGateInputs> = {
  resource: "RebootGate",
  recorded: ["connection", "commandTimeoutSeconds"],
  inPlace: ["sets", "modulesDir", "kernelImages", "maxRebootHoldSeconds", "afterMaxHold"],
  elsewhere: [],
  exclusive: { fields: ["updateConf", "gateDir"], why: "the gate keeps the user's update.conf in its folder: the old gate must give it back before another one takes it" },
  drifted: (olds: RebootGateOutputs) => olds.units === false || olds.updateConfKept === false,
};

const place = (p: RebootGateInputs) => ({ GATE_DIR: p.gateDir, UPDATE_CONF: p.updateConf });

function settings(p: RebootGateInputs) {
  return { ...place(p), SETS: p.sets.join(" "), MODULES_DIR: p.modulesDir, KERNEL_IMAGES: p.kernelImages.join(" "), MAX_HOLD: String(p.maxRebootHoldSeconds), POLICY: p.afterMaxHold };
}

/** What the probe (and create, which ends with it) says. */
function observed(values: Record<string, string>, stdout: string): Pick<RebootGateOutputs, "units" | "updateConfKept" | "hold"> {
  const hold = parseRebootHold(stdout);
  if (hold instanceof Error) throw hold;
  return { units: values.units === "true", updateConfKept: values.updateConf === "true", ...(hold ? { hold } : {}) };
}

async function apply(p: RebootGateInputs): Promise<RebootGateOutputs> {
  // The check the timer runs: the prelude, the checks of its settings and gate.sh, as one file.
  const CHECK_SCRIPT = verbText(gateScript, "check", "");
  const r = await hostStep(p.connection, `setting up the reboot gate (${p.sets.join(", ")})`, gateScript, "create", { ...settings(p), CHECK_SCRIPT }, p.commandTimeoutSeconds);
  return { ...p, ...observed(r.values, r.stdout) };
}

/** Exported for the provider tests, which call it directly against real hosts. */
export const rebootGateProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: RebootGateInputs) {
    return { id: `${inputs.connection.host}:reboot-gate`, outs: await apply(inputs) };
  },
  async read(id: string, props: RebootGateOutputs) {
    const r = await hostStep(props.connection, "checking the reboot gate", gateScript, "probe", place(props), props.commandTimeoutSeconds);
    const { hold: _, ...rest } = props;
    return { id, props: { ...rest, ...observed(r.values, r.stdout) } };
  },
  async diff(_id: string, olds: RebootGateOutputs, news: RebootGateInputs) {
    return diffFor(rebootGateLifecycle, olds, news);
  },
  async update(_id: string, olds: RebootGateOutputs, news: RebootGateInputs) {
    // New settings, or drift (a lost unit, an update.conf no longer the gate's): made again where it is.
    return updateFor(rebootGateLifecycle, olds, news, { remake: () => apply(news) });
  },
  async delete(_id: string, props: RebootGateOutputs) {
    await hostStep(props.connection, "removing the reboot gate, giving update.conf back", gateScript, "delete", place(props), props.commandTimeoutSeconds);
  },
};

export type RebootGateArgs = { [K in keyof RebootGateInputs]: pulumi.Input<RebootGateInputs[K]> };

export class RebootGate extends pulumi.dynamic.Resource {
  public declare readonly hold: pulumi.Output<RebootHold | undefined>;

  constructor(name: string, args: RebootGateArgs, opts?: pulumi.CustomResourceOptions) {
    super(rebootGateProvider, name, { ...args, units: undefined, updateConfKept: undefined, hold: undefined }, { ...opts, additionalSecretOutputs: ["connection"] }, "kmod-fleet", "RebootGate");
  }
}

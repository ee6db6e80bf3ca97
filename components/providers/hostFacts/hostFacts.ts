// What a host is running: kernel release, OS version/board/group, boot id and where the
// kernel config is. Probed over SSH when the program runs (preview and up alike), so the
// resources below get them as ordinary inputs and a kernel update shows up as a diff in
// `pulumi preview`. The resource records them in state; its read probes again, so
// `pulumi refresh` sees a host that changed under us.
import * as pulumi from "@pulumi/pulumi";
import { diffFor, updateFor, type LifecycleContract } from "../lifecycle";
import type { ConnectionSpec } from "../../../host/ssh/session";
import { hostStep } from "../../../host/hostStep";
import { factsScript } from "../scripts";
import { checkHostValues } from "../../../host/hostValues";
import { parseSigningFacts, type SigningFacts } from "./signing";
import { unreachableProblem } from "../../../host/unreachableHosts";
import { probeOverrides, withDefaults } from "./factsProbe";
import { parseRebootHold, type RebootHold } from "../rebootGate/rebootHold";
import { runningSlotOf } from "../../plan/bootSlots";

// Every fact is probed when the program runs. A change of a tracked fact (TRACKED_FACTS)
// is an update that stores it (nothing runs on the host); the others are stored with it.
export interface HostFactsValues extends SigningFacts {
  /** The running kernel (`uname -r`). Tracked. */
  kernelRelease: string;
  /** The machine's architecture (`uname -m`). Tracked. */
  arch: string;
  /** The boot's id: changes on every reboot. Not tracked (a reboot alone is no change). */
  bootId: string;
  /** The OS's ID from the release file. Tracked. */
  osId: string;
  /** The OS release, `profile.versionVariable` of the release files. Tracked. */
  osVersion: string;
  /** The board, `profile.boardVariable` of the release files (the developer container's URL). Tracked. */
  board: string;
  /** The update channel, GROUP of update.conf (a Nebraska UUID reads as the default group). Tracked. */
  group: string;
  /** Path of the running kernel's config on the host, the first of `kernelConfigSources` found ("" when none was). Tracked. */
  kernelConfig: string;
  /** The A/B boot slot the host runs (a, b: the order of profile.kernelImages). Tracked. */
  bootSlot?: string;
  /** The OS version an update staged for the next boot ("" when the update engine is idle). Tracked. */
  stagedOsVersion?: string;
  /** That release's kernel, read from the A/B slot's image ("" when none is staged or it cannot be read). Tracked. */
  stagedKernelRelease?: string;
  /** The slot the staged release boots from. Tracked. */
  stagedSlot?: string;
  /** What the host's reboot gate does with the staged update (absent: no gate on the host). */
  rebootHold?: RebootHold;
}

/** Facts the plan reads and the HostFacts resource does not record (they decide no change of their own). */
export interface OtherSlotFacts {
  /** The slot the host does not run ("" when only one image is readable). */
  otherSlot?: string;
  /** The kernel in that slot, staged or not ("" when unreadable): after an update, the rollback target's. */
  otherKernelRelease?: string;
}

/** What a probe learns: the facts, and the other slot's. */
export type ProbedFacts = HostFactsValues & OtherSlotFacts;

export interface FactsProbe {
  releaseFiles: string[];
  versionVariable: string;
  boardVariable: string;
  updateConfFiles: string[];
  defaultGroup: string;
  kernelConfigSources: string[];
  /** The A/B slots' kernel images (profile.kernelImages). */
  kernelImages?: string[];
  /** The reboot gate's folder, whose state the facts report. */
  rebootGateDir?: string;
}

/**
 * The facts are top-level inputs (not nested) because during a preview Pulumi knows a
 * resource's outputs only where they are inputs: dependents then see real values.
 */
export interface HostFactsInputs extends Partial<HostFactsValues> {
  /** How to reach the host over SSH, from `hosts[]` and the secret config; read uses it. Stored with the next change, no change alone. */
  connection: ConnectionSpec;
  /** Where to read the facts (the profile's release and update files, `kernelConfigSources`), as far as it differs from Flatcar's defaults (components/providers/hostFacts/factsProbe.ts); absent when it does not. No change alone. */
  probe?: Partial<FactsProbe>;
  /**
   * Why the host could not be probed when the program ran, set by the program. Nothing of
   * the host changes then (the fleet's run fails at its end, naming it, in the check); a
   * host that has no facts yet cannot be created.
   */
  unreachable?: string;
  /** An unreachable host is a warning, not a failed check: `allowUnreachableHosts`. No change alone. */
  allowUnreachable?: boolean;
}

type HostFactsOutputs = HostFactsInputs & HostFactsValues;

/** Every key facts.sh prints, once each. */
const FACT_KEYS = [
  "kernelRelease", "arch", "bootId", "osVersion", "board", "group", "osId", "kernelConfig", "bootSlot",
  "stagedOsVersion", "stagedKernelRelease", "stagedSlot", "otherSlot", "otherKernelRelease", "rebootGate", "moduleSigForce", "machineKeyring", "sigEnforce", "lockdown", "secureBoot",
];

/**
 * facts.sh's answer: one `key=<base64 of the value>` line per fact. The encoding keeps a
 * value that holds a line break (a release file can set one) from printing a line of its
 * own, and a key seen twice is refused rather than the later line winning. Exported for
 * the provider tests.
 */
export function parseFactsOutput(host: string, stdout: string): Record<string, string> {
  const values: Record<string, string> = Object.create(null);
  const bad: string[] = [];
  for (const line of stdout.split("\n")) {
    if (line === "") continue;
    const m = /^([A-Za-z]+)=([A-Za-z0-9+/]*={0,2})$/.exec(line);
    if (!m || !FACT_KEYS.includes(m[1])) bad.push(`  unexpected line ${JSON.stringify(line.slice(0, 200))}`);
    else if (m[1] in values) bad.push(`  ${m[1]} printed twice`);
    else values[m[1]] = Buffer.from(m[2], "base64").toString("utf8");
  }
  if (bad.length > 0) throw new Error(`${host}: the host's facts cannot be read (expected one key=base64 line per fact):\n${bad.slice(0, 10).join("\n")}`);
  return values;
}

/** Group names are channels, but update.conf may hold a UUID (a Nebraska group): the URL needs a channel. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function probeFacts(connection: ConnectionSpec, probe: FactsProbe, timeoutSeconds = 60): Promise<ProbedFacts> {
  const r = await hostStep(
    connection,
    "reading host facts",
    factsScript,
    "probe",
    {
      RELEASE_FILES: probe.releaseFiles.join("\n"),
      VERSION_VARIABLE: probe.versionVariable,
      BOARD_VARIABLE: probe.boardVariable,
      UPDATE_CONF_FILES: probe.updateConfFiles.join("\n"),
      DEFAULT_GROUP: probe.defaultGroup,
      CONFIG_SOURCES: probe.kernelConfigSources.join("\n"),
      KERNEL_IMAGES: (probe.kernelImages ?? []).join("\n"),
      ...(probe.rebootGateDir ? { REBOOT_GATE_DIR: probe.rebootGateDir } : {}),
    },
    timeoutSeconds,
  );
  const v = parseFactsOutput(connection.host, r.stdout);
  const hold = parseRebootHold(v.rebootGate ?? "");
  if (hold instanceof Error) throw new Error(`${connection.host}: ${hold.message} (${probe.rebootGateDir}/state)`);
  const facts: Omit<ProbedFacts, "rebootHold"> = {
    ...parseSigningFacts(connection.host, v),
    kernelRelease: v.kernelRelease ?? "",
    arch: v.arch ?? "",
    bootId: v.bootId ?? "",
    osId: v.osId ?? "",
    osVersion: v.osVersion ?? "",
    board: v.board ?? "",
    group: UUID.test(v.group ?? "") ? probe.defaultGroup : (v.group ?? probe.defaultGroup),
    kernelConfig: v.kernelConfig ?? "",
    stagedOsVersion: v.stagedOsVersion ?? "",
    stagedKernelRelease: v.stagedKernelRelease ?? "",
    bootSlot: runningSlotOf(v),
    stagedSlot: v.stagedSlot ?? "",
    otherSlot: v.otherSlot ?? "",
    otherKernelRelease: v.otherKernelRelease ?? "",
  };
  checkHostValues(connection.host, { ...facts }, {
    osVersion: `${probe.versionVariable} in ${probe.releaseFiles.join(", ")}`,
    board: `${probe.boardVariable} in ${probe.releaseFiles.join(", ")}`,
    group: `GROUP in ${probe.updateConfFiles.join(", ")}`,
    stagedOsVersion: "NEW_VERSION of update_engine_client -status",
    stagedKernelRelease: `the staged kernel image (${(probe.kernelImages ?? []).join(", ")})`,
    otherKernelRelease: `the other slot's kernel image (${(probe.kernelImages ?? []).join(", ")})`,
  });
  // Checked by its parser, above.
  return hold ? { ...facts, rebootHold: hold } : facts;
}

/**
 * Facts that matter for what is built; the boot id changes on every reboot and does not.
 * The module-signing facts only decide a warning (and are new: state written before them
 * has none), so they do not make a diff either.
 */
export const TRACKED_FACTS: (keyof HostFactsValues)[] = ["kernelRelease", "arch", "osId", "osVersion", "board", "group", "kernelConfig", "bootSlot", "stagedOsVersion", "stagedKernelRelease", "stagedSlot"];

/**
 * The facts are a record of what the probe saw; nothing is written on the host. A new
 * tracked fact is a new record (the update stores the whole probe); every other input is
 * stored with it, and its change alone is no change. An unreachable host keeps the facts it
 * had: nothing is known to differ, and nothing of it changes.
 */
export const hostFactsLifecycle: LifecycleContract<HostFactsInputs> = {
  resource: "HostFacts",
  recorded: [],
  // rebootHold too: the preview's and the summary's hold line come from the live probe, and a hold that starts or ends is not a new record.
  readWhenActing: ["connection", "probe", "unreachable", "allowUnreachable", "bootId", "moduleSigForce", "machineKeyring", "sigEnforce", "lockdown", "secureBoot", "rebootHold"],
  inPlace: TRACKED_FACTS,
  elsewhere: [],
  // A probe is what the host is: read refreshes the facts, there is nothing to repair.
  drifted: () => false,
  undecidable: (news) => !!news.unreachable,
};

export function diffFacts(olds: Partial<HostFactsValues>, news: HostFactsInputs): pulumi.dynamic.DiffResult {
  return diffFor(hostFactsLifecycle, olds as HostFactsInputs, news);
}

/** An unreachable host fails here, as "resource '<host>-facts' has a problem: ...", unless allowed. */
export function checkReachable(news: HostFactsInputs): pulumi.dynamic.CheckFailure[] {
  return news.unreachable && !news.allowUnreachable ? [{ property: "", reason: unreachableProblem(news.unreachable) }] : [];
}

function outputsOf(inputs: HostFactsInputs): HostFactsOutputs {
  // Reached only when unreachable hosts are allowed: a host new to the stack still cannot be created.
  if (inputs.unreachable) throw new Error(`not created: the host could not be probed: ${inputs.unreachable}`);
  return inputs as HostFactsOutputs;
}

/** Exported for the provider tests, which call it directly against real hosts. */
export const hostFactsProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds: HostFactsInputs, news: HostFactsInputs) {
    return { inputs: news, failures: checkReachable(news) };
  },
  async create(inputs: HostFactsInputs) {
    return { id: `${inputs.connection.host}-facts`, outs: outputsOf(inputs) };
  },
  async read(id: string, props: HostFactsOutputs) {
    const facts = await probeFacts(props.connection, withDefaults(props.probe));
    return { id, props: { ...props, ...facts } };
  },
  async diff(_id: string, olds: HostFactsOutputs, news: HostFactsInputs) {
    return diffFacts(olds, news);
  },
  async update(_id: string, olds: HostFactsOutputs, news: HostFactsInputs) {
    return updateFor(hostFactsLifecycle, olds, news, { remake: async () => outputsOf(news) });
  },
  // Facts are only a record of the host; nothing to undo there.
  async delete() {},
};

/** The facts a program reads back from a HostFacts resource (filled in from its outputs). */
type ReadableFact = "kernelRelease" | "osVersion" | "board" | "group" | "kernelConfig" | "bootId" | "arch" | "stagedOsVersion" | "stagedKernelRelease" | "bootSlot" | "lockdown" | "secureBoot";

// Merged into the class below: the outputs are typed here, Pulumi sets them at run time.
export interface HostFacts extends Readonly<Record<ReadableFact, pulumi.Output<string>>> {}

export class HostFacts extends pulumi.dynamic.Resource {
  /** `facts` as probed when the program ran, or `unreachable` with the reason. */
  constructor(name: string, args: { connection: pulumi.Input<ConnectionSpec>; probe: FactsProbe; facts?: HostFactsValues; unreachable?: pulumi.Input<string>; allowUnreachable?: boolean }, opts?: pulumi.CustomResourceOptions) {
    const { facts, probe, ...rest } = args;
    const overrides = probeOverrides(probe);
    super(hostFactsProvider, name, { ...rest, ...(Object.keys(overrides).length > 0 ? { probe: overrides } : {}), ...facts }, { ...opts, additionalSecretOutputs: ["connection"] }, "kmod-fleet", "HostFacts");
  }
}

// The fleet's plan: every decision of a run, made once, from the resolved config, what each
// host answered to its probe and what the artifact store holds. Pure: the components
// (components/fleet.ts, components/host.ts) only register what it says, with the names,
// aliases and decided inputs it gives. The builds themselves are grouped by
// components/plan/buildPlan.ts; here each group gets how its artifact is had this run, each builder
// its developer containers, and each host, per module set, its installs (one per boot slot
// whose kernel it is for) and its load.
import { artifactId, artifactKeyOf, type ArtifactKey } from "../../artifacts/store";
import { mayBuild, planBuilds, decideObtain, developerContainerNeeds, type BuildGroup, type Obtain, type PlanHost, type PlanSet, type PublishedRelease } from "./buildPlan";
import { otherSlotOf, runningSlotOf, UNREAD_RUNNING_SLOT, UNREAD_STAGED_SLOT } from "./bootSlots";

/** The probed facts the plan reads. */
export interface PlanFacts {
  kernelRelease: string;
  arch: string;
  osVersion: string;
  /** Path of the running kernel's config on the host: a build on it reads it. */
  kernelConfig: string;
  stagedOsVersion?: string;
  stagedKernelRelease?: string;
  bootSlot?: string;
  stagedSlot?: string;
  /** The update channel and board (a published release is built ahead for the hosts on its channel). */
  group?: string;
  board?: string;
  /** The slot the host does not run, and its kernel, staged or not. */
  otherSlot?: string;
  otherKernelRelease?: string;
}

/** What a host has, as its inventory probe says (components/inventory.ts). */
export interface PlanInventory {
  /** Set name -> id of the artifact installed for the running kernel (files unchanged since). */
  artifacts: Record<string, string>;
  /** The verified developer container of its running release is there. */
  developerContainer: boolean;
  /**
   * The same for the other slot's kernel: an update staged for the next boot (and whether
   * its release's developer container is there), or the release that ran before an update,
   * a rollback's target (its release is not known on the host: no developer container).
   */
  other?: { artifacts: Record<string, string>; developerContainer: boolean };
}

/** One host as the program found it: probed, unreachable, or pending (a preview before its machine exists). */
export interface ProbedHost {
  name: string;
  labels: readonly string[];
  facts?: PlanFacts;
  inventory?: PlanInventory;
  unreachable?: string;
  pending?: boolean;
}

export interface FleetPlanInput {
  hosts: readonly ProbedHost[];
  /** Where the artifact store is (for the messages). */
  storeLocation: string;
  sets: readonly PlanSet[];
  /** build.builders: host names or labels that may build; empty: any host. */
  builders: readonly string[];
  /** The releases the hosts' channels serve, to build ahead (`updates.buildAhead`; empty when off). */
  published?: readonly PublishedRelease[];
}

/** Where a host's set comes from. */
export type PlannedSource =
  | { kind: "build"; build: string; artifactId: string; builder: string }
  | { kind: "problem"; reason: string }
  /** The host could not be probed: its resources stay as they are. */
  | { kind: "unknown" }
  /** The host is pending: its group, and so its build, is not known yet. */
  | { kind: "pending" };

export interface ResourceAlias {
  name: string;
  type?: string;
}

export interface PlannedBuild {
  /** Resource name: `build-<group id>`. */
  name: string;
  group: BuildGroup;
  obtain: Obtain;
  artifactId: string;
  /** The builder does not run the group's kernel (it has it staged): the kernel comes from the developer container. */
  kernelFromImage: boolean;
  /** The builder's kernel config path ("" when the kernel comes from the image). */
  kernelConfig: string;
  /** The developer container it builds in, when the builder has one planned. */
  developerContainer?: string;
  /** The build before it on the same builder: they share its kernel tree, so they run one after another. */
  after?: string;
}

export interface PlannedDeveloperContainer {
  name: string;
  host: string;
  osVersion: string;
  aliases: ResourceAlias[];
}

export interface PlannedInstall {
  name: string;
  slot: string;
  /** The kernel it is for, when it is not the running one (staged, or kept for a rollback): undefined for the running one (known once the host is probed). */
  stagedKernelRelease?: string;
  source: PlannedSource;
  aliases: ResourceAlias[];
}

export interface PlannedSet {
  set: string;
  /** The running kernel's install first. */
  installs: PlannedInstall[];
  load: { name: string; source: PlannedSource };
}

export interface HostPlan {
  sets: PlannedSet[];
}

export interface PlanMessage {
  level: "info" | "warn";
  text: string;
}

export interface FleetPlan {
  /** On builders, sorted by host, then version. */
  developerContainers: PlannedDeveloperContainer[];
  builds: PlannedBuild[];
  /** Every host of the config, in its order. */
  hosts: Map<string, HostPlan>;
  /** What the run says about the plan, in order. */
  messages: PlanMessage[];
}

/** The hosts as the build plan reads them: a host that was not probed has no facts. */
function buildPlanOf(input: FleetPlanInput) {
  return planBuilds(
    input.hosts.map((h): PlanHost => ({ name: h.name, labels: h.labels, facts: h.facts, ...keptOf(h, input.sets) })),
    input.sets,
    { builders: input.builders, published: input.published ?? [] },
  );
}

/**
 * The other slot's kernel when nothing is staged there, with the sets installed whole for
 * it from the artifact the set has now (a set whose source changed since keeps the install
 * it has: setPlan leaves it as it is).
 */
function keptOf(h: ProbedHost, sets: readonly PlanSet[]): Pick<PlanHost, "kept"> {
  const f = h.facts;
  const other = f?.otherKernelRelease;
  if (!f || !other || f.stagedOsVersion || other === f.kernelRelease) return {};
  const installed = h.inventory?.other?.artifacts ?? {};
  const kept = sets.filter((s) => s.hosts.includes(h.name) && installed[s.name] === artifactId({ kernelRelease: other, arch: f.arch, set: s.name, sourceIdentity: s.sourceIdentity }));
  return { kept: { kernelRelease: other, sets: kept.map((s) => s.name) } };
}

/** The artifacts the plan may use: ask the store which of these it has, then call `fleetPlan`. */
export function wantedArtifacts(input: FleetPlanInput): ArtifactKey[] {
  return buildPlanOf(input).groups.map(artifactKeyOf);
}

/** The id of the artifact a host has installed whole for one of its kernels (running or staged). */
function installedArtifact(h: ProbedHost, kernelRelease: string, set: string): string | undefined {
  if (kernelRelease === h.facts?.kernelRelease) return h.inventory?.artifacts[set];
  if (kernelRelease === h.facts?.otherKernelRelease || kernelRelease === h.facts?.stagedKernelRelease) return h.inventory?.other?.artifacts[set];
  return undefined;
}

/** Whether a host has the verified developer container of a release (its running one or its staged one). */
function hasImage(h: ProbedHost | undefined, osVersion: string): boolean {
  if (osVersion === h?.facts?.osVersion) return h?.inventory?.developerContainer === true;
  if (osVersion === h?.facts?.stagedOsVersion) return h?.inventory?.other?.developerContainer === true;
  return false;
}

/** The other slot holds a release from before an update, with this set installed from an older source. */
function keepsOlderInstall(h: ProbedHost, set: string): boolean {
  const f = h.facts!;
  return !f.stagedOsVersion && !!f.otherKernelRelease && f.otherKernelRelease !== f.kernelRelease && !!h.inventory?.other?.artifacts[set];
}

export const developerContainerName = (host: string, osVersion: string) => `${host}-devcontainer-${osVersion}`;

/**
 * The plan of a run. `stored`: the ids of the artifacts of `wantedArtifacts(input)` that the
 * store holds whole.
 */
export function fleetPlan(input: FleetPlanInput, stored: ReadonlySet<string>): FleetPlan {
  const byName = new Map(input.hosts.map((h) => [h.name, h]));
  const messages: PlanMessage[] = input.hosts
    .filter((h) => h.pending)
    .map((h) => ({
      level: "info",
      text: `${h.name}: its address or host key is not known before the resource it comes from exists, so it is not probed in this preview; its module sets are planned as installs of an artifact not known yet: pulumi up probes ${h.name} and then plans its builds (and its developer container, if it builds)`,
    }));
  const plan = buildPlanOf(input);
  messages.push(...plan.warnings.map((text): PlanMessage => ({ level: "warn", text })));
  const decided = plan.groups.map((group) => {
    const id = artifactId(group);
    const installedOn = group.installs.filter((h) => installedArtifact(byName.get(h)!, group.kernelRelease, group.set) === id);
    return { group, obtain: decideObtain(group, { stored: stored.has(id), installedOn }), artifactId: id };
  });

  const developerContainers = developerContainerNeeds(decided, (h, v) => hasImage(byName.get(h), v)).map((need): PlannedDeveloperContainer => {
    // Only the running release's image can be the one a stack of before has (`<host>-devcontainer`).
    const runsIt = byName.get(need.host)!.facts!.osVersion === need.osVersion;
    return { name: developerContainerName(need.host, need.osVersion), host: need.host, osVersion: need.osVersion, aliases: runsIt ? [{ name: `${need.host}-devcontainer` }] : [] };
  });

  const running = new Map<string, PlannedSource>();
  // The other slot's install: staged for the next boot, or kept for a rollback.
  const other = new Map<string, { kernelRelease: string; source: PlannedSource }>();
  const builds = planBuildsOf(decided, input, developerContainers, messages);
  for (const b of builds) {
    for (const h of b.group.installs) {
      const source: PlannedSource = { kind: "build", build: b.name, artifactId: b.artifactId, builder: b.group.builder };
      if (b.group.staged.includes(h) || b.group.kept.includes(h)) other.set(`${h}\0${b.group.set}`, { kernelRelease: b.group.kernelRelease, source });
      else running.set(`${h}\0${b.group.set}`, source);
    }
  }
  // A pending host may turn out to be the builder a group lacks: not a problem before up knows.
  const pendingBuilder = input.hosts.some((h) => h.pending && mayBuild(h, input.builders));
  for (const p of plan.problems) {
    const source: PlannedSource = pendingBuilder ? { kind: "pending" } : { kind: "problem", reason: `${p.set} cannot be built for ${p.kernelRelease}: ${p.reason}` };
    for (const h of p.hosts) {
      if (p.staged.includes(h) || p.kept.includes(h)) other.set(`${h}\0${p.set}`, { kernelRelease: p.kernelRelease, source });
      else running.set(`${h}\0${p.set}`, source);
    }
  }
  const hosts = new Map<string, HostPlan>(input.hosts.map((h) => [h.name, { sets: [] }]));
  for (const h of input.hosts) {
    for (const set of input.sets.filter((s) => s.hosts.includes(h.name))) {
      const key = `${h.name}\0${set.name}`;
      const source: PlannedSource = h.pending ? { kind: "pending" } : (running.get(key) ?? { kind: "unknown" });
      hosts.get(h.name)!.sets.push(setPlan(h, set.name, source, other.get(key)));
    }
  }
  return { developerContainers, builds, hosts, messages };
}

/** One build per decided group, in the plan's order; says how a group not in the store is had. */
function planBuildsOf(decided: { group: BuildGroup; obtain: Obtain; artifactId: string }[], input: FleetPlanInput, developerContainers: PlannedDeveloperContainer[], messages: PlanMessage[]): PlannedBuild[] {
  const { storeLocation } = input;
  const lastOn = new Map<string, string>();
  return decided.map(({ group, obtain, artifactId: id }) => {
    const f = input.hosts.find((h) => h.name === group.builder)!.facts!;
    if (obtain.kind !== "stored") {
      const how = obtain.kind === "take-back" ? `it will be taken back from ${obtain.from}, where it is installed` : `it will be built on ${obtain.on}`;
      const ahead = group.installs.length === 0 ? `, for OS ${group.osVersion} (published, staged by no host yet)` : "";
      messages.push({ level: "info", text: `${group.set} for ${group.kernelRelease} (${group.arch})${ahead}: not in the artifact store (${storeLocation}); ${how}` });
    }
    const kernelFromImage = f.kernelRelease !== group.kernelRelease;
    const image = developerContainers.find((d) => d.host === group.builder && d.osVersion === group.osVersion);
    const name = `build-${group.id}`;
    const after = lastOn.get(group.builder);
    lastOn.set(group.builder, name);
    return { name, group, obtain, artifactId: id, kernelFromImage, kernelConfig: kernelFromImage ? "" : f.kernelConfig, ...(image ? { developerContainer: image.name } : {}), ...(after ? { after } : {}) };
  });
}

/**
 * A set on one host: the install for the running kernel's boot slot (which takes over the
 * names a stack of before used), the install for the other slot's kernel (staged for the
 * next boot, or kept from before the update for a rollback), and the load. A host whose
 * running slot is not known because it could not be probed keeps both slots' installs as
 * they are; so does a set whose install for the other slot holds an artifact from an older
 * source (a rollback loads what ran before).
 */
function setPlan(h: ProbedHost, set: string, source: PlannedSource, other: { kernelRelease: string; source: PlannedSource } | undefined): PlannedSet {
  const install = (slot: string, src: PlannedSource, takesOver: boolean, stagedKernelRelease?: string): PlannedInstall => ({
    name: `${h.name}-${set}-install-${slot}`,
    slot,
    ...(stagedKernelRelease !== undefined ? { stagedKernelRelease } : {}),
    source: src,
    // Before staged updates the running kernel's install was `<host>-<set>-install`, and
    // before build plans each host built its own set as `<host>-<set>-build`, installed in
    // the same folder: taken over in place, so that their delete cannot remove the new install.
    aliases: takesOver ? [{ name: `${h.name}-${set}-install` }, { name: `${h.name}-${set}-build`, type: "pulumi-nodejs:dynamic/kmod-fleet:ModuleBuild" }] : [],
  });
  const installs = [install(h.facts ? runningSlotOf(h.facts) : UNREAD_RUNNING_SLOT, source, true)];
  if (!h.facts && source.kind === "unknown") installs.push(install(UNREAD_STAGED_SLOT, source, false));
  if (other && h.facts) installs.push(install(otherSlotOf(h.facts), other.source, false, other.kernelRelease));
  else if (h.facts && keepsOlderInstall(h, set)) installs.push(install(otherSlotOf(h.facts), { kind: "unknown" }, false, ""));
  return { set, installs, load: { name: `${h.name}-${set}-load`, source } };
}

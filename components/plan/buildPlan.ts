// The fleet's build plan: which builds exist and who installs their result. Flatcar hosts
// of one release run byte-identical kernels, so a module set built once for a (kernel,
// architecture, source) is valid on every host that runs that kernel: one build per
// group, on one builder host, and an install on each host of the group. A host with an
// update staged for its next boot is in two groups: its running kernel's and the staged
// kernel's, so that the modules are there before the reboot. Pure: from the config and
// the facts probed when the program runs, before any resource exists.
//
// Two more kinds of member keep a host's modules ready across Flatcar's A/B updates. After
// a reboot into an update, the other slot still holds the release that ran before: the
// target of a fallback or a manual rollback. A host that has a set installed whole for that
// kernel stays in its group ("kept"), so the install stays until the update engine writes
// another release to that slot. And a release the channel has published, before any host
// has staged it, gets its group with no installs yet, so that it is built ahead: when the
// hosts stage it, only their installs are left.

/** What the plan needs to know of one host. */
export interface PlanHost {
  name: string;
  labels: readonly string[];
  /** Probed facts; absent when the host could not be reached (it gets nothing planned). */
  facts?: { kernelRelease: string; arch: string; osVersion: string; stagedOsVersion?: string; stagedKernelRelease?: string; group?: string; board?: string };
  /** The other slot's kernel, when nothing is staged there, and the sets installed whole for it: their installs stay. */
  kept?: { kernelRelease: string; sets: readonly string[] };
}

/** A release the update channel serves, as its release server publishes it (components/releaseChannel.ts). */
export interface PublishedRelease {
  /** The channel: update.conf's GROUP and the release's board, as the hosts' facts say them. */
  group: string;
  board: string;
  osVersion: string;
  kernelRelease: string;
  /** `uname -m` of the board's hosts. */
  arch: string;
}

/** What the plan needs to know of one module set. */
export interface PlanSet {
  name: string;
  /** Names of the hosts that get the set (config/resolve.ts has resolved labels already). */
  hosts: readonly string[];
  /** What decides the build's output besides the kernel: the source's hash, git ref or in-tree options. */
  sourceIdentity: string;
}

/** One build: a module set for one kernel and architecture from one source. */
export interface BuildGroup {
  /** Stable and readable: a resource name part (`kmod-pair-6.1.0-57-cloud-amd64-x86_64`). */
  id: string;
  set: string;
  kernelRelease: string;
  arch: string;
  sourceIdentity: string;
  /** The OS version whose developer container builds it: the release that ships the kernel. */
  osVersion: string;
  /** The host that builds. */
  builder: string;
  /** Every host that gets the result, the builder included, sorted by name. */
  installs: string[];
  /** Those of `installs` that get it for a staged update, before booting its kernel. */
  staged: string[];
  /** Those of `installs` that keep it for the release in their other slot (a rollback's target). */
  kept: string[];
}

export interface PlanProblem {
  set: string;
  kernelRelease: string;
  hosts: string[];
  /** Those of `hosts` that have the kernel staged for the next boot (not running). */
  staged: string[];
  /** Those of `hosts` that have it in their other slot, from before their update. */
  kept: string[];
  reason: string;
}

export interface BuildPlan {
  groups: BuildGroup[];
  /** Groups that cannot be built: their hosts get nothing for that set. */
  problems: PlanProblem[];
  /** What the plan could not act on and the user should know (a staged update whose kernel is not known). */
  warnings: string[];
}

export interface PlanOptions {
  /**
   * Host names or labels that may build (`build.builders`); empty means any host of the
   * group. Only hosts of the group build for it (they run its kernel or have it staged):
   * the developer container of the kernel's release builds, on any host that can start it.
   */
  builders?: readonly string[];
  /** Releases the channels serve: each gets its builds before any host stages it (`updates.buildAhead`). */
  published?: readonly PublishedRelease[];
}

/** Whether a host may build: `build.builders` names it or one of its labels, or is empty (any host may). */
export function mayBuild(host: { name: string; labels: readonly string[] }, builders: readonly string[]): boolean {
  return builders.length === 0 || builders.includes(host.name) || host.labels.some((l) => builders.includes(l));
}

/** Resource-name-safe: lower case letters, digits, dots, underscores and dashes. */
function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "");
}

/**
 * Groups the work by (set, kernel, architecture, source identity). The builder is the
 * first eligible host by name, so a preview is stable whatever order hosts are listed in.
 */
export function planBuilds(hosts: readonly PlanHost[], sets: readonly PlanSet[], opts: PlanOptions = {}): BuildPlan {
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const builders = opts.builders ?? [];
  const groups: BuildGroup[] = [];
  const problems: PlanProblem[] = [];

  const warnings: string[] = [];
  for (const h of hosts) {
    const f = h.facts;
    if (f?.stagedOsVersion && !f.stagedKernelRelease) {
      warnings.push(`${h.name}: OS version ${f.stagedOsVersion} is staged for the next boot, but its kernel's release could not be read from the boot slots' images; nothing is built for it before the reboot`);
    }
  }

  for (const set of sets) {
    const members = membersOf(set, byName);
    for (const [key, group] of members) {
      const [kernelRelease, arch] = JSON.parse(key) as [string, string];
      const installs = group.map((m) => m.host.name).sort();
      const named = (kind: Member["kind"]) => group.filter((m) => m.kind === kind).map((m) => m.host.name).sort();
      const byHostName = (a: Member, b: Member) => a.host.name.localeCompare(b.host.name);
      // Only kept members: nothing is built for them (each has the artifact installed whole,
      // so it is in the store or taken back), and who may build does not matter.
      const keptOnly = group.every((m) => m.kind === "kept");
      const builder = group.filter((m) => keptOnly || mayBuild(m.host, builders)).sort(byHostName)[0];
      if (!builder) {
        problems.push({ set: set.name, kernelRelease, hosts: installs, staged: named("staged"), kept: named("kept"), reason: `no host allowed to build runs ${kernelRelease} (${arch}) or has it staged: build.builders is [${builders.join(", ")}]` });
        continue;
      }
      // A host that runs the kernel says best which release ships it; then one that stages it.
      const release = (group.find((m) => m.kind === "running") ?? group.find((m) => m.kind === "staged") ?? group[0]).osVersion;
      groups.push({ id: groupId(set.name, kernelRelease, arch), set: set.name, kernelRelease, arch, sourceIdentity: set.sourceIdentity, osVersion: release, builder: builder.host.name, installs, staged: named("staged"), kept: named("kept") });
    }
    for (const r of opts.published ?? []) {
      if (members.has(JSON.stringify([r.kernelRelease, r.arch]))) continue;
      const ahead = aheadGroup(set, r, byName, builders);
      if (typeof ahead === "string") warnings.push(ahead);
      else if (ahead) groups.push(ahead);
    }
  }
  groups.sort((a, b) => a.id.localeCompare(b.id));
  return { groups, problems, warnings };
}

const groupId = (set: string, kernelRelease: string, arch: string) => slug(`${set}-${kernelRelease}-${arch}`);

/** A host in a group: it runs the kernel, has it staged for the next boot, or keeps it in its other slot. */
interface Member {
  host: PlanHost;
  /** The release that ships the kernel, as this member knows it ("" for a kept one: nothing on the host says it). */
  osVersion: string;
  kind: "running" | "staged" | "kept";
}

/** A set's hosts by (kernel, arch): JSON of the pair -> its members. */
function membersOf(set: PlanSet, byName: Map<string, PlanHost>): Map<string, Member[]> {
  const members = new Map<string, Member[]>();
  const join = (kernelRelease: string, arch: string, m: Member) => {
    const key = JSON.stringify([kernelRelease, arch]);
    members.set(key, [...(members.get(key) ?? []), m]);
  };
  for (const name of set.hosts) {
    const host = byName.get(name);
    const facts = host?.facts;
    if (!host || !facts) continue;
    join(facts.kernelRelease, facts.arch, { host, osVersion: facts.osVersion, kind: "running" });
    const staged = facts.stagedKernelRelease;
    if (staged && facts.stagedOsVersion && staged !== facts.kernelRelease) {
      join(staged, facts.arch, { host, osVersion: facts.stagedOsVersion, kind: "staged" });
    } else if (!facts.stagedOsVersion && host.kept && host.kept.kernelRelease !== facts.kernelRelease && host.kept.sets.includes(set.name)) {
      join(host.kept.kernelRelease, facts.arch, { host, osVersion: "", kind: "kept" });
    }
  }
  return members;
}

/**
 * The build of a published release no host of the set runs or has staged yet: on the first
 * host by name that may build, is on the release's channel and has its architecture; it
 * builds from the release's developer container. None such: the reason, as a warning (the
 * hosts plan the build when they stage the release, and say then what is missing).
 */
function aheadGroup(set: PlanSet, r: PublishedRelease, byName: Map<string, PlanHost>, builders: readonly string[]): BuildGroup | string | undefined {
  const onChannel = set.hosts.map((n) => byName.get(n)).filter((h): h is PlanHost => !!h?.facts && h.facts.arch === r.arch && h.facts.group === r.group && h.facts.board === r.board);
  if (onChannel.length === 0) return undefined;
  const builder = onChannel.filter((h) => mayBuild(h, builders)).sort((a, b) => a.name.localeCompare(b.name))[0];
  if (!builder) return `${set.name} is not built ahead for ${r.osVersion} (kernel ${r.kernelRelease}), published on ${r.group}/${r.board}: no host of that channel may build (build.builders is [${builders.join(", ")}])`;
  return { id: groupId(set.name, r.kernelRelease, r.arch), set: set.name, kernelRelease: r.kernelRelease, arch: r.arch, sourceIdentity: set.sourceIdentity, osVersion: r.osVersion, builder: builder.name, installs: [], staged: [], kept: [] };
}

/** Per host, the groups whose result it installs. */
export function installsByHost(plan: BuildPlan): Map<string, BuildGroup[]> {
  const out = new Map<string, BuildGroup[]>();
  for (const g of plan.groups) for (const h of g.installs) out.set(h, [...(out.get(h) ?? []), g]);
  return out;
}

/**
 * How a group's artifact is had this run, decided when the program runs from what the
 * local store holds and what the hosts report installed, so that the preview can say it:
 * already in the store; taken back from a host that has it installed (verified against
 * the manifest in state); or built on the group's builder.
 */
export type Obtain = { kind: "stored" } | { kind: "take-back"; from: string } | { kind: "build"; on: string };

export function decideObtain(group: BuildGroup, found: { stored: boolean; installedOn: readonly string[] }): Obtain {
  // Only a host of the group can have it: the artifact is for the group's kernel.
  const from = found.installedOn.filter((h) => group.installs.includes(h)).sort()[0];
  return obtainWay({ stored: found.stored, ...(from ? { installedOn: from } : {}), builder: group.builder });
}

/**
 * The one rule of how an artifact is had: from the store when it holds it whole; else taken
 * back from a host that has it installed whole; else built on the builder. The program
 * applies it to what it finds when it runs (so the preview says it, decideObtain); the
 * build applies it again to what it finds when it acts (components/providers/moduleBuild/moduleBuild.ts), because
 * the store may have been filled by another run in between.
 */
export function obtainWay(found: { stored: boolean; installedOn?: string; builder: string }): Obtain {
  if (found.stored) return { kind: "stored" };
  if (found.installedOn) return { kind: "take-back", from: found.installedOn };
  return { kind: "build", on: found.builder };
}

/** What the preview shows in the build's `obtain` input. */
export function describeObtain(o: Obtain): string {
  if (o.kind === "stored") return "stored";
  if (o.kind === "take-back") return `take back from ${o.from}`;
  return `build on ${o.on}`;
}

/** A developer container on a host: the image of one OS version. */
export interface DeveloperContainerNeed {
  host: string;
  osVersion: string;
}

/**
 * The developer containers the fleet needs: on each builder, the image of each release it
 * builds for, when a group must be built this run or the builder has that image already
 * (kept for later builds, so previews stay stable). A builder whose groups are all in the
 * store downloads nothing: after a kernel update elsewhere, a host that stays as it was
 * changes nothing. Sorted by host, then version.
 */
export function developerContainerNeeds(groups: readonly { group: BuildGroup; obtain: Obtain }[], hasImage: (host: string, osVersion: string) => boolean): DeveloperContainerNeed[] {
  const out = new Map<string, DeveloperContainerNeed>();
  for (const { group, obtain } of groups) {
    if (obtain.kind === "build" || hasImage(group.builder, group.osVersion)) {
      out.set(JSON.stringify([group.builder, group.osVersion]), { host: group.builder, osVersion: group.osVersion });
    }
  }
  return [...out.values()].sort((a, b) => a.host.localeCompare(b.host) || a.osVersion.localeCompare(b.osVersion));
}

// The fleet's build plan: which builds exist and who installs their result. Flatcar hosts
// of one release run byte-identical kernels, so a module set built once for a (kernel,
// architecture, source) is valid on every host that runs that kernel: one build per
// group, on one builder host, and an install on each host of the group. A host with an
// update staged for its next boot is in two groups: its running kernel's and the staged
// kernel's, so that the modules are there before the reboot. Pure: from the config and
// the facts probed when the program runs, before any resource exists.

/** What the plan needs to know of one host. */
export interface PlanHost {
  name: string;
  labels: readonly string[];
  /** Probed facts; absent when the host could not be reached (it gets nothing planned). */
  facts?: { kernelRelease: string; arch: string; osVersion: string; stagedOsVersion?: string; stagedKernelRelease?: string };
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
}

export interface PlanProblem {
  set: string;
  kernelRelease: string;
  hosts: string[];
  /** Those of `hosts` that have the kernel staged for the next boot (not running). */
  staged: string[];
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
    // (kernel, arch) -> members, each with the release that ships the kernel and whether
    // the member gets it for a staged update.
    const members = new Map<string, { host: PlanHost; osVersion: string; staged: boolean }[]>();
    const join = (key: string, m: { host: PlanHost; osVersion: string; staged: boolean }) => members.set(key, [...(members.get(key) ?? []), m]);
    for (const name of set.hosts) {
      const host = byName.get(name);
      const facts = host?.facts;
      if (!host || !facts) continue;
      join(JSON.stringify([facts.kernelRelease, facts.arch]), { host, osVersion: facts.osVersion, staged: false });
      const staged = facts.stagedKernelRelease;
      if (staged && facts.stagedOsVersion && staged !== facts.kernelRelease) {
        join(JSON.stringify([staged, facts.arch]), { host, osVersion: facts.stagedOsVersion, staged: true });
      }
    }
    for (const [key, group] of members) {
      const [kernelRelease, arch] = JSON.parse(key) as [string, string];
      const installs = group.map((m) => m.host.name).sort();
      const builder = group.filter((m) => mayBuild(m.host, builders)).sort((a, b) => a.host.name.localeCompare(b.host.name))[0];
      if (!builder) {
        problems.push({ set: set.name, kernelRelease, hosts: installs, staged: group.filter((m) => m.staged).map((m) => m.host.name).sort(), reason: `no host allowed to build runs ${kernelRelease} (${arch}) or has it staged: build.builders is [${builders.join(", ")}]` });
        continue;
      }
      // A host that runs the kernel says best which release ships it.
      const release = (group.find((m) => !m.staged) ?? group[0]).osVersion;
      groups.push({
        id: slug(`${set.name}-${kernelRelease}-${arch}`),
        set: set.name,
        kernelRelease,
        arch,
        sourceIdentity: set.sourceIdentity,
        osVersion: release,
        builder: builder.host.name,
        installs,
        staged: group.filter((m) => m.staged).map((m) => m.host.name).sort(),
      });
    }
  }
  groups.sort((a, b) => a.id.localeCompare(b.id));
  return { groups, problems, warnings };
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

// The fleet's build plan: which builds exist and who installs their result. Flatcar hosts
// of one release run byte-identical kernels, so a module set built once for a (kernel,
// architecture, source) is valid on every host that runs that kernel: one build per
// group, on one builder host, and an install on each host of the group. Pure: from the
// config and the facts probed when the program runs, before any resource exists.

/** What the plan needs to know of one host. */
export interface PlanHost {
  name: string;
  labels: readonly string[];
  /** Probed facts; absent when the host could not be reached (it gets nothing planned). */
  facts?: { kernelRelease: string; arch: string; osVersion: string };
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
  /** The OS version whose developer container builds it (the builder's). */
  osVersion: string;
  /** The host that builds. */
  builder: string;
  /** Every host that gets the result, the builder included, sorted by name. */
  installs: string[];
}

export interface PlanProblem {
  set: string;
  kernelRelease: string;
  hosts: string[];
  reason: string;
}

export interface BuildPlan {
  groups: BuildGroup[];
  /** Groups that cannot be built: their hosts get nothing for that set. */
  problems: PlanProblem[];
}

export interface PlanOptions {
  /**
   * Host names or labels that may build (`build.builders`); empty means any host of the
   * group. Only hosts that run the group's kernel can build for it: the developer
   * container builds for the kernel its host runs.
   */
  builders?: readonly string[];
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
  const mayBuild = (h: PlanHost) => builders.length === 0 || builders.includes(h.name) || h.labels.some((l) => builders.includes(l));
  const groups: BuildGroup[] = [];
  const problems: PlanProblem[] = [];

  for (const set of sets) {
    const members = new Map<string, PlanHost[]>();
    for (const name of set.hosts) {
      const facts = byName.get(name)?.facts;
      if (!facts) continue;
      const key = JSON.stringify([facts.kernelRelease, facts.arch]);
      members.set(key, [...(members.get(key) ?? []), byName.get(name)!]);
    }
    for (const [key, group] of members) {
      const [kernelRelease, arch] = JSON.parse(key) as [string, string];
      const installs = group.map((h) => h.name).sort();
      const builder = group.filter(mayBuild).sort((a, b) => a.name.localeCompare(b.name))[0];
      if (!builder) {
        problems.push({ set: set.name, kernelRelease, hosts: installs, reason: `no host allowed to build runs ${kernelRelease} (${arch}): build.builders is [${builders.join(", ")}]` });
        continue;
      }
      groups.push({
        id: slug(`${set.name}-${kernelRelease}-${arch}`),
        set: set.name,
        kernelRelease,
        arch,
        sourceIdentity: set.sourceIdentity,
        osVersion: builder.facts!.osVersion,
        builder: builder.name,
        installs,
      });
    }
  }
  groups.sort((a, b) => a.id.localeCompare(b.id));
  return { groups, problems };
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
  if (found.stored) return { kind: "stored" };
  // Only a host of the group can have it: the artifact is for the group's kernel.
  const from = found.installedOn.filter((h) => group.installs.includes(h)).sort()[0];
  if (from) return { kind: "take-back", from };
  return { kind: "build", on: group.builder };
}

/** What the preview shows in the build's `obtain` input. */
export function describeObtain(o: Obtain): string {
  if (o.kind === "stored") return "stored";
  if (o.kind === "take-back") return `take back from ${o.from}`;
  return `build on ${o.on}`;
}

/**
 * The hosts that get a developer container: the builders of groups that must be built
 * this run, and builders that have the image already (kept for later builds, so previews
 * stay stable). A builder whose groups are all in the store downloads nothing: after a
 * kernel update elsewhere, a host that stays as it was changes nothing.
 */
export function developerContainerHosts(groups: readonly { group: BuildGroup; obtain: Obtain }[], hasImage: (host: string) => boolean): Set<string> {
  const out = new Set<string>();
  for (const { group, obtain } of groups) {
    if (obtain.kind === "build" || hasImage(group.builder)) out.add(group.builder);
  }
  return out;
}

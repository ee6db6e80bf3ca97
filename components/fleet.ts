// The whole fleet: validates the args, probes every host (in parallel, each bounded by its
// SSH timeouts) for its facts and what it has, asks the artifact store what it holds, and
// registers what the fleet's plan says (components/plan/fleetPlan.ts, which decides everything):
// one build per kernel, architecture and module set, on one builder host, whose artifact
// every host of that kernel installs. The plan is made from facts probed when the program
// runs, so that a preview shows exactly the builds and installs an `up` will do.
//
// A host with an update staged for its next boot is also in the group of the staged kernel:
// that kernel's build (from the staged release's developer container) is installed there
// before the reboot, beside the running kernel's install (components/host.ts).
//
// A host that cannot be probed gets its facts resource with the reason, which fails for
// that host alone; its other resources stay registered as they are, nothing of it is
// deleted, and it takes part in no build.
//
// A host whose address or host key comes from a resource created in the same run (a new
// machine) is not known during a preview: it is pending. Its connection, probe and facts
// stay unknown, and it cannot be planned by kernel: its facts and overlay are registered
// with those values unknown, and each of its sets as an install and a load of an artifact
// not known yet; it builds nothing and gets no developer container in that preview. The
// builds are planned from the hosts that are known. During `up` the machine is created
// first; once its outputs resolve the host is probed, and the plan (which waits for every
// host) puts it in the group of its kernel: it installs that group's artifact, or builds
// it when it is the group's builder (then with its developer container).
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { closeSession, type ConnectionSpec } from "../host/ssh/session";
import { artifactId, type ArtifactStore } from "../artifacts/store";
import { programStore } from "../artifacts/location";
import { describeObtain } from "./plan/buildPlan";
import { fleetPlan, wantedArtifacts, type FleetPlan, type FleetPlanInput, type PlannedBuild, type PlannedSource } from "./plan/fleetPlan";
import { connectionFor, hostKeyWarnings } from "../host/connection";
import { probeFacts, type FactsProbe, type ProbedFacts } from "./providers/hostFacts/hostFacts";
import { factsProbeOf } from "./providers/hostFacts/factsProbe";
import { probeInventory, type InventoryProber, type InventoryQuery } from "./inventory";
import { developerContainerImagePath } from "../config/hostPaths";
import { FleetHost, type HostModuleSet, type HostSummary, type Probed, type SetSource } from "./host";
import { ModuleBuild } from "./providers/moduleBuild/moduleBuild";
import { planFleet, planStackConfig, type FactsProber, type FleetArgs, type FleetOptions, type PlannedFleet } from "./fleetArgs";
import type { ResolvedFleet, ResolvedHost } from "../config/resolve";
import { hashSourceDir, sourceIdentity } from "./sourceHash";
import { unsignedModulesWarning } from "./providers/hostFacts/signing";
import { afterEveryStep, unreachableWarning, withoutHostPrefix } from "../host/unreachableHosts";
import { publishedReleases, type Channel } from "./releaseChannel";

export type { AuthArgs, ConnectionArgs, FactsProber, FleetArgs, FleetOptions, HostArgs, HostDefaultsArgs } from "./fleetArgs";
export type { BuildArgs, GitSourceArgs, HostSelectorArgs, InTreeSourceArgs, ModuleSetArgs, ProfileArgs, SourceArgs, StorageArgs, StoreArgs, UpdatesArgs } from "./fleetArgTypes";
export type { InventoryProber } from "./inventory";
export { FleetArgsError } from "./fleetArgs";

function isDirectory(dir: string): boolean {
  return fs.existsSync(dir) && fs.statSync(dir).isDirectory();
}

/**
 * What the program learned of a host, always known: a host whose connection is not known
 * (in a preview, a machine created in this run) is `pending`. Output's `isKnown` is the
 * SDK's own flag for that; it is not in its typings.
 */
function settled(probed: pulumi.Output<Probed>): pulumi.Output<Probed> {
  const o = probed as unknown as { isKnown: Promise<boolean>; promise(withUnknowns?: boolean): Promise<Probed> };
  return pulumi.output(Promise.all([o.isKnown, o.promise()]).then(([known, value]): Probed => (known ? value : { pending: true })));
}

/** The plan of the run, with what every host answered. */
interface PlannedRun {
  plan: FleetPlan;
  probed: Map<string, Probed>;
}

/** What the steps of the constructor share: the fleet as planned, and what was read where the program runs. */
interface FleetRun {
  fleet: ResolvedFleet;
  sets: HostModuleSet[];
  store: ArtifactStore;
  connections: Record<string, pulumi.Output<ConnectionSpec>>;
}

/** How hosts are probed: the probers (the real ones unless the options replace them) and their settings. */
interface Probing {
  prober: FactsProber;
  inventoryProber: InventoryProber;
  settings: FactsProbe;
  /** A secret of the stack config, by key (privateKeyConfig and passphraseConfig name them). */
  secret: (key: string) => pulumi.Output<string>;
}

/** The module sets with their source folder (resolved against the project) and its hash. */
function moduleSetsOf(fleet: ResolvedFleet, projectDir: string): HostModuleSet[] {
  return fleet.moduleSets.map((set) => {
    const sourceDir = set.source.kind === "dir" ? path.resolve(projectDir, set.source.dir) : "";
    const sourceHash = sourceDir ? hashSourceDir(sourceDir) : "";
    return { ...set, sourceDir, sourceHash, sourceIdentity: sourceIdentity(set.source, sourceHash, fleet.profile.sourcesCommand) };
  });
}

/**
 * What the inventory reads of the other boot slot: the update staged there (its release
 * known), or the release that ran before an update; nothing when a staged kernel cannot be read.
 */
function otherSlotQuery(facts: ProbedFacts): Pick<InventoryQuery, "otherKernelRelease" | "stagedOsVersion"> {
  if (facts.stagedOsVersion) return facts.stagedKernelRelease ? { otherKernelRelease: facts.stagedKernelRelease, stagedOsVersion: facts.stagedOsVersion } : {};
  return facts.otherKernelRelease ? { otherKernelRelease: facts.otherKernelRelease } : {};
}

/** Probes one host's facts and inventory; a host that does not answer is `unreachable` with the reason. */
async function probeHost(spec: ConnectionSpec, host: ResolvedHost, setNames: string[], fleet: ResolvedFleet, probing: Probing): Promise<Probed> {
  try {
    const facts = await probing.prober(spec, probing.settings);
    // Before anything is built: a host that refuses unsigned modules would fail at modprobe.
    const unsigned = unsignedModulesWarning(host.name, facts, setNames);
    if (unsigned) pulumi.log.warn(unsigned);
    const inventory = await probing.inventoryProber(spec, {
      kernelRelease: facts.kernelRelease,
      osVersion: facts.osVersion,
      ...otherSlotQuery(facts),
      modulesDir: fleet.profile.modulesDir,
      workDir: fleet.storage.workDir,
      cacheDir: fleet.storage.cacheDir,
    });
    return { facts, inventory };
  } catch (e: any) {
    // Said once, at the end of the run (unreachableHosts.ts), under the host's name.
    return { unreachable: withoutHostPrefix(host.name, String(e?.message ?? e)) };
  } finally {
    // The program must not keep connections open, or it never exits.
    await closeSession(spec);
  }
}

/**
 * The plan of the run (plan/fleetPlan.ts), from every host's probe at once (a pending
 * host's absence, in a preview) and what the store holds of the artifacts it may use.
 */
function planRun(run: FleetRun, probes: pulumi.Output<Probed>[], logTo: pulumi.Resource): pulumi.Output<PlannedRun> {
  const { fleet, sets, store } = run;
  return pulumi.all(probes).apply(async (results) => {
    const probed = new Map(fleet.hosts.map((h, i) => [h.name, results[i]]));
    const published = fleet.updates.buildAhead ? await readChannels(run, probed) : [];
    const input: FleetPlanInput = {
      hosts: fleet.hosts.map((h) => ({ name: h.name, labels: h.labels, ...probed.get(h.name)! })),
      sets: sets.map((s) => ({ name: s.name, hosts: s.hosts, sourceIdentity: s.sourceIdentity })),
      builders: fleet.build.builders,
      storeLocation: store.location,
      published,
    };
    // The store's index of what the plan may use: asked one artifact at a time, in the plan's order.
    const stored = new Set<string>();
    for (const key of wantedArtifacts(input)) if (await store.has(key)) stored.add(artifactId(key));
    const plan = fleetPlan(input, stored);
    for (const m of plan.messages) pulumi.log[m.level](m.text, logTo);
    return { plan, probed };
  });
}

/** What the channels of the hosts with module sets publish now (updates.buildAhead); a channel that does not answer is a warning. */
async function readChannels(run: FleetRun, probed: Map<string, Probed>) {
  const channels: Channel[] = run.fleet.hosts
    .filter((h) => run.sets.some((s) => s.hosts.includes(h.name)))
    .map((h) => probed.get(h.name)?.facts)
    .filter((f) => !!f?.group && !!f.board)
    .map((f) => ({ group: f!.group, board: f!.board }));
  const { releases, warnings } = await publishedReleases(run.fleet.profile, channels);
  for (const w of warnings) pulumi.log.warn(w);
  return releases;
}

export class Fleet extends pulumi.ComponentResource {
  // ES private (#): Pulumi's component analyzer and its provider host take every other field for an output.
  readonly #hosts: Record<string, FleetHost> = {};
  /** Filled in once every host is probed: build resource name -> build. */
  readonly #builds: Record<string, ModuleBuild> = {};
  public readonly summary: pulumi.Output<Record<string, HostSummary>>;

  constructor(name: string, args: FleetArgs, opts?: FleetOptions) {
    const { probe, inventory, fromStackConfig, ...resourceOptions } = opts ?? {};
    const projectDir = args?.projectDir ?? process.cwd();
    // Every problem of the args at once (FleetArgsError), before any resource exists, this
    // component included: the only validation of the run (a host with Inputs is checked
    // again, alone, once their values are known).
    const dirExists = (dir: string) => isDirectory(path.resolve(projectDir, dir));
    const planned = fromStackConfig ? planStackConfig(args, { dirExists }) : planFleet(args, { subject: `Fleet "${name}" args`, dirExists });
    super("kmod-fleet:index:Fleet", name, {}, resourceOptions);
    const { fleet } = planned;
    // Read where it runs, never an input: the providers must find the same folder.
    const store = programStore(fleet.build, projectDir, { get: (key) => pulumi.runtime.getConfig(key) });
    const run: FleetRun = { fleet, sets: moduleSetsOf(fleet, projectDir), store, connections: {} };

    // Resolved once every resource of the reachable hosts and every build is registered.
    let registeredAll: (resources: pulumi.CustomResource[]) => void = () => undefined;
    const everyReachableResource = new Promise<pulumi.CustomResource[]>((resolve) => (registeredAll = resolve));
    // privateKeyConfig and passphraseConfig name secret keys of the stack config.
    const config = new pulumi.Config("kmod-fleet");
    const probing: Probing = { prober: probe ?? probeFacts, inventoryProber: inventory ?? probeInventory, settings: factsProbeOf(fleet), secret: (key) => config.requireSecret(key) };
    const probes = fleet.hosts.map((_, i) => this.#addHost(run, planned, i, probing, everyReachableResource));

    // The plan needs every host's facts at once; the resources it decides are made here.
    this.summary = planRun(run, probes, this).apply((decided) => {
      const summaries = this.#registerPlan(run, decided);
      const reachable = fleet.hosts.filter((h) => !decided.probed.get(h.name)!.unreachable).map((h) => this.#hosts[h.name]);
      registeredAll([...Object.values(this.#builds), ...reachable.flatMap((h) => h.resources())]);
      return pulumi.all(summaries);
    });
    // Once every step of the run is done: an unreachable host fails the run here (or is a
    // warning when allowed), so that every other host's work is done and reported first.
    if (fleet.allowUnreachableHosts) {
      for (const [i, p] of probes.entries()) p.apply((x) => x.unreachable && pulumi.log.warn(unreachableWarning(fleet.hosts[i].name, x.unreachable), this));
    }
    this.registerOutputs({ summary: this.summary });
  }

  /** Registers host i (its facts fail with the reason if it does not answer) and returns what its probe learns. */
  #addHost(run: FleetRun, planned: PlannedFleet, i: number, probing: Probing, everyReachableResource: Promise<pulumi.CustomResource[]>): pulumi.Output<Probed> {
    const { fleet } = run;
    const host = fleet.hosts[i];
    // The host with the values of its Inputs; the warning needs its real address, and is
    // given on every run that connects to it.
    const live = planned.host(i).apply((h) => {
      hostKeyWarnings(h).forEach((w) => pulumi.log.warn(w));
      return h;
    });
    const connection = (run.connections[host.name] = connectionFor(host, live, probing.secret, `hosts[${i}]`));
    const setNames = run.sets.filter((s) => s.hosts.includes(host.name)).map((s) => s.name);
    // unsecret: what is probed is derived from the (secret) connection but is not secret itself.
    const probed: pulumi.Output<Probed> = pulumi.unsecret(connection.apply((spec) => probeHost(spec, host, setNames, fleet, probing)));
    // Known at once for a host that answered; for one that did not, once every other
    // host's steps are done, so that its facts fail last (unreachableHosts.ts).
    const unreachable = settled(probed).apply((p) =>
      p.unreachable ? pulumi.output(everyReachableResource).apply((rs) => afterEveryStep(rs).apply(() => p.unreachable)) : pulumi.output(p.unreachable),
    );
    this.#hosts[host.name] = new FleetHost(host.name, { host, fleet, probe: probing.settings, connection, probed, unreachable }, { parent: this });
    return settled(probed);
  }

  /** Registers the developer containers, builds, installs and loads the plan says; returns each host's summary. */
  #registerPlan(run: FleetRun, { plan, probed }: PlannedRun): Record<string, pulumi.Output<HostSummary>> {
    for (const d of plan.developerContainers) this.#hosts[d.host].addDeveloperContainer(d);
    for (const b of plan.builds) this.#registerBuild(run, b, probed);
    const sourceOf = (s: PlannedSource): SetSource =>
      s.kind !== "build" ? s : { kind: "build", build: this.#builds[s.build], artifactId: s.artifactId, builder: this.#hosts[s.builder], builderFacts: probed.get(s.builder)!.facts! };
    const summaries: Record<string, pulumi.Output<HostSummary>> = {};
    for (const host of run.fleet.hosts) {
      for (const planned of plan.hosts.get(host.name)!.sets) this.#hosts[host.name].addModuleSet(run.sets.find((s) => s.name === planned.set)!, planned, sourceOf);
      summaries[host.name] = this.#hosts[host.name].finish();
    }
    return summaries;
  }

  /** One build of the plan, on its group's builder. */
  #registerBuild(run: FleetRun, b: PlannedBuild, probed: Map<string, Probed>): void {
    const { fleet, sets, connections } = run;
    const { group, obtain } = b;
    const builder = this.#hosts[group.builder];
    const builderHost = fleet.hosts.find((h) => h.name === group.builder)!;
    const set = sets.find((s) => s.name === group.set)!;
    const image = b.developerContainer ? builder.developerContainers[group.osVersion] : undefined;
    this.#builds[b.name] = new ModuleBuild(
      b.name,
      {
        connection: connections[group.builder],
        builder: group.builder,
        set: group.set,
        kernelRelease: group.kernelRelease,
        arch: group.arch,
        osVersion: group.osVersion,
        kernelConfig: b.kernelConfig,
        kernelFromImage: b.kernelFromImage,
        imagePath: developerContainerImagePath(fleet.storage.cacheDir, group.osVersion),
        sourcesCommand: fleet.profile.sourcesCommand,
        source: set.source,
        sourceDir: set.sourceDir,
        sourceHash: set.sourceHash,
        sourceIdentity: set.sourceIdentity,
        modulesDir: fleet.profile.modulesDir,
        workDir: fleet.storage.workDir,
        obtain: describeObtain(obtain),
        ...(obtain.kind === "take-back" ? { takeBackFrom: connections[obtain.from] } : {}),
        buildTimeoutSeconds: builderHost.buildTimeoutSeconds,
        commandTimeoutSeconds: builderHost.commandTimeoutSeconds,
      },
      { parent: this, dependsOn: [builder.facts, ...(image ? [image] : []), ...(b.after ? [this.#builds[b.after]] : [])] },
    );
    // A build ahead has no install to report its failure: said here, before any host stages the release.
    if (group.installs.length === 0) {
      this.#builds[b.name].failure.apply((failure) => failure && pulumi.log.warn(`${group.builder}: ${group.set} cannot be built ahead for OS ${group.osVersion}, published and staged by no host yet: ${failure}\na host that stages it will hold its reboot for ${group.set} (updates.maxRebootHold)`, this.#builds[b.name]));
    }
  }
}

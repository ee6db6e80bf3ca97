// One host of the fleet: its facts and the modules overlay; the developer containers of the
// releases it builds for (components/plan/buildPlan.ts); and for each module set an install of the
// set's artifact followed by a load, in that order, and when an update is staged for the
// next boot, an install for that kernel too (loaded by the boot itself). Installs are
// named after their kernel, so the staged one is the running one after the reboot. The
// builds themselves are the fleet's (components/fleet.ts): one per kernel, architecture
// and set.
import * as pulumi from "@pulumi/pulumi";
import type { ResolvedFleet, ResolvedHost, ResolvedModuleSet } from "../config/resolve";
import { devContainerUrls } from "../config/profiles";
import type { ConnectionSpec } from "../host/ssh/session";
import { HostFacts, type HostFactsValues, type ProbedFacts } from "./providers/hostFacts/hostFacts";
import type { FactsProbe } from "./providers/hostFacts/hostFacts";
import type { PlannedDeveloperContainer, PlannedInstall, PlannedSet, PlannedSource } from "./plan/fleetPlan";
import { ModulesOverlay } from "./providers/modulesOverlay/modulesOverlay";
import { DeveloperContainer } from "./providers/developerContainer/developerContainer";
import type { ModuleBuild } from "./providers/moduleBuild/moduleBuild";
import { ModuleInstall } from "./providers/moduleInstall/moduleInstall";
import { ModuleLoad } from "./providers/moduleLoad/moduleLoad";
import type { HostInventory } from "./inventory";
import { RebootGate } from "./providers/rebootGate/rebootGate";
import { describeRebootHold } from "./providers/rebootGate/rebootHold";
import { rebootGateDir } from "../config/rebootGateDir";

/** A module set as one host gets it, with the identity of its local sources. */
export interface HostModuleSet extends ResolvedModuleSet {
  sourceDir: string;
  sourceHash: string;
  sourceIdentity: string;
}

/** What the program learned of a host when it ran: its facts and what it has, or why it could not be probed. */
export interface Probed {
  facts?: ProbedFacts;
  inventory?: HostInventory;
  unreachable?: string;
  /** Not probed: the host's connection is not known in this preview (components/fleet.ts). */
  pending?: true;
}

export interface FleetHostArgs {
  /** The host as planned: its name and bounds are exact; its address, port, user and keys may be placeholders (`connection` has the real ones). */
  host: ResolvedHost;
  fleet: ResolvedFleet;
  /** Where its facts are read from: the fleet's settings, made once (components/providers/hostFacts/factsProbe.ts). */
  probe: FactsProbe;
  connection: pulumi.Output<ConnectionSpec>;
  probed: pulumi.Output<Probed>;
  /** Why the host could not be probed: known only once every other host's steps are done (host/unreachableHosts.ts). */
  unreachable: pulumi.Output<string | undefined>;
}

/** Where a host's set comes from: the group's build, or why there is none. */
export type SetSource =
  | { kind: "build"; build: ModuleBuild; artifactId: string; builder: FleetHost; builderFacts: HostFactsValues }
  | { kind: "problem"; reason: string }
  /** The host could not be probed: its resources stay as they are. */
  | { kind: "unknown" }
  /** The host is pending (a preview before its machine exists): its group, and so its build, is not known yet. */
  | { kind: "pending" };

/** What a host has of one module set. */
export interface SetSummary {
  modules: string[];
  installDir: string;
  builtOn: string;
}

export interface HostSummary {
  kernelRelease: string;
  osVersion: string;
  sets: Record<string, SetSummary>;
  /** What the reboot gate does with a staged update, as the preview says it (absent when nothing is staged). */
  rebootHold?: string;
}

/** Pending (only in a preview): what comes from the group's build is not known yet. */
function notKnownYet<T>(): pulumi.Output<T> {
  return pulumi.output(pulumi.unknown) as unknown as pulumi.Output<T>;
}

/**
 * One rule for the values that come from a host's facts: every input reads them as the
 * probe returned them when the program ran (`probed`), never from the HostFacts resource's
 * outputs. Those are the values the plan decided from, known in every preview (a facts
 * resource that is about to change has unknown outputs there), and the same for the host's
 * own steps and for the builds on it. The HostFacts resource records them (for refresh and
 * for `pulumi stack output`), and the steps still run after it (through the overlay).
 */
export class FleetHost extends pulumi.ComponentResource {
  public readonly facts: HostFacts;
  public readonly overlay: ModulesOverlay;
  /** OS version -> the developer container of that release on this host. */
  public readonly developerContainers: Record<string, DeveloperContainer> = {};
  public readonly installs: ModuleInstall[] = [];
  public readonly loads: ModuleLoad[] = [];
  /** The reboot gate: on a host with module sets, unless updates.gate is false. */
  public readonly rebootGate?: RebootGate;
  private readonly args: FleetHostArgs;
  private readonly hostName: string;
  private readonly sets: { name: string; install: ModuleInstall; builtOn: string }[] = [];

  constructor(name: string, args: FleetHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kmod-fleet:index:Host", name, {}, opts);
    this.args = args;
    this.hostName = name;
    const { host, fleet, connection } = args;
    const { profile, storage } = fleet;
    const field = <K extends keyof HostFactsValues>(k: K) => args.probed.apply((p) => p.facts?.[k]) as pulumi.Output<HostFactsValues[K]>;
    this.facts = new HostFacts(
      `${name}-facts`,
      {
        connection,
        probe: args.probe,
        unreachable: args.unreachable as pulumi.Output<string>,
        allowUnreachable: fleet.allowUnreachableHosts,
        facts: {
          kernelRelease: field("kernelRelease"),
          arch: field("arch"),
          bootId: field("bootId"),
          osId: field("osId"),
          osVersion: field("osVersion"),
          board: field("board"),
          group: field("group"),
          kernelConfig: field("kernelConfig"),
          stagedOsVersion: field("stagedOsVersion"),
          stagedKernelRelease: field("stagedKernelRelease"),
          bootSlot: field("bootSlot"),
          stagedSlot: field("stagedSlot"),
          rebootHold: field("rebootHold"),
          moduleSigForce: field("moduleSigForce"),
          machineKeyring: field("machineKeyring"),
          sigEnforce: field("sigEnforce"),
          lockdown: field("lockdown"),
          secureBoot: field("secureBoot"),
        } as any,
      },
      { parent: this },
    );

    this.overlay = new ModulesOverlay(
      `${name}-overlay`,
      { connection, modulesDir: profile.modulesDir, upperDir: storage.modulesRoot, workDir: storage.modulesWorkDir, persistence: storage.persistence, commandTimeoutSeconds: host.commandTimeoutSeconds },
      // After `unreachable` is known: for a host that could not be probed, that is after every
      // other host's steps, when its facts fail, so that nothing else of it is planned.
      { parent: this, dependsOn: args.unreachable.apply(() => [this.facts]) },
    );
    this.rebootGate = this.addRebootGate();
  }

  /**
   * The gate in front of the host's reboot manager, for the sets assigned to the host; and
   * what it does with a staged update, in the preview's and the up's log.
   */
  private addRebootGate(): RebootGate | undefined {
    const { host, fleet, connection, probed } = this.args;
    const sets = fleet.moduleSets.filter((s) => s.hosts.includes(host.name)).map((s) => s.name);
    if (!fleet.updates.gate || sets.length === 0) return undefined;
    probed.apply((p) => {
      const line = describeRebootHold(host.name, p.facts?.rebootHold);
      if (line) (p.facts?.rebootHold?.state === "released" ? pulumi.log.info : pulumi.log.warn)(line, this);
    });
    const { profile, storage, updates } = fleet;
    return new RebootGate(
      `${this.hostName}-reboot-gate`,
      {
        connection,
        sets,
        modulesDir: profile.modulesDir,
        kernelImages: profile.kernelImages,
        // The last file wins: the user's, which the reboot manager reads over the OS defaults.
        updateConf: profile.updateConfFiles[profile.updateConfFiles.length - 1],
        gateDir: rebootGateDir(storage.workDir),
        maxRebootHoldSeconds: updates.maxRebootHoldSeconds,
        afterMaxHold: updates.afterMaxHold,
        commandTimeoutSeconds: host.commandTimeoutSeconds,
      },
      // After the overlay: nothing of a host that could not be probed is planned.
      { parent: this, dependsOn: [this.overlay] },
    );
  }

  /**
   * The developer container of one release: only on a host that builds for the fleet. Named
   * after the release, so that the image fetched for a staged update is the same resource
   * once the host runs that release (it was `<host>-devcontainer` before staged updates).
   */
  addDeveloperContainer(planned: PlannedDeveloperContainer): DeveloperContainer {
    const { osVersion } = planned;
    const { fleet, connection, host } = this.args;
    const { profile, storage } = fleet;
    // The probed values, like every input that comes from a host's facts (see FleetHost).
    const probed = this.args.probed.apply((p) => p.facts);
    const urls = probed.apply((f) => (f ? devContainerUrls(profile, { group: f.group, board: f.board, version: osVersion }) : { image: undefined, signature: undefined }));
    this.developerContainers[osVersion] = new DeveloperContainer(
      planned.name,
      {
        connection,
        osVersion,
        imageUrl: urls.apply((u) => u.image) as pulumi.Output<string>,
        signatureUrl: urls.apply((u) => u.signature) as pulumi.Output<string>,
        signingKey: profile.signingKey ?? "",
        signingKeyFingerprint: profile.signingKeyFingerprint ?? "",
        cacheDir: storage.cacheDir,
        commandTimeoutSeconds: host.commandTimeoutSeconds,
      },
      { parent: this, dependsOn: [this.facts], ...(planned.aliases.length > 0 ? { aliases: planned.aliases } : {}) },
    );
    return this.developerContainers[osVersion];
  }

  /**
   * The set's installs as the plan names them (components/plan/fleetPlan.ts), followed by its load. Each
   * install is named after the A/B boot slot whose kernel it is for: the staged install is
   * the running one once the host has booted that slot, and the other slot's install goes
   * then (the host has run the new kernel). Steps that change the host wait for each other
   * through the host lock (host/hostLock.ts).
   */
  addModuleSet(set: HostModuleSet, planned: PlannedSet, sourceOf: (s: PlannedSource) => SetSource): void {
    const { probed } = this.args;
    const kernelRelease = probed.apply((p) => p.facts?.kernelRelease) as pulumi.Output<string>;
    const [install] = planned.installs.map((i) => this.addInstall(set, i, sourceOf(i.source), i.stagedKernelRelease ?? kernelRelease));
    this.addLoad(set, planned.load.name, sourceOf(planned.load.source), install, kernelRelease);
  }

  private addInstall(set: HostModuleSet, planned: PlannedInstall, source: SetSource, kernelRelease: pulumi.Input<string>): ModuleInstall {
    const { fleet, connection, host } = this.args;
    const { profile, storage } = fleet;
    const fromBuild = source.kind === "build" ? source : undefined;
    const pending = source.kind === "pending";
    const install = new ModuleInstall(
      planned.name,
      {
        connection,
        set: set.name,
        kernelRelease,
        modulesDir: profile.modulesDir,
        workDir: storage.workDir,
        builder: pending ? notKnownYet<string>() : (fromBuild?.builder.hostName ?? ""),
        artifactId: pending ? notKnownYet<string>() : (fromBuild?.artifactId ?? ""),
        manifest: pending ? notKnownYet<null>() : fromBuild ? fromBuild.build.manifest : null,
        buildFailure: pending ? notKnownYet<string>() : fromBuild ? fromBuild.build.failure : source.kind === "problem" ? source.reason : "",
        commandTimeoutSeconds: host.commandTimeoutSeconds,
      },
      {
        parent: this,
        // Not after the host's other sets: a set whose build failed must not hold the others back.
        dependsOn: [this.overlay, ...(fromBuild ? [fromBuild.build] : [])],
        ...(planned.aliases.length > 0 ? { aliases: planned.aliases } : {}),
      },
    );
    this.installs.push(install);
    return install;
  }

  private addLoad(set: HostModuleSet, name: string, source: SetSource, install: ModuleInstall, kernelRelease: pulumi.Output<string>): void {
    const { fleet, connection, host, probed } = this.args;
    const { profile, storage } = fleet;
    const fromBuild = source.kind === "build" ? source : undefined;
    const pending = source.kind === "pending";
    const load = new ModuleLoad(
      name,
      {
        connection,
        set: set.name,
        modules: set.load,
        parameters: set.parameters,
        kernelRelease,
        // Known when the program runs: a new artifact reloads, a reinstall of the same does not.
        buildDigest: pending ? notKnownYet<string>() : (fromBuild?.artifactId ?? ""),
        modulesDir: profile.modulesDir,
        workDir: storage.workDir,
        kernelConfig: probed.apply((p) => p.facts?.kernelConfig) as pulumi.Output<string>,
        // The doctor reads the kernel's sources where they are: on the builder.
        ...(fromBuild && fromBuild.builder !== this ? { doctorOn: fromBuild.builder.args.connection.apply((c) => ({ connection: c, kernelConfig: fromBuild.builderFacts.kernelConfig })) } : {}),
        commandTimeoutSeconds: host.commandTimeoutSeconds,
      },
      { parent: this, dependsOn: [install] },
    );
    this.loads.push(load);
    this.sets.push({ name: set.name, install, builtOn: fromBuild?.builder.hostName ?? "" });
  }

  /** Every resource of this host. */
  resources(): pulumi.CustomResource[] {
    return [this.facts, this.overlay, ...Object.values(this.developerContainers), ...this.installs, ...this.loads, ...(this.rebootGate ? [this.rebootGate] : [])];
  }

  /** Kernel, OS version and per set what is installed; registered once every set is added. */
  finish(): pulumi.Output<HostSummary> {
    const facts = this.facts;
    const installed = this.sets.map((s) => pulumi.all([s.install.modules, s.install.installDir]));
    const hold = this.args.probed.apply((p) => (this.rebootGate ? describeRebootHold(this.hostName, p.facts?.rebootHold) : undefined));
    const summary = pulumi.all([facts.kernelRelease, facts.osVersion, pulumi.all(installed), hold]).apply(([kernelRelease, osVersion, results, rebootHold]) => {
      const out: HostSummary = { kernelRelease, osVersion, sets: {}, ...(rebootHold ? { rebootHold } : {}) };
      results.forEach(([modules, installDir], i) => {
        out.sets[this.sets[i].name] = { modules: (modules ?? []).map((m) => m.name), installDir, builtOn: this.sets[i].builtOn };
      });
      return out;
    });
    this.registerOutputs({ summary });
    return summary;
  }
}

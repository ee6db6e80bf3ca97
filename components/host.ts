// One host of the fleet: its facts and the modules overlay; the developer container when
// it builds for the fleet (plan/buildPlan.ts); and for each module set an install of the
// set's artifact followed by a load, in that order. The builds themselves are the
// fleet's (components/fleet.ts): one per kernel, architecture and set.
import * as pulumi from "@pulumi/pulumi";
import type { ResolvedFleet, ResolvedHost, ResolvedModuleSet } from "../config/resolve";
import { devContainerUrls } from "../config/profiles";
import type { ConnectionSpec } from "../ssh/session";
import { HostFacts, type HostFactsValues } from "./hostFacts";
import { ModulesOverlay } from "./modulesOverlay";
import { DeveloperContainer } from "./developerContainer";
import type { ModuleBuild } from "./moduleBuild";
import { ModuleInstall } from "./moduleInstall";
import { ModuleLoad } from "./moduleLoad";
import type { HostInventory } from "./inventory";

/** A module set as one host gets it, with the identity of its local sources. */
export interface HostModuleSet extends ResolvedModuleSet {
  sourceDir: string;
  sourceHash: string;
  sourceIdentity: string;
}

/** What the program learned of a host when it ran: its facts and what it has, or why it could not be probed. */
export interface Probed {
  facts?: HostFactsValues;
  inventory?: HostInventory;
  unreachable?: string;
  /** Not probed: the host's connection is not known in this preview (components/fleet.ts). */
  pending?: true;
}

export interface FleetHostArgs {
  /** The host as planned: its name and bounds are exact; its address, port, user and keys may be placeholders (`connection` has the real ones). */
  host: ResolvedHost;
  fleet: ResolvedFleet;
  connection: pulumi.Output<ConnectionSpec>;
  probed: pulumi.Output<Probed>;
}

/** Where a host's set comes from: the group's build, or why there is none. */
export type SetSource =
  | { kind: "build"; build: ModuleBuild; artifactId: string; builder: FleetHost; builderFacts: HostFactsValues }
  | { kind: "problem"; reason: string }
  /** The host could not be probed: its resources stay as they are. */
  | { kind: "unknown" }
  /** The host is pending (a preview before its machine exists): its group, and so its build, is not known yet. */
  | { kind: "pending" };

export interface HostSummary {
  kernelRelease: string;
  osVersion: string;
  sets: Record<string, { modules: string[]; installDir: string; builtOn: string }>;
}

export class FleetHost extends pulumi.ComponentResource {
  public readonly facts: HostFacts;
  public readonly overlay: ModulesOverlay;
  public developerContainer?: DeveloperContainer;
  public readonly installs: ModuleInstall[] = [];
  public readonly loads: ModuleLoad[] = [];
  private readonly args: FleetHostArgs;
  private readonly hostName: string;
  private readonly sets: { name: string; install: ModuleInstall; builtOn: string }[] = [];

  constructor(name: string, args: FleetHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kmod-fleet:index:Host", name, {}, opts);
    this.args = args;
    this.hostName = name;
    const { host, fleet, connection } = args;
    const { profile, storage } = fleet;
    const probe = {
      releaseFiles: profile.releaseFiles,
      versionVariable: profile.versionVariable,
      boardVariable: profile.boardVariable,
      updateConfFiles: profile.updateConfFiles,
      defaultGroup: profile.defaultGroup,
      kernelConfigSources: fleet.kernelConfigSources,
    };
    const field = <K extends keyof HostFactsValues>(k: K) => args.probed.apply((p) => p.facts?.[k]) as pulumi.Output<HostFactsValues[K]>;
    this.facts = new HostFacts(
      `${name}-facts`,
      {
        connection,
        probe,
        unreachable: args.probed.apply((p) => p.unreachable) as any,
        facts: {
          kernelRelease: field("kernelRelease"),
          arch: field("arch"),
          bootId: field("bootId"),
          osId: field("osId"),
          osVersion: field("osVersion"),
          board: field("board"),
          group: field("group"),
          kernelConfig: field("kernelConfig"),
        } as any,
      },
      { parent: this },
    );

    this.overlay = new ModulesOverlay(
      `${name}-overlay`,
      { connection, modulesDir: profile.modulesDir, upperDir: storage.modulesRoot, workDir: storage.modulesWorkDir, persistence: storage.persistence, commandTimeoutSeconds: host.commandTimeoutSeconds },
      { parent: this, dependsOn: [this.facts] },
    );
  }

  /** The developer container for the host's OS version: only on a host that builds for the fleet. */
  addDeveloperContainer(): DeveloperContainer {
    if (this.developerContainer) return this.developerContainer;
    const { fleet, connection, host } = this.args;
    const { profile, storage } = fleet;
    const facts = this.facts;
    // The probed values (not the facts resource's outputs): known in every preview, absent for a host that could not be probed.
    const probed = this.args.probed.apply((p) => p.facts);
    const urls = probed.apply((f) => (f ? devContainerUrls(profile, { group: f.group, board: f.board, version: f.osVersion }) : { image: undefined, signature: undefined }));
    this.developerContainer = new DeveloperContainer(
      `${this.hostName}-devcontainer`,
      {
        connection,
        osVersion: probed.apply((f) => f?.osVersion) as pulumi.Output<string>,
        imageUrl: urls.apply((u) => u.image) as pulumi.Output<string>,
        signatureUrl: urls.apply((u) => u.signature) as pulumi.Output<string>,
        signingKey: profile.signingKey ?? "",
        signingKeyFingerprint: profile.signingKeyFingerprint ?? "",
        cacheDir: storage.cacheDir,
        commandTimeoutSeconds: host.commandTimeoutSeconds,
      },
      { parent: this, dependsOn: [facts] },
    );
    return this.developerContainer;
  }

  /**
   * The set's install (of the group's artifact) and its load. Steps that change the
   * host wait for each other through the host lock (components/hostLock.ts).
   */
  addModuleSet(set: HostModuleSet, source: SetSource, storePath: string): void {
    const { fleet, connection, host, probed } = this.args;
    const { profile, storage } = fleet;
    const kernelRelease = probed.apply((p) => p.facts?.kernelRelease) as pulumi.Output<string>;
    const fromBuild = source.kind === "build" ? source : undefined;
    // Pending (only in a preview): what comes from the group's build is not known yet.
    const notKnownYet = <T>(): pulumi.Output<T> => pulumi.output(pulumi.unknown) as unknown as pulumi.Output<T>;
    const pending = source.kind === "pending";
    const install = new ModuleInstall(
      `${this.hostName}-${set.name}-install`,
      {
        connection,
        set: set.name,
        kernelRelease,
        modulesDir: profile.modulesDir,
        workDir: storage.workDir,
        storePath,
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
        // Before build plans, each host built its own set as `<host>-<set>-build`, installed in
        // the same folder: taken over in place, so that its delete cannot remove the new install.
        aliases: [{ name: `${this.hostName}-${set.name}-build`, type: "pulumi-nodejs:dynamic/kmod-fleet:ModuleBuild" }],
      },
    );
    const load = new ModuleLoad(
      `${this.hostName}-${set.name}-load`,
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
        kernelConfig: this.facts.kernelConfig,
        // The doctor reads the kernel's sources where they are: on the builder.
        ...(fromBuild && fromBuild.builder !== this ? { doctorOn: fromBuild.builder.args.connection.apply((c) => ({ connection: c, kernelConfig: fromBuild.builderFacts.kernelConfig })) } : {}),
        commandTimeoutSeconds: host.commandTimeoutSeconds,
      },
      { parent: this, dependsOn: [install] },
    );
    this.installs.push(install);
    this.loads.push(load);
    this.sets.push({ name: set.name, install, builtOn: fromBuild?.builder.hostName ?? "" });
  }

  /** Kernel, OS version and per set what is installed; registered once every set is added. */
  finish(): pulumi.Output<HostSummary> {
    const facts = this.facts;
    const installed = this.sets.map((s) => pulumi.all([s.install.modules, s.install.installDir]));
    const summary = pulumi.all([facts.kernelRelease, facts.osVersion, pulumi.all(installed)]).apply(([kernelRelease, osVersion, results]) => {
      const out: HostSummary = { kernelRelease, osVersion, sets: {} };
      results.forEach(([modules, installDir], i) => {
        out.sets[this.sets[i].name] = { modules: (modules ?? []).map((m) => m.name), installDir, builtOn: this.sets[i].builtOn };
      });
      return out;
    });
    this.registerOutputs({ summary });
    return summary;
  }
}

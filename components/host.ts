// One host of the fleet: its facts, the modules overlay, the developer container for its
// OS version, and for each module set a build followed by a load, in that order.
import * as pulumi from "@pulumi/pulumi";
import type { ResolvedFleet, ResolvedHost, ResolvedModuleSet } from "../config/resolve";
import { devContainerUrls } from "../config/profiles";
import type { ConnectionSpec } from "../ssh/session";
import { HostFacts, type HostFactsValues } from "./hostFacts";
import { ModulesOverlay } from "./modulesOverlay";
import { DeveloperContainer } from "./developerContainer";
import { ModuleBuild } from "./moduleBuild";
import { ModuleLoad } from "./moduleLoad";

/** A module set as one host gets it, with the identity of its local sources. */
export interface HostModuleSet extends ResolvedModuleSet {
  sourceDir: string;
  sourceHash: string;
}

export interface FleetHostArgs {
  host: ResolvedHost;
  fleet: ResolvedFleet;
  connection: pulumi.Output<ConnectionSpec>;
  /** Facts probed when the program ran, or why the host could not be probed. */
  probed: pulumi.Output<{ facts?: HostFactsValues; unreachable?: string }>;
  moduleSets: HostModuleSet[];
}

export interface HostSummary {
  kernelRelease: string;
  osVersion: string;
  sets: Record<string, { modules: string[]; installDir: string }>;
}

export class FleetHost extends pulumi.ComponentResource {
  public readonly facts: HostFacts;
  public readonly overlay: ModulesOverlay;
  public readonly developerContainer?: DeveloperContainer;
  public readonly builds: ModuleBuild[] = [];
  public readonly loads: ModuleLoad[] = [];
  public readonly summary: pulumi.Output<HostSummary>;

  constructor(name: string, args: FleetHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kmod-fleet:index:Host", name, {}, opts);
    const { host, fleet, connection } = args;
    const { profile, storage } = fleet;
    const timeouts = { commandTimeoutSeconds: host.commandTimeoutSeconds };
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
          moduleSigForce: field("moduleSigForce"),
          machineKeyring: field("machineKeyring"),
          sigEnforce: field("sigEnforce"),
          lockdown: field("lockdown"),
          secureBoot: field("secureBoot"),
        } as any,
      },
      { parent: this },
    );
    const facts = this.facts;

    this.overlay = new ModulesOverlay(
      `${name}-overlay`,
      { connection, modulesDir: profile.modulesDir, upperDir: storage.modulesRoot, workDir: storage.modulesWorkDir, persistence: storage.persistence, ...timeouts },
      { parent: this, dependsOn: [facts] },
    );

    if (args.moduleSets.length > 0) {
      const urls = pulumi.all([facts.group, facts.board, facts.osVersion]).apply(([group, board, version]) => devContainerUrls(profile, { group, board, version }));
      const devContainer = new DeveloperContainer(
        `${name}-devcontainer`,
        {
          connection,
          osVersion: facts.osVersion,
          imageUrl: urls.image,
          signatureUrl: urls.signature,
          signingKey: profile.signingKey ?? "",
          signingKeyFingerprint: profile.signingKeyFingerprint ?? "",
          cacheDir: storage.cacheDir,
          ...timeouts,
        },
        { parent: this, dependsOn: [facts] },
      );
      this.developerContainer = devContainer;

      // Builds on one host run one after another: they share the image and the kernel tree.
      let previous: pulumi.Resource = devContainer;
      for (const set of args.moduleSets) {
        const build = new ModuleBuild(
          `${name}-${set.name}-build`,
          {
            connection,
            set: set.name,
            kernelRelease: facts.kernelRelease,
            kernelConfig: facts.kernelConfig,
            // Known in advance (not an output) so that a preview can compare it.
            imagePath: pulumi.interpolate`${storage.cacheDir}/${facts.osVersion}/developer_container.bin`,
            sourcesCommand: profile.sourcesCommand,
            source: set.source,
            sourceDir: set.sourceDir,
            sourceHash: set.sourceHash,
            modulesDir: profile.modulesDir,
            workDir: storage.workDir,
            buildTimeoutSeconds: host.buildTimeoutSeconds,
            ...timeouts,
          },
          { parent: this, dependsOn: [this.overlay, devContainer, previous] },
        );
        const load = new ModuleLoad(
          `${name}-${set.name}-load`,
          {
            connection,
            set: set.name,
            modules: set.load,
            parameters: set.parameters,
            kernelRelease: facts.kernelRelease,
            buildDigest: build.modules.apply((ms) => (ms ?? []).map((m) => `${m.name}:${m.sha256}`).join(",")),
            workDir: storage.workDir,
            kernelConfig: facts.kernelConfig,
            ...timeouts,
          },
          { parent: this, dependsOn: [build] },
        );
        this.builds.push(build);
        this.loads.push(load);
        previous = load;
      }
    }

    const built = this.builds.map((b) => pulumi.all([b.modules, b.installDir]));
    this.summary = pulumi.all([facts.kernelRelease, facts.osVersion, pulumi.all(built)]).apply(([kernelRelease, osVersion, results]) => {
      const out: HostSummary = { kernelRelease, osVersion, sets: {} };
      results.forEach(([modules, installDir], i) => {
        out.sets[args.moduleSets[i].name] = { modules: (modules ?? []).map((m) => m.name), installDir };
      });
      return out;
    });
    this.registerOutputs({ summary: this.summary });
  }
}

// The whole fleet: probes every host (in parallel, each bounded by its SSH timeouts) for
// its facts and what it has, then plans the builds (plan/buildPlan.ts): one build per
// kernel, architecture and module set, on one builder host, whose artifact every host of
// that kernel installs. The plan is made here, from facts probed when the program runs,
// so that a preview shows exactly the builds and installs an `up` will do.
//
// A host that cannot be probed gets its facts resource with the reason, which fails for
// that host alone; its other resources stay registered as they are, nothing of it is
// deleted, and it takes part in no build.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import type { ResolvedFleet } from "../config/resolve";
import { closeSession, type ConnectionSpec } from "../ssh/session";
import { LocalArtifactStore, artifactId } from "../artifacts/store";
import { decideObtain, describeObtain, developerContainerHosts, planBuilds, type BuildGroup, type Obtain } from "../plan/buildPlan";
import { connectionFor, hostKeyWarnings, type SecretSource } from "./connection";
import { probeFacts, type FactsProbe, type HostFactsValues } from "./hostFacts";
import { probeInventory, type InventoryProber } from "./inventory";
import { FleetHost, type HostModuleSet, type HostSummary, type Probed, type SetSource } from "./host";
import { ModuleBuild, artifactKeyOf } from "./moduleBuild";
import { hashSourceDir, sourceIdentity } from "./sourceHash";

export type FactsProber = (spec: ConnectionSpec, probe: FactsProbe) => Promise<HostFactsValues>;
export type { InventoryProber };

export interface FleetArgs {
  fleet: ResolvedFleet;
  secret: SecretSource;
  /** Folder that relative module-set `dir` sources and the artifact store's path are relative to (the Pulumi project). */
  projectDir: string;
  /** Replaced in unit tests; the real ones probe over SSH. */
  probe?: FactsProber;
  inventory?: InventoryProber;
}

/** A group of the plan, with how its artifact is had this run. */
interface DecidedGroup {
  group: BuildGroup;
  obtain: Obtain;
  artifactId: string;
}

export class Fleet extends pulumi.ComponentResource {
  public readonly hosts: Record<string, FleetHost> = {};
  /** Filled in once every host is probed: build resource name -> build. */
  public readonly builds: Record<string, ModuleBuild> = {};
  public readonly summary: pulumi.Output<Record<string, HostSummary>>;

  constructor(name: string, args: FleetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kmod-fleet:index:Fleet", name, {}, opts);
    const { fleet } = args;
    const prober = args.probe ?? probeFacts;
    const inventoryProber = args.inventory ?? probeInventory;
    const probeSettings: FactsProbe = {
      releaseFiles: fleet.profile.releaseFiles,
      versionVariable: fleet.profile.versionVariable,
      boardVariable: fleet.profile.boardVariable,
      updateConfFiles: fleet.profile.updateConfFiles,
      defaultGroup: fleet.profile.defaultGroup,
      kernelConfigSources: fleet.kernelConfigSources,
    };
    const storePath = path.resolve(args.projectDir, fleet.build.storePath);
    const sets: HostModuleSet[] = fleet.moduleSets.map((set) => {
      const sourceDir = set.source.kind === "dir" ? path.resolve(args.projectDir, set.source.dir) : "";
      const sourceHash = sourceDir ? hashSourceDir(sourceDir) : "";
      return { ...set, sourceDir, sourceHash, sourceIdentity: sourceIdentity(set.source, sourceHash, fleet.profile.sourcesCommand) };
    });

    const connections: Record<string, pulumi.Output<ConnectionSpec>> = {};
    const probes = fleet.hosts.map((host, i) => {
      hostKeyWarnings(host).forEach((w) => pulumi.log.warn(w));
      const connection = (connections[host.name] = connectionFor(host, args.secret, `hosts[${i}]`));
      // unsecret: what is probed is derived from the (secret) connection but is not secret itself.
      const probed: pulumi.Output<Probed> = pulumi.unsecret(
        connection.apply(async (spec): Promise<Probed> => {
          try {
            const facts = await prober(spec, probeSettings);
            const inventory = await inventoryProber(spec, {
              kernelRelease: facts.kernelRelease,
              osVersion: facts.osVersion,
              modulesDir: fleet.profile.modulesDir,
              workDir: fleet.storage.workDir,
              cacheDir: fleet.storage.cacheDir,
            });
            return { facts, inventory };
          } catch (e: any) {
            const reason = String(e?.message ?? e);
            pulumi.log.error(`${host.name}: cannot be probed, nothing will change on it in this run: ${reason}`);
            return { unreachable: reason };
          } finally {
            // The program must not keep connections open, or it never exits.
            await closeSession(spec);
          }
        }),
      );
      this.hosts[host.name] = new FleetHost(host.name, { host, fleet, connection, probed }, { parent: this });
      return probed;
    });

    // The plan needs every host's facts at once; the resources it decides are made below.
    const decided = pulumi.all(probes).apply(async (results) => {
      const probed = new Map(fleet.hosts.map((h, i) => [h.name, results[i]]));
      const plan = planBuilds(
        fleet.hosts.map((h) => ({ name: h.name, labels: h.labels, facts: probed.get(h.name)!.facts })),
        sets.map((s) => ({ name: s.name, hosts: s.hosts, sourceIdentity: s.sourceIdentity })),
        { builders: fleet.build.builders },
      );
      const store = new LocalArtifactStore(storePath);
      const groups: DecidedGroup[] = [];
      for (const group of plan.groups) {
        const key = artifactKeyOf(group);
        const id = artifactId(key);
        const stored = (await store.get(key)) !== undefined;
        const installedOn = group.installs.filter((h) => probed.get(h)!.inventory?.artifacts[group.set] === id);
        groups.push({ group, obtain: decideObtain(group, { stored, installedOn }), artifactId: id });
      }
      return { plan, groups, probed };
    });

    this.summary = decided.apply(({ plan, groups, probed }) => {
      const factsOf = (h: string) => probed.get(h)!.facts!;
      const image = developerContainerHosts(groups, (h) => probed.get(h)?.inventory?.developerContainer === true);
      // A host that could not be probed may have one: kept registered, so that nothing of it
      // is deleted (its diff decides nothing without facts).
      for (const h of fleet.hosts) if (probed.get(h.name)!.unreachable && sets.some((s) => s.hosts.includes(h.name))) image.add(h.name);
      for (const h of [...image].sort()) this.hosts[h].addDeveloperContainer();

      const sources = new Map<string, SetSource>();
      const lastBuildOn = new Map<string, ModuleBuild>();
      for (const { group, obtain, artifactId: id } of groups) {
        const builder = this.hosts[group.builder];
        const builderHost = fleet.hosts.find((h) => h.name === group.builder)!;
        const set = sets.find((s) => s.name === group.set)!;
        const f = factsOf(group.builder);
        if (obtain.kind !== "stored") {
          pulumi.log.info(`${group.set} for ${group.kernelRelease} (${group.arch}): not in the artifact store (${storePath}); ${obtain.kind === "take-back" ? `it will be taken back from ${obtain.from}, where it is installed` : `it will be built on ${obtain.on}`}`, this);
        }
        const previous = lastBuildOn.get(group.builder);
        const build = new ModuleBuild(
          `build-${group.id}`,
          {
            connection: connections[group.builder],
            builder: group.builder,
            set: group.set,
            kernelRelease: group.kernelRelease,
            arch: group.arch,
            kernelConfig: f.kernelConfig,
            imagePath: `${fleet.storage.cacheDir}/${f.osVersion}/developer_container.bin`,
            sourcesCommand: fleet.profile.sourcesCommand,
            source: set.source,
            sourceDir: set.sourceDir,
            sourceHash: set.sourceHash,
            sourceIdentity: set.sourceIdentity,
            modulesDir: fleet.profile.modulesDir,
            workDir: fleet.storage.workDir,
            storePath,
            obtain: describeObtain(obtain),
            ...(obtain.kind === "take-back" ? { takeBackFrom: connections[obtain.from] } : {}),
            buildTimeoutSeconds: builderHost.buildTimeoutSeconds,
            commandTimeoutSeconds: builderHost.commandTimeoutSeconds,
          },
          // Builds on one builder run one after another: they share its kernel tree.
          { parent: this, dependsOn: [builder.facts, ...(builder.developerContainer ? [builder.developerContainer] : []), ...(previous ? [previous] : [])] },
        );
        this.builds[`build-${group.id}`] = build;
        lastBuildOn.set(group.builder, build);
        for (const h of group.installs) sources.set(`${h}\0${group.set}`, { kind: "build", build, artifactId: id, builder, builderFacts: f });
      }
      for (const p of plan.problems) {
        for (const h of p.hosts) sources.set(`${h}\0${p.set}`, { kind: "problem", reason: `${p.set} cannot be built for ${p.kernelRelease}: ${p.reason}` });
      }

      const summaries: Record<string, pulumi.Output<HostSummary>> = {};
      for (const host of fleet.hosts) {
        for (const set of sets.filter((s) => s.hosts.includes(host.name))) {
          this.hosts[host.name].addModuleSet(set, sources.get(`${host.name}\0${set.name}`) ?? { kind: "unknown" }, storePath);
        }
        summaries[host.name] = this.hosts[host.name].finish();
      }
      return pulumi.all(summaries);
    });
    this.registerOutputs({ summary: this.summary });
  }
}

// The whole fleet: probes every host's facts (in parallel, each bounded by its SSH
// timeouts) and makes one FleetHost per host with the module sets it gets. A host that
// cannot be probed gets its facts resource with the reason, which fails for that host
// alone; nothing of it is deleted.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import type { ResolvedFleet } from "../config/resolve";
import { closeSession, type ConnectionSpec } from "../ssh/session";
import { connectionFor, hostKeyWarnings, type SecretSource } from "./connection";
import { probeFacts, type FactsProbe, type HostFactsValues } from "./hostFacts";
import { FleetHost, type HostModuleSet, type HostSummary } from "./host";
import { hashSourceDir } from "./sourceHash";
import { unsignedModulesWarning } from "./signing";

export type FactsProber = (spec: ConnectionSpec, probe: FactsProbe) => Promise<HostFactsValues>;

export interface FleetArgs {
  fleet: ResolvedFleet;
  secret: SecretSource;
  /** Folder that relative module-set `dir` sources are relative to (the Pulumi project). */
  projectDir: string;
  /** Replaced in unit tests; the real one probes over SSH. */
  probe?: FactsProber;
}

async function probeOverSsh(spec: ConnectionSpec, probe: FactsProbe): Promise<HostFactsValues> {
  try {
    return await probeFacts(spec, probe);
  } finally {
    // The program must not keep connections open, or it never exits.
    await closeSession(spec);
  }
}

export class Fleet extends pulumi.ComponentResource {
  public readonly hosts: Record<string, FleetHost> = {};
  public readonly summary: pulumi.Output<Record<string, HostSummary>>;

  constructor(name: string, args: FleetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kmod-fleet:index:Fleet", name, {}, opts);
    const { fleet } = args;
    const prober = args.probe ?? probeOverSsh;
    const probeSettings: FactsProbe = {
      releaseFiles: fleet.profile.releaseFiles,
      versionVariable: fleet.profile.versionVariable,
      boardVariable: fleet.profile.boardVariable,
      updateConfFiles: fleet.profile.updateConfFiles,
      defaultGroup: fleet.profile.defaultGroup,
      kernelConfigSources: fleet.kernelConfigSources,
    };
    const sources = new Map<string, { sourceDir: string; sourceHash: string }>();
    for (const set of fleet.moduleSets) {
      const sourceDir = set.source.kind === "dir" ? path.resolve(args.projectDir, set.source.dir) : "";
      sources.set(set.name, { sourceDir, sourceHash: sourceDir ? hashSourceDir(sourceDir) : "" });
    }

    fleet.hosts.forEach((host, i) => {
      hostKeyWarnings(host).forEach((w) => pulumi.log.warn(w));
      const connection = connectionFor(host, args.secret, `hosts[${i}]`);
      const setNames = fleet.moduleSets.filter((s) => s.hosts.includes(host.name)).map((s) => s.name);
      // unsecret: facts are derived from the (secret) connection but are not secret themselves.
      const probed = pulumi.unsecret(
        connection.apply(async (spec) => {
          try {
            const facts = await prober(spec, probeSettings);
            // Before anything is built: a host that refuses unsigned modules would fail at modprobe.
            const unsigned = unsignedModulesWarning(host.name, facts, setNames);
            if (unsigned) pulumi.log.warn(unsigned);
            return { facts };
          } catch (e: any) {
            const reason = String(e?.message ?? e);
            pulumi.log.error(`${host.name}: cannot be probed, nothing will change on it in this run: ${reason}`);
            return { unreachable: reason };
          }
        }),
      );
      const moduleSets: HostModuleSet[] = fleet.moduleSets.filter((s) => s.hosts.includes(host.name)).map((s) => ({ ...s, ...sources.get(s.name)! }));
      this.hosts[host.name] = new FleetHost(host.name, { host, fleet, connection, probed, moduleSets }, { parent: this });
    });

    this.summary = pulumi.all(Object.fromEntries(Object.entries(this.hosts).map(([n, h]) => [n, h.summary])));
    this.registerOutputs({ summary: this.summary });
  }
}

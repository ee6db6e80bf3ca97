// The whole fleet: validates the args, probes every host's facts (in parallel, each bounded
// by its SSH timeouts) and makes one FleetHost per host with the module sets it gets. A host
// that cannot be probed gets its facts resource with the reason, which fails for that host
// alone; nothing of it is deleted.
//
// A host whose address or host key comes from a resource created in the same run (a new
// machine) is not known during a preview: its connection, and so its probe and facts, stay
// unknown, and its resources are registered anyway, with those values unknown. The preview
// therefore shows every resource of the host as a create (for a host already in the stack:
// as a possible change), with the kernel release, OS version and image URL not known yet.
// During `up` the machine is created first; when its outputs resolve, the probe runs (in an
// apply), and the host's resources are created with the real facts.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { closeSession, type ConnectionSpec } from "../ssh/session";
import { connectionFor, hostKeyWarnings } from "./connection";
import { probeFacts, type FactsProbe, type HostFactsValues } from "./hostFacts";
import { FleetHost, type HostModuleSet, type HostSummary } from "./host";
import { planFleet, type FleetArgs } from "./fleetArgs";
import { hashSourceDir } from "./sourceHash";

export type { AuthArgs, ConnectionArgs, FactsProber, FleetArgs, HostArgs, HostDefaultsArgs } from "./fleetArgs";
export { FleetArgsError } from "./fleetArgs";

function isDirectory(dir: string): boolean {
  return fs.existsSync(dir) && fs.statSync(dir).isDirectory();
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
    const projectDir = args?.projectDir ?? process.cwd();
    // Every problem of the args at once (FleetArgsError), before any resource exists.
    const planned = planFleet(args, { subject: `Fleet "${name}" args`, dirExists: (dir) => isDirectory(path.resolve(projectDir, dir)) });
    const { fleet } = planned;
    const prober = args.probe ?? probeOverSsh;
    // privateKeyConfig and passphraseConfig name secret keys of the stack config.
    const config = new pulumi.Config("kmod-fleet");
    const secret = (key: string) => config.requireSecret(key);
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
      const sourceDir = set.source.kind === "dir" ? path.resolve(projectDir, set.source.dir) : "";
      sources.set(set.name, { sourceDir, sourceHash: sourceDir ? hashSourceDir(sourceDir) : "" });
    }

    fleet.hosts.forEach((host, i) => {
      // The host with the values of its Inputs; the warning needs its real address, and is
      // given on every run that connects to it.
      const live = planned.host(i).apply((h) => {
        hostKeyWarnings(h).forEach((w) => pulumi.log.warn(w));
        return h;
      });
      const connection = connectionFor(host, live, secret, `hosts[${i}]`);
      // unsecret: facts are derived from the (secret) connection but are not secret themselves.
      const probed = pulumi.unsecret(
        connection.apply(async (spec) => {
          try {
            return { facts: await prober(spec, probeSettings) };
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

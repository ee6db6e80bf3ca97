// The component graph under Pulumi's mocks: which resources each host gets, in which order,
// with which inputs. Mock mode still serializes the dynamic providers, so this also proves
// that every provider's code can be shipped to the provider process.
import { beforeAll, describe, expect, it, vi } from "vitest";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

interface Registered {
  type: string;
  name: string;
  inputs: any;
}
const registered: Registered[] = [];

pulumi.runtime.setMocks(
  {
    newResource(args) {
      registered.push({ type: args.type, name: args.name, inputs: args.inputs });
      return { id: `${args.name}-id`, state: args.inputs };
    },
    call: (args) => args.inputs,
  },
  "kmod-fleet",
  "test",
  false,
);

const root = path.join(__dirname, "..", "..");
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHxAJ2iCgUCIyF7+uFqQ1y0NxBQ0v5yHUZ8Qp8sE1P2a";

function factsFor(host: string) {
  return {
    kernelRelease: host === "h2" ? "6.1.0-56-cloud-amd64" : "6.1.0-50-cloud-amd64",
    arch: "x86_64",
    bootId: `boot-${host}`,
    osId: "flatcar",
    osVersion: host === "h2" ? "3975.2.1" : "3975.2.0",
    board: "amd64-usr",
    group: "stable",
    kernelConfig: "/proc/config.gz",
    // h2 runs under Secure Boot with lockdown, as Flatcar does.
    moduleSigForce: "n" as const,
    machineKeyring: "n" as const,
    sigEnforce: "N" as const,
    lockdown: host === "h2" ? ("integrity" as const) : ("none" as const),
    secureBoot: host === "h2" ? ("on" as const) : ("off" as const),
  };
}

let fleet: any;
const warnings: string[] = [];
beforeAll(async () => {
  vi.spyOn(pulumi.log, "warn").mockImplementation(async (message: string) => void warnings.push(message));
  // Import modules that create resources only after setMocks.
  const { resolveFleetConfig } = await import("../../config/resolve");
  const { Fleet } = await import("../../components/fleet");
  const config = resolveFleetConfig({
    hosts: [
      { name: "h1", address: "127.0.0.1", port: 2201, hostKey: KEY, labels: ["a"] },
      { name: "h2", address: "127.0.0.1", port: 2202, hostKey: KEY },
      { name: "h3", address: "127.0.0.1", port: 2203, insecureIgnoreHostKey: true },
    ],
    defaults: { user: "root" },
    profile: { devContainerUrl: "http://10.0.2.2:8080/${GROUP}/${BOARD}/${VERSION}/dev.bin.bz2", sourcesCommand: "kmod-fleet-sources" },
    moduleSets: [
      { name: "pair", source: { dir: "test/unit/fixtures/tiny-module" }, load: ["tiny"], parameters: { tiny: { n: 3 } } },
      { name: "intree", source: { inTree: { options: ["DUMMY"], directories: ["drivers/net"] } }, load: ["dummy"], hosts: { labels: ["a"] } },
    ],
  });
  fleet = new Fleet("fleet", {
    fleet: config,
    secret: (k) => pulumi.secret(`secret value of ${k}`),
    projectDir: root,
    probe: async (spec) => {
      if (spec.host === "h3") throw new Error("h3: cannot reach root@127.0.0.1:2203 after 3 attempt(s) in 9 s: connect ECONNREFUSED");
      return factsFor(spec.host);
    },
  });
  await new Promise<void>((resolve) => fleet.summary.apply(() => resolve()));
  // Let the remaining registrations (h3's) flush.
  await new Promise((r) => setTimeout(r, 200));
});

// Dynamic resources get the type token pulumi-nodejs:dynamic/<module>:<type>.
const of = (type: string) => registered.filter((r) => r.type === `pulumi-nodejs:dynamic/kmod-fleet:${type}`);

describe("the fleet's resources", () => {
  it("one host component per host, each with facts and an overlay", () => {
    expect(registered.filter((r) => r.type === "kmod-fleet:index:Host").map((r) => r.name).sort()).toEqual(["h1", "h2", "h3"]);
    expect(of("HostFacts").map((r) => r.name).sort()).toEqual(["h1-facts", "h2-facts", "h3-facts"]);
    expect(of("ModulesOverlay").map((r) => r.inputs.upperDir)).toEqual(["/opt/modules", "/opt/modules", "/opt/modules"]);
  });

  it("module sets go to the hosts they select", () => {
    // h3 is unreachable but keeps its resources registered, so nothing of it is planned for deletion.
    expect(of("ModuleBuild").map((r) => r.name).sort()).toEqual(["h1-intree-build", "h1-pair-build", "h2-pair-build", "h3-pair-build"]);
    expect(of("ModuleLoad").map((r) => r.name).sort()).toEqual(["h1-intree-load", "h1-pair-load", "h2-pair-load", "h3-pair-load"]);
  });

  it("each host's build is for its own kernel and OS version", () => {
    const h2 = of("ModuleBuild").find((r) => r.name === "h2-pair-build")!.inputs;
    expect(h2.kernelRelease).toBe("6.1.0-56-cloud-amd64");
    expect(h2.imagePath).toBe("/var/cache/kmod-fleet/3975.2.1/developer_container.bin");
    expect(h2.sourceHash).toMatch(/^[0-9a-f]{64}$/);
    const dev = of("DeveloperContainer").find((r) => r.name === "h2-devcontainer")!.inputs;
    expect(dev.imageUrl).toBe("http://10.0.2.2:8080/stable/amd64-usr/3975.2.1/dev.bin.bz2");
    expect(dev.signatureUrl).toBe("http://10.0.2.2:8080/stable/amd64-usr/3975.2.1/dev.bin.bz2.sig");
    expect(dev.signingKeyFingerprint).toBe("F88CFEDEFF29A5B4D9523864E25D9AED0593B34A");
  });

  it("loads take the configured order and parameters", () => {
    const load = of("ModuleLoad").find((r) => r.name === "h1-pair-load")!.inputs;
    expect(load.modules).toEqual(["tiny"]);
    expect(load.parameters).toEqual({ tiny: "n=3" });
  });

  it("an unreachable host gets only the reason, no build inputs", () => {
    const facts = of("HostFacts").find((r) => r.name === "h3-facts")!.inputs;
    expect(facts.unreachable).toMatch(/cannot reach root@127.0.0.1:2203/);
    expect(facts.kernelRelease).toBeUndefined();
    expect(of("ModuleBuild").find((r) => r.name === "h3-pair-build")!.inputs.kernelRelease).toBeUndefined();
  });

  it("the connection, key included, reaches every provider as a secret", () => {
    // Pulumi's wire format marks a secret with this signature key and value.
    const SECRET_SIG = ["4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"];
    for (const r of registered.filter((x) => x.type.startsWith("pulumi-nodejs:dynamic/"))) {
      expect(r.inputs.connection[SECRET_SIG[0]], r.name).toBe(SECRET_SIG[1]);
    }
    const facts = of("HostFacts").find((r) => r.name === "h1-facts")!.inputs;
    expect(facts.connection.value).toMatchObject({ host: "h1", port: 2201, user: "root", privateKey: "secret value of sshPrivateKey" });
  });

  it("a host without host key verification gets a loud warning on every run, naming it", () => {
    expect(warnings.filter((w) => w.includes("HOST KEY"))).toEqual([expect.stringMatching(/^h3: HOST KEY VERIFICATION IS OFF for this host \(insecureIgnoreHostKey: true\): .*127\.0\.0\.1:2203/)]);
  });

  it("a host that refuses unsigned modules gets a warning naming its sets, why and what to do; the others none", () => {
    const unsigned = warnings.filter((w) => w.includes("unsigned"));
    expect(unsigned).toHaveLength(1);
    expect(unsigned[0]).toMatch(/^h2: this host refuses unsigned kernel modules \(kernel lockdown \[integrity\], EFI Secure Boot is on\), and the modules kmod-fleet builds are not signed: module set pair will build but fail at modprobe/);
    expect(unsigned[0]).toMatch(/trusts only the keys built into it .* boot the host with Secure Boot and lockdown off/);
    expect(of("HostFacts").find((r) => r.name === "h2-facts")!.inputs).toMatchObject({ lockdown: "integrity", secureBoot: "on" });
  });

  it("every dynamic provider serialized", () => {
    for (const r of registered.filter((x) => x.type.startsWith("pulumi-nodejs:dynamic/"))) {
      expect(typeof r.inputs.__provider, r.name).toBe("string");
      expect(r.inputs.__provider.length, r.name).toBeGreaterThan(100);
    }
  });

  it("the summary reports each reachable host's kernel", async () => {
    const summary = await new Promise<any>((resolve) => fleet.summary.apply(resolve));
    expect(summary.h1.kernelRelease).toBe("6.1.0-50-cloud-amd64");
    expect(summary.h2.osVersion).toBe("3975.2.1");
  });
});

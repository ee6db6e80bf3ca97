// The component graph under Pulumi's mocks: which resources each host gets, in which order,
// with which inputs. Mock mode still serializes the dynamic providers, so this also proves
// that every provider's code can be shipped to the provider process.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ofType, recordResources } from "./pulumiMocks";

const registered = recordResources();

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
    bootSlot: host === "h2" ? "b" : "a",
    // h2 runs under Secure Boot with lockdown, as Flatcar does.
    moduleSigForce: "n" as const,
    machineKeyring: "n" as const,
    sigEnforce: "N" as const,
    lockdown: host === "h2" ? ("integrity" as const) : ("none" as const),
    secureBoot: host === "h2" ? ("on" as const) : ("off" as const),
  };
}

let fleet: any;
let storeDir: string;
const warnings: string[] = [];
const infos: string[] = [];
beforeAll(async () => {
  vi.spyOn(pulumi.log, "warn").mockImplementation(async (message: string) => void warnings.push(message));
  vi.spyOn(pulumi.log, "info").mockImplementation(async (message: string) => void infos.push(message));
  storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-store-"));
  // The store's folder is an operator-side setting the providers read too.
  process.env.KMOD_FLEET_STORE = storeDir;
  // The default auth reads the key from this secret stack config key.
  pulumi.runtime.setConfig("kmod-fleet:sshPrivateKey", "secret value of sshPrivateKey");
  // Import modules that create resources only after setMocks.
  const { Fleet } = await import("../../components/fleet");
  fleet = new Fleet("fleet", {
    hosts: [
      { name: "h1", address: "127.0.0.1", port: 2201, hostKey: KEY, labels: ["a"] },
      { name: "h2", address: "127.0.0.1", port: 2202, hostKey: KEY },
      { name: "h3", address: "127.0.0.1", port: 2203, insecureIgnoreHostKey: true },
      { name: "h4", address: "127.0.0.1", port: 2204, hostKey: KEY },
    ],
    defaults: { user: "root" },
    profile: { devContainerUrl: "http://10.0.2.2:8080/${GROUP}/${BOARD}/${VERSION}/dev.bin.bz2", sourcesCommand: "kmod-fleet-sources" },
    moduleSets: [
      { name: "pair", source: { dir: "test/unit/fixtures/tiny-module" }, load: ["tiny"], parameters: { tiny: { n: "3" } } },
      { name: "intree", source: { inTree: { options: ["DUMMY"], directories: ["drivers/net"] } }, load: ["dummy"], hosts: { labels: ["a"] } },
    ],
    build: { store: { path: storeDir } },
    // h3 cannot be probed: a warning here (test/e2e/program.test.ts has the failing run).
    allowUnreachableHosts: true,
    projectDir: root,
  }, {
    probe: async (spec) => {
      if (spec.host === "h3") throw new Error("h3: cannot reach root@127.0.0.1:2203 after 3 attempt(s) in 9 s: connect ECONNREFUSED");
      return factsFor(spec.host);
    },
    inventory: async () => ({ artifacts: {}, developerContainer: false }),
  });
  await (fleet.summary as any).promise();
  // Let the remaining registrations flush.
  await new Promise((r) => setTimeout(r, 200));
  // Mock mode serializes every provider of some 25 resources: seconds on a busy machine.
}, 60_000);
afterAll(() => {
  delete process.env.KMOD_FLEET_STORE;
  fs.rmSync(storeDir, { recursive: true, force: true });
});

// Dynamic resources get the type token pulumi-nodejs:dynamic/<module>:<type>.
const of = (type: string) => ofType(registered, type);

describe("the fleet's resources", () => {
  it("one host component per host, each with facts and an overlay", () => {
    expect(registered.filter((r) => r.type === "kmod-fleet:index:Host").map((r) => r.name).sort()).toEqual(["h1", "h2", "h3", "h4"]);
    expect(of("HostFacts").map((r) => r.name).sort()).toEqual(["h1-facts", "h2-facts", "h3-facts", "h4-facts"]);
    expect(of("ModulesOverlay").map((r) => r.inputs.upperDir)).toEqual(["/opt/modules", "/opt/modules", "/opt/modules", "/opt/modules"]);
  });

  it("one build per kernel and set, on the first host by name that runs that kernel", () => {
    expect(of("ModuleBuild").map((r) => [r.name, r.inputs.builder]).sort()).toEqual([
      ["build-intree-6.1.0-50-cloud-amd64-x86_64", "h1"],
      ["build-pair-6.1.0-50-cloud-amd64-x86_64", "h1"],
      ["build-pair-6.1.0-56-cloud-amd64-x86_64", "h2"],
    ]);
  });

  it("only builders get a developer container, one per release they build for, named after it", () => {
    expect(of("DeveloperContainer").map((r) => r.name).sort()).toEqual(["h1-devcontainer-3975.2.0", "h2-devcontainer-3975.2.1"]);
    const dev = of("DeveloperContainer").find((r) => r.name === "h2-devcontainer-3975.2.1")!.inputs;
    expect(dev.imageUrl).toBe("http://10.0.2.2:8080/stable/amd64-usr/3975.2.1/dev.bin.bz2");
    expect(dev.signatureUrl).toBe("http://10.0.2.2:8080/stable/amd64-usr/3975.2.1/dev.bin.bz2.sig");
    expect(dev.signingKeyFingerprint).toBe("F88CFEDEFF29A5B4D9523864E25D9AED0593B34A");
  });

  it("each build is for its group's kernel, from the builder's developer container, into the store", () => {
    const b = of("ModuleBuild").find((r) => r.name === "build-pair-6.1.0-56-cloud-amd64-x86_64")!.inputs;
    expect(b).toMatchObject({ kernelRelease: "6.1.0-56-cloud-amd64", arch: "x86_64", imagePath: "/var/cache/kmod-fleet/3975.2.1/developer_container.bin", obtain: "build on h2" });
    expect(b.sourceHash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.sourceIdentity).toMatch(/^[0-9a-f]{64}$/);
    expect(infos).toContainEqual(expect.stringMatching(/^pair for 6\.1\.0-56-cloud-amd64 \(x86_64\): not in the artifact store .*; it will be built on h2$/));
  });

  it("every host installs its group's artifact", () => {
    // Named after the boot slot each host runs (a, unless its facts say otherwise); h3 could not be probed: both slots kept.
    expect(of("ModuleInstall").map((r) => r.name).sort()).toEqual(["h1-intree-install-a", "h1-pair-install-a", "h2-pair-install-b", "h3-pair-install-a", "h3-pair-install-b", "h4-pair-install-a"]);
    const h1 = of("ModuleInstall").find((r) => r.name === "h1-pair-install-a")!.inputs;
    const h4 = of("ModuleInstall").find((r) => r.name === "h4-pair-install-a")!.inputs;
    expect(h4.artifactId).toMatch(/^[0-9a-f]{64}$/);
    expect(h4).toMatchObject({ artifactId: h1.artifactId, builder: "h1", kernelRelease: "6.1.0-50-cloud-amd64" });
    expect(of("ModuleInstall").find((r) => r.name === "h2-pair-install-b")!.inputs.artifactId).not.toBe(h1.artifactId);
  });

  it("loads take the configured order and parameters, and reload when the artifact changes", () => {
    const load = of("ModuleLoad").find((r) => r.name === "h1-pair-load")!.inputs;
    expect(load.modules).toEqual(["tiny"]);
    expect(load.parameters).toEqual({ tiny: "n=3" });
    expect(load.buildDigest).toBe(of("ModuleInstall").find((r) => r.name === "h1-pair-install-a")!.inputs.artifactId);
    expect(of("ModuleLoad").map((r) => r.name).sort()).toEqual(["h1-intree-load", "h1-pair-load", "h2-pair-load", "h3-pair-load", "h4-pair-load"]);
  });

  it("a host that does not build reads the kernel's sources for the doctor on its builder", () => {
    expect(of("ModuleLoad").find((r) => r.name === "h4-pair-load")!.inputs.doctorOn.value).toMatchObject({ connection: { host: "h1" }, kernelConfig: "/proc/config.gz" });
    expect(of("ModuleLoad").find((r) => r.name === "h1-pair-load")!.inputs.doctorOn).toBeUndefined();
  });

  it("an unreachable host gets only the reason, takes part in no build, and keeps its install and load", () => {
    const facts = of("HostFacts").find((r) => r.name === "h3-facts")!.inputs;
    expect(facts.unreachable).toMatch(/cannot reach root@127.0.0.1:2203/);
    expect(facts.kernelRelease).toBeUndefined();
    const install = of("ModuleInstall").find((r) => r.name === "h3-pair-install-a")!.inputs;
    expect(install).toMatchObject({ artifactId: "", buildFailure: "" });
    expect(install.kernelRelease).toBeUndefined();
  });

  it("an unreachable host, allowed: its facts carry the reason without a second host name, and one warning says so", () => {
    const facts = of("HostFacts").find((r) => r.name === "h3-facts")!.inputs;
    expect(facts).toMatchObject({ unreachable: "cannot reach root@127.0.0.1:2203 after 3 attempt(s) in 9 s: connect ECONNREFUSED", allowUnreachable: true });
    expect(warnings.filter((w) => w.includes("could not be probed"))).toEqual(["h3: could not be probed, so nothing of it changes in this run: cannot reach root@127.0.0.1:2203 after 3 attempt(s) in 9 s: connect ECONNREFUSED"]);
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

  it("the summary reports each reachable host's kernel and who built its sets", async () => {
    const summary = await new Promise<any>((resolve) => fleet.summary.apply(resolve));
    expect(summary.h1.kernelRelease).toBe("6.1.0-50-cloud-amd64");
    expect(summary.h2.osVersion).toBe("3975.2.1");
    expect(summary.h4.sets.pair.builtOn).toBe("h1");
  });
});

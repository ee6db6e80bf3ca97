// A preview of a fleet whose host is created in the same run: the machine's address and host
// key are unknown, so the host cannot be probed, and without its kernel it cannot be put in
// a build group. It is pending: its facts and overlay are registered with those values
// unknown, and each of its sets as an install and a load of an artifact not known yet (no
// build and no developer container of its own in this preview). The other hosts are not
// held back: the builds are planned from the hosts that are known.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { recordResources } from "./pulumiMocks";
import { KEY } from "./fixtures/badConfigs";
import { LOADS_UNSIGNED } from "./fixtures/signing";

// In a preview, outputs a resource does not report are unknown: the machine's are.
const registered = recordResources({ preview: true, stateOf: (args) => (args.type === "test:index:Machine" ? {} : args.inputs) });

class Machine extends pulumi.CustomResource {
  declare readonly address: pulumi.Output<string>;
  declare readonly hostKey: pulumi.Output<string>;
  constructor(name: string) {
    super("test:index:Machine", name, { address: undefined, hostKey: undefined });
  }
}

const KERNEL: Record<string, string> = { h2: "6.1.0-50-cloud-amd64", h3: "6.1.0-57-cloud-amd64" };
const probed: string[] = [];
const errors: string[] = [];
const infos: string[] = [];
let machine: Machine;
let fleet: any;
let store: string;
beforeAll(async () => {
  vi.spyOn(pulumi.log, "error").mockImplementation(async (message: string) => void errors.push(message));
  vi.spyOn(pulumi.log, "info").mockImplementation(async (message: string) => void infos.push(message));
  store = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-store-"));
  process.env.KMOD_FLEET_STORE = store;
  const { Fleet } = await import("../../components/fleet");
  machine = new Machine("new-machine");
  fleet = new Fleet("fleet", {
    hosts: [
      { name: "h1", address: machine.address, hostKey: machine.hostKey },
      { name: "h2", address: "127.0.0.1", port: 2202, hostKey: KEY },
      { name: "h3", address: "127.0.0.1", port: 2203, hostKey: KEY },
    ],
    defaults: { user: "root", auth: { privateKey: pulumi.secret("a private key") } },
    moduleSets: [{ name: "pair", source: { dir: "test/unit/fixtures/tiny-module" }, load: ["tiny"] }],
    // h3's kernel is run by no known host that may build: h1 may, once it is known.
    build: { builders: ["h1", "h2"], store: { path: store } },
    projectDir: path.join(__dirname, "..", ".."),
  }, {
    probe: async (spec) => {
      probed.push(spec.host);
      return { kernelRelease: KERNEL[spec.host], arch: "x86_64", bootId: "b", osId: "flatcar", osVersion: "3975.2.0", board: "amd64-usr", group: "stable", kernelConfig: "/proc/config.gz", ...LOADS_UNSIGNED };
    },
    inventory: async () => ({ artifacts: {}, developerContainer: false }),
  });
  // Every host's load is the last resource the plan registers for it.
  await vi.waitFor(() => expect(registered.filter((r) => r.name.endsWith("-pair-load")).length).toBe(3), { timeout: 10_000 });
  await new Promise((r) => setTimeout(r, 200));
}, 60_000);
afterAll(() => {
  delete process.env.KMOD_FLEET_STORE;
  fs.rmSync(store, { recursive: true, force: true });
});

const dynamic = () => registered.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/"));
const of = (host: string) =>
  dynamic()
    .filter((r) => r.name.startsWith(`${host}-`))
    .map((r) => r.name)
    .sort();
const inputs = (name: string) => registered.find((r) => r.name === name)!.inputs;

describe("a host created in the same run, in a preview", () => {
  it("its address and host key are unknown (the mocks behave as the engine does)", async () => {
    expect(await (machine.address as any).isKnown).toBe(false);
    expect(await (machine.hostKey as any).isKnown).toBe(false);
  });

  it("its facts, overlay, and per set an install and a load are registered: the preview plans them as creates", () => {
    expect(of("h1")).toEqual(["h1-facts", "h1-overlay", "h1-pair-install-a", "h1-pair-load", "h1-reboot-gate"]);
  });

  it("it is not probed, no error is reported for it, and the preview says why it builds nothing yet", () => {
    expect(probed.sort()).toEqual(["h2", "h3"]);
    expect(errors).toEqual([]);
    expect(infos).toContainEqual(expect.stringMatching(/^h1: its address or host key is not known .* pulumi up probes h1 and then plans its builds/));
  });

  it("what depends on its facts and its group is unknown, not empty; what is planned is exact", () => {
    const facts = inputs("h1-facts");
    expect(pulumi.isUnknown(facts.connection)).toBe(true);
    expect(pulumi.isUnknown(facts.kernelRelease)).toBe(true);
    // Pending is not unreachable: its facts do not fail.
    expect(facts.unreachable).toBeUndefined();
    const install = inputs("h1-pair-install-a");
    for (const k of ["kernelRelease", "artifactId", "manifest", "buildFailure", "builder"]) expect(pulumi.isUnknown(install[k]), k).toBe(true);
    expect(install).toMatchObject({ set: "pair", modulesDir: "/usr/lib/modules" });
    expect(pulumi.isUnknown(inputs("h1-pair-load").buildDigest)).toBe(true);
    expect(inputs("h1-pair-load").modules).toEqual(["tiny"]);
    expect(inputs("h1-overlay").upperDir).toBe("/opt/modules");
  });

  it("the known hosts are probed and planned with their facts: one build per kernel on a known host that may build", () => {
    expect(dynamic().filter((r) => r.type.endsWith(":ModuleBuild")).map((r) => [r.name, r.inputs.builder])).toEqual([["build-pair-6.1.0-50-cloud-amd64-x86_64", "h2"]]);
    expect(of("h2")).toEqual(["h2-devcontainer-3975.2.0", "h2-facts", "h2-overlay", "h2-pair-install-a", "h2-pair-load", "h2-reboot-gate"]);
    expect(inputs("h2-pair-install-a")).toMatchObject({ kernelRelease: "6.1.0-50-cloud-amd64", builder: "h2" });
    expect(inputs("h2-pair-install-a").artifactId).toMatch(/^[0-9a-f]{64}$/);
  });

  it("a kernel only the pending host may build for is not reported as a failure: that install waits for its group too", () => {
    expect(of("h3")).toEqual(["h3-facts", "h3-overlay", "h3-pair-install-a", "h3-pair-load", "h3-reboot-gate"]);
    expect(inputs("h3-pair-install-a").kernelRelease).toBe("6.1.0-57-cloud-amd64");
    expect(pulumi.isUnknown(inputs("h3-pair-install-a").buildFailure)).toBe(true);
    expect(pulumi.isUnknown(inputs("h3-pair-install-a").artifactId)).toBe(true);
  });

  it("the fleet's summary is unknown until up", async () => {
    expect(await fleet.summary.isKnown).toBe(false);
  });
});

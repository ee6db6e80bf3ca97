// A preview of a fleet whose host is created in the same run: the machine's address and host
// key are unknown, so nothing can be probed; the host's resources are still registered (the
// preview plans them as creates) and the other hosts are not held back.
import { beforeAll, describe, expect, it, vi } from "vitest";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { KEY } from "./fixtures/badConfigs";

const registered: { type: string; name: string; inputs: any }[] = [];
pulumi.runtime.setMocks(
  {
    newResource(args) {
      registered.push({ type: args.type, name: args.name, inputs: args.inputs });
      // In a preview, outputs a resource does not report are unknown: the machine's are.
      return { id: `${args.name}-id`, state: args.type === "test:index:Machine" ? {} : args.inputs };
    },
    call: (args) => args.inputs,
  },
  "kmod-fleet",
  "test",
  true,
);

class Machine extends pulumi.CustomResource {
  declare readonly address: pulumi.Output<string>;
  declare readonly hostKey: pulumi.Output<string>;
  constructor(name: string) {
    super("test:index:Machine", name, { address: undefined, hostKey: undefined });
  }
}

const probed: string[] = [];
const errors: string[] = [];
let machine: Machine;
let fleet: any;
beforeAll(async () => {
  vi.spyOn(pulumi.log, "error").mockImplementation(async (message: string) => void errors.push(message));
  const { Fleet } = await import("../../components/fleet");
  machine = new Machine("new-machine");
  fleet = new Fleet("fleet", {
    hosts: [
      { name: "h1", address: machine.address, hostKey: machine.hostKey },
      { name: "h2", address: "127.0.0.1", port: 2202, hostKey: KEY },
    ],
    defaults: { user: "root", auth: { privateKey: pulumi.secret("a private key") } },
    moduleSets: [{ name: "pair", source: { dir: "test/unit/fixtures/tiny-module" }, load: ["tiny"] }],
    projectDir: path.join(__dirname, "..", ".."),
    probe: async (spec) => {
      probed.push(spec.host);
      return { kernelRelease: "6.1.0-50-cloud-amd64", arch: "x86_64", bootId: "b", osId: "flatcar", osVersion: "3975.2.0", board: "amd64-usr", group: "stable", kernelConfig: "/proc/config.gz" };
    },
  });
  // h1's resources wait for nothing they could get; h2's complete.
  await vi.waitFor(() => expect(registered.filter((r) => r.name.startsWith("h")).length).toBe(12), { timeout: 5000 });
});

const of = (host: string) =>
  registered
    .filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/") && r.name.startsWith(`${host}-`))
    .map((r) => r.name)
    .sort();

describe("a host created in the same run, in a preview", () => {
  it("its address and host key are unknown (the mocks behave as the engine does)", async () => {
    expect(await (machine.address as any).isKnown).toBe(false);
    expect(await (machine.hostKey as any).isKnown).toBe(false);
  });

  it("its resources are registered all the same: the preview plans them as creates", () => {
    expect(of("h1")).toEqual(["h1-devcontainer", "h1-facts", "h1-overlay", "h1-pair-build", "h1-pair-load"]);
  });

  it("it is not probed, and no error is reported for it", () => {
    expect(probed).toEqual(["h2"]);
    expect(errors).toEqual([]);
  });

  it("what depends on its facts is unknown, not empty; what is planned is exact", () => {
    const facts = registered.find((r) => r.name === "h1-facts")!.inputs;
    expect(pulumi.isUnknown(facts.connection)).toBe(true);
    expect(pulumi.isUnknown(facts.kernelRelease)).toBe(true);
    expect(pulumi.isUnknown(facts.unreachable)).toBe(true);
    const build = registered.find((r) => r.name === "h1-pair-build")!.inputs;
    expect(pulumi.isUnknown(build.kernelRelease)).toBe(true);
    expect(pulumi.isUnknown(build.imagePath)).toBe(true);
    expect(build.sourceHash).toMatch(/^[0-9a-f]{64}$/);
    const overlay = registered.find((r) => r.name === "h1-overlay")!.inputs;
    expect(overlay.upperDir).toBe("/opt/modules");
  });

  it("another host with known values is probed and planned with its facts", () => {
    expect(of("h2")).toEqual(["h2-devcontainer", "h2-facts", "h2-overlay", "h2-pair-build", "h2-pair-load"]);
    expect(registered.find((r) => r.name === "h2-pair-build")!.inputs.kernelRelease).toBe("6.1.0-50-cloud-amd64");
  });

  it("the fleet's summary is unknown until up", async () => {
    expect(await fleet.summary.isKnown).toBe(false);
  });
});

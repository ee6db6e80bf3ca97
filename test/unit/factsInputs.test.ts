// A preview in which a host's facts change (a kernel update): the facts resource is about to
// be updated, so its outputs are unknown there. The steps of the host read the facts as
// the probe returned them, the values the plan decided from: the preview shows them known.
import { beforeAll, describe, expect, it, vi } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ofType, recordResources } from "./pulumiMocks";
import { KEY } from "./fixtures/badConfigs";
import { LOADS_UNSIGNED } from "./fixtures/signing";

// In a preview, outputs a resource does not report are unknown: the facts resource reports none.
const registered = recordResources({ preview: true, stateOf: (args) => (args.type.endsWith(":HostFacts") ? {} : args.inputs) });

beforeAll(async () => {
  const store = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-store-"));
  // Where the providers would look too (the stack config is not set here).
  process.env.KMOD_FLEET_STORE = store;
  const { Fleet } = await import("../../components/fleet");
  new Fleet("fleet", {
    hosts: [{ name: "h1", address: "127.0.0.1", port: 2201, hostKey: KEY }],
    defaults: { user: "root", auth: { privateKey: "a private key" } },
    moduleSets: [{ name: "pair", source: { dir: "test/unit/fixtures/tiny-module" }, load: ["tiny"] }],
    build: { store: { path: store } },
    projectDir: path.join(__dirname, "..", ".."),
  }, {
    probe: async () => ({ kernelRelease: "k2", arch: "x86_64", bootId: "b", osId: "flatcar", osVersion: "3975.2.1", board: "amd64-usr", group: "stable", kernelConfig: "/boot/config-k2", ...LOADS_UNSIGNED }),
    inventory: async () => ({ artifacts: {}, developerContainer: false }),
  });
  await vi.waitFor(() => expect(ofType(registered, "ModuleLoad")).toHaveLength(1), { timeout: 10_000 });
});

describe("facts in the inputs of a host's steps", () => {
  it("the load, the install and the build read the probed facts, known while the facts resource changes", () => {
    const [load] = ofType(registered, "ModuleLoad");
    const [install] = ofType(registered, "ModuleInstall");
    const [build] = ofType(registered, "ModuleBuild");
    expect(load.inputs).toMatchObject({ kernelRelease: "k2", kernelConfig: "/boot/config-k2" });
    expect(install.inputs).toMatchObject({ kernelRelease: "k2" });
    expect(build.inputs).toMatchObject({ kernelRelease: "k2", kernelConfig: "/boot/config-k2" });
  });
});

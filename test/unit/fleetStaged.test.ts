// An OS update staged on two of three hosts (written to their passive slot, waiting for the
// reboot), under Pulumi's mocks: the build for the staged kernel is planned once, on one of
// those hosts, from its release's developer container, and each of the two gets an install
// for the staged kernel beside the running one's, so that the reboot finds the modules.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ofType, recordResources } from "./pulumiMocks";
import { LOADS_UNSIGNED } from "./fixtures/signing";

const registered = recordResources();

const root = path.join(__dirname, "..", "..");
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHxAJ2iCgUCIyF7+uFqQ1y0NxBQ0v5yHUZ8Qp8sE1P2a";
const RUNNING = "6.1.0-50-cloud-amd64";
const STAGED = "6.1.0-56-cloud-amd64";
const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-staged-"));
// The store's folder is an operator-side setting, which the providers read too.
process.env.KMOD_FLEET_STORE = storeDir;

function factsFor(host: string) {
  const staged = host !== "h1";
  return {
    kernelRelease: RUNNING,
    arch: "x86_64",
    bootId: `boot-${host}`,
    osId: "flatcar",
    osVersion: "3975.2.0",
    board: "amd64-usr",
    group: "stable",
    kernelConfig: "/proc/config.gz",
    ...LOADS_UNSIGNED,
    bootSlot: "a",
    stagedOsVersion: staged ? "3975.2.1" : "",
    stagedKernelRelease: staged ? STAGED : "",
    stagedSlot: staged ? "b" : "",
  };
}

beforeAll(async () => {
  pulumi.runtime.setConfig("kmod-fleet:sshPrivateKey", "secret value of sshPrivateKey");
  const { Fleet } = await import("../../components/fleet");
  const fleet = new Fleet("fleet", {
    hosts: ["h1", "h2", "h3"].map((name, i) => ({ name, address: "127.0.0.1", port: 2201 + i, hostKey: KEY })),
    defaults: { user: "root" },
    profile: { devContainerUrl: "http://10.0.2.2:8080/${GROUP}/${BOARD}/${VERSION}/dev.bin.bz2", sourcesCommand: "kmod-fleet-sources" },
    moduleSets: [{ name: "pair", source: { dir: "test/unit/fixtures/tiny-module" }, load: ["tiny"] }],
    build: { store: { path: storeDir } },
    projectDir: root,
  }, {
    probe: async (spec) => factsFor(spec.host),
    inventory: async () => ({ artifacts: {}, developerContainer: false }),
  });
  await (fleet.summary as any).promise();
  await new Promise((r) => setTimeout(r, 200));
}, 60_000);
afterAll(() => fs.rmSync(storeDir, { recursive: true, force: true }));

const of = (type: string) => ofType(registered, type);
const input = (type: string, name: string) => of(type).find((r) => r.name === name)!.inputs;

describe("an update staged on h2 and h3", () => {
  it("one build for the staged kernel, on h2, from the staged release's developer container and its own config", () => {
    expect(of("ModuleBuild").map((r) => [r.name, r.inputs.builder]).sort()).toEqual([
      [`build-pair-${RUNNING}-x86_64`, "h1"],
      [`build-pair-${STAGED}-x86_64`, "h2"],
    ]);
    expect(input("ModuleBuild", `build-pair-${STAGED}-x86_64`)).toMatchObject({
      kernelRelease: STAGED,
      osVersion: "3975.2.1",
      kernelFromImage: true,
      kernelConfig: "",
      imagePath: "/var/cache/kmod-fleet/3975.2.1/developer_container.bin",
    });
    expect(input("ModuleBuild", `build-pair-${RUNNING}-x86_64`)).toMatchObject({ kernelFromImage: false, kernelConfig: "/proc/config.gz" });
  });

  it("the developer containers: the running release's on h1, the staged release's on h2", () => {
    expect(of("DeveloperContainer").map((r) => [r.name, r.inputs.osVersion]).sort()).toEqual([
      ["h1-devcontainer-3975.2.0", "3975.2.0"],
      ["h2-devcontainer-3975.2.1", "3975.2.1"],
    ]);
    expect(input("DeveloperContainer", "h2-devcontainer-3975.2.1").imageUrl).toBe("http://10.0.2.2:8080/stable/amd64-usr/3975.2.1/dev.bin.bz2");
  });

  it("h2 and h3 install the staged kernel's artifact in slot b, beside the running kernel's in slot a; h1 has only its own", () => {
    expect(of("ModuleInstall").map((r) => [r.name, r.inputs.kernelRelease]).sort()).toEqual([
      ["h1-pair-install-a", RUNNING],
      ["h2-pair-install-a", RUNNING],
      ["h2-pair-install-b", STAGED],
      ["h3-pair-install-a", RUNNING],
      ["h3-pair-install-b", STAGED],
    ]);
    expect(input("ModuleInstall", "h3-pair-install-b").artifactId).toBe(input("ModuleInstall", "h2-pair-install-b").artifactId);
    expect(input("ModuleInstall", "h3-pair-install-b").artifactId).not.toBe(input("ModuleInstall", "h3-pair-install-a").artifactId);
  });

  it("loads stay with the running kernel: the staged one's modules are loaded by its boot", () => {
    expect(of("ModuleLoad").map((r) => [r.name, r.inputs.kernelRelease]).sort()).toEqual([
      ["h1-pair-load", RUNNING],
      ["h2-pair-load", RUNNING],
      ["h3-pair-load", RUNNING],
    ]);
  });
});

// The plan of a fleet that has run before, under Pulumi's mocks: what the artifact store
// holds and what the hosts report installed decide, when the program runs, how each
// artifact is had (stored, taken back, built) and who needs a developer container; a group
// that no allowed host can build is reported by each of its hosts.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ofType, recordResources } from "./pulumiMocks";
import { LOADS_UNSIGNED } from "./fixtures/signing";

const registered = recordResources();

const root = path.join(__dirname, "..", "..");
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHxAJ2iCgUCIyF7+uFqQ1y0NxBQ0v5yHUZ8Qp8sE1P2a";
const KERNEL: Record<string, string> = { h1: "k50", h2: "k50", h3: "k56", h4: "k57" };
const of = (type: string) => ofType(registered, type);
const input = (type: string, name: string) => of(type).find((r) => r.name === name)!.inputs;

let storeDir: string;
let ids: Record<string, string>;
const infos: string[] = [];
beforeAll(async () => {
  // The default auth reads the key from this secret stack config key.
  pulumi.runtime.setConfig("kmod-fleet:sshPrivateKey", "secret value of sshPrivateKey");
  vi.spyOn(pulumi.log, "info").mockImplementation(async (message: string) => void infos.push(message));
  storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-store-"));
  const { resolveFleetConfig } = await import("../../config/resolve");
  const args = {
    hosts: ["h1", "h2", "h3", "h4"].map((name, i) => ({ name, address: "127.0.0.1", port: 2201 + i, hostKey: KEY })),
    defaults: { user: "root" },
    profile: { sourcesCommand: "kmod-fleet-sources" },
    moduleSets: [{ name: "pair", source: { dir: "test/unit/fixtures/tiny-module" }, load: ["tiny"] }],
    build: { builders: ["h1", "h3"], store: { path: storeDir } },
  };
  const { Fleet } = await import("../../components/fleet");
  const { hashSourceDir, sourceIdentity } = await import("../../components/sourceHash");
  const { LocalArtifactStore, artifactId } = await import("../../artifacts/store");
  // As the program's stack config gives it: the providers read the store's folder from it where they run.
  pulumi.runtime.setConfig("kmod-fleet:fleet", JSON.stringify({ build: args.build }));
  const config = resolveFleetConfig(args);
  const set = config.moduleSets[0];
  const identity = sourceIdentity(set.source, hashSourceDir(path.join(root, "test/unit/fixtures/tiny-module")), config.profile.sourcesCommand);
  const key = (k: string) => ({ kernelRelease: k, arch: "x86_64", set: "pair", sourceIdentity: identity });
  ids = { k50: artifactId(key("k50")), k56: artifactId(key("k56")) };
  // A first up stored k50's artifact; k56's was built too, but the store lost it since.
  const ko = Buffer.from("\x7fELF tiny for k50");
  await new LocalArtifactStore(storeDir).put(
    { ...key("k50"), builtOn: "h1", builtAt: "t", modules: [{ name: "tiny", sha256: crypto.createHash("sha256").update(ko).digest("hex"), vermagic: "k50 SMP", srcversion: "S", size: ko.length }] },
    new Map([["tiny", ko]]),
  );
  const fleet = new Fleet("fleet", {
    ...args,
    projectDir: root,
  }, {
    probe: async (spec) => ({ kernelRelease: KERNEL[spec.host], arch: "x86_64", bootId: "b", osId: "flatcar", osVersion: "3975.2.0", board: "amd64-usr", group: "stable", kernelConfig: "/proc/config.gz", ...LOADS_UNSIGNED }),
    inventory: async (spec) => ({
      artifacts: (spec.host === "h3" ? { pair: ids.k56 } : spec.host === "h4" ? {} : { pair: ids.k50 }) as Record<string, string>,
      // h1 built before and kept its image; h3 never had one.
      developerContainer: spec.host === "h1",
    }),
  });
  await (fleet.summary as any).promise();
  await new Promise((r) => setTimeout(r, 200));
}, 60_000);
afterAll(() => fs.rmSync(storeDir, { recursive: true, force: true }));

describe("a fleet that has run before", () => {
  it("an artifact in the store is neither built nor fetched", () => {
    expect(input("ModuleBuild", "build-pair-k50-x86_64")).toMatchObject({ obtain: "stored", builder: "h1" });
    expect(input("ModuleBuild", "build-pair-k50-x86_64").takeBackFrom).toBeUndefined();
  });

  it("an artifact missing from the store is taken back from a host that has it, and the preview says so", () => {
    const b = input("ModuleBuild", "build-pair-k56-x86_64");
    expect(b).toMatchObject({ obtain: "take back from h3", builder: "h3" });
    expect(b.takeBackFrom.value).toMatchObject({ host: "h3", port: 2203 });
    expect(infos).toContainEqual(expect.stringMatching(/^pair for k56 \(x86_64\): not in the artifact store \(.*\); it will be taken back from h3, where it is installed$/));
  });

  it("a builder keeps the developer container it has; one that needs none for this run gets none", () => {
    expect(of("DeveloperContainer").map((r) => r.name)).toEqual(["h1-devcontainer-3975.2.0"]);
  });

  it("a kernel no allowed builder runs: no build, and each of its hosts reports why", () => {
    expect(of("ModuleBuild").map((r) => r.name).sort()).toEqual(["build-pair-k50-x86_64", "build-pair-k56-x86_64"]);
    expect(input("ModuleInstall", "h4-pair-install-a").buildFailure).toBe("pair cannot be built for k57: no host allowed to build runs k57 (x86_64) or has it staged: build.builders is [h1, h3]");
    expect(input("ModuleInstall", "h2-pair-install-a")).toMatchObject({ artifactId: ids.k50, builder: "h1" });
  });

  it("no build's or install's inputs carry the store's folder: the same stack from another checkout or machine plans no change", () => {
    const withStore = [...of("ModuleBuild"), ...of("ModuleInstall")].filter((r) => JSON.stringify(r.inputs).includes(storeDir));
    expect(withStore.map((r) => r.name)).toEqual([]);
    expect(of("ModuleInstall").length).toBeGreaterThan(0);
  });
});

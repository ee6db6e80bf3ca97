import { describe, expect, it } from "vitest";
import { diffOverlay } from "../../components/modulesOverlay";
import { diffDeveloperContainer } from "../../components/developerContainer";
import { diffModuleBuild, findDrift, moduleBuildLifecycle } from "../../components/moduleBuild";
import { updateKind } from "../../components/lifecycle";
import { diffModuleLoad } from "../../components/moduleLoad";
import { diffFacts } from "../../components/hostFacts";
import type { ConnectionSpec } from "../../ssh/session";

const conn: ConnectionSpec = { host: "h1", address: "127.0.0.1", port: 22, user: "root", hostKeys: ["SHA256:x"], connectTimeoutSeconds: 5, connectAttempts: 1, privateKey: "KEY" };

describe("facts", () => {
  const facts = { kernelRelease: "6.1.0-50-cloud-amd64", arch: "x86_64", bootId: "b1", osId: "flatcar", osVersion: "3975.2.0", board: "amd64-usr", group: "stable", kernelConfig: "/proc/config.gz" };
  const news = { connection: conn, probe: {} as any, ...facts };
  it("a reboot (new boot id) is not a change", () => expect(diffFacts(facts, { ...news, bootId: "b2" }).changes).toBe(false));
  it("a new kernel is", () => expect(diffFacts(facts, { ...news, kernelRelease: "6.1.0-56-cloud-amd64" }).changes).toBe(true));
  it("an unreachable host is reported as a change that will fail", () => expect(diffFacts(facts, { connection: conn, probe: {} as any, unreachable: "timeout" }).changes).toBe(true));
});

describe("overlay", () => {
  const inputs = { connection: conn, modulesDir: "/usr/lib/modules", upperDir: "/opt/modules", workDir: "/opt/modules.wd", persistence: "mount-unit" as const, commandTimeoutSeconds: 60 };
  const olds = { ...inputs, mounted: true, persisted: true, createdDirs: [] };
  it("converged: no change", () => expect(diffOverlay(olds, inputs)).toEqual({ changes: false }));
  it("unmounted (drift): update in place", () => expect(diffOverlay({ ...olds, mounted: false }, inputs)).toEqual({ changes: true }));
  it("mount unit lost (drift): update in place", () => expect(diffOverlay({ ...olds, persisted: false }, inputs)).toEqual({ changes: true }));
  it("other upper dir: a move in place, never a replace (its delete would remove every installed module)", () => expect(diffOverlay(olds, { ...inputs, upperDir: "/var/modules" })).toEqual({ changes: true }));
  it("other persistence: a move in place", () => expect(diffOverlay(olds, { ...inputs, persistence: "fstab" })).toEqual({ changes: true }));
  it("other mount point: another overlay (replace)", () => expect(diffOverlay(olds, { ...inputs, modulesDir: "/lib/modules" })).toEqual({ changes: true, replaces: ["modulesDir"], deleteBeforeReplace: true }));
});

describe("developer container", () => {
  const inputs = { connection: conn, osVersion: "3975.2.0", imageUrl: "http://x/a.bz2", signatureUrl: "http://x/a.bz2.sig", signingKey: "", signingKeyFingerprint: "F".repeat(40), cacheDir: "/var/cache/kmod-fleet", commandTimeoutSeconds: 60 };
  const olds = { ...inputs, present: true, imagePath: "/p", sha256: "s", signedBy: "F" };
  it("converged: no change", () => expect(diffDeveloperContainer(olds, inputs).changes).toBe(false));
  it("a new OS version: a new image", () => expect(diffDeveloperContainer(olds, { ...inputs, osVersion: "3975.2.1" })).toMatchObject({ changes: true, replaces: ["osVersion"] }));
  it("image deleted on the host: fetch again", () => expect(diffDeveloperContainer({ ...olds, present: false }, inputs)).toEqual({ changes: true }));
  it("a new pinned key: a new image", () => expect(diffDeveloperContainer(olds, { ...inputs, signingKeyFingerprint: "A".repeat(40) }).replaces).toEqual(["signingKeyFingerprint"]));
  it("only the connection changed: an update that records it", () => expect(diffDeveloperContainer(olds, { ...inputs, connection: { ...conn, port: 2222 } })).toEqual({ changes: true }));
});

describe("module build", () => {
  const inputs = {
    connection: conn, set: "pair", kernelRelease: "6.1.0-50-cloud-amd64", kernelConfig: "/boot/config-6.1.0-50-cloud-amd64", imagePath: "/c/3975.2.0/developer_container.bin", sourcesCommand: "kmod-fleet-sources",
    source: { kind: "dir" as const, dir: "fixtures/pair" }, sourceDir: "/abs/fixtures/pair", sourceHash: "h1", modulesDir: "/usr/lib/modules", workDir: "/var/lib/kmod-fleet", buildTimeoutSeconds: 600, commandTimeoutSeconds: 60,
  };
  const modules = [{ name: "pair_provider", sha256: "a".repeat(64), vermagic: "6.1.0-50-cloud-amd64" }];
  const olds = { ...inputs, modules, installDir: "/usr/lib/modules/6.1.0-50-cloud-amd64/extra/pair", logPath: "/l", drift: [] };
  it("converged: no build", () => expect(diffModuleBuild(olds, inputs)).toEqual({ changes: false }));
  it("kernel update: a new build in the new kernel's folder, created before the old one is deleted", () => expect(diffModuleBuild(olds, { ...inputs, kernelRelease: "6.1.0-56-cloud-amd64", kernelConfig: "/boot/config-6.1.0-56-cloud-amd64" })).toEqual({ changes: true, replaces: ["kernelRelease", "kernelConfig"], deleteBeforeReplace: false }));
  it("edited sources: a rebuild in place (update), never a delete first", () => expect(diffModuleBuild(olds, { ...inputs, sourceHash: "h2" })).toEqual({ changes: true }));
  it("new sources command: a rebuild in place", () => expect(diffModuleBuild(olds, { ...inputs, sourcesCommand: "other" })).toEqual({ changes: true }));
  it("a .ko deleted on the host: update rebuilds", () => expect(diffModuleBuild({ ...olds, drift: ["pair_provider.ko is missing"] }, inputs)).toEqual({ changes: true }));
  it("a new build timeout alone: recorded, no rebuild", () => { const news = { ...inputs, buildTimeoutSeconds: 1200 }; expect(diffModuleBuild(olds, news)).toEqual({ changes: true }); expect(updateKind(moduleBuildLifecycle, olds, news)).toBe("record"); });
  it("host not probed this run: nothing decided", () => expect(diffModuleBuild(olds, { ...inputs, kernelRelease: "" })).toEqual({ changes: false }));

  const probe = (found: any[], installed = true) => findDrift(modules, "6.1.0-50-cloud-amd64", { installed, found });
  it("drift: nothing when the host has what was built", () => expect(probe([{ ...modules[0], known: true }])).toEqual([]));
  it("drift: a missing module", () => expect(probe([])).toEqual(["pair_provider.ko is missing"]));
  it("drift: a changed module", () => expect(probe([{ ...modules[0], sha256: "b".repeat(64), known: true }])[0]).toMatch(/pair_provider.ko was changed/));
  it("drift: depmod does not know it", () => expect(probe([{ ...modules[0], known: false }])).toEqual(["pair_provider.ko is not in modules.dep (depmod)"]));
  it("drift: install folder gone", () => expect(probe([], false)).toEqual(["the install folder is gone"]));
});

describe("module load", () => {
  const inputs = { connection: conn, set: "pair", modules: ["pair_provider", "pair_consumer"], parameters: {}, kernelRelease: "k1", buildDigest: "d1", modulesDir: "/usr/lib/modules", workDir: "/w", kernelConfig: "/c", commandTimeoutSeconds: 60 };
  const olds = { ...inputs, notLoaded: [], persisted: true };
  it("converged: no change", () => expect(diffModuleLoad(olds, inputs)).toEqual({ changes: false }));
  it("a module was unloaded (drift)", () => expect(diffModuleLoad({ ...olds, notLoaded: ["pair_consumer"] }, inputs)).toEqual({ changes: true }));
  it("boot-time files removed (drift)", () => expect(diffModuleLoad({ ...olds, persisted: false }, inputs)).toEqual({ changes: true }));
  it("rebuilt modules are reloaded", () => expect(diffModuleLoad(olds, { ...inputs, buildDigest: "d2" })).toEqual({ changes: true }));
  it("new load order", () => expect(diffModuleLoad(olds, { ...inputs, modules: ["pair_consumer", "pair_provider"] }).changes).toBe(true));
});

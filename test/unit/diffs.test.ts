import { describe, expect, it } from "vitest";
import { diffOverlay } from "../../components/providers/modulesOverlay/modulesOverlay";
import { diffDeveloperContainer } from "../../components/providers/developerContainer/developerContainer";
import { diffModuleBuild, failureReport, moduleBuildLifecycle, parseBuilt } from "../../components/providers/moduleBuild/moduleBuild";
import { diffModuleInstall, findDrift, moduleInstallLifecycle } from "../../components/providers/moduleInstall/moduleInstall";
import { updateKind } from "../../components/providers/lifecycle";
import { diffModuleLoad } from "../../components/providers/moduleLoad/moduleLoad";
import { checkReachable, diffFacts } from "../../components/providers/hostFacts/hostFacts";
import type { ConnectionSpec } from "../../host/ssh/session";

const conn: ConnectionSpec = { host: "h1", address: "127.0.0.1", port: 22, user: "root", hostKeys: ["SHA256:x"], connectTimeoutSeconds: 5, connectAttempts: 1, privateKey: "KEY" };

describe("facts", () => {
  const facts = { kernelRelease: "6.1.0-50-cloud-amd64", arch: "x86_64", bootId: "b1", osId: "flatcar", osVersion: "3975.2.0", board: "amd64-usr", group: "stable", kernelConfig: "/proc/config.gz" };
  const news = { connection: conn, probe: {} as any, ...facts };
  it("a reboot (new boot id) is not a change", () => expect(diffFacts(facts, { ...news, bootId: "b2" }).changes).toBe(false));
  it("a new kernel is", () => expect(diffFacts(facts, { ...news, kernelRelease: "6.1.0-56-cloud-amd64" }).changes).toBe(true));
  it("an unreachable host keeps its facts: no change (its check fails instead)", () => expect(diffFacts(facts, { connection: conn, probe: {} as any, unreachable: "timeout" }).changes).toBe(false));
  it("an unreachable host fails the facts' check, once, with the reason; allowed, it does not", () => {
    expect(checkReachable({ connection: conn, probe: {} as any, unreachable: "timeout" })).toEqual([{ property: "", reason: "could not be probed, so nothing of it changed in this run (set allowUnreachableHosts: true to make this a warning): timeout" }]);
    expect(checkReachable({ connection: conn, probe: {} as any, unreachable: "timeout", allowUnreachable: true })).toEqual([]);
    expect(checkReachable({ connection: conn, probe: {} as any, ...facts })).toEqual([]);
  });
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
  it("host not probed this run: nothing decided", () => expect(diffDeveloperContainer(olds, { ...inputs, osVersion: "" })).toEqual({ changes: false }));
});

describe("module build", () => {
  const inputs = {
    connection: conn, builder: "h1", set: "pair", kernelRelease: "6.1.0-50-cloud-amd64", arch: "x86_64", kernelConfig: "/boot/config-6.1.0-50-cloud-amd64", imagePath: "/c/3975.2.0/developer_container.bin", sourcesCommand: "kmod-fleet-sources",
    source: { kind: "dir" as const, dir: "fixtures/pair" }, sourceDir: "/abs/fixtures/pair", sourceHash: "h1", sourceIdentity: "id1", modulesDir: "/usr/lib/modules", workDir: "/var/lib/kmod-fleet", storePath: "/p/.kmod-fleet/artifacts",
    obtain: "stored", buildTimeoutSeconds: 600, commandTimeoutSeconds: 60,
  };
  const manifest = { kernelRelease: inputs.kernelRelease, arch: "x86_64", set: "pair", sourceIdentity: "id1", builtOn: "h1", builtAt: "t", modules: [{ name: "pair_provider", sha256: "a".repeat(64), vermagic: "6.1.0-50-cloud-amd64 SMP", srcversion: "X", size: 10 }] };
  const olds = { ...inputs, artifactId: "art1", manifest, failure: "", obtained: "built on h1", ownsEntry: true, leftoversOn: [], logPath: "/l", inStore: true };
  it("converged: no build", () => expect(diffModuleBuild(olds, inputs)).toEqual({ changes: false }));
  it("edited sources: a new artifact, in place (the old one stays installed until it exists)", () => expect(diffModuleBuild(olds, { ...inputs, sourceIdentity: "id2" })).toEqual({ changes: true }));
  it("missing from the store (the program says how it is had): update", () => expect(diffModuleBuild(olds, { ...inputs, obtain: "take back from h2" })).toEqual({ changes: true }));
  it("refresh found it missing from the store: update", () => expect(diffModuleBuild({ ...olds, inStore: false }, inputs)).toEqual({ changes: true }));
  it("the last attempt failed: try again", () => expect(diffModuleBuild({ ...olds, failure: "the build of pair ... failed" }, inputs)).toEqual({ changes: true }));
  it("another builder, same artifact: recorded, nothing built", () => {
    const news = { ...inputs, builder: "h2" };
    expect(diffModuleBuild(olds, news)).toEqual({ changes: true });
    expect(updateKind(moduleBuildLifecycle, olds, news)).toBe("record");
  });
  it("a new build timeout alone: recorded, no rebuild", () => {
    const news = { ...inputs, buildTimeoutSeconds: 1200 };
    expect(diffModuleBuild(olds, news)).toEqual({ changes: true });
    expect(updateKind(moduleBuildLifecycle, olds, news)).toBe("record");
  });
  it("the same files in another folder (same source identity): recorded, no rebuild", () => expect(updateKind(moduleBuildLifecycle, olds, { ...inputs, source: { kind: "dir" as const, dir: "moved/pair" }, sourceDir: "/abs/moved/pair" })).toBe("record"));
  it("never a replacement: the build's name is its kernel, set and architecture", () => expect(diffModuleBuild(olds, { ...inputs, sourceIdentity: "id2", kernelConfig: "/proc/config.gz" }).replaces).toBeUndefined());
  it("host not probed this run: nothing decided", () => expect(diffModuleBuild(olds, { ...inputs, kernelRelease: "" })).toEqual({ changes: false }));

  it("the builder's lines become the manifest's modules", () => {
    expect(parseBuilt(["pair_provider " + "a".repeat(64) + " 4242 ABCDEF 6.1.0-50-cloud-amd64 SMP preempt mod_unload", "x " + "b".repeat(64) + " 7 - 6.1.0-50-cloud-amd64"])).toEqual([
      { name: "pair_provider", sha256: "a".repeat(64), size: 4242, srcversion: "ABCDEF", vermagic: "6.1.0-50-cloud-amd64 SMP preempt mod_unload" },
      { name: "x", sha256: "b".repeat(64), size: 7, srcversion: "", vermagic: "6.1.0-50-cloud-amd64" },
    ]);
  });
  it("a failure names the set, kernel and builder, with the step's message", () => {
    expect(failureReport({ set: "pair", kernelRelease: "k1", arch: "x86_64", builder: "h1" }, new Error("h1: building pair for k1 failed (exit 4):\n  | error\nfull log on h1: /l"))).toBe(
      "the build of pair for k1 (x86_64) on h1 failed:\nh1: building pair for k1 failed (exit 4):\n  | error\nfull log on h1: /l",
    );
  });
});

describe("module install", () => {
  const inputs = { connection: conn, set: "pair", kernelRelease: "6.1.0-50-cloud-amd64", modulesDir: "/usr/lib/modules", workDir: "/var/lib/kmod-fleet", storePath: "/s", builder: "h1", artifactId: "art1", manifest: null, buildFailure: "", commandTimeoutSeconds: 60 };
  const modules = [{ name: "pair_provider", sha256: "a".repeat(64), vermagic: "6.1.0-50-cloud-amd64" }];
  const olds = { ...inputs, modules, installDir: "/usr/lib/modules/6.1.0-50-cloud-amd64/extra/pair", drift: [] };
  it("converged: nothing to install", () => expect(diffModuleInstall(olds, inputs)).toEqual({ changes: false }));
  it("a new artifact (new sources): update in place, never delete first", () => expect(diffModuleInstall(olds, { ...inputs, artifactId: "art2" })).toEqual({ changes: true }));
  it("kernel update: a new install next to the old one, then the old one goes", () => expect(diffModuleInstall(olds, { ...inputs, kernelRelease: "6.1.0-56-cloud-amd64" })).toEqual({ changes: true, replaces: ["kernelRelease"], deleteBeforeReplace: false }));
  it("another builder or connection alone: recorded, nothing installed", () => expect(updateKind(moduleInstallLifecycle, olds, { ...inputs, builder: "h2", connection: { ...conn, port: 2222 } })).toBe("record"));
  it("a manifest not known yet (preview of a build that changes) is no change", () => expect(diffModuleInstall({ ...olds, manifest: { m: 1 } as any }, { ...inputs, manifest: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" as any })).toEqual({ changes: false }));
  it("a .ko deleted on the host: reinstall the same artifact", () => expect(diffModuleInstall({ ...olds, drift: ["pair_provider.ko is missing"] }, inputs)).toEqual({ changes: true }));
  it("the group's build failed: the host reports it", () => expect(diffModuleInstall(olds, { ...inputs, buildFailure: "the build of pair for k1 on h1 failed" })).toEqual({ changes: true }));
  it("a build failure not known yet (preview of a build that changes) is no change", () => expect(diffModuleInstall(olds, { ...inputs, buildFailure: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" })).toEqual({ changes: false }));
  it("host not probed this run: nothing decided", () => expect(diffModuleInstall(olds, { ...inputs, kernelRelease: "" })).toEqual({ changes: false }));
  it("state of a host's own build from before build plans: installed over in place", () => {
    const perHostBuild = { ...inputs, artifactId: undefined, imagePath: "/c", modules, installDir: olds.installDir, logPath: "/l", drift: [] } as any;
    expect(diffModuleInstall(perHostBuild, inputs)).toEqual({ changes: true });
  });

  const probe = (found: any[], installed = true, artifact = "art1") => findDrift(modules, "6.1.0-50-cloud-amd64", { installed, artifact, found }, "art1");
  it("drift: nothing when the host has what was installed", () => expect(probe([{ ...modules[0], known: true }])).toEqual([]));
  it("drift: a missing module", () => expect(probe([])).toEqual(["pair_provider.ko is missing"]));
  it("drift: a changed module", () => expect(probe([{ ...modules[0], sha256: "b".repeat(64), known: true }])[0]).toMatch(/pair_provider.ko was changed/));
  it("drift: depmod does not know it", () => expect(probe([{ ...modules[0], known: false }])).toEqual(["pair_provider.ko is not in modules.dep (depmod)"]));
  it("drift: install folder gone", () => expect(probe([], false)).toEqual(["the install folder is gone"]));
  it("drift: another artifact in the folder", () => expect(probe([{ ...modules[0], known: true }], true, "art9")).toEqual(["the install folder holds another artifact (art9…)"]));
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

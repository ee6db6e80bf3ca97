// Every resource that changes a host, through one table of lifecycle checks: each input
// field is classified exactly once, and what its change does follows from its class
// (components/providers/lifecycle.ts). A new input that nobody classified fails here. Each verdict
// is also asked of the provider object itself (its real `diff`, and its real `update` where
// that runs nothing on a host), so a provider that decides anything outside its contract
// fails here too; the update kinds that run on a host are run in test/provider.
import type * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { classifiedFields, diffFor, recordOnly, updateKind, UNKNOWN_IN_PREVIEW, type LifecycleContract } from "../../components/providers/lifecycle";
import { modulesOverlayLifecycle, modulesOverlayProvider, type ModulesOverlayInputs } from "../../components/providers/modulesOverlay/modulesOverlay";
import { developerContainerLifecycle, developerContainerProvider, type DeveloperContainerInputs } from "../../components/providers/developerContainer/developerContainer";
import { moduleBuildLifecycle, moduleBuildProvider, type ModuleBuildInputs } from "../../components/providers/moduleBuild/moduleBuild";
import { moduleInstallLifecycle, moduleInstallProvider, type ModuleInstallInputs } from "../../components/providers/moduleInstall/moduleInstall";
import { moduleLoadLifecycle, moduleLoadProvider, type ModuleLoadInputs } from "../../components/providers/moduleLoad/moduleLoad";
import { hostFactsLifecycle, hostFactsProvider, type HostFactsInputs } from "../../components/providers/hostFacts/hostFacts";
import { rebootGateLifecycle, rebootGateProvider, type RebootGateInputs } from "../../components/providers/rebootGate/rebootGate";
import type { ConnectionSpec } from "../../host/ssh/session";

const connection: ConnectionSpec = { host: "h1", address: "127.0.0.1", port: 22, user: "root", hostKeys: ["SHA256:x"], connectTimeoutSeconds: 5, connectAttempts: 1, privateKey: "KEY" };

interface Row<I> {
  contract: LifecycleContract<I, string>;
  /** The provider object Pulumi runs. */
  provider: pulumi.dynamic.ResourceProvider;
  /** Every input field, the optional ones too (a field left out does not compile). */
  inputs: { [K in keyof Required<I>]: I[K] | undefined };
  /** Outputs as the last read left them, converged. */
  converged: object;
  /** The same, with drift that read found (none for a record of a probe). */
  drifted?: object;
}

const overlay: Row<ModulesOverlayInputs> = {
  contract: modulesOverlayLifecycle,
  provider: modulesOverlayProvider,
  inputs: { connection, modulesDir: "/usr/lib/modules", upperDir: "/opt/modules", workDir: "/opt/modules.wd", persistence: "mount-unit", commandTimeoutSeconds: 60 },
  converged: { mounted: true, persisted: true, createdDirs: ["/opt/modules"], owned: ["unit"] },
  drifted: { mounted: false, persisted: true, createdDirs: ["/opt/modules"], owned: ["unit"] },
};
const devContainer: Row<DeveloperContainerInputs> = {
  contract: developerContainerLifecycle,
  provider: developerContainerProvider,
  inputs: { connection, osVersion: "3975.2.0", imageUrl: "https://r/x.bin.bz2", signatureUrl: "https://r/x.bin.bz2.sig", signingKey: "", signingKeyFingerprint: "F", cacheDir: "/var/cache/kmod-fleet", commandTimeoutSeconds: 60 },
  converged: { present: true, imagePath: "/i", sha256: "s", signedBy: "F" },
  drifted: { present: false, imagePath: "/i", sha256: "s", signedBy: "F" },
};
const manifest = { kernelRelease: "6.1.0-50-cloud-amd64", arch: "x86_64", set: "pair", sourceIdentity: "id1", builtOn: "h1", builtAt: "t", modules: [{ name: "pair", sha256: "a", vermagic: "6.1.0-50-cloud-amd64 SMP", srcversion: "S", size: 1 }] };
// The fleet's build of one group, on its builder, into the local artifact store.
const build: Row<ModuleBuildInputs> = {
  contract: moduleBuildLifecycle,
  provider: moduleBuildProvider,
  inputs: {
    connection, builder: "h1", set: "pair", kernelRelease: "6.1.0-50-cloud-amd64", arch: "x86_64", osVersion: "3975.2.0", kernelConfig: "/proc/config.gz", kernelFromImage: false, imagePath: "/i", sourcesCommand: "kmod-fleet-sources",
    source: { kind: "dir", dir: "fixtures/pair" }, sourceDir: "/abs/fixtures/pair", sourceHash: "h1", sourceIdentity: "id1", modulesDir: "/usr/lib/modules", workDir: "/var/lib/kmod-fleet",
    obtain: "stored", takeBackFrom: undefined, buildTimeoutSeconds: 600, commandTimeoutSeconds: 60,
  },
  converged: { artifactId: "art1", manifest, failure: "", obtained: "built on h1", ownsEntry: true, leftoversOn: [], logPath: "/l", inStore: true },
  drifted: { artifactId: "art1", manifest, failure: "", obtained: "built on h1", ownsEntry: true, leftoversOn: [], logPath: "/l", inStore: false },
};
// One host's install of that group's artifact.
const install: Row<ModuleInstallInputs> = {
  contract: moduleInstallLifecycle,
  provider: moduleInstallProvider,
  inputs: { connection, set: "pair", kernelRelease: "6.1.0-50-cloud-amd64", modulesDir: "/usr/lib/modules", workDir: "/var/lib/kmod-fleet", builder: "h1", artifactId: "art1", manifest, buildFailure: "", commandTimeoutSeconds: 60 },
  converged: { modules: [{ name: "pair", sha256: "a", vermagic: "6.1.0-50-cloud-amd64" }], installDir: "/d", drift: [] },
  drifted: { modules: [{ name: "pair", sha256: "a", vermagic: "6.1.0-50-cloud-amd64" }], installDir: "/d", drift: ["pair.ko is missing"] },
};
const load: Row<ModuleLoadInputs> = {
  contract: moduleLoadLifecycle,
  provider: moduleLoadProvider,
  inputs: { connection, set: "pair", modules: ["pair"], parameters: {}, kernelRelease: "6.1.0-50-cloud-amd64", buildDigest: "art1", modulesDir: "/usr/lib/modules", workDir: "/w", kernelConfig: "/c", doctorOn: { connection, kernelConfig: "/proc/config.gz" }, commandTimeoutSeconds: 60 },
  converged: { notLoaded: [], persisted: true },
  drifted: { notLoaded: ["pair"], persisted: true },
};

const gate: Row<RebootGateInputs> = {
  contract: rebootGateLifecycle,
  provider: rebootGateProvider,
  inputs: {
    connection, sets: ["pair"], modulesDir: "/usr/lib/modules", kernelImages: ["/boot/flatcar/vmlinuz-a", "/boot/flatcar/vmlinuz-b"], updateConf: "/etc/flatcar/update.conf",
    gateDir: "/var/lib/kmod-fleet/reboot-gate", maxRebootHoldSeconds: 21600, afterMaxHold: "proceed", commandTimeoutSeconds: 60,
  },
  converged: { units: true, updateConfKept: true, hold: { state: "idle", version: "", kernel: "", since: "", waiting: [] } },
  drifted: { units: true, updateConfKept: false, hold: { state: "idle", version: "", kernel: "", since: "", waiting: [] } },
};

/** Another value of the same type. */
function other(v: unknown): unknown {
  if (typeof v === "string") return `${v}-other`;
  if (typeof v === "number") return v + 1;
  if (typeof v === "boolean") return !v;
  if (Array.isArray(v)) return [...v, "other"];
  return { ...(v as object), other: 1 };
}

// The probe's record: its outputs are its inputs.
const facts: Row<HostFactsInputs> = {
  contract: hostFactsLifecycle,
  provider: hostFactsProvider,
  inputs: {
    connection, probe: {}, unreachable: undefined, allowUnreachable: false,
    kernelRelease: "6.1.0-50-cloud-amd64", arch: "x86_64", bootId: "b1", osId: "flatcar", osVersion: "3975.2.0", board: "amd64-usr", group: "stable", kernelConfig: "/proc/config.gz",
    bootSlot: "a", stagedOsVersion: "", stagedKernelRelease: "", stagedSlot: "",
    moduleSigForce: "n", machineKeyring: "n", sigEnforce: "N", lockdown: "none", secureBoot: "off",
    rebootHold: { state: "idle", version: "", kernel: "", since: "", waiting: [] },
  },
  converged: {},
};

const rows: Row<any>[] = [facts, overlay, devContainer, build, install, load, gate];

/** The provider's own diff, which must be the contract's verdict. */
async function providerDiff(row: Row<any>, olds: object, news: object): Promise<pulumi.dynamic.DiffResult> {
  const verdict = await row.provider.diff!("id", olds, news);
  expect(verdict, "the provider's diff is its contract's").toEqual(diffFor(row.contract, olds, news));
  return verdict;
}

/** The provider's own update of a change that is only recorded: it runs nothing (the connection leads nowhere). */
async function providerRecord(row: Row<any>, olds: object, news: object): Promise<object> {
  expect(updateKind(row.contract, olds, news)).toBe("record");
  return (await row.provider.update!("id", olds, news)).outs;
}

describe.each(rows.map((r) => [r.contract.resource, r] as const))("%s", (_name, row) => {
  const c = row.contract;
  const olds = { ...row.inputs, ...row.converged };

  it("classifies every input field exactly once", () => {
    const fields = classifiedFields(c).map(String);
    expect(new Set(fields).size, "a field in two classes").toBe(fields.length);
    expect(fields.sort()).toEqual(Object.keys(row.inputs).sort());
  });

  it("converged and unchanged: nothing to do", async () => {
    expect(await providerDiff(row, olds, row.inputs)).toEqual({ changes: false });
  });

  it("drift that read found: an update that makes it again", async () => {
    if (!row.drifted) return expect(c.drifted(olds), "a resource without drift never reads as drifted").toBe(false);
    const drifted = { ...row.inputs, ...row.drifted };
    expect(await providerDiff(row, drifted, row.inputs)).toEqual({ changes: true });
    expect(updateKind(c, drifted, row.inputs)).toBe("remake");
  });

  it.each(c.recorded.map((f) => [String(f)]))("a new %s is recorded, and nothing runs on the host", async (f) => {
    const news = { ...row.inputs, [f]: other(row.inputs[f]) };
    expect(await providerDiff(row, olds, news)).toEqual({ changes: true });
    expect(recordOnly(c, olds, news)).toEqual({ ...olds, [f]: news[f] });
    expect(await providerRecord(row, olds, news)).toEqual({ ...olds, [f]: news[f] });
  });

  it.each((c.readWhenActing ?? []).map((f) => [String(f)]))("a new %s alone is no change (the next action reads it)", async (f) => {
    const news = { ...row.inputs, [f]: other(row.inputs[f]) };
    expect(await providerDiff(row, olds, news)).toEqual({ changes: false });
  });

  it.each(c.inPlace.map((f) => [String(f)]))("a new %s is an update in place, never a delete first", async (f) => {
    const news = { ...row.inputs, [f]: other(row.inputs[f]) };
    expect(await providerDiff(row, olds, news)).toEqual({ changes: true });
    const declared = (c.updateKinds ?? []).find((r) => r.fields.includes(f));
    expect(updateKind(c, olds, news)).toBe(declared?.kind ?? "remake");
  });

  it.each((c.retired ?? []).map((f) => [f]))("state from before that holds the retired %s (a path on another machine): no change, and the next update drops it", async (f) => {
    const before = { ...olds, [f]: "/home/someone/checkout/.kmod-fleet/artifacts" };
    expect(f in row.inputs, "a retired field is no input").toBe(false);
    expect(await providerDiff(row, before, row.inputs)).toEqual({ changes: false });
    expect(f in (await providerRecord(row, before, row.inputs))).toBe(false);
  });

  it.each(c.elsewhere.map((f) => [String(f)]))("a new %s creates the new one before the old one is deleted", async (f) => {
    const news = { ...row.inputs, [f]: other(row.inputs[f]) };
    expect(await providerDiff(row, olds, news)).toEqual({ changes: true, replaces: [f], deleteBeforeReplace: false });
  });

  it.each((c.exclusive?.fields ?? []).map((f) => [String(f)]))("a new %s deletes the old one first, for a stated reason", async (f) => {
    const news = { ...row.inputs, [f]: other(row.inputs[f]) };
    expect(await providerDiff(row, olds, news)).toEqual({ changes: true, replaces: [f], deleteBeforeReplace: true });
    expect(c.exclusive!.why.length).toBeGreaterThan(20);
  });

  it.each((c.updateKinds ?? []).map((r) => [r.kind, r] as const))("a declared %s update: made by in-place fields, and only while its sameIn fields stay", (_kind, rule) => {
    for (const f of rule.fields as string[]) {
      expect(c.inPlace, "a declared kind is a kind of in-place update").toContain(f);
      expect(updateKind(c, olds, { ...row.inputs, [f]: other(row.inputs[f]) })).toBe(rule.kind);
      for (const same of (rule.sameIn ?? []) as string[]) {
        const news = { ...row.inputs, [f]: other(row.inputs[f]), [same]: other(row.inputs[same]) };
        expect(updateKind(c, olds, news)).not.toBe(rule.kind);
      }
    }
    expect(rule.what.length).toBeGreaterThan(20);
  });

  it.each(Object.entries(c.unknownInPreview ?? {}))("%s not known yet in a preview stands in as declared", async (f, standIn: any) => {
    const news = { ...row.inputs, [f]: UNKNOWN_IN_PREVIEW };
    const stoodIn = { ...row.inputs, [f]: "old" in standIn ? olds[f] : standIn.value };
    expect(await providerDiff(row, olds, news)).toEqual(diffFor(c, olds, stoodIn));
    // Whatever state holds for it, an unknown kept as the old value is no change by itself.
    if ("old" in standIn) expect(await providerDiff(row, { ...olds, [f]: other(olds[f]) }, news)).toEqual({ changes: false });
  });

  it.each(Object.entries(c.absentMeans ?? {}))("%s absent from older state stands for %j", async (f, value) => {
    const { [f]: _absent, ...before } = olds;
    expect(await providerDiff(row, before, { ...row.inputs, [f]: value })).toEqual({ changes: false });
    expect(await providerDiff(row, before, { ...row.inputs, [f]: other(value) })).toEqual({ changes: true });
  });
});

describe("recorded fields that the new inputs leave out", () => {
  it("are left out of the outputs, never stored as undefined (the engine cannot serialize it)", () => {
    const olds = { ...load.inputs, ...load.converged };
    const { doctorOn: _doctorOn, ...news } = load.inputs;
    const out = recordOnly(moduleLoadLifecycle, olds as any, news as any);
    expect("doctorOn" in out).toBe(false);
    expect(Object.values(out).includes(undefined)).toBe(false);
  });
});

describe("outputs that copy a recorded input", () => {
  it("a build's leftovers follow the builder's new connection and keep the work dir they were made in", async () => {
    const olds = { ...build.inputs, ...build.converged, leftoversOn: [{ host: "h1", connection }, { host: "h2", connection, workDir: "/w2" }] };
    const moved = { ...connection, port: 2222 };
    const outs: any = await providerRecord(build, olds, { ...build.inputs, connection: moved });
    expect(outs.leftoversOn).toEqual([{ host: "h1", connection: moved, workDir: "/var/lib/kmod-fleet" }, { host: "h2", connection, workDir: "/w2" }]);
  });
});

// HostFacts writes nothing on a host: its update stores the new probe as it is, and its
// check() is where an unreachable host fails the run.
describe("HostFacts, a record of what the probe saw", () => {
  const inputs = facts.inputs;
  it("a new tracked fact is an update that stores the whole new probe (a new boot id with it)", async () => {
    const news = { ...inputs, kernelRelease: "6.1.0-56-cloud-amd64", bootId: "b2" };
    expect(await providerDiff(facts, inputs, news)).toEqual({ changes: true });
    expect((await hostFactsProvider.update!("id", inputs, news)).outs).toEqual(news);
  });
  it("an unreachable host is no change, and fails its check unless allowed", async () => {
    const news = { connection, unreachable: "timeout" };
    expect(await providerDiff(facts, inputs, news)).toEqual({ changes: false });
    expect((await hostFactsProvider.check!(inputs, news)).failures).toHaveLength(1);
    expect((await hostFactsProvider.check!(inputs, { ...news, allowUnreachable: true })).failures).toEqual([]);
  });
});

// Every resource that changes a host, through one table of lifecycle checks: each input
// field is classified exactly once, and what its change does follows from its class
// (components/lifecycle.ts). A new input that nobody classified fails here.
import { describe, expect, it } from "vitest";
import { classifiedFields, diffFor, recordOnly, updateKind, type LifecycleContract } from "../../components/lifecycle";
import { modulesOverlayLifecycle, type ModulesOverlayInputs } from "../../components/modulesOverlay";
import { developerContainerLifecycle, type DeveloperContainerInputs } from "../../components/developerContainer";
import { moduleBuildLifecycle, type ModuleBuildInputs } from "../../components/moduleBuild";
import { moduleInstallLifecycle, type ModuleInstallInputs } from "../../components/moduleInstall";
import { moduleLoadLifecycle, type ModuleLoadInputs } from "../../components/moduleLoad";
import { rebootGateLifecycle, type RebootGateInputs } from "../../components/rebootGate";
import type { ConnectionSpec } from "../../ssh/session";

const connection: ConnectionSpec = { host: "h1", address: "127.0.0.1", port: 22, user: "root", hostKeys: ["SHA256:x"], connectTimeoutSeconds: 5, connectAttempts: 1, privateKey: "KEY" };

interface Row<I> {
  contract: LifecycleContract<I>;
  /** Every input field, the optional ones too (a field left out does not compile). */
  inputs: { [K in keyof Required<I>]: I[K] | undefined };
  /** Outputs as the last read left them, converged. */
  converged: object;
  /** The same, with drift that read found. */
  drifted: object;
}

const overlay: Row<ModulesOverlayInputs> = {
  contract: modulesOverlayLifecycle,
  inputs: { connection, modulesDir: "/usr/lib/modules", upperDir: "/opt/modules", workDir: "/opt/modules.wd", persistence: "mount-unit", commandTimeoutSeconds: 60 },
  converged: { mounted: true, persisted: true, createdDirs: ["/opt/modules"], owned: ["unit"] },
  drifted: { mounted: false, persisted: true, createdDirs: ["/opt/modules"], owned: ["unit"] },
};
const devContainer: Row<DeveloperContainerInputs> = {
  contract: developerContainerLifecycle,
  inputs: { connection, osVersion: "3975.2.0", imageUrl: "https://r/x.bin.bz2", signatureUrl: "https://r/x.bin.bz2.sig", signingKey: "", signingKeyFingerprint: "F", cacheDir: "/var/cache/kmod-fleet", commandTimeoutSeconds: 60 },
  converged: { present: true, imagePath: "/i", sha256: "s", signedBy: "F" },
  drifted: { present: false, imagePath: "/i", sha256: "s", signedBy: "F" },
};
const manifest = { kernelRelease: "6.1.0-50-cloud-amd64", arch: "x86_64", set: "pair", sourceIdentity: "id1", builtOn: "h1", builtAt: "t", modules: [{ name: "pair", sha256: "a", vermagic: "6.1.0-50-cloud-amd64 SMP", srcversion: "S", size: 1 }] };
// The fleet's build of one group, on its builder, into the local artifact store.
const build: Row<ModuleBuildInputs> = {
  contract: moduleBuildLifecycle,
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
  inputs: { connection, set: "pair", kernelRelease: "6.1.0-50-cloud-amd64", modulesDir: "/usr/lib/modules", workDir: "/var/lib/kmod-fleet", builder: "h1", artifactId: "art1", manifest, buildFailure: "", commandTimeoutSeconds: 60 },
  converged: { modules: [{ name: "pair", sha256: "a", vermagic: "6.1.0-50-cloud-amd64" }], installDir: "/d", drift: [] },
  drifted: { modules: [{ name: "pair", sha256: "a", vermagic: "6.1.0-50-cloud-amd64" }], installDir: "/d", drift: ["pair.ko is missing"] },
};
const load: Row<ModuleLoadInputs> = {
  contract: moduleLoadLifecycle,
  inputs: { connection, set: "pair", modules: ["pair"], parameters: {}, kernelRelease: "6.1.0-50-cloud-amd64", buildDigest: "art1", modulesDir: "/usr/lib/modules", workDir: "/w", kernelConfig: "/c", doctorOn: { connection, kernelConfig: "/proc/config.gz" }, commandTimeoutSeconds: 60 },
  converged: { notLoaded: [], persisted: true },
  drifted: { notLoaded: ["pair"], persisted: true },
};

const gate: Row<RebootGateInputs> = {
  contract: rebootGateLifecycle,
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

const rows: Row<any>[] = [overlay, devContainer, build, install, load, gate];

describe.each(rows.map((r) => [r.contract.resource, r] as const))("%s", (_name, row) => {
  const c = row.contract;
  const olds = { ...row.inputs, ...row.converged };

  it("classifies every input field exactly once", () => {
    const fields = classifiedFields(c).map(String);
    expect(new Set(fields).size, "a field in two classes").toBe(fields.length);
    expect(fields.sort()).toEqual(Object.keys(row.inputs).sort());
  });

  it("converged and unchanged: nothing to do", () => {
    expect(diffFor(c, olds, row.inputs)).toEqual({ changes: false });
  });

  it("drift that read found: an update that makes it again", () => {
    const drifted = { ...row.inputs, ...row.drifted };
    expect(diffFor(c, drifted, row.inputs)).toEqual({ changes: true });
    expect(updateKind(c, drifted, row.inputs)).toBe("remake");
  });

  it.each(c.recorded.map((f) => [String(f)]))("a new %s is recorded, and nothing runs on the host", (f) => {
    const news = { ...row.inputs, [f]: other(row.inputs[f]) };
    expect(diffFor(c, olds, news)).toEqual({ changes: true });
    expect(updateKind(c, olds, news)).toBe("record");
    expect(recordOnly(c, olds, news)).toEqual({ ...olds, [f]: news[f] });
  });

  it.each((c.readWhenActing ?? []).map((f) => [String(f)]))("a new %s alone is no change (the next action reads it)", (f) => {
    const news = { ...row.inputs, [f]: other(row.inputs[f]) };
    expect(diffFor(c, olds, news)).toEqual({ changes: false });
  });

  it.each(c.inPlace.map((f) => [String(f)]))("a new %s is an update in place, never a delete first", (f) => {
    const news = { ...row.inputs, [f]: other(row.inputs[f]) };
    expect(diffFor(c, olds, news)).toEqual({ changes: true });
    expect(updateKind(c, olds, news)).toBe("remake");
  });

  it.each((c.retired ?? []).map((f) => [f]))("state from before that holds the retired %s (a path on another machine): no change, and the next update drops it", (f) => {
    const before = { ...olds, [f]: "/home/someone/checkout/.kmod-fleet/artifacts" };
    expect(f in row.inputs, "a retired field is no input").toBe(false);
    expect(diffFor(c, before, row.inputs)).toEqual({ changes: false });
    expect(updateKind(c, before, row.inputs)).toBe("record");
    expect(f in recordOnly(c, before, row.inputs)).toBe(false);
  });

  it.each(c.elsewhere.map((f) => [String(f)]))("a new %s creates the new one before the old one is deleted", (f) => {
    const news = { ...row.inputs, [f]: other(row.inputs[f]) };
    expect(diffFor(c, olds, news)).toEqual({ changes: true, replaces: [f], deleteBeforeReplace: false });
  });

  it.each((c.exclusive?.fields ?? []).map((f) => [String(f)]))("a new %s deletes the old one first, for a stated reason", (f) => {
    const news = { ...row.inputs, [f]: other(row.inputs[f]) };
    expect(diffFor(c, olds, news)).toEqual({ changes: true, replaces: [f], deleteBeforeReplace: true });
    expect(c.exclusive!.why.length).toBeGreaterThan(20);
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

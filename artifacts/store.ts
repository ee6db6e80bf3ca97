// Build results kept on the machine that runs Pulumi, so that installing on another host,
// repairing drift or adding a host with the same kernel needs no rebuild. A small
// interface with a local folder as its first backend: a fleet run by several operators
// will want a shared one (an OCI registry, as Kernel Module Management uses).
//
// The install and build providers run this code in the provider process, where Pulumi's
// closure serializer ships it: packages are require()d inside the functions (as in
// ssh/session.ts), never imported at the top of the module.

/** What an artifact is the build of: one module set for one kernel from one source. */
export interface ArtifactKey {
  kernelRelease: string;
  arch: string;
  set: string;
  sourceIdentity: string;
}

export interface ArtifactModule {
  /** Module name as modprobe knows it (`pair_consumer`). */
  name: string;
  sha256: string;
  /** `modinfo -F vermagic`: starts with the kernel release. */
  vermagic: string;
  /** `modinfo -F srcversion`: what /sys/module/<name>/srcversion shows once loaded. */
  srcversion: string;
  size: number;
}

export interface ArtifactManifest extends ArtifactKey {
  modules: ArtifactModule[];
  /** The host that built it, and when. */
  builtOn: string;
  builtAt: string;
}

export interface StoredArtifact {
  manifest: ArtifactManifest;
  /** Module name -> a local path holding its `.ko`, for upload. */
  files: Map<string, string>;
}

export interface ArtifactStore {
  /** The artifact, or undefined when it is not there or not whole (a missing or altered file). */
  get(key: ArtifactKey): Promise<StoredArtifact | undefined>;
  /** Stores the files of a build; every file must match the manifest's sha256 and size. */
  put(manifest: ArtifactManifest, files: ReadonlyMap<string, Buffer>): Promise<StoredArtifact>;
  /** Forgets the artifact; true when it was there. */
  remove(key: ArtifactKey): Promise<boolean>;
}

/** The artifact's address: a hash of its key, so any key maps to one safe file name. */
export function artifactId(key: ArtifactKey): string {
  const crypto = require("crypto");
  const canonical = JSON.stringify([key.kernelRelease, key.arch, key.set, key.sourceIdentity]);
  return crypto.createHash("sha256").update(canonical).digest("hex");
}

function sha256(b: Buffer): string {
  return require("crypto").createHash("sha256").update(b).digest("hex");
}

/** Throws with every problem of a manifest: it comes from a host, so nothing is trusted. */
export function checkManifest(m: ArtifactManifest): void {
  const MODULE_NAME = /^[A-Za-z0-9_-]+$/;
  const HEX64 = /^[0-9a-f]{64}$/;
  const problems: string[] = [];
  if (!m.kernelRelease || !/^[A-Za-z0-9._+-]+$/.test(m.kernelRelease)) problems.push(`kernelRelease '${m.kernelRelease}' is not a kernel release`);
  if (!Array.isArray(m.modules) || m.modules.length === 0) problems.push("no modules");
  for (const mod of m.modules ?? []) {
    if (!MODULE_NAME.test(mod.name)) problems.push(`module name '${mod.name}' is not a module name`);
    if (!HEX64.test(mod.sha256)) problems.push(`${mod.name}: sha256 '${mod.sha256}' is not a sha256`);
    if (!String(mod.vermagic).startsWith(`${m.kernelRelease} `) && mod.vermagic !== m.kernelRelease) problems.push(`${mod.name}: vermagic '${mod.vermagic}' is not for ${m.kernelRelease}`);
    if (!Number.isInteger(mod.size) || mod.size <= 0) problems.push(`${mod.name}: size ${mod.size} is not a size`);
  }
  if (new Set((m.modules ?? []).map((x) => x.name)).size !== (m.modules ?? []).length) problems.push("a module name appears twice");
  if (problems.length) throw new Error(`artifact manifest of ${m.set} for ${m.kernelRelease}: ${problems.join("; ")}`);
}

/**
 * `<root>/blobs/<sha256>.ko` hold the files (content-addressed: the same module built
 * twice is stored once), `<root>/artifacts/<artifactId>.json` the manifests. Writes go to a
 * temporary file renamed into place, so a crash never leaves half an artifact that looks whole.
 */
export class LocalArtifactStore implements ArtifactStore {
  constructor(readonly root: string) {}

  private manifestPath(key: ArtifactKey): string {
    const path = require("path");
    return path.join(this.root, "artifacts", `${artifactId(key)}.json`);
  }

  private blobPath(hash: string): string {
    const path = require("path");
    return path.join(this.root, "blobs", `${hash}.ko`);
  }

  private writeAtomically(file: string, data: Buffer | string): void {
    const fs = require("fs");
    const path = require("path");
    const crypto = require("crypto");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}-${crypto.randomBytes(4).toString("hex")}`;
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  }

  async get(key: ArtifactKey): Promise<StoredArtifact | undefined> {
    const fs = require("fs");
    let manifest: ArtifactManifest;
    try {
      manifest = JSON.parse(fs.readFileSync(this.manifestPath(key), "utf8"));
    } catch {
      return undefined;
    }
    const files = new Map<string, string>();
    for (const m of manifest.modules) {
      const p = this.blobPath(m.sha256);
      // Size only: a full re-hash happens on the host after upload, where it matters.
      if (!fs.existsSync(p) || fs.statSync(p).size !== m.size) return undefined;
      files.set(m.name, p);
    }
    return { manifest, files };
  }

  async put(manifest: ArtifactManifest, files: ReadonlyMap<string, Buffer>): Promise<StoredArtifact> {
    const fs = require("fs");
    checkManifest(manifest);
    for (const m of manifest.modules) {
      const data = files.get(m.name);
      if (!data) throw new Error(`artifact of ${manifest.set} for ${manifest.kernelRelease}: no file for module ${m.name}`);
      if (data.length !== m.size || sha256(data) !== m.sha256) throw new Error(`artifact of ${manifest.set} for ${manifest.kernelRelease}: ${m.name}.ko does not match its manifest (sha256 ${sha256(data).slice(0, 12)}…, expected ${m.sha256.slice(0, 12)}…)`);
    }
    for (const m of manifest.modules) {
      if (!fs.existsSync(this.blobPath(m.sha256))) this.writeAtomically(this.blobPath(m.sha256), files.get(m.name)!);
    }
    this.writeAtomically(this.manifestPath(manifest), JSON.stringify(manifest, null, 2) + "\n");
    return (await this.get(manifest))!;
  }

  async remove(key: ArtifactKey): Promise<boolean> {
    const fs = require("fs");
    const file = this.manifestPath(key);
    if (!fs.existsSync(file)) return false;
    fs.rmSync(file);
    this.collectGarbage();
    return true;
  }

  /** Deletes blobs no manifest refers to. */
  private collectGarbage(): void {
    const fs = require("fs");
    const path = require("path");
    const dir = path.join(this.root, "artifacts");
    const used = new Set<string>();
    for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      if (!f.endsWith(".json")) continue;
      try {
        for (const m of (JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as ArtifactManifest).modules) used.add(m.sha256);
      } catch {
        // An unreadable manifest keeps nothing alive; get() treats it as absent too.
      }
    }
    const blobs = path.join(this.root, "blobs");
    for (const f of fs.existsSync(blobs) ? fs.readdirSync(blobs) : []) {
      if (f.endsWith(".ko") && !used.has(f.slice(0, -3))) fs.rmSync(path.join(blobs, f));
    }
  }
}

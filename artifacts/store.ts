// Build results kept on the machine that runs Pulumi, so that installing on another host,
// repairing drift or adding a host with the same kernel needs no rebuild. A small
// interface with a local folder as its first backend: a fleet run by several operators
// will want a shared one (an OCI registry, as Kernel Module Management uses).
//
// The install and build providers run this code in the provider process, where Pulumi's
// closure serializer ships it: packages are require()d inside the functions (as in
// host/ssh/session.ts), never imported at the top of the module.
import { checkFiles, checkManifest, manifestProblems, sha256 } from "./manifest";
import { withStoreLock } from "./storeLock";

export { checkManifest } from "./manifest";

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
  /** Module name -> its `.ko` bytes, checked against the manifest's sha256 and size when read. */
  contents: Map<string, Buffer>;
  /** Module name -> where the store keeps its `.ko` (messages; the bytes to use are `contents`). */
  files: Map<string, string>;
}

export interface ArtifactStore {
  /** Where the store is (a folder, a registry), for messages. */
  readonly location: string;
  /** The artifact, or undefined when it is not there or not whole (a missing or altered file, a damaged manifest). */
  get(key: ArtifactKey): Promise<StoredArtifact | undefined>;
  /**
   * Whether the store holds the key's artifact, as cheaply as the store can tell: a plan
   * asks it on every run, so a registry answers from its manifest and blob sizes without
   * downloading the files (get() checks every byte; install checks them on the host).
   */
  has(key: ArtifactKey): Promise<boolean>;
  /**
   * Stores the files of a build; every file must match the manifest's sha256 and size.
   * When the store already holds a whole artifact for the key (another run stored it
   * first), that one is kept and returned: every run uses what the store holds.
   */
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

/** A temporary file older than this is a failed write's leftover (a live write takes milliseconds). */
const TEMP_MAX_AGE_MS = 10 * 60_000;

/** The key alone, of anything that carries one (a manifest, a build's inputs, a plan's group). */
export function artifactKeyOf(m: ArtifactKey): ArtifactKey {
  return { kernelRelease: m.kernelRelease, arch: m.arch, set: m.set, sourceIdentity: m.sourceIdentity };
}

/**
 * `<root>/blobs/<sha256>.ko` hold the files (content-addressed: the same module built
 * twice is stored once), `<root>/artifacts/<artifactId>.json` the manifests. Writes go to a
 * temporary file renamed into place, so a reader sees a whole file or none; every change
 * (put, remove and its garbage collection) holds the store's lock (artifacts/storeLock.ts),
 * so a collection never sees a half-made put, and of two puts of one key the second finds
 * the first's artifact. Reads take no lock: they check every byte against the manifest.
 */
export class LocalArtifactStore implements ArtifactStore {
  constructor(readonly root: string) {}

  get location(): string {
    return this.root;
  }

  private dir(name: "artifacts" | "blobs"): string {
    return require("path").join(this.root, name);
  }

  private manifestPath(key: ArtifactKey): string {
    return require("path").join(this.dir("artifacts"), `${artifactId(key)}.json`);
  }

  /** Only ever called with a checked sha256: the path stays inside the store. */
  private blobPath(hash: string): string {
    return require("path").join(this.dir("blobs"), `${hash}.ko`);
  }

  /** A local folder is read at disk speed: every byte is checked. */
  async has(key: ArtifactKey): Promise<boolean> {
    return (await this.get(key)) !== undefined;
  }

  async get(key: ArtifactKey): Promise<StoredArtifact | undefined> {
    return this.load(key);
  }

  async put(manifest: ArtifactManifest, files: ReadonlyMap<string, Buffer>): Promise<StoredArtifact> {
    checkManifest(manifest);
    checkFiles(manifest, files);
    return this.writing("store an artifact in", () => {
      const kept = this.load(manifest);
      if (kept) return kept;
      const replaced = this.readManifestFile(manifest) !== undefined;
      // A blob that is missing or damaged (truncated, altered) is written again: healed.
      for (const m of manifest.modules) {
        if (!this.blobIsWhole(m.sha256, m.size)) this.writeAtomically(this.blobPath(m.sha256), files.get(m.name)!);
      }
      this.writeAtomically(this.manifestPath(manifest), JSON.stringify(manifest, null, 2) + "\n");
      // The damaged manifest it replaced may have been the last to use some blobs.
      this.collect(replaced);
      const stored = this.load(manifest);
      if (!stored) throw new Error(`the artifact store at ${this.root}: ${manifest.set} for ${manifest.kernelRelease} was written but does not read back whole`);
      return stored;
    });
  }

  async remove(key: ArtifactKey): Promise<boolean> {
    return this.writing("remove an artifact from", () => {
      const fs = require("fs");
      const file = this.manifestPath(key);
      const existed = fs.existsSync(file);
      if (existed) fs.rmSync(file);
      this.collect(existed);
      return existed;
    });
  }

  /** The artifact when its manifest is valid for the key and every blob matches it. */
  private load(key: ArtifactKey): StoredArtifact | undefined {
    const manifest = this.readManifestFile(key);
    if (!manifest || manifestProblems(manifest, artifactKeyOf(key)).length > 0) return undefined;
    const contents = new Map<string, Buffer>();
    const files = new Map<string, string>();
    for (const m of manifest.modules) {
      const data = this.readBlob(m.sha256);
      if (!data || data.length !== m.size || sha256(data) !== m.sha256) return undefined;
      contents.set(m.name, data);
      files.set(m.name, this.blobPath(m.sha256));
    }
    return { manifest, contents, files };
  }

  private readManifestFile(key: ArtifactKey): any {
    return this.parseManifestAt(this.manifestPath(key));
  }

  /** The parsed manifest file (not yet checked), or undefined when there is none or it is not JSON. */
  private parseManifestAt(file: string): any {
    const text = this.readOrAbsent(file, "utf8");
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  }

  private readBlob(hash: string): Buffer | undefined {
    return this.readOrAbsent(this.blobPath(hash));
  }

  private readOrAbsent(file: string, encoding?: "utf8"): any {
    try {
      return require("fs").readFileSync(file, encoding);
    } catch (e: any) {
      if (e?.code === "ENOENT" || e?.code === "EISDIR") return undefined;
      throw new Error(`the artifact store at ${this.root}: cannot read ${file}: ${e?.code ?? e}`);
    }
  }

  private blobIsWhole(hash: string, size: number): boolean {
    const data = this.readBlob(hash);
    return data !== undefined && data.length === size && sha256(data) === hash;
  }

  private writeAtomically(file: string, data: Buffer | string): void {
    const fs = require("fs");
    fs.mkdirSync(require("path").dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}-${require("crypto").randomBytes(4).toString("hex")}`;
    try {
      fs.writeFileSync(tmp, data);
      fs.renameSync(tmp, file);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
  }

  /** Runs a change under the store's lock; a store that cannot be written says so, with its path. */
  private async writing<T>(what: string, step: () => T): Promise<T> {
    try {
      require("fs").mkdirSync(this.root, { recursive: true });
      return await withStoreLock(this.root, step);
    } catch (e: any) {
      if (["EACCES", "EPERM", "EROFS"].includes(e?.code)) {
        const why = e.code === "EROFS" ? "it is on a read-only file system" : "permission denied";
        throw new Error(`cannot ${what} the artifact store at ${this.root}: it is not writable (${why}: ${e.path ?? this.root}); make it writable or set build.store.path to a writable folder`);
      }
      throw e;
    }
  }

  /**
   * Under the lock: with `blobs`, deletes blobs no manifest refers to; always, deletes
   * temporary files of writes that failed long ago. A young one is left alone: every
   * write holds the lock now, but a process of an older version may still be writing.
   */
  private collect(blobs: boolean): void {
    const fs = require("fs");
    const path = require("path");
    const list = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);
    const used = new Set<string>();
    for (const f of blobs ? list(this.dir("artifacts")) : []) {
      if (!f.endsWith(".json")) continue;
      const m = this.parseManifestAt(path.join(this.dir("artifacts"), f));
      // A manifest that is not valid keeps nothing alive; get() treats it as absent too.
      if (manifestProblems(m).length === 0) for (const mod of m.modules) used.add(mod.sha256);
    }
    for (const dir of [this.dir("artifacts"), this.dir("blobs")]) {
      for (const f of list(dir)) {
        const file = path.join(dir, f);
        const leftover = /\.tmp-\d+-[0-9a-f]+$/.test(f) && Date.now() - fs.statSync(file).mtimeMs > TEMP_MAX_AGE_MS;
        const unused = blobs && dir === this.dir("blobs") && /^[0-9a-f]{64}\.ko$/.test(f) && !used.has(f.slice(0, -3));
        if (leftover || unused) fs.rmSync(file, { force: true });
      }
    }
  }
}

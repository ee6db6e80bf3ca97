// A shared artifact store on an OCI registry: every operator and every stack that points
// at the same repository finds the build of a key there (see artifacts/ociArtifact.ts for
// what an artifact looks like, artifacts/oras.ts for how the registry is reached).
//
// A registry has no compare-and-set of a tag, so two runs that store one key at once are
// made to agree by checking again: the blobs are uploaded first, the tag is checked again
// right before the manifest is written (a request away), and after a pause of several
// times that window the tag is read back: whatever it holds then is what both runs
// return. A run stalled for longer than that pause between its check and its write could
// still replace the other's artifact; the next plan of the other stack then sees the
// store's build (as after any rebuild) and installs it.
import type { ArtifactKey, ArtifactManifest, ArtifactStore, StoredArtifact } from "./store";
import { checkFiles, checkManifest, sha256 } from "./manifest";
import { EMPTY_CONFIG, artifactFromOci, ociManifestFor, tagFor } from "./ociArtifact";
import { explainFailure, registryHost, runOras, type RegistryAccess } from "./oras";

/** The least pause before reading back: longer than a check and a manifest PUT (milliseconds each on a fleet's network). */
const SETTLE_MS = 1_500;

/** What get() found: the artifact, or why there is none (a damaged blob names its digest). */
type Lookup = { artifact: StoredArtifact } | { absent: true } | { damaged: string };

export class RegistryArtifactStore implements ArtifactStore {
  constructor(readonly access: RegistryAccess) {}

  get location(): string {
    return `oci://${registryHost(this.access.url)}/${this.access.repository}`;
  }

  /** `host/repository:tag` of the key's artifact. */
  reference(key: ArtifactKey): string {
    return `${registryHost(this.access.url)}/${this.access.repository}:${tagFor(key)}`;
  }

  private blobReference(hex: string): string {
    return `${registryHost(this.access.url)}/${this.access.repository}@sha256:${hex}`;
  }

  async get(key: ArtifactKey): Promise<StoredArtifact | undefined> {
    const found = await this.lookup(key);
    return "artifact" in found ? found.artifact : undefined;
  }

  /** The manifest is whole for the key and the registry has every blob at its size (HEAD requests; nothing downloaded). */
  async has(key: ArtifactKey): Promise<boolean> {
    const manifest = await this.manifestOf(key);
    if (!manifest) return false;
    for (const mod of manifest.modules) {
      const head = await runOras(this.access, ["blob", "fetch", "--descriptor", this.blobReference(mod.sha256)]);
      if (!head.ok && head.why === "other") throw new Error(explainFailure(this.access, `read ${mod.name}.ko of ${this.reference(key)}`, head.message));
      if (!head.ok || JSON.parse(head.stdout.toString("utf8")).size !== mod.size) return false;
    }
    return true;
  }

  async put(manifest: ArtifactManifest, files: ReadonlyMap<string, Buffer>): Promise<StoredArtifact> {
    checkManifest(manifest);
    checkFiles(manifest, files);
    const kept = await this.lookup(manifest);
    if ("artifact" in kept) return kept.artifact;
    const window = await this.push(manifest, files);
    // A concurrent put as slow as this one writes within about the same window.
    await new Promise((r) => setTimeout(r, Math.max(SETTLE_MS, 3 * window)));
    const stored = await this.lookup(manifest);
    if ("artifact" in stored) return stored.artifact;
    const why =
      "damaged" in stored
        ? `the registry holds a damaged copy of blob sha256:${stored.damaged} and does not replace a blob it has; delete that blob from the registry's storage (or remove the artifact and run the registry's garbage collection), then run again`
        : "it is not there";
    throw new Error(`${this.location}: ${manifest.set} for ${manifest.kernelRelease} was pushed as ${this.reference(manifest)} but does not read back whole: ${why}`);
  }

  async remove(key: ArtifactKey): Promise<boolean> {
    // `manifest delete --force` succeeds on a tag that is not there: resolve it first.
    const resolved = await runOras(this.access, ["resolve", this.reference(key)]);
    if (!resolved.ok && resolved.why === "absent") return false;
    if (!resolved.ok) throw new Error(explainFailure(this.access, `remove ${this.reference(key)}`, resolved.message));
    const digest = resolved.stdout.toString().trim();
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`${this.location}: oras resolved ${this.reference(key)} to '${digest}', not a digest`);
    // Deleting by digest removes the manifest and every tag of it; the registry's garbage
    // collection frees blobs no manifest uses any more.
    await this.oras(["manifest", "delete", "--force", `${registryHost(this.access.url)}/${this.access.repository}@${digest}`], `remove ${this.reference(key)}`);
    return true;
  }

  /** The key's artifact when its manifest is whole for the key and every blob matches its sha256 and size. */
  private async lookup(key: ArtifactKey): Promise<Lookup> {
    const manifest = await this.manifestOf(key);
    if (!manifest) return { absent: true };
    const contents = new Map<string, Buffer>();
    const files = new Map<string, string>();
    for (const mod of manifest.modules) {
      const blob = await runOras(this.access, ["blob", "fetch", "--output", "-", this.blobReference(mod.sha256)]);
      if (!blob.ok && blob.why === "other") throw new Error(explainFailure(this.access, `read ${mod.name}.ko of ${this.reference(key)}`, blob.message));
      if (!blob.ok || blob.stdout.length !== mod.size || sha256(blob.stdout) !== mod.sha256) return { damaged: mod.sha256 };
      contents.set(mod.name, blob.stdout);
      files.set(mod.name, `oci://${this.blobReference(mod.sha256)}`);
    }
    return { artifact: { manifest, contents, files } };
  }

  /** The key's manifest from the tag, when it is there and whole for the key (one that is not is built again, then replaced). */
  private async manifestOf(key: ArtifactKey): Promise<ArtifactManifest | undefined> {
    const fetched = await runOras(this.access, ["manifest", "fetch", this.reference(key)]);
    if (!fetched.ok) {
      if (fetched.why === "absent") return undefined;
      throw new Error(explainFailure(this.access, `read ${this.reference(key)}`, fetched.message));
    }
    const parsed = artifactFromOci(fetched.stdout.toString("utf8"), key);
    return "problem" in parsed ? undefined : parsed.manifest;
  }

  /**
   * Uploads the blobs, checks the tag once more (another run may have stored the key
   * meanwhile: then its artifact is kept), and writes the manifest under the tag. Returns
   * how long it took from that check to the written tag: the window in which another
   * run's write may land unseen.
   */
  private async push(manifest: ArtifactManifest, files: ReadonlyMap<string, Buffer>): Promise<number> {
    const fs = require("fs");
    const path = require("path");
    const dir = fs.mkdtempSync(path.join(require("os").tmpdir(), "kmod-fleet-push-"));
    try {
      fs.writeFileSync(path.join(dir, "config.json"), EMPTY_CONFIG.text);
      await this.oras(["blob", "push", this.blobReference(EMPTY_CONFIG.digest.slice(7)), "config.json"], "upload the artifact's config", dir);
      for (const m of manifest.modules) {
        fs.writeFileSync(path.join(dir, `${m.name}.ko`), files.get(m.name)!);
        await this.oras(["blob", "push", this.blobReference(m.sha256), `${m.name}.ko`], `upload ${m.name}.ko`, dir);
      }
      fs.writeFileSync(path.join(dir, "manifest.json"), ociManifestFor(manifest));
      const checked = Date.now();
      const there = await runOras(this.access, ["resolve", this.reference(manifest)]);
      if (there.ok && "artifact" in (await this.lookup(manifest))) return Date.now() - checked;
      await this.oras(["manifest", "push", this.reference(manifest), "manifest.json"], `store ${this.reference(manifest)}`, dir);
      return Date.now() - checked;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  private async oras(args: string[], what: string, cwd?: string): Promise<Buffer> {
    const result = await runOras(this.access, args, cwd);
    if (!result.ok) throw new Error(explainFailure(this.access, what, result.message));
    return result.stdout;
  }
}

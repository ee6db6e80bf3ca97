// The local artifact store: what a build leaves for installs on other hosts.
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalArtifactStore, artifactId, type ArtifactManifest } from "../../artifacts/store";

const ko = (text: string) => Buffer.from(`\x7fELF fake module ${text}`);
const sha = (b: Buffer) => crypto.createHash("sha256").update(b).digest("hex");
const key = { kernelRelease: "6.1.0-57-cloud-amd64", arch: "x86_64", set: "kmod-pair", sourceIdentity: "abc" };

function manifestFor(files: Record<string, Buffer>, k = key): ArtifactManifest {
  return {
    ...k,
    builtOn: "h1",
    builtAt: "2026-11-30T00:00:00Z",
    modules: Object.entries(files).map(([name, b]) => ({ name, sha256: sha(b), vermagic: `${k.kernelRelease} SMP preempt mod_unload modversions`, srcversion: "ABCDEF0123456789ABCDEF0", size: b.length })),
  };
}

let root: string;
beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), "artifacts-"))));
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe("LocalArtifactStore", () => {
  it("keeps a build's files under their sha256 and gives them back by key", async () => {
    const store = new LocalArtifactStore(root);
    const files = { pair_provider: ko("p"), pair_consumer: ko("c") };
    await store.put(manifestFor(files), new Map(Object.entries(files)));
    const got = (await new LocalArtifactStore(root).get({ ...key }))!;
    expect(got.manifest.modules.map((m) => m.name)).toEqual(["pair_provider", "pair_consumer"]);
    expect(fs.readFileSync(got.files.get("pair_consumer")!)).toEqual(files.pair_consumer);
    expect(path.basename(got.files.get("pair_consumer")!)).toBe(`${sha(files.pair_consumer)}.ko`);
  });

  it("another kernel, set or source is another artifact", async () => {
    const store = new LocalArtifactStore(root);
    const files = { pair_provider: ko("p") };
    await store.put(manifestFor(files), new Map(Object.entries(files)));
    for (const other of [{ kernelRelease: "6.1.0-56-cloud-amd64" }, { set: "other" }, { sourceIdentity: "def" }, { arch: "aarch64" }]) {
      expect(await store.get({ ...key, ...other })).toBeUndefined();
      expect(artifactId({ ...key, ...other })).not.toBe(artifactId(key));
    }
  });

  it("refuses files that do not match the manifest, and manifests with a wrong vermagic or name", async () => {
    const store = new LocalArtifactStore(root);
    const files = { pair_provider: ko("p") };
    await expect(store.put(manifestFor(files), new Map([["pair_provider", ko("tampered")]]))).rejects.toThrow(/pair_provider\.ko does not match its manifest/);
    const wrong = manifestFor(files);
    wrong.modules[0].vermagic = "6.1.0-56-cloud-amd64 SMP";
    wrong.modules.push({ ...wrong.modules[0], name: "../../etc/passwd" });
    await expect(store.put(wrong, new Map(Object.entries(files)))).rejects.toThrow(/vermagic '6\.1\.0-56-cloud-amd64 SMP' is not for 6\.1\.0-57-cloud-amd64.*module name '\.\.\/\.\.\/etc\/passwd' is not a module name/);
    expect(await store.get(key)).toBeUndefined();
  });

  it("a deleted or truncated file makes the artifact absent (rebuilt or taken back from a host)", async () => {
    const store = new LocalArtifactStore(root);
    const files = { pair_provider: ko("p") };
    const stored = await store.put(manifestFor(files), new Map(Object.entries(files)));
    fs.writeFileSync(stored.files.get("pair_provider")!, "short");
    expect(await store.get(key)).toBeUndefined();
  });

  it("remove forgets the artifact and deletes files no other artifact uses", async () => {
    const store = new LocalArtifactStore(root);
    const shared = ko("same bytes for two kernels");
    await store.put(manifestFor({ pair_provider: shared }), new Map([["pair_provider", shared]]));
    const other = { ...key, sourceIdentity: "def" };
    await store.put(manifestFor({ pair_provider: shared, pair_consumer: ko("c") }, other), new Map([["pair_provider", shared], ["pair_consumer", ko("c")]]));
    expect(await store.remove(other)).toBe(true);
    expect(await store.remove(other)).toBe(false);
    expect(fs.readdirSync(path.join(root, "blobs"))).toEqual([`${sha(shared)}.ko`]);
    expect(await store.get(key)).toBeDefined();
  });
});

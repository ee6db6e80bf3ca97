// The local artifact store: what a build leaves for installs on other hosts.
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
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

  it("a blob damaged to the same size makes the artifact absent: sha256 is checked, not only the size", async () => {
    const store = new LocalArtifactStore(root);
    const files = { pair_provider: ko("p") };
    const stored = await store.put(manifestFor(files), new Map(Object.entries(files)));
    const blob = stored.files.get("pair_provider")!;
    const damaged = Buffer.from(fs.readFileSync(blob));
    damaged[damaged.length - 1] ^= 0xff;
    fs.writeFileSync(blob, damaged);
    expect(await store.get(key)).toBeUndefined();
  });

  it("the next put heals a truncated or damaged blob and returns the artifact whole", async () => {
    const store = new LocalArtifactStore(root);
    const files = { pair_provider: ko("p") };
    const stored = await store.put(manifestFor(files), new Map(Object.entries(files)));
    const blob = stored.files.get("pair_provider")!;
    fs.writeFileSync(blob, "short");
    const healed = await store.put(manifestFor(files), new Map(Object.entries(files)));
    expect(healed.contents.get("pair_provider")).toEqual(files.pair_provider);
    expect(fs.readFileSync(blob)).toEqual(files.pair_provider);
    expect((await store.get(key))?.manifest.modules[0].sha256).toBe(sha(files.pair_provider));
  });

  it("a rebuild with other bytes replaces a damaged artifact, and its old blob goes", async () => {
    const store = new LocalArtifactStore(root);
    const old = await store.put(manifestFor({ pair_provider: ko("old") }), new Map([["pair_provider", ko("old")]]));
    fs.writeFileSync(old.files.get("pair_provider")!, "short");
    await store.put(manifestFor({ pair_provider: ko("new") }), new Map([["pair_provider", ko("new")]]));
    expect((await store.get(key))!.contents.get("pair_provider")).toEqual(ko("new"));
    expect(fs.readdirSync(path.join(root, "blobs"))).toEqual([`${sha(ko("new"))}.ko`]);
  });

  it("a whole artifact another run stored first is kept and returned by a second put of the key", async () => {
    const store = new LocalArtifactStore(root);
    const first = await store.put(manifestFor({ pair_provider: ko("run 1") }), new Map([["pair_provider", ko("run 1")]]));
    const second = await store.put(manifestFor({ pair_provider: ko("run 2") }), new Map([["pair_provider", ko("run 2")]]));
    expect(second.manifest).toEqual(first.manifest);
    expect(fs.readdirSync(path.join(root, "blobs"))).toEqual([`${sha(ko("run 1"))}.ko`]);
  });

  it("a hand-edited manifest that names a file outside the store is not served", async () => {
    const store = new LocalArtifactStore(root);
    const files = { pair_provider: ko("p") };
    await store.put(manifestFor(files), new Map(Object.entries(files)));
    const outside = path.join(root, "outside.ko");
    fs.writeFileSync(outside, files.pair_provider);
    const edited = manifestFor(files);
    edited.modules[0].sha256 = "../outside";
    fs.writeFileSync(path.join(root, "artifacts", `${artifactId(key)}.json`), JSON.stringify(edited));
    expect(await store.get(key)).toBeUndefined();
  });

  it("a manifest that is {}, null, not JSON or another key's is absent, and the next put replaces it", async () => {
    const store = new LocalArtifactStore(root);
    const files = { pair_provider: ko("p") };
    const file = path.join(root, "artifacts", `${artifactId(key)}.json`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const otherKey = JSON.stringify(manifestFor(files, { ...key, set: "other" }));
    for (const text of ["{}", "null", "{not json", otherKey]) {
      fs.writeFileSync(file, text);
      expect(await store.get(key), text).toBeUndefined();
      expect((await store.put(manifestFor(files), new Map(Object.entries(files)))).manifest.set).toBe("kmod-pair");
    }
    fs.writeFileSync(file, "null");
    expect(await store.remove(key)).toBe(true);
    expect(fs.readdirSync(path.join(root, "blobs"))).toEqual([]);
  });

  it("leftovers of failed writes are collected once old; a young temporary file (a live write) stays", async () => {
    const store = new LocalArtifactStore(root);
    fs.mkdirSync(path.join(root, "blobs"), { recursive: true });
    const old = path.join(root, "blobs", `${"a".repeat(64)}.ko.tmp-4242-0badf00d`);
    const young = path.join(root, "blobs", `${"b".repeat(64)}.ko.tmp-4243-0badf00d`);
    fs.writeFileSync(old, "half");
    fs.writeFileSync(young, "half");
    const hourAgo = new Date(Date.now() - 3600_000);
    fs.utimesSync(old, hourAgo, hourAgo);
    const files = { pair_provider: ko("p") };
    await store.put(manifestFor(files), new Map(Object.entries(files)));
    expect(fs.existsSync(old)).toBe(false);
    expect(fs.existsSync(young)).toBe(true);
  });

  it("a lock left by a process that has exited does not block the store", async () => {
    const dead = spawnSync(process.execPath, ["-e", "process.pid"]).pid!;
    fs.mkdirSync(path.join(root, ".lock"), { recursive: true });
    fs.writeFileSync(path.join(root, ".lock", "owner"), JSON.stringify({ host: os.hostname(), pid: dead, since: "earlier" }));
    const files = { pair_provider: ko("p") };
    const started = Date.now();
    await new LocalArtifactStore(root).put(manifestFor(files), new Map(Object.entries(files)));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(fs.existsSync(path.join(root, ".lock"))).toBe(false);
  });

  it("a store that cannot be written says so, with its path (not ENOENT)", async () => {
    // The test runs as root, who may write anywhere: the store is made read-only and used by
    // root without its capabilities (setpriv), who then meets the permissions as anyone
    // would, and can still read this checkout wherever it is.
    fs.chmodSync(root, 0o555);
    const script = `
      require("tsx/cjs");
      const { LocalArtifactStore } = require(${JSON.stringify(path.join(__dirname, "..", "..", "artifacts", "store.ts"))});
      const m = JSON.parse(process.argv[1]);
      new LocalArtifactStore(${JSON.stringify(root)}).put(m, new Map([["pair_provider", Buffer.from(process.argv[2], "base64")]]))
        .then(() => console.log("stored"), (e) => console.log(e.message));`;
    const files = { pair_provider: ko("p") };
    const r = spawnSync("setpriv", ["--inh-caps=-all", "--bounding-set=-all", "--", process.execPath, "-e", script, JSON.stringify(manifestFor(files)), files.pair_provider.toString("base64")], { encoding: "utf8", cwd: path.join(__dirname, "..", "..") });
    fs.chmodSync(root, 0o755);
    expect(r.error, "the test needs setpriv (util-linux)").toBeUndefined();
    expect(r.stdout.trim(), r.stderr).toBe(`cannot store an artifact in the artifact store at ${root}: it is not writable (permission denied: ${root}/.lock); make it writable or set build.store.path to a writable folder`);
  });
});

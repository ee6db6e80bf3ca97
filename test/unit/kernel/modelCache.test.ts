/**
 * The parse cache (kernel/disk/modelCache.ts) on a miniature tree on disk: it hits only while
 * every file the parse read holds the same content, wherever the tree lies.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { preflight } from "../../../kernel";
import { cacheBucketFor, loadModel } from "../../../kernel/disk/modelCache";
import { MINI_TREE } from "./tree";

let dir: string;
let src: string;
let cache: string;
const CONFIG = "CONFIG_MODULES=y\n";

function writeTree(root: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    fs.mkdirSync(path.join(root, path.dirname(p)), { recursive: true });
    fs.writeFileSync(path.join(root, p), text);
  }
}

/** Sets a file's times well in the past, so that a cache entry trusts its stat. */
function age(file: string, seconds = 3600): void {
  const t = Date.now() / 1000 - seconds;
  fs.utimesSync(file, t, t);
}

function ageTree(root: string): void {
  for (const p of Object.keys(MINI_TREE)) age(path.join(root, p));
}

/** What the CLI does: load, and store on a miss. */
async function load(root = src, arch = "x86") {
  const r = await loadModel(root, arch, cache);
  return { ...r, note: r.store?.() };
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-cache-"));
  src = path.join(dir, "src");
  cache = path.join(dir, "cache");
  writeTree(src, MINI_TREE);
  ageTree(src);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("the parse cache", () => {
  it("parses and stores on the first run, reads the entry on the next, with the same answers", async () => {
    const first = await load();
    expect(first.cache).toBe("miss");
    const second = await load();
    expect(second.cache).toBe("hit");
    expect(preflight(second.model, CONFIG, ["I915=m"])).toEqual(preflight(first.model, CONFIG, ["I915=m"]));
    expect(fs.readdirSync(cacheBucketFor(cache, src, "x86")).sort()).toEqual([expect.stringMatching(/^[0-9a-f]{32}\.kbuild$/), expect.stringMatching(/^[0-9a-f]{32}\.kconfig$/), expect.stringMatching(/^[0-9a-f]{32}\.manifest$/)]);
  });

  it("a changed file misses, even with the same size and the old mtime, and the new content is what counts", async () => {
    await load();
    const kconfig = path.join(src, "drivers/Kconfig");
    const st = fs.statSync(kconfig);
    // Same length: `select HDMI` of DRM becomes `select HDMX` (no longer the dead end).
    fs.writeFileSync(kconfig, MINI_TREE["drivers/Kconfig"].replace("\tselect HDMI\n\tselect DRM_HELPER", "\tselect HDMX\n\tselect DRM_HELPER"));
    fs.utimesSync(kconfig, st.atime, st.mtime);
    expect(fs.statSync(kconfig).size).toBe(st.size);
    const after = await load();
    expect(after.cache).toBe("miss");
    expect(preflight(after.model, CONFIG, ["I915=m"]).deadEnds).toEqual([]);
    expect((await load()).cache).toBe("hit");
  });

  it("a file appearing where the parse found none misses (a Kbuild next to a Makefile wins)", async () => {
    await load();
    writeTree(src, { "drivers/video/Kbuild": "obj-$(CONFIG_HDMI) += hdmi.o other.o\n" });
    const after = await load();
    expect(after.cache).toBe("miss");
    expect(after.model.kbuild.byObject.has("drivers/video/other.o")).toBe(true);
  });

  it("a deleted file misses", async () => {
    await load();
    fs.rmSync(path.join(src, "drivers/gpu/i915/Makefile"));
    expect((await load()).cache).toBe("miss");
  });

  it("a touched but unchanged file, or the same tree in another folder, still hits (keyed by content)", async () => {
    await load();
    fs.utimesSync(path.join(src, "drivers/Kconfig"), new Date(), new Date());
    expect((await load()).cache).toBe("hit");
    const copy = path.join(dir, "elsewhere");
    fs.cpSync(src, copy, { recursive: true });
    const there = await load(copy);
    expect(there.cache).toBe("hit");
    // The model reads the copy's sources (dead-end objects' exports), not the original's.
    fs.writeFileSync(path.join(copy, "drivers/video/hdmi.c"), "EXPORT_SYMBOL(hdmi_other);\n");
    expect(preflight(there.model, CONFIG, ["I915=m"]).deadEnds[0].missingSymbols).toEqual(["hdmi_other"]);
  });

  it("a file whose stat matches is trusted only when it was modified well before the entry was written (racy window)", async () => {
    await load();
    const bucket = cacheBucketFor(cache, src, "x86");
    const file = path.join(bucket, fs.readdirSync(bucket).find((f) => f.endsWith(".manifest"))!);
    const manifest = JSON.parse(fs.readFileSync(file, "utf8"));
    // Pretend drivers/Kconfig changed without its size, mtime or ctime changing (a write in
    // the same clock tick): only its recorded hash differs from the file's.
    const rec = manifest.files.find((r: unknown[]) => r[0] === "drivers/Kconfig");
    rec[4] = "0".repeat(64);
    manifest.written = rec[2] + 1000; // written 1 s after that mtime: racy, hashed
    fs.writeFileSync(file, JSON.stringify(manifest));
    expect((await load()).cache).toBe("miss");
    manifest.written = rec[2] + 10_000; // 10 s after: the stat is trusted
    fs.writeFileSync(file, JSON.stringify(manifest));
    expect((await load()).cache).toBe("hit");
  });

  it("another architecture is another entry", async () => {
    await load(src, "x86");
    expect((await load(src, "arm64")).cache).toBe("miss");
    expect((await load(src, "x86")).cache).toBe("hit");
    expect(cacheBucketFor(cache, src, "x86")).not.toBe(cacheBucketFor(cache, src, "arm64"));
  });

  it("a damaged entry is a miss, replaced by a good one", async () => {
    await load();
    const bucket = cacheBucketFor(cache, src, "x86");
    const part = fs.readdirSync(bucket).find((f) => f.endsWith(".kconfig"))!;
    fs.writeFileSync(path.join(bucket, part), "kmod-fleet parsed kernel model kconfig 5\n{}\n");
    expect((await load()).cache).toBe("miss");
    expect((await load()).cache).toBe("hit");
  });

  it("a cache that cannot be written is only a note; no cache folder means no cache", async () => {
    fs.writeFileSync(cache, "a file where the folder should be");
    const r = await load();
    expect(r.cache).toBe("miss");
    expect(r.note).toMatch(/not cached in .*cache/);
    expect(preflight(r.model, CONFIG, ["I915=m"]).verdict).toBe("dead-end");
    expect((await loadModel(src, "x86", undefined)).cache).toBe("off");
  });
});

/**
 * The parse cache (kernel/disk/modelCache.ts) on a real tree: a model read back from the cache
 * answers exactly as the parsed one; a copy of the tree's Kconfig/Kbuild files in another
 * folder (what the pipeline unpacks from a host) finds the entry; and a one-line change
 * deep in the copy misses and is what the next answer reflects.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KernelModel, preflight } from "../../kernel";
import { cacheBucketFor, loadModel } from "../../kernel/disk/modelCache";
import { SELECTED, kernelData, localTree } from "./data";

const gen = SELECTED.includes("6.12") ? "6.12" : SELECTED[0];
const REQUESTS = [["DRM_I915=m"], ["CAN_PEAK_PCI=m"], ["SND_OPL3SA2=m"], ["DRM_VMWGFX=m"], ["REGULATOR_SY8824X=m"], ["VIRTIO_PMEM=m"]];

describe(`the parse cache on Debian ${gen}'s tree`, () => {
  let dir: string;
  let src: string;
  let cloud: string;
  let parsed: KernelModel;

  beforeAll(() => {
    const data = kernelData(gen);
    src = data.src;
    cloud = fs.readFileSync(data.configs["cloud-amd64"] ?? data.configs["amd64"], "utf8");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-cache-"));
    parsed = new KernelModel(localTree(src), { arch: "x86" });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("a model read back from the cache gives the same answers as a parse", async () => {
    const cache = path.join(dir, "cache");
    const miss = await loadModel(src, "x86", cache);
    expect(miss.cache).toBe("miss");
    expect(miss.store!()).toBeUndefined();
    const hit = await loadModel(src, "x86", cache);
    expect(hit.cache).toBe("hit");
    for (const req of REQUESTS) expect(preflight(hit.model, cloud, req), req.join(" ")).toEqual(preflight(parsed, cloud, req));
  });

  it("a copy of the files elsewhere hits; a one-line change in it misses and counts", async () => {
    const cache = path.join(dir, "cache");
    const bucket = cacheBucketFor(cache, src, "x86");
    const manifest = JSON.parse(fs.readFileSync(path.join(bucket, fs.readdirSync(bucket).find((f) => f.endsWith(".manifest"))!), "utf8"));
    const copy = path.join(dir, "copy");
    // What the parse read, plus the sources of the dead-end objects the reports scan.
    const files = [...manifest.files.filter((r: unknown[]) => r.length > 1).map((r: unknown[]) => r[0] as string), "drivers/i2c/i2c-boardinfo.c"];
    for (const f of files) {
      fs.mkdirSync(path.join(copy, path.dirname(f)), { recursive: true });
      fs.copyFileSync(path.join(src, f), path.join(copy, f));
    }
    const there = await loadModel(copy, "x86", cache);
    expect(there.cache).toBe("hit");
    expect(preflight(there.model, cloud, ["CAN_PEAK_PCI=m"]).verdict).toBe("dead-end");

    // CAN_PEAK_PCIEC off by default: the request no longer pulls in I2C.
    const kconfig = path.join(copy, "drivers/net/can/sja1000/Kconfig");
    const text = fs.readFileSync(kconfig, "utf8");
    const edited = text.replace(/(config CAN_PEAK_PCIEC\n(?:\t.*\n)*?\tdefault )y/, "$1n");
    expect(edited).not.toBe(text);
    fs.writeFileSync(kconfig, edited);
    const changed = await loadModel(copy, "x86", cache);
    expect(changed.cache).toBe("miss");
    expect(preflight(changed.model, cloud, ["CAN_PEAK_PCI=m"]).verdict).toBe("ok");
    // The original tree still finds its own entry.
    expect((await loadModel(src, "x86", cache)).cache).toBe("hit");
  });
});

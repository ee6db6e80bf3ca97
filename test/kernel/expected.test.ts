/**
 * The doctor on Debian 6.1's cloud kernel (its real Module.symvers), and the preflight on
 * Flatcar's own 6.12 config (built from its fragments as Flatcar's build does, on Debian's
 * 6.12 tree): exact reading, agreement with olddefconfig on 200 sampled options, verdicts.
 */
import * as fs from "fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KernelModel, doctor, preflight, renderDoctor, renderPreflight } from "../../kernel";
import { agree, readingMismatches, sample, seedOf, unsetTristates } from "./agree";
import { flatcarFragments, kernelData, localTree } from "./data";
import { checkDeadEnd } from "./deadEnd";
import { OlddefconfigPool } from "./olddefconfig";

const FLATCAR_SAMPLE = Number(process.env.KERNEL_FLATCAR_SAMPLE ?? 40);

describe("doctor on Debian 6.1's cloud kernel", () => {
  let model: KernelModel;
  let cloud: string;
  let symvers: string;
  beforeAll(() => {
    const data = kernelData("6.1");
    model = new KernelModel(localTree(data.src), { arch: "x86" });
    cloud = fs.readFileSync(data.configs["cloud-amd64"], "utf8");
    if (!data.cloudSymvers) throw new Error(`Debian ${data.version} has no cloud headers: the doctor tests need its Module.symvers`);
    symvers = fs.readFileSync(data.cloudSymvers, "utf8");
  });

  it("names the built-in-only options behind the seed's Unknown symbol lines", () => {
    const dmesg = [
      "[83845.709910] drm: Unknown symbol hdmi_vendor_infoframe_init (err -2)",
      "[83845.721771] drm: Unknown symbol sync_file_create (err -2)",
      "[83845.721772] drm_kms_helper: Unknown symbol mipi_dsi_attach (err -2)",
      "[83845.721773] i2c_core: Unknown symbol __i2c_board_list (err -2)",
      "[83845.710508] drm: Unknown symbol dma_fence_add_callback (err -2)",
    ].join("\n");
    const r = doctor(model, cloud, dmesg, symvers);
    console.log(renderDoctor(r));
    const dead = r.groups.find((g) => g.cause === "dead-end")!;
    expect(dead.options).toEqual(["DRM_MIPI_DSI", "HDMI", "I2C_BOARDINFO", "SYNC_FILE"]);
    expect(r.findings.find((f) => f.symbol === "hdmi_vendor_infoframe_init")!.source).toMatchObject({ file: "drivers/video/hdmi.c", builtInto: "not built" });
    // Exported by vmlinux: not a missing option but a build mismatch.
    expect(r.findings.find((f) => f.symbol === "dma_fence_add_callback")!.cause).toBe("in-kernel");
  });

  it("says to load the module that exports a symbol first", () => {
    const r = doctor(model, cloud, "[12.0] mhi_net: Unknown symbol mhi_register_controller (err -2)\n", symvers);
    expect(r.findings[0].cause).toBe("load-first");
    expect(r.findings[0].detail).toMatch(/load mhi first/);
  });
});

describe("Flatcar's 6.12 config on Debian's 6.12 tree", () => {
  let model: KernelModel;
  let pool: OlddefconfigPool;
  let src: string;
  let flatcar: string;
  let results: Awaited<ReturnType<typeof agree>>;

  beforeAll(async () => {
    const data = kernelData("6.12");
    src = data.src;
    model = new KernelModel(localTree(src), { arch: "x86" });
    pool = new OlddefconfigPool(src, 2);
    // Flatcar's build: fragments, then olddefconfig on the tree. That is the running config.
    flatcar = await pool.run(flatcarFragments("amd64"));
  });
  afterAll(() => pool?.dispose());

  it("reads the resulting config exactly", () => {
    expect(readingMismatches(model, flatcar)).toEqual([]);
  });

  it(`${FLATCAR_SAMPLE} sampled unset tristates and the verdict cases agree with make olddefconfig`, async () => {
    const chosen = sample(unsetTristates(model, flatcar), FLATCAR_SAMPLE, seedOf("flatcar-6.12"));
    expect(chosen).toHaveLength(FLATCAR_SAMPLE);
    const requests = [...new Set([...chosen, "VIRTIO_PMEM", "DRM_I915"])].map((n) => [`${n}=m`]);
    const t0 = Date.now();
    // Flatcar's config is itself olddefconfig's output, so it is its own baseline.
    results = await agree(model, pool, flatcar, flatcar, requests);
    console.log(`flatcar 6.12 agreement: ${requests.length} requests, ${results.changed} with changes, ${results.disagreements.length} disagreements (verdicts: ${results.verdicts}), ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    if (results.disagreements.length) console.log(`DISAGREEMENTS:\n  ${results.disagreements.join("\n  ")}`);
    expect(results.disagreements).toEqual([]);
  });

  it("VIRTIO_PMEM=m is a dead end: MEMREGION's lib/memregion.o links into vmlinux", () => {
    const { r, actual } = results.results.get("VIRTIO_PMEM=m")!;
    console.log(renderPreflight(r));
    expect(r.verdict).toBe("dead-end");
    checkDeadEnd(model, src, r, actual, "MEMREGION");
    expect(r.deadEnds.find((d) => d.option === "MEMREGION")!.objects).toContain("lib/memregion.o");
  });

  it("DRM_I915=m is a no-op: Flatcar ships i915 as a module (olddefconfig changes nothing either)", () => {
    const { r, actual } = results.results.get("DRM_I915=m")!;
    expect(r.verdict).toBe("no-op");
    expect(actual.size).toBe(0);
  });

  it("an option already in the config is a no-op", () => {
    const r = preflight(model, flatcar, ["VIRTIO_NET=m"]);
    expect(r.verdict).toBe("no-op");
  });
});

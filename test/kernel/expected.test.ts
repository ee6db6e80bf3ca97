/**
 * The expected cases of issue 5 on real data: Debian's 6.1 source, its cloud and generic
 * amd64 configs and the cloud kernel's Module.symvers (fetched by fetch-kernel-data.sh).
 */
import * as fs from "fs";
import { beforeAll, describe, expect, it } from "vitest";
import { KernelModel, doctor, preflight, renderDoctor, renderPreflight } from "../../kernel";
import { AMD64_CONFIG, CLOUD_CONFIG, CLOUD_SYMVERS, SRC, ensureKernelData, localTree } from "./data";

let model: KernelModel;
let cloud: string;
let symvers: string;

beforeAll(() => {
  ensureKernelData();
  model = new KernelModel(localTree(SRC), { arch: "x86" });
  cloud = fs.readFileSync(CLOUD_CONFIG, "utf8");
  symvers = fs.readFileSync(CLOUD_SYMVERS, "utf8");
});

describe("preflight on Debian 6.1", () => {
  it("parses the whole x86 tree", () => {
    expect(model.kconfig.files.length).toBeGreaterThan(1400);
    expect(model.kconfig.symbols.size).toBeGreaterThan(16000);
    expect(model.kconfig.choices.length).toBe(75);
    expect(model.kconfig.warnings.filter((w) => !w.includes("MACRO"))).toEqual([]);
  });

  it("DRM_I915=m on the cloud config is a dead end through HDMI, SYNC_FILE, DRM_MIPI_DSI, DRM_NOMODESET, I2C_BOARDINFO and adds DRM=m", () => {
    const r = preflight(model, cloud, ["DRM_I915=m"]);
    console.log(renderPreflight(r));
    expect(r.verdict).toBe("dead-end");
    expect(r.added).toContainEqual(expect.objectContaining({ option: "DRM", value: "m" }));
    expect(r.deadEnds.map((d) => d.option).sort()).toEqual(["DRM_MIPI_DSI", "DRM_NOMODESET", "HDMI", "I2C_BOARDINFO", "SYNC_FILE"]);
    expect(r.changes).toHaveLength(43); // what olddefconfig changes (notes/kconfig.md)
    const hdmi = r.deadEnds.find((d) => d.option === "HDMI")!;
    expect(hdmi.objects).toEqual(["drivers/video/hdmi.o"]);
    expect(hdmi.missingSymbols).toContain("hdmi_vendor_infoframe_init");
    expect(hdmi.neededBy[0]).toEqual({ option: "DRM", how: "select" });
    expect(r.deadEnds.find((d) => d.option === "SYNC_FILE")!.missingSymbols).toContain("sync_file_create");
    expect(r.deadEnds.find((d) => d.option === "I2C_BOARDINFO")!.missingSymbols).toContain("__i2c_board_list");
    expect(r.newModules.map((m) => m.module)).toEqual(expect.arrayContaining(["drm", "drm_kms_helper", "i915"]));
    // The missing symbols are really absent from the cloud kernel.
    for (const s of ["hdmi_vendor_infoframe_init", "sync_file_create", "mipi_dsi_attach", "__i2c_board_list"]) expect(symvers).not.toMatch(new RegExp(`\\t${s}\\t`));
  });

  it("DRM_DISPLAY_HDMI_HELPER and other helper bools are never flagged", () => {
    const r = preflight(model, cloud, ["DRM_I915=m"]);
    const flagged = new Set(r.deadEnds.map((d) => d.option));
    for (const o of ["DRM_DISPLAY_HDMI_HELPER", "DRM_DISPLAY_DP_HELPER", "DRM_PANEL"]) expect(flagged.has(o)).toBe(false);
    expect(r.harmless.map((h) => h.option)).toContain("DRM_DISPLAY_HDMI_HELPER");
  });

  it("DRM_I915=m on the generic amd64 config is a no-op", () => {
    const r = preflight(model, fs.readFileSync(AMD64_CONFIG, "utf8"), ["CONFIG_DRM_I915=m"]);
    expect(r.verdict).toBe("no-op");
    expect(r.changes).toEqual([]);
  });
});

describe("doctor on the cloud kernel", () => {
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
    expect(renderDoctor(r)).toMatch(/load mhi first/);
  });
});

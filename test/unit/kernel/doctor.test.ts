import { describe, expect, it } from "vitest";
import { doctor, memoryTree, parseDmesg, renderDoctor } from "../../../kernel";
import { MINI_TREE } from "./tree";

const tree = memoryTree(MINI_TREE);

describe("parseDmesg", () => {
  it.each([
    ["[83845.709910] drm: Unknown symbol hdmi_vendor_infoframe_init (err 0)", { kind: "unknown-symbol", module: "drm", symbol: "hdmi_vendor_infoframe_init", err: 0 }],
    ["Nov 26 17:00:01 host kernel: drm: Unknown symbol sync_file_create (err -2)", { kind: "unknown-symbol", module: "drm", symbol: "sync_file_create", err: -2 }],
    ["[ 1.0] i915: disagrees about version of symbol drm_open", { kind: "crc", module: "i915", symbol: "drm_open" }],
    ["[ 1.0] drm: module uses symbol (dma_buf_attach) from namespace DMA_BUF, but does not import it.", { kind: "namespace", module: "drm", symbol: "dma_buf_attach", namespace: "DMA_BUF" }],
    ["[ 1.0] drm: version magic '6.1.0-1 SMP' should be '6.1.0-2 SMP'", { kind: "vermagic", module: "drm", have: "6.1.0-1 SMP", want: "6.1.0-2 SMP" }],
    ["[ 1.0] Loading of unsigned module is rejected", { kind: "signature", by: "", reason: "unsigned module", enforcedBy: "sig_enforce" }],
    ["[ 1.0] Loading of module with unavailable key is rejected", { kind: "signature", reason: "module with unavailable key", enforcedBy: "sig_enforce" }],
    ["[ 1.0] Lockdown: modprobe: unsigned module loading is restricted; see man kernel_lockdown.7", { kind: "signature", by: "modprobe", reason: "unsigned module", enforcedBy: "lockdown" }],
  ])("%s", (line, want) => {
    expect(parseDmesg(line)[0]).toMatchObject(want);
  });

  it("ignores other lines and repeated ones", () => {
    expect(parseDmesg("hello\n[1] a: Unknown symbol x (err 0)\n[2] a: Unknown symbol x (err 0)\n")).toHaveLength(1);
  });
});

describe("doctor on a miniature tree", () => {
  const config = "CONFIG_MODULES=y\n";
  it("names the off bool option of a built-in-only symbol: dead end", () => {
    const r = doctor(tree, config, "[1] drm: Unknown symbol hdmi_init (err -2)\n");
    expect(r.findings[0]).toMatchObject({ cause: "dead-end", symbol: "hdmi_init", source: { file: "drivers/video/hdmi.c", builtInto: "not built" } });
    expect(r.groups[0]).toMatchObject({ cause: "dead-end", options: ["HDMI"] });
    expect(renderDoctor(r)).toMatch(/HDMI/);
  });

  it("says which module to build when the option is a tristate", () => {
    const r = doctor(tree, config, "[1] i915: Unknown symbol drm_open (err -2)\n");
    expect(r.findings[0]).toMatchObject({ cause: "module-not-built", source: { module: "drm" } });
  });

  it("says to load a module first when Module.symvers has it in a module", () => {
    const r = doctor(tree, config, "[1] i915: Unknown symbol drm_open (err -2)\n", "0x1234\tdrm_open\tdrivers/gpu/drm\tEXPORT_SYMBOL_GPL\t\n");
    expect(r.findings[0]).toMatchObject({ cause: "load-first" });
    expect(r.findings[0].detail).toMatch(/load drm first/);
  });

  it("without Module.symvers, uses the config: a module that is built but not loaded", () => {
    const r = doctor(tree, config + "CONFIG_DRM=m\n", "[1] i915: Unknown symbol drm_open (err -2)\n");
    expect(r.findings[0]).toMatchObject({ cause: "load-first" });
  });

  it("explains a load refused for its signature, with what to do", () => {
    const r = doctor(tree, config, "[1] Lockdown: modprobe: unsigned module loading is restricted; see man kernel_lockdown.7\n");
    expect(r.findings[0]).toMatchObject({ cause: "signature", module: "modprobe", detail: "unsigned module refused: the kernel is locked down (integrity), which requires a valid signature" });
    expect(renderDoctor(r)).toMatch(/Refused for its signature[^]*fix: Sign the module with a key the kernel trusts/);
  });

  it("points symbols of vmlinux at a CRC/namespace problem", () => {
    const r = doctor(tree, config, "[1] x: Unknown symbol dma_buf_attach (err -2)\n", "0x1\tdma_buf_attach\tvmlinux\tEXPORT_SYMBOL_GPL\tDMA_BUF\n");
    expect(r.findings[0]).toMatchObject({ cause: "in-kernel", symvers: { module: "vmlinux", namespace: "DMA_BUF" } });
  });
});

import { describe, expect, it } from "vitest";
import { applyAssignments, parseAssignment, parseDotConfig, parseSymvers } from "../../../kernel";

describe(".config and Module.symvers readers", () => {
  it("reads values, 'is not set' as n, later lines override", () => {
    const v = parseDotConfig('CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_S="x \\"q\\""\nCONFIG_A=m\n');
    expect([...v]).toEqual([["B", "n"], ["S", 'x "q"'], ["A", "m"]]);
  });

  it.each([
    ["CONFIG_DRM_I915=m", { name: "DRM_I915", value: "m" }],
    ["drm_i915", { name: "DRM_I915", value: "m" }],
    ["HDMI=y", { name: "HDMI", value: "y" }],
  ])("parseAssignment(%s)", (arg, want) => expect(parseAssignment(arg)).toEqual(want));

  it("applyAssignments replaces existing lines", () => {
    expect(applyAssignments("CONFIG_A=y\n# CONFIG_B is not set\n", [{ name: "B", value: "m" }])).toBe("CONFIG_A=y\nCONFIG_B=m\n");
  });

  it("reads 6.1 (5 columns) and 4.x (4 columns) Module.symvers", () => {
    const s = parseSymvers("0x1\tdma_buf_attach\tvmlinux\tEXPORT_SYMBOL_GPL\tDMA_BUF\n0x2\tfoo\tdrivers/x/foo\tEXPORT_SYMBOL\n");
    expect(s.get("dma_buf_attach")).toEqual({ crc: "0x1", symbol: "dma_buf_attach", module: "vmlinux", exportType: "EXPORT_SYMBOL_GPL", namespace: "DMA_BUF" });
    expect(s.get("foo")?.namespace).toBeUndefined();
  });
});

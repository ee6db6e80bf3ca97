import { describe, expect, it } from "vitest";
import { memoryTree, preflight, renderPreflight } from "../../../kernel";
import { MINI_TREE } from "./tree";

const tree = memoryTree(MINI_TREE);

describe("preflight on a miniature tree", () => {
  it("I915=m: adds DRM=m, is a dead end through HDMI, names objects, symbols and the chain", () => {
    const r = preflight(tree, "CONFIG_MODULES=y\n", ["CONFIG_I915=m"]);
    expect(r.verdict).toBe("dead-end");
    expect(r.added).toEqual([{ option: "DRM", value: "m", why: "I915 depends on DRM && !NO_GFX" }]);
    expect(r.deadEnds.map((d) => d.option)).toEqual(["HDMI"]);
    expect(r.deadEnds[0]).toMatchObject({
      type: "bool",
      reason: "built-in only",
      objects: ["drivers/video/hdmi.o"],
      missingSymbols: ["hdmi_init"],
      neededBy: [{ option: "DRM", how: "select" }, { option: "I915", how: "depends" }],
    });
    expect(r.newModules.map((m) => m.file)).toEqual(["drivers/gpu/drm.ko", "drivers/gpu/helper.ko", "drivers/gpu/i915/i915.ko"]);
    // A bool that only adds a file to a module being built is fine.
    expect(r.harmless).toContainEqual({ option: "DRM_HDMI_HELPER", note: "adds code to helper" });
    expect(renderPreflight(r)).toContain("DEAD END");
  });

  it("is a no-op when the running config already has it", () => {
    const r = preflight(tree, "CONFIG_MODULES=y\nCONFIG_HDMI=y\nCONFIG_DRM=m\nCONFIG_DRM_HELPER=m\nCONFIG_DRM_HDMI_HELPER=y\nCONFIG_I915=m\n", ["i915"]);
    expect(r.verdict).toBe("no-op");
    expect(r.changes).toEqual([]);
  });

  it("is ok when the built-in part is already there", () => {
    const r = preflight(tree, "CONFIG_MODULES=y\nCONFIG_FB=y\nCONFIG_HDMI=y\n", ["I915=m"]);
    expect(r.verdict).toBe("ok");
    expect(r.deadEnds).toEqual([]);
  });

  it("reports a !X dependency that cannot hold as a conflict", () => {
    const r = preflight(tree, "CONFIG_MODULES=y\nCONFIG_HDMI=y\nCONFIG_NO_GFX=y\n", ["I915=m"]);
    expect(r.verdict).toBe("dead-end");
    expect(r.conflicts.join("\n")).toMatch(/I915: needs !NO_GFX/);
  });

  it("flags a tristate at m whose objects are built in (obj-$(subst m,y,...)), honouring ifdef/else", () => {
    const r = preflight(tree, "CONFIG_MODULES=y\n", ["HV=m"]);
    expect(r.deadEnds.map((d) => [d.option, d.objects])).toEqual([["HV", ["drivers/hv/hv_core.o", "drivers/hv/hv_nodebug.o"]]]);
  });

  it("rejects unknown options and non-tristate requests", () => {
    const r = preflight(tree, "CONFIG_MODULES=y\n", ["NOPE=m"]);
    // The library keeps it from an ok; the CLI refuses it as a usage error before analysing.
    expect(r.verdict).toBe("dead-end");
    expect(r.conflicts[0]).toBe("NOPE=m: no Kconfig file of this tree defines this option");
  });

  it("an option whose dependency is another architecture's symbol is not available on this one", () => {
    const t = memoryTree({ ...MINI_TREE, "drivers/Kconfig": MINI_TREE["drivers/Kconfig"] + 'config X86_ONLY\n\ttristate "x86 only"\n\tdepends on X86\n' });
    const r = preflight(t, "CONFIG_MODULES=y\n", ["X86_ONLY=m"], { arch: "arm64" });
    expect(r.verdict).toBe("not-available");
    expect(r.conflicts).toEqual([]);
    expect(r.notAvailable).toEqual([{ option: "X86_ONLY", reason: "X86_ONLY depends on X86; X86 is not defined on arm64" }]);
  });

  it("turns m on a bool into y with a note", () => {
    const r = preflight(tree, "CONFIG_MODULES=y\n", ["NO_GFX=m"]);
    expect(r.requests).toEqual([{ option: "NO_GFX", value: "y", result: "y" }]);
    expect(r.warnings[0]).toMatch(/bool/);
  });
});

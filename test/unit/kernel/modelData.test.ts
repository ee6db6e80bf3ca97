/** A parsed model encoded for the cache and decoded lazily gives the same answers as the parse. */
import { describe, expect, it } from "vitest";
import { KernelModel, doctor, memoryTree, preflight } from "../../../kernel";
import { decodeModel, encodeModel, MODEL_DATA_FORMAT } from "../../../kernel/modelData";
import { MINI_TREE } from "./tree";

const tree = memoryTree(MINI_TREE);

function roundTrip(model: KernelModel): KernelModel {
  const parsed = decodeModel(encodeModel(model.arch, model.parsed));
  return new KernelModel(model.tree, { arch: parsed.arch, parsed });
}

describe("encoded models", () => {
  it("decode to the same symbols, placements and readers, in the same order", () => {
    const model = new KernelModel(tree);
    const back = roundTrip(model);
    expect([...back.kconfig.symbols.keys()]).toEqual([...model.kconfig.symbols.keys()]);
    expect(new Map(back.kconfig.symbols)).toEqual(new Map(model.kconfig.symbols));
    expect([...back.kbuild.placements]).toEqual([...model.kbuild.placements]);
    expect(new Map(back.kbuild.byOption)).toEqual(new Map(model.kbuild.byOption));
    expect(new Map(back.kbuild.byObject)).toEqual(new Map(model.kbuild.byObject));
    for (const name of model.kconfig.symbols.keys()) expect(back.readers.get(name) ?? [], name).toEqual(model.readers.get(name) ?? []);
    expect(back.kconfig.files).toEqual(model.kconfig.files);
  });

  it("keep a placement one object wherever it is listed (the preflight compares them by identity)", () => {
    const back = roundTrip(new KernelModel(tree));
    const viaOption = back.kbuild.byOption.get("DRM")!.find((p) => p.object === "drivers/gpu/drm_core.o")!;
    expect(back.kbuild.byObject.get("drivers/gpu/drm_core.o")![0]).toBe(viaOption);
    expect(back.kbuild.placements).toContain(viaOption);
  });

  it("give the same preflight and doctor results", () => {
    const model = new KernelModel(tree);
    const back = roundTrip(model);
    for (const [config, req] of [["CONFIG_MODULES=y\n", "I915=m"], ["CONFIG_MODULES=y\nCONFIG_FB=y\nCONFIG_HDMI=y\n", "I915=m"], ["CONFIG_MODULES=y\n", "HV=m"], ["CONFIG_MODULES=y\n", "NOPE=m"]]) {
      expect(preflight(back, config, [req]), `${req} on ${config}`).toEqual(preflight(model, config, [req]));
    }
    const dmesg = "[1] drm: Unknown symbol hdmi_init (err -2)\n";
    expect(doctor(back, "CONFIG_MODULES=y\n", dmesg)).toEqual(doctor(model, "CONFIG_MODULES=y\n", dmesg));
  });

  it("refuse another format, another part, or a cut text", () => {
    const texts = encodeModel("x86", new KernelModel(tree).parsed);
    expect(texts.kconfig).toMatch(new RegExp(`^kmod-fleet parsed kernel model kconfig ${MODEL_DATA_FORMAT}\n`));
    expect(() => decodeModel({ ...texts, kconfig: texts.kconfig.replace(/kconfig \d+/, "kconfig 0") })).toThrow(/format/);
    expect(() => decodeModel({ kconfig: texts.kbuild, kbuild: texts.kconfig })).toThrow(/not the kconfig part/);
    expect(() => decodeModel({ ...texts, kbuild: texts.kbuild.slice(0, -1) })).toThrow(/not as long as its header says/);
    expect(() => decodeModel({ ...texts, kconfig: "garbage" })).toThrow(/no format line/);
  });

  it("are pure ASCII, non-ASCII text escaped", () => {
    const t = memoryTree({ ...MINI_TREE, "drivers/Kconfig": MINI_TREE["drivers/Kconfig"] + 'config CAFE\n\tbool "Café ® ✓"\n' });
    const model = new KernelModel(t);
    const texts = encodeModel("x86", model.parsed);
    expect(/[^\x00-\x7f]/.test(texts.kconfig + texts.kbuild)).toBe(false);
    expect(decodeModel(texts).kconfig.symbols.get("CAFE")!.promptText).toBe("Café ® ✓");
  });
});

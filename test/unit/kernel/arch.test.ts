/**
 * Options another architecture has, or that depend on one: "not available on <arch>",
 * never a dead end, and no dependency olddefconfig would drop listed as added.
 */
import { describe, expect, it } from "vitest";
import { KernelModel, archDirOf, memoryTree, preflight, renderPreflight, unknownRequests } from "../../../kernel";
import { ARCH_TREE } from "./archTree";

const tree = memoryTree(ARCH_TREE);
const on = (arch: string) => new KernelModel(tree, { arch });
const arm64 = on("arm64");
const x86 = on("x86");
const CONFIG = "CONFIG_MODULES=y\n";

describe("preflight on another architecture", () => {
  it("an option depending on another architecture's symbol is not available (DRM_I915 on arm64), with the reason", () => {
    const r = preflight(arm64, CONFIG, ["GPU_X86=m"]);
    expect(r.verdict).toBe("not-available");
    expect(r.notAvailable).toEqual([{ option: "GPU_X86", reason: "GPU_X86 depends on X86 && PCI; X86 is not defined on arm64 (an option of x86)" }]);
    expect(r.added).toEqual([]);
    expect(r.changes).toEqual([]);
    expect(r.deadEnds).toEqual([]);
    const text = renderPreflight(r);
    expect(text).toMatch(/^preflight GPU_X86=m: NOT AVAILABLE on arm64/);
    expect(text).not.toMatch(/DEAD END|new kernel/);
  });

  it("an option only another architecture defines is that architecture's (X86_MSR on arm64), wherever it is sourced from", () => {
    expect(preflight(arm64, CONFIG, ["X86_MSR=m"]).notAvailable).toEqual([{ option: "X86_MSR", reason: "X86_MSR is an option of x86 (arch/x86/Kconfig:4); arm64's Kconfig does not define it" }]);
    const r = preflight(arm64, CONFIG, ["X86_CPU_ONLY=m"]);
    expect(r.verdict).toBe("not-available");
    expect(r.notAvailable[0].reason).toMatch(/^X86_CPU_ONLY is an option of x86 \(arch\/x86\/Kconfig.cpu:1\)/);
    expect(renderPreflight(r)).toMatch(/^preflight X86_CPU_ONLY=m: NOT AVAILABLE on arm64/);
  });

  it("adds no dependency that cannot be met on the architecture (THERM_WINDTUNNEL on arm64), as olddefconfig would drop it", () => {
    const r = preflight(arm64, CONFIG, ["THERM_MAC=m"]);
    expect(r.verdict).toBe("not-available");
    expect(r.added).toEqual([]);
    expect(r.notAvailable[0].reason).toBe("THERM_MAC depends on MAC_DRIVERS && I2C; MAC_DRIVERS depends on PPC || X86; PPC is not defined on arm64; X86 is not defined on arm64 (an option of x86)");
    // The same request on x86 is fine and adds both.
    const ok = preflight(x86, CONFIG, ["THERM_MAC=m"]);
    expect(ok.verdict).toBe("ok");
    expect(ok.added.map((a) => `${a.option}=${a.value}`).sort()).toEqual(["I2C=m", "MAC_DRIVERS=y"]);
  });

  it("a dependency on the absence of the architecture (!ARM64) cannot hold there, and holds elsewhere", () => {
    const r = preflight(arm64, CONFIG, ["NOT_ON_ARM64=m"]);
    expect(r.verdict).toBe("not-available");
    expect(r.notAvailable[0].reason).toBe("NOT_ON_ARM64 depends on !ARM64; ARM64 is always y on arm64");
    expect(preflight(x86, CONFIG, ["NOT_ON_ARM64=m"]).verdict).toBe("ok");
  });

  it("an option a select of the architecture enables is available there only", () => {
    expect(preflight(x86, CONFIG, ["FAST_GUP_USER=m"]).verdict).toBe("ok");
    const r = preflight(arm64, CONFIG, ["FAST_GUP_USER=m"]);
    expect(r.verdict).toBe("not-available");
    expect(r.notAvailable[0].reason).toBe("FAST_GUP_USER depends on HAVE_FAST_GUP; HAVE_FAST_GUP has no prompt on arm64 and nothing there selects it");
  });

  it("never turns on COMPILE_TEST to reach another architecture's driver, unless the running kernel has it", () => {
    const r = preflight(x86, CONFIG, ["ARM_OR_TEST=m"]);
    expect(r.verdict).toBe("not-available");
    expect(r.added).toEqual([]);
    expect(r.notAvailable[0].reason).toMatch(/ARM_OR_TEST depends on ARM64 \|\| COMPILE_TEST; .*COMPILE_TEST is off \(build testing only/);
    expect(preflight(x86, CONFIG + "CONFIG_COMPILE_TEST=y\n", ["ARM_OR_TEST=m"]).verdict).toBe("ok");
    expect(preflight(arm64, CONFIG, ["ARM_OR_TEST=m"]).verdict).toBe("ok");
  });

  it("one request not available, another fine: the verdict is not-available, the fine one is still analysed", () => {
    const r = preflight(arm64, CONFIG, ["GPU_X86=m", "I2C=m"]);
    expect(r.verdict).toBe("not-available");
    expect(r.changes.map((c) => c.option)).toEqual(["I2C"]);
  });

  it("names no Kconfig defines anywhere are typos, with near names", () => {
    expect(unknownRequests(arm64, ["NOT_AN_OPTION=m", "X86_MSR=m", "GPU_X68=m", "MSR_USR", "I2C=m"])).toEqual([
      { option: "NOT_AN_OPTION", near: [] },
      { option: "GPU_X68", near: ["GPU_X86"] },
      { option: "MSR_USR", near: ["MSR_USER"] },
    ]);
  });
});

describe("architecture names", () => {
  it.each([
    ["x86_64", "x86"], ["i686", "x86"], ["aarch64", "arm64"], ["arm64", "arm64"], ["armv7l", "arm"], ["riscv64", "riscv"],
    ["ppc64le", "powerpc"], ["s390x", "s390"], ["loongarch64", "loongarch"], ["mips64el", "mips"], ["sparc64", "sparc"],
  ])("%s is arch/%s", (name, dir) => expect(archDirOf(name)).toBe(dir));

  it.each(["bogus", "../../etc", "x86/../arm64", "", "X86"])("%j is no architecture", (name) => expect(archDirOf(name)).toBeUndefined());
});

/**
 * The preflight for another architecture on the real trees (arm64 with Debian's arm64
 * config, olddefconfig run with ARCH=arm64): options of x86 or of Macs are "not available
 * on arm64" with the option that blocks them, nothing is listed as added that olddefconfig
 * drops, and sampled unset tristates of the arm64 config agree with olddefconfig. riscv64
 * (a uname -m name) reads arch/riscv.
 */
import * as fs from "fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KernelModel, preflight, renderPreflight, srcarchOf, unknownRequests } from "../../kernel";
import { Agreement, agree, sample, seedOf, unsetTristates } from "./agree";
import { KernelData, SELECTED, kernelData, localTree } from "./data";
import { OlddefconfigPool } from "./olddefconfig";

// 4 by default keeps CI short (each request is one olddefconfig run); KERNEL_ARM64_SAMPLE=12 or more for a full run.
const SAMPLE = Number(process.env.KERNEL_ARM64_SAMPLE ?? 4);
const NOT_ON_ARM64 = ["DRM_I915=m", "X86_MSR=m", "THERM_WINDTUNNEL=m"];

for (const gen of SELECTED) {
  describe(`Debian ${gen} on arm64`, () => {
    let data: KernelData;
    let arm64: KernelModel;
    let pool: OlddefconfigPool;
    let config: string;
    let agreement: Agreement;

    beforeAll(async () => {
      data = kernelData(gen);
      arm64 = new KernelModel(localTree(data.src), { arch: "arm64" });
      pool = new OlddefconfigPool(data.src, 2, "arm64");
      config = fs.readFileSync(data.configs["arm64"], "utf8");
      const baseline = await pool.run(config);
      const chosen = sample(unsetTristates(arm64, config), SAMPLE, seedOf(`debian-${gen}-arm64`));
      agreement = await agree(arm64, pool, config, baseline, [...chosen.map((n) => [`${n}=m`]), ...NOT_ON_ARM64.map((r) => [r])]);
      console.log(`${gen} arm64 agreement: ${chosen.length + NOT_ON_ARM64.length} requests, ${agreement.disagreements.length} disagreements (verdicts: ${agreement.verdicts})`);
    });
    afterAll(() => pool?.dispose());

    it(`${SAMPLE} sampled unset tristates and the x86/Mac options agree with make ARCH=arm64 olddefconfig`, () => {
      if (agreement.disagreements.length) console.log(`DISAGREEMENTS:\n  ${agreement.disagreements.join("\n  ")}`);
      expect(agreement.disagreements).toEqual([]);
    });

    it("DRM_I915=m is not available on arm64 (it depends on X86), not a dead end", () => {
      const { r, actual } = agreement.results.get("DRM_I915=m")!;
      console.log(renderPreflight(r));
      expect(r.verdict).toBe("not-available");
      expect(r.notAvailable[0].reason).toMatch(/^DRM_I915 depends on .*\bX86\b.*; X86 is not defined on arm64 \(an option of x86\)$/);
      expect(r.added).toEqual([]);
      expect(actual.size).toBe(0);
    });

    it("X86_MSR=m is x86's option (arch/x86/Kconfig), not 'unknown'", () => {
      const { r } = agreement.results.get("X86_MSR=m")!;
      expect(r.verdict).toBe("not-available");
      expect(r.notAvailable[0].reason).toMatch(/^X86_MSR is an option of x86 \(arch\/x86\/Kconfig:\d+\); arm64's Kconfig does not define it$/);
      expect(unknownRequests(arm64, ["X86_MSR=m"])).toEqual([]);
    });

    it("THERM_WINDTUNNEL=m adds nothing olddefconfig drops (MACINTOSH_DRIVERS, I2C_POWERMAC)", () => {
      const { r, actual } = agreement.results.get("THERM_WINDTUNNEL=m")!;
      expect(r.verdict).toBe("not-available");
      expect(r.added).toEqual([]);
      expect(r.notAvailable[0].reason).toMatch(/PPC_PMAC is not defined on arm64 \(an option of powerpc\)/);
      expect(actual.size).toBe(0);
    });

    it("riscv64 is arch/riscv: its Kconfig is read and x86's options are not available there", () => {
      expect(srcarchOf("riscv64")).toBe("riscv");
      const riscv = new KernelModel(localTree(data.src), { arch: srcarchOf("riscv64") });
      expect(riscv.kconfig.files).toContain("arch/riscv/Kconfig");
      expect(riscv.kconfig.symbols.get("RISCV")?.defs.length).toBeGreaterThan(0);
      expect(preflight(riscv, "CONFIG_MODULES=y\n", ["DRM_I915=m"]).verdict).toBe("not-available");
    });
  });
}

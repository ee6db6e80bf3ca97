/**
 * Alternative requests for a dead end (kernel/alternatives.ts) on the fixture tree
 * test/unit/fixtures/optional-switch (see its README): an optional switch left off, the
 * other branch of an `A || B` dependency, and a dead end no variant avoids.
 */
import * as path from "path";
import { describe, expect, it } from "vitest";
import { KernelModel, preflight, renderPreflight } from "../../../kernel";
import { localTree } from "../../../kernel/disk/localTree";

const model = new KernelModel(localTree(path.join(__dirname, "../fixtures/optional-switch")));
const CONFIG = "CONFIG_MODULES=y\n";

describe("alternative requests for a dead end", () => {
  it("FOO=m is a dead end through its optional FOO_ALLOW_CEC; with FOO_ALLOW_CEC=n it works", () => {
    const r = preflight(model, CONFIG, ["FOO=m"]);
    expect(r.verdict).toBe("dead-end");
    expect(r.deadEnds[0]).toMatchObject({ option: "CEC_CORE", neededBy: [{ option: "FOO_ALLOW_CEC", how: "select" }, { option: "FOO", how: "default" }], missingSymbols: ["cec_register_adapter"] });
    expect(r.alternatives).toEqual([{ requests: ["FOO=m", "FOO_ALLOW_CEC=n"], off: [{ option: "FOO_ALLOW_CEC", prompt: "Allow FOO to drive HDMI CEC" }], verdict: "ok", avoids: ["CEC_CORE"], added: [], changes: 1 }]);
    const text = renderPreflight(r);
    expect(text).toContain("Would work: FOO=m with FOO_ALLOW_CEC=n (OK, 1 option(s) change; leaves out CEC_CORE)");
    expect(text).toContain('  FOO_ALLOW_CEC=n turns off "Allow FOO to drive HDMI CEC"');
    expect(text).toMatch(/^Fix: request the variant above/m);
    // The variant itself, as the operator would run it.
    const v = preflight(model, CONFIG, ["FOO=m", "FOO_ALLOW_CEC=n"]);
    expect(v.verdict).toBe("ok");
    expect(v.newModules.map((m) => m.file)).toEqual(["drivers/foo/foo.ko"]);
  });

  it("BAR=m takes the first branch of BAR_VIA_X || BAR_VIA_Y into the dead end; with BAR_VIA_X=n it takes the other", () => {
    const r = preflight(model, CONFIG, ["BAR=m"]);
    expect(r.verdict).toBe("dead-end");
    expect(r.added).toEqual([expect.objectContaining({ option: "BAR_VIA_X", value: "y" })]);
    expect(r.alternatives).toEqual([expect.objectContaining({ requests: ["BAR=m", "BAR_VIA_X=n"], verdict: "ok", added: ["BAR_VIA_Y=y"], avoids: ["CEC_CORE"] })]);
  });

  it("BAZ=m selects the built-in-only option itself: no variant, the old advice", () => {
    const r = preflight(model, CONFIG, ["BAZ=m"]);
    expect(r.verdict).toBe("dead-end");
    expect(r.alternatives).toEqual([]);
    expect(renderPreflight(r)).toMatch(/^Fix: boot a kernel built with these options, or do not build this module\.$/m);
  });

  it("an option requested off that something selects is a conflict, never silently on", () => {
    const r = preflight(model, CONFIG, ["BAZ=m", "CEC_CORE=n"]);
    expect(r.verdict).toBe("dead-end");
    expect(r.conflicts).toContain("CEC_CORE=n cannot hold: it stays y (selected by BAZ)");
  });

  it("without a dead end nothing is searched", () => {
    const r = preflight(model, "CONFIG_MODULES=y\nCONFIG_BAZ=y\n", ["FOO=m"]); // BAZ built in: CEC_CORE is there
    expect(r.verdict).toBe("ok");
    expect(r.alternatives).toEqual([]);
  });
});

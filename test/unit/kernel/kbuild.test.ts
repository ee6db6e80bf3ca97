import { describe, expect, it } from "vitest";
import { memoryTree } from "../../../kernel";
import { indexKbuild } from "../../../kernel/kbuild";
import { exprToString } from "../../../kernel/expr";

function gates(files: Record<string, string>): Record<string, string[]> {
  const idx = indexKbuild(memoryTree(files));
  const out: Record<string, string[]> = {};
  for (const [obj, ps] of idx.byObject) out[obj] = ps.map((p) => `${exprToString(p.gate)} -> ${p.target}`);
  return out;
}

describe("Kbuild index", () => {
  it("follows obj-$(CONFIG_X) += dir/, prefers Kbuild over Makefile, and parents that point at grandchildren", () => {
    const g = gates({
      Kbuild: "obj-y += drivers/\n",
      "drivers/Makefile": "obj-$(CONFIG_A) += a/\nobj-$(CONFIG_C) += a/c/\n",
      "drivers/a/Kbuild": "obj-$(CONFIG_B) += b.o\n",
      "drivers/a/Makefile": "obj-y += ignored.o\n",
      "drivers/a/c/Makefile": "obj-y += c.o\n",
    });
    expect(g).toEqual({ "drivers/a/b.o": ["A && B -> drivers/a/b.o"], "drivers/a/c/c.o": ["C -> drivers/a/c/c.o"] });
  });

  it("expands composite objects: foo-y, foo-objs, foo-$(CONFIG_X), members in subdirectories", () => {
    const g = gates({
      Kbuild: "obj-y += d/\n",
      "d/Makefile": "obj-$(CONFIG_FOO) += foo.o bar.o\nfoo-y := core.o\nfoo-$(CONFIG_EXTRA) += sub/extra.o\nbar-objs := bar_main.o\n",
    });
    expect(g).toEqual({
      "d/core.o": ["FOO -> d/foo.o"],
      "d/sub/extra.o": ["FOO && EXTRA -> d/foo.o"],
      "d/bar_main.o": ["FOO -> d/bar.o"],
    });
  });

  it("turns ifdef/ifeq/else on CONFIG_ values into gates and expands simple variables", () => {
    const g = gates({
      Kbuild: "obj-y += d/\n",
      "d/Makefile": "ifeq ($(CONFIG_X),y)\nobj-y += x.o\nelse\nobj-y += nox.o\nendif\nifneq ($(CONFIG_Y),)\nobj-m += y.o\nendif\nobj-y += t_$(BITS).o\n",
    });
    expect(g).toEqual({
      "d/x.o": ["X=y -> d/x.o"],
      "d/nox.o": ["!X=y -> d/nox.o"],
      "d/y.o": ["m && !Y=n -> d/y.o"],
      "d/t_64.o": ["y -> d/t_64.o"],
    });
  });

  it("reads roots from core-/drivers-/libs- of Makefile and arch/x86/Makefile", () => {
    const g = gates({
      Makefile: "libs-y := lib/\n",
      "arch/x86/Makefile": "drivers-$(CONFIG_PCI) += arch/x86/pci/\n",
      "lib/Makefile": "lib-y += l.o\n",
      "arch/x86/pci/Makefile": "obj-y += p.o\n",
    });
    expect(g).toEqual({ "lib/l.o": ["y -> lib/l.o"], "arch/x86/pci/p.o": ["PCI -> arch/x86/pci/p.o"] });
  });
});

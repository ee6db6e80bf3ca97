/**
 * Issue 12's classes of bugs, on miniature trees: make variables assigned under conditions
 * the Kbuild reader cannot decide, the top Makefiles of 4.x and 5.x/6.x, and an undecidable
 * condition surfacing as an `unknown` verdict with file:line (never as ok or dead end).
 */
import { describe, expect, it } from "vitest";
import { memoryTree, preflight, renderPreflight } from "../../../kernel";
import { indexKbuild } from "../../../kernel/kbuild";
import { exprToString } from "../../../kernel/expr";
import { MINI_TREE } from "./tree";

function placements(files: Record<string, string>) {
  const idx = indexKbuild(memoryTree(files));
  const out: Record<string, { gate: string; undecided: string[] }> = {};
  for (const [obj, ps] of idx.byObject) out[obj] = { gate: exprToString(ps[0].gate), undecided: ps[0].undecided.map((s) => `${s.file}:${s.line}`) };
  return out;
}

// The shape of the 5.10/6.1/6.12 top Makefile: need-sub-make is set only in the first make
// invocation (sub_make_done unset); the build's own invocation reads the rest.
const TOP_5X = `ifneq ($(sub_make_done),1)
ifneq ($(abs_srctree),$(abs_objtree))
need-sub-make := 1
endif
endif # sub_make_done
ifeq ($(need-sub-make),)
config-build :=
mixed-build :=
ifeq ($(KBUILD_EXTMOD),)
        ifneq ($(filter %config,$(MAKECMDGOALS)),)
		config-build := 1
                ifneq ($(words $(MAKECMDGOALS)),1)
			mixed-build := 1
                endif
        endif
endif
ifdef mixed-build
__build_one_by_one:
	$(Q)set -e; for i in $(MAKECMDGOALS); do $(MAKE) $$i; done
else
ifdef config-build
config: outputmakefile scripts_basic FORCE
else
ifeq ($(KBUILD_EXTMOD),)
core-y := init/
drivers-y := drivers/
drivers-$(CONFIG_SAMPLES) += samples/
libs-y := lib/
endif
core-y += kernel/ mm/
endif
endif
endif # need-sub-make
`;

// 6.12 adds a recursion until make runs in the object tree with --no-print-directory.
const TOP_612 = `ifneq ($(sub_make_done),1)
abs_objtree := $(CURDIR)
export sub_make_done := 1
endif # sub_make_done
ifeq ($(abs_objtree),$(CURDIR))
no-print-directory := --no-print-directory
else
need-sub-make := 1
endif
ifeq ($(filter --no-print-directory, $(MAKEFLAGS)),)
need-sub-make := 1
endif
ifeq ($(need-sub-make),1)
__sub-make:
	$(Q)$(MAKE) $(no-print-directory) -C $(abs_objtree) -f $(abs_srctree)/Makefile $(MAKECMDGOALS)
else # need-sub-make
${TOP_5X.slice(TOP_5X.indexOf("ifeq ($(need-sub-make),)\n") + "ifeq ($(need-sub-make),)\n".length)}`;

// The shape of a 4.x top Makefile: skip-makefile, mixed-targets, config-targets.
const TOP_4X = `ifeq ($(KBUILD_SRC),)
ifeq ("$(origin O)", "command line")
  KBUILD_OUTPUT := $(O)
endif
ifneq ($(KBUILD_OUTPUT),)
skip-makefile := 1
endif # ifneq ($(KBUILD_OUTPUT),)
endif # ifeq ($(KBUILD_SRC),)
ifeq ($(skip-makefile),)
config-targets := 0
mixed-targets  := 0
ifneq ($(filter config %config,$(MAKECMDGOALS)),)
	config-targets := 1
	ifneq ($(words $(MAKECMDGOALS)),1)
		mixed-targets := 1
	endif
endif
ifeq ($(mixed-targets),1)
%:: FORCE
else
ifeq ($(config-targets),1)
config: scripts_basic FORCE
else
init-y := init/
drivers-y := drivers/
libs-y := lib/
core-y := usr/
core-y += kernel/ mm/
endif # $(config-targets)
endif # $(mixed-targets)
endif # skip-makefile
`;

const SUBDIRS = {
  "init/Makefile": "obj-y += main.o\n",
  "kernel/Makefile": "obj-y += fork.o\n",
  "mm/Makefile": "obj-y += slab.o\n",
  "lib/Makefile": "lib-y += sort.o\nobj-$(CONFIG_MEMREGION) += memregion.o\n",
  "drivers/Makefile": "obj-y += base/\n",
  "drivers/base/Makefile": "obj-y += core.o\n",
  "samples/Makefile": "obj-m += s.o\n",
};

describe("Kbuild reader: conditionals it cannot decide", () => {
  it.each([
    ["5.x/6.x (need-sub-make, mixed-build, config-build)", TOP_5X],
    ["4.x (skip-makefile, mixed-targets, config-targets)", TOP_4X],
    ["6.12 (need-sub-make until --no-print-directory)", TOP_612],
  ])("reads a %s top Makefile as the build's own invocation: lib/, kernel/, mm/ are built", (_, top) => {
    const p = placements({ Makefile: top, ...SUBDIRS });
    for (const o of ["init/main.o", "kernel/fork.o", "mm/slab.o", "lib/sort.o", "drivers/base/core.o"]) expect(p[o]).toEqual({ gate: "y", undecided: [] });
    expect(p["lib/memregion.o"]).toEqual({ gate: "MEMREGION", undecided: [] });
  });

  it("never records a variable assigned under an undecidable condition as if it always held", () => {
    const p = placements({
      Kbuild: "obj-y += d/\n",
      "d/Makefile": "ifeq ($(shell uname -m),x86_64)\nflavour := big\nendif\nifeq ($(flavour),big)\nobj-y += big.o\nelse\nobj-y += small.o\nendif\nobj-y += always.o\n",
    });
    expect(p["d/big.o"]).toEqual({ gate: "y", undecided: ["d/Makefile:4"] });
    expect(p["d/small.o"]).toEqual({ gate: "y", undecided: ["d/Makefile:4"] });
    expect(p["d/always.o"]).toEqual({ gate: "y", undecided: [] });
  });

  it("marks objects under a shell or call condition, and everything below a directory entered that way", () => {
    const p = placements({
      Kbuild: "obj-y += d/\n",
      "d/Makefile": "ifneq ($(call cc-option,-mfancy),)\nobj-$(CONFIG_F) += fancy.o sub/\nendif\nobj-$(CONFIG_P) += plain.o\n",
      "d/sub/Makefile": "obj-y += s.o\n",
    });
    expect(p["d/fancy.o"]).toEqual({ gate: "F", undecided: ["d/Makefile:1"] });
    expect(p["d/sub/s.o"]).toEqual({ gate: "F", undecided: ["d/Makefile:1"] });
    expect(p["d/plain.o"]).toEqual({ gate: "P", undecided: [] });
  });

  it("skips assignments in a branch make does not read", () => {
    const p = placements({
      Makefile: "ifeq (a,b)\nskip := 1\nendif\nifeq ($(skip),)\ncore-y := kernel/\nelse\ncore-y := wrong/\nendif\n",
      "kernel/Makefile": "obj-y += fork.o\n",
      "wrong/Makefile": "obj-y += w.o\n",
    });
    expect(p["kernel/fork.o"]).toEqual({ gate: "y", undecided: [] });
    expect(p["wrong/w.o"]).toBeUndefined();
  });
});

describe("preflight: unknown is a verdict", () => {
  // HDMI's object sits under a condition the reader cannot decide.
  const tree = memoryTree({ ...MINI_TREE, "drivers/video/Makefile": "ifneq ($(shell test -e /x && echo y),)\nobj-$(CONFIG_HDMI) += hdmi.o\nendif\n" });

  it("says unknown with file:line, neither dead end nor ok", () => {
    const r = preflight(tree, "CONFIG_MODULES=y\n", ["I915=m"]);
    expect(r.verdict).toBe("unknown");
    expect(r.deadEnds).toEqual([]);
    expect(r.unknowns).toEqual([
      { option: "HDMI", note: "may link into vmlinux", objects: ["drivers/video/hdmi.o"], sites: [{ file: "drivers/video/Makefile", line: 1, text: "ifneq ($(shell test -e /x && echo y),)" }] },
    ]);
    const text = renderPreflight(r);
    expect(text).toMatch(/UNKNOWN/);
    expect(text).toMatch(/unknown at drivers\/video\/Makefile:1/);
  });

  it("a decided dead end still wins over an unknown", () => {
    const r = preflight(memoryTree({ ...MINI_TREE, "drivers/gpu/i915/Makefile": "i915-y := i915_drv.o\nifneq ($(shell true),)\nobj-$(CONFIG_I915) += i915.o\nendif\n" }), "CONFIG_MODULES=y\n", ["I915=m"]);
    expect(r.verdict).toBe("dead-end");
    expect(r.unknowns.map((u) => u.option)).toEqual(["I915"]);
  });
});

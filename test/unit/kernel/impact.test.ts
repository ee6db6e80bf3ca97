/**
 * The preflight's change set follows only what the changed lines can reach (impact.ts);
 * it must equal the diff of every symbol, on trees built to stress the reader edges:
 * selects, implies, defaults on other symbols, string values, choices.
 */
import { describe, expect, it } from "vitest";
import { KernelModel, memoryTree, preflight } from "../../../kernel";
import { MINI_TREE } from "./tree";

const MODULES = 'config MODULES\n\tbool "modules"\n\tmodules\n';
const EDGES = `${MODULES}
config A
	tristate "a"
	select SEL
	imply IMP
config SEL
	bool
config IMP
	tristate "imp"
config DEF
	tristate
	default A
config STR
	string "str"
	default "on" if DEF
	default "off"
config CMP
	bool
	default y if STR = "on"
choice
	prompt "mode"
	default M2
config M1
	bool "one"
	depends on A
config M2
	bool "two"
endchoice
config AFTER_CHOICE
	bool
	default y if M1
config PLAIN
	tristate "plain"
choice
	prompt "pick"
	default P1
config P1
	bool "p1"
	depends on PLAIN
config P2
	bool "p2"
endchoice
`;

function allRequests(model: KernelModel): string[][] {
  return [...model.kconfig.symbols.values()].filter((s) => s.type === "tristate" || s.type === "bool").flatMap((s) => [[`${s.name}=m`], [`${s.name}=y`]]);
}

describe("change set by impact against the exhaustive diff", () => {
  it.each([
    ["the miniature DRM tree", MINI_TREE, ["CONFIG_MODULES=y\n", "CONFIG_MODULES=y\nCONFIG_FB=y\nCONFIG_HDMI=y\n"]],
    ["selects, implies, defaults, strings, choices", { Kconfig: EDGES }, ["CONFIG_MODULES=y\n", "CONFIG_MODULES=y\nCONFIG_A=m\n", "CONFIG_MODULES=y\nCONFIG_A=y\nCONFIG_M1=y\n"]],
  ])("%s: every single request on every config", (_name, files, configs) => {
    const model = new KernelModel(memoryTree(files as Record<string, string>));
    for (const config of configs as string[]) {
      for (const req of allRequests(model)) {
        const fast = preflight(model, config, req);
        const full = preflight(model, config, req, { exhaustive: true });
        expect(fast, `${req} on ${JSON.stringify(config)}`).toEqual(full);
      }
    }
  });

  it("a choice value request moves the choice's other values and what reads them", () => {
    const model = new KernelModel(memoryTree({ Kconfig: EDGES }));
    const r = preflight(model, "CONFIG_MODULES=y\nCONFIG_A=m\n", ["M1=y"]);
    expect(r.changes.map((c) => `${c.option}:${c.from}->${c.to}`)).toEqual(["M1:n->y", "M2:y->n", "AFTER_CHOICE:n->y"]);
  });

  it("a request that makes a choice's default visible moves the selection", () => {
    const model = new KernelModel(memoryTree({ Kconfig: EDGES }));
    const r = preflight(model, "CONFIG_MODULES=y\n", ["PLAIN=y"]);
    expect(r.changes.map((c) => `${c.option}:${c.from}->${c.to}`)).toEqual(["PLAIN:n->y", "P1:n->y", "P2:y->n"]);
  });

  it("a default on another symbol and a string comparison follow through", () => {
    const model = new KernelModel(memoryTree({ Kconfig: EDGES }));
    const r = preflight(model, "CONFIG_MODULES=y\n", ["A=m"]);
    expect(Object.fromEntries(r.changes.map((c) => [c.option, c.to]))).toMatchObject({ A: "m", SEL: "y", IMP: "m", DEF: "m", STR: "on", CMP: "y" });
  });
});

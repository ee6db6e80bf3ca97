/** A dead end checked against the kernel's own files and olddefconfig, for the kernel tests. */
import * as fs from "fs";
import * as path from "path";
import { expect } from "vitest";
import { KernelModel, PreflightResult } from "../../kernel";

/**
 * Checks a dead end against the tree: olddefconfig sets the option to y; each object has a
 * source file; and the makefile rule the index recorded for it is really at that file and
 * line (continuation lines joined), names the object (or its composite) and the option or
 * sits in a directory the option's rule enters.
 */
export function checkDeadEnd(model: KernelModel, src: string, r: PreflightResult, actual: Map<string, string | null>, option: string): void {
  const d = r.deadEnds.find((x) => x.option === option);
  expect(d, `${option} is a dead end of ${r.requests.map((q) => q.option).join(" ")}`).toBeDefined();
  expect(actual.get(option) ?? null, `olddefconfig sets ${option}`).toBe("y");
  for (const obj of d!.objects) {
    expect(fs.existsSync(path.join(src, obj.replace(/\.o$/, ".c"))) || fs.existsSync(path.join(src, obj.replace(/\.o$/, ".S"))), `${obj} has a source file`).toBe(true);
    const rules = (model.kbuild.byObject.get(obj) ?? []).map((p) => ({ ...p.rule, target: p.target }));
    expect(rules.length, `${obj} is in the Kbuild index`).toBeGreaterThan(0);
    for (const rule of rules) {
      const lines = fs.readFileSync(path.join(src, rule.file), "utf8").split("\n");
      let text = lines[rule.line - 1];
      for (let i = rule.line; text.endsWith("\\") && i < lines.length; i++) text = text.slice(0, -1) + " " + lines[i];
      const logical = text.replace(/#.*/, "").trim().replace(/\s+/g, " ");
      expect(logical, `${rule.file}:${rule.line}`).toBe(rule.text);
      expect(rule.text, `${rule.file}:${rule.line} names ${rule.target}`).toContain(path.basename(rule.target));
    }
  }
}

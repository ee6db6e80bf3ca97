// The host scripts' prelude checks values with rules generated from the TypeScript side.
// Both sides run over one table of good and bad values here, and must agree value by
// value; the TypeScript side must agree with the config schema and the host facts' checks.
import { describe, expect, it } from "vitest";
import { execFileSync } from "child_process";
import { isValidValue, VALUE_RULES, type ValueKind } from "../../host/scripts/rules";
import { preludeScript } from "../../host/scripts";
import { isPlainAbsolutePath } from "../../config/paths";
import { moduleSetSchema } from "../../config/schema";
import { checkHostValues } from "../../host/hostValues";

const long = (n: number) => "a".repeat(n);
const common = ["", " ", "a b", "a\nb", "*", "a*", "$(id)", "`id`", "a'b", 'a"b', "a;b", "é", "a/b", "../x", "./x", "-x", ".x", "x\\y"];
const VALUES: Record<ValueKind, string[]> = {
  plain: [...common, "6.1.0-56-cloud-amd64", "3975.2.0", "5.15.0+", "a~b", "a.b", "A_b", "x.", long(64), long(65), long(200), "1", "a..b", "a+", "~a", "+a", "_a"],
  set: [...common, "pair", "kmod-pair", "k_2", "Pair", "a.b", "a+b", "a~b", "-a", "_a", "0", long(41), long(42)],
  module: [...common, "pair_provider", "e1000e", "a-b", "_a", "A", "a.ko", "a+b", long(55), long(56)],
  path: [...common, "/", "//x", "/x//y", "/x/", "/x/.", "/x/..", "/x/../y", "/x/./y", "/opt/modules", "/var/lib/kmod-fleet", "/a/b.c/d_e/f+g/~h/-i", "/x/.y", "/x y", "/x,y", "/x:y", "/x=y", "x", "relative/x", `/${long(1023)}`, `/${long(1024)}`],
  hex: [...common, "0", "a", "0123456789abcdef", "ABC", "0x1", long(64).replaceAll("a", "f"), long(65).replaceAll("a", "f"), "g"],
};

/** Runs the prelude's check_value in bash for each value: true when it passes. */
function shellAccepts(kind: ValueKind, values: string[]): boolean[] {
  const script = `${preludeScript}
while IFS= read -r line; do
  value=$(printf '%s' "$line" | base64 -d)
  if (check_value ${kind} thing VAR "$value") 2>/dev/null; then echo ok; else echo refused; fi
done`;
  const input = values.map((v) => Buffer.from(v).toString("base64")).join("\n") + "\n";
  const out = execFileSync("bash", ["-c", script], { input, env: { PATH: process.env.PATH, LANG: "en_US.UTF-8" } }).toString().trim().split("\n");
  return out.map((l) => l === "ok");
}

describe("the host scripts' checks and the TypeScript side", () => {
  for (const kind of Object.keys(VALUE_RULES) as ValueKind[]) {
    it(`agree on every ${kind} value of the table`, () => {
      const values = VALUES[kind];
      const shell = shellAccepts(kind, values);
      const disagreements = values.filter((v, i) => shell[i] !== isValidValue(kind, v)).map((v) => JSON.stringify(v));
      expect(disagreements).toEqual([]);
      // The table holds both kinds of value.
      expect(shell.filter(Boolean).length).toBeGreaterThan(2);
      expect(shell.filter((ok) => !ok).length).toBeGreaterThan(10);
    });
  }

  it("refuse a value with one message: what it is, the value, its variable and what is expected", () => {
    const r = (() => {
      try {
        execFileSync("bash", ["-c", `${preludeScript}\ncheck_value path path WORK_DIR //x`], { stdio: "pipe" });
        return { code: 0, stderr: "" };
      } catch (e: any) {
        return { code: e.status, stderr: e.stderr.toString() };
      }
    })();
    expect(r).toEqual({ code: 2, stderr: `refusing the path '//x' (WORK_DIR): expected ${VALUE_RULES.path.expected}\n` });
  });
});

describe("the rules and the config's own", () => {
  it("a path passes exactly when the config's plain absolute path does", () => {
    for (const v of VALUES.path) expect([v, isValidValue("path", v)]).toEqual([v, isPlainAbsolutePath(v) && v.length <= 1024]);
  });

  it("a module set name passes exactly when the config's set name does", () => {
    for (const v of VALUES.set) expect([v, isValidValue("set", v)]).toEqual([v, moduleSetSchema.shape.name.safeParse(v).success]);
  });

  it("a module name passes exactly when the config's module name does", () => {
    for (const v of VALUES.module) expect([v, isValidValue("module", v)]).toEqual([v, moduleSetSchema.shape.load.element.safeParse(v).success]);
  });

  it("a kernel release passes exactly when the host facts' check does", () => {
    const facts = (v: string) => {
      try {
        checkHostValues("h", { kernelRelease: v });
        return true;
      } catch {
        return false;
      }
    };
    for (const v of VALUES.plain) expect([v, isValidValue("plain", v)]).toEqual([v, facts(v)]);
  });
});

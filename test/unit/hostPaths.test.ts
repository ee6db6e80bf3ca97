// The host's folders are named once (config/hostPaths.ts): no other product file spells
// them in code, and every host script gets the system folders from the prelude.
import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { HOST_PATHS } from "../../config/hostPaths";
import { HOST_SCRIPTS, type ScriptName } from "../../host/scripts/verbs";
import { verbText } from "../../host/scripts/verbScript";
import * as scripts from "../../components/providers/scripts";

const root = path.join(__dirname, "..", "..");
// The product: what a user runs or imports (tests, docs, the test fleet and the toolchain are not).
const PRODUCT = ["index.ts", "library.ts", "artifacts", "bin", "components", "config", "host", "kernel"];
const OWNER = path.join("config", "hostPaths.ts");

function productFiles(): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = path.join(root, rel);
    if (!fs.existsSync(abs)) return;
    if (fs.statSync(abs).isDirectory()) for (const e of fs.readdirSync(abs)) walk(path.join(rel, e));
    else if (/\.(ts|sh)$/.test(rel)) out.push(rel);
  };
  PRODUCT.forEach(walk);
  return out;
}

/** A line that is only a comment: the paths may be named there, for the reader. */
const commentOnly = (line: string) => /^\s*(\/\/|\/\*\*?|\*|#)/.test(line);

describe("host paths", () => {
  it("no product file but config/hostPaths.ts spells a host folder in its code", () => {
    const files = productFiles();
    expect(files.length).toBeGreaterThan(40);
    const spelled: string[] = [];
    for (const f of files.filter((f) => f !== OWNER)) {
      fs.readFileSync(path.join(root, f), "utf8").split("\n").forEach((line, i) => {
        if (commentOnly(line)) return;
        for (const p of Object.values(HOST_PATHS)) if (line.includes(p)) spelled.push(`${f}:${i + 1}: ${p}`);
      });
    }
    expect(spelled).toEqual([]);
  });

  it("every verb of every host script is sent with the system folders set, before the script", () => {
    const all = scripts as unknown as Record<string, { name?: ScriptName; body?: string }>;
    const hostScripts = Object.values(all).filter((s): s is { name: ScriptName; body: string } => typeof s?.body === "string");
    expect(hostScripts.map((s) => s.name).sort()).toEqual(Object.keys(HOST_SCRIPTS).sort());
    for (const s of hostScripts) {
      for (const verb of Object.keys(HOST_SCRIPTS[s.name])) {
        const text = verbText(s as never, verb as never, "");
        const at = text.indexOf(`HOST_MODPROBE_DIR='${HOST_PATHS.modprobeDir}'`);
        expect([s.name, verb, at >= 0 && at < text.indexOf(s.body)]).toEqual([s.name, verb, true]);
      }
    }
  });
});

// docs/host-contract.md shows the verbs table of host/scripts/verbs.ts: the two must
// agree, and the lock is the table's to decide.
import { describe, expect, it } from "vitest";
import * as fs from "fs";
import { HOST_SCRIPTS, type EnvSpec } from "../../host/scripts/verbs";
import { verbEnv, verbText } from "../../host/scripts/verbScript";
import * as hostScripts from "../../components/providers/scripts";
import { installScript, loadScript } from "../../components/providers/scripts";

function tableMarkdown(): string {
  const rows = ["| script | verb | lock | checked (kind) | text |", "| --- | --- | --- | --- | --- |"];
  for (const [script, verbs] of Object.entries(HOST_SCRIPTS)) {
    for (const [verb, spec] of Object.entries(verbs)) {
      const env = spec.env as readonly EnvSpec[];
      const name = (e: EnvSpec) => (e.optional ? `${e.name}?` : e.name);
      const checked = env.filter((e) => e.kind !== "text").map((e) => `${name(e)} (${e.kind}${e.list ? " list" : ""})`);
      const text = env.filter((e) => e.kind === "text").map(name);
      rows.push(`| ${script}.sh | ${verb} | ${spec.lock ? "yes" : "no"} | ${checked.join(", ") || "-"} | ${text.join(", ") || "-"} |`);
    }
  }
  return rows.join("\n");
}

describe("the host contract", () => {
  it("docs/host-contract.md shows the verbs table as host/scripts/verbs.ts has it", () => {
    const doc = fs.readFileSync(`${__dirname}/../../docs/host-contract.md`, "utf8");
    const shown = /<!-- verbs table: generated from host\/scripts\/verbs.ts -->\n([^]*?)\n<!-- end of the verbs table -->/.exec(doc)?.[1];
    expect(shown).toBe(tableMarkdown());
  });

  it("every script names the verbs of the table in its usage line, and no other", () => {
    for (const [script, verbs] of Object.entries(HOST_SCRIPTS)) {
      if (script === "facts") continue;
      const text = Object.values(hostScripts).find((s) => s.name === script)!.body;
      expect(/usage: ACTION=([a-z|-]+)/.exec(text)?.[1].split("|").sort(), script).toEqual(Object.keys(verbs).sort());
    }
  });

  it("a verb is sent only the variables it uses, and a missing one is the caller's error", () => {
    const all = { KERNEL: "k", SET: "s", MODULES_DIR: "/m", WORK_DIR: "/w", UPLOAD: "/w/uploads/u", ARTIFACT: "ab", EXPECT: "", SOURCES_COMMAND: "x" };
    expect(verbEnv("install", "inventory", all)).toEqual({ ACTION: "inventory", KERNEL: "k", MODULES_DIR: "/m" });
    expect(() => verbEnv("install", "install", { KERNEL: "k", SET: "s", MODULES_DIR: "/m", WORK_DIR: "/w" } as never)).toThrow("kmod-fleet: install.sh install needs UPLOAD, and the caller has no value for it");
  });

  it("the verbs that change the host, and only those, start with the host lock", () => {
    const lock = "# LOCK\n";
    expect(verbText(installScript, "install", lock)).toContain(lock);
    expect(verbText(installScript, "probe", lock)).not.toContain(lock);
    expect(verbText(loadScript, "unload", lock)).toContain(lock);
    // The checks come first: a refused value never takes the lock.
    const t = verbText(loadScript, "load", lock);
    expect(t.indexOf("check_value set 'module set name' SET")).toBeLessThan(t.indexOf(lock));
  });
});

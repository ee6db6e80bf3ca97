// The defaults are written once (config/defaults.ts). What a user reads about them (the
// README's configuration table, the Fleet's typed args in an editor) says the same values,
// and the config as resolved has them.
import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { FLEET_DEFAULTS as D } from "../../config/defaults";
import { resolveFleetConfig } from "../../config/resolve";

const root = path.join(__dirname, "..", "..");
const read = (f: string) => fs.readFileSync(path.join(root, f), "utf8");
const code = (v: unknown) => `\`${v}\``;

/** The README's configuration table: field cell -> default cell. */
function readmeDefaults(): Map<string, string> {
  const section = read("README.md").split("\n## Configuration\n")[1].split("\n## ")[0];
  const rows = section.split("\n").filter((l) => l.startsWith("| `"));
  return new Map(rows.map((r) => r.split(" | ")).map((cells) => [cells[0].replace(/^\| /, ""), cells[cells.length - 1].replace(/ \|$/, "")]));
}

/** The doc comment right above `field?:` in a TypeScript file. */
function docOf(file: string, field: string): string {
  const m = new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\s*\\n\\s*${field}\\??:`).exec(read(file));
  if (!m) throw new Error(`no doc comment for ${field} in ${file}`);
  return m[1].replace(/\s*\n\s*\*\s*/g, " ");
}

describe("defaults", () => {
  it("the README's configuration table states the defaults of config/defaults.ts", () => {
    const readme = readmeDefaults();
    const expected: [string, string][] = [
      ["`hosts[].address`, `port`, `user`", `port ${D.port}, user ${code(D.user)}`],
      ["`hosts[].auth`", code(`privateKeyConfig: ${D.auth.privateKeyConfig}`)],
      ["`hosts[].connectTimeoutSeconds`, `connectAttempts`, `buildTimeoutSeconds`, `commandTimeoutSeconds`", [D.connectTimeoutSeconds, D.connectAttempts, D.buildTimeoutSeconds, D.commandTimeoutSeconds].join(", ")],
      ["`profile.base`", code(D.profileBase)],
      ["`kernelConfigSources`", `${D.kernelConfigSources.slice(0, 2).map(code).join(", ")}, ...`],
      ["`storage`", [D.storage.modulesRoot, D.storage.persistence, D.storage.cacheDir, D.storage.workDir].map(code).join(", ")],
      ["`build.store.path`", code(D.storePath)],
      ["`allowUnreachableHosts`", code(D.allowUnreachableHosts)],
      ["`updates.gate`", code(D.updates.gate)],
      ["`updates.maxRebootHold`", code(D.updates.maxRebootHold)],
      ["`updates.afterMaxHold`", code(D.updates.afterMaxHold)],
      ["`updates.buildAhead`", code(D.updates.buildAhead)],
    ];
    for (const [field, value] of expected) expect([field, readme.get(field)]).toEqual([field, value]);
  });

  it("the Fleet's typed args say the same in their doc comments", () => {
    const expected: [string, string, string][] = [
      ["components/fleetArgs.ts", "port", `Default ${D.port}.`],
      ["components/fleetArgs.ts", "user", `Default ${code(D.user)}`],
      ["components/fleetArgs.ts", "auth", `Default \`{ privateKeyConfig: "${D.auth.privateKeyConfig}" }\``],
      ["components/fleetArgs.ts", "connectTimeoutSeconds", `Default ${D.connectTimeoutSeconds}.`],
      ["components/fleetArgs.ts", "connectAttempts", `Default ${D.connectAttempts}.`],
      ["components/fleetArgs.ts", "buildTimeoutSeconds", `Default ${D.buildTimeoutSeconds}.`],
      ["components/fleetArgs.ts", "commandTimeoutSeconds", `Default ${D.commandTimeoutSeconds}.`],
      ["components/fleetArgs.ts", "profile", `\`{ base: "${D.profileBase}" }\``],
      ["components/fleetArgs.ts", "kernelConfigSources", `Default ${D.kernelConfigSources.map(code).join(", ")}.`],
      ["components/fleetArgs.ts", "storage", `Defaults ${[D.storage.modulesRoot, D.storage.persistence, D.storage.cacheDir, D.storage.workDir].map(code).join(", ")}.`],
      ["components/fleetArgs.ts", "allowUnreachableHosts", `Default ${D.allowUnreachableHosts}.`],
      ["components/fleetArgTypes.ts", "modulesRoot", `Default ${code(D.storage.modulesRoot)}.`],
      ["components/fleetArgTypes.ts", "cacheDir", `Default ${code(D.storage.cacheDir)}.`],
      ["components/fleetArgTypes.ts", "workDir", `Default ${code(D.storage.workDir)}.`],
      ["components/fleetArgTypes.ts", "path", `Default ${code(D.storePath)}.`],
      ["components/fleetArgTypes.ts", "gate", `Default ${code(D.updates.gate)}.`],
      ["components/fleetArgTypes.ts", "maxRebootHold", `Default ${code(D.updates.maxRebootHold)}.`],
      ["components/fleetArgTypes.ts", "afterMaxHold", `Default ${code(D.updates.afterMaxHold)}.`],
      ["components/fleetArgTypes.ts", "buildAhead", `Default ${code(D.updates.buildAhead)}.`],
    ];
    for (const [file, field, says] of expected) expect([file, field, docOf(file, field)]).toEqual([file, field, expect.stringContaining(says)]);
  });

  it("a config that sets nothing optional resolves to them", () => {
    const fleet = resolveFleetConfig({ hosts: [{ name: "h1", address: "h1.example", hostKey: "SHA256:" + "A".repeat(43) }] });
    expect(fleet.hosts[0]).toMatchObject({ port: D.port, user: D.user, auth: D.auth, connectTimeoutSeconds: D.connectTimeoutSeconds, connectAttempts: D.connectAttempts, buildTimeoutSeconds: D.buildTimeoutSeconds, commandTimeoutSeconds: D.commandTimeoutSeconds });
    expect(fleet).toMatchObject({ kernelConfigSources: D.kernelConfigSources, storage: { ...D.storage, modulesWorkDir: `${D.storage.modulesRoot}.wd` }, build: { storePath: D.storePath }, allowUnreachableHosts: D.allowUnreachableHosts });
    expect(fleet.profile.sourcesCommand).toBeTruthy();
  });
});

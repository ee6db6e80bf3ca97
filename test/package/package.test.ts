// The package as a user gets it: `npm pack` (which builds dist/ through prepack), then
// `npm install --omit=dev --engine-strict <tarball>` in an empty folder, once with this
// machine's Node.js (20) and once with Node.js 24 (fetched by globalSetup.ts) first on PATH,
// so npm, the CLI, the program and Pulumi's language host all run that Node.js. Proves
// that the CLI, the library and the providers' analysis command run from compiled
// JavaScript with no devDependencies installed, that the Fleet component's providers still
// serialize, and that @pulumi/pulumi is the program's own (a peer dependency: one copy).
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { assertToolchain, pulumiBin, pulumiEnv, repoRoot } from "../../dev/toolchain/env";
import { withNode24 } from "../../dev/toolchain/node24";
import { MINI_TREE } from "../unit/kernel/tree";

// js-yaml and @types/node are not here: dependencies of @pulumi/pulumi bring them too.
const DEV_ONLY = ["tsx", "ts-node", "typescript", "vitest", "pulumi"];

// npm's own variables from `npm test` (npm_config_*) would leak into the nested npm calls.
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith("npm_"))) as NodeJS.ProcessEnv;

interface Runtime {
  /** Major version of Node.js the whole run uses. */
  major: number;
  env: NodeJS.ProcessEnv;
  /**
   * The user's own @pulumi/pulumi. With Node.js 24, a newer SDK than the one kmod-fleet is
   * developed with (3.248.0 is the last release whose engines allow Node.js 20).
   */
  sdk: string;
}

const RUNTIMES: Runtime[] = [
  { major: Number(process.versions.node.split(".")[0]), env: baseEnv, sdk: "3.248.0" },
  { major: 24, env: withNode24(baseEnv), sdk: "3.250.0" },
];

/** Every package folder name under node_modules, nested ones included. */
function packagesIn(dir: string, found = new Set<string>()): Set<string> {
  if (!fs.existsSync(dir)) return found;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name.startsWith(".")) continue;
    if (e.name.startsWith("@")) {
      for (const s of fs.readdirSync(path.join(dir, e.name))) {
        found.add(`${e.name}/${s}`);
        packagesIn(path.join(dir, e.name, s, "node_modules"), found);
      }
    } else {
      found.add(e.name);
      packagesIn(path.join(dir, e.name, "node_modules"), found);
    }
  }
  return found;
}

describe.each(RUNTIMES)("the packed package, installed without devDependencies, on Node.js $major", ({ major, env, sdk }) => {
  let tmp: string;
  let app: string;
  let installed: string;
  const npm = (args: string[], cwd: string) => execFileSync("npm", [...args, "--no-audit", "--no-fund"], { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const run = (cmd: string, args: string[], input?: string) => spawnSync(cmd, args, { cwd: app, env, encoding: "utf8", input });

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-package-"));
    app = path.join(tmp, "app");
    fs.mkdirSync(app);
    const pkg = { name: "app", version: "1.0.0", private: true, dependencies: { "@pulumi/pulumi": sdk } };
    fs.writeFileSync(path.join(app, "package.json"), JSON.stringify(pkg));
    // Packed once for the project (globalSetup.ts). --engine-strict: an engines range
    // without this Node.js fails the install instead of warning.
    npm(["install", "--omit=dev", "--engine-strict", "--prefer-offline", inject("tarball")], app);
    installed = path.join(app, "node_modules", "kmod-fleet");
  }, 300_000);
  afterAll(() => tmp && fs.rmSync(tmp, { recursive: true, force: true }));

  it(`runs Node.js ${major} for node and npm`, () => {
    expect(run("node", ["--version"]).stdout).toMatch(new RegExp(`^v${major}\\.`));
    expect(run("npm", ["exec", "--no", "--", "node", "-p", "process.versions.node"]).stdout).toMatch(new RegExp(`^${major}\\.`));
  });

  it("is publishable: not private, Apache-2.0 with its LICENSE text, a CHANGELOG", () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8"));
    expect(manifest.private).toBeUndefined();
    expect(manifest.license).toBe("Apache-2.0");
    expect(fs.readFileSync(path.join(installed, "LICENSE"), "utf8")).toMatch(/Apache License\s+Version 2\.0, January 2004[\s\S]*END OF TERMS AND CONDITIONS/);
    expect(fs.readFileSync(path.join(installed, "CHANGELOG.md"), "utf8")).toMatch(/^## \[0\.1\.0\]/m);
    // npm refuses to publish a private package even in a dry run (EPRIVATE).
    const r = spawnSync("npm", ["publish", "--dry-run", inject("tarball")], { cwd: tmp, env, encoding: "utf8" });
    expect(r.stderr).not.toMatch(/EPRIVATE|marked as private/);
    expect(r.status).toBe(0);
  });

  it("uses the program's own @pulumi/pulumi: one copy in the tree", () => {
    const copies = fs
      .readdirSync(path.join(app, "node_modules"), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith(path.join("@pulumi", "pulumi", "package.json")))
      .map((f) => JSON.parse(fs.readFileSync(path.join(app, "node_modules", f), "utf8")).version);
    expect(copies).toEqual([sdk]);
  });

  it("holds compiled JavaScript, declarations and the host scripts, not the TypeScript sources or tests", () => {
    // Every host script, where the providers read it at run time: next to its compiled provider.
    const hostScripts = ["components", "host"].flatMap((d) =>
      fs.readdirSync(path.join(repoRoot, d), { recursive: true }).map(String).filter((f) => f.endsWith(".sh")).map((f) => path.join("dist", d, f)),
    );
    expect(hostScripts).toEqual(expect.arrayContaining(["dist/host/scripts/prelude.sh", "dist/components/providers/moduleBuild/build.sh", "dist/components/providers/hostFacts/facts.sh"]));
    for (const f of ["dist/library.js", "dist/library.d.ts", "dist/bin/kmod-fleet.js", "dist/kernel/index.d.ts", ...hostScripts, "plugin/PulumiPlugin.yaml", "plugin/index.js", "plugin/index.ts"]) {
      expect(fs.existsSync(path.join(installed, f)), f).toBe(true);
    }
    expect(fs.existsSync(path.join(installed, "index.ts"))).toBe(false);
    // The component package for other languages names the package and its version.
    const manifest = (p: string) => JSON.parse(fs.readFileSync(path.join(installed, p), "utf8"));
    expect(manifest("plugin/package.json")).toMatchObject({ name: "kmod-fleet", version: manifest("package.json").version });
    expect(run("node", ["-p", `typeof require(${JSON.stringify(path.join(installed, "plugin"))}).Fleet`]).stdout.trim()).toBe("function");
    expect(fs.existsSync(path.join(installed, "test"))).toBe(false);
    expect(fs.existsSync(path.join(installed, "testbed"))).toBe(false);
    expect(fs.existsSync(path.join(installed, "dev"))).toBe(false);
  });

  it("has no devDependency in the installed tree", () => {
    const all = packagesIn(path.join(app, "node_modules"));
    expect(DEV_ONLY.filter((p) => all.has(p))).toEqual([]);
    expect(all.has("@pulumi/pulumi")).toBe(true);
  });

  it("npx kmod-fleet preflight --help prints the usage and exits 0", () => {
    const r = run("npx", ["--no-install", "kmod-fleet", "preflight", "--help"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage:\n {2}kmod-fleet preflight --source/);
  });

  it("npx kmod-fleet --version prints the package's version", () => {
    const r = run("npx", ["--no-install", "kmod-fleet", "--version"]);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(`kmod-fleet ${JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")).version}`);
  });

  it("the installed CLI runs the analysis: a dead end exits 1 with its report", () => {
    const src = path.join(tmp, "tree");
    for (const [p, text] of Object.entries(MINI_TREE)) {
      fs.mkdirSync(path.join(src, path.dirname(p)), { recursive: true });
      fs.writeFileSync(path.join(src, p), text);
    }
    fs.writeFileSync(path.join(tmp, "config"), "CONFIG_MODULES=y\n");
    // The first run parses (Kbuild in a worker thread) and caches; the second reads the cache.
    const cache = path.join(tmp, "cache");
    const args = ["--no-install", "kmod-fleet", "preflight", "--source", src, "--config", path.join(tmp, "config"), "--cache", cache, "I915=m"];
    const r = run("npx", args);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/DEAD END/);
    const parts = fs.readdirSync(cache, { recursive: true }).map(String).filter((f) => /\.(manifest|kconfig|kbuild)$/.test(f));
    expect(parts.map((f) => path.extname(f)).sort()).toEqual([".kbuild", ".kconfig", ".manifest"]);
    expect(run("npx", args)).toMatchObject({ status: 1, stdout: r.stdout, stderr: "" });
  });

  it("require(\"kmod-fleet\") exposes Fleet, the config validation and the kernel analysis; kmod-fleet/kernel too", () => {
    const r = run("node", ["-e", `
      const k = require("kmod-fleet");
      const kernel = require("kmod-fleet/kernel");
      console.log(JSON.stringify({ Fleet: typeof k.Fleet, resolve: typeof k.resolveFleetConfig, preflight: typeof k.kernel.preflight, sub: typeof kernel.preflight }));
    `]);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({ Fleet: "function", resolve: "function", preflight: "function", sub: "function" });
  });

  it("the providers run the analysis with the compiled CLI under this Node.js, not tsx", () => {
    const r = run("node", ["-p", `JSON.stringify(require(${JSON.stringify(path.join(installed, "dist/components/providers/preflightOnHost.js"))}).analysisCommand())`]);
    const cmd: string[] = JSON.parse(r.stdout);
    expect(path.basename(cmd[0])).toMatch(/^node/);
    expect(cmd.slice(1)).toEqual([path.join(fs.realpathSync(installed), "dist/bin/kmod-fleet.js")]);
    expect(run(cmd[0], [...cmd.slice(1), "--help"]).status).toBe(0);
  });

  it("a user's program runs Fleet from the package with the real CLI: the providers are serialized and run", async () => {
    // Pulumi's closure serializer loads the providers' helper modules by their path in the
    // package ("kmod-fleet/dist/host/hostStep.js"), which package.json's exports must
    // allow: mocks do not check that, the real engine does.
    assertToolchain();
    fs.mkdirSync(path.join(app, "mod"));
    fs.writeFileSync(path.join(app, "mod", "Makefile"), "obj-m += tiny.o\n");
    fs.writeFileSync(path.join(app, "index.js"), USER_PROGRAM);
    fs.writeFileSync(path.join(app, "Pulumi.yaml"), "name: app\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n");
    const penv = pulumiEnv({ base: env, backendUrl: `file://${path.join(tmp, "state")}` });
    fs.mkdirSync(path.join(tmp, "state"));
    const pulumi = (...args: string[]) => spawnSync(pulumiBin, [...args, "--non-interactive"], { cwd: app, env: penv, encoding: "utf8", timeout: 120_000 });
    expect(pulumi("stack", "init", "dev").status).toBe(0);
    const up = pulumi("up", "--yes", "--skip-preview");
    const out = `${up.stdout}\n${up.stderr}`;
    expect(out).not.toMatch(/unhandled exception|export path/);
    expect(out).toMatch(new RegExp(`program on Node\\.js v${major}\\.`));
    // The program could not probe the closed port; the facts provider, serialized from the
    // package and run in the provider process, fails its check with the reason.
    expect(up.status).not.toBe(0);
    expect(out).toMatch(/HostFacts \(h1-facts\):\s+error: \S+ resource 'h1-facts' has a problem: could not be probed, so nothing of it changed in this run [^\n]*: cannot reach core@127\.0\.0\.1:1 /);
  }, 150_000);
});

// A user's program in plain JavaScript: one host on a closed port (its address an Output),
// the key a secret, one module set.
const USER_PROGRAM = `
const pulumi = require("@pulumi/pulumi");
const { Fleet } = require("kmod-fleet");
console.log("program on Node.js " + process.version);
const f = new Fleet("fleet", {
  hosts: [{ name: "h1", address: pulumi.output("127.0.0.1"), port: 1, connectAttempts: 1, connectTimeoutSeconds: 2,
            auth: { privateKey: pulumi.secret("unused key") },
            hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHxAJ2iCgUCIyF7+uFqQ1y0NxBQ0v5yHUZ8Qp8sE1P2a" }],
  moduleSets: [{ name: "tiny", source: { dir: "mod" }, load: ["tiny"] }],
});
exports.hosts = f.summary;
`;

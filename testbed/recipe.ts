// What the test fleet is made of. Images are cached under a hash of this recipe and of
// the build scripts, so they are rebuilt only when one of them changes.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export interface TestKernel {
  /** `uname -r` */
  release: string;
  /** Debian package version of linux-image, linux-headers and linux-source-6.1. */
  debianVersion: string;
  /** The OS version this kernel ships with (an OS update brings its own kernel). */
  osVersion: string;
}

/** Installed kernel first, then the auto-update. */
export const KERNELS: readonly TestKernel[] = [
  { release: "6.1.0-50-cloud-amd64", debianVersion: "6.1.176-1", osVersion: "3975.2.0" },
  { release: "6.1.0-56-cloud-amd64", debianVersion: "6.1.192-2", osVersion: "3975.2.1" },
];

export const GROUP = "stable";
export const BOARD = "amd64-usr";

/**
 * The in-tree module the end-to-end tests enable: BFS (SCO UnixWare BFS) is a tristate
 * that the cloud config leaves unset, depends only on BLOCK (set), and its directory
 * has three C files. Its sources are kept in the developer container.
 */
export const IN_TREE = { option: "BFS_FS", directory: "fs/bfs", module: "bfs" } as const;

export const SOURCES_COMMAND = "kmod-fleet-sources";

export const TESTBED_DIR = __dirname;
export const REPO_DIR = path.resolve(__dirname, "..");

/** Root of everything the testbed builds or runs (gitignored). */
export function cacheDir(): string {
  return process.env.TESTBED_CACHE ?? path.join(REPO_DIR, ".cache", "testbed");
}

/** Debian packages a build needs, as `name=version`. */
export function kernelPackages(k: TestKernel): string[] {
  return [`linux-image-${k.release}=${k.debianVersion}`, `linux-headers-${k.release}=${k.debianVersion}`, `linux-source-6.1=${k.debianVersion}`];
}

function listFiles(p: string): string[] {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return [p];
  return fs
    .readdirSync(p)
    .sort()
    .flatMap((e) => listFiles(path.join(p, e)));
}

/** sha256 over file contents (with their relative paths) and extra recipe data; 12 hex digits. */
export function recipeHash(files: string[], extra: unknown): string {
  const h = crypto.createHash("sha256");
  h.update(JSON.stringify(extra));
  for (const f of files.flatMap(listFiles)) {
    h.update(path.relative(TESTBED_DIR, f));
    h.update("\0");
    h.update(fs.readFileSync(f));
    h.update("\0");
  }
  return h.digest("hex").slice(0, 12);
}

const img = (...p: string[]) => path.join(TESTBED_DIR, "images", ...p);

export function hostImageHash(): string {
  return recipeHash([img("build-host.sh"), img("common.sh"), img("host-files")], { KERNELS, GROUP, BOARD });
}

export function devContainerHash(): string {
  return recipeHash([img("build-devcontainer.sh"), img("common.sh"), img("kmod-fleet-sources")], { KERNELS: KERNELS.map((k) => [k.release, k.debianVersion]), IN_TREE });
}

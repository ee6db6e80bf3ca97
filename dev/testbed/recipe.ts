// What the test fleet is made of. Images are cached under a hash of this recipe and of
// the build scripts, so they are rebuilt only when one of them changes.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { IndexedKernel, packagesOf, testKernelChoice } from "./debianKernels";

export interface TestKernel extends IndexedKernel {
  /** The OS version this kernel ships with (an OS update brings its own kernel). */
  osVersion: string;
}

/** The Flatcar release each test kernel is dressed as, installed first. */
const OS_VERSIONS = ["3975.2.0", "3975.2.1"];

/**
 * The installed kernel first, then the auto-update: the two newest Debian cloud kernels
 * the apt index lists completely (dev/testbed/debianKernels.ts), or TESTBED_KERNELS.
 */
export function testKernels(): TestKernel[] {
  const kernels = testKernelChoice(path.join(cacheDir(), "kernels.json"));
  if (kernels.length > OS_VERSIONS.length) throw new Error(`the test fleet dresses ${OS_VERSIONS.length} kernels as Flatcar releases, got ${kernels.length}`);
  return kernels.map((k, i) => ({ ...k, osVersion: OS_VERSIONS[i] }));
}

export const GROUP = "stable";
export const BOARD = "amd64-usr";

/**
 * The in-tree module the end-to-end tests enable: SND_DUMMY, a tristate the cloud config
 * leaves unset; the cloud kernel has no sound core, so the request also needs SOUND, SND
 * and SND_DRIVERS, and its new modules span three directories.
 */
export const IN_TREE = {
  option: "SND_DUMMY",
  module: "snd_dummy",
  /**
   * What the trimmed developer container keeps whole (sources and private headers): the
   * sound core and drivers for SND_DUMMY (whose new modules span sound/, sound/core and
   * sound/drivers), and sound/'s own files (soundcore.c).
   */
  keep: ["sound/core", "sound/drivers", "sound/*.c"],
} as const;

export const SOURCES_COMMAND = "kmod-fleet-sources";

export const TESTBED_DIR = __dirname;
export const REPO_DIR = path.resolve(__dirname, "..", "..");

/** Root of everything the testbed builds or runs (gitignored). */
export function cacheDir(): string {
  return process.env.TESTBED_CACHE ?? path.join(REPO_DIR, ".cache", "testbed");
}

/** Debian packages a build needs, as `name=version`. */
export function kernelPackages(k: TestKernel): string[] {
  return packagesOf(k).map((p) => `${p}=${k.debianVersion}`);
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
  return recipeHash([img("build-host.sh"), img("common.sh"), img("host-files")], { KERNELS: testKernels(), GROUP, BOARD });
}

export function devContainerHash(): string {
  return recipeHash([img("build-devcontainer.sh"), img("common.sh"), img("kmod-fleet-sources")], { KERNELS: testKernels().map((k) => [k.release, k.debianVersion]), IN_TREE });
}

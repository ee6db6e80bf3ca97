// Builds and caches the fleet's images (host image, developer containers) and lays out
// the signed release directory the release server serves.
import * as fs from "node:fs";
import * as path from "node:path";
import { haveCommand, runOk } from "./exec";
import { BOARD, GROUP, IN_TREE, TESTBED_DIR, cacheDir, devContainerHash, hostImageHash, kernelPackages, testKernels } from "./recipe";
import { publishRelease, IMAGE_NAME } from "./releaseServer";
import { ensureSigningKey, SigningKey } from "./signingKey";
import { withCacheLock } from "./cacheLock";

export interface Images {
  /** base.qcow2, vmlinuz-<kver>, initrd.img-<kver> */
  hostDir: string;
  /** <kver>/flatcar_developer_container.bin.bz2 */
  devDir: string;
  /** <GROUP>/<BOARD>/<VERSION>/... */
  releaseRoot: string;
  key: SigningKey;
}

/** Commands the image build and the fleet need, with the Debian package providing each. */
export const PREREQUISITES: Record<string, string> = {
  "qemu-system-x86_64": "qemu-system-x86",
  "qemu-img": "qemu-utils",
  debootstrap: "debootstrap",
  "mkfs.ext4": "e2fsprogs",
  gpg: "gnupg",
  ssh: "openssh-client",
  "ssh-keygen": "openssh-client",
  bzip2: "bzip2",
  "apt-get": "apt",
};

/** What is missing to build and run the fleet, as sentences; empty when all is there. */
export function missingPrerequisites(): string[] {
  const missing: string[] = [];
  if (process.getuid && process.getuid() !== 0) missing.push("root privileges (debootstrap, chroot and loop-free mkfs.ext4 -d run as root)");
  for (const [cmd, pkg] of Object.entries(PREREQUISITES)) {
    if (!haveCommand(cmd)) missing.push(`command ${cmd} (Debian package ${pkg})`);
  }
  return missing;
}

const log = (msg: string) => process.stderr.write(`testbed: ${msg}\n`);

/**
 * Downloads each test kernel's packages (image, headers, linux-source) with apt-get into
 * a folder of its own, `debs/<release>/`, that holds exactly that kernel's version: a
 * download goes to a temporary folder first and is renamed into place only once complete,
 * so a half-finished fetch never looks finished and no glob can match two versions.
 */
export async function ensureKernelPackages(): Promise<string> {
  const root = path.join(cacheDir(), "debs");
  fs.mkdirSync(root, { recursive: true });
  for (const k of testKernels()) {
    const dir = path.join(root, k.release);
    const stamp = path.join(dir, ".version");
    if (fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8").trim() === k.debianVersion) continue;
    const wanted = kernelPackages(k);
    const tmp = fs.mkdtempSync(path.join(root, `.download-${k.release}-`));
    log(`downloading ${wanted.join(" ")}`);
    try {
      await runOk("apt-get", ["download", ...wanted], { cwd: tmp });
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw new Error(`could not download the kernel packages (${wanted.join(", ")}); run apt-get update first, and check that the Debian mirror still serves these versions.\n${(e as Error).message}`);
    }
    fs.writeFileSync(path.join(tmp, ".version"), `${k.debianVersion}\n`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  }
  // Kernels no longer chosen, interrupted downloads and the flat layout of older recipes go.
  const keep = new Set(testKernels().map((k) => k.release));
  for (const e of fs.readdirSync(root)) if (!keep.has(e)) fs.rmSync(path.join(root, e), { recursive: true, force: true });
  return root;
}

async function buildOnce(dir: string, what: string, script: string, args: string[]): Promise<void> {
  if (fs.existsSync(path.join(dir, ".complete"))) return;
  const started = Date.now();
  log(`building ${what} in ${dir} (several minutes)`);
  fs.rmSync(dir, { recursive: true, force: true });
  await runOk("nice", ["bash", path.join(TESTBED_DIR, "images", script), dir, ...args], { inheritStderr: true });
  const seconds = Math.round((Date.now() - started) / 1000);
  fs.writeFileSync(path.join(dir, ".complete"), JSON.stringify({ builtAt: new Date().toISOString(), seconds }) + "\n");
  log(`${what} built in ${seconds} s`);
}

/** Removes cached images of older recipes (they are large). */
function pruneOld(kind: string, keep: string): void {
  const root = path.join(cacheDir(), "images");
  for (const e of fs.existsSync(root) ? fs.readdirSync(root) : []) {
    if (e.startsWith(`${kind}-`) && e !== keep) fs.rmSync(path.join(root, e), { recursive: true, force: true });
  }
}

/**
 * Builds whatever is missing (host image and developer containers in parallel), then signs
 * and publishes; one process at a time (another waits, then finds the images built).
 */
export async function ensureImages(): Promise<Images> {
  const missing = missingPrerequisites();
  if (missing.length) throw new Error(`the test fleet cannot be built; missing: ${missing.join("; ")}. Install the packages listed in .ci/apt-packages.`);
  return withCacheLock(path.join(cacheDir(), "images.lock"), "the test fleet's images", buildMissingImages, log);
}

async function buildMissingImages(): Promise<Images> {
  const debs = await ensureKernelPackages();
  const hostName = `host-${hostImageHash()}`;
  const devName = `dev-${devContainerHash()}`;
  const hostDir = path.join(cacheDir(), "images", hostName);
  const devDir = path.join(cacheDir(), "images", devName);
  // A running fleet's disks are overlays on its base image: keep old images until `down`.
  if (!fs.existsSync(path.join(cacheDir(), "run", "fleet.json"))) {
    pruneOld("host", hostName);
    pruneOld("dev", devName);
  }
  const kernels = testKernels();
  await Promise.all([
    buildOnce(hostDir, "host image", "build-host.sh", [debs, GROUP, ...kernels.map((k) => `${k.release}=${k.osVersion}`)]),
    buildOnce(devDir, "developer containers", "build-devcontainer.sh", [debs, IN_TREE.keep.join(" "), ...kernels.map((k) => k.release)]),
  ]);
  const key = await ensureSigningKey(path.join(cacheDir(), "keys", "gnupg"));
  const releaseRoot = path.join(cacheDir(), "release");
  const stampFile = path.join(releaseRoot, ".published");
  // "facts": every release has version.txt and its contents listing (a tree without them is published again).
  const stamp = `${devName} ${key.fingerprint} facts\n`;
  if (!fs.existsSync(stampFile) || fs.readFileSync(stampFile, "utf8") !== stamp) {
    fs.rmSync(releaseRoot, { recursive: true, force: true });
    for (const k of kernels) {
      await publishRelease({ root: releaseRoot, group: GROUP, board: BOARD, version: k.osVersion, kernelRelease: k.release, image: path.join(devDir, k.release, IMAGE_NAME), key });
    }
    fs.writeFileSync(stampFile, stamp);
    log(`published and signed the developer containers under ${releaseRoot}`);
  }
  return { hostDir, devDir, releaseRoot, key };
}

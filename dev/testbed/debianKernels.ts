// Which Debian cloud kernels the test fleet runs, chosen from what the apt index lists
// today. Debian's security archive keeps only the newest uploads, so a pinned version
// disappears within weeks; the fleet therefore takes the two newest cloud ABIs for which
// the index serves the image, the headers and linux-source at one Debian version.
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** One kernel the index can give us: `uname -r` and the Debian version of its packages. */
export interface IndexedKernel {
  release: string;
  debianVersion: string;
}

/** What the index lists: package name -> versions. */
export type PackageVersions = ReadonlyMap<string, readonly string[]>;

export const SERIES = "6.1";
const FLAVOUR = "cloud-amd64";
export const SOURCE_PACKAGE = `linux-source-${SERIES}`;
const RELEASE_PATTERN = new RegExp(`^${SERIES.replace(".", "\\.")}\\.0-(\\d+)-${FLAVOUR}$`);

/** The three packages a test kernel needs, at one version. */
export function packagesOf(k: IndexedKernel): string[] {
  return [`linux-image-${k.release}`, `linux-headers-${k.release}`, SOURCE_PACKAGE];
}

/** Compares Debian versions with dpkg's own rules (`dpkg --compare-versions`) for the cases our packages use. */
export function compareDebianVersions(a: string, b: string): number {
  // Kernel package versions are `X.Y.Z-N` (sometimes `~bpo`/`+deb`): split into runs of
  // digits and non-digits, compare numerically and by dpkg's character order (~ first).
  const parts = (v: string) => v.match(/\d+|\D+/g) ?? [];
  const order = (c: string) => (c === "~" ? -1 : /[A-Za-z]/.test(c) ? c.charCodeAt(0) : c.charCodeAt(0) + 256);
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? "";
    const y = pb[i] ?? "";
    if (/^\d/.test(x) || /^\d/.test(y)) {
      const d = Number(x || 0) - Number(y || 0);
      if (d) return Math.sign(d);
      continue;
    }
    for (let j = 0; j < Math.max(x.length, y.length); j++) {
      const d = (j < x.length ? order(x[j]) : 0) - (j < y.length ? order(y[j]) : 0);
      if (d) return Math.sign(d);
    }
  }
  return 0;
}

/**
 * The test kernels from what the index lists: per cloud ABI, the newest version that the
 * image, the headers and linux-source all have; the two newest ABIs, older first (the
 * installed kernel, then its auto-update). Throws with what is missing when fewer than two
 * complete ABIs are listed.
 */
export function chooseKernels(index: PackageVersions, count = 2): IndexedKernel[] {
  const sources = new Set(index.get(SOURCE_PACKAGE) ?? []);
  const complete: IndexedKernel[] = [];
  const incomplete: string[] = [];
  const releases = [...index.keys()].map((n) => n.replace(/^linux-image-/, "")).filter((r) => RELEASE_PATTERN.test(r));
  for (const release of releases) {
    const headers = new Set(index.get(`linux-headers-${release}`) ?? []);
    const versions = [...(index.get(`linux-image-${release}`) ?? [])].filter((v) => headers.has(v) && sources.has(v)).sort(compareDebianVersions);
    if (versions.length) complete.push({ release, debianVersion: versions[versions.length - 1] });
    else incomplete.push(`${release} (image ${(index.get(`linux-image-${release}`) ?? []).join("/") || "-"}, headers ${[...headers].join("/") || "-"}, no ${SOURCE_PACKAGE} at the same version)`);
  }
  const abi = (k: IndexedKernel) => Number(RELEASE_PATTERN.exec(k.release)![1]);
  complete.sort((a, b) => abi(b) - abi(a));
  if (complete.length < count) {
    const listed = sources.size ? `${SOURCE_PACKAGE} ${[...sources].join(", ")}` : `no ${SOURCE_PACKAGE}`;
    throw new Error(
      `the apt index lists ${complete.length} complete ${SERIES} ${FLAVOUR} kernel(s), the test fleet needs ${count} ` +
        `(linux-image-<abi>-${FLAVOUR}, linux-headers-<abi>-${FLAVOUR} and ${SOURCE_PACKAGE} at one Debian version).\n` +
        `  listed: ${listed}\n` +
        (incomplete.length ? `  incomplete: ${incomplete.join("; ")}\n` : "") +
        `  run 'apt-get update' (bookworm and bookworm-security in the machine's sources), or set TESTBED_KERNELS=<release>=<version>,<release>=<version>`,
    );
  }
  return complete.slice(0, count).reverse();
}

/** `TESTBED_KERNELS=6.1.0-50-cloud-amd64=6.1.176-1,6.1.0-56-cloud-amd64=6.1.192-2`: installed first. */
export function parseOverride(value: string): IndexedKernel[] {
  const kernels = value.split(",").map((spec) => {
    const m = /^([0-9][0-9a-z.+-]*)=([0-9][0-9A-Za-z.+~:-]*)$/.exec(spec.trim());
    if (!m) throw new Error(`TESTBED_KERNELS: '${spec}' is not <release>=<debian version>`);
    return { release: m[1], debianVersion: m[2] };
  });
  if (kernels.length < 2 || new Set(kernels.map((k) => k.release)).size !== kernels.length) {
    throw new Error("TESTBED_KERNELS: give at least two distinct kernels, the installed one first");
  }
  return kernels;
}

/** Parses `apt-cache madison` lines (`name | version | source`). */
export function parseMadison(text: string): Map<string, string[]> {
  const index = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const [name, version] = line.split("|").map((s) => s.trim());
    if (!name || !version) continue;
    const list = index.get(name) ?? [];
    if (!list.includes(version)) list.push(version);
    index.set(name, list);
  }
  return index;
}

const APT_LISTS = "/var/lib/apt/lists";

/** Identity of the apt index on this machine: its list files with their sizes and times. */
function indexIdentity(): string {
  const h = crypto.createHash("sha256");
  for (const f of fs.existsSync(APT_LISTS) ? fs.readdirSync(APT_LISTS).sort() : []) {
    const st = fs.statSync(path.join(APT_LISTS, f));
    if (st.isFile()) h.update(`${f} ${st.size} ${st.mtimeMs}\n`);
  }
  return h.digest("hex");
}

/** Reads the versions of every cloud kernel package and of linux-source from the machine's apt index. */
export function readIndex(): PackageVersions {
  const apt = (args: string[]) => execFileSync("apt-cache", args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, stdio: ["ignore", "pipe", "pipe"] });
  const releases = apt(["pkgnames", `linux-image-${SERIES}.0-`])
    .split("\n")
    .map((n) => n.replace(/^linux-image-/, ""))
    .filter((r) => RELEASE_PATTERN.test(r));
  const names = [SOURCE_PACKAGE, ...releases.flatMap((r) => [`linux-image-${r}`, `linux-headers-${r}`])];
  return parseMadison(apt(["madison", ...names]));
}

let chosen: IndexedKernel[] | undefined;

/**
 * The test kernels, installed first: from TESTBED_KERNELS when set, else from the apt
 * index (cached in `cacheFile` for as long as the index files are unchanged, because
 * apt-cache takes seconds and every testbed command needs the answer).
 */
export function testKernelChoice(cacheFile: string): IndexedKernel[] {
  if (chosen) return chosen;
  if (process.env.TESTBED_KERNELS) return (chosen = parseOverride(process.env.TESTBED_KERNELS));
  const identity = indexIdentity();
  try {
    const cached = JSON.parse(fs.readFileSync(cacheFile, "utf8"));
    if (cached.identity === identity) return (chosen = cached.kernels as IndexedKernel[]);
  } catch {
    // No cache yet, or unreadable: ask apt.
  }
  let index: PackageVersions;
  try {
    index = readIndex();
  } catch (e) {
    throw new Error(`could not read the apt index with apt-cache (needed to choose the test fleet's kernels): ${(e as Error).message}`);
  }
  chosen = chooseKernels(index);
  fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
  fs.writeFileSync(cacheFile, JSON.stringify({ identity, kernels: chosen }, null, 2) + "\n");
  return chosen;
}

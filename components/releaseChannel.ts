// What the hosts' update channels serve now, read from the release server the way Flatcar
// publishes it: per group and board, `current/version.txt` names the channel's release, and
// each release's `flatcar_production_image_contents.txt` lists its image's files, among them
// `./usr/lib/modules/<kernel release>/`. With `updates.buildAhead`, the program reads both on
// every run, so that a release is built before any host stages it: its kernel is learned
// from the published release, not from a host. A server that does not answer is a warning:
// the hosts build when they stage the release, as without buildAhead.
import { PLAIN_NAME, PLAIN_NAME_MAX } from "../config/names";
import type { Profile } from "../config/profiles";
import type { PublishedRelease } from "./plan/buildPlan";

/** A host's channel: update.conf's GROUP and the release's board. */
export interface Channel {
  group: string;
  board: string;
}

/** Each request's bound: the program waits for it before anything is planned. */
const TIMEOUT_MS = 20_000;
/** A contents listing is some megabytes; more than this is not one. */
const MAX_LISTING_BYTES = 64 * 1024 * 1024;

/** `uname -m` of a board's hosts. */
const ARCH_OF_BOARD: Record<string, string> = { "amd64-usr": "x86_64", "arm64-usr": "aarch64" };

const MODULES_FOLDER = /\s\.\/usr\/lib\/modules\/([^/\s]+)\//;

function fill(template: string, values: Record<string, string>): string {
  return Object.entries(values).reduce((url, [k, v]) => url.replaceAll("${" + k + "}", encodeURIComponent(v)), template);
}

const plainName = (v: string) => v.length <= PLAIN_NAME_MAX && PLAIN_NAME.test(v);

async function get(url: string): Promise<Response> {
  const r = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS), redirect: "follow" });
  if (!r.ok) throw new Error(`${url} answered ${r.status} ${r.statusText}`);
  return r;
}

/** The channel's current version, from FLATCAR_VERSION (or COREOS_VERSION) in version.txt. */
async function currentVersion(url: string): Promise<string> {
  const text = (await (await get(url)).text()).slice(0, 64 * 1024);
  const version = /^(?:FLATCAR|COREOS)_VERSION=["']?([^"'\s]*)/m.exec(text)?.[1] ?? "";
  if (!plainName(version)) throw new Error(`${url} names no usable FLATCAR_VERSION (read ${JSON.stringify(version.slice(0, 80))})`);
  return version;
}

/** The kernel release the listing's image ships: read line by line until its modules folder shows. */
async function kernelOfRelease(url: string): Promise<string> {
  const body = (await get(url)).body;
  if (!body) throw new Error(`${url} sent no body`);
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let pending = "";
  let read = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (value) {
        read += value.length;
        pending += decoder.decode(value, { stream: true });
      }
      const lines = pending.split("\n");
      pending = done ? "" : lines.pop()!;
      for (const line of lines) {
        const kernel = MODULES_FOLDER.exec(line)?.[1];
        if (kernel) {
          if (!plainName(kernel)) throw new Error(`${url} lists a kernel folder kmod-fleet refuses: ${JSON.stringify(kernel.slice(0, 80))}`);
          return kernel;
        }
      }
      if (done) break;
      if (read > MAX_LISTING_BYTES) throw new Error(`${url} is over ${MAX_LISTING_BYTES} bytes without naming a kernel`);
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  throw new Error(`${url} lists no ./usr/lib/modules/<kernel>/ folder`);
}

/** The release each channel serves now, with its kernel; a channel that cannot be read is a warning. */
export async function publishedReleases(profile: Pick<Profile, "currentReleaseUrl" | "releaseContentsUrl">, channels: readonly Channel[]): Promise<{ releases: PublishedRelease[]; warnings: string[] }> {
  const releases: PublishedRelease[] = [];
  const warnings: string[] = [];
  const seen = new Set<string>();
  for (const c of channels) {
    const key = `${c.group}/${c.board}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const arch = ARCH_OF_BOARD[c.board];
    if (!arch) {
      warnings.push(`nothing is built ahead for the ${key} channel: kmod-fleet does not know the architecture of board ${c.board} (it knows ${Object.keys(ARCH_OF_BOARD).join(", ")})`);
      continue;
    }
    try {
      const osVersion = await currentVersion(fill(profile.currentReleaseUrl, { GROUP: c.group, BOARD: c.board }));
      const kernelRelease = await kernelOfRelease(fill(profile.releaseContentsUrl, { GROUP: c.group, BOARD: c.board, VERSION: osVersion }));
      releases.push({ group: c.group, board: c.board, osVersion, kernelRelease, arch });
    } catch (e: any) {
      const cause = e?.cause ? `: ${e.cause.message ?? e.cause}` : "";
      const why = e?.name === "TimeoutError" ? `no answer within ${TIMEOUT_MS / 1000} s` : `${e?.message ?? e}${cause}`;
      warnings.push(`nothing is built ahead for the ${key} channel this run: its published release could not be read: ${why}`);
    }
  }
  return { releases, warnings };
}

// Values a host reports about itself (kernel release, OS version, board, update group)
// become parts of paths, URLs and file names on that host. A host that answers nonsense
// (`VERSION=../../../../etc` in a release file) must fail with a clear message, never make
// kmod-fleet touch a path outside its own folders. The host scripts check again.
import { isPlainAbsolutePath } from "../config/paths";

/** One plain name: no '/', not starting with '.' or '-', no spaces, globs or quotes. */
export const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9._+~-]*$/;

interface Rule {
  what: string;
  ok: (v: string) => boolean;
}

const plain = (what: string): Rule => ({ what, ok: (v) => PLAIN_NAME.test(v) });
/** Release values may be missing (a host that is not Flatcar); the steps that need them refuse then. */
const plainOrMissing = (what: string): Rule => ({ what, ok: (v) => v === "" || PLAIN_NAME.test(v) });

const RULES: Record<string, Rule> = {
  kernelRelease: plain("kernel release (uname -r)"),
  arch: { what: "architecture (uname -m)", ok: (v) => /^[A-Za-z0-9_]+$/.test(v) },
  bootId: { what: "boot id", ok: (v) => /^[0-9a-f-]+$/.test(v) },
  osId: { what: "OS id (ID in /etc/os-release)", ok: (v) => /^[A-Za-z0-9._-]*$/.test(v) },
  osVersion: plainOrMissing("OS version"),
  board: plainOrMissing("board"),
  group: plainOrMissing("update group"),
  kernelConfig: { what: "kernel config path", ok: (v) => v === "" || isPlainAbsolutePath(v) },
  stagedOsVersion: plainOrMissing("staged OS version"),
  stagedKernelRelease: plainOrMissing("staged kernel release"),
  bootSlot: { what: "boot slot", ok: (v) => /^[a-d]?$/.test(v) },
  stagedSlot: { what: "staged boot slot", ok: (v) => /^[a-d]?$/.test(v) },
};

/**
 * Throws one error listing every value the host reported that cannot be used, naming the
 * host, the value and where it came from. `sources` says where a field was read.
 */
export function checkHostValues(host: string, values: Record<string, string>, sources: Record<string, string> = {}): void {
  const bad = Object.entries(RULES)
    .filter(([k, rule]) => k in values && !rule.ok(values[k]))
    .map(([k, rule]) => `  ${rule.what} ${JSON.stringify(values[k])}${sources[k] ? ` (${sources[k]})` : ""}`);
  if (bad.length > 0) {
    throw new Error(
      `${host}: the host reported values kmod-fleet refuses to use (they become parts of paths and URLs on the host):\n${bad.join("\n")}\n` +
        `expected plain names of letters, digits, '.', '_', '+', '-' (not starting with '.' or '-'); fix the host's release files or the profile's variables`,
    );
  }
}

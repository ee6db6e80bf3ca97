// Values a host reports about itself (kernel release, OS version, board, update group)
// become parts of paths, URLs and file names on that host. A host that answers nonsense
// (`VERSION=../../../../etc` in a release file) must fail with a clear message, never make
// kmod-fleet touch a path outside its own folders. The host scripts check again, with the
// same rules (host/scripts/prelude.sh).
import { isPlainAbsolutePath } from "../config/paths";
import { PLAIN_NAME, PLAIN_NAME_MAX as NAME_MAX } from "../config/names";

interface Rule {
  what: string;
  ok: (v: string) => boolean;
  /** Characters at most: a host's answer is bounded like the config's values. */
  max: number;
}

const plain = (what: string): Rule => ({ what, ok: (v) => PLAIN_NAME.test(v), max: NAME_MAX });
/** Release values may be missing (a host that is not Flatcar); the steps that need them refuse then. */
const plainOrMissing = (what: string): Rule => ({ what, ok: (v) => v === "" || PLAIN_NAME.test(v), max: NAME_MAX });

const RULES: Record<string, Rule> = {
  kernelRelease: plain("kernel release (uname -r)"),
  arch: { what: "architecture (uname -m)", ok: (v) => /^[A-Za-z0-9_]+$/.test(v), max: NAME_MAX },
  bootId: { what: "boot id", ok: (v) => /^[0-9a-f-]+$/.test(v), max: 36 },
  osId: { what: "OS id (ID in /etc/os-release)", ok: (v) => /^[A-Za-z0-9._-]*$/.test(v), max: NAME_MAX },
  osVersion: plainOrMissing("OS version"),
  board: plainOrMissing("board"),
  group: plainOrMissing("update group"),
  // The bound of the config's paths (config/schema.ts, LIMITS.path).
  kernelConfig: { what: "kernel config path", ok: (v) => v === "" || isPlainAbsolutePath(v), max: 1024 },
  stagedOsVersion: plainOrMissing("staged OS version"),
  stagedKernelRelease: plainOrMissing("staged kernel release"),
  bootSlot: { what: "boot slot", ok: (v) => /^[a-d]?$/.test(v), max: 1 },
  stagedSlot: { what: "staged boot slot", ok: (v) => /^[a-d]?$/.test(v), max: 1 },
  otherSlot: { what: "other boot slot", ok: (v) => /^[a-d]?$/.test(v), max: 1 },
  otherKernelRelease: plainOrMissing("other slot's kernel release"),
};

/** A value as a message shows it: quoted, and cut short when a host sent pages of it. */
function shown(v: string): string {
  return v.length > 100 ? `${JSON.stringify(v.slice(0, 100))}... (${v.length} characters)` : JSON.stringify(v);
}

/**
 * Throws one error listing every value the host reported that cannot be used, naming the
 * host, the value and where it came from. `sources` says where a field was read.
 */
export function checkHostValues(host: string, values: Record<string, string>, sources: Record<string, string> = {}): void {
  const bad = Object.entries(RULES)
    .filter(([k, rule]) => k in values && (values[k].length > rule.max || !rule.ok(values[k])))
    .map(([k, rule]) => `  ${rule.what} ${shown(values[k])}${sources[k] ? ` (${sources[k]})` : ""}${values[k].length > rule.max ? `: longer than ${rule.max} characters` : ""}`);
  if (bad.length > 0) {
    throw new Error(
      `${host}: the host reported values kmod-fleet refuses to use (they become parts of paths and URLs on the host):\n${bad.join("\n")}\n` +
        `expected plain names of letters, digits, '.', '_', '+', '-' (not starting with '.' or '-'); fix the host's release files or the profile's variables`,
    );
  }
}

/**
 * Reads a kernel .config: `CONFIG_X=y|m|<number>|"string"` and `# CONFIG_X is not set`.
 * Names are kept without the CONFIG_ prefix. "is not set" is stored as "n": for Kconfig it
 * is a user value (the symbol keeps n even where a default would say y), unlike a missing
 * line. A later line overrides an earlier one, as in the kernel (and moves to the end, so
 * map order is "last assignment" order, which decides choices set twice).
 */
export type ConfigValues = Map<string, string>;

const SET = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/;
const UNSET = /^# CONFIG_([A-Za-z0-9_]+) is not set/;

export function parseDotConfig(text: string): ConfigValues {
  const out: ConfigValues = new Map();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    let m = SET.exec(line);
    if (m) {
      out.delete(m[1]);
      out.set(m[1], unquote(m[2]));
      continue;
    }
    m = UNSET.exec(line);
    if (m) {
      out.delete(m[1]);
      out.set(m[1], "n");
    }
  }
  return out;
}

function unquote(v: string): string {
  if (!v.startsWith('"')) return v;
  return v.slice(1, v.endsWith('"') ? -1 : undefined).replace(/\\(.)/g, "$1");
}

/** "CONFIG_DRM_I915=m", "drm_i915=m", "DRM=y" → {name:"DRM_I915", value:"m"}; value defaults to m. */
export function parseAssignment(arg: string): { name: string; value: string } | undefined {
  const m = /^(?:CONFIG_)?([A-Za-z0-9_]+)(?:=([ymn]|.+))?$/i.exec(arg.trim());
  if (!m) return undefined;
  return { name: m[1].toUpperCase(), value: m[2] ?? "m" };
}

/**
 * A .config text with the given assignments applied: existing lines for those options are
 * removed and the new values appended. Handy for writing the config a build then uses.
 */
export function applyAssignments(text: string, values: { name: string; value: string }[]): string {
  const names = new Set(values.map((v) => v.name));
  const kept = text.split("\n").filter((l) => {
    const m = SET.exec(l.trim()) ?? UNSET.exec(l.trim());
    return !(m && names.has(m[1]));
  });
  while (kept.length && kept[kept.length - 1] === "") kept.pop();
  for (const v of values) kept.push(v.value === "n" ? `# CONFIG_${v.name} is not set` : `CONFIG_${v.name}=${v.value}`);
  return kept.join("\n") + "\n";
}

/**
 * Why a text is not a kernel .config, or undefined when it is one: binary data (a NUL
 * byte, or text that is not UTF-8), or no `CONFIG_X=...` / `# CONFIG_X is not set` line at
 * all. Without this check a wrong file reads as "every option off" and gives a confident answer.
 */
export function notAConfig(text: string): string | undefined {
  if (text.includes("\u0000") || text.includes("\ufffd")) return "binary data, not a kernel .config";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (SET.test(line) || UNSET.test(line)) return undefined;
  }
  return "no CONFIG_ lines: not a kernel .config";
}

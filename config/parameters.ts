// A module set's parameters as /etc/modprobe.d `options` lines and modprobe arguments.
// Module names are equivalent under '-' and '_' (the kernel folds '-' to '_'); load.sh
// finds a module's parameters by the name it loads, so each parameters entry is keyed by
// the spelling `load` uses. Parameters only reach the modules the set loads by name: a
// module modprobe pulls in as a dependency is loaded before the options file is written.
import { LIMITS, RESERVED_KEYS, type ModuleSetConfig } from "./schema";

const fold = (module: string) => module.replaceAll("-", "_");

function valueText(v: string | number | boolean): string {
  return typeof v === "boolean" ? (v ? "1" : "0") : String(v);
}

/** module (as `load` spells it) -> "k=v k2=v2"; every problem is added to `problems`. */
export function resolveParameters(s: ModuleSetConfig, at: string, problems: string[]): Record<string, string> {
  const loaded = new Map((s.load ?? []).map((m) => [fold(m), m]));
  const given = new Map<string, string>(); // folded name -> the key as written
  const out: Record<string, string> = {};
  for (const [mod, params] of Object.entries(s.parameters ?? {})) {
    const name = loaded.get(fold(mod));
    const before = given.get(fold(mod));
    if (name === undefined) {
      problems.push(`${at}.parameters.${mod}: module "${mod}" is not in load; parameters are given to the modules the set loads (add it to load, before the modules that need it)`);
    } else if (before !== undefined) {
      problems.push(`${at}.parameters.${mod}: the same module as parameters.${before} ('-' and '_' are the same in module names); give its parameters in one place`);
    } else {
      given.set(fold(mod), mod);
      out[name] = Object.entries(params)
        .map(([k, v]) => `${k}=${valueText(v)}`)
        .join(" ");
    }
  }
  const size = Object.entries(out).reduce((n, [m, line]) => n + m.length + line.length + 2, 0);
  if (size > LIMITS.parameterLines) {
    problems.push(`${at}.parameters: ${size} characters of options lines; at most ${LIMITS.parameterLines} (they reach the host in one command's environment)`);
  }
  return out;
}

/**
 * Names in a raw parameters record that the schema never sees: a record drops `__proto__`
 * silently (it would set the parsed object's prototype), so it is looked for in the input.
 */
export function reservedParameterKeys(rawSets: unknown, problems: string[]): void {
  const own = (v: unknown): Record<string, unknown> => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  const refuse = (path: string) => problems.push(`${path}: "__proto__" is not a module or parameter name (reserved: ${RESERVED_KEYS.join(", ")})`);
  (Array.isArray(rawSets) ? rawSets : []).forEach((set, i) => {
    const params = own(own(set).parameters);
    for (const mod of Object.keys(params)) {
      if (mod === "__proto__") refuse(`moduleSets[${i}].parameters.__proto__`);
      else for (const k of Object.keys(own(params[mod]))) if (k === "__proto__") refuse(`moduleSets[${i}].parameters.${mod}.__proto__`);
    }
  });
}

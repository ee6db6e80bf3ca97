// What one verb of a host script is sent as: its environment, exactly the variables the
// verbs table lists for it, and its text, the prelude, the checks of those variables, the
// host lock when the verb takes it, and the script.
import { HOST_SCRIPTS, type EnvSpec, type ScriptName, type VerbName, type VerbValues } from "./verbs";
import { preludeScript, type HostScript } from "./index";

/** The environment of a verb: ACTION and the listed variables, from `values` (a missing one is a bug of the caller). */
export function verbEnv<S extends ScriptName, V extends VerbName<S>>(script: S, verb: V, values: VerbValues<S, V>): Record<string, string> {
  const env: Record<string, string> = { ACTION: verb };
  const spec = HOST_SCRIPTS[script][verb] as { env: readonly EnvSpec[] };
  for (const e of spec.env) {
    const v = (values as Record<string, string | undefined>)[e.name];
    if (typeof v === "string") env[e.name] = v;
    else if (!e.optional) throw new Error(`kmod-fleet: ${script}.sh ${verb} needs ${e.name}, and the caller has no value for it`);
  }
  return env;
}

const quoted = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** The prelude's checks of a verb's variables, each one sent (optional ones only when given). */
export function verbChecks(env: readonly EnvSpec[]): string {
  return env
    .filter((e) => e.kind !== "text")
    .map((e) => {
      const check = `${e.list ? "check_words" : "check_value"} ${e.kind} ${quoted(e.what)} ${e.name} "\${${e.name}-}"`;
      return e.optional ? `[ -z "\${${e.name}+set}" ] || ${check}\n` : `${check}\n`;
    })
    .join("");
}

/** The text sent for a verb; `lockPreamble` is the host lock's, for a verb that takes it. */
export function verbText<S extends ScriptName>(script: HostScript<S>, verb: VerbName<S>, lockPreamble: string): string {
  const spec = HOST_SCRIPTS[script.name][verb] as { lock: boolean; env: readonly EnvSpec[] };
  const checks = verbChecks(spec.env);
  return `${preludeScript}\n# The checks of ${script.name}.sh ${verb}'s environment (host/scripts/verbs.ts).\n${checks}\n${spec.lock ? lockPreamble : ""}${script.body}`;
}

// Runs one verb of the host scripts in components/scripts as a named step: progress lines
// go to Pulumi's log with the host's name, results come back as key=value pairs, and a
// failure becomes an error that names the host and the step and shows the end of the output.
// The verbs table (host/scripts/verbs.ts) says what the verb is sent and whether it
// takes the host lock.
import { runScript, type ConnectionSpec } from "./ssh/session";
import { progress } from "./progress";
import { lockPreamble, runIdentity } from "./hostLock";
import type { HostScript } from "./scripts";
import { verbEnv, verbText } from "./scripts/verbScript";
import { HOST_SCRIPTS, type ScriptName, type VerbName, type VerbValues } from "./scripts/verbs";

export interface StepResult {
  values: Record<string, string>;
  /** Every value of a repeated key, e.g. one `module=` line per module. */
  lists: Record<string, string[]>;
  stdout: string;
}

export function parseKeyValues(stdout: string): Omit<StepResult, "stdout"> {
  const values: Record<string, string> = {};
  const lists: Record<string, string[]> = {};
  for (const line of stdout.split("\n")) {
    const m = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    if (!m) continue;
    values[m[1]] = m[2];
    (lists[m[1]] ??= []).push(m[2]);
  }
  return { values, lists };
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

export async function hostStep<S extends ScriptName, V extends VerbName<S>>(
  conn: ConnectionSpec,
  what: string,
  script: HostScript<S>,
  verb: V,
  values: VerbValues<S, V>,
  timeoutSeconds: number,
): Promise<StepResult> {
  const env = verbEnv(script.name, verb, values);
  // A verb that changes the host holds the host lock for its whole run.
  if ((HOST_SCRIPTS[script.name][verb] as { lock: boolean }).lock) {
    const run = runIdentity(conn.stack);
    Object.assign(env, { KMOD_FLEET_RUN: run.id, KMOD_FLEET_RUN_INFO: run.info });
  }
  return runStep(conn, what, verbText(script, verb, lockPreamble()), env, timeoutSeconds);
}

/** A one-line command that only reads (no prelude, no lock), e.g. `uname -m`. */
export function hostCommand(conn: ConnectionSpec, what: string, command: string, env: Record<string, string>, timeoutSeconds: number): Promise<StepResult> {
  return runStep(conn, what, command, env, timeoutSeconds);
}

async function runStep(conn: ConnectionSpec, what: string, script: string, env: Record<string, string>, timeoutSeconds: number): Promise<StepResult> {
  progress(conn.host, what);
  const r = await runScript(conn, script, {
    env,
    timeoutSeconds,
    onLine: (line) => {
      if (line.startsWith("progress: ")) progress(conn.host, line.slice("progress: ".length));
      else if (/^ {2}(CC|LD) \[M\] /.test(line)) progress(conn.host, line.trim());
    },
  });
  if (r.code !== 0) {
    const detail = tail(r.stderr || r.stdout, 45);
    throw new Error(`${conn.host}: ${what} failed (exit ${r.code})${detail ? `:\n${detail}` : ""}`);
  }
  return { ...parseKeyValues(r.stdout), stdout: r.stdout };
}

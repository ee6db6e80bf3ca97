// Runs one of the host scripts in components/scripts as a named step: progress lines go to
// Pulumi's log with the host's name, results come back as key=value pairs, and a failure
// becomes an error that names the host and the step and shows the end of the output.
import { runScript, type ConnectionSpec } from "../ssh/session";
import { progress } from "./progress";
import { isMutating, lockPreamble, runIdentity } from "./hostLock";

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

export async function hostStep(conn: ConnectionSpec, what: string, script: string, env: Record<string, string>, timeoutSeconds: number): Promise<StepResult> {
  progress(conn.host, what);
  // Mutating steps hold the host lock for their whole run.
  const run = runIdentity(conn.stack);
  const locked = isMutating(env);
  const r = await runScript(conn, locked ? lockPreamble() + script : script, {
    env: locked ? { ...env, KMOD_FLEET_RUN: run.id, KMOD_FLEET_RUN_INFO: run.info } : env,
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

/**
 * A dead end is not always the request's own fault. Often the built-in-only option comes
 * in through an optional switch that the request merely turned on: a visible bool with
 * `default y` under the driver (a driver's `..._ALLOW_...` or feature switch) that selects
 * it, or the first branch of an `A || B` dependency the preflight picked. Then the same
 * request with that switch left off (`X=n`) can work, and an operator wants to hear that
 * instead of "boot a new kernel".
 *
 * Candidates are the options on the dead ends' neededBy chains (and the dead-end options
 * themselves) that are not requested and that a user can set (they have a visible prompt
 * in the requested config). Each is tried alone with `=n`; if none works alone, all of them
 * together, then dropped one by one while the rest still works (an option that a select
 * keeps on is not tried alone). A variant works when the preflight says ok or no-op, every
 * original request keeps its value and every switch really stays off. At most MAX_RUNS
 * preflights are spent, each stopping at its first conflict.
 */
import type { PreflightResult } from "./preflight";

export interface Alternative {
  /** The whole request that works: the original options and the switches left off. */
  requests: string[];
  /** The optional options left off (`X=n`), with their prompt text. */
  off: { option: string; prompt?: string }[];
  verdict: "ok" | "no-op";
  /** Dead-end options of the original request that this variant no longer turns on. */
  avoids: string[];
  /** Dependencies the variant adds (`A=y`), e.g. the other branch of an `A || B`. */
  added: string[];
  changes: number;
}

const MAX_RUNS = 12;
const MAX_CANDIDATES = 8;

export interface AlternativeSearch {
  /** The original result (a dead end with deadEnds). */
  result: PreflightResult;
  /** Runs the preflight on a request list, without searching alternatives again. */
  run: (requests: string[]) => PreflightResult;
  /** Whether a user can set this option in the requested config (a visible bool/tristate). */
  settable: (option: string) => boolean;
  /** The option's prompt text, for the report. */
  promptOf: (option: string) => string | undefined;
  /** Whether a select keeps the option on in the requested config (then it cannot be n alone). */
  forced: (option: string) => boolean;
}

export function findAlternatives({ result, run, settable, promptOf, forced }: AlternativeSearch): Alternative[] {
  if (result.verdict !== "dead-end" || result.deadEnds.length === 0) return [];
  const requested = new Set(result.requests.map((q) => q.option));
  const original = result.requests.map((q) => `${q.option}=${q.value}`);
  const candidates: string[] = [];
  for (const d of result.deadEnds) {
    for (const name of [...d.neededBy.filter((n) => n.how !== "request").map((n) => n.option), d.option]) {
      if (!requested.has(name) && !candidates.includes(name) && settable(name)) candidates.push(name);
    }
  }
  if (candidates.length === 0) return [];
  const tried = candidates.slice(0, MAX_CANDIDATES);

  let runs = 0;
  const attempt = (off: string[]): Alternative | undefined => {
    if (runs++ >= MAX_RUNS) return undefined;
    const r = run([...original, ...off.map((o) => `${o}=n`)]);
    if (r.verdict !== "ok" && r.verdict !== "no-op") return undefined;
    const kept = result.requests.every((q) => r.requests.find((x) => x.option === q.option)?.result === q.result);
    const staysOff = off.every((o) => r.requests.find((x) => x.option === o)?.result === "n");
    if (!kept || !staysOff) return undefined;
    const on = new Set(r.changes.filter((c) => c.to !== "n" && c.to !== null).map((c) => c.option));
    return {
      requests: [...original, ...off.map((o) => `${o}=n`)],
      off: off.map((option) => ({ option, prompt: promptOf(option) })),
      verdict: r.verdict,
      avoids: result.deadEnds.map((d) => d.option).filter((o) => !on.has(o)),
      added: r.added.map((a) => `${a.option}=${a.value}`),
      changes: r.changes.length,
    };
  };

  // Alone, an option a select keeps on stays on: only worth trying together with the others.
  const singles = tried.filter((c) => !forced(c)).map((c) => attempt([c])).filter((a): a is Alternative => a !== undefined);
  if (singles.length || tried.length === 1) return singles.slice(0, 3);
  let together = attempt(tried);
  if (!together) return [];
  // Keep only the switches that are needed.
  for (const c of together.off.map((o) => o.option)) {
    const fewer = together.off.map((o) => o.option).filter((o) => o !== c);
    if (fewer.length === 0) break;
    const still = attempt(fewer);
    if (still) together = still;
  }
  return [together];
}

/**
 * The comparison every kernel generation's tests share: the change set the preflight
 * predicts for a request (plus the dependencies it adds) against what `make O=<dir>
 * olddefconfig` does to the same .config, both diffed against one baseline olddefconfig
 * run made the same way (so toolchain-dependent values cancel out).
 */
import { KernelModel, PreflightResult, applyAssignments, parseDotConfig, preflight } from "../../kernel";
import { Evaluation } from "../../kernel/evaluate";
import { OlddefconfigPool } from "./olddefconfig";

/** A small deterministic generator (LCG) so the sample is the same on every machine. */
export function sample<T>(items: T[], n: number, seed: number): T[] {
  let s = seed;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff) / 0x80000000);
  const rest = [...items];
  const out: T[] = [];
  while (out.length < n && rest.length) out.push(rest.splice(Math.floor(rnd() * rest.length), 1)[0]);
  return out;
}

/** Seed per label, so each generation samples different options. */
export function seedOf(label: string): number {
  let h = 20261126;
  for (const c of label) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  return h & 0x7fffffff;
}

/** Tristate options with a prompt that the config leaves unset, sorted by name. */
export function unsetTristates(model: KernelModel, configText: string): string[] {
  const ev = new Evaluation(model.kconfig, parseDotConfig(configText));
  return [...model.kconfig.symbols.values()]
    .filter((s) => s.type === "tristate" && s.prompts.length > 0 && !s.choice && ev.tri(s.name) === 0)
    .map((s) => s.name)
    .sort();
}

export interface Agreement {
  /** Per request (joined with spaces): the preflight result and olddefconfig's changes. */
  results: Map<string, { r: PreflightResult; actual: Map<string, string | null> }>;
  disagreements: string[];
  changed: number;
  /** How many requests got each verdict, e.g. "dead-end 80, ok 20". */
  verdicts: string;
}

export async function agree(model: KernelModel, pool: OlddefconfigPool, configText: string, baseline: string, requests: string[][]): Promise<Agreement> {
  const syms = model.kconfig.symbols;
  const baseVals = parseDotConfig(baseline);
  const isTri = (k: string) => ["bool", "tristate"].includes(syms.get(k)?.type ?? "");
  const out: Agreement = { results: new Map(), disagreements: [], changed: 0, verdicts: "" };
  await Promise.all(
    requests.map(async (req) => {
      // The baseline olddefconfig answers the compiler probes, as make does on this machine.
      const r = preflight(model, configText, req, { probeConfigText: baseline });
      const assigns = [...r.added.map((a) => ({ name: a.option, value: a.value })), ...r.requests.map((q) => ({ name: q.option, value: q.value }))];
      const after = parseDotConfig(await pool.run(applyAssignments(configText, assigns)));
      const actual = new Map<string, string | null>();
      for (const k of new Set([...after.keys(), ...baseVals.keys()])) {
        if (!syms.has(k)) continue;
        const a = after.get(k) ?? (isTri(k) ? "n" : null);
        const b = baseVals.get(k) ?? (isTri(k) ? "n" : null);
        if (a !== b) actual.set(k, a);
      }
      const predicted = new Map(r.changes.map((c) => [c.option, c.to]));
      const diffs: string[] = [];
      for (const [k, v] of actual) if (predicted.get(k) !== v) diffs.push(`${k}: olddefconfig ${v}, preflight ${predicted.has(k) ? predicted.get(k) : "(no change)"}`);
      for (const [k, v] of predicted) if (!actual.has(k)) diffs.push(`${k}: olddefconfig (no change), preflight ${v}`);
      if (actual.size) out.changed++;
      out.results.set(req.join(" "), { r, actual });
      if (diffs.length) out.disagreements.push(`${req.join(" ")} (config + ${assigns.map((a) => `${a.name}=${a.value}`).join(" ")}):\n    ${diffs.join("\n    ")}`);
    }),
  );
  const counts = new Map<string, number>();
  for (const { r } of out.results.values()) counts.set(r.verdict, (counts.get(r.verdict) ?? 0) + 1);
  out.verdicts = [...counts].sort().map(([v, n]) => `${v} ${n}`).join(", ");
  return out;
}

/**
 * Symbols the config file sets or marks "is not set" whose value the evaluation reads
 * differently: must be none. Symbols the file does not mention are not compared: Debian's
 * shipped 5.10 configs omit a few build-time ones (BUILD_SALT, MODULE_SIG_KEY, ...), which
 * olddefconfig would then fill in from their defaults, as the evaluation does.
 */
export function readingMismatches(model: KernelModel, configText: string): string[] {
  const vals = parseDotConfig(configText);
  const ev = new Evaluation(model.kconfig, vals);
  const out: string[] = [];
  for (const sym of model.kconfig.symbols.values()) {
    if (sym.isChoice || sym.type === "unknown") continue;
    const want = vals.get(sym.name);
    if (want === undefined) continue;
    const tri = sym.type === "bool" || sym.type === "tristate";
    const got = tri ? ev.str(sym.name) : ev.written(sym.name) ? ev.str(sym.name) : undefined;
    if (want !== got) out.push(`${sym.name}: file ${want}, read ${got ?? "(not written)"}`);
  }
  return out;
}

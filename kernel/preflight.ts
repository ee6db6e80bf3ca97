/**
 * The preflight: what would enabling some options do to a running kernel's config, and
 * can the result be loaded as modules into that kernel, or does it need a new kernel?
 *
 * 1. Add the unmet `depends on` of each request (a tristate as m, a bool as y), repeatedly,
 *    until every request reaches its value; a dependency that cannot hold (`!X` with X set,
 *    an option without a prompt) is a conflict.
 * 2. Evaluate the running config and the config with requests + additions, as olddefconfig
 *    would, and diff them.
 * 3. Classify every change through the Kbuild index: objects that become part of vmlinux
 *    are a dead end (the running kernel cannot gain them; modules that use their exports
 *    will fail with "Unknown symbol"), objects that become m make new modules, bools that
 *    only add objects to those modules are fine.
 */
import { Evaluation, snapshot } from "./evaluate";
import { Expr, containsMacro, exprSymbols, exprToString, orExpr } from "./expr";
import { ConfigValues, parseAssignment, parseDotConfig } from "./dotconfig";
import { KernelModel } from "./model";
import { Site, moduleFile, moduleName } from "./kbuild";
import { scanExports, sourcesOf } from "./exports";
import { M, N, Tri, Y, parseTri, triName } from "./tristate";
import { changedValues } from "./impact";
import { Alternative, findAlternatives } from "./alternatives";
import { Reach } from "./reach";
import { checkName } from "./requestNames";

export interface PreflightOptions {
  /**
   * A config whose values answer the compiler probes (`$(cc-option,...)`) instead of the
   * running config's; the agreement test passes a baseline olddefconfig made on this machine.
   */
  probeConfigText?: string;
  /**
   * Compare every symbol's value instead of following what the request can reach; the
   * kernel tests check that both give the same change set.
   */
  exhaustive?: boolean;
  /** Look for a variant of a dead-end request that works (alternatives.ts); default true. */
  alternatives?: boolean;
  /**
   * Stop at the first sign of a dead end (a request that cannot hold, an option requested
   * off that stays on) and leave the rest of the result empty; the alternatives search
   * only needs to know whether a variant works.
   */
  quick?: boolean;
}

export interface NeededBy {
  option: string;
  how: "request" | "depends" | "select" | "imply" | "default";
}

/**
 * ok: can be built as modules; no-op: the running config has it; dead-end: needs a new
 * kernel; not-available: a request can never be on for this architecture (another
 * architecture's option, or one that depends on one), so no kernel of this architecture
 * helps (see `notAvailable`); unknown: no decided dead end, but a Kbuild conditional or a
 * Kconfig compiler probe on the way could not be decided, so "ok" cannot be promised (see `unknowns`).
 */
export type Verdict = "ok" | "no-op" | "dead-end" | "not-available" | "unknown";

export interface Unknown {
  /** The changed option whose effect could not be decided. */
  option: string;
  /** What is undecided: the objects it may link into vmlinux or may build as modules. */
  note: string;
  objects: string[];
  /** The makefile conditionals or Kconfig lines the reader could not decide. */
  sites: Site[];
}

export interface PreflightResult {
  verdict: Verdict;
  /** The architecture analysed (arch/<dir>). */
  arch: string;
  requests: { option: string; value: string; result: string }[];
  /** Options the preflight set because a request depends on them. */
  added: { option: string; value: string; why: string }[];
  /** Everything olddefconfig would change; from/to are n/m/y or a value (null: not written). */
  changes: { option: string; from: string | null; to: string | null; type: string }[];
  newModules: { module: string; file: string; options: string[] }[];
  deadEnds: {
    option: string;
    type: string;
    reason: "built-in only" | "module must become built-in";
    objects: string[];
    /** Exported symbols of those objects: modules using them fail with "Unknown symbol". */
    missingSymbols: string[];
    /** From the option towards the request: who pulls it in and how. */
    neededBy: NeededBy[];
  }[];
  /** Bool options that only add code to modules being built, and other harmless changes. */
  harmless: { option: string; note: string }[];
  conflicts: string[];
  /** Requests that can never be on for this architecture, and why (they are not analysed further). */
  notAvailable: { option: string; reason: string }[];
  /** What could not be decided; non-empty makes an otherwise ok verdict `unknown`. */
  unknowns: Unknown[];
  /**
   * For a dead end: variants of the request that work, leaving off optional options that
   * only the request turned on (alternatives.ts).
   */
  alternatives: Alternative[];
  warnings: string[];
}

export function preflight(model: KernelModel, configText: string, requests: string[], opts: PreflightOptions = {}): PreflightResult {
  const syms = model.kconfig.symbols;
  const running = readConfig(configText);
  const probe = opts.probeConfigText !== undefined ? readConfig(opts.probeConfigText) : running;
  const res: PreflightResult = { verdict: "ok", arch: model.arch, requests: [], added: [], changes: [], newModules: [], deadEnds: [], harmless: [], conflicts: [], notAvailable: [], unknowns: [], alternatives: [], warnings: [] };
  const wanted = readRequests(model, requests, res);

  // Options requested off: a dependency must not be met through them (an `A || B` takes B).
  const off = new Set([...wanted].filter(([, v]) => v === N).map(([k]) => k));

  // 1. Add unmet dependencies until the requests hold.
  const unavailable = new Set<string>();
  const { added, ev } = addUnmetDependencies({ model, res, reach: Reach.of(model.kconfig, running), running, probe, wanted, off, unavailable });
  for (const [k, v] of added) res.added.push({ option: k, value: triName(v.value), why: v.why });
  for (const [k, v] of wanted) {
    const got = ev.tri(k);
    res.requests.push({ option: k, value: triName(v), result: triName(got) });
    if (got < v && res.conflicts.length === 0 && !unavailable.has(k)) res.conflicts.push(`${k}=${triName(v)} would end up ${triName(got)}: its dependencies cannot be met`);
  }
  if (opts.quick && (res.conflicts.length || res.notAvailable.length || [...wanted].some(([k, v]) => v === N && ev.tri(k) !== N))) {
    res.verdict = "dead-end";
    return res;
  }

  // 2. Diff: only what the changed lines can reach (impact.ts), or every symbol when asked.
  const base = model.baseline(configText, opts.probeConfigText ?? configText, running, probe);
  const diff = opts.exhaustive ? fullDiff(base, ev) : changedValues(model.kconfig, model.readers, base, ev, [...wanted.keys(), ...added.keys()], (n) => model.order(n));
  const changed = new Set<string>();
  for (const [name, [from, to]] of diff) {
    changed.add(name);
    res.changes.push({ option: name, from: from ?? null, to: to ?? null, type: syms.get(name)!.type });
  }

  // 3. Classify through Kbuild.
  const unknown = new Map<string, Unknown>(); // option → what is undecided
  const { builtin, modules } = classifyObjects(model, base, ev, changed, unknown);
  for (const [target, opts] of modules) {
    res.newModules.push({ module: moduleName(target), file: moduleFile(target), options: [...opts].sort() });
  }
  res.newModules.sort((a, b) => a.file.localeCompare(b.file));
  reportOffStillOn(res, ev, off);
  classifyChanges(res, model, builtin, new WhyFinder(ev, base, changed, wanted, added));
  noteCompilerProbes(res, model, unknown);
  res.unknowns = [...unknown.values()].sort((a, b) => a.option.localeCompare(b.option));
  for (const u of res.unknowns) u.objects.sort();

  res.verdict = verdictOf(res);
  if (res.verdict === "dead-end" && opts.alternatives !== false) {
    res.alternatives = findAlternatives({
      result: res,
      run: (reqs) => preflight(model, configText, reqs, { ...opts, alternatives: false, quick: true }),
      settable: (o) => ["bool", "tristate"].includes(syms.get(o)?.type ?? "") && ev.visible(o) !== N,
      forced: (o) => ev.revDep(syms.get(o)!) !== N,
      promptOf: (o) => syms.get(o)?.promptText,
    });
  }
  return res;
}

/** The requests as option → value; those that are not bool/tristate options of this tree go to `res` instead. */
function readRequests(model: KernelModel, requests: string[], res: PreflightResult): Map<string, Tri> {
  const syms = model.kconfig.symbols;
  const wanted = new Map<string, Tri>();
  for (const r of requests) {
    const a = parseAssignment(r);
    const check = a && checkName(model, a.name);
    if (check?.kind === "other-arch") {
      const where = check.defs.map((d) => `${d.arch} (${d.file}:${d.line})`).join(", ");
      res.notAvailable.push({ option: a!.name, reason: `${a!.name} is an option of ${where}; ${model.arch}'s Kconfig does not define it` });
      res.requests.push({ option: a!.name, value: a!.value, result: "n" });
      continue;
    }
    const sym = a && syms.get(a.name);
    if (!a || !sym || sym.isChoice || check?.kind !== "defined") {
      const near = check?.kind === "unknown" && check.near.length ? ` (did you mean ${check.near.join(", ")}?)` : "";
      res.conflicts.push(`${r}: no Kconfig file of this tree defines this option${near}`);
      continue;
    }
    if (sym.type !== "bool" && sym.type !== "tristate") {
      res.conflicts.push(`${a.name}: is ${sym.type}; only bool and tristate options can be requested`);
      continue;
    }
    let v = parseTri(a.value);
    if (v === M && sym.type === "bool") {
      res.warnings.push(`${a.name} is bool: it can only be y, requesting y`);
      v = Y;
    }
    wanted.set(a.name, v);
  }
  return wanted;
}

/** Options the preflight sets because a request (or another such option) depends on them. */
type Added = Map<string, { value: Tri; why: string; by: string }>;

interface DependencySearch {
  model: KernelModel;
  res: PreflightResult;
  reach: Reach;
  running: ConfigValues;
  probe: ConfigValues;
  wanted: Map<string, Tri>;
  off: Set<string>;
  /** Requests found never possible on this architecture (filled in here). */
  unavailable: Set<string>;
}

/**
 * Adds the unmet `depends on` of every request and added option, round after round, until
 * nothing grows; conflicts and unavailable requests go to `res`. Returns the additions and
 * the evaluation of the config with them.
 */
function addUnmetDependencies(s: DependencySearch): { added: Added; ev: Evaluation } {
  const { model, res, wanted, unavailable } = s;
  const syms = model.kconfig.symbols;
  const added: Added = new Map();
  const userValues = (): ConfigValues => {
    const u = new Map(s.running);
    for (const [k, v] of added) u.set(k, triName(v.value));
    for (const [k, v] of wanted) u.set(k, triName(v));
    return u;
  };
  let ev = new Evaluation(model.kconfig, userValues(), s.probe);
  const reported = new Set<string>();
  const conflict = (msg: string) => {
    if (!reported.has(msg)) res.conflicts.push(msg);
    reported.add(msg);
  };
  for (let round = 0; round < 50; round++) {
    let grew = false;
    const goals: [string, Tri][] = [...wanted, ...[...added].map(([k, v]) => [k, v.value] as [string, Tri])];
    for (const [name, want] of goals) {
      if (ev.tri(name) >= want || unavailable.has(name)) continue;
      if (want !== N && !s.reach.possible(name)) {
        // Only requests get here: needs() adds no option that can never be on.
        unavailable.add(name);
        res.notAvailable.push({ option: name, reason: s.reach.explain(name, model.arch, model.tree) });
        continue;
      }
      const sym = syms.get(name)!;
      const vis = sym.prompts.reduce<Expr | undefined>((acc, p) => orExpr(acc, p), undefined);
      if (!vis) {
        conflict(`${name} has no prompt: only a select or a default can set it, and none applies`);
        continue;
      }
      const needWant: Tri = sym.type === "bool" ? M : want;
      const found = needs(ev, s.reach, vis, needWant, s.off);
      for (const c of found.conflicts) conflict(`${name}: ${c}`);
      for (const [dep, v] of found.assign) {
        const depSym = syms.get(dep);
        if (!depSym || (depSym.type !== "bool" && depSym.type !== "tristate")) {
          // An undefined symbol in a dependency is almost always another architecture's (X86, ARM64).
          conflict(
            !depSym
              ? `${name} is not available on ${model.arch}: it depends on ${dep}, which ${model.arch}'s Kconfig does not define`
              : `${name} depends on ${dep}, which is not a bool/tristate option of this tree`,
          );
          continue;
        }
        const val: Tri = depSym.type === "bool" ? Y : v;
        const cur = added.get(dep)?.value ?? wanted.get(dep) ?? N;
        if (cur >= val) continue;
        added.set(dep, { value: val, why: `${name} depends on ${exprToString(vis)}`, by: name });
        grew = true;
      }
    }
    if (!grew) break;
    ev = new Evaluation(model.kconfig, userValues(), s.probe);
  }
  return { added, ev };
}

/** Records that `option`'s effect could not be decided: on `object` (if any), because of `sites`. */
function noteUnknown(unknown: Map<string, Unknown>, option: string, note: string, object: string | undefined, sites: Site[]): void {
  const u = unknown.get(option) ?? { option, note, objects: [], sites: [] };
  if (object && !u.objects.includes(object)) u.objects.push(object);
  for (const s of sites) if (!u.sites.some((x) => x.file === s.file && x.line === s.line)) u.sites.push(s);
  unknown.set(option, u);
}

/**
 * Walks the objects whose gate mentions a changed option: those newly linked into vmlinux
 * (by option) and the new modules (target → options); undecided conditionals go to `unknown`.
 */
function classifyObjects(model: KernelModel, base: Evaluation, ev: Evaluation, changed: Set<string>, unknown: Map<string, Unknown>) {
  const builtin = new Map<string, Set<string>>(); // option → objects newly in vmlinux
  const modules = new Map<string, Set<string>>(); // target → options
  const seen = new Set<object>();
  for (const name of changed) {
    for (const p of model.kbuild.byOption.get(name) ?? []) {
      if (seen.has(p)) continue;
      seen.add(p);
      const b = base.expr(p.gate);
      const a = ev.expr(p.gate);
      if (a === b) continue;
      const culprits = [...exprSymbols(p.gate)].filter((s) => changed.has(s));
      if (p.undecided.length && a === Y) {
        // Built into vmlinux only if a conditional the reader cannot decide holds: not a
        // decided dead end, and not ok either.
        for (const c of culprits.filter((c) => ev.tri(c) !== N)) noteUnknown(unknown, c, "may link into vmlinux", p.object, p.undecided);
        continue;
      }
      if (p.undecided.length && a === M && b === N) {
        for (const c of culprits) noteUnknown(unknown, c, "may or may not be built as a module", p.object, p.undecided);
      }
      if (a === Y) {
        // Usually the options that became y; with obj-$(subst m,y,$(CONFIG_X)) also an X at m.
        for (const c of culprits.filter((c) => ev.tri(c) !== N)) {
          if (!builtin.has(c)) builtin.set(c, new Set());
          builtin.get(c)!.add(p.object);
        }
      } else if (a === M && b === N) {
        if (!modules.has(p.target)) modules.set(p.target, new Set());
        for (const c of culprits) modules.get(p.target)!.add(c);
      }
    }
  }
  return { builtin, modules };
}

/** A conflict for every option requested off that stays on, with what keeps it on. */
function reportOffStillOn(res: PreflightResult, ev: Evaluation, off: Set<string>): void {
  for (const k of off) {
    if (ev.tri(k) === N) continue;
    const sym = ev.model.symbols.get(k)!;
    const selectors = sym.revDep.filter((r) => r.by !== "m" && ev.tri(r.by) !== N && (!r.cond || ev.expr(r.cond) !== N)).map((r) => r.by);
    const because = selectors.length ? `selected by ${selectors.join(", ")}` : ev.visible(k) === N ? "it has no visible prompt, so its default decides" : "its dependencies force it";
    res.conflicts.push(`${k}=n cannot hold: it stays ${triName(ev.tri(k))} (${because})`);
  }
}

/** Sorts each changed bool/tristate into a dead end (objects into vmlinux, or m → y) or a harmless change. */
function classifyChanges(res: PreflightResult, model: KernelModel, builtin: Map<string, Set<string>>, why: WhyFinder): void {
  for (const c of res.changes) {
    const sym = model.kconfig.symbols.get(c.option)!;
    if (sym.type !== "bool" && sym.type !== "tristate") continue;
    const objects = builtin.get(c.option);
    const mToY = c.from === "m" && c.to === "y";
    if (objects || mToY) {
      const objs = [...(objects ?? [])].sort();
      const missing = new Set<string>();
      for (const o of objs) for (const s of sourcesOf(model.tree, o)) for (const e of scanExports(s.text, s.file)) missing.add(e.symbol);
      res.deadEnds.push({
        option: c.option,
        type: sym.type,
        reason: mToY ? "module must become built-in" : "built-in only",
        objects: objs,
        missingSymbols: [...missing].sort(),
        neededBy: why.chain(c.option),
      });
    } else if (c.to !== "n" && sym.type === "bool") {
      const mods = res.newModules.filter((m) => m.options.includes(c.option)).map((m) => m.module);
      res.harmless.push({ option: c.option, note: mods.length ? `adds code to ${mods.join(", ")}` : "no code of its own in vmlinux" });
    }
  }
}

/**
 * Kconfig: a compiler probe in a changed option's dependency is assumed to hold (the
 * running kernel's compiler cannot be asked): say so instead of promising ok.
 */
function noteCompilerProbes(res: PreflightResult, model: KernelModel, unknown: Map<string, Unknown>): void {
  for (const c of res.changes) {
    const sym = model.kconfig.symbols.get(c.option)!;
    if (c.to === null || c.to === "n" || !sym.dirDep || !containsMacro(sym.dirDep)) continue;
    noteUnknown(unknown, c.option, `depends on a compiler probe (${exprToString(sym.dirDep)}), assumed to hold`, undefined, sym.defs.map((d) => ({ file: d.file, line: d.line, text: `config ${c.option}` })));
  }
}

function verdictOf(res: PreflightResult): Verdict {
  return res.notAvailable.length ? "not-available"
    : res.deadEnds.length || res.conflicts.length ? "dead-end"
    : res.unknowns.length ? "unknown"
    : res.changes.length ? "ok"
    : "no-op";
}

/** The last configs read: the alternatives search and a pipeline run many preflights on one config (never modified). */
const configMemo: { text: string; values: ConfigValues }[] = [];
function readConfig(text: string): ConfigValues {
  const known = configMemo.find((c) => c.text === text);
  if (known) return known.values;
  const values = parseDotConfig(text);
  configMemo.unshift({ text, values });
  configMemo.length = Math.min(configMemo.length, 2);
  return values;
}

function fullDiff(before: Evaluation, after: Evaluation): Map<string, [string | undefined, string | undefined]> {
  const a = snapshot(after);
  const b = snapshot(before);
  const out = new Map<string, [string | undefined, string | undefined]>();
  for (const [name, to] of a) if (b.get(name) !== to) out.set(name, [b.get(name), to]);
  return out;
}

/**
 * What a tristate expression needs so that it reaches `want`: options to set, or
 * conflicts when a part cannot hold (`!X` with X set). For `A || B` the first branch
 * that can be met without conflicts is taken: Kconfig writers put the real dependency
 * first and `COMPILE_TEST` last.
 */
function needs(ev: Evaluation, reach: Reach, e: Expr, want: Tri, off: Set<string>): { assign: Map<string, Tri>; conflicts: string[] } {
  const out = { assign: new Map<string, Tri>(), conflicts: [] as string[] };
  if (ev.expr(e) >= want) return out;
  const set = (name: string, v: Tri) => {
    if (off.has(name) && v > N) out.conflicts.push(`needs ${name}, which is requested off`);
    else if (v > N && !reach.possible(name)) out.conflicts.push(`needs ${name}, which can never be on for this architecture`);
    else out.assign.set(name, Math.max(out.assign.get(name) ?? 0, v) as Tri);
  };
  switch (e.k) {
    case "sym":
      set(e.name, want);
      break;
    case "and":
      for (const part of [e.a, e.b]) {
        const r = needs(ev, reach, part, want, off);
        for (const [k, v] of r.assign) set(k, v);
        out.conflicts.push(...r.conflicts);
      }
      break;
    case "or": {
      // A branch that can never hold on this architecture (`PPC || X86` on arm64) is skipped.
      const a = needs(ev, reach, e.a, want, off);
      const r = a.conflicts.length === 0 && reach.hi(e.a) !== N ? a : needs(ev, reach, e.b, want, off);
      const pick = r.conflicts.length === 0 ? r : a;
      for (const [k, v] of pick.assign) set(k, v);
      out.conflicts.push(...pick.conflicts);
      break;
    }
    case "cmp":
      if (e.a.k === "sym" && e.b.k === "const" && (e.op === "=" || e.op === "!=")) {
        const v = e.b.value;
        if (e.op === "=" && (v === "y" || v === "m")) set(e.a.name, parseTri(v));
        else if (e.op === "!=" && v === "n") set(e.a.name, M);
        else out.conflicts.push(`needs ${exprToString(e)}, which does not hold`);
      } else out.conflicts.push(`needs ${exprToString(e)}, which does not hold`);
      break;
    default:
      out.conflicts.push(`needs ${exprToString(e)}, which does not hold`);
  }
  return out;
}

/** Explains why an option changed: the chain of selects/implies/defaults/depends back to a request. */
class WhyFinder {
  constructor(
    private readonly ev: Evaluation,
    private readonly base: Evaluation,
    private readonly changed: Set<string>,
    private readonly wanted: Map<string, Tri>,
    private readonly added: Map<string, { by: string }>,
  ) {}

  chain(option: string): NeededBy[] {
    const out: NeededBy[] = [];
    const visited = new Set<string>([option]);
    let cur = option;
    for (let i = 0; i < 30; i++) {
      const step = this.step(cur);
      if (!step) break;
      // "DRM (depends) ← DRM_I915 (request)": the request marker adds nothing after a depends on it.
      if (step.how === "request" && out.length && out[out.length - 1].option === step.option) break;
      out.push(step);
      if (step.how === "request" || visited.has(step.option)) break;
      visited.add(step.option);
      cur = step.option;
    }
    return out;
  }

  private step(name: string): NeededBy | undefined {
    if (this.wanted.has(name)) return { option: name, how: "request" };
    const add = this.added.get(name);
    if (add) return { option: add.by, how: "depends" };
    const sym = this.ev.model.symbols.get(name)!;
    const pick = (list: { by: string; cond: Expr | undefined }[]) =>
      list.find((r) => this.changed.has(r.by) && this.ev.tri(r.by) !== N && (!r.cond || this.ev.expr(r.cond) !== N)) ??
      list.find((r) => r.by !== "m" && this.ev.tri(r.by) !== N && (!r.cond || this.ev.expr(r.cond) !== N) && this.base.expr(r.cond ?? { k: "const", value: "y" }) === N);
    const sel = pick(sym.revDep);
    if (sel) return { option: sel.by, how: "select" };
    const imp = pick(sym.impliedBy);
    if (imp) return { option: imp.by, how: "imply" };
    const d = this.ev.activeDefault(sym);
    if (d) {
      const names = [...exprSymbols(d.expr), ...(d.cond ? exprSymbols(d.cond) : [])].filter((s) => this.changed.has(s));
      // Name the request (or a dependency added for it) when the condition mentions one:
      // "on by default with CAN_PEAK_PCI" says more than "with CAN", its parent menu.
      const best = names.find((s) => this.wanted.has(s)) ?? names.find((s) => this.added.has(s)) ?? names[0];
      if (best) return { option: best, how: "default" };
    }
    return undefined;
  }
}

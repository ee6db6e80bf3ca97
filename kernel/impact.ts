/**
 * Which options a request can change, without evaluating the whole tree twice.
 *
 * A symbol's value is a function of its own .config line, the running config (compiler
 * probes) and the values of the symbols its properties mention. So between the running
 * config and the same config plus some requests, a symbol can only change if its own line
 * changed (a request, an added dependency) or a symbol it reads changed. Starting from
 * those lines and following "is read by" edges only from symbols whose value really
 * changed visits the change set and its direct readers: a few hundred symbols for
 * DRM_I915=m on 6.1, instead of all 16,585 twice (which was most of a preflight's time).
 *
 * `readers` is that edge list, computed once per model (or stored by a model cache).
 */
import { Expr, exprSymbols } from "./expr";
import { KconfigModel, Sym } from "./kconfigParser";
import { Evaluation, symbolValue } from "./evaluate";

/** What a symbol's value computation reads (tri, str, visibility, written), by name. */
function readsOf(sym: Sym, model: KconfigModel): Set<string> {
  const out = new Set<string>();
  const mention = (e: Expr | undefined) => e && exprSymbols(e, out);
  sym.prompts.forEach(mention);
  for (const d of sym.defaults) {
    mention(d.expr);
    mention(d.cond);
  }
  mention(sym.dirDep);
  for (const r of [...sym.revDep, ...sym.impliedBy]) {
    if (r.by !== "m") out.add(r.by);
    mention(r.cond);
  }
  if (sym.choice) {
    // A choice value reads its choice's value and selection: the choice's defaults and
    // every value's visibility.
    const choice = model.symbols.get(sym.choice);
    out.add(sym.choice);
    if (choice) {
      for (const d of choice.defaults) {
        mention(d.expr);
        mention(d.cond);
      }
      for (const v of choice.choiceValues ?? []) {
        out.add(v);
        model.symbols.get(v)?.prompts.forEach(mention);
      }
    }
  }
  out.delete(sym.name);
  return out;
}

/** symbol → the symbols whose value reads it. */
export function readerIndex(model: KconfigModel): Map<string, string[]> {
  const readers = new Map<string, string[]>();
  for (const sym of model.symbols.values()) {
    for (const name of readsOf(sym, model)) {
      const list = readers.get(name);
      if (list) list.push(sym.name);
      else readers.set(name, [sym.name]);
    }
  }
  return readers;
}

/**
 * The options whose olddefconfig value differs between `before` and `after`, which differ
 * only in the .config lines of `seeds`: name → [from, to] (undefined: not written), in
 * the model's symbol order (what a full snapshot diff gives).
 */
export function changedValues(
  model: KconfigModel,
  readers: ReadonlyMap<string, readonly string[]>,
  before: Evaluation,
  after: Evaluation,
  seeds: Iterable<string>,
  order: (name: string) => number,
): Map<string, [string | undefined, string | undefined]> {
  const queue: string[] = [];
  const queued = new Set<string>();
  const push = (name: string) => {
    if (queued.has(name)) return;
    queued.add(name);
    queue.push(name);
  };
  for (const s of seeds) {
    push(s);
    // A choice value's line moves the choice's selection: every value of it may change.
    const choice = model.symbols.get(s)?.choice;
    if (choice) {
      push(choice);
      for (const v of model.symbols.get(choice)?.choiceValues ?? []) push(v);
    }
  }
  const changed: [string, string | undefined, string | undefined][] = [];
  while (queue.length) {
    const name = queue.pop()!;
    const sym = model.symbols.get(name);
    if (!sym || (sym.type === "unknown" && !sym.isChoice)) continue;
    let differs: boolean;
    if (sym.isChoice) {
      differs = before.tri(name) !== after.tri(name) || before.choiceSelection(name) !== after.choiceSelection(name);
    } else {
      const from = symbolValue(before, sym);
      const to = symbolValue(after, sym);
      differs = from !== to;
      if (differs) changed.push([name, from, to]);
    }
    // A symbol whose value stayed the same cannot change what reads it.
    if (differs) for (const r of readers.get(name) ?? []) push(r);
  }
  changed.sort((a, b) => order(a[0]) - order(b[0]));
  return new Map(changed.map(([n, from, to]) => [n, [from, to]]));
}

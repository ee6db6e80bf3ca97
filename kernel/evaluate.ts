/**
 * Computes symbol values the way `make olddefconfig` does (scripts/kconfig/symbol.c,
 * sym_calc_value), lazily and memoized, so asking for a handful of symbols costs little
 * and asking for all of them costs one pass.
 *
 * For a bool/tristate symbol:
 *   visible = OR of its prompts' visibility (m becomes y for a bool);
 *   if visible and the .config gives a value: value = min(user, visible);
 *   else value = first default whose condition holds (min(default, cond)), raised to the
 *     imply level (only up to the direct dependencies);
 *   then value = max(value, selects); an m on a bool becomes y.
 * Choice values take y when they are the choice's selection and the choice is y.
 *
 * A default computed by `$(...)` (a compiler probe) cannot be computed here: it takes the
 * value the running config has (`running`), which is what the running kernel was built with.
 */
import { Expr } from "./expr";
import { KconfigModel, Sym } from "./kconfigParser";
import { ConfigValues } from "./dotconfig";
import { M, N, Tri, Y, and, not, or, parseTri } from "./tristate";

const choiceMaps = new WeakMap<KconfigModel, Map<string, string>>();

/** choice value → its choice, from the (few) choices alone: looking at every .config line's symbol would decode most of a cached model. */
function choiceValues(model: KconfigModel): Map<string, string> {
  let m = choiceMaps.get(model);
  if (!m) {
    m = new Map();
    for (const c of model.choices) for (const v of model.symbols.get(c)?.choiceValues ?? []) m.set(v, c);
    choiceMaps.set(model, m);
  }
  return m;
}

export class Evaluation {
  private readonly triCache = new Map<string, Tri>();
  private readonly strCache = new Map<string, string>();
  private readonly visCache = new Map<string, Tri>();
  private readonly choiceSel = new Map<string, string>();

  /**
   * @param user    the .config being evaluated (running config plus any requests)
   * @param running the running kernel's config, for values only a compiler probe can give
   */
  constructor(readonly model: KconfigModel, readonly user: ConfigValues, readonly running: ConfigValues = user) {
    const choiceOf = choiceValues(model);
    for (const [name, v] of user) {
      const choice = v === "y" ? choiceOf.get(name) : undefined;
      if (choice) this.choiceSel.set(choice, name);
    }
  }

  /** Tristate value (n for undefined symbols and for non-tristate types). */
  tri(name: string): Tri {
    const c = this.triCache.get(name);
    if (c !== undefined) return c;
    const sym = this.model.symbols.get(name);
    if (!sym || (sym.type !== "bool" && sym.type !== "tristate" && !sym.isChoice)) {
      this.triCache.set(name, N);
      return N;
    }
    this.triCache.set(name, N); // what a dependency loop sees, as in the kernel
    const v = this.calcTri(sym);
    this.triCache.set(name, v);
    return v;
  }

  private isBool(sym: Sym): boolean {
    return sym.type !== "tristate";
  }

  visible(name: string): Tri {
    const c = this.visCache.get(name);
    if (c !== undefined) return c;
    const sym = this.model.symbols.get(name);
    let v: Tri = N;
    if (sym) {
      this.visCache.set(name, N);
      for (const p of sym.prompts) v = or(v, this.expr(p));
      if (v === M && this.isBool(sym)) v = Y;
    }
    this.visCache.set(name, v);
    return v;
  }

  dirDep(sym: Sym): Tri {
    const v = sym.dirDep ? this.expr(sym.dirDep) : Y;
    return v === M && this.isBool(sym) ? Y : v;
  }

  /** Level forced by `select`s (a bool selected by an m symbol is y). */
  revDep(sym: Sym): Tri {
    let v: Tri = N;
    for (const r of sym.revDep) {
      v = or(v, this.andCond(r));
      if (v === Y) break;
    }
    return v === M && this.isBool(sym) ? Y : v;
  }

  implied(sym: Sym): Tri {
    let v: Tri = N;
    for (const r of sym.impliedBy) v = or(v, this.andCond(r));
    return v === M && this.isBool(sym) ? Y : v;
  }

  /**
   * `by && cond` of a select or imply. The condition first: it holds the selecting
   * symbol's own dependencies, so when it is n the selecting symbol need not be computed
   * at all (I2C has hundreds of selecting drivers, most of them under menus that are off).
   */
  private andCond(r: { by: string; cond: Expr | undefined }): Tri {
    const c = r.cond ? this.expr(r.cond) : Y;
    if (c === N) return N;
    return and(r.by === "m" ? M : this.tri(r.by), c);
  }

  private calcTri(sym: Sym): Tri {
    const visible = this.visible(sym.name);
    if (sym.choice && visible === Y) {
      return this.tri(sym.choice) === Y && this.choiceSelection(sym.choice) === sym.name ? Y : N;
    }
    let v: Tri = N;
    const userRaw = sym.isChoice ? this.choiceUserTri(sym) : this.user.get(sym.name);
    if (visible !== N && userRaw !== undefined) {
      v = and(parseTri(userRaw), visible);
    } else if (!sym.isChoice) {
      const d = this.activeDefault(sym);
      if (d) v = and(d.macro ? parseTri(this.running.get(sym.name)) : this.expr(d.expr), d.cond ? this.expr(d.cond) : Y);
      const imp = this.implied(sym);
      if (imp !== N) v = and(or(v, imp), this.dirDep(sym));
    }
    v = or(v, this.revDep(sym));
    if (v === M && this.isBool(sym)) v = Y;
    return v;
  }

  private choiceUserTri(choice: Sym): string | undefined {
    return this.choiceSel.has(choice.name) ? "y" : undefined;
  }

  /** The first default whose condition is not n (the kernel's sym_get_default_prop). */
  activeDefault(sym: Sym): Sym["defaults"][number] | undefined {
    for (const d of sym.defaults) if (!d.cond || this.expr(d.cond) !== N) return d;
    return undefined;
  }

  /** Which value of a choice is y: the user's if visible, else its default, else the first visible one. */
  choiceSelection(choice: string): string | undefined {
    const sym = this.model.symbols.get(choice)!;
    const userSel = this.choiceSel.get(choice);
    if (userSel !== undefined && this.visible(userSel) !== N) return userSel;
    for (const d of sym.defaults) {
      if (d.cond && this.expr(d.cond) === N) continue;
      if (d.expr.k === "sym" && this.visible(d.expr.name) !== N) return d.expr.name;
    }
    return sym.choiceValues!.find((v) => this.visible(v) !== N);
  }

  /** String value: "n"/"m"/"y" for tristates, the value for int/hex/string, the name for unknown symbols. */
  str(name: string): string {
    const sym = this.model.symbols.get(name);
    if (!sym || sym.type === "unknown") return sym?.isChoice ? "" : name;
    if (sym.type === "bool" || sym.type === "tristate") return ["n", "m", "y"][this.tri(name)];
    const c = this.strCache.get(name);
    if (c !== undefined) return c;
    this.strCache.set(name, "");
    const v = this.calcStr(sym);
    this.strCache.set(name, v);
    return v;
  }

  private calcStr(sym: Sym): string {
    const user = this.user.get(sym.name);
    if (this.visible(sym.name) !== N && user !== undefined) return user;
    const d = this.activeDefault(sym);
    if (!d) return "";
    if (d.macro) return this.running.get(sym.name) ?? "";
    if (d.expr.k === "sym") return this.str(d.expr.name);
    if (d.expr.k === "const") return d.expr.value;
    return "";
  }

  /**
   * Whether olddefconfig writes a line for a non-tristate symbol (it writes visible ones and
   * ones with an active default). Tristates need no such flag: absent and n compare equal.
   */
  written(name: string): boolean {
    const sym = this.model.symbols.get(name);
    if (!sym) return false;
    if (this.visible(name) !== N) return true;
    const d = this.activeDefault(sym);
    return d !== undefined && (d.expr.k === "sym" || d.expr.k === "const" || d.macro);
  }

  expr(e: Expr): Tri {
    switch (e.k) {
      case "sym":
        return this.tri(e.name);
      case "const":
        return parseTri(e.value);
      case "macro":
        return Y; // a compiler probe in a dependency: assume the capability (see file comment)
      case "not":
        return not(this.expr(e.a));
      case "and": {
        const a = this.expr(e.a);
        return a === N ? N : and(a, this.expr(e.b));
      }
      case "or": {
        const a = this.expr(e.a);
        return a === Y ? Y : or(a, this.expr(e.b));
      }
      case "cmp":
        // `"$(CROSS_COMPILE_COMPAT)" != ""` (arm64): a build-environment value, assumed like a probe.
        if (e.a.k === "macro" || e.b.k === "macro") return Y;
        return this.compare(e.op, e.a, e.b) ? Y : N;
    }
  }

  /** Kconfig's comparison (expr.c): numeric when both sides parse as numbers of their type, else strcmp. */
  private compare(op: string, a: Expr, b: Expr): boolean {
    const [s1, t1] = this.operand(a);
    const [s2, t2] = this.operand(b);
    let res: number;
    const n1 = t1 === "string" && t2 === "string" ? undefined : toNumber(s1, t1);
    const n2 = n1 === undefined ? undefined : toNumber(s2, t2);
    if (n1 === undefined || n2 === undefined) res = s1 < s2 ? -1 : s1 > s2 ? 1 : 0;
    else res = n1 < n2 ? -1 : n1 > n2 ? 1 : 0;
    switch (op) {
      case "=":
        return res === 0;
      case "!=":
        return res !== 0;
      case "<":
        return res < 0;
      case "<=":
        return res <= 0;
      case ">":
        return res > 0;
      default:
        return res >= 0;
    }
  }

  private operand(e: Expr): [string, string] {
    if (e.k === "sym") {
      const sym = this.model.symbols.get(e.name);
      return [this.str(e.name), sym ? sym.type : "unknown"];
    }
    if (e.k === "const") return [e.value, /^[ymn]$/.test(e.value) ? "tristate" : "unknown"];
    return ["", "unknown"];
  }
}

function toNumber(s: string, type: string): bigint | undefined {
  if (type === "bool" || type === "tristate") return BigInt(s === "n" ? 0 : s === "m" ? 1 : s === "y" ? 2 : -1);
  try {
    if (type === "hex") return /^(0x)?[0-9a-f]+$/i.test(s) ? BigInt(s.startsWith("0x") || s.startsWith("0X") ? s : "0x" + s) : undefined;
    if (type === "int") return /^-?\d+$/.test(s) ? BigInt(s) : undefined;
    // strtoll base 0: decimal, 0x hex, leading-0 octal
    if (/^-?0x[0-9a-f]+$/i.test(s)) return BigInt(s.replace(/^-?/, "")) * (s.startsWith("-") ? -1n : 1n);
    if (/^-?0[0-7]+$/.test(s)) return BigInt((s.startsWith("-") ? "-" : "") + "0o" + s.replace(/^-?0/, ""));
    if (/^-?\d+$/.test(s)) return BigInt(s);
  } catch {
    return undefined;
  }
  return undefined;
}

/** All values olddefconfig would write, as option → value ("n" for unset tristates, undefined for unwritten others). */
export function snapshot(ev: Evaluation): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  for (const sym of ev.model.symbols.values()) {
    if (sym.isChoice || sym.type === "unknown") continue;
    out.set(sym.name, symbolValue(ev, sym));
  }
  return out;
}

/** One symbol's entry of `snapshot`. */
export function symbolValue(ev: Evaluation, sym: Sym): string | undefined {
  if (sym.type === "bool" || sym.type === "tristate") return ev.str(sym.name);
  return ev.written(sym.name) ? ev.str(sym.name) : undefined;
}

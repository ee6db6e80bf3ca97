/**
 * Which options can never be on for this architecture, from the Kconfig alone, whatever
 * the config says: DRM_I915 `depends on X86`, and arm64's Kconfig does not define X86, so
 * olddefconfig drops DRM_I915=m there whatever else is set. The preflight asks this before
 * adding dependencies, so that it neither adds options olddefconfig would drop nor calls
 * such a request a dead end (a new kernel would not help; another architecture would).
 *
 * An option can be on when one of its prompts can be visible, one of its defaults can be
 * non-n, or something that can be on selects or implies it. An expression is bounded from
 * above (and from below, for `!ARM64` with ARM64 a `def_bool y`). The bounds are only ever
 * optimistic: a dependency loop counts as "can be on", so "never" is always true.
 *
 * COMPILE_TEST is taken as off unless the running config has it: a driver that is only
 * reachable through it (`depends on ARCH_MXC || COMPILE_TEST` on x86) builds but is not
 * meant to run there, and the preflight never turns on build testing by itself.
 */
import { Expr, exprSymbols, exprToString } from "./expr";
import { KconfigModel } from "./kconfigParser";
import { N, Tri, Y, parseTri } from "./tristate";
import { SourceTree } from "./sourceTree";
import { definingArchs } from "./archSupport";

const BUILD_TEST = "COMPILE_TEST";
const memo = new WeakMap<KconfigModel, Map<string, Reach>>();

export class Reach {
  private readonly possibleMemo = new Map<string, boolean>();

  private constructor(
    private readonly kconfig: KconfigModel,
    private readonly buildTest: boolean,
  ) {}

  /** One per model and COMPILE_TEST setting: the answers do not depend on anything else. */
  static of(kconfig: KconfigModel, running: ReadonlyMap<string, string>): Reach {
    const buildTest = running.get(BUILD_TEST) === "y";
    let byModel = memo.get(kconfig);
    if (!byModel) memo.set(kconfig, (byModel = new Map()));
    const key = String(buildTest);
    let r = byModel.get(key);
    if (!r) byModel.set(key, (r = new Reach(kconfig, buildTest)));
    return r;
  }

  /** Whether the option can be anything but n on this architecture. */
  possible(name: string): boolean {
    const known = this.possibleMemo.get(name);
    if (known !== undefined) return known;
    if (name === BUILD_TEST && !this.buildTest) return false;
    const sym = this.kconfig.symbols.get(name);
    if (!sym || (!sym.isChoice && sym.defs.length === 0)) return false;
    if (sym.isChoice) return true;
    this.possibleMemo.set(name, true); // a loop is optimistic
    const can = (e: Expr | undefined) => !e || this.hi(e) !== N;
    const v =
      sym.prompts.some((p) => can(p)) ||
      sym.defaults.some((d) => (d.macro || this.hi(d.expr) !== N) && can(d.cond)) ||
      [...sym.revDep, ...sym.impliedBy].some((r) => (r.by === "m" || this.possible(r.by)) && can(r.cond));
    this.possibleMemo.set(name, v);
    return v;
  }

  /** Whether the option is always y here: a prompt-less `def_bool y` without dependencies (ARM64 on arm64). */
  private alwaysY(name: string): boolean {
    const sym = this.kconfig.symbols.get(name);
    const d = sym?.defaults[0];
    return !!sym && sym.prompts.length === 0 && sym.dirDep === undefined && !!d && !d.cond && d.expr.k === "const" && d.expr.value === "y";
  }

  /** The highest value `e` can take on this architecture. */
  hi(e: Expr): Tri {
    return this.bound(e, true);
  }

  /**
   * The highest (`high`) or lowest value `e` can take on this architecture. The two bounds
   * differ only at the leaves (only `def_bool y` symbols are known to be on) and `not`
   * turns one into the other.
   */
  private bound(e: Expr, high: boolean): Tri {
    switch (e.k) {
      case "sym":
        return (high ? this.possible(e.name) : this.alwaysY(e.name)) ? Y : N;
      case "const":
        return parseTri(e.value);
      case "macro":
        return high ? Y : N;
      case "not":
        return (2 - this.bound(e.a, !high)) as Tri;
      case "and":
        return Math.min(this.bound(e.a, high), this.bound(e.b, high)) as Tri;
      case "or":
        return Math.max(this.bound(e.a, high), this.bound(e.b, high)) as Tri;
      case "cmp":
        // `X = y`, `X = m`, `X != n` with X never on cannot hold; other comparisons may.
        if (!high) return N;
        if (e.a.k === "sym" && e.b.k === "const" && !this.possible(e.a.name) && ((e.op === "=" && /^[ym]$/.test(e.b.value)) || (e.op === "!=" && e.b.value === "n"))) return N;
        return Y;
    }
  }

  /**
   * Why `name` can never be on, in words: its dependency, then the options in it that
   * block it: not defined on this architecture (naming the architectures that define
   * them), always y, never set, or blocked by their own dependency.
   */
  explain(name: string, arch: string, tree: SourceTree, depth = 0): string {
    const sym = this.kconfig.symbols.get(name);
    if (!sym?.dirDep || this.hi(sym.dirDep) !== N || depth > 2) return this.leafReason(name, arch, tree);
    const blocking = [...new Set(this.blockers(sym.dirDep))];
    const undefinedFirst = blocking.sort((a, b) => Number(this.defined(a)) - Number(this.defined(b)));
    // Followed a few levels, so that the reason ends at what blocks: X86, BROKEN, ...
    return [`${name} depends on ${exprToString(sym.dirDep)}`, ...undefinedFirst.slice(0, 3).map((s) => this.explain(s, arch, tree, depth + 1))].join("; ");
  }

  /** The options that make `e` n here: `X86` in `DRM && X86`, `ARM64` in `!ARM64` (not `PREEMPT_RT` in `!PREEMPT_RT`). */
  private blockers(e: Expr): string[] {
    if (this.hi(e) !== N) return [];
    switch (e.k) {
      case "sym":
        return [e.name];
      case "not":
        return [...exprSymbols(e.a)].filter((s) => this.alwaysY(s));
      case "and":
      case "or":
        return [...this.blockers(e.a), ...this.blockers(e.b)];
      case "cmp":
        return e.a.k === "sym" ? [e.a.name] : [];
      default:
        return [];
    }
  }

  private defined(name: string): boolean {
    return (this.kconfig.symbols.get(name)?.defs.length ?? 0) > 0;
  }

  private leafReason(name: string, arch: string, tree: SourceTree): string {
    if (name === BUILD_TEST && !this.buildTest) return `${BUILD_TEST} is off (build testing only; the preflight does not turn it on)`;
    if (this.alwaysY(name)) return `${name} is always y on ${arch}`;
    if (!this.defined(name)) {
      const others = definingArchs(tree, name, arch);
      const owner = others.length ? ` (${others.length > 3 ? "defined by other architectures" : `an option of ${others.map((o) => o.arch).join(", ")}`})` : "";
      return `${name} is not defined on ${arch}${owner}`;
    }
    const dep = this.kconfig.symbols.get(name)!.dirDep;
    if (dep && this.hi(dep) === N) return `${name} depends on ${exprToString(dep)}`;
    if (name === "BROKEN") return "BROKEN is never set (the option is marked broken)";
    return `${name} has no prompt on ${arch} and nothing there selects it`;
  }
}

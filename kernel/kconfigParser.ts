/**
 * Parses a Kconfig tree into symbols whose properties already carry their inherited
 * dependencies, the way the kernel's menu_finalize() leaves them:
 *
 * - every entry inside `if X` / `menu ... depends on X` / a choice depends on X (and on the
 *   choice itself);
 * - a prompt is visible when `deps && prompt-if && visible-if-of-enclosing-menus`;
 * - a default applies when `deps && default-if`;
 * - `select T if C` in S adds `S && deps(S) && C` to T's reverse dependencies (`imply` to
 *   its weak ones); T's own dependencies are not consulted: that is what makes `select`
 *   dangerous and dead ends possible;
 * - a symbol defined several times ORs its direct dependencies and keeps its properties in
 *   file order.
 *
 * Names follow the kernel's C tools (dirDep, revDep, impliedBy) so that reading
 * scripts/kconfig/symbol.c alongside this file is easy.
 */
import { CmpOp, Expr, andExpr, orExpr, containsMacro } from "./expr";
import { lexKconfig, Line, MacroScope, Token } from "./kconfigLexer";
import { SourceTree, dirname, joinPath } from "./sourceTree";

export type SymType = "bool" | "tristate" | "int" | "hex" | "string" | "unknown";

export interface Location {
  file: string;
  line: number;
}

export interface Sym {
  name: string;
  type: SymType;
  /** Each `config`/`menuconfig` of this name (or the `choice` line). */
  defs: Location[];
  /** Visibility expressions of the prompts (`deps && if`); empty for a prompt-less symbol. */
  prompts: Expr[];
  /** The text of the first prompt ("PEAK PCAN-ExpressCard Cards"), for reports. */
  promptText?: string;
  /** In file order; `cond` already includes the entry's dependencies. */
  defaults: { expr: Expr; cond: Expr | undefined; macro: boolean; at: Location }[];
  /** OR of the dependencies of each definition; undefined means none (always met). */
  dirDep: Expr | undefined;
  /** Who selects this symbol: `by` when `cond` (includes by's dependencies and the `if`). */
  revDep: { by: string; cond: Expr | undefined }[];
  /** Who implies this symbol. */
  impliedBy: { by: string; cond: Expr | undefined }[];
  /** The symbols this one selects / implies (forward direction, for reports). */
  selects: { target: string; cond: Expr | undefined }[];
  implies: { target: string; cond: Expr | undefined }[];
  /** Set on choice values: the name of their choice. */
  choice?: string;
  /** Set on choices. */
  isChoice?: boolean;
  choiceValues?: string[];
  optional?: boolean;
}

export interface KconfigModel {
  /** By name, in the order the files define them; read-only (a cached model decodes lazily). */
  symbols: ReadonlyMap<string, Sym>;
  /** Names of choices (generated as `<choice>@file:line` for anonymous ones). */
  choices: string[];
  /** Files read, in order; a useful check for the caller that `source` paths resolved. */
  files: string[];
  warnings: string[];
}

export interface ParseOptions {
  /** Kernel architecture directory name (arch/<srcarch>). Default "x86". */
  srcarch?: string;
  /** The ARCH value Kconfig sees (x86 on x86_64 builds). Default = srcarch. */
  arch?: string;
  /** Top Kconfig file. Default "Kconfig". */
  top?: string;
}

interface Block {
  dep: Expr | undefined; // accumulated dependencies of everything inside
  visibility: Expr | undefined; // accumulated `visible if` of enclosing menus (prompts only)
  choice?: Sym;
  kind: "root" | "menu" | "if" | "choice";
}

/** The entry whose attribute lines are being read. */
interface Entry {
  kind: "config" | "menu" | "choice" | "comment";
  sym?: Sym;
  at: Location;
  depends: Expr | undefined;
  visibleIf: Expr | undefined;
  prompts: (Expr | undefined)[]; // each prompt's `if`
  promptTexts: string[];
  defaults: { expr: Expr; cond: Expr | undefined; at: Location }[];
  selects: { target: string; cond: Expr | undefined }[];
  implies: { target: string; cond: Expr | undefined }[];
  parent: Block;
  optional: boolean;
}

const TYPE_WORDS: Record<string, SymType> = {
  bool: "bool",
  boolean: "bool",
  tristate: "tristate",
  int: "int",
  hex: "hex",
  string: "string",
  def_bool: "bool",
  def_tristate: "tristate",
};

export function parseKconfig(tree: SourceTree, opts: ParseOptions = {}): KconfigModel {
  const reader = new KconfigReader(tree, opts);
  reader.parseFile(opts.top ?? "Kconfig");
  reader.finish();
  return reader.model;
}

/** The state of one parse: the blocks open around the current line and the entry being read. */
class KconfigReader {
  private readonly scope: MacroScope;
  private readonly symbols = new Map<string, Sym>();
  readonly model: KconfigModel = { symbols: this.symbols, choices: [], files: [], warnings: [] };
  private readonly stack: Block[] = [{ dep: undefined, visibility: undefined, kind: "root" }];
  private entry: Entry | undefined;

  constructor(
    private readonly tree: SourceTree,
    opts: ParseOptions,
  ) {
    const srcarch = opts.srcarch ?? "x86";
    this.scope = new MacroScope({ SRCARCH: srcarch, ARCH: opts.arch ?? srcarch });
  }

  private getSym(name: string): Sym {
    let s = this.symbols.get(name);
    if (!s) {
      s = { name, type: "unknown", defs: [], prompts: [], defaults: [], dirDep: undefined, revDep: [], impliedBy: [], selects: [], implies: [] };
      this.symbols.set(name, s);
    }
    return s;
  }

  parseFile(file: string): void {
    const text = this.tree.read(file);
    if (text === undefined) {
      this.model.warnings.push(`${file}: not found`);
      return;
    }
    this.model.files.push(file);
    for (const ln of lexKconfig(text, this.scope)) {
      const at = { file, line: ln.line };
      try {
        this.statement(ln, at, file);
      } catch (err) {
        this.model.warnings.push(`${file}:${ln.line}: ${(err as Error).message}`);
      }
    }
  }

  /** Applies a finished entry's attributes to its symbol, with inherited dependencies. */
  finish(): void {
    if (!this.entry) return;
    const e = this.entry;
    this.entry = undefined;
    const dep = andExpr(e.parent.dep, e.depends);
    if (e.kind === "menu") {
      this.stack.push({ dep, visibility: andExpr(e.parent.visibility, e.visibleIf), kind: "menu" });
      return;
    }
    if (e.kind === "comment" || !e.sym) return;
    const sym = e.sym;
    sym.defs.push(e.at);
    for (const cond of e.prompts) sym.prompts.push(andExpr(andExpr(dep, cond), e.parent.visibility) ?? { k: "const", value: "y" });
    if (sym.promptText === undefined && e.promptTexts.length) sym.promptText = e.promptTexts[0];
    for (const d of e.defaults) sym.defaults.push({ expr: d.expr, cond: andExpr(dep, d.cond), macro: containsMacro(d.expr), at: d.at });
    // A symbol without any `depends on` anywhere has dirDep undefined (= y). One with
    // dependencies in one definition and none in another is y as well.
    sym.dirDep = sym.defs.length === 1 ? dep : sym.dirDep === undefined || dep === undefined ? undefined : orExpr(sym.dirDep, dep);
    for (const s of e.selects) {
      const cond = andExpr(dep, s.cond);
      sym.selects.push({ target: s.target, cond });
      this.getSym(s.target).revDep.push({ by: sym.name, cond });
    }
    for (const s of e.implies) {
      const cond = andExpr(dep, s.cond);
      sym.implies.push({ target: s.target, cond });
      this.getSym(s.target).impliedBy.push({ by: sym.name, cond });
    }
    this.placeInChoice(e, sym, dep);
  }

  /** A choice opens a block its values are read in; a value inside one joins it. */
  private placeInChoice(e: Entry, sym: Sym, dep: Expr | undefined): void {
    if (e.kind === "choice") {
      sym.optional = e.optional;
      // A non-optional choice cannot be n while visible: the kernel models this as a
      // reverse dependency `visible && m` (menu.c), which makes a bool choice y.
      if (!e.optional && sym.prompts.length > 0) sym.revDep.push({ by: "m", cond: sym.prompts[sym.prompts.length - 1] });
      this.stack.push({ dep: andExpr(dep, { k: "sym", name: sym.name }), visibility: e.parent.visibility, choice: sym, kind: "choice" });
    } else if (e.parent.choice) {
      sym.choice = e.parent.choice.name;
      e.parent.choice.choiceValues!.push(sym.name);
      if (sym.type === "unknown") sym.type = e.parent.choice.type;
    }
  }

  private newEntry(kind: Entry["kind"], at: Location, sym?: Sym): Entry {
    return { kind, sym, at, depends: undefined, visibleIf: undefined, prompts: [], promptTexts: [], defaults: [], selects: [], implies: [], parent: this.stack[this.stack.length - 1], optional: false };
  }

  private statement(ln: Line, at: Location, file: string): void {
    const toks = ln.tokens;
    const kw = toks[0].t === "word" ? toks[0].v : "";
    switch (kw) {
      case "config":
      case "menuconfig":
        this.finish();
        this.entry = this.newEntry("config", at, this.getSym(word(toks[1])));
        return;
      case "choice": {
        this.finish();
        const name = toks[1] ? word(toks[1]) : `<choice>@${file}:${at.line}`;
        const sym = this.getSym(name);
        sym.isChoice = true;
        sym.choiceValues ??= [];
        this.model.choices.push(name);
        this.entry = this.newEntry("choice", at, sym);
        return;
      }
      case "endchoice":
      case "endmenu":
      case "endif":
        this.finish();
        this.stack.pop();
        return;
      case "menu":
        this.finish();
        this.entry = this.newEntry("menu", at);
        return;
      case "comment":
        this.finish();
        this.entry = this.newEntry("comment", at);
        return;
      case "if": {
        this.finish();
        const parent = this.stack[this.stack.length - 1];
        this.stack.push({ dep: andExpr(parent.dep, parseExpr(toks, 1)), visibility: parent.visibility, choice: parent.choice, kind: "if" });
        return;
      }
      case "source":
      case "rsource":
      case "osource":
      case "orsource":
        this.finish();
        this.source(kw, toks[1], file);
        return;
      case "mainmenu":
        return;
    }
    if (!this.entry) throw new Error(`'${kw || toks[0].v}' outside an entry`);
    attribute(this.entry, toks, at);
  }

  /** `source` and its relative (r) and optional (o) forms. */
  private source(kw: string, arg: Token | undefined, file: string): void {
    if (!arg || arg.t === "macro") throw new Error(`cannot resolve ${kw} ${arg ? arg.v.replace(/\u0001MACRO\u0001/g, "$(?)") : ""}`);
    const rel = kw.startsWith("r") || kw === "orsource" ? joinPath(dirname(file), arg.v) : joinPath(arg.v);
    if (rel.includes("*")) throw new Error(`glob in ${kw} not supported: ${rel}`);
    if (kw.startsWith("o") && this.tree.read(rel) === undefined) return;
    this.parseFile(rel);
  }
}

/** Records one attribute line (type, prompt, default, depends, ...) on the entry being read. */
function attribute(e: Entry, toks: Token[], at: Location): void {
  const kw = toks[0].v;
  const type = TYPE_WORDS[kw];
  if (type) {
    if (e.sym && e.sym.type === "unknown") e.sym.type = type;
    if (kw.startsWith("def_")) {
      const { expr, cond } = exprWithIf(toks, 1);
      e.defaults.push({ expr, cond, at });
    } else if (toks.length > 1) {
      e.prompts.push(promptIf(toks, 1));
      e.promptTexts.push(toks[1].v);
    }
    return;
  }
  switch (kw) {
    case "prompt":
      e.prompts.push(promptIf(toks, 1));
      if (toks[1]) e.promptTexts.push(toks[1].v);
      return;
    case "default": {
      const { expr, cond } = exprWithIf(toks, 1);
      e.defaults.push({ expr, cond, at });
      return;
    }
    case "depends":
      // `depends on X`; 4.x also accepted `depends X`.
      e.depends = andExpr(e.depends, parseExpr(toks, toks[1]?.v === "on" ? 2 : 1));
      return;
    case "visible":
      e.visibleIf = andExpr(e.visibleIf, parseExpr(toks, toks[1]?.v === "if" ? 2 : 1));
      return;
    case "select":
    case "imply": {
      const target = word(toks[1]);
      const cond = toks[2]?.v === "if" ? parseExpr(toks, 3) : undefined;
      (kw === "select" ? e.selects : e.implies).push({ target, cond });
      return;
    }
    case "optional":
      e.optional = true;
      return;
    case "range":
    case "option":
    case "modules":
    case "transitional":
    case "help":
    case "---help---":
      return; // ranges are not enforced; help is skipped by the lexer
  }
  throw new Error(`unknown attribute '${kw}'`);
}

function word(t: Token | undefined): string {
  if (!t || (t.t !== "word" && t.t !== "str")) throw new Error("expected a name");
  return t.v;
}

/** `bool "prompt" if EXPR` → the `if` expression (undefined when absent). */
function promptIf(toks: Token[], i: number): Expr | undefined {
  i++; // the prompt text
  return toks[i]?.v === "if" && toks[i].t === "word" ? parseExpr(toks, i + 1) : undefined;
}

function exprWithIf(toks: Token[], i: number): { expr: Expr; cond: Expr | undefined } {
  const ifAt = toks.findIndex((t, j) => j >= i && t.t === "word" && t.v === "if");
  if (ifAt < 0) return { expr: parseExpr(toks, i), cond: undefined };
  return { expr: parseExprRange(toks, i, ifAt), cond: parseExpr(toks, ifAt + 1) };
}

function parseExpr(toks: Token[], i: number): Expr {
  return parseExprRange(toks, i, toks.length);
}

/** Recursive descent: `||` < `&&` < comparison < `!` / parentheses. */
function parseExprRange(toks: Token[], start: number, end: number): Expr {
  const p = new ExprParser(toks, start, end);
  const e = p.or();
  if (p.i < end) throw new Error(`unexpected '${toks[p.i].v}' in expression`);
  return e;
}

/** The binary operators, loosest first. */
const BINARY_OPS: { op: string; k: "or" | "and" }[] = [
  { op: "||", k: "or" },
  { op: "&&", k: "and" },
];

// A class rather than closures: the parser runs for every dependency line of the tree.
class ExprParser {
  constructor(private readonly toks: Token[], public i: number, private readonly end: number) {}

  private isOp(v: string): boolean {
    const t = this.i < this.end ? this.toks[this.i] : undefined;
    return t !== undefined && t.t === "op" && t.v === v;
  }

  or(): Expr {
    return this.binary(0);
  }

  /** Left-associative `a op b op c` at BINARY_OPS[level]; past the last level, a unary term. */
  private binary(level: number): Expr {
    if (level === BINARY_OPS.length) return this.unary();
    const { op, k } = BINARY_OPS[level];
    let e = this.binary(level + 1);
    while (this.isOp(op)) {
      this.i++;
      e = { k, a: e, b: this.binary(level + 1) };
    }
    return e;
  }

  private unary(): Expr {
    if (this.isOp("!")) {
      this.i++;
      return { k: "not", a: this.unary() };
    }
    if (this.isOp("(")) {
      this.i++;
      const e = this.or();
      if (!this.isOp(")")) throw new Error("missing ')'");
      this.i++;
      return e;
    }
    const a = this.atom();
    const t = this.i < this.end ? this.toks[this.i] : undefined;
    if (t && t.t === "op" && CMP_OPS.has(t.v)) {
      this.i++;
      return { k: "cmp", op: t.v as CmpOp, a, b: this.atom() };
    }
    return a;
  }

  private atom(): Expr {
    if (this.i >= this.end) throw new Error("expression ends early");
    const t = this.toks[this.i++];
    if (t.t === "macro") return { k: "macro", text: t.v.replace(/\u0001MACRO\u0001/g, "$(...)") };
    if (t.t === "str") return { k: "const", value: t.v };
    if (t.t === "word") return t.v === "y" || t.v === "m" || t.v === "n" ? { k: "const", value: t.v } : { k: "sym", name: t.v };
    throw new Error(`unexpected '${t.v}'`);
  }
}

const CMP_OPS = new Set(["=", "!=", "<", "<=", ">", ">="]);

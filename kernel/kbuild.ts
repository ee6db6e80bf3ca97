/**
 * An index of the Kbuild makefiles: for every object file, the options that decide whether
 * it is built, into what (vmlinux or which module), and the rule that says so.
 *
 * Walks from the roots (the top Kbuild, core-/drivers-/libs- in Makefile and
 * arch/<arch>/Makefile) through `obj-$(CONFIG_X) += dir/`, reading `dir/Kbuild` in preference
 * to `dir/Makefile` as Kbuild does. Understood: obj-y/obj-m/obj-$(CONFIG_X)/lib-y,
 * `obj-$(subst m,y,$(CONFIG_X))`, composite objects (`foo-y`, `foo-objs`, `foo-$(CONFIG_X)`,
 * members in subdirectories), `ifdef`/`ifndef`/`ifeq`/`ifneq`/`else` on CONFIG_ values,
 * and simple variables (`$(BITS)`). Anything else in a makefile is ignored.
 *
 * A gate is a Kconfig expression: an object's value is the AND of every gate on its path.
 * y = linked into vmlinux, m = part of the module `target`, n = not built. So `obj-y` in a
 * directory entered through `obj-m` is m, like Kbuild which does not link it into vmlinux.
 */
import { Expr, andExpr, orExpr, exprSymbols } from "./expr";
import { SourceTree, joinPath, dirname } from "./sourceTree";
import { splitAtTopLevelCommas } from "./topLevelCommas";

/** A line of a makefile. */
export interface Site {
  file: string;
  line: number;
  text: string;
}

export interface Placement {
  /** The compiled object, e.g. drivers/video/hdmi.o. */
  object: string;
  /** The linked unit: the object itself or the composite it is part of (drivers/gpu/drm/drm.o → drm.ko). */
  target: string;
  /** AND of all gates from the root down to this object. */
  gate: Expr;
  /** The makefile line that adds the object (or its composite). */
  rule: Site;
  /**
   * Conditionals on the way to this object that the reader could not decide (a shell call,
   * a variable it cannot know). The gate counts them as true: whether the object is built
   * at all is unknown, and a report must say so with these lines.
   */
  undecided: Site[];
}

export interface KbuildIndex {
  placements: readonly Placement[];
  byObject: ReadonlyMap<string, readonly Placement[]>;
  /** Placements whose gate mentions an option. */
  byOption: ReadonlyMap<string, readonly Placement[]>;
  /** Makefiles read. */
  files: string[];
  warnings: string[];
}

export interface KbuildOptions {
  srcarch?: string;
  /** Make variables assumed set; default BITS=64 and the arch names. */
  vars?: Record<string, string>;
}

interface Assign {
  base: string; // obj, lib, foo (composite), core, drivers, libs
  gate: Expr; // from the -y/-m/-$(CONFIG_X) suffix and enclosing conditionals
  items: string[];
  line: number;
  text: string;
  /** Undecidable conditionals around the assignment. */
  undecided: Site[];
}

const Y: Expr = { k: "const", value: "y" };
const M: Expr = { k: "const", value: "m" };
// 6.1 lists most roots in the top Kbuild; 4.x in init-y, core-y, drivers-y, net-y, libs-y of the Makefile.
const ROOT_BASES = new Set(["init", "core", "drivers", "libs", "net", "virt"]);

export function indexKbuild(tree: SourceTree, opts: KbuildOptions = {}): KbuildIndex {
  const srcarch = opts.srcarch ?? "x86";
  const vars = { BITS: "64", SRCARCH: srcarch, ARCH: srcarch, srctree: ".", ...opts.vars };
  const idx: IndexBuilder = { placements: [], byObject: new Map(), byOption: new Map(), files: [], warnings: [] };
  const dirGates = new Map<string, Expr>();
  const queue: string[] = [];

  const dirUndecided = new Map<string, Site[]>();
  const enterDir = (dir: string, gate: Expr, undecided: Site[]) => {
    const old = dirGates.get(dir);
    if (old === undefined) queue.push(dir);
    dirGates.set(dir, old === undefined ? gate : orExpr(old, gate)!);
    // Conservative: a directory reached on any undecided path is marked with those lines.
    const u = dirUndecided.get(dir) ?? [];
    for (const s of undecided) if (!u.some((x) => x.file === s.file && x.line === s.line)) u.push(s);
    dirUndecided.set(dir, u);
  };

  // Roots: the top Kbuild, then the top Makefile and the arch Makefile it includes, read in
  // one make scope as a plain build of vmlinux and modules (TOP_CONTEXT).
  const top = makeScope({ ...TOP_CONTEXT, ...vars }, true);
  for (const file of ["Kbuild", "Makefile", `arch/${srcarch}/Makefile`]) {
    const text = tree.read(file);
    if (text === undefined) continue;
    idx.files.push(file);
    for (const a of readMakefile(text, file === "Kbuild" ? vars : top, file)) {
      if (a.base !== "obj" && !ROOT_BASES.has(a.base)) continue;
      for (const it of a.items) if (it.endsWith("/")) enterDir(joinPath(it), a.gate, a.undecided);
    }
  }

  // Breadth first; a directory's gate must be final before its children use it, so a
  // directory reached again later (a second parent) is re-queued.
  const done = new Set<string>();
  while (queue.length) {
    const dir = queue.shift()!;
    if (done.has(dir)) continue;
    done.add(dir);
    const kbuildFile = joinPath(dir, "Kbuild");
    const kbuildText = tree.read(kbuildFile);
    const file = kbuildText !== undefined ? kbuildFile : joinPath(dir, "Makefile");
    const text = kbuildText ?? tree.read(file);
    if (text === undefined) {
      idx.warnings.push(`${dir}/: no Kbuild or Makefile`);
      continue;
    }
    idx.files.push(file);
    const assigns = readMakefile(text, { ...vars, src: dir, obj: dir }, file);
    indexDirectory(idx, { dir, file, gate: dirGates.get(dir)!, undecided: dirUndecided.get(dir) ?? [] }, assigns, (sub, gate, undecided) => {
      if (!done.has(sub)) enterDir(sub, gate, undecided);
    });
  }
  return idx;
}

/** A directory being indexed: its makefile, and the gate and undecided lines it was entered with. */
interface DirContext {
  dir: string;
  file: string;
  gate: Expr;
  undecided: Site[];
}

/**
 * Places the objects one directory's makefile builds (a composite's members under its
 * target); a subdirectory it enters goes to `enterSubdir` with its gate.
 */
function indexDirectory(idx: IndexBuilder, d: DirContext, assigns: Assign[], enterSubdir: (sub: string, gate: Expr, undecided: Site[]) => void): void {
  const composites = new Map<string, Assign[]>();
  for (const a of assigns) {
    if (a.base === "obj" || a.base === "lib") continue;
    if (!composites.has(a.base)) composites.set(a.base, []);
    composites.get(a.base)!.push(a);
  }
  for (const a of assigns) {
    if (a.base !== "obj" && a.base !== "lib") continue;
    for (const it of a.items) {
      const gate = andExpr(d.gate, a.gate)!;
      const undecided = [...d.undecided, ...a.undecided];
      if (it.endsWith("/")) {
        enterSubdir(joinPath(d.dir, it), gate, undecided);
        continue;
      }
      if (!it.endsWith(".o")) continue;
      const name = it.slice(0, -2);
      const target = joinPath(d.dir, it);
      const rule = { file: d.file, line: a.line, text: a.text };
      const members = composites.get(name);
      if (!members) {
        add(idx, { object: target, target, gate, rule, undecided });
        continue;
      }
      for (const mem of members) {
        for (const m of mem.items) {
          if (!m.endsWith(".o")) continue;
          add(idx, { object: joinPath(d.dir, m), target, gate: andExpr(gate, mem.gate)!, rule, undecided: [...undecided, ...mem.undecided] });
        }
      }
    }
  }
}

interface IndexBuilder extends KbuildIndex {
  placements: Placement[];
  byObject: Map<string, Placement[]>;
  byOption: Map<string, Placement[]>;
}

function add(idx: IndexBuilder, p: Placement) {
  idx.placements.push(p);
  if (!idx.byObject.has(p.object)) idx.byObject.set(p.object, []);
  idx.byObject.get(p.object)!.push(p);
  for (const name of exprSymbols(p.gate)) {
    if (!idx.byOption.has(name)) idx.byOption.set(name, []);
    idx.byOption.get(name)!.push(p);
  }
}

const ASSIGN = /^([A-Za-z0-9_.\-/$(),]+?)\s*(\+=|:=|\?=|=)\s*(.*)$/;
const SUFFIX = /^(.+?)-(y|m|objs|\$\(CONFIG_([A-Za-z0-9_]+)\)|\$\(subst_m_y,\$\(CONFIG_([A-Za-z0-9_]+)\)\))$/;

/**
 * The make variables of one reading. `known` holds what a condition may rely on: null marks
 * a variable whose value the reader cannot know (assigned under a condition it could not
 * decide, or from `$(shell ...)`, `$(call ...)`); `lenient` keeps every value seen, for
 * expanding object lists as before. `undefinedIsEmpty`: a variable never assigned expands
 * to "" (true for the top Makefile read in `CONTEXT`; false in subdirectory makefiles,
 * where it may come from the top Makefile or Kbuild.include and is unknown).
 */
export interface MakeScope {
  known: Map<string, string | null>;
  lenient: Map<string, string>;
  undefinedIsEmpty: boolean;
}

/**
 * What the top Makefile is read as: the final make invocation (sub_make_done=1) of a
 * plain `make` in the tree, no goals on the command line (the default target builds
 * vmlinux and modules), no external module (KBUILD_EXTMOD, M=) and no O=: the object tree
 * is the source tree and the current directory, and make runs with --no-print-directory
 * (6.12 recurses once more until it does).
 */
export const TOP_CONTEXT: Record<string, string> = {
  sub_make_done: "1",
  MAKECMDGOALS: "",
  MAKEFLAGS: "rR --no-print-directory",
  KBUILD_EXTMOD: "",
  KBUILD_SRC: "",
  KBUILD_OUTPUT: "",
  CURDIR: "/usr/src/linux",
  abs_srctree: "/usr/src/linux",
  abs_objtree: "/usr/src/linux",
};

export function makeScope(predefined: Record<string, string>, undefinedIsEmpty: boolean): MakeScope {
  return { known: new Map(Object.entries(predefined)), lenient: new Map(Object.entries(predefined)), undefinedIsEmpty };
}

/** The obj-/lib-/composite assignments of one makefile, with their conditions. */
export function readMakefile(text: string, predefined: Record<string, string> | MakeScope, file = "Makefile"): Assign[] {
  const scope = "known" in predefined ? (predefined as MakeScope) : makeScope(predefined as Record<string, string>, false);
  const out: Assign[] = [];
  // Each open conditional: the condition of the branch being read; `site` when undecidable.
  const conds: { cond: Expr; neg: Expr; site?: Site }[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let l = lines[i];
    while (l.endsWith("\\") && i + 1 < lines.length) l = l.slice(0, -1) + " " + lines[++i];
    const hash = l.indexOf("#");
    if (hash >= 0) l = l.slice(0, hash);
    // Recipe lines (tab first) are shell, not make.
    if (l.startsWith("\t") && !/^\t+(ifn?eq|ifn?def|else|endif)\b/.test(l) && !ASSIGN.test(l.trim())) continue;
    l = l.trim();
    if (!l) continue;
    const site = (): Site => ({ file, line: start + 1, text: l.replace(/\s+/g, " ") });
    const cm = /^(ifdef|ifndef|ifeq|ifneq|else|endif)\b\s*(.*)$/.exec(l);
    if (cm) {
      const [, kw, rest] = cm;
      if (kw === "endif") conds.pop();
      else if (kw === "else") {
        const top = conds.pop();
        const neg = top?.neg ?? Y;
        const nested = /^(ifdef|ifndef|ifeq|ifneq)\b\s*(.*)$/.exec(rest);
        // `else ifeq ...` chains into one level, as make does.
        const c = nested ? condition(nested[1], nested[2], scope) : Y;
        const undecided = top?.site ?? (c === undefined ? site() : undefined);
        const cc = c ?? Y;
        conds.push({ cond: andC(neg, cc), neg: andC(neg, c === undefined ? Y : negate(cc)), site: undecided });
      } else {
        const c = condition(kw, rest, scope);
        // An undecidable condition keeps both branches, marked with where it was.
        conds.push(c === undefined ? { cond: Y, neg: Y, site: site() } : { cond: c, neg: negate(c) });
      }
      continue;
    }
    if (conds.some((c) => isN(c.cond))) continue; // a branch make does not read
    // `$(subst m,y,...)` is the one name with a space in it; fold it so ASSIGN stays simple.
    const am = ASSIGN.exec(l.replace(/\$\(subst m,y,/g, "$(subst_m_y,"));
    if (!am) continue;
    const name = expandLenient(am[1], scope);
    const [op, value] = [am[2], am[3]];
    const sm = SUFFIX.exec(name);
    const undecided = conds.filter((c) => c.site).map((c) => c.site!);
    if (!sm) {
      if (name.includes("$")) continue;
      // A plain variable (BITS, my-objs-list, need-sub-make): remember for later expansion.
      const lv = expandLenient(value, scope);
      scope.lenient.set(name, op === "+=" ? `${scope.lenient.get(name) ?? ""} ${lv}` : lv);
      const onConfig = conds.some((c) => !isY(c.cond));
      if (op === "?=" && scope.known.has(name)) continue;
      const kv = undecided.length || onConfig ? null : expandStrict(value, scope);
      const old = scope.known.has(name) ? scope.known.get(name)! : scope.undefinedIsEmpty ? "" : null;
      scope.known.set(name, kv === null ? null : op === "+=" ? (old === null ? null : `${old} ${kv}`.trim()) : kv);
      continue;
    }
    const [, base, suffix, opt, substOpt] = sm;
    let gate: Expr =
      suffix === "y" || suffix === "objs" ? Y
      : suffix === "m" ? M
      : opt ? { k: "sym", name: opt }
      : { k: "cmp", op: "!=", a: { k: "sym", name: substOpt }, b: { k: "const", value: "n" } };
    for (const c of conds) gate = andExpr(gate, c.cond)!;
    const items = expandLenient(value, scope).split(/\s+/).filter((w) => w && !w.includes("$("));
    out.push({ base, gate, items, line: start + 1, text: l.replace(/\s+/g, " "), undecided });
  }
  return out;
}

/** AND that folds a constant n, so a branch make skips is recognised as skipped. */
function andC(a: Expr, b: Expr): Expr {
  return isN(a) || isN(b) ? { k: "const", value: "n" } : andExpr(a, b)!;
}

function isN(e: Expr): boolean {
  return e.k === "const" && e.value === "n";
}
function isY(e: Expr): boolean {
  return e.k === "const" && e.value === "y";
}

/** Expansion for object lists: unknown references stay as written (and the word is dropped). */
function expandLenient(s: string, scope: MakeScope): string {
  return s.replace(/\$\(([A-Za-z0-9_-]+)\)/g, (whole, v: string) => (v.startsWith("CONFIG_") ? whole : scope.lenient.get(v) ?? whole));
}

/**
 * Expansion for conditions, as make would do it, or null when the result depends on
 * something the reader does not know. `$(CONFIG_X)` stays as written (a Kconfig gate).
 */
export function expandStrict(s: string, scope: MakeScope, depth = 0): string | null {
  if (depth > 20) return null;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== "$") {
      out += c;
      continue;
    }
    const n = s[i + 1];
    if (n === "$") {
      out += "$";
      i++;
    } else if (n === "(" || n === "{") {
      const close = n === "(" ? ")" : "}";
      let level = 0;
      let j = i + 1;
      for (; j < s.length; j++) {
        if (s[j] === n) level++;
        else if (s[j] === close && --level === 0) break;
      }
      const v = reference(s.slice(i + 2, j), scope, depth);
      if (v === null) return null;
      out += v;
      i = j;
    } else if (n !== undefined) {
      const v = variable(n, scope);
      if (v === null) return null;
      out += v;
      i++;
    }
  }
  return out;
}

function variable(name: string, scope: MakeScope): string | null {
  if (/^CONFIG_[A-Za-z0-9_]+$/.test(name)) return `$(${name})`;
  if (scope.known.has(name)) return scope.known.get(name)!;
  return scope.undefinedIsEmpty ? "" : null;
}

const words = (s: string) => s.split(/\s+/).filter(Boolean);
const matches = (pat: string, w: string) => {
  const p = pat.indexOf("%");
  return p < 0 ? pat === w : w.length >= pat.length - 1 && w.startsWith(pat.slice(0, p)) && w.endsWith(pat.slice(p + 1));
};

/** `$(name)` or `$(function args)`: the few make functions the top Makefiles' conditions use. */
function reference(inner: string, scope: MakeScope, depth: number): string | null {
  const fm = /^([a-z-]+)[ \t]+([\s\S]*)$/.exec(inner);
  if (!fm) {
    const name = expandStrict(inner, scope, depth + 1);
    return name === null ? null : variable(name, scope);
  }
  const [, fn, rawArgs] = fm;
  const args = splitTop(rawArgs);
  const arg = (k: number) => expandStrict(args[k] ?? "", scope, depth + 1);
  switch (fn) {
    case "origin": {
      const name = arg(0);
      if (name === null) return null;
      return scope.known.has(name.trim()) ? "file" : scope.undefinedIsEmpty ? "undefined" : null;
    }
    case "filter":
    case "filter-out": {
      const [pats, text] = [arg(0), arg(1)];
      if (text === "") return "";
      if (pats === null || text === null) return null;
      const keep = fn === "filter";
      return words(text).filter((w) => words(pats).some((p) => matches(p, w)) === keep).join(" ");
    }
    case "words": {
      const t = arg(0);
      return t === null ? null : String(words(t).length);
    }
    case "firstword": {
      const t = arg(0);
      return t === null ? null : words(t)[0] ?? "";
    }
    case "strip": {
      const t = arg(0);
      return t === null ? null : words(t).join(" ");
    }
    case "findstring": {
      const [a, b] = [arg(0), arg(1)];
      return a === null || b === null ? null : b.includes(a) ? a : "";
    }
    case "subst": {
      const [a, b, t] = [arg(0), arg(1), arg(2)];
      return a === null || b === null || t === null ? null : t.split(a).join(b);
    }
    case "sort": {
      const t = arg(0);
      return t === null ? null : [...new Set(words(t))].sort().join(" ");
    }
    default:
      return null; // shell, call, wildcard, realpath, ...: not evaluated here
  }
}

/** Splits make function arguments at top-level commas: `(` and `{` both nest. */
function splitTop(s: string): string[] {
  return splitAtTopLevelCommas(s, "({", ")}");
}

function negate(e: Expr): Expr {
  if (e.k === "const") return { k: "const", value: e.value === "y" ? "n" : "y" };
  return { k: "not", a: e };
}

/** A makefile conditional as a y/n-valued Kconfig expression; undefined when it cannot be decided. */
function condition(kw: string, rest: string, scope: MakeScope): Expr | undefined {
  const ne = (name: string, v: string): Expr => ({ k: "cmp", op: "!=", a: { k: "sym", name }, b: { k: "const", value: v } });
  const eq = (name: string, v: string): Expr => ({ k: "cmp", op: "=", a: { k: "sym", name }, b: { k: "const", value: v } });
  if (kw === "ifdef" || kw === "ifndef") {
    const name = expandStrict(rest.trim(), scope);
    if (name === null) return undefined;
    const m = /^CONFIG_([A-Za-z0-9_]+)$/.exec(name);
    if (m) return kw === "ifdef" ? ne(m[1], "n") : eq(m[1], "n");
    const v = variable(name, scope);
    if (v === null) return undefined;
    const defined: Expr = { k: "const", value: v !== "" ? "y" : "n" };
    return kw === "ifdef" ? defined : negate(defined);
  }
  const m = /^\(\s*([\s\S]*)\s*\)$/.exec(rest.trim());
  let pair: [string, string] | undefined;
  if (m) {
    const parts = splitTop(m[1]);
    if (parts.length === 2) pair = [parts[0].trim(), parts[1].trim()];
  } else {
    const q = /^(["'])(.*?)\1\s+(["'])(.*?)\3$/.exec(rest.trim());
    if (q) pair = [q[2], q[4]];
  }
  if (!pair) return undefined;
  const a = expandStrict(pair[0], scope);
  const b = expandStrict(pair[1], scope);
  if (a === null || b === null) return undefined;
  const cfg = (s: string) => /^\$\(CONFIG_([A-Za-z0-9_]+)\)$/.exec(s.trim())?.[1];
  let e: Expr | undefined;
  const ca = cfg(a);
  const cb = cfg(b);
  if (ca && !cb && /^[ym]?$/.test(b.trim())) e = b.trim() === "" ? eq(ca, "n") : eq(ca, b.trim());
  else if (cb && !ca && /^[ym]?$/.test(a.trim())) e = a.trim() === "" ? eq(cb, "n") : eq(cb, a.trim());
  else if (!a.includes("$(") && !b.includes("$(")) e = { k: "const", value: a === b ? "y" : "n" };
  if (!e) return undefined;
  return kw === "ifeq" ? e : negate(e);
}

/** The module file a target builds when it is m: drivers/gpu/drm/drm.o → drivers/gpu/drm/drm.ko. */
export function moduleFile(target: string): string {
  return target.replace(/\.o$/, ".ko");
}

export function moduleName(target: string): string {
  return target.slice(dirname(target).length).replace(/^\//, "").replace(/\.o$/, "").replace(/-/g, "_");
}

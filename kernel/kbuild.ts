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

export interface Placement {
  /** The compiled object, e.g. drivers/video/hdmi.o. */
  object: string;
  /** The linked unit: the object itself or the composite it is part of (drivers/gpu/drm/drm.o → drm.ko). */
  target: string;
  /** AND of all gates from the root down to this object. */
  gate: Expr;
  /** The makefile line that adds the object (or its composite). */
  rule: { file: string; line: number; text: string };
}

export interface KbuildIndex {
  placements: Placement[];
  byObject: Map<string, Placement[]>;
  /** Placements whose gate mentions an option. */
  byOption: Map<string, Placement[]>;
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
}

const Y: Expr = { k: "const", value: "y" };
const M: Expr = { k: "const", value: "m" };
// 6.1 lists most roots in the top Kbuild; 4.x in init-y, core-y, drivers-y, net-y, libs-y of the Makefile.
const ROOT_BASES = new Set(["init", "core", "drivers", "libs", "net", "virt"]);

export function indexKbuild(tree: SourceTree, opts: KbuildOptions = {}): KbuildIndex {
  const srcarch = opts.srcarch ?? "x86";
  const vars = { BITS: "64", SRCARCH: srcarch, ARCH: srcarch, srctree: ".", ...opts.vars };
  const idx: KbuildIndex = { placements: [], byObject: new Map(), byOption: new Map(), files: [], warnings: [] };
  const dirGates = new Map<string, Expr>();
  const queue: string[] = [];

  const enterDir = (dir: string, gate: Expr) => {
    const old = dirGates.get(dir);
    if (old === undefined) queue.push(dir);
    dirGates.set(dir, old === undefined ? gate : orExpr(old, gate)!);
  };

  // Roots.
  for (const file of ["Kbuild", "Makefile", `arch/${srcarch}/Makefile`]) {
    const text = tree.read(file);
    if (text === undefined) continue;
    idx.files.push(file);
    for (const a of readMakefile(text, vars)) {
      if (a.base !== "obj" && !ROOT_BASES.has(a.base)) continue;
      for (const it of a.items) if (it.endsWith("/")) enterDir(joinPath(it), a.gate);
    }
  }

  // Breadth first; a directory's gate must be final before its children use it, so a
  // directory reached again later (a second parent) is re-queued.
  const done = new Set<string>();
  while (queue.length) {
    const dir = queue.shift()!;
    if (done.has(dir)) continue;
    done.add(dir);
    const file = tree.read(joinPath(dir, "Kbuild")) !== undefined ? joinPath(dir, "Kbuild") : joinPath(dir, "Makefile");
    const text = tree.read(file);
    if (text === undefined) {
      idx.warnings.push(`${dir}/: no Kbuild or Makefile`);
      continue;
    }
    idx.files.push(file);
    const dirGate = dirGates.get(dir)!;
    const assigns = readMakefile(text, { ...vars, src: dir, obj: dir });
    const composites = new Map<string, Assign[]>();
    for (const a of assigns) {
      if (a.base === "obj" || a.base === "lib") continue;
      if (!composites.has(a.base)) composites.set(a.base, []);
      composites.get(a.base)!.push(a);
    }
    for (const a of assigns) {
      if (a.base !== "obj" && a.base !== "lib") continue;
      for (const it of a.items) {
        const gate = andExpr(dirGate, a.gate)!;
        if (it.endsWith("/")) {
          const sub = joinPath(dir, it);
          if (!done.has(sub)) enterDir(sub, gate);
          continue;
        }
        if (!it.endsWith(".o")) continue;
        const name = it.slice(0, -2);
        const target = joinPath(dir, it);
        const rule = { file, line: a.line, text: a.text };
        const members = composites.get(name);
        if (!members) {
          add(idx, { object: target, target, gate, rule });
          continue;
        }
        for (const mem of members) {
          for (const m of mem.items) {
            if (!m.endsWith(".o")) continue;
            add(idx, { object: joinPath(dir, m), target, gate: andExpr(gate, mem.gate)!, rule });
          }
        }
      }
    }
  }
  return idx;
}

function add(idx: KbuildIndex, p: Placement) {
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

/** The obj-/lib-/composite assignments of one makefile, with their conditions. */
export function readMakefile(text: string, predefined: Record<string, string>): Assign[] {
  const vars = new Map(Object.entries(predefined));
  const out: Assign[] = [];
  // Each open conditional: the condition of the branch being read.
  const conds: { cond: Expr; neg: Expr }[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let l = lines[i];
    while (l.endsWith("\\") && i + 1 < lines.length) l = l.slice(0, -1) + " " + lines[++i];
    const hash = l.indexOf("#");
    if (hash >= 0) l = l.slice(0, hash);
    l = l.trim();
    if (!l) continue;
    const cm = /^(ifdef|ifndef|ifeq|ifneq|else|endif)\b\s*(.*)$/.exec(l);
    if (cm) {
      const [, kw, rest] = cm;
      if (kw === "endif") conds.pop();
      else if (kw === "else") {
        const top = conds.pop();
        const neg = top?.neg ?? Y;
        const nested = /^(ifdef|ifndef|ifeq|ifneq)\b\s*(.*)$/.exec(rest);
        // `else ifeq ...` chains into one level, as make does.
        const c = nested ? condition(nested[1], nested[2], vars) : undefined;
        conds.push({ cond: andExpr(neg, c ?? Y)!, neg: andExpr(neg, c ? negate(c) : Y)! });
      } else {
        const c = condition(kw, rest, vars);
        // An unknown condition keeps both branches.
        conds.push({ cond: c ?? Y, neg: c ? negate(c) : Y });
      }
      continue;
    }
    // `$(subst m,y,...)` is the one name with a space in it; fold it so ASSIGN stays simple.
    const am = ASSIGN.exec(l.replace(/\$\(subst m,y,/g, "$(subst_m_y,"));
    if (!am) continue;
    const name = expand(am[1], vars);
    const value = am[3];
    const sm = SUFFIX.exec(name);
    if (!sm) {
      // A plain variable (BITS, my-objs-list): remember for later expansion.
      if (!name.includes("$")) vars.set(name, am[2] === "+=" ? `${vars.get(name) ?? ""} ${expand(value, vars)}` : expand(value, vars));
      continue;
    }
    const [, base, suffix, opt, substOpt] = sm;
    let gate: Expr =
      suffix === "y" || suffix === "objs" ? Y
      : suffix === "m" ? M
      : opt ? { k: "sym", name: opt }
      : { k: "cmp", op: "!=", a: { k: "sym", name: substOpt }, b: { k: "const", value: "n" } };
    for (const c of conds) gate = andExpr(gate, c.cond)!;
    const items = expand(value, vars).split(/\s+/).filter((w) => w && !w.includes("$("));
    out.push({ base, gate, items, line: start + 1, text: l.replace(/\s+/g, " ") });
  }
  return out;
}

function expand(s: string, vars: Map<string, string>): string {
  return s.replace(/\$\(([A-Za-z0-9_-]+)\)/g, (whole, v: string) => (v.startsWith("CONFIG_") ? whole : vars.get(v) ?? whole));
}

function negate(e: Expr): Expr {
  if (e.k === "const") return { k: "const", value: e.value === "y" ? "n" : "y" };
  return { k: "not", a: e };
}

/** A makefile conditional as a y/n-valued Kconfig expression; undefined when not understood. */
function condition(kw: string, rest: string, vars: Map<string, string>): Expr | undefined {
  const ne = (name: string, v: string): Expr => ({ k: "cmp", op: "!=", a: { k: "sym", name }, b: { k: "const", value: v } });
  const eq = (name: string, v: string): Expr => ({ k: "cmp", op: "=", a: { k: "sym", name }, b: { k: "const", value: v } });
  if (kw === "ifdef" || kw === "ifndef") {
    const m = /^CONFIG_([A-Za-z0-9_]+)$/.exec(rest.trim());
    if (!m) return undefined;
    return kw === "ifdef" ? ne(m[1], "n") : eq(m[1], "n");
  }
  const m = /^\(\s*([^,]*?)\s*,\s*([^)]*?)\s*\)$/.exec(rest.trim()) ?? /^["']([^"']*)["']\s+["']([^"']*)["']$/.exec(rest.trim());
  if (!m) return undefined;
  const a = expand(m[1], vars);
  const b = expand(m[2], vars);
  const cfg = (s: string) => /^\$\(CONFIG_([A-Za-z0-9_]+)\)$/.exec(s)?.[1];
  let e: Expr | undefined;
  const ca = cfg(a);
  const cb = cfg(b);
  if (ca && !cb && /^[ym]?$/.test(b)) e = b === "" ? eq(ca, "n") : eq(ca, b);
  else if (cb && !ca && /^[ym]?$/.test(a)) e = a === "" ? eq(cb, "n") : eq(cb, a);
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

/**
 * A parsed KernelModel as one text, and back: what a cache of parsed trees stores
 * (bin/modelCache.ts). Pure, like the rest of kernel/.
 *
 * Reading it back must cost far less than parsing: a one-shot preflight reads a few
 * thousand of the 16,000 symbols and the placements of a few dozen options. So the text
 * is a header of section offsets followed by sections; a symbol or placement is one JSON
 * row of its own, parsed the first time it is asked for (LazyMap). Decoding everything
 * eagerly (JSON.parse of the whole graph, or v8.deserialize) took 0.4-0.6 s on 6.1 x86.
 *
 * Expressions form a DAG (a menu's dependencies are one object shared by every entry in
 * it), so they are written once into a node table and referenced by index. Placements
 * are shared between byObject and byOption and come back as the same objects, which the
 * preflight relies on (it compares placements by identity).
 */
import type { Expr } from "./expr";
import type { KconfigModel, Location, Sym } from "./kconfigParser";
import type { KbuildIndex, Placement } from "./kbuild";
import { LazyMap } from "./lazyMap";

/** Changes whenever the text below changes shape; a cache holding another format is ignored. */
export const MODEL_DATA_FORMAT = 3;
const MAGIC = "kmod-fleet parsed kernel model";

/** A model as the preflight and the doctor use it. */
export interface ParsedModel {
  kconfig: KconfigModel;
  kbuild: KbuildIndex;
  /** symbol → symbols whose value reads it (impact.ts). */
  readers: ReadonlyMap<string, readonly string[]>;
}

/**
 * One expression node: "s" name, "c" value, "M" macro text, "!" a, "&" a b, "|" a b, or a
 * comparison operator a b; a and b are indices of earlier rows.
 */
type ExprRow = [string, string | number, number?];

/** An expression reference: a row of the table, or -1 for none. */
type Ref = number;

interface SymRow {
  n: string;
  t: Sym["type"];
  d: [string, number][];
  p: Ref[];
  pt?: string;
  df: [Ref, Ref, 0 | 1, string, number][];
  dd: Ref;
  rd: [string, Ref][];
  ib: [string, Ref][];
  se: [string, Ref][];
  im: [string, Ref][];
  ch?: string;
  ic?: 1;
  cv?: string[];
  o?: 0 | 1;
}

/** object, target, gate, rule file, rule line, rule text, undecided sites. */
type PlacementRow = [string, string, Ref, string, number, string, [string, number, string][]];

interface Meta {
  arch: string;
  choices: string[];
  kconfigFiles: string[];
  kconfigWarnings: string[];
  kbuildFiles: string[];
  kbuildWarnings: string[];
}

const SECTIONS = ["meta", "exprs", "symbolIndex", "symbols", "readerIndex", "readers", "placementIndex", "placements", "byOption", "byObject"] as const;
type Section = (typeof SECTIONS)[number];

/** Rows of one section, written back to back; `ends[i]` is where row i ends. */
function rows(texts: string[]): { text: string; ends: number[] } {
  const ends: number[] = [];
  let at = 0;
  for (const t of texts) ends.push((at += t.length));
  return { text: texts.join(""), ends };
}

export function encodeModel(arch: string, m: ParsedModel): string {
  const table: ExprRow[] = [];
  const ids = new Map<Expr, number>();
  const ref = (e: Expr | undefined): Ref => {
    if (!e) return -1;
    const known = ids.get(e);
    if (known !== undefined) return known;
    let row: ExprRow;
    switch (e.k) {
      case "sym":
        row = ["s", e.name];
        break;
      case "const":
        row = ["c", e.value];
        break;
      case "macro":
        row = ["M", e.text];
        break;
      case "not":
        row = ["!", ref(e.a)];
        break;
      case "and":
        row = ["&", ref(e.a), ref(e.b)];
        break;
      case "or":
        row = ["|", ref(e.a), ref(e.b)];
        break;
      case "cmp":
        row = [e.op, ref(e.a), ref(e.b)];
        break;
    }
    ids.set(e, table.length);
    table.push(row);
    return table.length - 1;
  };
  const loc = (l: Location): [string, number] => [l.file, l.line];
  const by = (list: { by: string; cond: Expr | undefined }[]): [string, Ref][] => list.map((x) => [x.by, ref(x.cond)]);
  const to = (list: { target: string; cond: Expr | undefined }[]): [string, Ref][] => list.map((x) => [x.target, ref(x.cond)]);

  const names: string[] = [];
  const symTexts: string[] = [];
  const readerTexts: string[] = [];
  for (const s of m.kconfig.symbols.values()) {
    const row: SymRow = {
      n: s.name,
      t: s.type,
      d: s.defs.map(loc),
      p: s.prompts.map(ref),
      df: s.defaults.map((d) => [ref(d.expr), ref(d.cond), d.macro ? 1 : 0, d.at.file, d.at.line]),
      dd: ref(s.dirDep),
      rd: by(s.revDep),
      ib: by(s.impliedBy),
      se: to(s.selects),
      im: to(s.implies),
    };
    if (s.promptText !== undefined) row.pt = s.promptText;
    if (s.choice !== undefined) row.ch = s.choice;
    if (s.isChoice) row.ic = 1;
    if (s.choiceValues) row.cv = s.choiceValues;
    if (s.optional !== undefined) row.o = s.optional ? 1 : 0;
    names.push(s.name);
    symTexts.push(JSON.stringify(row));
    readerTexts.push(JSON.stringify(m.readers.get(s.name) ?? []));
  }

  const index = new Map<Placement, number>();
  const placementTexts = m.kbuild.placements.map((p, i) => {
    index.set(p, i);
    const row: PlacementRow = [p.object, p.target, ref(p.gate), p.rule.file, p.rule.line, p.rule.text, p.undecided.map((u) => [u.file, u.line, u.text])];
    return JSON.stringify(row);
  });
  const lists = (map: ReadonlyMap<string, readonly Placement[]>): [string, number[]][] =>
    [...map].map(([k, ps]) => [
      k,
      ps.map((p) => {
        const i = index.get(p);
        if (i === undefined) throw new Error(`Kbuild index: ${p.object} is listed under ${k} but is not a placement`);
        return i;
      }),
    ]);

  const meta: Meta = { arch, choices: m.kconfig.choices, kconfigFiles: m.kconfig.files, kconfigWarnings: m.kconfig.warnings, kbuildFiles: m.kbuild.files, kbuildWarnings: m.kbuild.warnings };
  const syms = rows(symTexts);
  const readers = rows(readerTexts);
  const placements = rows(placementTexts);
  const body: Record<Section, string> = {
    meta: JSON.stringify(meta),
    exprs: JSON.stringify(table),
    symbolIndex: JSON.stringify([names, syms.ends]),
    symbols: syms.text,
    readerIndex: JSON.stringify(readers.ends),
    readers: readers.text,
    placementIndex: JSON.stringify(placements.ends),
    placements: placements.text,
    byOption: JSON.stringify(lists(m.kbuild.byOption)),
    byObject: JSON.stringify(lists(m.kbuild.byObject)),
  };
  const offsets: Record<string, [number, number]> = {};
  let at = 0;
  for (const s of SECTIONS) offsets[s] = [at, (at += body[s].length)];
  return `${MAGIC} ${MODEL_DATA_FORMAT}\n${JSON.stringify(offsets)}\n${SECTIONS.map((s) => body[s]).join("")}`;
}

/** The format number of an encoded model (undefined when it is not one). */
export function encodedFormat(text: string): number | undefined {
  const m = /^kmod-fleet parsed kernel model (\d+)\n/.exec(text.slice(0, 64));
  return m ? Number(m[1]) : undefined;
}

/**
 * The model of an encoded text. Only the index sections are parsed here; symbols,
 * placements and the byObject list are decoded when first used.
 */
export function decodeModel(text: string): ParsedModel & { arch: string } {
  const format = encodedFormat(text);
  if (format !== MODEL_DATA_FORMAT) throw new Error(`not a parsed kernel model of format ${MODEL_DATA_FORMAT} (found ${format ?? "no format line"})`);
  const headerStart = text.indexOf("\n") + 1;
  const bodyStart = text.indexOf("\n", headerStart) + 1;
  const offsets = JSON.parse(text.slice(headerStart, bodyStart - 1)) as Record<Section, [number, number]>;
  const slice = (s: Section) => text.slice(bodyStart + offsets[s][0], bodyStart + offsets[s][1]);
  const rowOf = (s: Section, ends: number[], i: number) => text.slice(bodyStart + offsets[s][0] + (i ? ends[i - 1] : 0), bodyStart + offsets[s][0] + ends[i]);
  const once = <T>(f: () => T): (() => T) => {
    let v: { value: T } | undefined;
    return () => (v ??= { value: f() }).value;
  };

  const meta = JSON.parse(slice("meta")) as Meta;
  const table = once(() => JSON.parse(slice("exprs")) as ExprRow[]);
  const exprs: (Expr | undefined)[] = [];
  const expr = (i: Ref): Expr => {
    const known = exprs[i];
    if (known) return known;
    const [k, a, b] = table()[i];
    let e: Expr;
    switch (k) {
      case "s":
        e = { k: "sym", name: a as string };
        break;
      case "c":
        e = { k: "const", value: a as string };
        break;
      case "M":
        e = { k: "macro", text: a as string };
        break;
      case "!":
        e = { k: "not", a: expr(a as number) };
        break;
      case "&":
        e = { k: "and", a: expr(a as number), b: expr(b!) };
        break;
      case "|":
        e = { k: "or", a: expr(a as number), b: expr(b!) };
        break;
      default:
        e = { k: "cmp", op: k as Extract<Expr, { k: "cmp" }>["op"], a: expr(a as number), b: expr(b!) };
    }
    return (exprs[i] = e);
  };
  const opt = (r: Ref): Expr | undefined => (r < 0 ? undefined : expr(r));

  const [names, symEnds] = JSON.parse(slice("symbolIndex")) as [string[], number[]];
  const symbols = new LazyMap<Sym>(names, (i) => {
    const r = JSON.parse(rowOf("symbols", symEnds, i)) as SymRow;
    const s: Sym = {
      name: r.n,
      type: r.t,
      defs: r.d.map(([file, line]) => ({ file, line })),
      prompts: r.p.map(expr),
      defaults: r.df.map(([x, c, macro, file, line]) => ({ expr: expr(x), cond: opt(c), macro: macro === 1, at: { file, line } })),
      dirDep: opt(r.dd),
      revDep: r.rd.map(([by, c]) => ({ by, cond: opt(c) })),
      impliedBy: r.ib.map(([by, c]) => ({ by, cond: opt(c) })),
      selects: r.se.map(([target, c]) => ({ target, cond: opt(c) })),
      implies: r.im.map(([target, c]) => ({ target, cond: opt(c) })),
    };
    if (r.pt !== undefined) s.promptText = r.pt;
    if (r.ch !== undefined) s.choice = r.ch;
    if (r.ic) s.isChoice = true;
    if (r.cv) s.choiceValues = r.cv;
    if (r.o !== undefined) s.optional = r.o === 1;
    return s;
  });
  const readerEnds = once(() => JSON.parse(slice("readerIndex")) as number[]);
  const readers = new LazyMap<readonly string[]>(names, (i) => JSON.parse(rowOf("readers", readerEnds(), i)) as string[]);

  const placementEnds = JSON.parse(slice("placementIndex")) as number[];
  const placement = (i: number): Placement => {
    const [object, target, gate, file, line, ruleText, undecided] = JSON.parse(rowOf("placements", placementEnds, i)) as PlacementRow;
    return { object, target, gate: expr(gate), rule: { file, line, text: ruleText }, undecided: undecided.map(([f, l, t]) => ({ file: f, line: l, text: t })) };
  };
  const placements: (Placement | undefined)[] = [];
  const placementAt = (i: number): Placement => (placements[i] ??= placement(i));
  const listMap = (s: Section) =>
    once(() => {
      const list = JSON.parse(slice(s)) as [string, number[]][];
      return new LazyMap<readonly Placement[]>(
        list.map(([k]) => k),
        (i) => list[i][1].map(placementAt),
      );
    });
  const byOption = listMap("byOption");
  const byObject = listMap("byObject");
  const allPlacements = once(() => placementEnds.map((_, i) => placementAt(i)));

  const kbuild: KbuildIndex = {
    get placements() {
      return allPlacements();
    },
    get byOption() {
      return byOption();
    },
    get byObject() {
      return byObject();
    },
    files: meta.kbuildFiles,
    warnings: meta.kbuildWarnings,
  };
  return {
    arch: meta.arch,
    kconfig: { symbols, choices: meta.choices, files: meta.kconfigFiles, warnings: meta.kconfigWarnings },
    kbuild,
    readers,
  };
}

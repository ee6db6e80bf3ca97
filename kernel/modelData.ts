/**
 * A parsed KernelModel as two texts, the Kconfig part (symbols and their readers) and the
 * Kbuild part (the index), and back: what a cache of parsed trees stores
 * (kernel/disk/modelCache.ts). Two parts because they are made independently (the CLI indexes
 * Kbuild in a worker thread while it parses Kconfig). Pure, like the rest of kernel/.
 *
 * Reading a part back must cost far less than parsing: a one-shot preflight reads a few
 * thousand of the 16,000 symbols and the placements of a few dozen options. So each text
 * is a header of section offsets followed by sections; a symbol, placement or expression
 * is a row of its own, decoded the first time it is asked for (LazyMap). Decoding
 * everything eagerly (JSON.parse of the whole graph, or v8.deserialize) took 0.4-0.6 s on
 * 6.1 x86.
 *
 * Expressions form a DAG (a menu's dependencies are one object shared by every entry in
 * it), so each part writes them once into its own table and refers to them by index.
 * Placements are shared between byObject and byOption and come back as the same objects,
 * which the preflight relies on (it compares placements by identity).
 */
import type { Expr } from "./expr";
import type { KconfigModel, Location, Sym } from "./kconfigParser";
import type { KbuildIndex, Placement } from "./kbuild";
import { LazyMap } from "./lazyMap";

/** Changes whenever the text below changes shape; a cache holding another format is ignored. */
export const MODEL_DATA_FORMAT = 5;
const MAGIC = "kmod-fleet parsed kernel model";

/** A model as the preflight and the doctor use it. */
export interface ParsedModel {
  kconfig: KconfigModel;
  kbuild: KbuildIndex;
  /** symbol → symbols whose value reads it (impact.ts). */
  readers: ReadonlyMap<string, readonly string[]>;
}

/** An expression reference: a row of the table, or -1 for none. */
type Ref = number;

/**
 * A symbol: type, defs [file, line], prompts, defaults [expr, cond, macro, file, line],
 * dirDep, revDep [by, cond], impliedBy, selects [target, cond], implies, then prompt text,
 * choice, isChoice, choiceValues, optional (null when absent). Files are indices into the
 * meta's file table. The name is the index's.
 */
type SymRow = [
  Sym["type"],
  [number, number][],
  Ref[],
  [Ref, Ref, 0 | 1, number, number][],
  Ref,
  [string, Ref][],
  [string, Ref][],
  [string, Ref][],
  [string, Ref][],
  string | null,
  string | null,
  1 | null,
  string[] | null,
  0 | 1 | null,
];

/** object, target, gate, rule file, rule line, rule text, undecided sites. */
type PlacementRow = [string, string, Ref, string, number, string, [string, number, string][]];

interface KconfigMeta {
  arch: string;
  choices: string[];
  files: string[];
  warnings: string[];
  /** The files symbol rows refer to by index. */
  fileTable: string[];
}

interface KbuildMeta {
  arch: string;
  files: string[];
  warnings: string[];
}

const KCONFIG_SECTIONS = ["meta", "exprs", "symbolIndex", "symbols", "readerIndex", "readers"] as const;
const KBUILD_SECTIONS = ["meta", "exprs", "placementIndex", "placements", "byOptionIndex", "byOption", "byObjectIndex", "byObject"] as const;
type Part = "kconfig" | "kbuild";

/**
 * JSON with every non-ASCII character escaped: the text is then pure ASCII, and a reader
 * can decode the file as latin1 (a plain copy, several times faster than utf8).
 */
function json(v: unknown): string {
  return JSON.stringify(v).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Rows of one section, written back to back; `ends[i]` is where row i ends. */
function rows(texts: string[]): { text: string; ends: number[] } {
  const ends: number[] = [];
  let at = 0;
  for (const t of texts) ends.push((at += t.length));
  return { text: texts.join(""), ends };
}

/**
 * One expression per line, children before parents, so that a line is decoded only when
 * an expression is needed: `s<name>`, `c<json string>`, `M<json string>`, `!<a>`,
 * `&<a> <b>`, `|<a> <b>`, `~<op> <a> <b>`.
 */
function exprLine(e: Expr, ref: (x: Expr) => Ref): string {
  switch (e.k) {
    case "sym":
      return `s${e.name}`;
    case "const":
      return `c${json(e.value)}`;
    case "macro":
      return `M${json(e.text)}`;
    case "not":
      return `!${ref(e.a)}`;
    case "and":
      return `&${ref(e.a)} ${ref(e.b)}`;
    case "or":
      return `|${ref(e.a)} ${ref(e.b)}`;
    case "cmp":
      return `~${e.op} ${ref(e.a)} ${ref(e.b)}`;
  }
}

/** An expression table being written: `ref` gives an expression's line, adding it (and its children) once. */
function exprWriter() {
  const lines: string[] = [];
  const ids = new Map<Expr, number>();
  const ref = (e: Expr): Ref => {
    const known = ids.get(e);
    if (known !== undefined) return known;
    const line = exprLine(e, ref);
    ids.set(e, lines.length);
    lines.push(line);
    return lines.length - 1;
  };
  return { ref, opt: (e: Expr | undefined): Ref => (e ? ref(e) : -1), text: () => lines.join("\n") };
}

/** One part's text: the magic line with part and format, the section offsets, the sections. */
function container(part: Part, names: readonly string[], body: Record<string, string>): string {
  const offsets: Record<string, [number, number]> = {};
  let at = 0;
  for (const s of names) offsets[s] = [at, (at += body[s].length)];
  return `${MAGIC} ${part} ${MODEL_DATA_FORMAT}\n${json(offsets)}\n${names.map((s) => body[s]).join("")}`;
}

/** The sections of one part's text, checked for part, format and length. */
function open(part: Part, names: readonly string[], text: string) {
  const head = /^kmod-fleet parsed kernel model (\w+) (\d+)\n/.exec(text.slice(0, 64));
  if (!head || head[1] !== part || Number(head[2]) !== MODEL_DATA_FORMAT) {
    throw new Error(`not the ${part} part of a parsed kernel model of format ${MODEL_DATA_FORMAT} (found ${head ? `${head[1]} ${head[2]}` : "no format line"})`);
  }
  const headerStart = head[0].length;
  const bodyStart = text.indexOf("\n", headerStart) + 1;
  const offsets = JSON.parse(text.slice(headerStart, bodyStart - 1)) as Record<string, [number, number]>;
  if (names.some((n) => !offsets[n]) || bodyStart + offsets[names[names.length - 1]][1] !== text.length) throw new Error(`parsed kernel model: the ${part} part is not as long as its header says`);
  const slice = (s: string) => text.slice(bodyStart + offsets[s][0], bodyStart + offsets[s][1]);
  const rowOf = (s: string, ends: number[], i: number) => text.slice(bodyStart + offsets[s][0] + (i ? ends[i - 1] : 0), bodyStart + offsets[s][0] + ends[i]);
  return { slice, rowOf };
}

function once<T>(f: () => T): () => T {
  let v: { value: T } | undefined;
  return () => (v ??= { value: f() }).value;
}

/** Decodes expression lines on demand (see exprLine). */
function exprReader(textOf: () => string): { expr: (i: Ref) => Expr; opt: (i: Ref) => Expr | undefined } {
  const lines = once(() => textOf().split("\n"));
  const exprs: (Expr | undefined)[] = [];
  const expr = (i: Ref): Expr => {
    const known = exprs[i];
    if (known) return known;
    const line = lines()[i];
    const rest = line.slice(1);
    const two = (): [Expr, Expr] => {
      const sp = rest.indexOf(" ");
      return [expr(Number(rest.slice(0, sp))), expr(Number(rest.slice(sp + 1)))];
    };
    let e: Expr;
    switch (line[0]) {
      case "s":
        e = { k: "sym", name: rest };
        break;
      case "c":
        e = { k: "const", value: JSON.parse(rest) as string };
        break;
      case "M":
        e = { k: "macro", text: JSON.parse(rest) as string };
        break;
      case "!":
        e = { k: "not", a: expr(Number(rest)) };
        break;
      case "&": {
        const [a, b] = two();
        e = { k: "and", a, b };
        break;
      }
      case "|": {
        const [a, b] = two();
        e = { k: "or", a, b };
        break;
      }
      case "~": {
        const [op, a, b] = rest.split(" ");
        e = { k: "cmp", op: op as Extract<Expr, { k: "cmp" }>["op"], a: expr(Number(a)), b: expr(Number(b)) };
        break;
      }
      default:
        throw new Error(`parsed kernel model: bad expression line ${i}: ${JSON.stringify(line.slice(0, 40))}`);
    }
    return (exprs[i] = e);
  };
  return { expr, opt: (i) => (i < 0 ? undefined : expr(i)) };
}

/** The Kconfig part: symbols in order and who reads each. */
export function encodeKconfig(arch: string, kconfig: KconfigModel, readerMap: ReadonlyMap<string, readonly string[]>): string {
  const x = exprWriter();
  const fileTable: string[] = [];
  const fileIds = new Map<string, number>();
  const file = (f: string) => {
    let i = fileIds.get(f);
    if (i === undefined) fileIds.set(f, (i = fileTable.push(f) - 1));
    return i;
  };
  const loc = (l: Location): [number, number] => [file(l.file), l.line];
  const by = (list: { by: string; cond: Expr | undefined }[]): [string, Ref][] => list.map((r) => [r.by, x.opt(r.cond)]);
  const to = (list: { target: string; cond: Expr | undefined }[]): [string, Ref][] => list.map((r) => [r.target, x.opt(r.cond)]);
  const names: string[] = [];
  const symTexts: string[] = [];
  const readerTexts: string[] = [];
  for (const s of kconfig.symbols.values()) {
    const row: SymRow = [
      s.type,
      s.defs.map(loc),
      s.prompts.map(x.ref),
      s.defaults.map((d) => [x.ref(d.expr), x.opt(d.cond), d.macro ? 1 : 0, file(d.at.file), d.at.line]),
      x.opt(s.dirDep),
      by(s.revDep),
      by(s.impliedBy),
      to(s.selects),
      to(s.implies),
      s.promptText ?? null,
      s.choice ?? null,
      s.isChoice ? 1 : null,
      s.choiceValues ?? null,
      s.optional === undefined ? null : s.optional ? 1 : 0,
    ];
    names.push(s.name);
    symTexts.push(json(row));
    readerTexts.push(json(readerMap.get(s.name) ?? []));
  }
  const meta: KconfigMeta = { arch, choices: kconfig.choices, files: kconfig.files, warnings: kconfig.warnings, fileTable };
  const syms = rows(symTexts);
  const readers = rows(readerTexts);
  return container("kconfig", KCONFIG_SECTIONS, {
    meta: json(meta),
    exprs: x.text(),
    symbolIndex: json([names, syms.ends]),
    symbols: syms.text,
    readerIndex: json(readers.ends),
    readers: readers.text,
  });
}

/** The Kbuild part: every placement, and the lists by option and by object. */
export function encodeKbuild(arch: string, kbuild: KbuildIndex): string {
  const x = exprWriter();
  const index = new Map<Placement, number>();
  const placementTexts = kbuild.placements.map((p, i) => {
    index.set(p, i);
    const row: PlacementRow = [p.object, p.target, x.ref(p.gate), p.rule.file, p.rule.line, p.rule.text, p.undecided.map((u) => [u.file, u.line, u.text])];
    return json(row);
  });
  const lists = (map: ReadonlyMap<string, readonly Placement[]>) => {
    const keys = [...map.keys()];
    const texts = [...map].map(([k, ps]) =>
      json(
        ps.map((p) => {
          const i = index.get(p);
          if (i === undefined) throw new Error(`Kbuild index: ${p.object} is listed under ${k} but is not a placement`);
          return i;
        }),
      ),
    );
    const r = rows(texts);
    return { index: json([keys, r.ends]), text: r.text };
  };
  const placements = rows(placementTexts);
  const byOption = lists(kbuild.byOption);
  const byObject = lists(kbuild.byObject);
  const meta: KbuildMeta = { arch, files: kbuild.files, warnings: kbuild.warnings };
  return container("kbuild", KBUILD_SECTIONS, {
    meta: json(meta),
    exprs: x.text(),
    placementIndex: json(placements.ends),
    placements: placements.text,
    byOptionIndex: byOption.index,
    byOption: byOption.text,
    byObjectIndex: byObject.index,
    byObject: byObject.text,
  });
}

export function encodeModel(arch: string, m: ParsedModel): { kconfig: string; kbuild: string } {
  return { kconfig: encodeKconfig(arch, m.kconfig, m.readers), kbuild: encodeKbuild(arch, m.kbuild) };
}

/** The Kconfig part of a text; symbols, their expressions and readers are decoded when first used. */
export function decodeKconfig(text: string): { arch: string; kconfig: KconfigModel; readers: ReadonlyMap<string, readonly string[]> } {
  const { slice, rowOf } = open("kconfig", KCONFIG_SECTIONS, text);
  const meta = JSON.parse(slice("meta")) as KconfigMeta;
  const { expr, opt } = exprReader(() => slice("exprs"));
  const files = meta.fileTable;
  const [names, symEnds] = JSON.parse(slice("symbolIndex")) as [string[], number[]];
  const symbols = new LazyMap<Sym>(names, (i) => {
    const [type, defs, prompts, defaults, dirDep, revDep, impliedBy, selects, implies, promptText, choice, isChoice, choiceValues, optional] = JSON.parse(rowOf("symbols", symEnds, i)) as SymRow;
    const s: Sym = {
      name: names[i],
      type,
      defs: defs.map(([f, line]) => ({ file: files[f], line })),
      prompts: prompts.map(expr),
      defaults: defaults.map(([x, c, macro, f, line]) => ({ expr: expr(x), cond: opt(c), macro: macro === 1, at: { file: files[f], line } })),
      dirDep: opt(dirDep),
      revDep: revDep.map(([by, c]) => ({ by, cond: opt(c) })),
      impliedBy: impliedBy.map(([by, c]) => ({ by, cond: opt(c) })),
      selects: selects.map(([target, c]) => ({ target, cond: opt(c) })),
      implies: implies.map(([target, c]) => ({ target, cond: opt(c) })),
    };
    if (promptText !== null) s.promptText = promptText;
    if (choice !== null) s.choice = choice;
    if (isChoice) s.isChoice = true;
    if (choiceValues !== null) s.choiceValues = choiceValues;
    if (optional !== null) s.optional = optional === 1;
    return s;
  });
  const readerEnds = once(() => JSON.parse(slice("readerIndex")) as number[]);
  const readers = new LazyMap<readonly string[]>(names, (i) => JSON.parse(rowOf("readers", readerEnds(), i)) as string[]);
  return { arch: meta.arch, kconfig: { symbols, choices: meta.choices, files: meta.files, warnings: meta.warnings }, readers };
}

/** The Kbuild part of a text; placements and lists are decoded when first used. */
export function decodeKbuild(text: string): { arch: string; kbuild: KbuildIndex } {
  const { slice, rowOf } = open("kbuild", KBUILD_SECTIONS, text);
  const meta = JSON.parse(slice("meta")) as KbuildMeta;
  const { expr } = exprReader(() => slice("exprs"));
  const placementEnds = once(() => JSON.parse(slice("placementIndex")) as number[]);
  const placements: (Placement | undefined)[] = [];
  const placementAt = (i: number): Placement => {
    const known = placements[i];
    if (known) return known;
    const [object, target, gate, file, line, ruleText, undecided] = JSON.parse(rowOf("placements", placementEnds(), i)) as PlacementRow;
    return (placements[i] = { object, target, gate: expr(gate), rule: { file, line, text: ruleText }, undecided: undecided.map(([f, l, t]) => ({ file: f, line: l, text: t })) });
  };
  const listMap = (index: string, section: string) =>
    once(() => {
      const [keys, ends] = JSON.parse(slice(index)) as [string[], number[]];
      return new LazyMap<readonly Placement[]>(keys, (i) => (JSON.parse(rowOf(section, ends, i)) as number[]).map(placementAt));
    });
  const byOption = listMap("byOptionIndex", "byOption");
  const byObject = listMap("byObjectIndex", "byObject");
  const allPlacements = once(() => placementEnds().map((_, i) => placementAt(i)));
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
    files: meta.files,
    warnings: meta.warnings,
  };
  return { arch: meta.arch, kbuild };
}

/** Both parts, for one architecture. */
export function decodeModel(texts: { kconfig: string; kbuild: string }): ParsedModel & { arch: string } {
  const k = decodeKconfig(texts.kconfig);
  const b = decodeKbuild(texts.kbuild);
  if (k.arch !== b.arch) throw new Error(`parsed kernel model: the Kconfig part is for ${k.arch}, the Kbuild part for ${b.arch}`);
  return { arch: k.arch, kconfig: k.kconfig, readers: k.readers, kbuild: b.kbuild };
}

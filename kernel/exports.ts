/**
 * Finds the symbols a source file exports: EXPORT_SYMBOL(x), EXPORT_SYMBOL_GPL(x),
 * EXPORT_SYMBOL_NS_GPL(x, NS) and friends, in .c and .S files. Text matching is enough:
 * these macros always take the symbol name as their first argument.
 */
import { KbuildIndex } from "./kbuild";
import { SourceTree } from "./sourceTree";

export interface ExportSite {
  symbol: string;
  file: string;
  line: number;
  gpl: boolean;
  namespace?: string;
}

const EXPORT = /\bEXPORT_(?:SYMBOL|SYMBOL_GPL|SYMBOL_NS|SYMBOL_NS_GPL|SYMBOL_GPL_FUTURE|INDIRECT_CALLABLE|TRACEPOINT_SYMBOL|TRACEPOINT_SYMBOL_GPL|STATIC_CALL|STATIC_CALL_GPL|STATIC_CALL_TRAMP|STATIC_CALL_TRAMP_GPL)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:,\s*([A-Za-z0-9_"]+)\s*)?\)/g;

export function scanExports(text: string, file: string): ExportSite[] {
  if (text.indexOf("EXPORT_") < 0) return [];
  const out: ExportSite[] = [];
  EXPORT.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = EXPORT.exec(text))) {
    // Skip the macros' own definitions (`#define EXPORT_SYMBOL(sym) ...`).
    if (/\(\s*(sym|name)\s*[,)]/.test(m[0])) continue;
    const kind = m[0].slice(0, m[0].indexOf("("));
    out.push({
      symbol: m[0].startsWith("EXPORT_TRACEPOINT") ? `__tracepoint_${m[1]}` : m[1],
      file,
      line: lineOf(text, m.index),
      gpl: kind.includes("GPL"),
      namespace: m[2]?.replace(/"/g, ""),
    });
  }
  return out;
}

function lineOf(text: string, pos: number): number {
  let n = 1;
  for (let i = text.indexOf("\n"); i >= 0 && i < pos; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

/** The source files that compile to an object: foo.o ← foo.c or foo.S. With `needle`, only files containing it. */
export function sourcesOf(tree: SourceTree, object: string, needle?: string): { file: string; text: string }[] {
  const base = object.replace(/\.o$/, "");
  for (const ext of [".c", ".S"]) {
    const file = base + ext;
    const text = needle && tree.readIfContains ? tree.readIfContains(file, needle) : tree.read(file);
    if (text !== undefined) return [{ file, text }];
  }
  return [];
}

/** Every export in every object the Kbuild index knows, by symbol. Reads all those sources: ~1-2 s on 6.1. */
export function indexExports(tree: SourceTree, kbuild: KbuildIndex): Map<string, ExportSite[]> {
  const out = new Map<string, ExportSite[]>();
  for (const object of kbuild.byObject.keys()) {
    for (const { file, text } of sourcesOf(tree, object, "EXPORT_")) {
      for (const e of scanExports(text, file)) {
        if (!out.has(e.symbol)) out.set(e.symbol, []);
        out.get(e.symbol)!.push(e);
      }
    }
  }
  return out;
}

/**
 * Where a few symbols are exported, without reading every source file when it can be
 * avoided: files whose path shares the symbol's first word (hdmi_vendor_infoframe_init →
 * .../hdmi.c, __i2c_board_list → .../i2c-boardinfo.c) are read first, and the full scan
 * runs only for symbols still not found. A symbol is exported from one place, so the first
 * hit is the answer.
 */
export function locateExports(tree: SourceTree, kbuild: KbuildIndex, symbols: string[]): Map<string, ExportSite[]> {
  const out = new Map<string, ExportSite[]>();
  const missing = new Set(symbols);
  const scan = (object: string) => {
    for (const { file, text } of sourcesOf(tree, object, "EXPORT_")) {
      for (const e of scanExports(text, file)) {
        if (!missing.has(e.symbol) && !out.has(e.symbol)) continue;
        if (!out.has(e.symbol)) out.set(e.symbol, []);
        if (!out.get(e.symbol)!.some((x) => x.file === e.file && x.line === e.line)) out.get(e.symbol)!.push(e);
        missing.delete(e.symbol);
      }
    }
  };
  const words = new Set(symbols.map((s) => s.replace(/^_+/, "").split("_")[0].toLowerCase()).filter((w) => w.length >= 3));
  const objects = [...kbuild.byObject.keys()];
  const scanned = new Set<string>();
  for (const o of objects) {
    const name = o.toLowerCase().replace(/-/g, "_");
    if ([...words].some((w) => name.includes(w))) {
      scanned.add(o);
      scan(o);
    }
  }
  if (missing.size) for (const o of objects) if (!scanned.has(o)) {
    scan(o);
    if (!missing.size) break;
  }
  return out;
}

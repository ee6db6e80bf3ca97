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
    if (m[0].includes("#define") || /\bEXPORT_\w+\s*\(\s*(sym|name|x)\s*[,)]/.test(m[0])) continue; // macro definitions
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

/** The source files that compile to an object: foo.o ← foo.c or foo.S. */
export function sourcesOf(tree: SourceTree, object: string): { file: string; text: string }[] {
  const base = object.replace(/\.o$/, "");
  for (const ext of [".c", ".S"]) {
    const text = tree.read(base + ext);
    if (text !== undefined) return [{ file: base + ext, text }];
  }
  return [];
}

/** Every export in every object the Kbuild index knows, by symbol. Reads all those sources: ~1-2 s on 6.1. */
export function indexExports(tree: SourceTree, kbuild: KbuildIndex): Map<string, ExportSite[]> {
  const out = new Map<string, ExportSite[]>();
  for (const object of kbuild.byObject.keys()) {
    for (const { file, text } of sourcesOf(tree, object)) {
      for (const e of scanExports(text, file)) {
        if (!out.has(e.symbol)) out.set(e.symbol, []);
        out.get(e.symbol)!.push(e);
      }
    }
  }
  return out;
}

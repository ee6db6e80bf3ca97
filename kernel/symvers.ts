/**
 * Reads Module.symvers: `crc<TAB>symbol<TAB>module<TAB>export type[<TAB>namespace]`.
 * 6.1 has five columns (namespace possibly empty), 4.x four. The module column is
 * "vmlinux" for symbols the kernel image exports, else the module's path without .ko.
 */
export interface SymversEntry {
  crc: string;
  symbol: string;
  module: string;
  exportType: string;
  namespace?: string;
}

export function parseSymvers(text: string): Map<string, SymversEntry> {
  const out = new Map<string, SymversEntry>();
  for (const line of text.split("\n")) {
    if (!line) continue;
    const [crc, symbol, module, exportType, namespace] = line.split("\t");
    if (!symbol) continue;
    out.set(symbol, { crc, symbol, module: module ?? "", exportType: exportType ?? "", namespace: namespace || undefined });
  }
  return out;
}
